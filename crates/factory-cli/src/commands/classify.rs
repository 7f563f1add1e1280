//! `factory classify [REV | A..B | --all]`: tier, origin and evidence of each commit.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use bstr::ByteSlice;
use factory_gate::{Classified, classify_streamed};
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
    // Results stream out chunk by chunk: a whole history is never held in memory.
    let range = spec.to_string();
    let mut printer = Printer::new(&policy, &source.origin, &range, args.format, env.ui.color());
    env.ui.out(&printer.start())?;
    let ui = &mut env.ui;
    classify_streamed(&repo, &policy, &commits, CHUNK, &mut |classified| {
        let mut text = String::new();
        for c in &classified {
            printer.commit(c, &mut text);
        }
        ui.out(&text)
    })?;
    env.ui.out(&printer.finish())?;
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Commits classified (on all cores) between two writes of the output.
const CHUNK: usize = 4096;

/// Prints a classification in the chosen format.
pub(crate) fn print(
    ui: &mut Ui,
    policy: &Policy,
    origin: &Origin,
    range: &str,
    classified: &[Classified],
    format: Format,
) -> Result<(), CliError> {
    let mut printer = Printer::new(policy, origin, range, format, ui.color());
    let mut text = printer.start();
    for c in classified {
        printer.commit(c, &mut text);
    }
    text.push_str(&printer.finish());
    ui.out(&text)?;
    ui.flush()
}

/// Writes a classification as its commits come: JSON (the document's `tier`, the range's,
/// comes after its commits) or human lines with a closing summary.
struct Printer<'a> {
    policy: &'a Policy,
    origin: &'a Origin,
    range: &'a str,
    format: Format,
    color: bool,
    counts: Vec<usize>,
    total: usize,
    top: Option<TierId>,
}

impl<'a> Printer<'a> {
    fn new(
        policy: &'a Policy,
        origin: &'a Origin,
        range: &'a str,
        format: Format,
        color: bool,
    ) -> Printer<'a> {
        Printer {
            policy,
            origin,
            range,
            format,
            color,
            counts: vec![0; policy.tiers.len()],
            total: 0,
            top: None,
        }
    }

    fn start(&self) -> String {
        match self.format {
            Format::Human => String::new(),
            Format::Json => {
                let head = serde_json::json!({
                    "schema": JSON_SCHEMA,
                    "policy": { "source": self.origin.kind(), "name": self.origin.to_string() },
                    "range": self.range,
                    "tiers": self.policy.tiers.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
                });
                let text = serde_json::to_string_pretty(&head).unwrap_or_default();
                // The head without its closing brace, then the commits array opens.
                let open = text.trim_end().trim_end_matches('}').trim_end();
                format!("{open},\n  \"commits\": [")
            }
        }
    }

    fn commit(&mut self, c: &Classified, out: &mut String) {
        let tier = c.verdict.tier;
        if let Some(n) = self.counts.get_mut(tier.0) {
            *n += 1;
        }
        self.top = Some(self.top.map_or(tier, |t| t.max(tier)));
        self.total += 1;
        match self.format {
            Format::Human => human_commit(self.policy, c, self.color, out),
            Format::Json => {
                let text =
                    serde_json::to_string_pretty(&json_commit(self.policy, c)).unwrap_or_default();
                out.push_str(if self.total == 1 { "\n" } else { ",\n" });
                for (i, line) in text.lines().enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    out.push_str("    ");
                    out.push_str(line);
                }
            }
        }
    }

    fn finish(&self) -> String {
        let policy = self.policy;
        match self.format {
            Format::Json => {
                let tier = serde_json::to_string(&self.top.map(|t| policy.tier_name(t)))
                    .unwrap_or_default();
                let close = if self.total == 0 { "]" } else { "\n  ]" };
                format!("{close},\n  \"tier\": {tier}\n}}\n")
            }
            Format::Human => {
                let paint = |style: anstyle::Style, text: &str| -> String {
                    if self.color {
                        format!("{style}{text}{style:#}")
                    } else {
                        text.to_owned()
                    }
                };
                let counts: Vec<String> = policy
                    .tiers
                    .iter()
                    .zip(&self.counts)
                    .map(|(t, n)| format!("{} {n}", t.name))
                    .collect();
                let summary = match self.top {
                    Some(t) => format!(
                        "{}: {} ({} commit{}: {})\n",
                        self.range,
                        paint(tier_style(policy, t).bold(), policy.tier_name(t)),
                        self.total,
                        if self.total == 1 { "" } else { "s" },
                        counts.join(", ")
                    ),
                    None => format!("{}: no commits\n", self.range),
                };
                let dim = anstyle::Style::new().dimmed();
                format!(
                    "{summary}{}\n",
                    paint(dim, &format!("policy: {}", self.origin))
                )
            }
        }
    }
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

fn json_commit<'a>(policy: &'a Policy, c: &'a Classified) -> JsonCommit<'a> {
    JsonCommit {
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

fn human_commit(policy: &Policy, c: &Classified, color: bool, out: &mut String) {
    let paint = |style: anstyle::Style, text: &str| -> String {
        if color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    };
    let width = policy.tiers.iter().map(|t| t.name.len()).max().unwrap_or(4);
    let dim = anstyle::Style::new().dimmed();
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
