//! Compliance reports: what the factory shipped over a range or a period, who approved it and
//! what slipped through. [`generate`] judges every first-parent change of the range with the
//! gate and gathers the figures into a [`Report`] (`factory.report/v1`); [`render`] writes it as
//! JSON, Markdown, or one self-contained HTML page with charts (no scripts, styles or fonts from
//! elsewhere). Untrusted text is made inert for each format ([`escape`]).
#![deny(missing_docs)]

pub mod decision;
pub mod escape;
mod html;
mod markdown;

use std::collections::BTreeMap;

use factory_gate::{Decision, GateError, Notes, Reason, decide_history};
use factory_git::{GitCommandError, ObjectId, Repo};
use factory_policy::Policy;
use factory_trust::civil::{days_from_civil, rfc3339_secs};
use serde::Serialize;

/// The formats a report is rendered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One self-contained page with charts (no scripts, styles or fonts from elsewhere).
    Html,
    /// For a wiki or a pull request.
    Markdown,
    /// `factory.report/v1`.
    Json,
}

/// Why no report was made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The gate could not judge the history (it fails closed; so does the report).
    #[error("the report cannot judge the history: {0}")]
    Gate(#[from] GateError),
    /// A git command failed.
    #[error(transparent)]
    Git(#[from] GitCommandError),
    /// The period holds no change.
    #[error("{0}")]
    Period(&'static str),
    /// git printed what it should not have.
    #[error("unexpected output of git {command}: {line:?}")]
    Output {
        /// The command.
        command: &'static str,
        /// The line.
        line: String,
    },
}

/// The report of `base..tip` (described by `range`), judged with the notes as they are; with
/// `proposed` (its name, the policy and its keys when it has its own), also what that policy
/// would have decided (a dry run).
pub fn generate(
    repo: &Repo,
    notes: &Notes,
    base: ObjectId,
    tip: ObjectId,
    range: RangeInfo,
    proposed: Option<(&str, &Policy, Option<&factory_trust::Keyring>)>,
) -> Result<Report, ReportError> {
    let (decisions, lines, dry) = std::thread::scope(|scope| {
        let lines = scope.spawn(|| line_counts(repo, base, tip));
        let decisions = decide_history(repo, base, tip, notes, None, None);
        let dry = proposed
            .map(|(_, p, keys)| decide_history(repo, base, tip, notes, Some((p, keys)), None))
            .transpose();
        let lines = lines.join().unwrap_or_else(|_| {
            Err(ReportError::Output {
                command: "diff-tree --numstat",
                line: "the line counter stopped".into(),
            })
        });
        (decisions, lines, dry)
    });
    let (decisions, lines, dry) = (decisions?, lines?, dry?);
    Ok(build(
        range,
        &decisions,
        &lines,
        dry.as_deref()
            .zip(proposed)
            .map(|(d, (name, _, _))| (name.to_owned(), d)),
    ))
}

/// The base and tip of the first-parent history of `tip` between two times (seconds since the
/// epoch, inclusive): the tip is the newest step on or before `until`, the base the newest step
/// before `since` (or the first commit).
pub fn period(
    repo: &Repo,
    tip: ObjectId,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<(ObjectId, ObjectId), ReportError> {
    let chain = first_parents(repo, tip)?;
    let tip = chain
        .iter()
        .find(|(_, t)| until.is_none_or(|u| *t <= u))
        .map(|(id, _)| *id)
        .ok_or(ReportError::Period(
            "no change on the branch before --until",
        ))?;
    let base = chain
        .iter()
        .find(|(_, t)| since.is_some_and(|s| *t < s))
        .or_else(|| chain.last())
        .map(|(id, _)| *id)
        .ok_or(ReportError::Period("the branch has no commits"))?;
    Ok((base, tip))
}

/// The report in `format`.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
        Format::Markdown => markdown::render(report),
        Format::Html => html::render(report),
    }
}

/// The report, as JSON (`factory.report/v1`); the HTML and Markdown show these figures.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always `factory.report/v1`.
    pub schema: &'static str,
    /// What was reported on.
    pub range: RangeInfo,
    /// Counts over the whole range.
    pub totals: Totals,
    /// One row per agent, most commits first.
    pub by_agent: Vec<AgentRow>,
    /// Changes per tier.
    pub tiers: BTreeMap<String, u64>,
    /// The policy's tiers, lowest first.
    pub tier_order: Vec<String>,
    /// Statements that counted.
    pub approvals: Approvals,
    /// Every hard-stop change and who signed it off.
    pub hard_stop: Vec<HardStop>,
    /// What the gate would refuse today, or what slipped through.
    pub violations: Vec<Violation>,
    /// Break-glass overrides, with their reasons.
    pub overrides: Vec<OverrideRow>,
    /// Valid validation stamps on landed changes, oldest first, with the agent and models that
    /// made the change: the factory's feedback signal.
    pub stamps: Vec<StampRow>,
    /// Transcript coverage of agent commits.
    pub transcripts: Transcripts,
    /// Commits per signature verdict.
    pub signatures: BTreeMap<String, u64>,
    /// Rates derived from the counts.
    pub metrics: Metrics,
    /// Changes per ISO week.
    pub weeks: Vec<Week>,
    /// Every commit of the range.
    pub commits: Vec<CommitRow>,
    /// The proposed policy's result, in a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<DryRun>,
}

