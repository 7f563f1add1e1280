//! Delegating tasks to agents: each task runs in its own worktree and branch, from the trusted
//! base; what the agent did is committed with `Agent`, `Agent-Session` and `Requested-By`
//! trailers, its transcript attached as a note (redacted under the policy), and the gate asked
//! for its decision. A front end (the `factory run` command, a scheduler, a forge bot) builds a
//! [`Plan`] and calls [`run_all`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use factory_gate::{Decision, GateError, Notes, classify_commits, decide};
use factory_git::{ObjectId, Repo};
use factory_policy::Policy;
use factory_shiftlog::Format;
use serde::Serialize;

use crate::{Cancel, Limits, Outcome, RunError, Runner, Task, Workspace};

/// What happened to one task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskReport {
    /// The task's first line.
    pub task: String,
    /// The runner's name.
    pub runner: String,
    /// The branch the agent worked on.
    pub branch: String,
    /// `finished`, `failed with exit code N`, `crashed (signal N)`, `timed out…`.
    pub status: String,
    /// How long the agent ran.
    pub seconds: f64,
    /// The commit made, if one was.
    pub commit: Option<String>,
    /// Why there is no commit, when there is none.
    pub not_committed: Option<String>,
    /// Where the copy of the transcript is kept.
    pub transcript: Option<String>,
    /// The agent's log.
    pub log: String,
    /// The gate's decision on the commit.
    pub gate: Option<GateSummary>,
}

/// The gate's decision on a task's commit.
#[derive(Debug, Clone, Serialize)]
pub struct GateSummary {
    /// `pass`, `blocked` or `override`.
    pub decision: String,
    /// The change's tier.
    pub tier: String,
    /// What it still needs.
    pub needs: Vec<String>,
}

