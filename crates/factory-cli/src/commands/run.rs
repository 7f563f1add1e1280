//! `factory run`: delegate tasks to a runner, each in its own worktree and branch; commit what
//! the agent did with trailers, attach its transcript, and show the gate's decision.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use factory_gate::classify_commits;
use factory_gate::{Decision, Notes, decide};
use factory_git::{ObjectId, Repo};
use factory_policy::Policy;
use factory_runner::{Cancel, Config, Limits, Outcome, Registry, Runner, Task, Workspace};
use factory_shiftlog::Format;
use serde::Serialize;

use crate::Env;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A file holding one task (repeat for several).
    #[arg(long = "task", value_name = "FILE")]
    tasks: Vec<PathBuf>,
    /// A task given as text (repeat for several).
    #[arg(long = "prompt", value_name = "TEXT")]
    prompts: Vec<String>,
    /// The runner: a `[runner.NAME]` of .factory/runners.toml, or a preset (claude-code, codex,
    /// aider, gemini).
    #[arg(long, value_name = "NAME")]
    runner: String,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format_ {
    /// For people.
    Human,
    /// One JSON object per task in an array.
    Json,
}

/// What happened to one task.
#[derive(Debug, Serialize)]
struct Report {
    task: String,
    runner: String,
    branch: String,
    /// `finished`, `failed with exit code N`, `crashed (signal N)`, `timed out…`.
    status: String,
    seconds: f64,
    commit: Option<String>,
    /// Why there is no commit, when there is none.
    not_committed: Option<String>,
    transcript: Option<String>,
    log: String,
    gate: Option<GateSummary>,
}

#[derive(Debug, Serialize)]
struct GateSummary {
    decision: String,
    tier: String,
    needs: Vec<String>,
}

fn internal(e: impl std::fmt::Display) -> CliError {
    CliError::internal(e.to_string())
}

/// Runs git in `dir` with agent-safe settings (no signing: an agent never signs as a person).
fn git_in(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The policy's paths by tier class, for the agent: (hard-stop, review).
fn preflight(policy: &Policy) -> (Vec<String>, Vec<String>, Vec<String>) {
    let highest = policy.highest_tier();
    let mut hard = Vec::new();
    let mut review = Vec::new();
    for rule in &policy.rules {
        let tier = policy.tier(rule.tier);
        let target = if rule.tier == highest {
            &mut hard
        } else if !tier.requires.is_empty() {
            &mut review
        } else {
            continue;
        };
        for p in &rule.paths {
            if !p.starts_with('!') && !target.contains(p) {
                target.push(p.clone());
            }
        }
    }
    let forbidden = policy
        .tiers
        .iter()
        .filter(|t| t.forbid_agent)
        .map(|t| t.name.clone())
        .collect();
    (hard, review, forbidden)
}

fn preamble(policy: &Policy, hard: &[String], review: &[String], forbidden: &[String]) -> String {
    let mut text = String::from(
        "# What the repository's policy says about your change\n\nYour work is committed on its own branch and judged by the policy before it lands.\n\n",
    );
    text.push_str(&format!(
        "## Hard stop (`{}`): sign-off by people with distinct roles\n\n",
        policy.tier_name(policy.highest_tier())
    ));
    for p in hard {
        text.push_str(&format!("- `{p}`\n"));
    }
    text.push_str("\n## Needs review\n\n");
    for p in review {
        text.push_str(&format!("- `{p}`\n"));
    }
    if !forbidden.is_empty() {
        text.push_str(&format!(
            "\n## Not for agents\n\nChanges of the tiers {} are not committed when an agent makes them.\n",
            forbidden.join(", ")
        ));
    }
    text
}

/// The person running factory: the policy's person with the git user's address, else the
/// address itself.
fn requester(repo: &Repo, policy: &Policy) -> String {
    let email = repo
        .config_all("user.email")
        .ok()
        .and_then(|mut v| v.pop())
        .unwrap_or_default();
    policy
        .people
        .iter()
        .find(|(_, p)| p.email.as_deref() == Some(email.as_str()) && !email.is_empty())
        .map(|(h, _)| h.clone())
        .unwrap_or(if email.is_empty() {
            "unknown".to_owned()
        } else {
            email
        })
}

struct Shared<'a> {
    repo: &'a Repo,
    runner: &'a dyn Runner,
    policy: &'a Policy,
    base: ObjectId,
    requester: String,
    env: BTreeMap<String, String>,
    preamble: String,
    forbidden: Vec<String>,
    timeout: Duration,
    push: Option<String>,
    /// Worktree creation and notes writes touch shared refs and files: one at a time.
    git_lock: Mutex<()>,
}

