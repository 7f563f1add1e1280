//! The input of classification: what a commit is and what it changed.

use bstr::{BStr, BString, ByteSlice};

use crate::trailers::Trailer;

/// The facts about one commit that commit predicates and agent recognition look at.
#[derive(Debug, Clone, Default)]
pub struct CommitFacts {
    /// Full commit id (hex).
    pub id: String,
    /// Number of parents (0 for a root commit, 2 or more for a merge).
    pub parents: usize,
    /// Author as `Name <email>`.
    pub author: String,
    /// The full commit message, lossily decoded.
    pub message: String,
    /// Trailers of the message (see [`crate::parse_trailers`]).
    pub trailers: Vec<Trailer>,
}

impl CommitFacts {
    /// The first line of the message.
    pub fn summary(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }

    /// Values of the trailers whose key equals `key`, ignoring ASCII case.
    pub fn trailer_values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.trailers
            .iter()
            .filter(move |t| t.key.eq_ignore_ascii_case(key))
            .map(|t| t.value.as_str())
    }
}

/// How a path changed between the parent and the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The path is new.
    Added,
    /// The path is gone.
    Deleted,
    /// Content or mode changed in place.
    Modified,
    /// Moved from [`FileChange::old_path`], possibly with edits.
    Renamed,
    /// Copied from [`FileChange::old_path`], possibly with edits.
    Copied,
}

/// The type of a tree entry, as far as rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// A regular, non-executable file.
    File,
    /// A regular file with the executable bit.
    Executable,
    /// A symbolic link.
    Symlink,
    /// A submodule (gitlink).
    Submodule,
}

/// A kind a rule can ask for with `kinds = [...]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A new path.
    Add,
    /// A modification in place.
    Modify,
    /// A removed path.
    Delete,
    /// A rename.
    Rename,
    /// A copy.
    Copy,
    /// The file mode changed (including to or from a symlink or submodule).
    ModeChange,
    /// The file became executable (added as executable, or gained the executable bit).
    Executable,
    /// Either side is binary content.
    Binary,
    /// Either side is a submodule.
    Submodule,
    /// Either side is a symbolic link.
    Symlink,
}

impl ChangeKind {
    /// Every kind with its policy spelling.
    pub const ALL: [(ChangeKind, &'static str); 10] = [
        (ChangeKind::Add, "add"),
        (ChangeKind::Modify, "modify"),
        (ChangeKind::Delete, "delete"),
        (ChangeKind::Rename, "rename"),
        (ChangeKind::Copy, "copy"),
        (ChangeKind::ModeChange, "mode-change"),
        (ChangeKind::Executable, "executable"),
        (ChangeKind::Binary, "binary"),
        (ChangeKind::Submodule, "submodule"),
        (ChangeKind::Symlink, "symlink"),
    ];

    /// The policy spelling of this kind.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, n)| n)
    }

    /// Parses a policy spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }
}

/// Changed lines of one side of a file diff, packed for fast scanning.
///
/// The lines are stored joined by `\n` (without their own terminators) so that a whole-buffer
/// regex pass can tell quickly whether any line can match; `numbers[i]` is the 1-based line
/// number of the i-th stored line in its file.
#[derive(Debug, Clone, Default)]
pub struct Lines {
    text: Vec<u8>,
    starts: Vec<usize>,
    numbers: Vec<u32>,
    /// Where each line starts for the lexer (empty when no line's start is known).
    lexed: Vec<crate::lexer::LineStart>,
    /// The change moves the lexer state of lines it does not show (it opens or closes a
    /// comment or a string that unchanged lines after it fall into or out of).
    shifts_state: bool,
}

impl Lines {
    /// Appends one line (its terminator, if any, is stripped) whose lexer state is not known.
    pub fn push(&mut self, number: u32, line: &[u8]) {
        self.push_at(number, line, crate::lexer::LineStart::default());
    }

