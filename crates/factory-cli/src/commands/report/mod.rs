//! `factory report`: what the factory shipped over a range or a period, who approved it and
//! what slipped through — as JSON, Markdown or one self-contained HTML page.

mod html;
mod markdown;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use factory_gate::{Decision, Notes, Reason, decide_history};
use factory_git::{ObjectId, Repo};
use factory_policy::Policy;
use serde::Serialize;

use crate::Env;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// `BASE..TIP`. Default: the whole first-parent history of the branch (its first commit
    /// sets the base), narrowed by --since and --until.
    #[arg(value_name = "BASE..TIP", conflicts_with_all = ["since", "until"])]
    range: Option<String>,
    /// Only changes made on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only changes made on or before this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// The branch to report on. Default: HEAD.
    #[arg(long, value_name = "BRANCH")]
    branch: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Html)]
    format: Format,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
    /// Dry run: also judge the range with this proposed policy and show what it would have
    /// blocked beside the current policy's result.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One self-contained page with charts (no scripts, styles or fonts from elsewhere).
    Html,
    /// For a wiki or a pull request.
    Markdown,
    /// `factory.report/v1`.
    Json,
}

/// The report, as JSON (`factory.report/v1`); the HTML and Markdown show these figures.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) schema: &'static str,
    pub(crate) range: RangeInfo,
    pub(crate) totals: Totals,
    pub(crate) by_agent: Vec<AgentRow>,
    pub(crate) tiers: BTreeMap<String, u64>,
    pub(crate) tier_order: Vec<String>,
    pub(crate) approvals: Approvals,
    pub(crate) hard_stop: Vec<HardStop>,
    pub(crate) violations: Vec<Violation>,
    pub(crate) overrides: Vec<OverrideRow>,
    pub(crate) transcripts: Transcripts,
    pub(crate) signatures: BTreeMap<String, u64>,
    pub(crate) metrics: Metrics,
    pub(crate) weeks: Vec<Week>,
    pub(crate) commits: Vec<CommitRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dry_run: Option<DryRun>,
}