fn one(s: &Shared<'_>, task: &Task) -> Result<Report, CliError> {
    let git_dir = s.repo.git_dir().to_owned();
    let run_dir = git_dir.join("factory/runs").join(&task.id);
    let worktree = git_dir.join("factory/worktrees").join(&task.id);
    let branch = format!("factory/run/{}", task.id);
    let io = |e: std::io::Error| internal(format!("{}: {e}", run_dir.display()));
    std::fs::create_dir_all(&run_dir).map_err(io)?;
    {
        let _g = s.git_lock.lock().map_err(internal)?;
        s.repo
            .git(
                &[
                    "worktree",
                    "add",
                    "--quiet",
                    "-b",
                    &branch,
                    &worktree.to_string_lossy(),
                    &s.base.to_string(),
                ],
                None,
            )
            .map_err(internal)?;
    }
    let task_file = run_dir.join("task.md");
    std::fs::write(&task_file, &task.text).map_err(io)?;
    let preamble = worktree.join("FACTORY_PREAMBLE.md");
    std::fs::write(&preamble, &s.preamble).map_err(io)?;
    std::fs::write(run_dir.join("preamble.md"), &s.preamble).map_err(io)?;
    let mut env = s.env.clone();
    env.insert("FACTORY_TASK_FILE".into(), task_file.display().to_string());
    env.insert("FACTORY_PREAMBLE".into(), preamble.display().to_string());
    env.insert("FACTORY_WORKTREE".into(), worktree.display().to_string());
    env.insert("FACTORY_RUN_ID".into(), task.id.clone());
    env.insert("FACTORY_RUN_DIR".into(), run_dir.display().to_string());
    let ws = Workspace {
        dir: worktree.clone(),
        branch: format!("refs/heads/{branch}"),
        base: s.base.to_string(),
        run_dir: run_dir.clone(),
        task_file,
        preamble,
        env,
    };
    let ran = s.runner.prepare(&ws).and_then(|()| {
        s.runner.run(
            &ws,
            task,
            &Limits { timeout: s.timeout },
            &Cancel::default(),
        )
    });
    let outcome: Outcome = match ran {
        Ok(o) => o,
        Err(e) => {
            // The agent never ran: leave nothing behind but the run's directory.
            remove_worktree(s, &worktree, &branch, true)?;
            return Err(CliError::usage(e.to_string()));
        }
    };
    let mut report = Report {
        task: task.text.lines().next().unwrap_or_default().to_owned(),
        runner: s.runner.name().to_owned(),
        branch: branch.clone(),
        status: outcome.status.to_string(),
        seconds: outcome.elapsed.as_secs_f64(),
        commit: None,
        not_committed: None,
        transcript: None,
        log: outcome.log.display().to_string(),
        gate: None,
    };
    // Keep a copy of the transcript with the run, whatever happens next (partial after a crash).
    let transcript = match &outcome.transcript {
        Some(spot) => {
            let kept = run_dir.join(format!(
                "transcript.{}",
                spot.path
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("txt")
            ));
            std::fs::copy(&spot.path, &kept).map_err(io)?;
            report.transcript = Some(kept.display().to_string());
            Some((kept, spot.format.clone()))
        }
        None => None,
    };
    let keep_worktree = |why: String, report: &mut Report| {
        report.not_committed = Some(why);
    };
    if !outcome.status.success() {
        keep_worktree(
            format!(
                "the agent {}; its worktree is kept at {} for inspection",
                outcome.status,
                worktree.display()
            ),
            &mut report,
        );
        return Ok(report);
    }
    // Not the agent's work: factory's preamble, the transcript when the agent keeps it in the
    // worktree, and aider's own history and cache files.
    let mut excludes = vec![
        ":(exclude)FACTORY_PREAMBLE.md".to_owned(),
        ":(exclude,glob)**/.aider*".to_owned(),
    ];
    if let Some(spot) = &outcome.transcript
        && let Ok(inside) = spot.path.strip_prefix(&worktree)
    {
        excludes.push(format!(":(exclude,literal){}", inside.display()));
    }
    let mut add: Vec<&str> = vec!["add", "--all", "--", "."];
    add.extend(excludes.iter().map(String::as_str));
    git_in(&worktree, &add).map_err(internal)?;
    if git_in(&worktree, &["diff", "--cached", "--quiet"]).is_ok() {
        keep_worktree("the agent changed nothing".into(), &mut report);
        remove_worktree(s, &worktree, &branch, true)?;
        return Ok(report);
    }
    let session = transcript
        .as_ref()
        .and_then(|(path, format)| {
            let text = std::fs::read_to_string(path).ok()?;
            let fmt = format.as_deref().and_then(Format::from_name);
            factory_shiftlog::import(&path.display().to_string(), &text, fmt).ok()
        })
        .map(|t| t.session_id)
        .unwrap_or_else(|| task.id.clone());
    let subject: String = report.task.chars().take(72).collect();
    let message = format!(
        "{subject}\n\n{}\n\nAgent: {}\nAgent-Session: {session}\nRequested-By: {}\n",
        task.text.trim(),
        outcome.agent,
        s.requester
    );
    git_in(
        &worktree,
        &["commit", "--quiet", "--no-verify", "-m", &message],
    )
    .map_err(internal)?;
    let tip = s
        .repo
        .resolve_commit(&format!("refs/heads/{branch}"))
        .map_err(internal)?;
    // Forbidden for agents: undo the commit, keep the changes in the worktree.
    let classified = classify_commits(s.repo, s.policy, &[tip]).map_err(internal)?;
    let tier = s.policy.tier_name(classified[0].verdict.tier).to_owned();
    if s.forbidden.contains(&tier) {
        git_in(
            &worktree,
            &["reset", "--quiet", "--soft", &s.base.to_string()],
        )
        .map_err(internal)?;
        keep_worktree(
            format!(
                "the change is `{tier}`, which the policy forbids agents to make (forbid-agent); the changes are kept uncommitted in {}",
                worktree.display()
            ),
            &mut report,
        );
        return Ok(report);
    }
    report.commit = Some(tip.to_string());
    if let Some((path, format)) = &transcript {
        let text = std::fs::read_to_string(path).map_err(io)?;
        let fmt = format.as_deref().and_then(Format::from_name);
        let _g = s.git_lock.lock().map_err(internal)?;
        super::transcript::attach_files(
            s.repo,
            tip,
            s.policy,
            &[(path.display().to_string(), text)],
            fmt,
        )?;
    }
    remove_worktree(s, &worktree, &branch, false)?;
    let notes = Notes::current(s.repo).map_err(internal)?;
    let decision: Decision = decide(s.repo, s.base, tip, &notes).map_err(internal)?;
    report.gate = Some(GateSummary {
        decision: decision.decision.to_owned(),
        tier: decision.tier.clone(),
        needs: decision.reasons.iter().map(ToString::to_string).collect(),
    });
    if let Some(remote) = &s.push {
        let _g = s.git_lock.lock().map_err(internal)?;
        s.repo
            .git(
                &[
                    "push",
                    "--quiet",
                    remote,
                    &format!("refs/heads/{branch}"),
                    "refs/notes/factory/*:refs/notes/factory/*",
                ],
                None,
            )
            .map_err(|e| CliError::usage(format!("pushing {branch}: {e}")))?;
    }
    Ok(report)
}

