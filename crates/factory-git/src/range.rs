//! Which commits a command looks at.

use gix::ObjectId;
use gix::revision::walk::Sorting;
use gix::traverse::commit::simple::CommitTimeOrder;

use crate::error::RevError;
use crate::repo::Repo;

/// The commits to look at, as a user names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeSpec {
    /// One commit.
    Single(String),
    /// Commits reachable from `to` and not from `from` (`from..to`, like git).
    Range {
        /// The excluded end (`A` in `A..B`).
        from: String,
        /// The included end (`B` in `A..B`).
        to: String,
    },
    /// Every commit reachable from a revision (`git log REV`).
    History(String),
    /// Every commit reachable from HEAD, branches, remote-tracking branches and tags.
    All,
}

impl RangeSpec {
    /// Parses `REV` or `A..B` (an empty side means `HEAD`, as in git).
    pub fn parse(spec: &str) -> RangeSpec {
        match spec.split_once("..") {
            Some((from, to)) if !to.starts_with('.') => RangeSpec::Range {
                from: if from.is_empty() { "HEAD" } else { from }.to_owned(),
                to: if to.is_empty() { "HEAD" } else { to }.to_owned(),
            },
            _ => RangeSpec::Single(spec.to_owned()),
        }
    }
}

impl std::fmt::Display for RangeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RangeSpec::Single(s) | RangeSpec::History(s) => f.write_str(s),
            RangeSpec::Range { from, to } => write!(f, "{from}..{to}"),
            RangeSpec::All => f.write_str("--all"),
        }
    }
}

impl Repo {
    /// The commits of a range, newest first (by committer time, like `git log`).
    pub fn commits(&self, spec: &RangeSpec) -> Result<Vec<ObjectId>, RevError> {
        let (tips, hidden) = match spec {
            RangeSpec::Single(rev) => return Ok(vec![self.resolve_commit(rev)?]),
            RangeSpec::Range { from, to } => (
                vec![self.resolve_commit(to)?],
                vec![self.resolve_commit(from)?],
            ),
            RangeSpec::History(rev) => (vec![self.resolve_commit(rev)?], Vec::new()),
            RangeSpec::All => (self.all_tips()?, Vec::new()),
        };
        let repo = self.local();
        let walk_err = |source: gix::Error| RevError::Walk {
            spec: spec.to_string(),
            source,
        };
        let walk = repo
            .rev_walk(tips)
            .sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
            .with_hidden(hidden)
            .all()
            .map_err(&walk_err)?;
        let mut out = Vec::new();
        for info in walk {
            out.push(info.map_err(&walk_err)?.id);
        }
        Ok(out)
    }

    fn all_tips(&self) -> Result<Vec<ObjectId>, RevError> {
        let repo = self.local();
        let walk_err = |source: gix::Error| RevError::Walk {
            spec: "--all".into(),
            source,
        };
        let mut tips: Vec<ObjectId> = repo
            .head_id()
            .ok()
            .map(|id| id.detach())
            .into_iter()
            .collect();
        let platform = repo.references().map_err(&walk_err)?;
        let refs = platform.all().map_err(&walk_err)?;
        for reference in refs {
            let mut reference = reference.map_err(|e| walk_err(gix::Error::from_error(e)))?;
            let name = reference.name().as_bstr();
            let wanted = [b"refs/heads/".as_slice(), b"refs/tags/", b"refs/remotes/"]
                .iter()
                .any(|prefix| name.starts_with(prefix));
            if !wanted {
                continue;
            }
            if let Ok(id) = reference.peel_to_commit() {
                tips.push(id.id);
            }
        }
        if tips.is_empty() {
            return Err(RevError::UnbornHead);
        }
        tips.sort();
        tips.dedup();
        Ok(tips)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_like_git() {
        assert_eq!(
            RangeSpec::parse("HEAD~2"),
            RangeSpec::Single("HEAD~2".into())
        );
        assert_eq!(
            RangeSpec::parse("main..topic"),
            RangeSpec::Range {
                from: "main".into(),
                to: "topic".into()
            }
        );
        assert_eq!(
            RangeSpec::parse("v1.0.."),
            RangeSpec::Range {
                from: "v1.0".into(),
                to: "HEAD".into()
            }
        );
    }
}
