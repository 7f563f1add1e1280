//! `factory transcript attach [REV] FILE...` and `factory transcript show REV`.

use std::path::PathBuf;
use std::process::ExitCode;

use factory_gate::transcripts::{self, AttachError};
use factory_git::{ObjectId, Repo};
use factory_shiftlog::render::{self, Detail};
use factory_shiftlog::{Format, Transcript};

use crate::Env;
use crate::error::CliError;
use crate::policy_source;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Attach agent transcripts to a commit (default HEAD), normalised and with secrets redacted.
    ///
    /// Each FILE is read in its native format (detected, or named with --format), redacted, and
    /// added to the commit's note on refs/notes/factory/transcripts; sessions already there are
    /// kept (the same session attached again replaces its earlier version). Nothing is written
    /// if any file cannot be read.
    Attach {
        /// `[REV] FILE...`: an optional revision, then the transcript files.
        #[arg(value_name = "REV|FILE", required = true, num_args = 1..)]
        args: Vec<String>,
        /// The files' format: claude-code, codex, gemini, gemini-json, gemini-stream, copilot,
        /// copilot-json, aider, specstory, cursor, cursor-cli, qwen-code, cline, opencode, goose, pi.
        /// Default: recognised from the content.
        #[arg(long, value_name = "FORMAT")]
        format: Option<String>,
        /// Use this policy file's [transcripts] settings instead of the repository's.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
    /// Show the transcripts attached to a commit.
    Show {
        /// The commit.
        #[arg(default_value = "HEAD")]
        rev: String,
        /// Everything: thinking, tool inputs and outputs, patches.
        #[arg(long, conflicts_with = "format")]
        full: bool,
        /// `text` for people, `json` for the stored transcripts (factory.transcript/v1).
        #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
        format: ShowFormat,
    },
    /// Export a commit's attribution for other tools: `agent-trace` writes its Agent Trace
    /// record (version 0.1) — each file's added line ranges, attributed to the agent and model
    /// of the session that made them, or to a person.
    Export {
        /// The commit.
        #[arg(default_value = "HEAD")]
        rev: String,
        /// The export format.
        #[arg(long, value_enum, default_value_t = ExportFormat::AgentTrace)]
        format: ExportFormat,
        /// Recognise agents with this policy file instead of the repository's.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExportFormat {
    /// An Agent Trace record (agent-trace.dev), as JSON.
    AgentTrace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ShowFormat {
    /// A readable conversation.
    Text,
    /// The transcripts as a JSON array.
    Json,
}

pub(crate) fn run(env: &mut Env, cmd: Command) -> Result<ExitCode, CliError> {
    match cmd {
        Command::Attach {
            args,
            format,
            policy,
        } => attach(env, args, format, policy),
        Command::Show { rev, full, format } => show(env, &rev, full, format),
        Command::Export {
            rev,
            format: ExportFormat::AgentTrace,
            policy,
        } => {
            let repo = Repo::discover(&env.cwd)?;
            let commit = repo.resolve_commit(&rev)?;
            let policy =
                policy_source::locate(&env.cwd, Some(&repo), policy.as_deref())?.parse()?;
            let record = factory_gate::agent_trace::record(&repo, &policy, commit)
                .map_err(|e| CliError::internal(e.to_string()))?;
            let text = serde_json::to_string_pretty(&record)
                .map_err(|e| CliError::internal(e.to_string()))?;
            env.ui.outln(&text)?;
            env.ui.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The transcripts attached to `commit` (empty if none).
pub(crate) fn transcripts_of(repo: &Repo, commit: ObjectId) -> Result<Vec<Transcript>, CliError> {
    transcripts::of(repo, commit).map_err(|e| CliError::internal(e.to_string()))
}

fn attach(
    env: &mut Env,
    mut args: Vec<String>,
    format: Option<String>,
    policy_file: Option<PathBuf>,
) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let format = match format {
        None => None,
        Some(name) => Some(Format::from_name(&name).ok_or_else(|| {
            let names: Vec<_> = Format::ALL.iter().map(|(_, n)| *n).collect();
            CliError::usage(format!(
                "unknown format `{name}`; the formats are: {}",
                names.join(", ")
            ))
        })?),
    };
    // `[REV] FILE...`: the first argument is a revision when it is not a file and more follow.
    let rev = if args.len() > 1 && !env.cwd.join(&args[0]).is_file() {
        args.remove(0)
    } else {
        "HEAD".to_owned()
    };
    let commit = repo.resolve_commit(&rev)?;
    let policy = policy_source::locate(&env.cwd, Some(&repo), policy_file.as_deref())?.parse()?;
    let mut paths = Vec::new();
    for file in &args {
        let path = env.cwd.join(file);
        if !path.is_file() {
            return Err(CliError::usage(format!("cannot read {file}: no such file")));
        }
        paths.push(path);
    }
    // Sessions are read from their files a line at a time where the format allows.
    let (imported, changed) = transcripts::attach_paths(&repo, commit, &policy, &paths, format)
        .map_err(|e| match e {
            AttachError::Gate(_) => CliError::internal(e.to_string()),
            _ => CliError::usage(e.to_string()),
        })?;
    // What the commit changed (against its first parent), to tell a session of another change.
    let changed_paths: Vec<String> = repo
        .git(
            &[
                "diff-tree",
                "--no-commit-id",
                "--name-only",
                "-r",
                "--root",
                "-m",
                "--first-parent",
                &commit.to_string(),
            ],
            None,
        )
        .map(|out| out.lines().map(str::to_owned).collect())
        .unwrap_or_default();
    for t in &imported {
        // Only a session that names files is evidence: one that names none says nothing.
        if !changed_paths.is_empty()
            && !transcripts::touched_paths(t).is_empty()
            && !transcripts::touches_any(t, &changed_paths)
        {
            env.ui.err(&format!(
                "factory: warning: session {} touched none of the {} file(s) {} changes: is it the session of this commit?\n",
                t.session_id,
                changed_paths.len(),
                &commit.to_string()[..12]
            ));
        }
        let redacted = if t.redactions.is_empty() {
            "nothing redacted".to_owned()
        } else {
            let parts: Vec<String> = t
                .redactions
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            format!("redacted: {}", parts.join(", "))
        };
        env.ui.outln(&format!(
            "attached {} session {} to {}: {} messages, {} tool calls, {} edits; {redacted}",
            t.source.format,
            t.session_id,
            &commit.to_string()[..12],
            t.messages.len(),
            t.tool_call_count(),
            t.edit_count(),
        ))?;
        if t.source.skipped_lines > 0 {
            env.ui.err(&format!(
                "factory: warning: {} damaged line(s) of {} could not be read and were skipped (the note records it)\n",
                t.source.skipped_lines,
                t.source.file.as_deref().unwrap_or("the file")
            ));
        }
    }
    if !changed {
        env.ui.outln("(already attached: the note is unchanged)")?;
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn show(env: &mut Env, rev: &str, full: bool, format: ShowFormat) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let commit = repo.resolve_commit(rev)?;
    let sessions = transcripts_of(&repo, commit)?;
    if sessions.is_empty() {
        return Err(CliError::usage(format!(
            "no transcript is attached to {rev} ({})",
            &commit.to_string()[..12]
        )));
    }
    match format {
        ShowFormat::Json => {
            let text = serde_json::to_string_pretty(&sessions)
                .map_err(|e| CliError::internal(format!("cannot encode JSON: {e}")))?;
            env.ui.outln(&text)?;
        }
        ShowFormat::Text => {
            let detail = if full { Detail::Full } else { Detail::Summary };
            for (i, t) in sessions.iter().enumerate() {
                if i > 0 {
                    env.ui.out("\n")?;
                }
                env.ui.out(&render::text(t, detail))?;
            }
        }
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