fn remove_worktree(
    s: &Shared<'_>,
    worktree: &Path,
    branch: &str,
    drop_branch: bool,
) -> Result<(), CliError> {
    let _g = s.git_lock.lock().map_err(internal)?;
    s.repo
        .git(
            &["worktree", "remove", "--force", &worktree.to_string_lossy()],
            None,
        )
        .map_err(internal)?;
    if drop_branch {
        s.repo
            .git(&["branch", "--quiet", "-D", branch], None)
            .map_err(internal)?;
    }
    Ok(())
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
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
        .runner(&config, &args.runner)
        .map_err(|e| CliError::usage(e.to_string()))?;
    let configured_timeout = config.runners.get(&args.runner).and_then(|r| r.timeout);
    let timeout = Duration::from_secs(args.timeout.or(configured_timeout).unwrap_or(1800));
    let base = repo.resolve_commit(&args.base)?;
    let (policy, _, _) = crate::base_policy::at(&mut env.ui, &repo, base)?;
    let (hard, review, forbidden) = preflight(&policy);
    let mut agent_env = BTreeMap::new();
    agent_env.insert("FACTORY_HARD_STOP_PATHS".to_owned(), hard.join("\n"));
    agent_env.insert("FACTORY_REVIEW_PATHS".to_owned(), review.join("\n"));
    agent_env.insert("FACTORY_FORBIDDEN_TIERS".to_owned(), forbidden.join(","));
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let tasks: VecDeque<(usize, Task)> = texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            (
                i,
                Task {
                    id: format!("{stamp:x}-{}", i + 1),
                    text,
                },
            )
        })
        .collect();
    let count = tasks.len();
    let shared = Shared {
        repo: &repo,
        runner: runner.as_ref(),
        requester: requester(&repo, &policy),
        preamble: preamble(&policy, &hard, &review, &forbidden),
        policy: &policy,
        base,
        env: agent_env,
        forbidden,
        timeout,
        push: args.push.then(|| args.remote.clone()),
        git_lock: Mutex::new(()),
    };
    let queue = Mutex::new(tasks);
    let results: Mutex<Vec<(usize, Result<Report, CliError>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.clamp(1, count) {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                    let Some((i, task)) = next else { break };
                    let r = one(&shared, &task);
                    if let Ok(mut all) = results.lock() {
                        all.push((i, r));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().map_err(internal)?;
    results.sort_by_key(|(i, _)| *i);
    let mut reports = Vec::new();
    for (_, r) in results {
        reports.push(r?);
    }
    match args.format {
        Format_::Json => {
            let text = serde_json::to_string_pretty(&reports).map_err(internal)?;
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
