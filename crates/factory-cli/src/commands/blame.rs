//! `factory blame FILE`: who wrote each line — an agent (which, in which session) or a person —
//! from git's blame and factory's notes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use factory_git::{ObjectId, Repo};
use factory_policy::Origin;
use serde::Serialize;

use super::transcript::transcripts_of;
use super::why::{blame_error, repo_path, same_file};
use crate::error::CliError;
use crate::{Env, policy_source};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The file (relative to the current directory or the repository root).
    file: String,
    /// Blame as of this revision.
    #[arg(long, default_value = "HEAD", value_name = "REV")]
    rev: String,
    /// Recognise agents with this policy file instead of the repository's.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One line per line of the file, and a summary.
    Human,
    /// A JSON array, one object per line.
    Json,
}

/// Who wrote one commit's lines.
#[derive(Debug, Clone, Serialize)]
struct Author {
    /// `agent` or `human`.
    origin: &'static str,
    /// The agent, for an agent commit.
    agent: Option<String>,
    /// The session that edited the file, else the commit's first session.
    session: Option<String>,
    /// The models of that session.
    models: Vec<String>,
}

#[derive(Serialize)]
struct Line<'a> {
    line: usize,
    commit: String,
    #[serde(flatten)]
    author: &'a Author,
    text: &'a str,
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let policy = policy_source::locate(&env.cwd, Some(&repo), args.policy.as_deref())?.parse()?;
    let path = repo_path(&repo, &env.cwd, &args.file);
    let lines = repo.blame_file(&args.rev, &path).map_err(blame_error)?;
    let mut authors: HashMap<ObjectId, Author> = HashMap::new();
    for l in &lines {
        if authors.contains_key(&l.commit) {
            continue;
        }
        let facts = factory_gate::facts_of_raw(&repo.raw_commit(l.commit)?);
        let (origin, _, agent) = policy.origin(&facts);
        let sessions = transcripts_of(&repo, l.commit)?;
        let session = sessions
            .iter()
            .find(|t| {
                t.messages
                    .iter()
                    .any(|m| m.edits.iter().any(|e| same_file(&e.path, &l.path)))
            })
            .or(sessions.first());
        authors.insert(
            l.commit,
            Author {
                origin: origin.as_str(),
                agent: (origin == Origin::Agent)
                    .then(|| agent.or_else(|| session.map(|t| t.agent.name.clone())))
                    .flatten(),
                session: session.map(|t| t.session_id.clone()),
                models: session.map(|t| t.models.clone()).unwrap_or_default(),
            },
        );
    }
    let rows: Vec<Line<'_>> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| Line {
            line: i + 1,
            commit: l.commit.to_string(),
            author: &authors[&l.commit],
            text: &l.text,
        })
        .collect();
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&rows)
                .map_err(|e| CliError::internal(format!("cannot encode JSON: {e}")))?;
            env.ui.outln(&text)?;
        }
        Format::Human => {
            let width = rows.len().to_string().len();
            let mut out = String::new();
            for r in &rows {
                let who = match (&r.author.agent, r.author.origin) {
                    (Some(a), _) => format!("agent {a}"),
                    (None, "agent") => "agent".to_owned(),
                    _ => "human".to_owned(),
                };
                let session = r
                    .author
                    .session
                    .as_deref()
                    .map(|s| format!(" ({})", s.chars().take(12).collect::<String>()))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "{} {:<32} {:>width$}| {}\n",
                    &r.commit[..12],
                    super::plain(&format!("{who}{session}")),
                    r.line,
                    super::plain(r.text)
                ));
            }
            let by_agents = rows.iter().filter(|r| r.author.origin == "agent").count();
            let total = rows.len().max(1);
            out.push_str(&format!(
                "{path}: {} line(s), {by_agents} by agents ({}%), {} by people\n",
                rows.len(),
                by_agents * 100 / total,
                rows.len() - by_agents
            ));
            env.ui.out(&out)?;
        }
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
