//! `factory audit [RANGE]`: the gate's decision for CI.

use std::process::ExitCode;

use factory_gate::{Decision, Notes, Options, Reason};
use factory_git::{RangeSpec, Repo};

use crate::Env;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// `BASE..TIP`. Default: the merge-base of HEAD with the default branch (origin/HEAD, main
    /// or master) ..HEAD.
    #[arg(value_name = "BASE..TIP")]
    range: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Dry run: also judge the range with this proposed policy (its tiers and rules; the base's
    /// keys) and show its decision beside the current one. The exit code stays the current
    /// policy's.
    #[arg(long, value_name = "FILE")]
    policy: Option<std::path::PathBuf>,
    /// Do not read or write the audit cache (under the git directory, keyed by commit and the
    /// base's .factory/ tree).
    #[arg(long)]
    no_cache: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Human,
    /// `{decision, reasons, base, tip, tier, commits, evaluation, waived, note_problems}`.
    Json,
    /// SARIF 2.1.0: one result per blocking reason at the file:line of its evidence.
    Sarif,
    /// JUnit XML: one test case per commit, plus the range's approvals.
    Junit,
    /// Markdown, for a CI job summary.
    Markdown,
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    // The policy and keys: BASE's for an explicit range; without one, the default branch's tip
    // (one source of governance, as the server judges), so that a branch forked from an old
    // commit is not judged by the old commit's policy.
    let (base, tip, governance) = match args.range.as_deref().map(RangeSpec::parse) {
        Some(RangeSpec::Range { from, to }) => {
            let base = repo.resolve_commit(&from)?;
            (base, repo.resolve_commit(&to)?, base)
        }
        Some(_) => return Err(CliError::usage("give the range as BASE..TIP")),
        None => {
            let tip = repo.resolve_commit("HEAD")?;
            let base = repo.merge_base_with_default(tip).ok_or_else(|| {
                CliError::usage("no default branch (origin/HEAD, main, master) to audit against: give BASE..TIP")
            })?;
            let governance = repo.default_branch_tip().unwrap_or(base);
            (base, tip, governance)
        }
    };
    let block = |e: factory_gate::GateError| {
        CliError::Config(miette::miette!("the gate cannot decide, so it blocks: {e}"))
    };
    let notes = Notes::current(&repo).map_err(block)?;
    let bar = progress_bar();
    let tick = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let decision: Decision = factory_gate::decide_under(
        &repo,
        governance,
        base,
        tip,
        &notes,
        &Options {
            cache: !args.no_cache,
            progress: Some(&tick),
            // A range already on the default branch is landed history, judged at signing time;
            // anything else is a decision made now.
            now: (repo.merge_base_with_default(tip) != Some(tip)).then(factory_gate::now),
        },
    )
    .map_err(block)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let proposed = match &args.policy {
        Some(file) => {
            let path = env.cwd.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
            let policy = factory_policy::Policy::parse(&file.display().to_string(), &text)?;
            Some((
                file.display().to_string(),
                factory_gate::decide_proposed(&repo, base, tip, &notes, &policy).map_err(block)?,
            ))
        }
        None => None,
    };
    match args.format {
        Format::Json => {
            let text = match &proposed {
                None => serde_json::to_string_pretty(&decision),
                Some((file, p)) => serde_json::to_string_pretty(&serde_json::json!({
                    "current": decision,
                    "proposed": { "policy": file, "decision": p },
                })),
            }
            .map_err(|e| CliError::internal(e.to_string()))?;
            env.ui.outln(&text)?;
        }
        Format::Sarif => {
            let text = serde_json::to_string_pretty(&sarif(&decision))
                .map_err(|e| CliError::internal(e.to_string()))?;
            env.ui.outln(&text)?;
        }
        Format::Junit => env.ui.out(&junit(&decision))?,
        Format::Markdown => env.ui.out(&markdown(&decision))?,
        Format::Human => {
            for c in &decision.commits {
                env.ui.outln(&format!(
                    "{} {:9} {:5} signature {:11} transcript {:3}  {}",
                    &c.commit[..12],
                    c.tier,
                    c.origin,
                    c.signature,
                    if c.transcript { "yes" } else { "no" },
                    super::plain(&c.summary)
                ))?;
            }
            for s in &decision.evaluation.statements {
                env.ui.outln(&format!(
                    "statement by {} as {}: {}",
                    super::plain(&s.approver),
                    super::plain(&s.role),
                    super::plain(&s.reason)
                ))?;
            }
            if decision.passes() {
                env.ui.outln(&format!(
                    "pass: {}..{} ({})",
                    &decision.base[..12],
                    &decision.tip[..12],
                    decision.tier
                ))?;
            } else {
                env.ui.outln(&format!(
                    "blocked: {}..{} ({})",
                    &decision.base[..12],
                    &decision.tip[..12],
                    decision.tier
                ))?;
                for r in &decision.reasons {
                    env.ui
                        .outln(&format!("  - {}", super::plain(&r.to_string())))?;
                }
            }
            for o in &decision.evaluation.overrides {
                env.ui.outln(&format!(
                    "override by {} at {}: {}",
                    o.person, o.time, o.reason
                ))?;
            }
            for w in &decision.waived {
                env.ui.outln(&format!("  waived: {w}"))?;
            }
            for p in &decision.note_problems {
                env.ui.outln(&format!("  note: {}", super::plain(p)))?;
            }
            if let Some((file, p)) = &proposed {
                env.ui.outln(&format!(
                    "with the proposed policy {file}: {} ({})",
                    if p.passes() { "pass" } else { "blocked" },
                    p.tier
                ))?;
                for r in &p.reasons {
                    env.ui.outln(&format!("  - {r}"))?;
                }
            }
        }
    }
    env.ui.flush()?;
    Ok(if decision.passes() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A progress bar on stderr, on a terminal only.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("auditing {bar:40} {pos}/{len} commits ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// The commit a reason is about, if any.
fn reason_commit(r: &Reason) -> Option<&str> {
    match r {
        Reason::Unmet { commit, .. }
        | Reason::MissingTranscript { commit }
        | Reason::UnsignedHumanCommit { commit, .. } => Some(commit),
        _ => None,
    }
}

fn reason_rule(r: &Reason) -> &'static str {
    match r {
        Reason::Unmet { .. } => "factory.unmet-requirement",
        Reason::Rejected { .. } => "factory.rejected",
        Reason::MissingTranscript { .. } => "factory.missing-transcript",
        Reason::UnsignedHumanCommit { .. } => "factory.unsigned-human-commit",
        Reason::Refused { .. } => "factory.refused",
        Reason::Error { .. } => "factory.error",
    }
}

/// SARIF 2.1.0. A reason about a commit becomes one result per piece of evidence that gave the
/// commit its tier, at that file and line, with the policy rule as the rule id; other reasons
/// become one result without a location. Reasons waived by an override are suppressed, with
/// the override's reason as the justification.
fn sarif(d: &Decision) -> serde_json::Value {
    use serde_json::json;
    let mut results = Vec::new();
    let mut rules: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let justification = d
        .evaluation
        .overrides
        .iter()
        .map(|o| format!("override by {}: {}", o.person, o.reason))
        .collect::<Vec<_>>()
        .join("; ");
    let listed = d
        .reasons
        .iter()
        .map(|r| (r, false))
        .chain(d.waived.iter().map(|r| (r, true)));
    for (reason, waived) in listed {
        let commit = reason_commit(reason).and_then(|id| d.commits.iter().find(|c| c.commit == id));
        let evidence: Vec<_> = commit
            .map(|c| {
                c.evidence
                    .iter()
                    .filter(|e| e.tier == c.tier && e.path.is_some())
                    .collect()
            })
            .unwrap_or_default();
        let mut emit = |rule: String, locations: Vec<serde_json::Value>, extra: String| {
            rules.insert(rule.clone());
            let mut result = json!({
                "ruleId": rule,
                "level": "error",
                "message": { "text": format!("{reason}{extra}") },
                "locations": locations,
                "properties": { "gateRule": reason_rule(reason), "commit": commit.map(|c| c.commit.clone()) },
            });
            if waived {
                result["suppressions"] =
                    json!([{ "kind": "external", "justification": justification }]);
            }
            results.push(result);
        };
        if evidence.is_empty() {
            emit(reason_rule(reason).to_owned(), Vec::new(), String::new());
        }
        for e in evidence {
            let mut physical = json!({
                "artifactLocation": { "uri": e.path.clone().unwrap_or_default() },
            });
            if let Some(line) = e.line.filter(|l| *l > 0) {
                physical["region"] = json!({ "startLine": line });
            }
            let extra = match &e.text {
                Some(t) => format!(" (rule {} matched `{t}`)", e.rule),
                None => format!(" (rule {})", e.rule),
            };
            emit(
                e.rule.clone(),
                vec![json!({ "physicalLocation": physical })],
                extra,
            );
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "factory",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|id| json!({ "id": id, "name": id })).collect::<Vec<_>>(),
            }},
            "properties": { "decision": d.decision, "base": d.base, "tip": d.tip, "tier": d.tier },
            "results": results,
        }],
    })
}

