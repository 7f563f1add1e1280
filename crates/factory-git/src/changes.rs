//! From a commit to its change set: the tree diff against its first parent, renames, and the
//! lines of the files that content rules cover.

use bstr::{BString, ByteSlice};
use factory_change::{
    CommitFacts, ContentNeed, ContentNeeds, FileChange, FileMode, Lines, Status, lexer,
    parse_trailers,
};
use gix::ObjectId;
use gix::diff::blob::{Algorithm, Diff, InternedInput};
use gix::diff::tree_with_rewrites::{Change, ChangeRef};
use gix::objs::tree::EntryMode;
use gix::objs::{FindExt as _, TreeRefIter};

use crate::error::ChangeError;
use crate::repo::Repo;

/// A commit and what it changed.
#[derive(Debug, Clone)]
pub struct ChangeSet {
    /// The commit's id.
    pub id: ObjectId,
    /// Its parents.
    pub parents: Vec<ObjectId>,
    /// Commit time, seconds since the epoch.
    pub time: i64,
    /// Facts for commit predicates.
    pub commit: CommitFacts,
    /// The changed files, against the first parent: for a merge, everything it brings to the
    /// line it lands on (so content from an old parent, or in no parent, is never skipped).
    pub files: Vec<FileChange>,
}

/// A changed entry before content is looked at.
#[derive(Debug)]
struct Raw {
    path: BString,
    old_path: Option<BString>,
    status: Status,
    old: Option<(EntryMode, ObjectId)>,
    new: Option<(EntryMode, ObjectId)>,
}

fn file_mode(mode: EntryMode) -> Option<FileMode> {
    use gix::objs::tree::EntryKind;
    match mode.kind() {
        EntryKind::Blob => Some(FileMode::File),
        EntryKind::BlobExecutable => Some(FileMode::Executable),
        EntryKind::Link => Some(FileMode::Symlink),
        EntryKind::Commit => Some(FileMode::Submodule),
        EntryKind::Tree => None,
    }
}

fn raw_from(change: Change) -> Option<Raw> {
    let raw = match change {
        Change::Addition {
            location,
            entry_mode,
            id,
            ..
        } => Raw {
            path: location,
            old_path: None,
            status: Status::Added,
            old: None,
            new: Some((entry_mode, id)),
        },
        Change::Deletion {
            location,
            entry_mode,
            id,
            ..
        } => Raw {
            path: location,
            old_path: None,
            status: Status::Deleted,
            old: Some((entry_mode, id)),
            new: None,
        },
        Change::Modification {
            location,
            previous_entry_mode,
            previous_id,
            entry_mode,
            id,
        } => Raw {
            path: location,
            old_path: None,
            status: Status::Modified,
            old: Some((previous_entry_mode, previous_id)),
            new: Some((entry_mode, id)),
        },
        Change::Rewrite {
            source_location,
            source_entry_mode,
            source_id,
            entry_mode,
            id,
            location,
            copy,
            ..
        } => Raw {
            path: location,
            old_path: Some(source_location),
            status: if copy {
                Status::Copied
            } else {
                Status::Renamed
            },
            old: Some((source_entry_mode, source_id)),
            new: Some((entry_mode, id)),
        },
    };
    // Directories are reported as well as their contents; only the contents matter.
    let is_tree = |side: &Option<(EntryMode, ObjectId)>| side.is_none_or(|(m, _)| m.is_tree());
    (!(is_tree(&raw.old) && is_tree(&raw.new))).then_some(raw)
}

/// Lines of a blob, each with its terminator, as the diff tokenises them.
fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    // Line ends found by a vectorised search, not byte by byte.
    data.lines_with_terminator().collect()
}

/// The text with every bare CR (one not followed by LF) turned into LF, so that it ends a line;
/// borrowed when there is none.
fn with_cr_lines(data: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let bare = |i: usize| data[i] == b'\r' && data.get(i + 1) != Some(&b'\n');
    // Most text has no CR at all: one fast scan settles it.
    if !data.contains(&b'\r') || !(0..data.len()).any(bare) {
        return std::borrow::Cow::Borrowed(data);
    }
    std::borrow::Cow::Owned(
        (0..data.len())
            .map(|i| if bare(i) { b'\n' } else { data[i] })
            .collect(),
    )
}

