//! The commit selection shared by commands that look at one commit, a range or everything.

use factory_git::RangeSpec;

/// `[REV | A..B | --all]`.
#[derive(Debug, clap::Args)]
pub(crate) struct Commits {
    /// A commit (`REV`) or a range (`A..B`: commits reachable from B and not from A). Default: HEAD.
    #[arg(value_name = "REV|A..B", conflicts_with = "all")]
    range: Option<String>,
    /// Every commit reachable from HEAD, branches, remote-tracking branches and tags.
    #[arg(long)]
    all: bool,
}

impl Commits {
    /// The selection as a range specification.
    pub(crate) fn spec(&self) -> RangeSpec {
        if self.all {
            RangeSpec::All
        } else {
            RangeSpec::parse(self.range.as_deref().unwrap_or("HEAD"))
        }
    }
}