/// Why a task could not be run or its work not kept.
#[derive(Debug, thiserror::Error)]
pub enum OrchestrateError {
    /// The runner could not start the agent.
    #[error(transparent)]
    Runner(#[from] RunError),
    /// A file of the run could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A git command failed.
    #[error("{0}")]
    Git(String),
    /// The gate could not classify or decide.
    #[error(transparent)]
    Gate(#[from] GateError),
    /// The transcript could not be attached.
    #[error(transparent)]
    Transcript(#[from] factory_gate::transcripts::AttachError),
    /// The branch could not be pushed.
    #[error("pushing {branch}: {message}")]
    Push {
        /// The branch.
        branch: String,
        /// What git said.
        message: String,
    },
}

fn git_err(e: impl std::fmt::Display) -> OrchestrateError {
    OrchestrateError::Git(e.to_string())
}

/// What the policy tells an agent before it starts: the path patterns of the hard-stop tier
/// and of the tiers that need review, and the tiers agents may not make.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Brief {
    /// Path rules whose changes are hard-stop: one line per rule, its patterns in order with
    /// their `!` exclusions, in gitignore syntax (the last matching pattern decides).
    pub hard_stop: Vec<String>,
    /// Path rules whose changes need review, written the same way.
    pub review: Vec<String>,
    /// Content rules (they fire on what added or removed lines say, not on paths): tier, id,
    /// description and the files they read.
    pub content: Vec<String>,
    /// Tiers agents may not make (`forbid-agent`).
    pub forbidden: Vec<String>,
}

/// Everything the tasks of one `run` share.
#[derive(Debug)]
pub struct Plan<'a> {
    /// The repository.
    pub repo: &'a Repo,
    /// The runner.
    pub runner: &'a dyn Runner,
    /// The base's policy.
    pub policy: &'a Policy,
    /// The commit the agents start from.
    pub base: ObjectId,
    /// Who asked for the work (`Requested-By`).
    pub requester: String,
    /// Environment given to the agent (`FACTORY_*`).
    pub env: BTreeMap<String, String>,
    /// The preamble written into each worktree.
    pub preamble: String,
    /// Tiers agents may not make.
    pub forbidden: Vec<String>,
    /// Time limit per task.
    pub timeout: Duration,
    /// The remote to push each committed branch to, with factory's notes.
    pub push: Option<String>,
    /// The program that runs `sandbox-forward` inside a sandbox with a network allow-list
    /// (the factory binary); None: allow-lists are refused.
    pub helper: Option<PathBuf>,
    /// Worktree creation and notes writes touch shared refs and files: one at a time.
    git_lock: Mutex<()>,
}

impl<'a> Plan<'a> {
    /// A plan for tasks starting at `base` under `policy` (the base's), run by `runner`.
    pub fn new(
        repo: &'a Repo,
        runner: &'a dyn Runner,
        policy: &'a Policy,
        base: ObjectId,
        timeout: Duration,
        push: Option<String>,
    ) -> Plan<'a> {
        let b = brief(policy);
        let mut env = BTreeMap::new();
        env.insert("FACTORY_HARD_STOP_PATHS".to_owned(), b.hard_stop.join("\n"));
        env.insert("FACTORY_REVIEW_PATHS".to_owned(), b.review.join("\n"));
        env.insert("FACTORY_FORBIDDEN_TIERS".to_owned(), b.forbidden.join(","));
        env.insert("FACTORY_CONTENT_RULES".to_owned(), b.content.join("\n"));
        Plan {
            repo,
            runner,
            policy,
            base,
            requester: requester(repo, policy),
            env,
            preamble: preamble(policy, &b),
            forbidden: b.forbidden,
            timeout,
            push,
            helper: None,
            git_lock: Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // A poisoned lock only means another task panicked; the guarded state is git's.
        self.git_lock.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Tasks from their texts, with ids unique to this run (time-stamped, numbered from 1).
pub fn tasks(texts: Vec<String>) -> Vec<Task> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| Task {
            id: format!("{stamp:x}-{}", i + 1),
            text,
        })
        .collect()
}

/// The `git -c` settings that sign a commit with the agent key factory holds.
fn signing_args(key: Option<&str>) -> Vec<String> {
    let Some(key) = key else {
        return Vec::new();
    };
    let (format, key) = match key.strip_prefix("openpgp:") {
        Some(fpr) => ("openpgp", fpr),
        None => ("ssh", key),
    };
    [
        "-c".to_owned(),
        format!("gpg.format={format}"),
        "-c".to_owned(),
        format!("user.signingkey={key}"),
        "-c".to_owned(),
        "commit.gpgsign=true".to_owned(),
    ]
    .to_vec()
}

/// Checks before any worktree is made that the runs can happen as the policy wants: the
/// sandbox can be made, and with `require-verified-agents` the runner signs as an agent the
/// policy names.
pub fn preflight(plan: &Plan<'_>) -> Result<(), OrchestrateError> {
    plan.runner.check()?;
    let agents = &plan.policy.agents;
    let agent = plan.runner.agent();
    if agents.require_verified {
        let named = agent.as_deref().and_then(|a| agents.principal_of(a));
        if plan.runner.signing_key().is_none() || named.is_none() {
            return Err(OrchestrateError::Runner(RunError::Config(format!(
                "the policy requires verified agents (require-verified-agents): runner `{}` needs `signing-key` in .factory/runners.toml and the policy needs `[agents.{}]` with that key's public half",
                plan.runner.name(),
                agent
                    .as_deref()
                    .map_or("NAME", |a| a.split('/').next().unwrap_or(a))
            ))));
        }
    }
    Ok(())
}

/// Runs `tasks`, `jobs` at a time; the results in the order of `tasks`.
pub fn run_all(
    plan: &Plan<'_>,
    tasks: Vec<Task>,
    jobs: usize,
) -> Vec<Result<TaskReport, OrchestrateError>> {
    let count = tasks.len();
    let queue = Mutex::new(tasks.into_iter().enumerate().collect::<Vec<_>>());
    let results: Mutex<Vec<(usize, Result<TaskReport, OrchestrateError>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, count.max(1)) {
            scope.spawn(|| {
                loop {
                    let next = {
                        let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
                        if q.is_empty() {
                            None
                        } else {
                            Some(q.remove(0))
                        }
                    };
                    let Some((i, task)) = next else { break };
                    let r = run_task(plan, &task);
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((i, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// A run's worktree as factory's own git commands address it: by its administrative
/// directory, recorded before the agent ran, never by the `.git` file the agent could rewrite.
struct Tree<'a> {
    dir: &'a Path,
    admin: &'a Path,
}

/// Runs git on a run's worktree with agent-safe settings: the git directory named explicitly,
/// no hooks, no fsmonitor command, no signing unless `extra` asks for factory's agent key (an
/// agent never signs as a person).
fn git_in(tree: &Tree<'_>, args: &[&str]) -> Result<String, String> {
    git_in_with(tree, &[], args)
}

fn git_in_with(tree: &Tree<'_>, extra: &[String], args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(tree.dir)
        .arg(format!("--git-dir={}", tree.admin.display()))
        .arg(format!("--work-tree={}", tree.dir.display()))
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.fsmonitor=false",
        ])
        .args(extra)
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

/// The policy's paths by tier class, for the agent.
pub fn brief(policy: &Policy) -> Brief {
    let highest = policy.highest_tier();
    let mut out = Brief::default();
    for rule in &policy.rules {
        let tier = policy.tier(rule.tier);
        let hard = rule.tier == highest;
        if !hard && tier.requires.is_empty() {
            continue;
        }
        let has_lines = !rule.added_lines.is_empty()
            || !rule.removed_lines.is_empty()
            || !rule.changed_lines.is_empty();
        if has_lines {
            let scope = if rule.paths.is_empty() {
                "every file".to_owned()
            } else {
                rule.paths.join(" ")
            };
            out.content.push(format!(
                "{} {}: {} (in {scope})",
                tier.name, rule.id, rule.description
            ));
            continue;
        }
        if rule.paths.is_empty() {
            continue;
        }
        // A path rule that reads only some parts of lines does not fire on an edit of the
        // others (the default's hard-stop path rules: code, not comments or tests).
        let parts = &rule.lines_in;
        let only = if parts.is_any() {
            String::new()
        } else {
            let named: Vec<&str> = [
                (parts.code, "code"),
                (parts.comments, "comments"),
                (parts.strings, "strings"),
                (parts.tests, "test modules"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
            format!(" (when the change reaches {})", named.join(", "))
        };
        let line = format!("{}{only}: {}", rule.id, rule.paths.join(" "));
        let target = if hard {
            &mut out.hard_stop
        } else {
            &mut out.review
        };
        if !target.contains(&line) {
            target.push(line);
        }
    }
    out.forbidden = policy
        .tiers
        .iter()
        .filter(|t| t.forbid_agent)
        .map(|t| t.name.clone())
        .collect();
    out
}

/// The preamble written into each worktree (`FACTORY_PREAMBLE.md`): what the policy says.
pub fn preamble(policy: &Policy, brief: &Brief) -> String {
    let (hard, review, forbidden) = (&brief.hard_stop, &brief.review, &brief.forbidden);
    let content = &brief.content;
    let mut text = String::from(
        "# What the repository's policy says about your change\n\nYour work is committed on its own branch and judged by the policy before it lands.\n\n",
    );
    text.push_str(&format!(
        "## Hard stop (`{}`): sign-off by people with distinct roles\n\n",
        policy.tier_name(policy.highest_tier())
    ));
    text.push_str(
        "Paths, per rule, in gitignore syntax: a `!` pattern excludes what the patterns before it matched. A rule marked \"when the change reaches code\" does not fire on an edit of comments, strings or test modules alone.\n\n",
    );
    for p in hard {
        text.push_str(&format!("- `{p}`\n"));
    }
    text.push_str("\n## Needs review\n\n");
    for p in review {
        text.push_str(&format!("- `{p}`\n"));
    }
    if !content.is_empty() {
        text.push_str(
            "\n## Rules on what lines say\n\nThese fire on the added or removed lines of the files named, wherever they are:\n\n",
        );
        for c in content {
            text.push_str(&format!("- {c}\n"));
        }
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
pub fn requester(repo: &Repo, policy: &Policy) -> String {
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

/// Runs one task: worktree, agent, commit, transcript, gate (and push when asked).
pub fn run_task(s: &Plan<'_>, task: &Task) -> Result<TaskReport, OrchestrateError> {
    let git_dir = s.repo.git_dir().to_owned();
    let run_dir = git_dir.join("factory/runs").join(&task.id);
    let worktree = git_dir.join("factory/worktrees").join(&task.id);
    let branch = format!("factory/run/{}", task.id);
    let io = |source: std::io::Error| OrchestrateError::Io {
        path: run_dir.clone(),
        source,
    };
    std::fs::create_dir_all(&run_dir).map_err(io)?;
    {
        let _g = s.lock();
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
            .map_err(git_err)?;
    }
    // The worktree's administrative directory, before the agent can touch anything.
    let admin_dir = {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&worktree)
            .args(["rev-parse", "--absolute-git-dir"])
            .output()
            .map_err(|e| git_err(format!("cannot run git: {e}")))?;
        if !out.status.success() {
            return Err(git_err(String::from_utf8_lossy(&out.stderr).trim()));
        }
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    };
    let tree = Tree {
        dir: &worktree,
        admin: &admin_dir,
    };
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
        git_common_dir: s.repo.common_dir().to_owned(),
        admin_dir: admin_dir.clone(),
        helper: s.helper.clone(),
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
            return Err(e.into());
        }
    };
    let mut report = TaskReport {
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
            match keep_copy(&spot.path, &kept).map_err(io)? {
                true => {
                    report.transcript = Some(kept.display().to_string());
                    Some((kept, spot.format.clone()))
                }
                false => None,
            }
        }
        None => None,
    };
    let keep_worktree = |why: String, report: &mut TaskReport| {
        restore_gitdir(&worktree, &admin_dir);
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
    git_in(&tree, &add).map_err(git_err)?;
    if git_in(&tree, &["diff", "--cached", "--quiet"]).is_ok() {
        keep_worktree("the agent changed nothing".into(), &mut report);
        remove_worktree(s, &worktree, &branch, true)?;
        return Ok(report);
    }
    // The session as it will be stored (imported, redacted): the commit carries its digest
    // inside what the agent key signs, so the note cannot be swapped afterwards.
    let prepared = match &transcript {
        None => Vec::new(),
        Some((path, format)) => {
            let fmt = format.as_deref().and_then(Format::from_name);
            factory_gate::transcripts::prepare_paths(s.policy, std::slice::from_ref(path), fmt)?
        }
    };
    let session = prepared
        .first()
        .map(|t| t.session_id.clone())
        .unwrap_or_else(|| task.id.clone());
    let subject: String = report.task.chars().take(72).collect();
    let mut message = format!(
        "{subject}\n\n{}\n\nAgent: {}\nAgent-Session: {session}\nRequested-By: {}\n",
        task.text.trim(),
        outcome.agent,
        s.requester
    );
    for t in &prepared {
        message.push_str(&format!(
            "{}: {}\n",
            factory_gate::TRANSCRIPT_TRAILER,
            t.digest
        ));
    }
    git_in_with(
        &tree,
        &signing_args(s.runner.signing_key().as_deref()),
        &["commit", "--quiet", "--no-verify", "-m", &message],
    )
    .map_err(git_err)?;
    let tip = s
        .repo
        .resolve_commit(&format!("refs/heads/{branch}"))
        .map_err(git_err)?;
    // Forbidden for agents: undo the commit, keep the changes in the worktree.
    let classified = classify_commits(s.repo, s.policy, &[tip]).map_err(GateError::from)?;
    let tier = s.policy.tier_name(classified[0].verdict.tier).to_owned();
    if s.forbidden.contains(&tier) {
        git_in(&tree, &["reset", "--quiet", "--soft", &s.base.to_string()]).map_err(git_err)?;
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
    if !prepared.is_empty() {
        let _g = s.lock();
        factory_gate::transcripts::store(s.repo, tip, s.policy, &prepared)?;
    }
    remove_worktree(s, &worktree, &branch, false)?;
    let notes = Notes::current(s.repo)?;
    let decision: Decision = decide(s.repo, s.base, tip, &notes)?;
    report.gate = Some(GateSummary {
        decision: decision.decision.to_owned(),
        tier: decision.tier.clone(),
        needs: decision.reasons.iter().map(ToString::to_string).collect(),
    });
    if let Some(remote) = &s.push {
        let _g = s.lock();
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
            .map_err(|e| OrchestrateError::Push {
                branch: branch.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(report)
}

/// The largest session factory copies from a run (a sparse or runaway file is refused).
const MAX_TRANSCRIPT_BYTES: u64 = 512 * 1024 * 1024;

/// Copies the agent's session to `kept` in the run directory, which the agent could write: the
/// copy is created anew ([`crate::sandbox::create_fresh`]), with default permissions. A session over
/// [`MAX_TRANSCRIPT_BYTES`] is not copied (false).
fn keep_copy(from: &Path, kept: &Path) -> std::io::Result<bool> {
    let size = std::fs::metadata(from)?.len();
    if size > MAX_TRANSCRIPT_BYTES {
        return Ok(false);
    }
    let mut source = std::fs::File::open(from)?;
    let mut target = crate::sandbox::create_fresh(kept)?;
    std::io::copy(
        &mut std::io::Read::take(&mut source, MAX_TRANSCRIPT_BYTES),
        &mut target,
    )?;
    Ok(true)
}

/// Points a kept worktree's `.git` back at its administrative directory: the agent may have
/// rewritten it to a repository of its own, whose config a person's next `git status` there
/// would obey.
fn restore_gitdir(worktree: &Path, admin: &Path) {
    let dotgit = worktree.join(".git");
    let _ = crate::sandbox::create_fresh(&dotgit).and_then(|mut f| {
        std::io::Write::write_all(&mut f, format!("gitdir: {}\n", admin.display()).as_bytes())
    });
}

fn remove_worktree(
    s: &Plan<'_>,
    worktree: &Path,
    branch: &str,
    drop_branch: bool,
) -> Result<(), OrchestrateError> {
    let _g = s.lock();
    if s.repo
        .git(
            &["worktree", "remove", "--force", &worktree.to_string_lossy()],
            None,
        )
        .is_err()
    {
        // The agent may have broken the worktree's links: remove it by hand, then let git
        // forget it, before its branch can go.
        let _ = std::fs::remove_dir_all(worktree);
        s.repo.git(&["worktree", "prune"], None).map_err(git_err)?;
    }
    if drop_branch {
        s.repo
            .git(&["branch", "--quiet", "-D", branch], None)
            .map_err(git_err)?;
    }
    Ok(())
}

/// What a run left in the repository: its branch, and its worktree when it was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftRun {
    /// The run's id.
    pub id: String,
    /// Its branch (`factory/run/ID`), if it still exists.
    pub branch: Option<String>,
    /// The branch's commit.
    pub commit: Option<String>,
    /// Whether the run committed on its branch (else the branch is still at its base).
    pub committed: bool,
    /// Whether that commit is on the default branch (the work landed).
    pub landed: bool,
    /// The kept worktree (a failed or forbidden run keeps it for inspection).
    pub worktree: Option<PathBuf>,
}

/// The runs that left a branch, a worktree or a run directory, by id.
pub fn left_runs(repo: &Repo) -> Result<Vec<LeftRun>, OrchestrateError> {
    let git_dir = repo.git_dir().to_owned();
    let mut runs: BTreeMap<String, LeftRun> = BTreeMap::new();
    let entry = |runs: &mut BTreeMap<String, LeftRun>, id: &str| {
        runs.entry(id.to_owned())
            .or_insert_with(|| LeftRun {
                id: id.to_owned(),
                branch: None,
                commit: None,
                committed: false,
                landed: false,
                worktree: None,
            })
            .clone()
    };
    let default_tip = repo.default_branch_tip();
    for (name, id) in repo
        .references("refs/heads/factory/run/")
        .map_err(|e| OrchestrateError::Git(e.to_string()))?
    {
        let run = name
            .trim_start_matches("refs/heads/factory/run/")
            .to_owned();
        let mut r = entry(&mut runs, &run);
        r.branch = Some(name.trim_start_matches("refs/heads/").to_owned());
        r.commit = Some(id.to_string());
        // The branch's reflog: created at the base, then one entry per commit of the run.
        r.committed = repo
            .git(&["reflog", "show", "--format=%H", &name], None)
            .map_or(true, |log| log.lines().count() > 1);
        r.landed =
            r.committed && default_tip.is_some_and(|d| repo.is_ancestor(id, d).unwrap_or(false));
        runs.insert(run, r);
    }
    let worktrees = git_dir.join("factory/worktrees");
    if let Ok(dir) = std::fs::read_dir(&worktrees) {
        for e in dir.flatten() {
            let run = e.file_name().to_string_lossy().into_owned();
            let mut r = entry(&mut runs, &run);
            r.worktree = Some(e.path());
            runs.insert(run, r);
        }
    }
    Ok(runs.into_values().collect())
}

/// Removes what runs left that is no longer needed: kept worktrees, and run branches whose work
/// landed on the default branch or that carry no commit of their own; with `all`, every run
/// branch. Returns what was removed; unlanded work is kept unless `all`.
pub fn clean_runs(repo: &Repo, all: bool) -> Result<Vec<String>, OrchestrateError> {
    let mut done = Vec::new();
    for run in left_runs(repo)? {
        if let Some(dir) = &run.worktree {
            repo.git(
                &["worktree", "remove", "--force", &dir.to_string_lossy()],
                None,
            )
            .or_else(|_| std::fs::remove_dir_all(dir).map(|_| String::new()))
            .map_err(|e| OrchestrateError::Git(e.to_string()))?;
            done.push(format!("removed the worktree {}", dir.display()));
        }
        if let Some(branch) = &run.branch {
            let empty = !run.committed;
            if run.landed || empty || all {
                repo.git(&["branch", "--quiet", "-D", branch], None)
                    .map_err(git_err)?;
                done.push(format!(
                    "deleted {branch} ({})",
                    if run.landed {
                        "landed"
                    } else if empty {
                        "no commit"
                    } else {
                        "not landed"
                    }
                ));
            }
        }
    }
    let _ = repo.git(&["worktree", "prune"], None);
    Ok(done)
}