/// Git's heuristic: a NUL byte in the first 8000 bytes means binary.
fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(8000)].contains(&0)
}

/// Line-level result of diffing two blobs.
struct LineDiff {
    added: Vec<u32>,
    removed: Vec<u32>,
    /// For each hunk, the first line after it: (old, new), 0-based.
    after: Vec<(u32, u32)>,
}

fn diff_lines(old: &[u8], new: &[u8]) -> LineDiff {
    let input = InternedInput::new(old, new);
    let mut diff = Diff::compute(Algorithm::Histogram, &input);
    diff.postprocess_lines(&input);
    let mut out = LineDiff {
        added: Vec::new(),
        removed: Vec::new(),
        after: Vec::new(),
    };
    for hunk in diff.hunks() {
        out.after.push((hunk.before.end, hunk.after.end));
        out.removed.extend(hunk.before);
        out.added.extend(hunk.after);
    }
    out
}

/// What a [`Worker`] detects beyond the tree diff.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detection {
    /// Pair deletions and additions into renames (and content rules see renamed lines once).
    pub renames: bool,
    /// Also find copies among the modified files (implies `renames`).
    pub copies: bool,
    /// Read the blobs of every changed file to tell binary from text, even where no content is
    /// needed.
    pub binary: bool,
}

/// A per-thread worker: its own repository handle and diff state.
pub struct Worker {
    repo: gix::Repository,
    resource_cache: gix::diff::blob::Platform,
    state: gix::diff::tree::State,
    rewrites: Option<gix::diff::Rewrites>,
    binary: bool,
    tree_bufs: [Vec<u8>; 2],
    blob_bufs: [Vec<u8>; 2],
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("repo", &self.repo.git_dir())
            .field("rewrites", &self.rewrites)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker on `repo` that detects what `detect` asks for.
    pub fn new(repo: &Repo, detect: Detection) -> Result<Worker, gix::Error> {
        let repo = repo.local();
        // The resource cache only serves rename similarity. gix's convenience constructor reads
        // attributes from HEAD's tree turned into an index (1.5 ms on 5,000 paths, more than a
        // pre-receive hook spends judging a commit, and not the tree being diffed anyway); an
        // empty index gives the same diffs without that cost.
        let empty = gix::index::State::new(repo.object_hash());
        let attributes = repo
            .attributes_only(
                &empty,
                gix::worktree::stack::state::attributes::Source::IdMapping,
            )?
            .detach();
        let resource_cache = gix::diff::resource_cache(
            &repo,
            gix::diff::blob::pipeline::Mode::ToGit,
            attributes,
            Default::default(),
        )?;
        let rewrites = (detect.renames || detect.copies).then(|| gix::diff::Rewrites {
            copies: detect.copies.then_some(gix::diff::rewrites::Copies {
                source: gix::diff::rewrites::CopySource::FromSetOfModifiedFiles,
                percentage: Some(0.5),
            }),
            ..Default::default()
        });
        Ok(Worker {
            repo,
            resource_cache,
            state: Default::default(),
            rewrites,
            binary: detect.binary,
            tree_bufs: [Vec::new(), Vec::new()],
            blob_bufs: [Vec::new(), Vec::new()],
        })
    }

    fn object_err(
        commit: ObjectId,
        id: ObjectId,
        what: &'static str,
    ) -> impl Fn(gix::Error) -> ChangeError {
        move |source| ChangeError::Object {
            commit,
            id,
            what,
            source,
        }
    }

    fn tree_of(&self, commit: ObjectId, of: ObjectId) -> Result<ObjectId, ChangeError> {
        let err = Self::object_err(commit, of, "commit");
        let c = self.repo.find_commit(of).map_err(&err)?;
        c.tree_id().map(|id| id.detach()).map_err(err)
    }

