//! `factory hook pre-push | pre-receive` (what git runs) and `factory hooks install`.

use std::io::Read as _;
use std::process::ExitCode;

use factory_gate::hooks::{self, HookError};
use factory_gate::{Notes, PushContext, PushDecision, RefUpdate, decide_push};
use factory_git::Repo;

use crate::Env;
use crate::error::CliError;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// The client-side hook: judge a push against the remote's branches before it is sent.
    ///
    /// git runs it with the remote's name and URL as arguments and one line per ref on stdin:
    /// `<local ref> <local oid> <remote ref> <remote oid>`. The remote's branches are listed
    /// with `git ls-remote`; approvals and transcripts are read from the notes being pushed, else
    /// from the remote's notes — as the server reads them. Exit 0 lets the push go, 1 stops it (blocked), 2 or 3 stops it
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
    /// Remove factory's hook (pre-push, or pre-receive with --server), putting back the hook
    /// it chained. A hook that is not factory's is left alone.
    Uninstall {
        /// Remove the server-side pre-receive hook.
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
            &[
                "ls-remote",
                "--symref",
                remote,
                "HEAD",
                "refs/heads/*",
                "refs/notes/factory/*",
            ],
            None,
        )
        .map_err(|e| {
            CliError::Config(miette::miette!(
                "cannot list the branches of {remote}, so the push cannot be judged: {e}"
            ))
        })?;
    PushContext::from_remote_listing(repo, &listing).map_err(|name| {
        let help = if name.starts_with("refs/notes/") {
            "factory notes sync (fetches and merges factory's notes), then push again"
        } else {
            "git fetch first"
        };
        CliError::Config(miette::miette!(
            help = help,
            "{name} on {remote} is at a commit this clone does not have: the push cannot be judged"
        ))
    })
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

/// Installs `hook` with this binary, chaining an existing one; returns what was done.
pub(crate) fn install_hook(repo: &Repo, hook: &str) -> Result<String, CliError> {
    let factory = std::env::current_exe()
        .map_err(|e| CliError::internal(format!("cannot find this binary: {e}")))?;
    hooks::install(repo, hook, &factory).map_err(|e| match e {
        HookError::Occupied { .. } => CliError::usage(e.to_string()),
        _ => CliError::internal(e.to_string()),
    })
}

pub(crate) fn install(env: &mut Env, cmd: InstallCommand) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let done = match cmd {
        InstallCommand::Install { server } => {
            install_hook(&repo, if server { "pre-receive" } else { "pre-push" })?
        }
        InstallCommand::Uninstall { server } => {
            hooks::uninstall(&repo, if server { "pre-receive" } else { "pre-push" })
                .map_err(|e| CliError::internal(e.to_string()))?
        }
    };
    env.ui.outln(&done)?;
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
