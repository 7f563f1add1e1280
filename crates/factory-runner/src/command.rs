//! The built-in `command` runner: an agent CLI as a child process in the worktree.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::network::{AllowList, PROXY_PORT, Proxy};
use crate::sandbox::{Layout, Sandbox, expand_home, proxy_socket};
use crate::{
    Cancel, Limits, NetworkConfig, Outcome, RunError, Runner, RunnerConfig, Status, Task,
    TranscriptSpot, Workspace,
};

/// A known agent CLI: how to start it headless and where it leaves its transcript.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// The preset's name.
    pub name: &'static str,
    /// The command, with placeholders.
    pub command: &'static [&'static str],
    /// Where the transcript is (file or directory), with placeholders.
    pub transcript: &'static str,
    /// The transcript's format.
    pub format: &'static str,
}

/// The presets of the command runner.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "claude-code",
        command: &[
            "claude",
            "-p",
            "{prompt}",
            "--permission-mode",
            "acceptEdits",
        ],
        // Claude Code keeps sessions per project under ~/.claude/projects/<cwd with / as ->.
        transcript: "{home}/.claude/projects/{claude_project}",
        format: "claude-code",
    },
    Preset {
        name: "codex",
        command: &["codex", "exec", "--full-auto", "{prompt}"],
        transcript: "{home}/.codex/sessions",
        format: "codex",
    },
    Preset {
        name: "aider",
        command: &[
            "aider",
            "--yes-always",
            "--no-auto-commits",
            "--message",
            "{prompt}",
        ],
        transcript: "{worktree}/.aider.chat.history.md",
        format: "aider",
    },
    Preset {
        name: "gemini",
        command: &["gemini", "-p", "{prompt}", "--yolo"],
        transcript: "{home}/.gemini/tmp",
        format: "gemini",
    },
    // The next three stream their session as JSON lines on standard output, which the runner
    // keeps as the agent's log.
    Preset {
        name: "cursor",
        command: &[
            "cursor-agent",
            "-p",
            "{prompt}",
            "--output-format",
            "stream-json",
            "--force",
        ],
        transcript: "{run_dir}/agent.log",
        format: "cursor-cli",
    },
    Preset {
        name: "opencode",
        command: &["opencode", "run", "--format", "json", "{prompt}"],
        transcript: "{run_dir}/agent.log",
        format: "opencode",
    },
    Preset {
        name: "goose",
        command: &[
            "goose",
            "run",
            "--output-format",
            "stream-json",
            "--text",
            "{prompt}",
        ],
        transcript: "{run_dir}/agent.log",
        format: "goose",
    },
];

/// Variables every agent gets from factory's environment.
const BASE_ENV: &[&str] = &[
    "PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR", "TZ",
];

/// Runs an agent CLI.
#[derive(Debug, Clone)]
pub struct CommandRunner {
    name: String,
    command: Vec<String>,
    env: Vec<String>,
    transcript: Option<String>,
    format: Option<String>,
    agent: String,
    timeout: Option<Duration>,
    sandbox: Sandbox,
    cpu_seconds: Option<u64>,
    memory_mb: Option<u64>,
    signing_key: Option<String>,
}