    /// Appends one line with the lexer state at its start (from [`crate::lexer::scan`] of the
    /// whole file).
    pub fn push_at(&mut self, number: u32, line: &[u8], start: crate::lexer::LineStart) {
        if start != crate::lexer::LineStart::default() && self.lexed.len() < self.numbers.len() {
            self.lexed
                .resize(self.numbers.len(), crate::lexer::LineStart::default());
        }
        if !self.lexed.is_empty() || start != crate::lexer::LineStart::default() {
            self.lexed.push(start);
        }
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !self.starts.is_empty() {
            self.text.push(b'\n');
        }
        self.starts.push(self.text.len());
        self.text.extend_from_slice(line);
        self.numbers.push(number);
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    /// True when there are no lines.
    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    /// Records that the change moves the lexer state of unchanged lines after it.
    pub fn set_shifts_state(&mut self) {
        self.shifts_state = true;
    }

    /// Whether the change moves the lexer state of unchanged lines after it: then what the
    /// changed lines say about comments and code is not the whole story.
    pub fn shifts_state(&self) -> bool {
        self.shifts_state
    }

    /// The 1-based line numbers, ascending.
    pub fn numbers(&self) -> &[u32] {
        &self.numbers
    }

    /// All lines joined by `\n`.
    pub fn text(&self) -> &BStr {
        self.text.as_bstr()
    }

    /// The lines with their 1-based line numbers.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &BStr)> + '_ {
        (0..self.numbers.len()).map(move |i| {
            let end = self.starts.get(i + 1).map_or(self.text.len(), |s| s - 1);
            (self.numbers[i], self.text[self.starts[i]..end].as_bstr())
        })
    }

    /// The `i`-th line: its 1-based number, its text and where it starts for the lexer.
    pub fn get(&self, i: usize) -> Option<(u32, &BStr, crate::lexer::LineStart)> {
        let start = *self.starts.get(i)?;
        let end = self.starts.get(i + 1).map_or(self.text.len(), |s| s - 1);
        Some((
            self.numbers[i],
            self.text[start..end].as_bstr(),
            self.lexed.get(i).copied().unwrap_or_default(),
        ))
    }

    /// The line of this side edited in place of line `i` of `other` (the other side of the
    /// same diff): the one in the same gap between unchanged lines, at the same place in its
    /// run. Both sides count the unchanged lines before a changed line alike, so a line's
    /// number less its index names its gap.
    pub fn counterpart(&self, other: &Lines, i: usize) -> Option<usize> {
        let n = i64::from(*other.numbers.get(i)?);
        let gap = n - i as i64;
        // Index in its run on the other side.
        let run_start = other.numbers[..i]
            .iter()
            .enumerate()
            .rev()
            .take_while(|(k, m)| i64::from(**m) - *k as i64 == gap)
            .count();
        let j = self.first_in_gap(gap)? + run_start;
        (j < self.numbers.len() && i64::from(self.numbers[j]) - j as i64 == gap).then_some(j)
    }

    /// The index of the first line of this side in gap `gap` (see [`Lines::counterpart`]).
    fn first_in_gap(&self, gap: i64) -> Option<usize> {
        // `number - index` never decreases along the lines.
        let mut lo = 0;
        let mut hi = self.numbers.len();
        while lo < hi {
            let mid = (lo + hi) / 2;
            if i64::from(self.numbers[mid]) - (mid as i64) < gap {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo < self.numbers.len() && i64::from(self.numbers[lo]) - lo as i64 == gap).then_some(lo)
    }

    /// The lines with their 1-based line numbers and where each starts for the lexer.
    pub fn iter_lexed(&self) -> impl Iterator<Item = (u32, &BStr, crate::lexer::LineStart)> + '_ {
        self.iter()
            .enumerate()
            .map(move |(i, (n, line))| (n, line, self.lexed.get(i).copied().unwrap_or_default()))
    }
}

/// Which side of a diff a line is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineSide {
    /// An added line; its number is in the new file.
    Added,
    /// A removed line; its number is in the old file.
    Removed,
}

/// One changed path of a commit.
#[derive(Debug, Clone)]
pub struct FileChange {
    /// The path after the change (for a deletion: the deleted path).
    pub path: BString,
    /// The source path of a rename or copy.
    pub old_path: Option<BString>,
    /// How the path changed.
    pub status: Status,
    /// Mode before (None for an addition).
    pub old_mode: Option<FileMode>,
    /// Mode after (None for a deletion).
    pub new_mode: Option<FileMode>,
    /// Either side holds binary content (known only when content was read).
    pub binary: bool,
    /// Added lines, when content was computed.
    pub added: Option<Lines>,
    /// Removed lines, when content was computed.
    pub removed: Option<Lines>,
    /// Number of added lines, when known.
    pub added_count: Option<u32>,
    /// Number of removed lines, when known.
    pub removed_count: Option<u32>,
}