use factory_report::escape::escape_markup as xml;

/// JUnit XML: a test case per commit (failing with the reasons about it) and one for the
/// range's approvals (failing with the other reasons).
fn junit(d: &Decision) -> String {
    let mut cases = String::new();
    let mut failures = 0;
    let mut case = |name: &str, class: &str, reasons: Vec<String>| {
        cases.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"{}\">\n",
            xml(name),
            xml(class)
        ));
        if !reasons.is_empty() {
            failures += 1;
            cases.push_str(&format!(
                "      <failure message=\"{}\">{}</failure>\n",
                xml(&reasons[0]),
                xml(&reasons.join("\n"))
            ));
        }
        cases.push_str("    </testcase>\n");
    };
    for c in &d.commits {
        let reasons = d
            .reasons
            .iter()
            .filter(|r| reason_commit(r) == Some(c.commit.as_str()))
            .map(ToString::to_string)
            .collect();
        case(
            &format!("{} {}", &c.commit[..12], c.summary),
            &format!("factory.{}", c.tier),
            reasons,
        );
    }
    let range_reasons = d
        .reasons
        .iter()
        .filter(|r| reason_commit(r).is_none())
        .map(ToString::to_string)
        .collect();
    case(
        &format!("approvals of {}..{}", &d.base[..12], &d.tip[..12]),
        "factory.range",
        range_reasons,
    );
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"factory audit\" tests=\"{tests}\" failures=\"{failures}\">\n  <testsuite name=\"factory audit {}..{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n{cases}  </testsuite>\n</testsuites>\n",
        &d.base[..12],
        &d.tip[..12],
        tests = d.commits.len() + 1,
    )
}

