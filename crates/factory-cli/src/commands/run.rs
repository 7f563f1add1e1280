//! `factory run`: delegate tasks to a runner, each in its own worktree and branch; commit what
//! the agent did with trailers, attach its transcript, and show the gate's decision
//! (`factory_runner::orchestrate` does the work).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use factory_gate::transcripts::AttachError;
use factory_git::Repo;
use factory_runner::orchestrate::{self, OrchestrateError, Plan};
use factory_runner::{Config, Registry};

use crate::Env;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// A file holding one task (repeat for several).
    #[arg(long = "task", value_name = "FILE")]
    tasks: Vec<PathBuf>,
    /// A task given as text (repeat for several).
    #[arg(long = "prompt", value_name = "TEXT")]
    prompts: Vec<String>,
    /// The runner: a `[runner.NAME]` of .factory/runners.toml, or a preset (claude-code, codex,
    /// aider, gemini).
    #[arg(long, value_name = "NAME", required = true)]
    runner: Option<String>,
    /// The revision the agents start from.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    base: String,
    /// How many tasks run at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1)]
    jobs: usize,
    /// Time limit per task in seconds (default: the runner's, else 1800).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
    /// Push each branch that got a commit, with factory's notes.
    #[arg(long)]
    push: bool,
    /// The remote for --push.
    #[arg(long, value_name = "NAME", default_value = "origin")]
    remote: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format_::Human)]
    format: Format_,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Action {
    /// List what runs left: their branches (landed or not) and kept worktrees.
    List,
    /// Remove kept worktrees, and run branches that landed or carry no commit.
    Clean {
        /// Also delete run branches whose work has not landed.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format_ {
    /// For people.
    Human,
    /// One JSON object per task in an array.
    Json,
}

fn left(env: &mut Env, action: Action) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let internal = |e: OrchestrateError| CliError::internal(e.to_string());
    match action {
        Action::List => {
            let runs = orchestrate::left_runs(&repo).map_err(internal)?;
            if runs.is_empty() {
                env.ui.outln("no runs left anything")?;
            }
            for r in runs {
                let branch = match (&r.branch, &r.commit) {
                    (Some(b), Some(c)) => format!(
                        "{b} at {} ({})",
                        &c[..12],
                        if !r.committed {
                            "no commit"
                        } else if r.landed {
                            "landed"
                        } else {
                            "not landed"
                        }
                    ),
                    _ => "no branch".to_owned(),
                };
                let worktree = r
                    .worktree
                    .map(|w| format!(", worktree kept at {}", w.display()))
                    .unwrap_or_default();
                env.ui.outln(&format!("{}: {branch}{worktree}", r.id))?;
            }
        }
        Action::Clean { all } => {
            let done = orchestrate::clean_runs(&repo, all).map_err(internal)?;
            if done.is_empty() {
                env.ui.outln("nothing to clean")?;
            }
            for d in done {
                env.ui.outln(&d)?;
            }
        }
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    if let Some(action) = args.action {
        return left(env, action);
    }
    let runner_name = args.runner.clone().unwrap_or_default();
    let repo = Repo::discover(&env.cwd)?;
    let work = repo
        .workdir()
        .ok_or_else(|| CliError::usage("factory run needs a clone with a working tree"))?;
    let mut texts: Vec<String> = Vec::new();
    for file in &args.tasks {
        let path = env.cwd.join(file);
        texts.push(
            std::fs::read_to_string(&path)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?,
        );
    }
    texts.extend(args.prompts.iter().cloned());
    texts.retain(|t| !t.trim().is_empty());
    if texts.is_empty() {
        return Err(CliError::usage(
            "give tasks with --task FILE or --prompt TEXT",
        ));
    }
    let config_path = work.join(".factory/runners.toml");
    let config = match std::fs::read_to_string(&config_path) {
        Ok(text) => Config::parse(".factory/runners.toml", &text)
            .map_err(|e| CliError::Config(miette::miette!("{e}")))?,
        Err(_) => Config::default(),
    };
    let runner = Registry::default()
        .runner(&config, &runner_name)
        .map_err(|e| CliError::usage(e.to_string()))?;
    let configured_timeout = config.runners.get(&runner_name).and_then(|r| r.timeout);
    let timeout = Duration::from_secs(args.timeout.or(configured_timeout).unwrap_or(1800));
    let base = repo.resolve_commit(&args.base)?;
    let (policy, _, _) = crate::base_policy::at(&mut env.ui, &repo, base)?;
    let mut plan = Plan::new(
        &repo,
        runner.as_ref(),
        &policy,
        base,
        timeout,
        args.push.then(|| args.remote.clone()),
    );
    plan.helper = std::env::current_exe().ok();
    orchestrate::preflight(&plan).map_err(|e| CliError::usage(e.to_string()))?;
    let mut reports = Vec::new();
    for r in orchestrate::run_all(&plan, orchestrate::tasks(texts), args.jobs) {
        reports.push(r.map_err(|e| match e {
            OrchestrateError::Runner(_)
            | OrchestrateError::Push { .. }
            | OrchestrateError::Transcript(
                AttachError::Import(_) | AttachError::Redaction(_) | AttachError::TooLarge { .. },
            ) => CliError::usage(e.to_string()),
            _ => CliError::internal(e.to_string()),
        })?);
    }
    match args.format {
        Format_::Json => {
            let text = serde_json::to_string_pretty(&reports)
                .map_err(|e| CliError::internal(e.to_string()))?;
            env.ui.outln(&text)?;
        }
        Format_::Human => {
            for (i, r) in reports.iter().enumerate() {
                env.ui.outln(&format!(
                    "task {} ({}): the agent {} in {:.1}s — {}",
                    i + 1,
                    r.runner,
                    r.status,
                    r.seconds,
                    r.task
                ))?;
                match (&r.commit, &r.not_committed) {
                    (Some(c), _) => env.ui.outln(&format!(
                        "  committed {} on {} (Agent, Agent-Session, Requested-By trailers)",
                        &c[..12],
                        r.branch
                    ))?,
                    (None, Some(why)) => env.ui.outln(&format!("  not committed: {why}"))?,
                    (None, None) => {}
                }
                if let Some(t) = &r.transcript {
                    env.ui.outln(&format!(
                        "  transcript: {}{t}",
                        if r.commit.is_some() {
                            "attached as a note; a copy is kept at "
                        } else {
                            "kept at "
                        }
                    ))?;
                }
                env.ui.outln(&format!("  log: {}", r.log))?;
                if let Some(g) = &r.gate {
                    env.ui
                        .outln(&format!("  gate: {} (tier {})", g.decision, g.tier))?;
                    for n in &g.needs {
                        env.ui.outln(&format!("    - {n}"))?;
                    }
                }
            }
        }
    }
    env.ui.flush()?;
    Ok(if reports.iter().all(|r| r.commit.is_some()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[derive(Debug, clap::Args)]
pub(crate) struct ForwardArgs {
    /// factory's proxy socket (outside the sandbox, bound in).
    #[arg(long)]
    socket: PathBuf,
    /// The port to listen on, on the sandbox's own 127.0.0.1.
    #[arg(long)]
    port: u16,
    /// The agent's command.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// `factory sandbox-forward`: runs inside a sandbox with a network allow-list.
pub(crate) fn forward(args: ForwardArgs) -> Result<ExitCode, CliError> {
    let code = factory_runner::network::forward(&args.socket, args.port, &args.command)
        .map_err(|e| CliError::usage(format!("cannot start `{}`: {e}", args.command[0])))?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
