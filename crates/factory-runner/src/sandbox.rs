//! The sandbox an agent runs in: bubblewrap (user namespaces), with the worktree and the run's
//! directory as the only writable places, a fresh home, no network unless the runner allows it,
//! and none of the user's files.
//!
//! What the agent sees:
//! - the system read-only (`/usr`, `/bin`, `/lib*`, `/etc`, `/opt`, `/nix` where present);
//! - its worktree and its run directory, writable; the run directory's `home/` is its `$HOME`;
//! - the repository's git directory read-only, with factory's own directory (other runs, their
//!   worktrees and transcripts) hidden and the repository's config replaced by its `core` and
//!   `extensions` settings only (a remote URL with a token stays outside);
//! - a private `/tmp`, `/proc` and `/dev`; its own PID, IPC, UTS and network namespaces (with
//!   `network = "none"` only a loopback of its own: nothing on the host's 127.0.0.1 either);
//! - what the runner lists in `read-only` and `writable`, and the agent program itself.
//!
//! What it never sees: the user's home (`~/.ssh`, `~/.gnupg`, git credentials, cloud
//! credentials), other repositories, the agent signing key factory holds for it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::RunError;

/// How a runner's agents are isolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    /// Whether bubblewrap is used at all (`sandbox = "none"` runs the agent as the user).
    pub enabled: bool,
    /// Share the host's network (`network = "host"`); otherwise the agent has none.
    pub host_network: bool,
    /// Hosts reachable through factory's proxy (`network = [...]`).
    pub allow: crate::network::AllowList,
    /// Extra paths bound read-only (a toolchain, the agent CLI's own files).
    pub read_only: Vec<PathBuf>,
    /// Extra paths bound writable (a cache the agent may fill).
    pub writable: Vec<PathBuf>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox {
            enabled: true,
            host_network: false,
            allow: crate::network::AllowList::default(),
            read_only: Vec::new(),
            writable: Vec::new(),
        }
    }
}

/// Where one run's sandbox is rooted.
#[derive(Debug, Clone)]
pub struct Layout<'a> {
    /// The worktree (writable, the working directory).
    pub worktree: &'a Path,
    /// The run's directory (writable; `home/` inside is `$HOME`).
    pub run_dir: &'a Path,
    /// The repository's git directory (read-only).
    pub git_common_dir: &'a Path,
    /// The worktree's administrative directory under the git directory (read-only: its
    /// `commondir` and `gitdir` files must not change).
    pub admin_dir: &'a Path,
    /// The forwarder program for a network allow-list.
    pub helper: Option<&'a Path>,
}

/// The Unix socket of a run's network proxy.
pub fn proxy_socket(run_dir: &Path) -> PathBuf {
    run_dir.join("proxy.sock")
}

/// System directories bound read-only when present.
const SYSTEM: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/nix",
];

/// Whether `path` lies under one of the system directories already bound.
fn in_system(path: &Path) -> bool {
    SYSTEM.iter().any(|s| path.starts_with(s))
}

/// The home directory the agent gets.
pub fn home(run_dir: &Path) -> PathBuf {
    run_dir.join("home")
}

