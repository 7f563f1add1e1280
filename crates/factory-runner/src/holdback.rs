//! Holdback scenarios: end-to-end checks kept where agents cannot read them, like a holdout
//! set. Each scenario is a small TOML file sealed to the validators' OpenPGP certificates
//! under `.factory/holdback/` (agents and their worktrees only ever see ciphertext); in CI,
//! where a validator's secret key is, [`run`] opens them in memory, runs each one N times in a
//! clean, sandboxed checkout of the revision judged, and reports the fraction of runs that
//! passed — which the caller signs as a `holdback` stamp.
//!
//! Scenarios are read from the governing commit (the default branch's tip), never from the
//! revision judged: a change cannot remove or weaken the scenarios that judge it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use factory_git::{ObjectId, Repo};
use serde::{Deserialize, Serialize};

use crate::sandbox::{Layout, Sandbox};

/// Where sealed scenarios live in a tree.
pub const HOLDBACK_DIR: &str = ".factory/holdback";

/// A scenario's command: a shell line, or a program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ScenarioCommand {
    /// Run with `sh -c`.
    Shell(String),
    /// Run as is.
    Argv(Vec<String>),
}

/// One holdback scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Scenario {
    /// Its name (also the file name under `.factory/holdback/`).
    pub name: String,
    /// What to run, in the root of a checkout of the revision.
    pub command: ScenarioCommand,
    /// The exit status that passes (default 0).
    #[serde(default)]
    pub expect_exit: i32,
    /// Texts the standard output must contain.
    #[serde(default)]
    pub stdout_contains: Vec<String>,
    /// Texts the standard output must not contain.
    #[serde(default)]
    pub stdout_lacks: Vec<String>,
    /// Seconds before a run is killed and fails (default 600).
    pub timeout: Option<u64>,
}

/// Why scenarios could not be added or run.
#[derive(Debug, thiserror::Error)]
pub enum HoldbackError {
    /// A scenario file is not valid.
    #[error("{file}: {message}")]
    Scenario {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Sealing or opening failed.
    #[error("{file}: {source}")]
    Seal {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: factory_trust::seal::SealError,
    },
    /// There is nothing to run.
    #[error(
        "no holdback scenarios under {HOLDBACK_DIR}/ of {0} (add one with `factory holdback add FILE` and land it)"
    )]
    Empty(String),
    /// The repository failed.
    #[error("{0}")]
    Git(String),
    /// A file of the run could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The sandbox cannot be made.
    #[error(transparent)]
    Run(#[from] crate::RunError),
}

impl Scenario {
    /// Parses a scenario file.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, HoldbackError> {
        let s: Scenario = toml::from_str(text).map_err(|e| HoldbackError::Scenario {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        let bad = |message: &str| HoldbackError::Scenario {
            file: file.to_owned(),
            message: message.to_owned(),
        };
        if s.name.is_empty()
            || !s
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || s.name.starts_with('.')
        {
            return Err(bad(
                "`name` must be letters, digits, `-`, `_` and `.` (it names the sealed file)",
            ));
        }
        match &s.command {
            ScenarioCommand::Shell(c) if c.trim().is_empty() => {
                return Err(bad("`command` is empty"));
            }
            ScenarioCommand::Argv(a) if a.is_empty() => return Err(bad("`command` is empty")),
            _ => {}
        }
        Ok(s)
    }

    /// The path of its sealed file in a tree.
    pub fn sealed_path(&self) -> String {
        format!("{HOLDBACK_DIR}/{}.asc", self.name)
    }

    fn argv(&self) -> Vec<String> {
        match &self.command {
            ScenarioCommand::Shell(c) => vec!["sh".into(), "-c".into(), c.clone()],
            ScenarioCommand::Argv(a) => a.clone(),
        }
    }
}

/// Checks and seals a scenario file for `recipients`; returns the scenario and the ciphertext.
pub fn seal(
    file: &str,
    text: &str,
    recipients: &[factory_trust::seal::Cert],
) -> Result<(Scenario, Vec<u8>), HoldbackError> {
    let scenario = Scenario::parse(file, text)?;
    let sealed = factory_trust::seal::seal(recipients, text.as_bytes()).map_err(|source| {
        HoldbackError::Seal {
            file: file.to_owned(),
            source,
        }
    })?;
    Ok((scenario, sealed))
}

/// One scenario's results.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// Its name.
    pub name: String,
    /// Runs that passed.
    pub passed: u32,
    /// Runs made.
    pub runs: u32,
    /// Why runs failed (one line per failed run).
    pub failures: Vec<String>,
}

/// The results of a holdback run: the evidence of its stamp.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The revision checked out.
    pub commit: String,
    /// The commit whose scenarios were run (the governing one).
    pub scenarios_from: String,
    /// Runs per scenario.
    pub runs: u32,
    /// Per scenario.
    pub scenarios: Vec<ScenarioResult>,
    /// Runs that passed, over all scenarios.
    pub passed: u32,
    /// Runs made, over all scenarios.
    pub total: u32,
    /// `passed / total`.
    pub fraction: f64,
}

