//! `factory verify [REV | A..B | --all]`: who signed each commit, verified in-process.

use std::path::PathBuf;
use std::process::ExitCode;

use factory_git::Repo;
use factory_policy::Origin;
use factory_trust::{AgentOrigin, AllowedSigners, Verdict, verify_commit};
use rayon::prelude::*;
use serde::Serialize;

use super::commits::Commits;
use crate::Env;
use crate::error::CliError;
use crate::{keys, policy_source};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    commits: Commits,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Use this policy file (and the `keys/` directory beside it) instead of the repository's.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Also accept SSH keys of this allowed_signers file (ssh-keygen(1) format).
    #[arg(long, value_name = "FILE")]
    allowed_signers: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One line per commit.
    Human,
    /// A JSON array of `{commit, summary, verdict, ...}`.
    Json,
}

#[derive(Serialize)]
struct Entry {
    commit: String,
    summary: String,
    #[serde(flatten)]
    verdict: Verdict,
    /// Claimed versus verified agent origin.
    agent_origin: AgentOrigin,
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let source = policy_source::locate(&env.cwd, Some(&repo), args.policy.as_deref())?;
    let policy = source.parse()?;
    let keyring = keys::keyring(&mut env.ui, &source, &policy, Some(&repo))?;
    let allowed = match &args.allowed_signers {
        None => None,
        Some(file) => {
            let path = env.cwd.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
            Some(
                AllowedSigners::parse(&text)
                    .map_err(|e| CliError::usage(format!("{}: {e}", file.display())))?,
            )
        }
    };
    let spec = args.commits.spec();
    let commits = repo.commits(&spec)?;
    let entries: Vec<Entry> = commits
        .par_iter()
        .map(|id| {
            let raw = repo.raw_commit(*id)?;
            let verdict = verify_commit(&raw, &keyring, allowed.as_ref());
            let (origin, _, agent) = policy.origin(&factory_gate::facts_of_raw(&raw));
            let claimed =
                (origin == Origin::Agent).then(|| agent.unwrap_or_else(|| "agent".to_owned()));
            let agent_origin = AgentOrigin::judge(&policy, claimed.as_deref(), &verdict);
            let text = String::from_utf8_lossy(&raw);
            let summary = text
                .split_once("\n\n")
                .map(|(_, msg)| msg.lines().next().unwrap_or("").to_owned())
                .unwrap_or_default();
            Ok(Entry {
                commit: id.to_string(),
                summary,
                verdict,
                agent_origin,
            })
        })
        .collect::<Result<_, CliError>>()?;
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&entries)
                .map_err(|e| CliError::internal(format!("cannot encode JSON: {e}")))?;
            env.ui.outln(&text)?;
        }
        Format::Human => {
            for e in &entries {
                let detail = match &e.verdict {
                    Verdict::Good {
                        kind,
                        person,
                        principal,
                        key,
                        roles,
                        agent,
                    } => {
                        let who = match agent {
                            Some(a) => format!("agent {a}"),
                            None => person
                                .as_deref()
                                .or(principal.as_deref())
                                .unwrap_or("")
                                .to_owned(),
                        };
                        let roles = if roles.is_empty() {
                            String::new()
                        } else {
                            format!(" [{}]", roles.join(", "))
                        };
                        let kind = match kind {
                            factory_trust::SignatureKind::OpenPgp => "openpgp",
                            factory_trust::SignatureKind::Ssh => "ssh",
                            factory_trust::SignatureKind::X509 => "x509",
                        };
                        format!("{who}{roles} ({kind} {key})")
                    }
                    Verdict::Bad { key, reason, .. } | Verdict::Expired { key, reason, .. } => {
                        format!("{key}: {reason}")
                    }
                    Verdict::UnknownKey { key, .. } => key.clone(),
                    Verdict::Revoked { key, person, .. } => {
                        format!("{} {key}", person.as_deref().unwrap_or(""))
                    }
                    Verdict::Unsupported { .. } => {
                        "x509 / gitsign signatures are not verified".to_owned()
                    }
                    Verdict::Malformed { reason } => reason.clone(),
                    Verdict::Unsigned => String::new(),
                };
                let mut line = format!("{} {:11}", &e.commit[..12], e.verdict.name());
                if !detail.is_empty() {
                    line.push(' ');
                    line.push_str(&detail);
                }
                match &e.agent_origin {
                    AgentOrigin::Human | AgentOrigin::Verified { .. } => {}
                    AgentOrigin::Claimed { agent } => {
                        line.push_str(&format!("  [agent {agent}, claimed]"));
                    }
                    AgentOrigin::Mismatch { .. } | AgentOrigin::Conflicting { .. } => {
                        if let Some(why) = e.agent_origin.unproved(&policy) {
                            line.push_str(&format!("  [agent origin mismatch: {why}]"));
                        }
                    }
                }
                line.push_str("  ");
                line.push_str(&super::plain(&e.summary));
                env.ui.outln(&line)?;
            }
        }
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
