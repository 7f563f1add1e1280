//! Notes: factory keeps transcripts and approvals as git notes, one JSON document per line.

use gix::ObjectId;
use gix::refs::FullName;

use crate::repo::Repo;

/// The notes ref of agent transcripts.
pub const TRANSCRIPTS_REF: &str = "refs/notes/factory/transcripts";
/// The notes ref of signed approval and override statements.
pub const APPROVALS_REF: &str = "refs/notes/factory/approvals";

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
        let mut notes = repo
            .notes()
            .map_err(err)?
            .with_refs([notes_ref])
            .map_err(err)?;
        let found = notes.get(commit).map_err(err)?;
        Ok(found.into_iter().next().map(|n| n.blob.data.clone()))
    }

    /// The note of `commit` in the notes commit `notes` (a value a notes ref had or is about
    /// to have, e.g. in a push), if there is one; any fan-out is found.
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
        let mut tree = repo.find_commit(notes).map_err(err)?.tree().map_err(err)?;
        let hex = commit.to_string();
        let mut rest = hex.as_str();
        loop {
            let mut next = None;
            for entry in tree.iter() {
                let entry = entry.map_err(|e| err(gix::Error::from_error(e)))?;
                let name = entry.filename().to_string();
                if name == rest && entry.mode().is_blob() {
                    let blob = repo.find_object(entry.oid()).map_err(err)?;
                    return Ok(Some(blob.detach().data));
                }
                if entry.mode().is_tree() && name.len() < rest.len() && rest.starts_with(&name) {
                    next = Some((entry.oid().to_owned(), name.len()));
                }
            }
            let Some((sub, used)) = next else {
                return Ok(None);
            };
            tree = repo.find_object(sub).map_err(err)?.into_tree();
            rest = &rest[used..];
        }
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
