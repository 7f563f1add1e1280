//! factory's change model: the vocabulary the git layer speaks and the policy reads.
//!
//! The git layer (`factory-git`) turns commits into [`CommitFacts`] and [`FileChange`]s; the policy
//! (`factory-policy`) classifies them. Neither knows the other: what content to load for a file
//! (nothing, line counts, or the lines themselves) is asked of a [`ContentNeeds`] that the layer
//! above hands to the git layer — in factory, the policy's classifier.
#![deny(missing_docs)]

mod change;
pub mod lexer;
mod trailers;

pub use change::{ChangeKind, CommitFacts, FileChange, FileMode, LineSide, Lines, Status};
pub use trailers::{Trailer, parse_trailers};

/// How much of a file's content the caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContentNeed {
    /// Paths and modes are enough.
    None,
    /// Added and removed line counts.
    Counts,
    /// The added and removed lines themselves.
    Lines,
    /// The lines, each with where it starts for the lexer ([`lexer::scan`] of the whole file):
    /// in a comment, a string, a test module.
    LexedLines,
}

/// Decides, file by file, how much content the git layer loads: blob reads and line diffs cost
/// far more than a tree diff, so only what some consumer reads is computed.
pub trait ContentNeeds {
    /// How much of `file`'s content is needed (its paths, status and modes are filled in).
    fn content_need(&mut self, file: &FileChange) -> ContentNeed;

    /// Whether binary files must be recognised even where no content is needed.
    fn wants_binary(&self) -> bool {
        false
    }
}

/// Paths and modes only: no blob is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct PathsOnly;

impl ContentNeeds for PathsOnly {
    fn content_need(&mut self, _: &FileChange) -> ContentNeed {
        ContentNeed::None
    }
}

/// The same need for every file (`ContentNeed::Lines` gives every added and removed line).
#[derive(Debug, Clone, Copy)]
pub struct Every(pub ContentNeed);

impl ContentNeeds for Every {
    fn content_need(&mut self, _: &FileChange) -> ContentNeed {
        self.0
    }
}
