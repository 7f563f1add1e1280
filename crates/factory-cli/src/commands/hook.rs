//! `factory hook pre-push | pre-receive` (what git runs) and `factory hooks install`.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use factory_gate::{Notes, PushContext, PushDecision, RefUpdate, decide_push};
use factory_git::{ObjectId, Repo};

use crate::Env;
use crate::error::CliError;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// The client-side hook: judge a push against the remote's branches before it is sent.
    ///
    /// git runs it with the remote's name and URL as arguments and one line per ref on stdin:
    /// `<local ref> <local oid> <remote ref> <remote oid>`. The remote's branches are listed
    /// with `git ls-remote`; approvals and transcripts are read from the notes being pushed, else
    /// from this clone's notes. Exit 0 lets the push go, 1 stops it (blocked), 2 or 3 stops it
    /// too (bad input, error).
    PrePush {
        /// The remote's name (or its URL when pushing to a URL).
        remote: String,
        /// The remote's URL.
        url: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// The server-side hook: judge the ref updates of a push being received.
    ///
    /// git runs it in the receiving repository with one line per ref on stdin:
    /// `<old oid> <new oid> <ref>`; the pushed objects are still in quarantine and are read from
    /// there. Exit 0 accepts the whole push; anything else refuses all of it, leaving every ref
    /// unchanged.
    PreReceive {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// For people (shown by git as `remote:` lines on the server side).
    Human,
    /// `{decision, updates: [{ref, old, new, judged, decision, reasons, gate}]}`.
    Json,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum InstallCommand {
    /// Install factory's hook: pre-push in a clone, pre-receive with --server (idempotent).
    ///
    /// The hook goes to core.hooksPath when it is set, else to the git directory's hooks/. An
    /// existing hook of the same name is kept as `NAME.factory-chained` and runs first with
    /// the same arguments and input; if it fails, the push fails.
    Install {
        /// Install the server-side pre-receive hook (in a bare repository).
        #[arg(long)]
        server: bool,
    },
}

fn read_stdin() -> Result<Vec<String>, CliError> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| CliError::usage(format!("the hook input is not UTF-8 text: {e}")))?;
    Ok(input
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect())
}

fn parse(
    lines: &[String],
    parse: fn(&str) -> Result<RefUpdate, String>,
) -> Result<Vec<RefUpdate>, CliError> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            parse(l).map_err(|e| {
                CliError::usage(format!(
                    "the hook input line {} is malformed: {e}; the push is refused",
                    i + 1
                ))
            })
        })
        .collect()
}

fn block(e: impl std::fmt::Display) -> CliError {
    CliError::Config(miette::miette!("the gate cannot decide, so it blocks: {e}"))
}

pub(crate) fn run(env: &mut Env, cmd: Command) -> Result<ExitCode, CliError> {
    match cmd {
        Command::PreReceive { format } => {
            let repo = Repo::for_receive(&env.cwd)?;
            let updates = parse(&read_stdin()?, RefUpdate::from_receive_line)?;
            let ctx = PushContext {
                branches: repo
                    .references("refs/heads/")
                    .map_err(|e| block(crate::error::chain(&e)))?,
                default_branch: repo.head_branch(),
                notes: Notes::current(&repo).map_err(block)?,
            };
            let decision = decide_push(&repo, &updates, &ctx);
            report(env, &decision, format, "the push is refused")
        }
        Command::PrePush {
            remote,
            url: _,
            format,
        } => {
            let repo = Repo::discover(&env.cwd)?;
            let updates = parse(&read_stdin()?, RefUpdate::from_push_line)?;
            let ctx = remote_context(&repo, &remote)?;
            for u in &updates {
                if let Some(old) = u.old
                    && !repo.has_object(old)
                {
                    return Err(CliError::Config(miette::miette!(
                        help = "git fetch, integrate, then push again",
                        "{} on {remote} is at {old}, which this clone does not have: the push cannot be judged",
                        u.name
                    )));
                }
            }
            let decision = decide_push(&repo, &updates, &ctx);
            report(
                env,
                &decision,
                format,
                "the push is stopped before it is sent",
            )
        }
    }
}

/// The remote's branches and default branch (`git ls-remote --symref`), with this clone's notes.
fn remote_context(repo: &Repo, remote: &str) -> Result<PushContext, CliError> {
    let listing = repo
        .git(
            &["ls-remote", "--symref", remote, "HEAD", "refs/heads/*"],
            None,
        )
        .map_err(|e| {
            CliError::Config(miette::miette!(
                "cannot list the branches of {remote}, so the push cannot be judged: {e}"
            ))
        })?;
    let mut ctx = PushContext {
        notes: Notes::current(repo).map_err(block)?,
        ..PushContext::default()
    };
    let mut missing: Vec<String> = Vec::new();
    for line in listing.lines() {
        if let Some(rest) = line.strip_prefix("ref: ") {
            if let Some((target, "HEAD")) = rest.split_once('\t') {
                ctx.default_branch = Some(target.to_owned());
            }
            continue;
        }
        let Some((hex, name)) = line.split_once('\t') else {
            continue;
        };
        if let (Ok(id), true) = (
            ObjectId::from_hex(hex.as_bytes()),
            name.starts_with("refs/heads/"),
        ) {
            if repo.has_object(id) {
                ctx.branches.push((name.to_owned(), id));
            } else {
                missing.push(name.to_owned());
            }
        }
    }
    // Branches this clone has not fetched only matter when they are the base: the default
    // branch (policy, protected branches, base of new refs), or when nothing else is known.
    let needed = missing
        .iter()
        .find(|m| ctx.default_branch.as_deref() == Some(m.as_str()))
        .or(missing.first().filter(|_| ctx.branches.is_empty()));
    if let Some(name) = needed {
        return Err(CliError::Config(miette::miette!(
            help = "git fetch first",
            "{name} on {remote} is at a commit this clone does not have: the push cannot be judged"
        )));
    }
    Ok(ctx)
}

