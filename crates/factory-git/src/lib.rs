//! factory's git layer, on gix: open a repository, resolve revisions and ranges, and turn commits
//! into the change sets that `factory-policy` classifies, in parallel.
//!
//! Only what some rule needs is computed: tree diffs always; rename detection when a rule can
//! see renames or lines; blob reads and line diffs only for files that a content rule covers
//! (see [`factory_policy::Classifier::content_need`]).
#![deny(missing_docs)]

mod blame;
mod changes;
mod classify;
mod command;
mod error;
mod notes;
mod range;
mod repo;

pub use blame::{BlameError, BlamedLine};
pub use changes::{ChangeSet, Worker};
pub use classify::{Classified, classify_between, classify_commits, classify_commits_observed};
pub use command::GitCommandError;
pub use error::{ChangeError, OpenError, ReadError, RevError};
pub use notes::{APPROVALS_REF, NoteError, TRANSCRIPTS_REF};
pub use range::RangeSpec;
pub use repo::Repo;

/// A full object id.
pub use gix::ObjectId;
/// The kind of an object.
pub use gix::object::Kind as ObjectKind;