#[derive(Debug, Serialize)]
pub(crate) struct RangeInfo {
    pub(crate) base: String,
    pub(crate) tip: String,
    pub(crate) branch: String,
    pub(crate) since: Option<String>,
    pub(crate) until: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Totals {
    /// First-parent steps (pushes or merges) of the branch.
    pub(crate) changes: u64,
    pub(crate) commits: u64,
    pub(crate) agent_commits: u64,
    pub(crate) human_commits: u64,
    pub(crate) lines_added_agent: u64,
    pub(crate) lines_added_human: u64,
    pub(crate) lines_removed_agent: u64,
    pub(crate) lines_removed_human: u64,
    pub(crate) blocked_changes: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct AgentRow {
    pub(crate) agent: String,
    pub(crate) models: Vec<String>,
    pub(crate) commits: u64,
    pub(crate) lines_added: u64,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Approvals {
    pub(crate) valid: u64,
    pub(crate) by_role: BTreeMap<String, u64>,
    pub(crate) by_person: BTreeMap<String, u64>,
    /// Hours from the commit to its approval.
    pub(crate) latency_hours: Stats,
    /// Counts per bucket: `<1h`, `1-4h`, `4-24h`, `1-3d`, `>3d`.
    pub(crate) latency_buckets: Vec<(String, u64)>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Stats {
    pub(crate) count: u64,
    pub(crate) median: Option<f64>,
    pub(crate) p90: Option<f64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct HardStop {
    pub(crate) commit: String,
    pub(crate) summary: String,
    pub(crate) decision: String,
    /// (role, people) met.
    pub(crate) signed_by: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Violation {
    /// `blocked-today`, `unsigned-human-commit`, `missing-transcript`, `invalid-approval`.
    pub(crate) kind: &'static str,
    pub(crate) commit: String,
    pub(crate) summary: String,
    pub(crate) detail: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct OverrideRow {
    pub(crate) commit: String,
    pub(crate) person: String,
    pub(crate) time: String,
    pub(crate) reason: String,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Transcripts {
    pub(crate) agent_commits: u64,
    pub(crate) with_transcript: u64,
    pub(crate) coverage_percent: f64,
    pub(crate) redactions: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Metrics {
    /// Changes with at least one agent commit, in percent of all changes.
    pub(crate) agent_share_percent: f64,
    /// Valid approvals and human-signed commits per change.
    pub(crate) signoffs_per_change: f64,
    /// Reverts and fix-ups aimed at agent commits, per 100 agent commits.
    pub(crate) agent_reverts_per_100: f64,
    /// Reverts and fix-ups aimed at human commits, per 100 human commits.
    pub(crate) human_reverts_per_100: f64,
    pub(crate) reverts_of_agent_commits: u64,
    pub(crate) reverts_of_human_commits: u64,
    /// Hours from the first agent commit of a merged change to its merge.
    pub(crate) agent_time_to_merge_hours: Stats,
}

#[derive(Debug, Serialize)]
pub(crate) struct Week {
    pub(crate) week: String,
    pub(crate) changes: u64,
    pub(crate) agent_changes: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct CommitRow {
    pub(crate) commit: String,
    pub(crate) summary: String,
    pub(crate) origin: String,
    pub(crate) agent: Option<String>,
    pub(crate) tier: String,
    pub(crate) signature: String,
    pub(crate) transcript: bool,
    pub(crate) lines_added: u64,
    pub(crate) lines_removed: u64,
    /// (rule, file:line) that gave the commit its tier.
    pub(crate) evidence: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
pub(crate) struct DryRun {
    pub(crate) policy: String,
    pub(crate) blocked_current: u64,
    pub(crate) blocked_proposed: u64,
    /// Changes the proposed policy would block that the current one lets through.
    pub(crate) newly_blocked: Vec<(String, String)>,
    /// Changes the current policy blocks that the proposed one would let through.
    pub(crate) newly_passing: Vec<(String, String)>,
}

fn internal(e: impl std::fmt::Display) -> CliError {
    CliError::internal(e.to_string())
}

use crate::civil::{days_from_civil, parse_day, rfc3339_secs};

/// ISO week label (`2026-W02`) of a time.
fn week_of(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    // 1970-01-01 was a Thursday; ISO weeks start on Monday and belong to their Thursday's year.
    let weekday = (days + 3).rem_euclid(7); // 0 = Monday
    let thursday = days - weekday + 3;
    let (year, _, _) = crate::civil::civil_from_days(thursday);
    let start = days_from_civil(year, 1, 1);
    format!("{year}-W{:02}", (thursday - start) / 7 + 1)
}

fn stats(mut values: Vec<f64>) -> Stats {
    values.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        let i = ((values.len() as f64 - 1.0) * q).round() as usize;
        Some((values[i] * 10.0).round() / 10.0)
    };
    Stats {
        count: values.len() as u64,
        median: pick(0.5),
        p90: pick(0.9),
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

/// Lines added and removed per commit: from the line cache under the git directory
/// (`factory/cache/lines-v1`, `COMMIT ADDED REMOVED` per line; line counts depend on nothing but
/// the commit), and `git diff-tree --numstat` for the commits it lacks. Merges count 0 (like
/// `git log --numstat`): their lines are counted on the commits they bring.
fn line_counts(
    repo: &Repo,
    base: ObjectId,
    tip: ObjectId,
) -> Result<BTreeMap<String, (u64, u64)>, CliError> {
    let cache = repo.git_dir().join("factory/cache/lines-v1");
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut known: std::collections::HashMap<String, (u64, u64)> = std::collections::HashMap::new();
    if let Ok(text) = std::fs::read_to_string(&cache) {
        for line in text.lines() {
            let mut f = line.split(' ');
            match (
                f.next(),
                f.next().map(str::parse),
                f.next().map(str::parse),
                f.next(),
            ) {
                (Some(id), Some(Ok(a)), Some(Ok(r)), None) if id.len() >= 40 => {
                    known.insert(id.to_owned(), (a, r));
                }
                // A torn or edited cache is not trusted: start again.
                _ => {
                    known.clear();
                    break;
                }
            }
        }
    }
    let ids = repo
        .git(&["rev-list", &format!("{base}..{tip}")], None)
        .map_err(internal)?;
    let mut missing = String::new();
    for id in ids.lines() {
        match known.get(id) {
            Some(c) => {
                counts.insert(id.to_owned(), *c);
            }
            None => {
                counts.insert(id.to_owned(), (0, 0));
                missing.push_str(id);
                missing.push('\n');
            }
        }
    }
    if missing.is_empty() {
        return Ok(counts);
    }
    let out = repo
        .git(
            &[
                "diff-tree",
                "--stdin",
                "-r",
                "--root",
                "--numstat",
                "--no-renames",
            ],
            Some(missing.as_bytes()),
        )
        .map_err(internal)?;
    let mut current = String::new();
    for line in out.lines() {
        if (line.len() == 40 || line.len() == 64) && line.bytes().all(|b| b.is_ascii_hexdigit()) {
            current = line.to_owned();
            continue;
        }
        let mut f = line.split('\t');
        if let (Some(a), Some(r)) = (f.next(), f.next())
            && let (Ok(a), Ok(r)) = (a.parse::<u64>(), r.parse::<u64>())
            && let Some(e) = counts.get_mut(&current)
        {
            e.0 += a;
            e.1 += r;
        }
    }
    let mut text = String::new();
    for (id, (a, r)) in &counts {
        if !known.contains_key(id) {
            text.push_str(&format!("{id} {a} {r}\n"));
        }
    }
    if let Some(dir) = cache.parent()
        && std::fs::create_dir_all(dir).is_ok()
        && let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&cache)
    {
        use std::io::Write;
        let _ = file.write_all(text.as_bytes());
    }
    Ok(counts)
}

/// The first-parent chain of `tip` with commit times, newest first.
fn first_parents(repo: &Repo, tip: ObjectId) -> Result<Vec<(ObjectId, i64)>, CliError> {
    let out = repo
        .git(
            &["log", "--first-parent", "--format=%H %ct", &tip.to_string()],
            None,
        )
        .map_err(internal)?;
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(h, t)| {
            Ok((
                ObjectId::from_hex(h.as_bytes()).map_err(internal)?,
                t.parse().map_err(internal)?,
            ))
        })
        .collect()
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let branch = args.branch.clone().unwrap_or_else(|| "HEAD".to_owned());
    let (base, tip) = match args.range.as_deref() {
        Some(r) => match factory_git::RangeSpec::parse(r) {
            factory_git::RangeSpec::Range { from, to } => {
                (repo.resolve_commit(&from)?, repo.resolve_commit(&to)?)
            }
            _ => return Err(CliError::usage("give the range as BASE..TIP")),
        },
        None => {
            let tip = repo.resolve_commit(&branch)?;
            let chain = first_parents(&repo, tip)?;
            let day = |d: &Option<String>, end: bool| -> Result<Option<i64>, CliError> {
                d.as_deref()
                    .map(|t| {
                        parse_day(t)
                            .map(|days| days * 86_400 + if end { 86_399 } else { 0 })
                            .ok_or_else(|| {
                                CliError::usage(format!("`{t}` is not a date: write YYYY-MM-DD"))
                            })
                    })
                    .transpose()
            };
            let since = day(&args.since, false)?;
            let until = day(&args.until, true)?;
            // Newest first: the tip is the newest step on or before --until; the base is the
            // newest step before --since (or the first commit).
            let tip = chain
                .iter()
                .find(|(_, t)| until.is_none_or(|u| *t <= u))
                .map(|(id, _)| *id)
                .ok_or_else(|| CliError::usage("no change on the branch before --until"))?;
            let base = chain
                .iter()
                .find(|(_, t)| since.is_some_and(|s| *t < s))
                .or_else(|| chain.last())
                .map(|(id, _)| *id)
                .ok_or_else(|| CliError::usage("the branch has no commits"))?;
            (base, tip)
        }
    };
    let notes = Notes::current(&repo).map_err(|e| CliError::Config(miette::miette!("{e}")))?;
    let proposed = match &args.policy {
        Some(file) => {
            let path = env.cwd.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
            Some(Policy::parse(&file.display().to_string(), &text)?)
        }
        None => None,
    };
    let block = |e: factory_gate::GateError| {
        CliError::Config(miette::miette!("the report cannot judge the history: {e}"))
    };
    let (decisions, lines, dry) = std::thread::scope(|scope| {
        let lines = scope.spawn(|| line_counts(&repo, base, tip));
        let decisions = decide_history(&repo, base, tip, &notes, None, None).map_err(block);
        let dry = proposed
            .as_ref()
            .map(|p| decide_history(&repo, base, tip, &notes, Some(p), None).map_err(block))
            .transpose();
        let lines = lines
            .join()
            .unwrap_or_else(|_| Err(internal("counting lines failed")));
        (decisions, lines, dry)
    });
    let (decisions, lines, dry) = (decisions?, lines?, dry?);
    let report = build(
        RangeInfo {
            base: base.to_string(),
            tip: tip.to_string(),
            branch,
            since: args.since.clone(),
            until: args.until.clone(),
        },
        &decisions,
        &lines,
        dry.as_deref().map(|d| {
            (
                args.policy
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                d,
            )
        }),
    );
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report).map_err(internal)? + "\n",
        Format::Markdown => markdown::render(&report),
        Format::Html => html::render(&report),
    };
    match &args.out {
        Some(file) => {
            let path = env.cwd.join(file);
            std::fs::write(&path, text)
                .map_err(|e| CliError::usage(format!("cannot write {}: {e}", path.display())))?;
            env.ui.outln(&format!(
                "wrote {} ({} changes, {} commits, {} violation(s))",
                path.display(),
                report.totals.changes,
                report.totals.commits,
                report.violations.len()
            ))?;
        }
        None => env.ui.out(&text)?,
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn short_id(id: &str) -> String {
    id[..12.min(id.len())].to_owned()
}

/// The subject a revert or fix-up aims at: `Revert "X"` and `fixup! X`.
fn target_of(summary: &str) -> Option<&str> {
    summary
        .strip_prefix("Revert \"")
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| summary.strip_prefix("fixup! "))
        .or_else(|| summary.strip_prefix("squash! "))
}

fn build(
    range: RangeInfo,
    decisions: &[Decision],
    lines: &BTreeMap<String, (u64, u64)>,
    dry: Option<(String, &[Decision])>,
) -> Report {
    let mut totals = Totals {
        changes: decisions.len() as u64,
        ..Totals::default()
    };
    let mut by_agent: BTreeMap<String, AgentRow> = BTreeMap::new();
    let mut tiers: BTreeMap<String, u64> = BTreeMap::new();
    let mut tier_order: Vec<String> = decisions
        .first()
        .map(|d| d.tiers.clone())
        .unwrap_or_default();
    let mut approvals = Approvals::default();
    let mut latencies = Vec::new();
    let mut hard_stop = Vec::new();
    let mut violations = Vec::new();
    let mut overrides = Vec::new();
    let mut transcripts = Transcripts::default();
    let mut signatures: BTreeMap<String, u64> = BTreeMap::new();
    let mut weeks: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut commits = Vec::new();
    let mut signoffs = 0u64;
    let mut agent_changes = 0u64;
    let mut time_to_merge = Vec::new();
    let mut origin_by_subject: BTreeMap<String, String> = BTreeMap::new();
    for d in decisions {
        let tip = d.commits.iter().find(|c| c.commit == d.tip);
        let tip_time = tip.map_or(0, |c| c.time);
        let summary = tip.map(|c| c.summary.clone()).unwrap_or_default();
        let any_agent = d.commits.iter().any(|c| c.origin == "agent");
        if any_agent {
            agent_changes += 1;
        }
        let w = weeks.entry(week_of(tip_time)).or_default();
        w.0 += 1;
        w.1 += u64::from(any_agent);
        if !d.passes() {
            totals.blocked_changes += 1;
            violations.push(Violation {
                kind: "blocked-today",
                commit: d.tip.clone(),
                summary: summary.clone(),
                detail: d
                    .reasons
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        if d.commits.len() > 1
            && let Some(first) = d
                .commits
                .iter()
                .filter(|c| c.origin == "agent")
                .map(|c| c.time)
                .min()
        {
            time_to_merge.push((tip_time - first).max(0) as f64 / 3600.0);
        }
        for s in d.evaluation.statements.iter() {
            if s.counts {
                match s.kind {
                    factory_trust::approval::Kind::Approve => {
                        approvals.valid += 1;
                        signoffs += 1;
                        *approvals.by_role.entry(s.role.clone()).or_default() += 1;
                        *approvals.by_person.entry(s.approver.clone()).or_default() += 1;
                        if let Some(t) = rfc3339_secs(&s.time) {
                            latencies.push((t - tip_time).max(0) as f64 / 3600.0);
                        }
                    }
                    factory_trust::approval::Kind::Override => {}
                    factory_trust::approval::Kind::Reject => {}
                    factory_trust::approval::Kind::Withdraw => {}
                }
            } else if s.reason.contains("does not verify")
                || s.reason.contains("no person's key")
                || s.reason.contains("not valid")
            {
                violations.push(Violation {
                    kind: "invalid-approval",
                    commit: d.tip.clone(),
                    summary: summary.clone(),
                    detail: format!("{} as {}: {}", s.approver, s.role, s.reason),
                });
            }
        }
        for o in &d.evaluation.overrides {
            overrides.push(OverrideRow {
                commit: d.tip.clone(),
                person: o.person.clone(),
                time: o.time.clone(),
                reason: o.reason.clone(),
            });
        }
        if d.tier_is_highest() {
            hard_stop.push(HardStop {
                commit: d.tip.clone(),
                summary: summary.clone(),
                decision: d.decision.to_owned(),
                signed_by: d
                    .evaluation
                    .met
                    .iter()
                    .filter(|(c, _, _)| *c == d.tip)
                    .map(|(_, role, people)| (role.clone(), people.clone()))
                    .collect(),
            });
        }
        for r in &d.reasons {
            match r {
                Reason::MissingTranscript { commit } => violations.push(Violation {
                    kind: "missing-transcript",
                    commit: commit.clone(),
                    summary: d
                        .commits
                        .iter()
                        .find(|c| c.commit == *commit)
                        .map(|c| c.summary.clone())
                        .unwrap_or_default(),
                    detail: "an agent commit without a transcript".into(),
                }),
                Reason::UnsignedHumanCommit { commit, signature } => violations.push(Violation {
                    kind: "unsigned-human-commit",
                    commit: commit.clone(),
                    summary: d
                        .commits
                        .iter()
                        .find(|c| c.commit == *commit)
                        .map(|c| c.summary.clone())
                        .unwrap_or_default(),
                    detail: format!("signature: {signature}"),
                }),
                _ => {}
            }
        }
        for c in &d.commits {
            let (added, removed) = lines.get(&c.commit).copied().unwrap_or((0, 0));
            totals.commits += 1;
            if !tier_order.contains(&c.tier) {
                tier_order.push(c.tier.clone());
            }
            *tiers.entry(c.tier.clone()).or_default() += 1;
            *signatures.entry(c.signature.clone()).or_default() += 1;
            origin_by_subject.insert(c.summary.clone(), c.origin.clone());
            if c.origin == "agent" {
                totals.agent_commits += 1;
                totals.lines_added_agent += added;
                totals.lines_removed_agent += removed;
                transcripts.agent_commits += 1;
                transcripts.with_transcript += u64::from(c.transcript);
                let name = c.agent.clone().unwrap_or_else(|| "unknown".into());
                let row = by_agent.entry(name.clone()).or_insert(AgentRow {
                    agent: name,
                    models: Vec::new(),
                    commits: 0,
                    lines_added: 0,
                });
                row.commits += 1;
                row.lines_added += added;
                for m in &c.models {
                    if !row.models.contains(m) {
                        row.models.push(m.clone());
                    }
                }
            } else {
                totals.human_commits += 1;
                totals.lines_added_human += added;
                totals.lines_removed_human += removed;
                if c.signature == "good" {
                    signoffs += 1;
                }
            }
            for (k, n) in &c.redactions {
                *transcripts.redactions.entry(k.clone()).or_default() += n;
            }
            commits.push(CommitRow {
                commit: c.commit.clone(),
                summary: c.summary.clone(),
                origin: c.origin.clone(),
                agent: c.agent.clone(),
                tier: c.tier.clone(),
                signature: c.signature.clone(),
                transcript: c.transcript,
                lines_added: added,
                lines_removed: removed,
                evidence: c
                    .evidence
                    .iter()
                    .filter(|e| e.tier == c.tier)
                    .map(|e| {
                        (
                            e.rule.clone(),
                            match (&e.path, e.line) {
                                (Some(p), Some(l)) => format!("{p}:{l}"),
                                (Some(p), None) => p.clone(),
                                _ => String::new(),
                            },
                        )
                    })
                    .collect(),
            });
        }
    }
    // Reverts and fix-ups, attributed to the origin of the commit they aim at.
    let mut metrics = Metrics::default();
    for c in &commits {
        if let Some(target) = target_of(&c.summary) {
            match origin_by_subject.get(target).map(String::as_str) {
                Some("agent") => metrics.reverts_of_agent_commits += 1,
                Some(_) => metrics.reverts_of_human_commits += 1,
                None => {}
            }
        }
    }
    let per_100 = |n: u64, d: u64| {
        if d == 0 {
            0.0
        } else {
            (n as f64 * 1000.0 / d as f64).round() / 10.0
        }
    };
    metrics.agent_reverts_per_100 = per_100(metrics.reverts_of_agent_commits, totals.agent_commits);
    metrics.human_reverts_per_100 = per_100(metrics.reverts_of_human_commits, totals.human_commits);
    metrics.agent_share_percent = percent(agent_changes, totals.changes);
    metrics.signoffs_per_change = if totals.changes == 0 {
        0.0
    } else {
        (signoffs as f64 * 100.0 / totals.changes as f64).round() / 100.0
    };
    metrics.agent_time_to_merge_hours = stats(time_to_merge);
    transcripts.coverage_percent = percent(transcripts.with_transcript, transcripts.agent_commits);
    let buckets = [
        ("<1h", 1.0),
        ("1-4h", 4.0),
        ("4-24h", 24.0),
        ("1-3d", 72.0),
        (">3d", f64::INFINITY),
    ];
    approvals.latency_buckets = buckets
        .iter()
        .enumerate()
        .map(|(i, (label, upper))| {
            let lower = if i == 0 {
                f64::NEG_INFINITY
            } else {
                buckets[i - 1].1
            };
            (
                (*label).to_owned(),
                latencies
                    .iter()
                    .filter(|h| **h >= lower && **h < *upper)
                    .count() as u64,
            )
        })
        .collect();
    approvals.latency_hours = stats(latencies);
    let dry_run = dry.map(|(policy, proposed)| {
        let mut newly_blocked = Vec::new();
        let mut newly_passing = Vec::new();
        for (cur, new) in decisions.iter().zip(proposed) {
            let summary = cur
                .commits
                .iter()
                .find(|c| c.commit == cur.tip)
                .map(|c| c.summary.clone())
                .unwrap_or_default();
            match (cur.passes(), new.passes()) {
                (true, false) => newly_blocked.push((cur.tip.clone(), summary)),
                (false, true) => newly_passing.push((cur.tip.clone(), summary)),
                _ => {}
            }
        }
        DryRun {
            policy,
            blocked_current: decisions.iter().filter(|d| !d.passes()).count() as u64,
            blocked_proposed: proposed.iter().filter(|d| !d.passes()).count() as u64,
            newly_blocked,
            newly_passing,
        }
    });
    Report {
        schema: "factory.report/v1",
        range,
        totals,
        by_agent: by_agent.into_values().collect(),
        tiers,
        tier_order,
        approvals,
        hard_stop,
        violations,
        overrides,
        transcripts,
        signatures,
        metrics,
        weeks: weeks
            .into_iter()
            .map(|(week, (changes, agent_changes))| Week {
                week,
                changes,
                agent_changes,
            })
            .collect(),
        commits,
        dry_run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_and_days() {
        let at = |d: &str| parse_day(d).unwrap() * 86_400;
        assert_eq!(week_of(at("2026-01-05")), "2026-W02");
        assert_eq!(week_of(at("2026-01-01")), "2026-W01");
        assert_eq!(week_of(at("2027-01-01")), "2026-W53");
        assert_eq!(week_of(at("2024-12-30")), "2025-W01");
        assert_eq!(week_of(at("1970-01-01")), "1970-W01");
        assert_eq!(
            rfc3339_secs("2026-01-05T10:00:00Z"),
            Some(at("2026-01-05") + 36_000)
        );
    }
}
