//! Notes: factory keeps transcripts and approvals as git notes, one JSON document per line.

use gix::ObjectId;
use gix::refs::FullName;

use crate::repo::Repo;

/// The notes ref of agent transcripts.
pub const TRANSCRIPTS_REF: &str = "refs/notes/factory/transcripts";
/// The notes ref of signed approval and override statements.
pub const APPROVALS_REF: &str = "refs/notes/factory/approvals";
/// The notes ref of signed validation stamps.
pub const STAMPS_REF: &str = "refs/notes/factory/stamps";

/// A note could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    /// The notes ref name is not valid.
    #[error("`{0}` is not a valid notes ref")]
    BadRef(String),
    /// Reading the note failed.
    #[error("cannot read the note of {commit} on {notes_ref}")]
    Read {
        /// The annotated commit.
        commit: ObjectId,
        /// The notes ref.
        notes_ref: String,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
    /// The notes tree maps the object more than once (entries at two fan-out levels).
    #[error(
        "the notes tree {notes} maps {commit} {count} times (entries at different fan-outs): an ambiguous notes tree is refused"
    )]
    Ambiguous {
        /// The annotated object.
        commit: ObjectId,
        /// The notes commit.
        notes: String,
        /// How many entries map it.
        count: usize,
    },
    /// Writing the note failed.
    #[error("cannot write the note of {commit} on {notes_ref}")]
    Write {
        /// The annotated commit.
        commit: ObjectId,
        /// The notes ref.
        notes_ref: String,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
}

impl Repo {
    /// The note of `commit` on `notes_ref`, if there is one. Notes written by git with any
    /// fan-out are found.
    pub fn read_note(
        &self,
        notes_ref: &str,
        commit: ObjectId,
    ) -> Result<Option<Vec<u8>>, NoteError> {
        let repo = self.local();
        let err = |source| NoteError::Read {
            commit,
            notes_ref: notes_ref.to_owned(),
            source,
        };
        let Some(reference) = repo
            .try_find_reference(notes_ref)
            .map_err(|e| err(gix::Error::from_error(e)))?
        else {
            return Ok(None);
        };
        let mut reference = reference;
        let notes = reference
            .peel_to_id()
            .map_err(|e| err(gix::Error::from_error(e)))?
            .detach();
        self.read_note_in(notes, commit)
    }

    /// The note of `commit` in the notes commit `notes` (a value a notes ref had or is about
    /// to have, e.g. in a push), if there is one; any fan-out is found. A notes tree that maps
    /// the object twice (say a flat entry beside a fanned-out one) is an error: which of the two
    /// counts would be a guess, so nothing is read.
    pub fn read_note_in(
        &self,
        notes: ObjectId,
        commit: ObjectId,
    ) -> Result<Option<Vec<u8>>, NoteError> {
        let repo = self.local();
        let err = |source| NoteError::Read {
            commit,
            notes_ref: notes.to_string(),
            source,
        };
        let tree = notes_tree(&repo, notes, err)?;
        let hex = commit.to_string();
        let mut found: Vec<(String, ObjectId)> = Vec::new();
        let mut pending: Vec<(ObjectId, String)> = vec![(tree, String::new())];
        while let Some((tree_id, prefix)) = pending.pop() {
            let tree = repo.find_object(tree_id).map_err(err)?.into_tree();
            let rest = &hex[prefix.len()..];
            for entry in tree.iter() {
                let entry = entry.map_err(|e| err(gix::Error::from_error(e)))?;
                let name = entry.filename().to_string();
                if name == rest && entry.mode().is_blob() {
                    found.push((format!("{prefix}{name}"), entry.oid().to_owned()));
                } else if entry.mode().is_tree()
                    && !name.is_empty()
                    && name.len() < rest.len()
                    && rest.starts_with(&name)
                {
                    pending.push((entry.oid().to_owned(), format!("{prefix}{name}")));
                }
            }
        }
        match found.as_slice() {
            [] => Ok(None),
            [(_, blob)] => {
                let blob = repo.find_object(*blob).map_err(err)?;
                Ok(Some(blob.detach().data))
            }
            _ => Err(NoteError::Ambiguous {
                commit,
                notes: notes.to_string(),
                count: found.len(),
            }),
        }
    }

    /// Every note of the notes commit `notes` whose content contains `needle` (all of them
    /// when it is empty): (annotated object, note bytes), in no particular order. Entries whose
    /// path is not an object id are skipped; notes that do not contain `needle` are not kept.
    pub fn notes_containing(
        &self,
        notes: ObjectId,
        needle: &[u8],
    ) -> Result<Vec<(ObjectId, Vec<u8>)>, NoteError> {
        let repo = self.local();
        let err = |source| NoteError::Read {
            commit: notes,
            notes_ref: notes.to_string(),
            source,
        };
        let tree = notes_tree(&repo, notes, err)?;
        let finder = bstr::ByteSlice::find;
        let mut out = Vec::new();
        let mut pending: Vec<(ObjectId, String)> = vec![(tree, String::new())];
        while let Some((tree_id, prefix)) = pending.pop() {
            let tree = repo.find_object(tree_id).map_err(err)?.into_tree();
            for entry in tree.iter() {
                let entry = entry.map_err(|e| err(gix::Error::from_error(e)))?;
                let path = format!("{prefix}{}", entry.filename());
                if entry.mode().is_tree() && path.len() < 40 {
                    pending.push((entry.oid().to_owned(), path));
                } else if entry.mode().is_blob()
                    && let Ok(annotated) = ObjectId::from_hex(path.as_bytes())
                {
                    let data = repo.find_object(entry.oid()).map_err(err)?.detach().data;
                    if needle.is_empty() || finder(data.as_slice(), needle).is_some() {
                        out.push((annotated, data));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Sets the note of `commit` on `notes_ref` to `data`, creating the ref if needed.
    pub fn write_note(
        &self,
        notes_ref: &str,
        commit: ObjectId,
        data: &[u8],
        message: &str,
    ) -> Result<(), NoteError> {
        let repo = self.local();
        let name =
            FullName::try_from(notes_ref).map_err(|_| NoteError::BadRef(notes_ref.to_owned()))?;
        let err = |source| NoteError::Write {
            commit,
            notes_ref: notes_ref.to_owned(),
            source,
        };
        let mut notes = repo.notes().map_err(err)?.with_commit_message(message);
        notes
            .replace_at_ref(name.as_ref(), commit, data)
            .map_err(err)?;
        Ok(())
    }
}

/// The tree of the notes commit `notes`.
fn notes_tree(
    repo: &gix::Repository,
    notes: ObjectId,
    err: impl Fn(gix::Error) -> NoteError,
) -> Result<ObjectId, NoteError> {
    Ok(repo
        .find_commit(notes)
        .map_err(&err)?
        .tree_id()
        .map_err(&err)?
        .detach())
}