/// A valid stamp on a change of the range.
#[derive(Debug, Serialize)]
pub struct StampRow {
    /// The change's tip.
    pub commit: String,
    /// When it was stamped.
    pub time: String,
    /// What it scores (`holdback`, `reliability`, …).
    pub dimension: String,
    /// The score, in [0, 1].
    pub score: f64,
    /// Who stamped.
    pub validator: String,
    /// The agent that made the change (`human` when none did).
    pub agent: String,
    /// The models named by its transcripts.
    pub models: Vec<String>,
}

/// The range a report covers.
#[derive(Debug, Serialize)]
pub struct RangeInfo {
    /// The base commit (excluded).
    pub base: String,
    /// The tip commit.
    pub tip: String,
    /// The branch (or revision) reported on.
    pub branch: String,
    /// The first day, when given.
    pub since: Option<String>,
    /// The last day, when given.
    pub until: Option<String>,
    /// The repository's name (its directory).
    pub repository: String,
    /// When the report was made (RFC 3339 UTC).
    pub generated: String,
    /// The policy governing the tip: the blob id of its `.factory/policy.toml`, or `none` for
    /// the embedded default.
    pub policy: String,
}

/// Counts over the range.
#[derive(Debug, Default, Serialize)]
pub struct Totals {
    /// First-parent steps (pushes or merges) of the branch.
    pub changes: u64,
    /// Commits of the range.
    pub commits: u64,
    /// Commits an agent made.
    pub agent_commits: u64,
    /// Commits a person made.
    pub human_commits: u64,
    /// Lines agents added.
    pub lines_added_agent: u64,
    /// Lines people added.
    pub lines_added_human: u64,
    /// Lines agents removed.
    pub lines_removed_agent: u64,
    /// Lines people removed.
    pub lines_removed_human: u64,
    /// Changes the gate would refuse today.
    pub blocked_changes: u64,
}

/// One agent's work.
#[derive(Debug, Serialize)]
pub struct AgentRow {
    /// The agent's name.
    pub agent: String,
    /// The models its transcripts name.
    pub models: Vec<String>,
    /// Its commits.
    pub commits: u64,
    /// Lines it added.
    pub lines_added: u64,
}

/// Approval statements that counted.
#[derive(Debug, Default, Serialize)]
pub struct Approvals {
    /// Statements that counted.
    pub valid: u64,
    /// Counted statements per role.
    pub by_role: BTreeMap<String, u64>,
    /// Counted statements per person.
    pub by_person: BTreeMap<String, u64>,
    /// Hours from the commit to its approval.
    pub latency_hours: Stats,
    /// Counts per bucket: `<1h`, `1-4h`, `4-24h`, `1-3d`, `>3d`.
    pub latency_buckets: Vec<(String, u64)>,
}

/// A distribution: count, median and 90th percentile.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    /// How many values.
    pub count: u64,
    /// Their median, to one decimal.
    pub median: Option<f64>,
    /// Their 90th percentile, to one decimal.
    pub p90: Option<f64>,
}

/// A hard-stop change.
#[derive(Debug, Serialize)]
pub struct HardStop {
    /// The change's tip.
    pub commit: String,
    /// Its subject.
    pub summary: String,
    /// `pass`, `override`, `ungoverned` or `blocked`.
    pub decision: String,
    /// (role, people) met.
    pub signed_by: Vec<(String, Vec<String>)>,
    /// The overrides it landed on (`person: reason`).
    pub overridden_by: Vec<String>,
    /// What it still lacks, when blocked.
    pub missing: Vec<String>,
}

