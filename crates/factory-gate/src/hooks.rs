//! Installing the gate as git hooks: `pre-push` on a clone, `pre-receive` on a server. A hook
//! already there is kept and chained (it runs first); factory's own hook is recognised by its
//! marker line and updated in place.

use std::path::{Path, PathBuf};

use factory_git::Repo;

/// Why a hook was not installed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The hooks directory or a hook file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// `core.hooksPath` could not be read.
    #[error(transparent)]
    Config(#[from] factory_git::GitCommandError),
    /// A foreign hook and a chained one both exist: factory will not choose between them.
    #[error("{hook} is not factory's and {chained} exists already: merge them by hand", hook = .hook.display(), chained = .chained.display())]
    Occupied {
        /// The hook.
        hook: PathBuf,
        /// The chained hook already there.
        chained: PathBuf,
    },
}

/// Marks a hook file as factory's.
pub const MARKER: &str = "# factory-hook: installed by `factory hooks install`";

/// Quotes `text` for a POSIX shell.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The hook script for `hook`, running the binary `factory`.
pub fn shim(hook: &str, factory: &Path) -> String {
    let args = if hook == "pre-push" { " \"$@\"" } else { "" };
    let quoted = sh_quote(&factory.display().to_string());
    // The server's hook runs the binary fixed at install time: a pusher may control
    // receive-pack's environment (a push to a local path, sshd's AcceptEnv), so neither
    // $FACTORY nor $PATH may choose the gate. A client's own hook may be pointed elsewhere.
    let choose = if hook == "pre-receive" {
        format!(
            r#"FACTORY={quoted}
if [ ! -x "$FACTORY" ]; then
    echo "factory: the gate's binary $FACTORY is missing: the push is refused (reinstall with factory hooks install --server)" >&2
    exit 1
fi"#
        )
    } else {
        format!(
            r#"installed={quoted}
FACTORY="${{FACTORY:-$installed}}"
command -v "$FACTORY" >/dev/null 2>&1 || FACTORY=factory"#
        )
    };
    format!(
        r#"#!/bin/sh
{MARKER}
# Runs the hook this one replaced (if any) first, then factory's gate. Exit 0 lets the push go.
{choose}
input=$(cat)
chained="$(dirname "$0")/{hook}.factory-chained"
if [ -x "$chained" ]; then
    printf '%s\n' "$input" | "$chained"{args} || exit $?
fi
printf '%s\n' "$input" | exec "$FACTORY" hook {hook}{args}
"#
    )
}

/// Where hooks go: core.hooksPath (relative to the working tree) or GIT_DIR/hooks.
pub fn hooks_dir(repo: &Repo) -> Result<PathBuf, HookError> {
    let configured = repo.config_all("core.hooksPath")?.pop();
    Ok(match configured {
        Some(p) => {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                repo.workdir()
                    .unwrap_or_else(|| repo.git_dir().to_owned())
                    .join(p)
            }
        }
        None => repo.git_dir().join("hooks"),
    })
}

/// Installs `hook` (`pre-push` or `pre-receive`) into the repository, running the binary
/// `factory`, chaining an existing hook; returns what was done.
pub fn install(repo: &Repo, hook: &str, factory: &Path) -> Result<String, HookError> {
    let dir = hooks_dir(repo)?;
    let io = |source: std::io::Error| HookError::Io {
        path: dir.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let path = dir.join(hook);
    let text = shim(hook, factory);
    let mut done = format!("installed {}", path.display());
    match std::fs::read(&path) {
        Ok(existing) if String::from_utf8_lossy(&existing).contains(MARKER) => {
            if existing == text.as_bytes() {
                return Ok(format!("{} is already installed", path.display()));
            }
            done = format!("updated {}", path.display());
        }
        Ok(_) => {
            let chained = dir.join(format!("{hook}.factory-chained"));
            if chained.exists() {
                return Err(HookError::Occupied {
                    hook: path,
                    chained,
                });
            }
            std::fs::rename(&path, &chained).map_err(io)?;
            done = format!(
                "installed {} (the previous hook runs first, kept as {})",
                path.display(),
                chained.display()
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    std::fs::write(&path, text).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
    }
    Ok(done)
}

/// Removes factory's `hook` from the repository and puts back the hook it chained, if any;
/// returns what was done. A hook that is not factory's is left alone.
pub fn uninstall(repo: &Repo, hook: &str) -> Result<String, HookError> {
    let dir = hooks_dir(repo)?;
    let path = dir.join(hook);
    let io = |source: std::io::Error| HookError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::read(&path) {
        Ok(existing) if String::from_utf8_lossy(&existing).contains(MARKER) => {
            let chained = dir.join(format!("{hook}.factory-chained"));
            if chained.exists() {
                std::fs::rename(&chained, &path).map_err(io)?;
                Ok(format!(
                    "removed factory's {hook} hook; the hook it chained is back at {}",
                    path.display()
                ))
            } else {
                std::fs::remove_file(&path).map_err(io)?;
                Ok(format!("removed {}", path.display()))
            }
        }
        Ok(_) => Ok(format!("{} is not factory's: left alone", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(format!("no {hook} hook is installed"))
        }
        Err(e) => Err(io(e)),
    }
}
