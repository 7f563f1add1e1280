//! `.factory/runners.toml`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The runners of a repository.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[runner.NAME]` tables.
    #[serde(default, rename = "runner")]
    pub runners: BTreeMap<String, RunnerConfig>,
}

/// One `[runner.NAME]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunnerConfig {
    /// The registry kind; `command` is built in.
    #[serde(default = "command_kind")]
    pub kind: String,
    /// A preset of the command runner: `claude-code`, `codex`, `aider`, `gemini`, `cursor`,
    /// `opencode`, `goose`.
    pub preset: Option<String>,
    /// The program and its arguments; `{prompt}`, `{task_file}`, `{worktree}`, `{preamble}`
    /// are replaced. Overrides the preset's.
    pub command: Option<Vec<String>>,
    /// Environment variables passed through to the agent, besides PATH, HOME, USER, LANG,
    /// LC_ALL, TERM, TMPDIR and TZ. Nothing else of factory's environment reaches the agent.
    #[serde(default)]
    pub env: Vec<String>,
    /// Time limit in seconds (default 1800).
    pub timeout: Option<u64>,
    /// Where the agent leaves its transcript: a file, or a directory whose newest file written
    /// during the run is taken; `{worktree}`, `{home}`, `{run_dir}` are replaced. Overrides the
    /// preset's.
    pub transcript: Option<String>,
    /// The transcript's format (default: the preset's, else detected).
    pub transcript_format: Option<String>,
    /// The `Agent` trailer of the commit (default: the preset's name, else the runner's).
    pub agent: Option<String>,
    /// `bubblewrap` (the default): the agent runs in a sandbox that can write only its
    /// worktree and run directory and sees none of the user's files; `none`: as the user.
    pub sandbox: Option<String>,
    /// `"none"` (the default): no network in the sandbox; `"host"`: the host's network; a list
    /// of hosts (`"api.anthropic.com"`, `"*.openai.com"`, `"host:port"`): only HTTPS tunnels to
    /// those, through factory's proxy (`HTTPS_PROXY`).
    pub network: Option<NetworkConfig>,
    /// Paths bound read-only into the sandbox (`~/` is the user's home): a toolchain, the
    /// agent CLI's installation.
    #[serde(default)]
    pub read_only: Vec<String>,
    /// Paths bound writable into the sandbox.
    #[serde(default)]
    pub writable: Vec<String>,
    /// CPU time limit of each of the agent's processes, in seconds (RLIMIT_CPU).
    pub cpu_seconds: Option<u64>,
    /// Address-space limit of each of the agent's processes, in MiB (RLIMIT_AS).
    pub memory_mb: Option<u64>,
    /// The key factory signs the agent's commits with, kept outside the sandbox: an SSH
    /// private key file (`~/` is the user's home) or `openpgp:FINGERPRINT` (gpg's keyring).
    /// Its public half belongs in the policy's `[agents.NAME]`.
    pub signing_key: Option<String>,
}

/// `network` in a runner's table.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum NetworkConfig {
    /// `"none"` or `"host"`.
    Mode(String),
    /// The hosts the agent may reach.
    Allow(Vec<String>),
}

fn command_kind() -> String {
    "command".into()
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            kind: command_kind(),
            preset: None,
            command: None,
            env: Vec::new(),
            timeout: None,
            transcript: None,
            transcript_format: None,
            agent: None,
            sandbox: None,
            network: None,
            read_only: Vec::new(),
            writable: Vec::new(),
            cpu_seconds: None,
            memory_mb: None,
            signing_key: None,
        }
    }
}

/// runners.toml could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// What is wrong (with the line, from the TOML parser).
    pub message: String,
}

impl Config {
    /// Parses runners.toml.
    pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError {
            file: file.to_owned(),
            message: e.to_string(),
        })
    }
}