impl CommandRunner {
    /// A runner from its `[runner.NAME]` table.
    pub fn from_config(name: &str, config: &RunnerConfig) -> Result<CommandRunner, RunError> {
        let preset = match &config.preset {
            Some(p) => Some(PRESETS.iter().find(|x| x.name == p).ok_or_else(|| {
                RunError::Config(format!(
                    "runner `{name}`: no preset `{p}` (presets: {})",
                    PRESETS
                        .iter()
                        .map(|x| x.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?),
            None => None,
        };
        let command = match (&config.command, preset) {
            (Some(c), _) if !c.is_empty() => c.clone(),
            (Some(_), _) => {
                return Err(RunError::Config(format!(
                    "runner `{name}`: `command` is empty"
                )));
            }
            (None, Some(p)) => p.command.iter().map(|s| (*s).to_owned()).collect(),
            (None, None) => {
                return Err(RunError::Config(format!(
                    "runner `{name}` needs `command` or `preset`"
                )));
            }
        };
        let named_files: Vec<PathBuf> = command
            .iter()
            .filter(|a| !a.contains('{'))
            .map(PathBuf::from)
            .filter(|p| p.is_absolute() && p.is_file())
            .collect();
        Ok(CommandRunner {
            name: name.to_owned(),
            command,
            env: config.env.clone(),
            transcript: config
                .transcript
                .clone()
                .or_else(|| preset.map(|p| p.transcript.to_owned())),
            format: config
                .transcript_format
                .clone()
                .or_else(|| preset.map(|p| p.format.to_owned())),
            agent: config
                .agent
                .clone()
                .or_else(|| preset.map(|p| p.name.to_owned()))
                .unwrap_or_else(|| name.to_owned()),
            timeout: config.timeout.map(Duration::from_secs),
            sandbox: Sandbox {
                enabled: match config.sandbox.as_deref() {
                    None | Some("bubblewrap") => true,
                    Some("none") => false,
                    Some(other) => {
                        return Err(RunError::Config(format!(
                            "runner `{name}`: sandbox `{other}` is not known (`bubblewrap` or `none`; a container image is run with a `command` such as `podman run ...`)"
                        )));
                    }
                },
                host_network: match &config.network {
                    None | Some(NetworkConfig::Allow(_)) => false,
                    Some(NetworkConfig::Mode(m)) if m == "none" => false,
                    Some(NetworkConfig::Mode(m)) if m == "host" => true,
                    Some(NetworkConfig::Mode(other)) => {
                        return Err(RunError::Config(format!(
                            "runner `{name}`: network `{other}` is not known (`\"none\"`, `\"host\"`, or a list of hosts such as `[\"api.anthropic.com\"]`)"
                        )));
                    }
                },
                allow: AllowList(match &config.network {
                    Some(NetworkConfig::Allow(hosts)) => hosts.clone(),
                    _ => Vec::new(),
                }),
                // The configured paths, and the files the command names (an agent script).
                read_only: config
                    .read_only
                    .iter()
                    .map(|p| expand_home(p))
                    .chain(named_files)
                    .collect(),
                writable: config.writable.iter().map(|p| expand_home(p)).collect(),
            },
            cpu_seconds: config.cpu_seconds,
            memory_mb: config.memory_mb,
            signing_key: config.signing_key.as_ref().map(|k| {
                if k.starts_with("openpgp:") {
                    k.clone()
                } else {
                    expand_home(k).display().to_string()
                }
            }),
        })
    }

    /// The time limit configured for this runner, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn expand(&self, text: &str, ws: &Workspace, task: &Task) -> String {
        let home = if self.sandbox.enabled {
            crate::sandbox::home(&ws.run_dir).display().to_string()
        } else {
            std::env::var("HOME").unwrap_or_default()
        };
        let project: String = ws
            .dir
            .to_string_lossy()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        text.replace("{prompt}", &task.text)
            .replace("{task_file}", &ws.task_file.to_string_lossy())
            .replace("{worktree}", &ws.dir.to_string_lossy())
            .replace("{preamble}", &ws.preamble.to_string_lossy())
            .replace("{run_dir}", &ws.run_dir.to_string_lossy())
            .replace("{home}", &home)
            .replace("{claude_project}", &project)
    }
}

/// `cmd` under resource limits, set by `sh`'s `ulimit` before it execs the command (inherited
/// by the sandbox and every process of the agent): CPU time (SIGXCPU at the limit, SIGKILL a
/// second later) and address space.
fn limited(cmd: Command, cpu_seconds: Option<u64>, memory_mb: Option<u64>) -> Command {
    let mut script = String::new();
    if let Some(s) = cpu_seconds {
        script.push_str(&format!("ulimit -S -t {s} && ulimit -H -t {} && ", s + 1));
    }
    if let Some(m) = memory_mb {
        let kib = m.saturating_mul(1024);
        script.push_str(&format!("ulimit -S -v {kib} && ulimit -H -v {kib} && "));
    }
    script.push_str("exec \"$@\"");
    let mut out = Command::new("/bin/sh");
    out.arg("-c")
        .arg(script)
        .arg("sh")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    out
}

/// The newest file under `dir` (recursively) modified at or after `since`.
fn newest_file(dir: &Path, since: SystemTime) -> Option<PathBuf> {
    let mut best: Option<(SystemTime, PathBuf)> = None;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            // Never through a link: an agent could point one at a file of the user's.
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
            } else if !meta.is_file() {
                // A FIFO or a device would block or mislead the read that follows.
                continue;
            } else if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                // factory's own files of the run are never the agent's session.
                matches!(
                    n,
                    "task.md" | "preamble.md" | "agent.log" | "sandbox.gitconfig" | "network.log"
                )
            }) {
                continue;
            } else if let Ok(m) = meta.modified()
                && m >= since
                && best.as_ref().is_none_or(|(b, _)| m > *b)
            {
                best = Some((m, path));
            }
        }
    }
    best.map(|(_, p)| p)
}

fn kill_group(pid: u32, signal: Signal) {
    if let Ok(raw) = i32::try_from(pid) {
        // The agent leads its own process group: this reaches its children too.
        let _ = killpg(Pid::from_raw(raw), signal);
    }
}

impl Runner for CommandRunner {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> Result<(), RunError> {
        self.sandbox.check()
    }

    fn signing_key(&self) -> Option<String> {
        self.signing_key.clone()
    }

    fn agent(&self) -> Option<String> {
        Some(self.agent.clone())
    }

