//! Which commit last changed a line.

use bstr::BStr;
use gix::ObjectId;

use crate::error::RevError;
use crate::repo::Repo;

/// A line could not be blamed.
#[derive(Debug, thiserror::Error)]
pub enum BlameError {
    /// The revision did not resolve.
    #[error(transparent)]
    Rev(#[from] RevError),
    /// The line is outside the file, or the file is not in the commit.
    #[error("{path} has no line {line} at {rev}")]
    NoSuchLine {
        /// The file.
        path: String,
        /// The 1-based line.
        line: u32,
        /// The revision blamed from.
        rev: String,
    },
    /// The file is not in the commit.
    #[error("{path} is not a file at {rev}")]
    NoSuchFile {
        /// The file.
        path: String,
        /// The revision blamed from.
        rev: String,
    },
    /// gix failed.
    #[error("cannot blame {path}:{line}")]
    Blame {
        /// The file.
        path: String,
        /// The 1-based line.
        line: u32,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
}

/// The commit that last changed a line, and the line's number and path in that commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlamedLine {
    /// The commit.
    pub commit: ObjectId,
    /// The line's number in the commit's version of the file.
    pub line: u32,
    /// The file's path in that commit (it may have been renamed since).
    pub path: String,
    /// The line's text.
    pub text: String,
}

impl Repo {
    /// Blames line `line` (1-based) of `path` as of `rev`.
    pub fn blame_line(&self, rev: &str, path: &str, line: u32) -> Result<BlamedLine, BlameError> {
        let commit = self.resolve_commit(rev)?;
        let no_line = || BlameError::NoSuchLine {
            path: path.to_owned(),
            line,
            rev: rev.to_owned(),
        };
        if line == 0 {
            return Err(no_line());
        }
        let content = self
            .file_at(commit, path)
            .map_err(|_| no_line())?
            .ok_or_else(no_line)?;
        if content.split_inclusive(|b| *b == b'\n').count() < line as usize {
            return Err(no_line());
        }
        let repo = self.local();
        let fail = |source| BlameError::Blame {
            path: path.to_owned(),
            line,
            source,
        };
        let ranges = gix::blame::BlameRanges::from_one_based_inclusive_range(line..=line)
            .map_err(|e| fail(gix::Error::from_error(std::io::Error::other(e.to_string()))))?;
        let options = gix::repository::blame_file::Options {
            diff_algorithm: None,
            ranges,
            since: None,
            rewrites: Some(gix::diff::Rewrites::default()),
        };
        let outcome = repo
            .blame_file(BStr::new(path), commit, options)
            .map_err(fail)?;
        let (entry, lines) = outcome.entries_with_lines().next().ok_or_else(no_line)?;
        let offset = line - 1 - entry.start_in_blamed_file;
        Ok(BlamedLine {
            commit: entry.commit_id,
            line: entry.start_in_source_file + offset + 1,
            path: entry
                .source_file_name
                .as_ref()
                .map_or_else(|| path.to_owned(), ToString::to_string),
            text: lines
                .get(offset as usize)
                .map(|l| String::from_utf8_lossy(l).trim_end().to_owned())
                .unwrap_or_default(),
        })
    }
}

impl Repo {
    /// Blames every line of `path` as of `rev`: one entry per line, in order.
    pub fn blame_file(&self, rev: &str, path: &str) -> Result<Vec<BlamedLine>, BlameError> {
        let commit = self.resolve_commit(rev)?;
        let no_file = || BlameError::NoSuchFile {
            path: path.to_owned(),
            rev: rev.to_owned(),
        };
        if self.file_at(commit, path).map_err(|_| no_file())?.is_none() {
            return Err(no_file());
        }
        let repo = self.local();
        let options = gix::repository::blame_file::Options {
            diff_algorithm: None,
            ranges: gix::blame::BlameRanges::default(),
            since: None,
            rewrites: Some(gix::diff::Rewrites::default()),
        };
        let outcome = repo
            .blame_file(BStr::new(path), commit, options)
            .map_err(|source| BlameError::Blame {
                path: path.to_owned(),
                line: 1,
                source,
            })?;
        let mut out = Vec::new();
        for (entry, lines) in outcome.entries_with_lines() {
            let source = entry
                .source_file_name
                .as_ref()
                .map_or_else(|| path.to_owned(), ToString::to_string);
            for (i, text) in lines.iter().enumerate() {
                out.push(BlamedLine {
                    commit: entry.commit_id,
                    line: entry.start_in_source_file + i as u32 + 1,
                    path: source.clone(),
                    text: String::from_utf8_lossy(text).trim_end().to_owned(),
                });
            }
        }
        Ok(out)
    }
}
