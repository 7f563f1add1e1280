//! `factory why FILE:LINE`: the conversation that led to a line.

use std::fmt::Write as _;
use std::process::ExitCode;

use factory_git::Repo;
use factory_shiftlog::{Role, Transcript};

use super::transcript::transcripts_of;
use crate::Env;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The line, as `PATH:LINE` (PATH relative to the repository root or the current directory).
    #[arg(value_name = "FILE:LINE")]
    target: String,
    /// Blame as of this revision.
    #[arg(long, default_value = "HEAD", value_name = "REV")]
    rev: String,
}

/// Whether a path an agent named (often absolute) is the repository path `path`.
pub(crate) fn same_file(agent_path: &str, path: &str) -> bool {
    let agent_path = agent_path.trim_start_matches("./");
    agent_path == path || agent_path.ends_with(&format!("/{path}"))
}

/// The prompt and turns that led to the edit of `path`, as text; None if no edit names it.
fn story(t: &Transcript, path: &str) -> Option<String> {
    let edit_at = t
        .messages
        .iter()
        .rposition(|m| m.edits.iter().any(|e| same_file(&e.path, path)))?;
    let prompt_at = t.messages[..=edit_at]
        .iter()
        .rposition(|m| m.role == Role::User && !m.text.trim().is_empty())
        .unwrap_or(0);
    let mut out = String::new();
    for m in &t.messages[prompt_at..=edit_at] {
        let who = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
            Role::Tool => "tool",
        };
        if m.text.trim().is_empty() && m.edits.is_empty() && m.role != Role::User {
            continue;
        }
        let _ = writeln!(
            out,
            "── {who}{}",
            m.timestamp
                .as_deref()
                .map(|s| format!(" · {s}"))
                .unwrap_or_default()
        );
        if !m.text.trim().is_empty() {
            let text = m.text.trim();
            let cut = if m.role == Role::User || text.len() <= 800 {
                text.to_owned()
            } else {
                let mut end = 800;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{}…", &text[..end])
            };
            let _ = writeln!(out, "  {}", cut.replace('\n', "\n  "));
        }
        for e in m.edits.iter().filter(|e| same_file(&e.path, path)) {
            let _ = writeln!(out, "  ✎ {}", e.path);
        }
    }
    Some(out)
}

/// A path given on the command line (relative to `cwd`) as a path from the repository's root.
pub(crate) fn repo_path(repo: &Repo, cwd: &std::path::Path, file: &str) -> String {
    let root = repo.workdir().unwrap_or_else(|| cwd.to_owned());
    // Drop `.` components (`./src/a.rs`), then make the path relative to the root.
    let abs: std::path::PathBuf = cwd
        .join(file)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    abs.strip_prefix(&root)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|_| file.to_owned())
}

/// The blame error as the command line reports it.
pub(crate) fn blame_error(e: factory_git::BlameError) -> CliError {
    match e {
        factory_git::BlameError::Rev(r) => r.into(),
        factory_git::BlameError::NoSuchLine { .. } | factory_git::BlameError::NoSuchFile { .. } => {
            CliError::usage(e.to_string())
        }
        other => CliError::internal(crate::error::chain(&other)),
    }
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    let (file, line) = args
        .target
        .rsplit_once(':')
        .and_then(|(f, l)| Some((f, l.parse::<u32>().ok()?)))
        .ok_or_else(|| CliError::usage(format!("`{}` is not FILE:LINE", args.target)))?;
    let repo = Repo::discover(&env.cwd)?;
    let path = repo_path(&repo, &env.cwd, file);
    let blamed = repo
        .blame_line(&args.rev, &path, line)
        .map_err(blame_error)?;
    let message = repo.message(blamed.commit)?;
    let summary = message.lines().next().unwrap_or("");
    env.ui
        .outln(&format!("{path}:{line}  {}", blamed.text.trim()))?;
    env.ui.outln(&format!(
        "commit {}  {summary}",
        &blamed.commit.to_string()[..12]
    ))?;
    let sessions = transcripts_of(&repo, blamed.commit)?;
    if sessions.is_empty() {
        env.ui.outln("no transcript is attached to this commit")?;
        env.ui.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut told = false;
    for t in &sessions {
        if let Some(text) = story(t, &blamed.path) {
            env.ui.outln(&format!(
                "session {} ({}{})",
                t.session_id,
                t.agent.name,
                t.agent
                    .version
                    .as_deref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default()
            ))?;
            env.ui.out(&text)?;
            told = true;
        }
    }
    if !told {
        env.ui.outln(&format!(
            "{} transcript(s) attached, but none records an edit of {}; see `factory transcript show {}`",
            sessions.len(),
            blamed.path,
            &blamed.commit.to_string()[..12]
        ))?;
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
