//! Where a read-only command takes its policy from.
//!
//! `--policy FILE` wins; otherwise the working tree's `.factory/policy.toml` (so that a policy
//! can be tried before it is committed), else HEAD's, else the embedded default.

use std::fmt;
use std::path::{Path, PathBuf};

use factory_git::{ObjectId, Repo};
use factory_policy::{DEFAULT_POLICY, Policy};

use crate::error::CliError;

/// The policy's path inside a repository.
pub(crate) const POLICY_PATH: &str = ".factory/policy.toml";

/// Where the policy in use came from.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// `--policy FILE`.
    Override(PathBuf),
    /// The working tree's file.
    WorkTree,
    /// The file in HEAD's tree.
    Head(ObjectId),
    /// The embedded default.
    Embedded,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Override(p) => write!(f, "{} (--policy)", p.display()),
            Origin::WorkTree => write!(f, "{POLICY_PATH} (working tree)"),
            Origin::Head(id) => write!(f, "{POLICY_PATH} at HEAD ({})", &id.to_string()[..12]),
            Origin::Embedded => f.write_str("embedded default"),
        }
    }
}

impl Origin {
    /// A short machine-readable form for JSON output.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Origin::Override(_) => "file",
            Origin::WorkTree => "worktree",
            Origin::Head(_) => "head",
            Origin::Embedded => "embedded",
        }
    }
}

/// A policy's text and where it came from, before it is parsed.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) origin: Origin,
    pub(crate) name: String,
    pub(crate) text: String,
}

impl Source {
    pub(crate) fn parse(&self) -> Result<Policy, CliError> {
        Ok(Policy::parse(&self.name, &self.text)?)
    }
}

fn read_file(path: &Path, origin: Origin, name: String) -> Result<Source, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::usage(format!("cannot read policy file {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::usage(format!("policy file {} is not UTF-8", path.display())))?;
    Ok(Source { origin, name, text })
}

/// Finds the policy text for a read-only command.
pub(crate) fn locate(
    cwd: &Path,
    repo: Option<&Repo>,
    override_file: Option<&Path>,
) -> Result<Source, CliError> {
    if let Some(file) = override_file {
        let path = cwd.join(file);
        return read_file(
            &path,
            Origin::Override(path.clone()),
            file.display().to_string(),
        );
    }
    if let Some(repo) = repo {
        if let Some(workdir) = repo.workdir() {
            let path = workdir.join(POLICY_PATH);
            if path.is_file() {
                return read_file(&path, Origin::WorkTree, POLICY_PATH.to_owned());
            }
        }
        if let Some(head) = repo.head_commit()
            && let Some(bytes) = repo.file_at(head, POLICY_PATH)?
        {
            let text = String::from_utf8(bytes)
                .map_err(|_| CliError::usage(format!("{POLICY_PATH} at HEAD is not UTF-8")))?;
            return Ok(Source {
                origin: Origin::Head(head),
                name: format!("HEAD:{POLICY_PATH}"),
                text,
            });
        }
    }
    Ok(Source {
        origin: Origin::Embedded,
        name: "<embedded default policy>".to_owned(),
        text: DEFAULT_POLICY.text.to_owned(),
    })
}
