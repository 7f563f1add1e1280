//! `factory classify --explain`: for each file of each commit, which rules fired on which line,
//! and why the others did not (excluded path, other kind, no line, a match only in a comment or
//! string).

use std::process::ExitCode;

use bstr::ByteSlice;
use factory_git::{ObjectId, Repo};
use factory_policy::{Outcome, Policy};

use super::classify::Format;
use crate::Env;
use crate::error::CliError;

pub(crate) fn run(
    env: &mut Env,
    repo: &Repo,
    policy: &Policy,
    commits: &[ObjectId],
    format: Format,
) -> Result<ExitCode, CliError> {
    let mut docs = Vec::new();
    for &id in commits {
        let mut worker = factory_gate::classify::worker(repo, policy, id)
            .map_err(|e| CliError::internal(e.to_string()))?;
        let mut classifier = policy.classifier();
        let cs = worker
            .change_set(id, &mut classifier)
            .map_err(|e| CliError::internal(e.to_string()))?;
        let verdict = classifier.classify(&cs.commit, &cs.files);
        let mut files = Vec::new();
        for file in &cs.files {
            let traces = classifier.explain(file);
            files.push((file.path.to_str_lossy().into_owned(), traces));
        }
        docs.push((id, cs.commit.summary().to_owned(), verdict, files));
    }
    match format {
        Format::Json => {
            let value: Vec<serde_json::Value> = docs
                .iter()
                .map(|(id, summary, verdict, files)| {
                    serde_json::json!({
                        "commit": id.to_string(),
                        "summary": summary,
                        "tier": policy.tier_name(verdict.tier),
                        "files": files.iter().map(|(path, traces)| serde_json::json!({
                            "path": path,
                            "rules": traces.iter().map(|t| {
                                let mut v = serde_json::to_value(t).unwrap_or_default();
                                v["tier"] = policy.tier_name(t.tier).into();
                                v
                            }).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let text = serde_json::to_string_pretty(&value)
                .map_err(|e| CliError::internal(e.to_string()))?;
            env.ui.outln(&text)?;
        }
        Format::Human => {
            for (id, summary, verdict, files) in &docs {
                env.ui.outln(&format!(
                    "{} {} {}",
                    &id.to_string()[..12],
                    policy.tier_name(verdict.tier),
                    super::plain(summary)
                ))?;
                for (path, traces) in files {
                    env.ui.outln(&format!("  {}", super::plain(path)))?;
                    let mut out_of_scope = 0;
                    for t in traces {
                        let tier = policy.tier_name(t.tier);
                        let line = match &t.outcome {
                            Outcome::OutOfScope => {
                                out_of_scope += 1;
                                continue;
                            }
                            Outcome::Fired { line, text } => match (line, text) {
                                (Some(n), Some(text)) => format!(
                                    "fired     {} ({tier}) at line {n}: {}",
                                    t.rule,
                                    super::plain(text)
                                ),
                                _ => format!("fired     {} ({tier})", t.rule),
                            },
                            Outcome::Excluded { pattern } => {
                                format!("excluded  {} ({tier}) by `{pattern}`", t.rule)
                            }
                            Outcome::OtherKind => {
                                format!("skipped   {} ({tier}): not of its kinds", t.rule)
                            }
                            Outcome::NoLine => {
                                format!("no line   {} ({tier}): no changed line matched", t.rule)
                            }
                            Outcome::NoLineInParts => format!(
                                "skipped   {} ({tier}): the change leaves the parts of lines it reads as they were (an edit of comments, strings or a test module)",
                                t.rule
                            ),
                            Outcome::OutsideParts { line } => format!(
                                "skipped   {} ({tier}): line {line} matched only in a comment or string, which the rule does not read",
                                t.rule
                            ),
                            Outcome::CommentEdit { line } => format!(
                                "skipped   {} ({tier}): line {line} matched, but only its comment changed (its code and strings are those of the line it replaced)",
                                t.rule
                            ),
                        };
                        env.ui.outln(&format!("    {line}"))?;
                    }
                    env.ui.outln(&format!(
                        "    ({out_of_scope} other rule(s) do not cover this path)"
                    ))?;
                }
            }
        }
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
