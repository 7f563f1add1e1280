//! `factory log [RANGE]`: the history with each commit's origin, agent, transcript and tier.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use factory_gate::classify_commits;
use factory_git::{RangeSpec, Repo};
use serde::Serialize;

use super::transcript::transcripts_of;
use crate::Env;
use crate::error::CliError;
use crate::{keys, policy_source};
use factory_policy::Origin;
use factory_trust::{AgentOrigin, Verdict, verify_commit};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// `REV` (its history, like `git log REV`) or `A..B`. Default: HEAD's history.
    #[arg(value_name = "REV|A..B")]
    range: Option<String>,
    /// Show at most N commits.
    #[arg(short = 'n', long = "max-count", value_name = "N")]
    max_count: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Classify with this policy file instead of the repository's.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One line per commit.
    Human,
    /// A JSON array, one object per commit.
    Json,
}

#[derive(Serialize)]
struct Entry {
    commit: String,
    summary: String,
    origin: &'static str,
    agent: Option<String>,
    /// `human`, `claimed`, `verified` (signed by that agent's key) or `mismatch`.
    agent_origin: &'static str,
    models: Vec<String>,
    tier: String,
    transcripts: usize,
    messages: usize,
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let policy = policy_source::locate(&env.cwd, Some(&repo), args.policy.as_deref())?.parse()?;
    let spec = match args.range.as_deref() {
        None => RangeSpec::History("HEAD".to_owned()),
        Some(r) => match RangeSpec::parse(r) {
            RangeSpec::Single(rev) => RangeSpec::History(rev),
            other => other,
        },
    };
    let mut commits = repo.commits(&spec)?;
    if let Some(n) = args.max_count {
        commits.truncate(n);
    }
    let classified = classify_commits(&repo, &policy, &commits)?;
    // Verified origin needs the agents' keys; without any, every agent commit is claimed.
    let keyring = if policy.agents.principals.is_empty() {
        None
    } else {
        let source = policy_source::locate(&env.cwd, Some(&repo), args.policy.as_deref())?;
        Some(keys::keyring(&mut env.ui, &source, &policy, Some(&repo))?)
    };
    let mut entries = Vec::with_capacity(classified.len());
    for c in &classified {
        let sessions = transcripts_of(&repo, c.change_set.id)?;
        let mut models: Vec<String> = Vec::new();
        for m in sessions.iter().flat_map(|t| &t.models) {
            if !models.contains(m) {
                models.push(m.clone());
            }
        }
        let claimed = (c.verdict.origin == Origin::Agent).then(|| {
            c.verdict
                .agent
                .clone()
                .unwrap_or_else(|| "agent".to_owned())
        });
        let agent_origin = match &keyring {
            None => AgentOrigin::judge(&policy, claimed.as_deref(), &Verdict::Unsigned),
            Some(k) => AgentOrigin::judge(
                &policy,
                claimed.as_deref(),
                &verify_commit(&repo.raw_commit(c.change_set.id)?, k, None),
            ),
        };
        let origin = if agent_origin.is_agent() {
            Origin::Agent
        } else {
            Origin::Human
        };
        entries.push(Entry {
            commit: c.change_set.id.to_string(),
            summary: c.change_set.commit.summary().to_owned(),
            origin: origin.as_str(),
            agent_origin: agent_origin.name(),
            agent: c
                .verdict
                .agent
                .clone()
                .or(match &agent_origin {
                    AgentOrigin::Mismatch { signed_by, .. } => Some(signed_by.clone()),
                    _ => None,
                })
                .or_else(|| sessions.first().map(|t| t.agent.name.clone())),
            models,
            tier: policy.tier_name(c.verdict.tier).to_owned(),
            transcripts: sessions.len(),
            messages: sessions.iter().map(|t| t.messages.len()).sum(),
        });
    }
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&entries)
                .map_err(|e| CliError::internal(format!("cannot encode JSON: {e}")))?;
            env.ui.outln(&text)?;
        }
        Format::Human => {
            let width = policy.tiers.iter().map(|t| t.name.len()).max().unwrap_or(4);
            for e in &entries {
                let mut line = format!("{} {:width$} {:5}", &e.commit[..12], e.tier, e.origin);
                if let Some(agent) = &e.agent {
                    let _ = write!(line, " {agent}");
                }
                if e.origin == "agent" && (keyring.is_some() || e.agent_origin != "claimed") {
                    let _ = write!(line, " ({})", e.agent_origin);
                }
                if !e.models.is_empty() {
                    let _ = write!(line, " ({})", e.models.join(", "));
                }
                if e.transcripts > 0 {
                    let _ = write!(line, " [transcript: {} messages]", e.messages);
                } else if e.origin == "agent" {
                    line.push_str(" [no transcript]");
                }
                let _ = write!(line, "  {}", super::plain(&e.summary));
                env.ui.outln(&line)?;
            }
        }
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
