//! `factory notes setup | sync | remap`: keep factory's notes with the commits through fetches,
//! pushes, amends, rebases and squash merges.

use std::process::ExitCode;

use factory_gate::{GateError, transcripts};
use factory_git::{GitCommandError, RangeSpec, Repo};

use crate::Env;
use crate::error::CliError;

/// factory's notes refs.
const NOTES_GLOB: &str = "refs/notes/factory/*";
/// Where `notes sync` fetches a remote's notes before merging them.
fn remote_notes(remote: &str) -> String {
    format!("refs/notes/factory-remotes/{remote}")
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Configure this clone so factory's notes travel and survive rewrites (idempotent).
    ///
    /// For each remote: a fetch refspec bringing its refs/notes/factory/* to
    /// refs/notes/factory-remotes/REMOTE/* (merged by `factory notes sync`), and push refspecs
    /// for HEAD and refs/notes/factory/*. For rewrites: notes.rewriteRef so that `git commit
    /// --amend` and `git rebase` carry the notes, with the cat_sort_uniq mode and merge strategy
    /// (one document per line, so unions are lossless).
    Setup {
        /// Only this remote (default: every remote).
        #[arg(long, value_name = "NAME")]
        remote: Option<String>,
    },
    /// Fetch a remote's factory notes, merge them into ours (keeping both sides' lines), push.
    Sync {
        /// The remote.
        #[arg(long, value_name = "NAME", default_value = "origin")]
        remote: String,
        /// Merge only; do not push.
        #[arg(long)]
        no_push: bool,
    },
    /// Re-attach transcripts after a rebase-merge or squash-merge rewrote commits.
    ///
    /// For each commit of RANGE without a transcript: a commit elsewhere with a transcript and
    /// the same patch id gives it its transcripts (rebase-merge); failing that, a branch of
    /// annotated commits whose combined diff has the same patch id gives it the union of their
    /// transcripts (squash-merge).
    Remap {
        /// The rewritten commits, e.g. `main~5..main`.
        #[arg(value_name = "A..B")]
        range: String,
    },
}

pub(crate) fn run(env: &mut Env, cmd: Command) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    match cmd {
        Command::Setup { remote } => setup(env, &repo, remote),
        Command::Sync { remote, no_push } => sync(env, &repo, &remote, no_push),
        Command::Remap { range } => remap(env, &repo, &range),
    }
}

fn git_err(e: GitCommandError) -> CliError {
    CliError::internal(e.to_string())
}

/// Adds `value` to the multi-valued `key` unless it is there; says whether it added it.
fn ensure(repo: &Repo, key: &str, value: &str) -> Result<bool, CliError> {
    if repo
        .config_all(key)
        .map_err(git_err)?
        .iter()
        .any(|v| v == value)
    {
        return Ok(false);
    }
    repo.git(&["config", "--add", key, value], None)
        .map_err(git_err)?;
    Ok(true)
}

/// Sets the single-valued `key` to `value` unless it has it; says whether it changed it.
fn set(repo: &Repo, key: &str, value: &str) -> Result<bool, CliError> {
    if repo
        .config_all(key)
        .map_err(git_err)?
        .last()
        .is_some_and(|v| v == value)
    {
        return Ok(false);
    }
    repo.git(&["config", key, value], None).map_err(git_err)?;
    Ok(true)
}