/// Something the audit found wrong.
#[derive(Debug, Serialize)]
pub struct Violation {
    /// `blocked-today`, `unsigned-human-commit`, `missing-transcript`, `invalid-approval`.
    pub kind: &'static str,
    /// The commit.
    pub commit: String,
    /// Its subject.
    pub summary: String,
    /// What is wrong.
    pub detail: String,
}

/// A break-glass override.
#[derive(Debug, Serialize)]
pub struct OverrideRow {
    /// The change's tip.
    pub commit: String,
    /// Who overrode.
    pub person: String,
    /// When (RFC 3339).
    pub time: String,
    /// Why.
    pub reason: String,
}

/// Transcript coverage.
#[derive(Debug, Default, Serialize)]
pub struct Transcripts {
    /// Agent commits in the range.
    pub agent_commits: u64,
    /// Those with a transcript attached.
    pub with_transcript: u64,
    /// The share with a transcript, in percent.
    pub coverage_percent: f64,
    /// Redactions made in the transcripts, by kind.
    pub redactions: BTreeMap<String, u64>,
}

/// Rates derived from the counts.
#[derive(Debug, Default, Serialize)]
pub struct Metrics {
    /// Changes with at least one agent commit, in percent of all changes.
    pub agent_share_percent: f64,
    /// Valid approvals and human-signed commits per change.
    pub signoffs_per_change: f64,
    /// Reverts and fix-ups aimed at agent commits, per 100 agent commits.
    pub agent_reverts_per_100: f64,
    /// Reverts and fix-ups aimed at human commits, per 100 human commits.
    pub human_reverts_per_100: f64,
    /// Reverts and fix-ups aimed at agent commits.
    pub reverts_of_agent_commits: u64,
    /// Reverts and fix-ups aimed at human commits.
    pub reverts_of_human_commits: u64,
    /// Hours from the first agent commit of a merged change to its merge.
    pub agent_time_to_merge_hours: Stats,
}

/// One ISO week's changes.
#[derive(Debug, Serialize)]
pub struct Week {
    /// The ISO week (`2026-W02`).
    pub week: String,
    /// Changes landed that week.
    pub changes: u64,
    /// Those with an agent commit.
    pub agent_changes: u64,
}

/// One commit.
#[derive(Debug, Serialize)]
pub struct CommitRow {
    /// The commit.
    pub commit: String,
    /// Its subject.
    pub summary: String,
    /// `agent` or `human`.
    pub origin: String,
    /// The agent, for an agent commit.
    pub agent: Option<String>,
    /// How the agent origin is known: `human`, `claimed`, `verified` or `mismatch`.
    #[serde(default)]
    pub agent_origin: String,
    /// Its tier.
    pub tier: String,
    /// Its signature verdict.
    pub signature: String,
    /// Whether a transcript is attached.
    pub transcript: bool,
    /// Lines added.
    pub lines_added: u64,
    /// Lines removed.
    pub lines_removed: u64,
    /// (rule, file:line) that gave the commit its tier.
    pub evidence: Vec<(String, String)>,
}

/// What a proposed policy would have decided.
#[derive(Debug, Serialize)]
pub struct DryRun {
    /// The proposed policy's file.
    pub policy: String,
    /// Changes the current policy blocks.
    pub blocked_current: u64,
    /// Changes the proposed policy would block.
    pub blocked_proposed: u64,
    /// Changes the proposed policy would block that the current one lets through.
    pub newly_blocked: Vec<(String, String)>,
    /// Changes the current policy blocks that the proposed one would let through.
    pub newly_passing: Vec<(String, String)>,
}

/// ISO week label (`2026-W02`) of a time.
fn week_of(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    // 1970-01-01 was a Thursday; ISO weeks start on Monday and belong to their Thursday's year.
    let weekday = (days + 3).rem_euclid(7); // 0 = Monday
    let thursday = days - weekday + 3;
    let (year, _, _) = factory_trust::civil::civil_from_days(thursday);
    let start = days_from_civil(year, 1, 1);
    format!("{year}-W{:02}", (thursday - start) / 7 + 1)
}

