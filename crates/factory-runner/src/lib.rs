//! Runners: how factory delegates agent execution.
//!
//! factory does not run agents itself. A [`Runner`] gets a prepared [`Workspace`] (a fresh git
//! worktree on its own branch, with the task and a policy preamble beside it), runs the agent
//! there under a time limit and a cancellation token, and reports an [`Outcome`]: how it ended,
//! where its transcript is and in which format, and where its output was logged. factory then
//! commits, attaches the transcript and asks the gate.
//!
//! Runners are made by kind through a [`Registry`]; the built-in kind is `command` (an agent
//! CLI as a child process, [`CommandRunner`]), and another crate can register more (a cluster
//! scheduler, a CI system). Runners are configured in `.factory/runners.toml` ([`Config`]).
#![deny(missing_docs)]

mod command;
mod config;
pub mod holdback;
pub mod network;
pub mod orchestrate;
pub mod sandbox;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use command::{CommandRunner, PRESETS, Preset};
pub use config::{Config, ConfigError, NetworkConfig, RunnerConfig};

/// What a runner is asked to do.
#[derive(Debug, Clone)]
pub struct Task {
    /// A short id, unique within a `factory run`.
    pub id: String,
    /// The task text given to the agent.
    pub text: String,
}

/// Where the agent works.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The worktree: a checkout of the base on the run's own branch.
    pub dir: PathBuf,
    /// The run's branch (full ref name).
    pub branch: String,
    /// The base commit.
    pub base: String,
    /// factory's files for the run, outside the worktree: the task, the preamble, the log.
    pub run_dir: PathBuf,
    /// The task text as a file.
    pub task_file: PathBuf,
    /// What the policy says about the paths (hard-stop, review), for the agent to read.
    pub preamble: PathBuf,
    /// Environment variables factory adds for the agent (`FACTORY_*`).
    pub env: BTreeMap<String, String>,
    /// The repository's git directory (shared by all worktrees).
    pub git_common_dir: PathBuf,
    /// The worktree's administrative directory (`GIT_DIR` of the worktree).
    pub admin_dir: PathBuf,
    /// The program that forwards the sandbox's `127.0.0.1` proxy port to factory's proxy
    /// (`factory sandbox-forward`); needed for a network allow-list.
    pub helper: Option<PathBuf>,
}

/// Limits of one run.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock time after which the agent and its children are killed.
    pub timeout: Duration,
}

/// Cancels a run from another thread.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Asks the run to stop; the runner kills the agent and its children.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How the agent ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it (a crash: SIGSEGV, SIGABRT, …).
    Signalled(i32),
    /// It ran past the time limit and was killed, with its children.
    TimedOut,
    /// It was cancelled and killed, with its children.
    Cancelled,
    /// It exceeded its CPU time limit (runners.toml `cpu-seconds`) and was killed.
    CpuLimit(u64),
}

impl Status {
    /// Whether the agent finished normally (exit code 0).
    pub fn success(&self) -> bool {
        *self == Status::Exited(0)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Exited(0) => f.write_str("finished"),
            Status::Exited(c) => write!(f, "failed with exit code {c}"),
            Status::Signalled(s) => write!(f, "crashed (signal {s})"),
            Status::TimedOut => f.write_str("timed out and was killed"),
            Status::Cancelled => f.write_str("was cancelled and killed"),
            Status::CpuLimit(s) => write!(f, "exceeded its CPU time limit of {s} s and was killed"),
        }
    }
}

/// Where the agent left its transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptSpot {
    /// The file.
    pub path: PathBuf,
    /// Its format for the Shift Log importers (`claude-code`, `codex`, …; None: detect).
    pub format: Option<String>,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How the agent ended.
    pub status: Status,
    /// Its transcript, if one was found (also after a crash or a timeout: partial).
    pub transcript: Option<TranscriptSpot>,
    /// The agent's standard output and error.
    pub log: PathBuf,
    /// How long it ran.
    pub elapsed: Duration,
    /// The `Agent` trailer value (`NAME/VERSION` or `NAME`).
    pub agent: String,
}

/// Why a run could not happen.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The agent program could not be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Writing or reading the run's files failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The runner is misconfigured.
    #[error("{0}")]
    Config(String),
    /// The sandbox cannot be made here.
    #[error("{0}")]
    Sandbox(String),
}

/// Runs agents.
pub trait Runner: Send + Sync + std::fmt::Debug {
    /// The runner's name (its table in runners.toml, or its preset).
    fn name(&self) -> &str;

    /// Checks, before any worktree is made, that runs can happen here (the sandbox can be
    /// made); the default has nothing to check.
    fn check(&self) -> Result<(), RunError> {
        Ok(())
    }

    /// The agent this runner's commits name (`Agent` trailer), when known before a run.
    fn agent(&self) -> Option<String> {
        None
    }

    /// The key factory signs this runner's commits with (an SSH private key file, or
    /// `openpgp:FINGERPRINT`), held outside the agent's sandbox; None: commits are unsigned.
    fn signing_key(&self) -> Option<String> {
        None
    }

    /// Prepares the workspace before the run (e.g. writes agent configuration); the default does
    /// nothing.
    fn prepare(&self, _workspace: &Workspace) -> Result<(), RunError> {
        Ok(())
    }

    /// Runs the agent on the task in the workspace, within the limits, until it ends, times out
    /// or is cancelled; kills it and its children in the last two cases.
    fn run(
        &self,
        workspace: &Workspace,
        task: &Task,
        limits: &Limits,
        cancel: &Cancel,
    ) -> Result<Outcome, RunError>;
}

/// Makes a runner of some kind from its configuration.
pub type Constructor = fn(&str, &RunnerConfig) -> Result<Box<dyn Runner>, RunError>;

/// The kinds of runners factory knows: `command` built in, more registered by other crates.
#[derive(Debug, Clone)]
pub struct Registry {
    kinds: BTreeMap<String, Constructor>,
}

impl Default for Registry {
    fn default() -> Self {
        let mut r = Registry {
            kinds: BTreeMap::new(),
        };
        r.register("command", |name, config| {
            Ok(Box::new(CommandRunner::from_config(name, config)?))
        });
        r
    }
}

impl Registry {
    /// Adds (or replaces) a kind.
    pub fn register(&mut self, kind: &str, constructor: Constructor) {
        self.kinds.insert(kind.to_owned(), constructor);
    }

    /// The kinds known.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.kinds.keys().map(String::as_str)
    }

    /// The runner `name`: a table of the configuration, else a preset of the command runner.
    pub fn runner(&self, config: &Config, name: &str) -> Result<Box<dyn Runner>, RunError> {
        match config.runners.get(name) {
            Some(rc) => {
                let make = self.kinds.get(&rc.kind).ok_or_else(|| {
                    RunError::Config(format!(
                        "runner `{name}` has kind `{}`, which is not known (known: {})",
                        rc.kind,
                        self.kinds().collect::<Vec<_>>().join(", ")
                    ))
                })?;
                make(name, rc)
            }
            None => match PRESETS.iter().find(|p| p.name == name) {
                Some(_) => Ok(Box::new(CommandRunner::from_config(
                    name,
                    &RunnerConfig {
                        kind: "command".into(),
                        preset: Some(name.to_owned()),
                        ..RunnerConfig::default()
                    },
                )?)),
                None => Err(RunError::Config(format!(
                    "no runner `{name}`: define [runner.{name}] in .factory/runners.toml, or use a preset ({})",
                    PRESETS
                        .iter()
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            },
        }
    }
}