    fn diff_trees(
        &mut self,
        commit: ObjectId,
        parent: Option<ObjectId>,
        old_tree: Option<ObjectId>,
        new_tree: ObjectId,
        track_rewrites: bool,
    ) -> Result<Vec<Raw>, ChangeError> {
        let kind = self.repo.object_hash();
        let [old_buf, new_buf] = &mut self.tree_bufs;
        old_buf.clear();
        if let Some(old) = old_tree {
            let o =
                self.repo.objects.find(&old, old_buf).map_err(|e| {
                    Self::object_err(commit, old, "tree")(gix::Error::from_error(e))
                })?;
            if o.kind != gix::object::Kind::Tree {
                return Err(Self::object_err(commit, old, "tree")(
                    gix::Error::from_error(std::io::Error::other("not a tree")),
                ));
            }
        }
        let o =
            self.repo.objects.find(&new_tree, new_buf).map_err(|e| {
                Self::object_err(commit, new_tree, "tree")(gix::Error::from_error(e))
            })?;
        if o.kind != gix::object::Kind::Tree {
            return Err(Self::object_err(commit, new_tree, "tree")(
                gix::Error::from_error(std::io::Error::other("not a tree")),
            ));
        }
        let mut out = Vec::new();
        let options = gix::diff::tree_with_rewrites::Options {
            location: Some(gix::diff::tree::recorder::Location::Path),
            rewrites: self.rewrites.filter(|_| track_rewrites),
        };
        let result = gix::diff::tree_with_rewrites(
            TreeRefIter::from_bytes(old_buf, kind),
            TreeRefIter::from_bytes(new_buf, kind),
            &mut self.resource_cache,
            &mut self.state,
            &self.repo.objects,
            |change: ChangeRef<'_>| {
                if let Some(raw) = raw_from(change.into_owned()) {
                    out.push(raw);
                }
                Ok(std::ops::ControlFlow::Continue(()))
            },
            options,
        );
        self.resource_cache.clear_resource_cache_keep_allocation();
        result.map_err(|source| ChangeError::Diff {
            commit,
            parent: parent.unwrap_or_else(|| ObjectId::empty_tree(kind)),
            source: Box::new(source),
        })?;
        Ok(out)
    }
}

/// Reads the blob of one side of a change into `buf`. An absent side reads as empty; a side
/// that is no blob (a submodule, or a symlink whose target is not code) returns false.
fn read_blob(
    repo: &gix::Repository,
    commit: ObjectId,
    side: Option<(EntryMode, ObjectId)>,
    buf: &mut Vec<u8>,
) -> Result<bool, ChangeError> {
    buf.clear();
    let Some((mode, id)) = side else {
        return Ok(true);
    };
    if !mode.is_blob() {
        return Ok(false);
    }
    let fail = |source| ChangeError::Object {
        commit,
        id,
        what: "blob",
        source,
    };
    let data = repo
        .objects
        .find(&id, buf)
        .map_err(|e| fail(gix::Error::from_error(e)))?;
    if data.kind != gix::object::Kind::Blob {
        return Err(fail(gix::Error::from_error(std::io::Error::other(
            format!("expected a blob, found a {}", data.kind),
        ))));
    }
    let len = data.data.len();
    buf.truncate(len);
    Ok(true)
}

impl Worker {
    /// Computes the change set of one commit, loading for each file the content `needs` asks
    /// for.
    pub fn change_set(
        &mut self,
        id: ObjectId,
        needs: &mut dyn ContentNeeds,
    ) -> Result<ChangeSet, ChangeError> {
        self.change_set_against(id, None, needs)
    }

