//! Typed errors of the git layer, each naming what failed.

use std::path::PathBuf;

use gix::ObjectId;

/// The repository could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No repository at or above the directory.
    #[error("not a git repository (or any parent up to the root): {path}")]
    NotARepository {
        /// The directory searched from.
        path: PathBuf,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
    /// The objects of a push being received cannot be opened.
    #[error("cannot open the objects of the push being received at {path}")]
    Quarantine {
        /// The quarantine directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A revision or range could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum RevError {
    /// The revision names no object.
    #[error("unknown revision `{spec}`")]
    Unknown {
        /// The revision as given.
        spec: String,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
    /// The revision names an object that is not a commit (and does not peel to one).
    #[error("`{spec}` is not a commit")]
    NotACommit {
        /// The revision as given.
        spec: String,
    },
    /// The repository has no commits yet.
    #[error("the repository has no commits yet (HEAD is unborn)")]
    UnbornHead,
    /// Walking the history failed.
    #[error("could not walk the history from `{spec}`")]
    Walk {
        /// The range being walked.
        spec: String,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
}

/// A commit's change set could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// An object could not be read or decoded.
    #[error("cannot read {what} {id} (in commit {commit})")]
    Object {
        /// The commit being examined.
        commit: ObjectId,
        /// The object that failed.
        id: ObjectId,
        /// What kind of object it should have been.
        what: &'static str,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
    /// The tree diff failed.
    #[error("cannot diff commit {commit} against its parent {parent}")]
    Diff {
        /// The commit being examined.
        commit: ObjectId,
        /// The parent it was diffed against (the empty tree's id for a root commit).
        parent: ObjectId,
        /// What gix said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A file could not be read from a commit.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The revision did not resolve.
    #[error(transparent)]
    Rev(#[from] RevError),
    /// The object could not be read.
    #[error("cannot read `{path}` at {rev}")]
    Object {
        /// The revision.
        rev: String,
        /// The path in its tree.
        path: String,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
}