/// The repository config the agent sees: `core.*` and `extensions.*` of the real one, without
/// anything that runs a command or names a credential.
fn sanitized_config(git_common_dir: &Path) -> String {
    let out = Command::new("git")
        .args(["config", "--file"])
        .arg(git_common_dir.join("config"))
        .args(["--null", "--list"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output();
    let mut text = String::new();
    let Ok(out) = out else { return text };
    let mut sections: std::collections::BTreeMap<String, Vec<(String, String)>> =
        std::collections::BTreeMap::new();
    for entry in out.stdout.split(|b| *b == 0) {
        let entry = String::from_utf8_lossy(entry);
        let Some((key, value)) = entry.split_once('\n') else {
            continue;
        };
        let Some((section, name)) = key.split_once('.') else {
            continue;
        };
        let keep = match section {
            "extensions" => true,
            "core" => matches!(
                name,
                "repositoryformatversion"
                    | "bare"
                    | "filemode"
                    | "logallrefupdates"
                    | "ignorecase"
                    | "precomposeunicode"
                    | "symlinks"
                    | "autocrlf"
                    | "eol"
            ),
            _ => false,
        };
        if keep && !name.contains('.') {
            sections
                .entry(section.to_owned())
                .or_default()
                .push((name.to_owned(), value.replace(['\\', '"', '\n'], "")));
        }
    }
    for (section, entries) in sections {
        text.push_str(&format!("[{section}]\n"));
        for (k, v) in entries {
            text.push_str(&format!("\t{k} = \"{v}\"\n"));
        }
    }
    text
}

impl Sandbox {
    /// Checks that bubblewrap can make a sandbox here, with a precise error otherwise.
    pub fn check(&self) -> Result<(), RunError> {
        if !self.enabled {
            return Ok(());
        }
        let out = Command::new("bwrap")
            .args(["--ro-bind", "/", "/", "--unshare-all", "--", "true"])
            .output();
        match out {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(RunError::Sandbox(
                "bubblewrap (`bwrap`) is not installed: install it (Debian/Ubuntu: `apt install bubblewrap`), or set `sandbox = \"none\"` for this runner in .factory/runners.toml to run the agent unsandboxed, as the user".to_owned(),
            )),
            Err(e) => Err(RunError::Sandbox(format!("cannot start bwrap: {e}"))),
            Ok(o) if !o.status.success() => Err(RunError::Sandbox(format!(
                "bubblewrap cannot make a sandbox on this machine ({}): unprivileged user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1, or an AppArmor profile for bwrap); or set `sandbox = \"none\"` for this runner to run unsandboxed",
                String::from_utf8_lossy(&o.stderr).trim()
            ))),
            Ok(_) => Ok(()),
        }
    }

    /// The command that runs `argv` in the sandbox (or `argv` itself when disabled). Writes the
    /// sanitized repository config into the run directory.
    pub fn command(&self, layout: &Layout<'_>, argv: &[String]) -> Result<Command, RunError> {
        if !self.enabled {
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..]);
            return Ok(cmd);
        }
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| RunError::Io { path, source }
        };
        let home = home(layout.run_dir);
        std::fs::create_dir_all(&home).map_err(io(&home))?;
        let config = layout.run_dir.join("sandbox.gitconfig");
        std::fs::write(&config, sanitized_config(layout.git_common_dir)).map_err(io(&config))?;
        let mut cmd = Command::new("bwrap");
        let arg = |cmd: &mut Command, a: &[&std::ffi::OsStr]| {
            cmd.args(a);
        };
        let os = |s: &str| std::ffi::OsString::from(s);
        cmd.args([
            "--unshare-all",
            // Run as root, bubblewrap would keep every capability: the agent could remount
            // the read-only binds writable.
            "--cap-drop",
            "ALL",
            "--die-with-parent",
            "--new-session",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
        ]);
        if self.host_network {
            cmd.arg("--share-net");
        }
        for dir in SYSTEM {
            let p = Path::new(dir);
            match std::fs::symlink_metadata(p) {
                Ok(m) if m.file_type().is_symlink() => {
                    if let Ok(target) = std::fs::read_link(p) {
                        arg(
                            &mut cmd,
                            &[
                                os("--symlink").as_os_str(),
                                target.as_os_str(),
                                p.as_os_str(),
                            ],
                        );
                    }
                }
                Ok(_) => {
                    arg(
                        &mut cmd,
                        &[os("--ro-bind").as_os_str(), p.as_os_str(), p.as_os_str()],
                    );
                }
                Err(_) => {}
            }
        }
        // The agent program itself, when it lives outside the system directories. A program
        // that is not there is reported as such, not as the sandbox's failure.
        let Some(program) = resolve(&argv[0]).filter(|p| p.is_file()) else {
            return Err(RunError::Spawn {
                program: argv[0].clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such program on PATH",
                ),
            });
        };
        if !in_system(&program) {
            arg(
                &mut cmd,
                &[
                    os("--ro-bind").as_os_str(),
                    program.as_os_str(),
                    program.as_os_str(),
                ],
            );
        }
        for p in &self.read_only {
            arg(
                &mut cmd,
                &[
                    os("--ro-bind-try").as_os_str(),
                    p.as_os_str(),
                    p.as_os_str(),
                ],
            );
        }
        // The git directory read-only, factory's own state hidden, the config sanitized.
        let git = layout.git_common_dir;
        let factory_dir = git.join("factory");
        arg(
            &mut cmd,
            &[
                os("--ro-bind").as_os_str(),
                git.as_os_str(),
                git.as_os_str(),
            ],
        );
        arg(
            &mut cmd,
            &[os("--tmpfs").as_os_str(), factory_dir.as_os_str()],
        );
        // What else of the git directory is the user's, not the agent's: hooks, submodule
        // repositories (their configs), other runs' worktree records, per-worktree config.
        let mut emptied = Vec::new();
        for hidden in ["hooks", "modules", "worktrees"] {
            let p = git.join(hidden);
            if p.is_dir() {
                arg(&mut cmd, &[os("--tmpfs").as_os_str(), p.as_os_str()]);
                emptied.push(p);
            }
        }
        let worktree_config = git.join("config.worktree");
        if worktree_config.is_file() {
            arg(
                &mut cmd,
                &[
                    os("--ro-bind").as_os_str(),
                    config.as_os_str(),
                    worktree_config.as_os_str(),
                ],
            );
        }
        let git_config = git.join("config");
        arg(
            &mut cmd,
            &[
                os("--ro-bind").as_os_str(),
                config.as_os_str(),
                git_config.as_os_str(),
            ],
        );
        for p in [layout.worktree, layout.run_dir] {
            arg(
                &mut cmd,
                &[os("--bind").as_os_str(), p.as_os_str(), p.as_os_str()],
            );
        }
        // The admin directory stays read-only even where the run directory's bind covers it.
        arg(
            &mut cmd,
            &[
                os("--ro-bind").as_os_str(),
                layout.admin_dir.as_os_str(),
                layout.admin_dir.as_os_str(),
            ],
        );
        // The emptied directories read-only too, once the worktree's own record is bound in.
        for p in &emptied {
            arg(&mut cmd, &[os("--remount-ro").as_os_str(), p.as_os_str()]);
        }
        for p in &self.writable {
            arg(
                &mut cmd,
                &[os("--bind-try").as_os_str(), p.as_os_str(), p.as_os_str()],
            );
        }
        cmd.arg("--chdir").arg(layout.worktree);
        cmd.arg("--");
        if !self.allow.0.is_empty() && !self.host_network {
            let Some(helper) = layout.helper else {
                return Err(RunError::Sandbox(
                    "a network allow-list needs factory's forwarder (`factory sandbox-forward`), which this front end does not provide".to_owned(),
                ));
            };
            // The forwarder is bound read-only like the agent program.
            let mut with_helper = Command::new("bwrap");
            with_helper.args(cmd.get_args().take_while(|a| *a != "--"));
            with_helper
                .arg("--ro-bind")
                .arg(helper)
                .arg(helper)
                .arg("--")
                .arg(helper)
                .arg("sandbox-forward")
                .arg("--socket")
                .arg(proxy_socket(layout.run_dir))
                .arg("--port")
                .arg(crate::network::PROXY_PORT.to_string())
                .arg("--")
                .args(argv);
            return Ok(with_helper);
        }
        cmd.args(argv);
        Ok(cmd)
    }
}

/// Creates `path` anew in a directory the sandboxed code could write: whatever it left at that
/// name (a link to a file of the user's, a FIFO, a directory) is removed first, and the file is
/// created with `O_EXCL`, so factory never writes through anything planted there.
pub fn create_fresh(path: &Path) -> std::io::Result<std::fs::File> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path)?,
        Ok(_) => std::fs::remove_file(path)?,
        Err(_) => {}
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// The absolute path of a program as `PATH` finds it.
fn resolve(program: &str) -> Option<PathBuf> {
    let p = Path::new(program);
    if p.is_absolute() {
        return Some(p.to_owned());
    }
    if program.contains('/') {
        return std::fs::canonicalize(p).ok();
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(program))
            .find(|c| c.is_file())
    })
}

/// Expands a leading `~/` with the user's home.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}