fn setup(env: &mut Env, repo: &Repo, only: Option<String>) -> Result<ExitCode, CliError> {
    let changes = setup_config(repo, only)?;
    if changes.is_empty() {
        env.ui.outln("notes: already set up, nothing changed")?;
    } else {
        for c in &changes {
            env.ui.outln(&format!("set {c}"))?;
        }
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Configures the clone for factory's notes (idempotent); returns what it changed.
pub(crate) fn setup_config(repo: &Repo, only: Option<String>) -> Result<Vec<String>, CliError> {
    let remotes: Vec<String> = match only {
        Some(r) => vec![r],
        None => repo
            .git(&["remote"], None)
            .map_err(git_err)?
            .lines()
            .map(str::to_owned)
            .collect(),
    };
    let mut changes = Vec::new();
    for remote in &remotes {
        let fetch = format!("+{NOTES_GLOB}:{}/*", remote_notes(remote));
        if ensure(repo, &format!("remote.{remote}.fetch"), &fetch)? {
            changes.push(format!("remote.{remote}.fetch += {fetch}"));
        }
        let push_key = format!("remote.{remote}.push");
        // Once a remote has push refspecs, plain `git push` pushes only those: keep pushing the
        // current branch as before.
        if repo.config_all(&push_key).map_err(git_err)?.is_empty()
            && ensure(repo, &push_key, "HEAD")?
        {
            changes.push(format!("{push_key} += HEAD"));
        }
        let notes_push = format!("{NOTES_GLOB}:{NOTES_GLOB}");
        if ensure(repo, &push_key, &notes_push)? {
            changes.push(format!("{push_key} += {notes_push}"));
        }
    }
    if ensure(repo, "notes.rewriteRef", NOTES_GLOB)? {
        changes.push(format!("notes.rewriteRef += {NOTES_GLOB}"));
    }
    for (key, value) in [
        ("notes.rewriteMode", "cat_sort_uniq"),
        ("notes.rewrite.amend", "true"),
        ("notes.rewrite.rebase", "true"),
        ("notes.factory/transcripts.mergeStrategy", "cat_sort_uniq"),
        ("notes.factory/approvals.mergeStrategy", "cat_sort_uniq"),
    ] {
        if set(repo, key, value)? {
            changes.push(format!("{key} = {value}"));
        }
    }
    Ok(changes)
}

/// How many times a lost race (the remote's notes moved between our fetch and our push) is
/// retried before `sync` gives up as contended.
const SYNC_ATTEMPTS: u32 = 48;

/// A pause before retry `attempt` (from 1): exponential from 40 ms, capped at 2 s, with up to
/// as much again of jitter so that a fleet of clones does not retry in step.
fn backoff(attempt: u32) -> std::time::Duration {
    let base = (40u64 << attempt.min(6)).min(2000);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64)
        ^ u64::from(std::process::id()).wrapping_mul(0x9e37_79b9);
    std::time::Duration::from_millis(base + seed % (base + 1))
}

/// The remote's notes refs and their values, as `git ls-remote` lists them.
fn remote_notes_listing(repo: &Repo, remote: &str) -> Result<String, CliError> {
    repo.git(&["ls-remote", remote, NOTES_GLOB], None)
        .map_err(git_err)
}

/// Fetches the remote's notes and merges them into ours; returns what happened per ref.
fn fetch_and_merge(repo: &Repo, remote: &str) -> Result<Vec<String>, CliError> {
    let staging = remote_notes(remote);
    repo.git(
        &[
            "fetch",
            "--quiet",
            remote,
            &format!("+{NOTES_GLOB}:{staging}/*"),
        ],
        None,
    )
    .map_err(git_err)?;
    let fetched = repo
        .git(
            &[
                "for-each-ref",
                "--format=%(refname)",
                &format!("{staging}/"),
            ],
            None,
        )
        .map_err(git_err)?;
    let mut done = Vec::new();
    for theirs in fetched.lines() {
        let name = theirs.trim_start_matches(&format!("{staging}/"));
        let ours = format!("refs/notes/factory/{name}");
        let exists = repo
            .git(&["rev-parse", "--verify", "--quiet", &ours], None)
            .is_ok();
        if !exists {
            repo.git(&["update-ref", &ours, theirs], None)
                .map_err(git_err)?;
            done.push(format!("{ours}: taken from {remote}"));
            continue;
        }
        let before = repo.git(&["rev-parse", &ours], None).map_err(git_err)?;
        repo.git(
            &[
                "notes",
                &format!("--ref={ours}"),
                "merge",
                "--quiet",
                "--strategy=cat_sort_uniq",
                theirs,
            ],
            None,
        )
        .map_err(git_err)?;
        let after = repo.git(&["rev-parse", &ours], None).map_err(git_err)?;
        let what = if before == after {
            "up to date"
        } else {
            "merged"
        };
        done.push(format!("{ours}: {what} with {remote}"));
    }
    Ok(done)
}

fn sync(env: &mut Env, repo: &Repo, remote: &str, no_push: bool) -> Result<ExitCode, CliError> {
    // Fetch, merge, push; a push that loses a race with another clone's (the remote's notes
    // moved meanwhile, or its ref was locked) starts again from the fetch.
    let mut attempt = 0;
    let (done, pushed) = loop {
        let fetched = remote_notes_listing(repo, remote).unwrap_or_default();
        let done = fetch_and_merge(repo, remote)?;
        if no_push {
            break (done, false);
        }
        let local = repo
            .git(
                &["for-each-ref", "--format=%(refname)", "refs/notes/factory/"],
                None,
            )
            .map_err(git_err)?;
        if local.trim().is_empty() {
            break (done, false);
        }
        match repo.git(
            &[
                "push",
                "--quiet",
                remote,
                &format!("{NOTES_GLOB}:{NOTES_GLOB}"),
            ],
            None,
        ) {
            Ok(_) => break (done, true),
            Err(e) => {
                let message = e.to_string();
                // A lost race: the remote's notes moved since our fetch (whether git or
                // the server's hook noticed it first). Anything else is final.
                let now = remote_notes_listing(repo, remote).unwrap_or_default();
                // The server's hook refusing a notes commit that does not descend from the
                // server's is the same race, seen from the other side.
                let race = (now != fetched || message.contains("does not descend from"))
                    && !message.contains("Could not read from remote");
                if !race {
                    return Err(git_err(e));
                }
                attempt += 1;
                if attempt >= SYNC_ATTEMPTS {
                    return Err(CliError::usage(format!(
                        "contended: the notes of {remote} kept moving during {SYNC_ATTEMPTS} attempts to push ours (last: {e}); nothing is lost here, run `factory notes sync` again"
                    )));
                }
                std::thread::sleep(backoff(attempt));
            }
        }
    };
    for d in done {
        env.ui.outln(&d)?;
    }
    if pushed {
        env.ui.outln(&if attempt == 0 {
            format!("pushed factory notes to {remote}")
        } else {
            format!("pushed factory notes to {remote} (after {attempt} lost race(s))")
        })?;
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn remap(env: &mut Env, repo: &Repo, range: &str) -> Result<ExitCode, CliError> {
    let spec = RangeSpec::parse(range);
    let RangeSpec::Range { .. } = &spec else {
        return Err(CliError::usage(format!("`{range}` is not a range A..B")));
    };
    let remapped = transcripts::remap(repo, &spec).map_err(|e| match e {
        GateError::Rev(e) => CliError::from(e),
        e => CliError::internal(e.to_string()),
    })?;
    for r in &remapped {
        let names: Vec<String> = r
            .from
            .iter()
            .map(|c| c.to_string()[..12].to_owned())
            .collect();
        env.ui.outln(&format!(
            "{}: {} session(s) {} {}",
            &r.target.to_string()[..12],
            r.sessions,
            if r.squashed {
                "squashed from"
            } else {
                "rebased from"
            },
            names.join(", ")
        ))?;
    }
    if remapped.is_empty() {
        env.ui.outln("nothing to remap")?;
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
