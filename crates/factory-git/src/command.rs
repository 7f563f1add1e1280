//! The `git` program, for what gix does not do (yet): network transfers, notes merges,
//! configuration edits and patch ids.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::repo::Repo;

/// A git command failed.
#[derive(Debug, thiserror::Error)]
pub enum GitCommandError {
    /// git could not be started.
    #[error("cannot run `git {args}`: {source}")]
    Spawn {
        /// The arguments.
        args: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// git ran and failed.
    #[error("`git {args}` failed: {stderr}")]
    Failed {
        /// The arguments.
        args: String,
        /// What git said.
        stderr: String,
    },
}

/// Where the default branch is looked for, in order.
const DEFAULT_BRANCHES: [&str; 3] = ["refs/remotes/origin/HEAD", "main", "master"];

impl Repo {
    fn git_command(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir").arg(self.git_dir());
        if let Some(work) = self.workdir() {
            cmd.arg("--work-tree").arg(work);
        }
        cmd
    }

    /// Runs git with `args` (and `input` on stdin) in this repository; returns its stdout.
    pub fn git(&self, args: &[&str], input: Option<&[u8]>) -> Result<String, GitCommandError> {
        let joined = args.join(" ");
        let mut cmd = self.git_command();
        cmd.args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let spawn = |source| GitCommandError::Spawn {
            args: joined.clone(),
            source,
        };
        let mut child = cmd.spawn().map_err(spawn)?;
        // Feed stdin from another thread while this one drains stdout: with large input and
        // output, writing everything first would deadlock on full pipes.
        let out = std::thread::scope(|scope| {
            let writer = match (input, child.stdin.take()) {
                (Some(data), Some(mut stdin)) => Some(scope.spawn(move || stdin.write_all(data))),
                _ => None,
            };
            let out = child.wait_with_output();
            if let Some(w) = writer {
                match w.join() {
                    Ok(Ok(())) | Ok(Err(_)) => {}
                    Err(_) => {
                        return Err(std::io::Error::other("the stdin writer panicked"));
                    }
                }
            }
            out
        })
        .map_err(spawn)?;
        if !out.status.success() {
            return Err(GitCommandError::Failed {
                args: joined,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// All values of a multi-valued configuration key (none if unset).
    pub fn config_all(&self, key: &str) -> Result<Vec<String>, GitCommandError> {
        match self.git(&["config", "--get-all", key], None) {
            Ok(out) => Ok(out.lines().map(str::to_owned).collect()),
            // Exit code 1: the key is not set.
            Err(GitCommandError::Failed { stderr, .. }) if stderr.is_empty() => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// The merge-base of `tip` with the default branch (`origin/HEAD`, else `main`, else
    /// `master`), or None when none of them exists.
    pub fn merge_base_with_default(&self, tip: gix::ObjectId) -> Option<gix::ObjectId> {
        DEFAULT_BRANCHES.iter().find_map(|candidate| {
            let other = self.resolve_commit(candidate).ok()?;
            let out = self
                .git(&["merge-base", &tip.to_string(), &other.to_string()], None)
                .ok()?;
            gix::ObjectId::from_hex(out.trim().as_bytes()).ok()
        })
    }

    /// The default branch's tip (`origin/HEAD`, else `main`, else `master`), if one exists.
    pub fn default_branch_tip(&self) -> Option<gix::ObjectId> {
        DEFAULT_BRANCHES
            .iter()
            .find_map(|candidate| self.resolve_commit(candidate).ok())
    }

    /// The stable patch id of `diff(from, to)` (`from` None: `to` against its first parent).
    pub fn patch_id(
        &self,
        from: Option<&str>,
        to: &str,
    ) -> Result<Option<String>, GitCommandError> {
        let diff = match from {
            Some(from) => self.git(&["diff-tree", "-p", "--full-index", from, to], None)?,
            None => self.git(
                &[
                    "diff-tree",
                    "-p",
                    "--full-index",
                    "--root",
                    "-m",
                    "--first-parent",
                    to,
                ],
                None,
            )?,
        };
        let out = self.git(&["patch-id", "--stable"], Some(diff.as_bytes()))?;
        Ok(out.split_whitespace().next().map(str::to_owned))
    }
}