    /// The change set of `id` against `against` (a commit), or its first parent when None.
    fn change_set_against(
        &mut self,
        id: ObjectId,
        against: Option<ObjectId>,
        needs: &mut dyn ContentNeeds,
    ) -> Result<ChangeSet, ChangeError> {
        let err = Self::object_err(id, id, "commit");
        let (tree, parents, message, author, time) = {
            let commit = self.repo.find_commit(id).map_err(&err)?;
            let decoded = commit
                .decode()
                .map_err(|e| err(gix::Error::from_error(e)))?;
            let author = decoded
                .author()
                .map(|a| format!("{} <{}>", a.name.to_str_lossy(), a.email.to_str_lossy()))
                .unwrap_or_default();
            (
                decoded.tree(),
                decoded.parents().collect::<Vec<ObjectId>>(),
                decoded.message.to_str_lossy().into_owned(),
                author,
                decoded.time().map(|t| t.seconds).unwrap_or(0),
            )
        };
        let facts = CommitFacts {
            id: id.to_string(),
            parents: parents.len(),
            author,
            trailers: parse_trailers(&message),
            message,
        };

        let old = against.or_else(|| parents.first().copied());
        let old_tree = old.map(|o| self.tree_of(id, o)).transpose()?;
        // A merge is judged by what it brings to the line it lands on: its diff against the first
        // parent, whatever the other parents hold. Content brought back from an old parent (an
        // ancestor of the trusted base) is then classified like any other change, and so is
        // content in no parent (an evil merge).
        let mut raws = self.diff_trees(
            id,
            old,
            old_tree,
            tree,
            // Rename detection on a merge would compare whole topics pairwise for nothing.
            parents.len() <= 1 || against.is_some(),
        )?;
        // Rename tracking reports additions after modifications; report in path order, like git.
        raws.sort_by(|a, b| a.path.cmp(&b.path));

        let mut files = Vec::with_capacity(raws.len());
        for raw in raws {
            let mut file = FileChange::new(raw.path.clone(), raw.status);
            file.old_path = raw.old_path.clone();
            file.old_mode = raw.old.and_then(|(m, _)| file_mode(m));
            file.new_mode = raw.new.and_then(|(m, _)| file_mode(m));
            let need = needs.content_need(&file);
            if need != ContentNeed::None || self.binary {
                self.fill_content(id, &raw, need, &mut file)?;
            }
            files.push(file);
        }
        Ok(ChangeSet {
            id,
            parents,
            time,
            commit: facts,
            files,
        })
    }

    /// The change between two commits' trees (`from` → `to`), with `to`'s commit facts: the net
    /// change a range brings, whatever its history.
    pub fn change_between(
        &mut self,
        from: ObjectId,
        to: ObjectId,
        needs: &mut dyn ContentNeeds,
    ) -> Result<ChangeSet, ChangeError> {
        let mut cs = self.change_set_against(to, Some(from), needs)?;
        cs.parents = vec![from];
        Ok(cs)
    }

    /// The identity of the change between two commits' trees (`from` → `to`): a SHA-256 over
    /// every path it changes with its mode and blob before and after (no rename pairing), in
    /// path order, as `sha256:HEX`. It does not depend on the commits' ids, their history or
    /// the paths the change leaves alone, so the same change rebased onto a newer base, merged
    /// with `--no-ff` or squashed has the same identity; any other content has another.
    pub fn change_id(&mut self, from: ObjectId, to: ObjectId) -> Result<String, ChangeError> {
        use sha2::Digest as _;
        let old_tree = self.tree_of(to, from)?;
        let new_tree = self.tree_of(to, to)?;
        let mut raws = self.diff_trees(to, Some(from), Some(old_tree), new_tree, false)?;
        raws.sort_by(|a, b| a.path.cmp(&b.path));
        let mut hash = sha2::Sha256::new();
        hash.update(b"factory.change/v1\n");
        let side = |s: &Option<(EntryMode, ObjectId)>| match s {
            Some((mode, id)) => format!("{:o} {id}", mode.value()),
            None => "0 0".to_owned(),
        };
        for raw in &raws {
            hash.update(&raw.path);
            hash.update(format!("\0{} {}\n", side(&raw.old), side(&raw.new)).as_bytes());
        }
        let digest = hash.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok(format!("sha256:{hex}"))
    }