fn report(
    env: &mut Env,
    decision: &PushDecision,
    format: Format,
    refused: &str,
) -> Result<ExitCode, CliError> {
    match format {
        Format::Json => {
            let text = serde_json::to_string_pretty(decision)
                .map_err(|e| CliError::internal(e.to_string()))?;
            env.ui.outln(&text)?;
        }
        Format::Human => {
            for u in &decision.updates {
                let range = match (&u.old, &u.new) {
                    (Some(o), Some(n)) => format!("{}..{}", &o[..12], &n[..12]),
                    (None, Some(n)) => format!("new at {}", &n[..12]),
                    (Some(o), None) => format!("delete (was {})", &o[..12]),
                    (None, None) => String::new(),
                };
                let tier = u
                    .gate
                    .as_ref()
                    .map(|g| format!(", tier {}, {} commit(s)", g.tier, g.commits.len()))
                    .unwrap_or_default();
                env.ui.outln(&format!(
                    "factory: {} {range}: {} ({}{tier})",
                    u.name, u.decision, u.judged
                ))?;
                for r in &u.reasons {
                    env.ui
                        .outln(&format!("factory:   - {}", super::plain(&r.to_string())))?;
                }
                if let Some(g) = &u.gate {
                    for o in &g.evaluation.overrides {
                        env.ui.outln(&format!(
                            "factory:   override by {} at {}: {}",
                            o.person, o.time, o.reason
                        ))?;
                    }
                    for w in &g.waived {
                        env.ui
                            .outln(&format!("factory:   waived by the override: {w}"))?;
                    }
                    for p in &g.note_problems {
                        env.ui
                            .outln(&format!("factory:   note: {}", super::plain(p)))?;
                    }
                }
            }
            if !decision.passes() {
                env.ui.outln(&format!("factory: blocked: {refused}"))?;
                let reasons = decision.updates.iter().flat_map(|u| &u.reasons);
                let mut hints: Vec<&str> = Vec::new();
                for r in reasons {
                    let hint = match r {
                        factory_gate::Reason::Unmet { .. } => {
                            "approve with `factory approve --role ROLE` (a holder of the role), then push the branch and `refs/notes/factory/*` together"
                        }
                        factory_gate::Reason::MissingTranscript { .. } => {
                            "attach the agent's session with `factory transcript attach FILE` and push `refs/notes/factory/*` with the branch"
                        }
                        factory_gate::Reason::UnsignedHumanCommit { .. } => {
                            "sign your commits (`git commit -S`) with a key the policy names"
                        }
                        _ => continue,
                    };
                    if !hints.contains(&hint) {
                        hints.push(hint);
                    }
                }
                for h in hints {
                    env.ui.outln(&format!("factory: hint: {h}"))?;
                }
            }
        }
    }
    env.ui.flush()?;
    Ok(if decision.passes() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Marks a hook file as factory's.
const MARKER: &str = "# factory-hook: installed by `factory hooks install`";

/// Quotes `text` for a POSIX shell.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn shim(hook: &str, factory: &Path) -> String {
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
fn hooks_dir(repo: &Repo) -> Result<PathBuf, CliError> {
    let configured = repo
        .config_all("core.hooksPath")
        .map_err(|e| CliError::internal(e.to_string()))?
        .pop();
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

/// Installs `hook` into the repository, chaining an existing one; returns what was done.
pub(crate) fn install_hook(repo: &Repo, hook: &str) -> Result<String, CliError> {
    let dir = hooks_dir(repo)?;
    let io = |e: std::io::Error| CliError::internal(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(&dir).map_err(io)?;
    let path = dir.join(hook);
    let factory = std::env::current_exe().map_err(io)?;
    let text = shim(hook, &factory);
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
                return Err(CliError::usage(format!(
                    "{} is not factory's and {} exists already: merge them by hand",
                    path.display(),
                    chained.display()
                )));
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

pub(crate) fn install(env: &mut Env, cmd: InstallCommand) -> Result<ExitCode, CliError> {
    let InstallCommand::Install { server } = cmd;
    let repo = Repo::discover(&env.cwd)?;
    let hook = if server { "pre-receive" } else { "pre-push" };
    let done = install_hook(&repo, hook)?;
    env.ui.outln(&done)?;
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
