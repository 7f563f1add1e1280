//! factory's git layer, on gix: open a repository, resolve revisions and ranges, read and write
//! notes, blame lines, and turn commits into change sets ([`ChangeSet`], in the vocabulary of
//! `factory-change`).
//!
//! It knows no policy. Only what the caller needs is computed: tree diffs always; rename and
//! copy detection when [`Detection`] asks; blob reads and line diffs only for the files for which
//! the caller's [`ContentNeeds`] answers more than [`ContentNeed::None`] (in factory, the policy's
//! classifier, so that only files some content rule covers are read).
#![deny(missing_docs)]

mod blame;
mod changes;
mod command;
mod error;
mod notes;
mod range;
mod repo;

pub use blame::{BlameError, BlamedLine};
pub use changes::{ChangeSet, Detection, Worker};
pub use command::GitCommandError;
pub use error::{ChangeError, OpenError, ReadError, RevError};
pub use factory_change::{ContentNeed, ContentNeeds, Every, PathsOnly};
pub use notes::{APPROVALS_REF, NoteError, STAMPS_REF, TRANSCRIPTS_REF};
pub use range::RangeSpec;
pub use repo::Repo;

/// gix's error, as the sources of this crate's errors carry it.
pub use gix::Error as GixError;
/// A full object id.
pub use gix::ObjectId;
/// The kind of an object.
pub use gix::object::Kind as ObjectKind;