    fn run(
        &self,
        ws: &Workspace,
        task: &Task,
        limits: &Limits,
        cancel: &Cancel,
    ) -> Result<Outcome, RunError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| RunError::Io {
                path: path.clone(),
                source,
            }
        };
        let log = ws.run_dir.join("agent.log");
        let out = std::fs::File::create(&log).map_err(io(&log))?;
        let err = out.try_clone().map_err(io(&log))?;
        let argv: Vec<String> = self
            .command
            .iter()
            .map(|a| self.expand(a, ws, task))
            .collect();
        let mut cmd = self.sandbox.command(
            &Layout {
                worktree: &ws.dir,
                run_dir: &ws.run_dir,
                git_common_dir: &ws.git_common_dir,
                admin_dir: &ws.admin_dir,
                helper: ws.helper.as_deref(),
            },
            &argv,
        )?;
        if self.cpu_seconds.is_some() || self.memory_mb.is_some() {
            cmd = limited(cmd, self.cpu_seconds, self.memory_mb);
        }
        cmd.current_dir(&ws.dir)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        for key in BASE_ENV
            .iter()
            .copied()
            .chain(self.env.iter().map(String::as_str))
        {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        for (k, v) in &ws.env {
            cmd.env(k, v);
        }
        if self.sandbox.enabled {
            cmd.env("HOME", crate::sandbox::home(&ws.run_dir));
            cmd.env("TMPDIR", "/tmp");
        }
        // The allow-list's proxy lives as long as the run.
        let _proxy = if self.sandbox.enabled
            && !self.sandbox.host_network
            && !self.sandbox.allow.0.is_empty()
        {
            let url = format!("http://127.0.0.1:{PROXY_PORT}");
            for key in [
                "HTTPS_PROXY",
                "https_proxy",
                "HTTP_PROXY",
                "http_proxy",
                "ALL_PROXY",
            ] {
                cmd.env(key, &url);
            }
            Some(
                Proxy::start(
                    &proxy_socket(&ws.run_dir),
                    &ws.run_dir.join("network.log"),
                    self.sandbox.allow.clone(),
                )
                .map_err(io(&ws.run_dir))?,
            )
        } else {
            None
        };
        // Transcripts written during the run (mtime has a coarse clock on some filesystems).
        let since = SystemTime::now() - Duration::from_secs(2);
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|source| RunError::Spawn {
            program: argv[0].clone(),
            source,
        })?;
        let pid = child.id();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => {
                    use std::os::unix::process::ExitStatusExt;
                    // Children left behind by the agent go with it.
                    kill_group(pid, Signal::SIGKILL);
                    // bubblewrap exits 128 + N when the agent died of signal N.
                    let sigxcpu = Signal::SIGXCPU as i32;
                    break match (s.code(), s.signal()) {
                        (Some(c), _) if self.cpu_seconds.is_some() && c == 128 + sigxcpu => {
                            Status::CpuLimit(self.cpu_seconds.unwrap_or_default())
                        }
                        (None, Some(sig)) if self.cpu_seconds.is_some() && sig == sigxcpu => {
                            Status::CpuLimit(self.cpu_seconds.unwrap_or_default())
                        }
                        (Some(c), _) if self.sandbox.enabled && c > 128 => {
                            Status::Signalled(c - 128)
                        }
                        (Some(c), _) => Status::Exited(c),
                        (None, Some(sig)) => Status::Signalled(sig),
                        (None, None) => Status::Exited(-1),
                    };
                }
                Ok(None) => {}
                Err(source) => {
                    kill_group(pid, Signal::SIGKILL);
                    return Err(RunError::Io {
                        path: log.clone(),
                        source,
                    });
                }
            }
            let why = if cancel.is_cancelled() {
                Some(Status::Cancelled)
            } else if started.elapsed() >= limits.timeout {
                Some(Status::TimedOut)
            } else {
                None
            };
            if let Some(why) = why {
                kill_group(pid, Signal::SIGTERM);
                let grace = Instant::now();
                while grace.elapsed() < Duration::from_secs(2) {
                    if matches!(child.try_wait(), Ok(Some(_))) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                kill_group(pid, Signal::SIGKILL);
                let _ = child.wait();
                break why;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let transcript = self.transcript.as_ref().and_then(|t| {
            let path = PathBuf::from(self.expand(t, ws, task));
            let file = if path.is_dir() {
                newest_file(&path, since)?
            } else if path.is_file() {
                path
            } else {
                return None;
            };
            // A sandboxed agent wrote its transcript where it could write: a path that leads
            // elsewhere (through a link it planted) is not its transcript.
            if self.sandbox.enabled {
                let real = std::fs::canonicalize(&file).ok()?;
                let inside = [&ws.dir, &ws.run_dir]
                    .iter()
                    .filter_map(|d| std::fs::canonicalize(d).ok())
                    .any(|d| real.starts_with(d));
                if !inside {
                    return None;
                }
            }
            Some(TranscriptSpot {
                path: file,
                format: self.format.clone(),
            })
        });
        Ok(Outcome {
            status,
            transcript,
            log,
            elapsed: started.elapsed(),
            agent: self.agent.clone(),
        })
    }
}