/// The weeks from the first to the last, the empty ones included (so that a gap shows as one).
fn continuous_weeks(mut weeks: BTreeMap<String, (u64, u64)>) -> BTreeMap<String, (u64, u64)> {
    let monday = |label: &str| -> Option<i64> {
        let (year, week) = label.split_once("-W")?;
        let (year, week): (i64, i64) = (year.parse().ok()?, week.parse().ok()?);
        // ISO week 1 holds January 4th.
        let jan4 = days_from_civil(year, 1, 4);
        let weekday = (jan4 + 3).rem_euclid(7);
        Some(jan4 - weekday + (week - 1) * 7)
    };
    let (Some(first), Some(last)) = (
        weeks.keys().next().and_then(|w| monday(w)),
        weeks.keys().next_back().and_then(|w| monday(w)),
    ) else {
        return weeks;
    };
    // At most ten years of weeks: a range is not longer than that, and a bad label is no loop.
    let mut day = first;
    while day < last && day - first < 3_660 {
        weeks.entry(week_of(day * 86_400)).or_default();
        day += 7;
    }
    weeks
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
) -> Result<BTreeMap<String, (u64, u64)>, ReportError> {
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
    let ids = repo.git(&["rev-list", &format!("{base}..{tip}")], None)?;
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
    let out = repo.git(
        &[
            "diff-tree",
            "--stdin",
            "-r",
            "--root",
            "--numstat",
            "--no-renames",
        ],
        Some(missing.as_bytes()),
    )?;
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
fn first_parents(repo: &Repo, tip: ObjectId) -> Result<Vec<(ObjectId, i64)>, ReportError> {
    let out = repo.git(
        &["log", "--first-parent", "--format=%H %ct", &tip.to_string()],
        None,
    )?;
    out.lines()
        .map(|l| {
            let bad = || ReportError::Output {
                command: "log --first-parent",
                line: l.to_owned(),
            };
            let (h, t) = l.split_once(' ').ok_or_else(bad)?;
            Ok((
                ObjectId::from_hex(h.as_bytes()).map_err(|_| bad())?,
                t.parse().map_err(|_| bad())?,
            ))
        })
        .collect()
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
    let mut stamps: Vec<StampRow> = Vec::new();
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
                    // Counted with the evaluation's stamps below.
                    factory_trust::approval::Kind::Stamp => {}
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
        for st in &d.evaluation.stamps {
            let mut models: Vec<String> = Vec::new();
            for m in d.commits.iter().flat_map(|c| &c.models) {
                if !models.contains(m) {
                    models.push(m.clone());
                }
            }
            stamps.push(StampRow {
                commit: d.tip.clone(),
                time: st.time.clone(),
                dimension: st.dimension.clone(),
                score: st.score,
                validator: st.validator.clone(),
                agent: d
                    .commits
                    .iter()
                    .find_map(|c| c.agent.clone())
                    .unwrap_or_else(|| "human".to_owned()),
                models,
            });
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
                decision: decision::landing_verdict(d).to_owned(),
                overridden_by: d
                    .evaluation
                    .overrides
                    .iter()
                    .map(|o| format!("{}: {}", o.person, o.reason))
                    .collect(),
                missing: d.evaluation.unmet.iter().map(|u| u.what.clone()).collect(),
                signed_by: d
                    .evaluation
                    .met
                    .iter()
                    .filter(|(c, _, _)| *c == d.tip)
                    .map(|(_, role, people)| (role.clone(), people.clone()))
                    .collect(),
            });
        }
        let summary_of = |commit: &str| {
            d.commits
                .iter()
                .find(|c| c.commit == commit)
                .map(|c| c.summary.clone())
                .unwrap_or_default()
        };
        for r in &d.reasons {
            match r {
                Reason::MissingTranscript { commit } => violations.push(Violation {
                    kind: "missing-transcript",
                    commit: commit.clone(),
                    summary: summary_of(commit),
                    detail: "an agent commit without a transcript".into(),
                }),
                Reason::UnsignedHumanCommit { commit, signature } => violations.push(Violation {
                    kind: "unsigned-human-commit",
                    commit: commit.clone(),
                    summary: summary_of(commit),
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
                agent_origin: c.agent_origin.clone(),
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
        stamps: {
            stamps.sort_by(|a, b| a.time.cmp(&b.time));
            stamps
        },
        transcripts,
        signatures,
        metrics,
        weeks: continuous_weeks(weeks)
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
    use factory_trust::civil::parse_day;

    #[test]
    fn a_gap_of_weeks_shows_as_one() {
        let mut weeks = BTreeMap::new();
        weeks.insert("2025-W51".to_owned(), (2, 1));
        weeks.insert("2026-W02".to_owned(), (1, 0));
        let all: Vec<String> = continuous_weeks(weeks).into_keys().collect();
        assert_eq!(all, ["2025-W51", "2025-W52", "2026-W01", "2026-W02"]);
    }

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
