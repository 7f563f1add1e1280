//! `factory classify [REV | A..B | --all]`: tier, origin and evidence of each commit.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use bstr::ByteSlice;
use factory_gate::{Classified, classify_commits};
use factory_git::Repo;
use factory_policy::{LineSide, Policy, TierId};
use serde::Serialize;

use super::commits::Commits;
use crate::Env;
use crate::error::CliError;
use crate::policy_source::{self, Origin};
use crate::ui::Ui;

/// Version tag of the JSON output; bumped on incompatible changes.
pub(crate) const JSON_SCHEMA: &str = "factory.classify/v1";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    commits: Commits,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Use this policy file instead of the repository's (for dry runs).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// For each file, which rules fired on which line and why the others did not (a path
    /// excluded by a `!` pattern, another kind, no matching line, a match only in a comment or
    /// string).
    #[arg(long)]
    explain: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// For people; coloured on a terminal.
    Human,
    /// The versioned JSON schema `factory.classify/v1`.
    Json,
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    super::refuse_shallow(&repo)?;
    let source = policy_source::locate(&env.cwd, Some(&repo), args.policy.as_deref())?;
    let policy = source.parse()?;
    let spec = args.commits.spec();
    let commits = repo.commits(&spec)?;
    if args.explain {
        return super::explain::run(env, &repo, &policy, &commits, args.format);
    }
    let classified = classify_commits(&repo, &policy, &commits)?;
    print(
        &mut env.ui,
        &policy,
        &source.origin,
        &spec.to_string(),
        &classified,
        args.format,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Prints a classification in the chosen format.
pub(crate) fn print(
    ui: &mut Ui,
    policy: &Policy,
    origin: &Origin,
    range: &str,
    classified: &[Classified],
    format: Format,
) -> Result<(), CliError> {
    match format {
        Format::Json => {
            let doc = json(policy, origin, range, classified);
            let text = serde_json::to_string_pretty(&doc)
                .map_err(|e| CliError::internal(format!("cannot encode JSON: {e}")))?;
            ui.outln(&text)?;
        }
        Format::Human => ui.out(&human(policy, origin, range, classified, ui.color()))?,
    }
    ui.flush()
}

/// The range's tier: the highest of its commits (None for an empty range).
fn range_tier(classified: &[Classified]) -> Option<TierId> {
    classified.iter().map(|c| c.verdict.tier).max()
}

#[derive(Serialize)]
struct JsonDoc<'a> {
    schema: &'static str,
    policy: JsonPolicy,
    range: &'a str,
    tier: Option<&'a str>,
    tiers: Vec<&'a str>,
    commits: Vec<JsonCommit<'a>>,
}

#[derive(Serialize)]
struct JsonPolicy {
    source: &'static str,
    name: String,
}

#[derive(Serialize)]
struct JsonCommit<'a> {
    commit: String,
    parents: Vec<String>,
    summary: &'a str,
    author: &'a str,
    origin: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<&'a str>,
    tier: &'a str,
    files_changed: usize,
    evidence: Vec<JsonEvidence<'a>>,
}

#[derive(Serialize)]
struct JsonEvidence<'a> {
    rule: &'a str,
    tier: &'a str,
    path: Option<String>,
    line: Option<u32>,
    side: Option<&'static str>,
    text: Option<&'a str>,
}