impl FileChange {
    /// A change with the given path and status and nothing else known yet.
    pub fn new(path: impl Into<BString>, status: Status) -> Self {
        FileChange {
            path: path.into(),
            old_path: None,
            status,
            old_mode: None,
            new_mode: None,
            binary: false,
            added: None,
            removed: None,
            added_count: None,
            removed_count: None,
        }
    }

    /// The paths a path rule looks at: the new path and, for renames and copies, the old one.
    pub fn paths(&self) -> impl Iterator<Item = &BStr> {
        std::iter::once(self.path.as_bstr()).chain(self.old_path.as_deref().map(|p| p.as_bstr()))
    }

    /// Whether this change is of the given kind.
    pub fn is_kind(&self, kind: ChangeKind) -> bool {
        let either = |m: FileMode| self.old_mode == Some(m) || self.new_mode == Some(m);
        match kind {
            ChangeKind::Add => self.status == Status::Added,
            ChangeKind::Modify => self.status == Status::Modified,
            ChangeKind::Delete => self.status == Status::Deleted,
            ChangeKind::Rename => self.status == Status::Renamed,
            ChangeKind::Copy => self.status == Status::Copied,
            ChangeKind::ModeChange => {
                self.old_mode.is_some() && self.new_mode.is_some() && self.old_mode != self.new_mode
            }
            ChangeKind::Executable => {
                self.new_mode == Some(FileMode::Executable)
                    && self.old_mode != Some(FileMode::Executable)
            }
            ChangeKind::Binary => self.binary,
            ChangeKind::Submodule => either(FileMode::Submodule),
            ChangeKind::Symlink => either(FileMode::Symlink),
        }
    }

    /// Added plus removed lines, when known.
    pub fn lines_changed(&self) -> Option<u64> {
        Some(u64::from(self.added_count?) + u64::from(self.removed_count?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_with_numbers() {
        let mut l = Lines::default();
        l.push(3, b"first\n");
        l.push(7, b"second\r\n");
        l.push(9, b"");
        let got: Vec<_> = l.iter().map(|(n, t)| (n, t.to_string())).collect();
        assert_eq!(
            got,
            vec![
                (3, "first".into()),
                (7, "second".into()),
                (9, String::new())
            ]
        );
        assert_eq!(l.text(), "first\nsecond\n");
    }

    #[test]
    fn executable_kind_needs_the_bit_to_be_gained() {
        let mut c = FileChange::new("run.sh", Status::Modified);
        c.old_mode = Some(FileMode::File);
        c.new_mode = Some(FileMode::Executable);
        assert!(c.is_kind(ChangeKind::Executable));
        assert!(c.is_kind(ChangeKind::ModeChange));
        c.old_mode = Some(FileMode::Executable);
        assert!(!c.is_kind(ChangeKind::Executable));
        assert!(!c.is_kind(ChangeKind::ModeChange));
    }

    #[test]
    fn a_line_edited_in_place_has_its_counterpart() {
        // Old file: 1 a, 2 b, 3 c, 4 d, 5 e. New: 1 a, 2 B, 3 X, 4 c, 5 d, 6 E1, 7 E2.
        // Removed 2 (b) and 5 (e); added 2 (B), 3 (X), 6 (E1), 7 (E2).
        let mut removed = Lines::default();
        removed.push(2, b"b");
        removed.push(5, b"e");
        let mut added = Lines::default();
        for (n, t) in [(2, "B"), (3, "X"), (6, "E1"), (7, "E2")] {
            added.push(n, t.as_bytes());
        }
        // b was replaced by B (the first of its run); X has no counterpart; e by E1.
        assert_eq!(removed.counterpart(&added, 0), Some(0));
        assert_eq!(removed.counterpart(&added, 1), None);
        assert_eq!(removed.counterpart(&added, 2), Some(1));
        assert_eq!(removed.counterpart(&added, 3), None);
        assert_eq!(added.counterpart(&removed, 0), Some(0));
        assert_eq!(added.counterpart(&removed, 1), Some(2));
        assert_eq!(
            added.get(2).map(|(n, t, _)| (n, t.to_vec())),
            Some((6, b"E1".to_vec()))
        );
        assert_eq!(added.counterpart(&removed, 9), None);
        assert_eq!(Lines::default().counterpart(&added, 0), None);
    }
}