use factory_report::escape::escape_markdown as md;

/// Markdown for a CI job summary.
fn markdown(d: &Decision) -> String {
    let mut out = format!(
        "## factory audit: {}\n\n`{}..{}`, tier **{}**, {} commit(s).\n\n",
        if d.passes() { "pass" } else { "blocked" },
        &d.base[..12],
        &d.tip[..12],
        d.tier,
        d.commits.len()
    );
    if !d.reasons.is_empty() {
        out.push_str("### What blocks\n\n");
        for r in &d.reasons {
            out.push_str(&format!("- {}\n", md(&r.to_string())));
        }
        out.push('\n');
    }
    if !d.evaluation.overrides.is_empty() {
        out.push_str("### Overrides\n\n");
        for o in &d.evaluation.overrides {
            out.push_str(&format!(
                "- **{}** at {}: {}\n",
                md(&o.person),
                o.time,
                md(&o.reason)
            ));
        }
        for w in &d.waived {
            out.push_str(&format!("- waived: {}\n", md(&w.to_string())));
        }
        out.push('\n');
    }
    out.push_str("| commit | tier | origin | signature | transcript | evidence | subject |\n|---|---|---|---|---|---|---|\n");
    for c in &d.commits {
        let evidence = c
            .evidence
            .iter()
            .filter(|e| e.tier == c.tier)
            .map(|e| match (&e.path, e.line) {
                (Some(p), Some(l)) => format!("{} at {}:{l}", e.rule, p),
                (Some(p), None) => format!("{} at {p}", e.rule),
                _ => e.rule.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            &c.commit[..12],
            c.tier,
            c.origin,
            c.signature,
            if c.transcript { "yes" } else { "no" },
            md(&evidence),
            md(&c.summary)
        ));
    }
    if !d.evaluation.statements.is_empty() {
        out.push_str("\n### Statements\n\n");
        for s in &d.evaluation.statements {
            out.push_str(&format!(
                "- {} {} as {}: {}\n",
                s.kind.as_str(),
                md(&s.approver),
                md(&s.role),
                md(&s.reason)
            ));
        }
    }
    out
}