fn json<'a>(
    policy: &'a Policy,
    origin: &Origin,
    range: &'a str,
    classified: &'a [Classified],
) -> JsonDoc<'a> {
    JsonDoc {
        schema: JSON_SCHEMA,
        policy: JsonPolicy {
            source: origin.kind(),
            name: origin.to_string(),
        },
        range,
        tier: range_tier(classified).map(|t| policy.tier_name(t)),
        tiers: policy.tiers.iter().map(|t| t.name.as_str()).collect(),
        commits: classified
            .iter()
            .map(|c| JsonCommit {
                commit: c.change_set.id.to_string(),
                parents: c
                    .change_set
                    .parents
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                summary: c.change_set.commit.summary(),
                author: &c.change_set.commit.author,
                origin: c.verdict.origin.as_str(),
                origin_reason: c.verdict.origin_reason.as_deref(),
                agent: c.verdict.agent.as_deref(),
                tier: policy.tier_name(c.verdict.tier),
                files_changed: c.files_changed,
                evidence: c
                    .verdict
                    .evidence
                    .iter()
                    .map(|e| JsonEvidence {
                        rule: &e.rule,
                        tier: policy.tier_name(e.tier),
                        path: e.path.as_ref().map(|p| p.to_str_lossy().into_owned()),
                        line: e.line,
                        side: e.side.map(|s| match s {
                            LineSide::Added => "added",
                            LineSide::Removed => "removed",
                        }),
                        text: e.text.as_deref(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn tier_style(policy: &Policy, tier: TierId) -> anstyle::Style {
    use anstyle::{AnsiColor, Style};
    if tier == policy.highest_tier() && tier != policy.lowest_tier() {
        Style::new().fg_color(Some(AnsiColor::Red.into())).bold()
    } else if tier == policy.lowest_tier() {
        Style::new().fg_color(Some(AnsiColor::Green.into()))
    } else {
        Style::new().fg_color(Some(AnsiColor::Yellow.into()))
    }
}

fn human(
    policy: &Policy,
    origin: &Origin,
    range: &str,
    classified: &[Classified],
    color: bool,
) -> String {
    let paint = |style: anstyle::Style, text: &str| -> String {
        if color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    };
    let width = policy.tiers.iter().map(|t| t.name.len()).max().unwrap_or(4);
    let dim = anstyle::Style::new().dimmed();
    let mut out = String::new();
    for c in classified {
        let v = &c.verdict;
        let id = c.change_set.id.to_string();
        let who = match &v.agent {
            Some(agent) => format!("agent {agent}"),
            None => v.origin.as_str().to_owned(),
        };
        let tier = format!("{:width$}", policy.tier_name(v.tier));
        let _ = writeln!(
            out,
            "{} {} {}  {}",
            paint(
                anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Yellow.into())),
                &id[..12]
            ),
            paint(tier_style(policy, v.tier), &tier),
            paint(dim, &format!("[{who}]")),
            super::plain(c.change_set.commit.summary())
        );
        for e in &v.evidence {
            let tier = format!("{:width$}", policy.tier_name(e.tier));
            let mut place = e
                .path
                .as_ref()
                .map(|p| p.to_str_lossy().into_owned())
                .unwrap_or_else(|| "(commit)".to_owned());
            if let Some(line) = e.line {
                let _ = write!(place, ":{line}");
                if e.side == Some(LineSide::Removed) {
                    place.push_str(" (removed)");
                }
            }
            let _ = write!(
                out,
                "    {} {} {}",
                paint(tier_style(policy, e.tier), &tier),
                e.rule,
                place
            );
            if let Some(text) = &e.text {
                let _ = write!(out, "  {}", paint(dim, text));
            }
            out.push('\n');
        }
    }
    let counts: Vec<String> = policy
        .tiers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let n = classified
                .iter()
                .filter(|c| c.verdict.tier == TierId(i))
                .count();
            format!("{} {n}", t.name)
        })
        .collect();
    match range_tier(classified) {
        Some(t) => {
            let _ = writeln!(
                out,
                "{range}: {} ({} commit{}: {})",
                paint(tier_style(policy, t).bold(), policy.tier_name(t)),
                classified.len(),
                if classified.len() == 1 { "" } else { "s" },
                counts.join(", ")
            );
        }
        None => {
            let _ = writeln!(out, "{range}: no commits");
        }
    }
    let _ = writeln!(out, "{}", paint(dim, &format!("policy: {origin}")));
    out
}