    fn fill_content(
        &mut self,
        commit: ObjectId,
        raw: &Raw,
        need: ContentNeed,
        file: &mut FileChange,
    ) -> Result<(), ChangeError> {
        let Worker {
            repo,
            blob_bufs: [old, new],
            ..
        } = self;
        if !read_blob(repo, commit, raw.old, old)? || !read_blob(repo, commit, raw.new, new)? {
            return Ok(());
        }
        let binary = is_binary(old) || is_binary(new);
        if binary {
            file.binary = true;
            file.added_count = Some(0);
            file.removed_count = Some(0);
        }
        // A binary file still gets its lines read where a line rule covers it: a NUL byte
        // must not hide a private key or an auth call from the content rules.
        if need == ContentNeed::None || (binary && need < ContentNeed::Lines) {
            return Ok(());
        }
        // A bare CR ends a line for the languages that read the file (Python, say): so it does
        // for the rules, or `^`-anchored patterns would miss what follows it.
        let old = with_cr_lines(old);
        let new = with_cr_lines(new);
        let d = diff_lines(&old, &new);
        if !binary {
            file.added_count = Some(d.added.len() as u32);
            file.removed_count = Some(d.removed.len() as u32);
        }
        if need >= ContentNeed::Lines {
            let new_lines = split_lines(&new);
            let old_lines = split_lines(&old);
            // Where each changed line starts (in a comment, a string, a test module) is read
            // from the whole file, once per side, for the languages the lexer knows.
            let syntax = (need == ContentNeed::LexedLines)
                .then(|| lexer::syntax_of(&file.path))
                .flatten();
            // Up to the line after the last hunk: a change that opens a comment or a string the
            // lines after it fall into changes those lines too, though the diff does not show
            // them; the states after each hunk tell.
            let last_after = |side: fn(&(u32, u32)) -> u32| d.after.iter().map(side).max();
            let lexed = |text: &[u8], upto: Option<u32>| match (&syntax, upto) {
                (Some(syn), Some(last)) => lexer::scan(text, syn, last as usize + 1),
                _ => Vec::new(),
            };
            let new_starts = lexed(&new, last_after(|a| a.1));
            let old_starts = lexed(&old, last_after(|a| a.0));
            // Read as a change of code whatever the lines say: a bare CR ends a comment for C,
            // Python or JavaScript but not for Rust, Go or shell (the lines are not the
            // compiler's); a Go file with cgo compiles the comment before `import "C"`.
            let bare_cr = matches!(old, std::borrow::Cow::Owned(_))
                || matches!(new, std::borrow::Cow::Owned(_));
            let cgo = file.path.ends_with(b".go")
                && [&old, &new]
                    .iter()
                    .any(|t| t.find(b"import \"C\"").is_some());
            let shifts = syntax.is_some()
                && (bare_cr
                    || cgo
                    || d.after.iter().any(|&(o, n)| {
                        let at =
                            |starts: &[lexer::LineStart], i: u32| starts.get(i as usize).copied();
                        at(&old_starts, o) != at(&new_starts, n)
                    }));
            let start = |starts: &[lexer::LineStart], n: u32| {
                starts.get(n as usize).copied().unwrap_or_default()
            };
            let mut added = Lines::default();
            for n in d.added {
                added.push_at(n + 1, new_lines[n as usize], start(&new_starts, n));
            }
            let mut removed = Lines::default();
            for n in d.removed {
                removed.push_at(n + 1, old_lines[n as usize], start(&old_starts, n));
            }
            if shifts {
                added.set_shifts_state();
                removed.set_shifts_state();
            }
            file.added = Some(added);
            file.removed = Some(removed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_diff_numbers_are_zero_based_token_indices() {
        let d = diff_lines(b"a\nb\nc\n", b"a\nB\nc\nd\n");
        assert_eq!(d.removed, vec![1]);
        assert_eq!(d.added, vec![1, 3]);
    }

    #[test]
    fn lines_keep_terminators_and_last_line_without_newline() {
        assert_eq!(split_lines(b"a\nb"), vec![b"a\n".as_slice(), b"b"]);
        assert!(split_lines(b"").is_empty());
    }

    #[test]
    fn a_bare_cr_ends_a_line() {
        assert_eq!(&*with_cr_lines(b"a\rb\r\nc"), b"a\nb\r\nc");
        assert!(matches!(
            with_cr_lines(b"a\r\nb"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn nul_means_binary() {
        assert!(is_binary(b"PK\x03\x04\x00"));
        assert!(!is_binary(b"text\n"));
    }
}