/// Opens the scenarios sealed in `scenarios_from`'s tree with `secret_key`, runs each `runs`
/// times in a clean checkout of `commit` (in `sandbox`), and reports.
pub fn run(
    repo: &Repo,
    commit: ObjectId,
    scenarios_from: ObjectId,
    secret_key: &[u8],
    runs: u32,
    sandbox: &Sandbox,
) -> Result<Report, HoldbackError> {
    let git = |e: &dyn std::fmt::Display| HoldbackError::Git(e.to_string());
    let files = repo
        .files_in(scenarios_from, HOLDBACK_DIR)
        .map_err(|e| git(&e))?;
    let mut scenarios = Vec::new();
    for (name, bytes) in files.iter().filter(|(n, _)| n.ends_with(".asc")) {
        let text =
            factory_trust::seal::open(secret_key, bytes).map_err(|source| HoldbackError::Seal {
                file: format!("{HOLDBACK_DIR}/{name}"),
                source,
            })?;
        let text = String::from_utf8(text).map_err(|_| HoldbackError::Scenario {
            file: name.clone(),
            message: "not UTF-8 text".to_owned(),
        })?;
        scenarios.push(Scenario::parse(&format!("{HOLDBACK_DIR}/{name}"), &text)?);
    }
    if scenarios.is_empty() {
        return Err(HoldbackError::Empty(scenarios_from.to_string()));
    }
    sandbox.check()?;
    let id = format!("{}-{}", &commit.to_string()[..12], std::process::id());
    let base = repo.common_dir().join("factory/holdback").join(&id);
    let checkout = base.join("checkout");
    let run_dir = base.join("run");
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| HoldbackError::Io { path, source }
    };
    std::fs::create_dir_all(&run_dir).map_err(io(&run_dir))?;
    repo.git(
        &[
            "worktree",
            "add",
            "--quiet",
            "--detach",
            &checkout.to_string_lossy(),
            &commit.to_string(),
        ],
        None,
    )
    .map_err(|e| git(&e))?;
    let admin = admin_dir(&checkout).map_err(|e| git(&e))?;
    let result = run_all(&scenarios, runs, sandbox, &checkout, &run_dir, repo, &admin);
    let _ = repo.git(
        &["worktree", "remove", "--force", &checkout.to_string_lossy()],
        None,
    );
    let _ = std::fs::remove_dir_all(&base);
    let results = result?;
    let passed = results.iter().map(|r| r.passed).sum();
    let total = results.iter().map(|r| r.runs).sum();
    Ok(Report {
        commit: commit.to_string(),
        scenarios_from: scenarios_from.to_string(),
        runs,
        scenarios: results,
        passed,
        total,
        fraction: if total == 0 {
            0.0
        } else {
            f64::from(passed) / f64::from(total)
        },
    })
}

fn admin_dir(checkout: &Path) -> Result<PathBuf, String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(checkout)
        .args(["rev-parse", "--absolute-git-dir"])
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn run_all(
    scenarios: &[Scenario],
    runs: u32,
    sandbox: &Sandbox,
    checkout: &Path,
    run_dir: &Path,
    repo: &Repo,
    admin: &Path,
) -> Result<Vec<ScenarioResult>, HoldbackError> {
    let mut out = Vec::new();
    for s in scenarios {
        let mut r = ScenarioResult {
            name: s.name.clone(),
            passed: 0,
            runs,
            failures: Vec::new(),
        };
        for i in 0..runs {
            // Each run starts from the clean checkout.
            let _ = std::process::Command::new("git")
                .arg("-C")
                .arg(checkout)
                .args(["-c", "core.hooksPath=/dev/null"])
                .args(["clean", "-fdxq"])
                .status();
            let _ = std::process::Command::new("git")
                .arg("-C")
                .arg(checkout)
                .args(["checkout", "--quiet", "--force", "HEAD", "--", "."])
                .status();
            match run_once(s, sandbox, checkout, run_dir, repo, admin)? {
                None => r.passed += 1,
                Some(why) => r.failures.push(format!("run {}: {why}", i + 1)),
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// One run of a scenario: None when it passed, else why not.
fn run_once(
    s: &Scenario,
    sandbox: &Sandbox,
    checkout: &Path,
    run_dir: &Path,
    repo: &Repo,
    admin: &Path,
) -> Result<Option<String>, HoldbackError> {
    let argv = s.argv();
    let mut cmd = match sandbox.command(
        &Layout {
            worktree: checkout,
            run_dir,
            git_common_dir: repo.common_dir(),
            admin_dir: admin,
            helper: None,
        },
        &argv,
    ) {
        Ok(c) => c,
        Err(crate::RunError::Spawn { program, source }) => {
            return Ok(Some(format!("cannot start `{program}`: {source}")));
        }
        Err(e) => return Err(e.into()),
    };
    // The run directory is writable by the code under test: whatever an earlier run left at
    // this name (a link to a file of the user's) is removed, and the file created anew.
    let stdout_file = run_dir.join("stdout");
    let io = |source| HoldbackError::Io {
        path: stdout_file.clone(),
        source,
    };
    let out = crate::sandbox::create_fresh(&stdout_file).map_err(io)?;
    cmd.current_dir(checkout)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", crate::sandbox::home(run_dir))
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Ok(Some(format!("cannot start: {e}"))),
    };
    let limit = Duration::from_secs(s.timeout.unwrap_or(600));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if started.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(Some(format!("timed out after {} s", limit.as_secs())));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Ok(Some(format!("cannot wait: {e}"))),
        }
    };
    // Read what the run wrote to the file factory created, never through a link put there.
    let stdout = match std::fs::symlink_metadata(&stdout_file) {
        Ok(m) if m.is_file() => std::fs::read_to_string(&stdout_file).unwrap_or_default(),
        _ => String::new(),
    };
    let code = status.code().unwrap_or(-1);
    if code != s.expect_exit {
        return Ok(Some(format!(
            "exit status {code}, expected {}",
            s.expect_exit
        )));
    }
    if let Some(missing) = s
        .stdout_contains
        .iter()
        .find(|t| !stdout.contains(t.as_str()))
    {
        return Ok(Some(format!("the output lacks {missing:?}")));
    }
    if let Some(found) = s.stdout_lacks.iter().find(|t| stdout.contains(t.as_str())) {
        return Ok(Some(format!("the output contains {found:?}")));
    }
    Ok(None)
}
