//! One gate decision (an audit of a range) rendered for the tools CI feeds: SARIF 2.1.0 for code
//! scanning, JUnit XML for test dashboards, and Markdown for a job summary. Untrusted text is
//! escaped for each.

use factory_gate::{Decision, Reason};

use crate::escape::{escape_markdown as md, escape_markup as xml};

/// The commit a reason is about, if any.
pub fn reason_commit(r: &Reason) -> Option<&str> {
    match r {
        Reason::Unmet { commit, .. }
        | Reason::MissingTranscript { commit }
        | Reason::TranscriptMismatch { commit, .. }
        | Reason::UnverifiedAgent { commit, .. }
        | Reason::UnsignedHumanCommit { commit, .. } => Some(commit),
        _ => None,
    }
}

/// The gate rule a reason falls under (`factory.unmet-requirement`, …), as SARIF names it.
pub fn reason_rule(r: &Reason) -> &'static str {
    match r {
        Reason::Unmet { .. } => "factory.unmet-requirement",
        Reason::Rejected { .. } => "factory.rejected",
        Reason::MissingTranscript { .. } => "factory.missing-transcript",
        Reason::TranscriptMismatch { .. } => "factory.transcript-mismatch",
        Reason::UnverifiedAgent { .. } => "factory.unverified-agent",
        Reason::UnsignedHumanCommit { .. } => "factory.unsigned-human-commit",
        Reason::Refused { .. } => "factory.refused",
        Reason::Error { .. } => "factory.error",
    }
}

/// SARIF 2.1.0. A reason about a commit becomes one result per piece of evidence that gave the
/// commit its tier, at that file and line, with the policy rule as the rule id; other reasons
/// become one result without a location. Reasons waived by an override are suppressed, with
/// the override's reason as the justification.
pub fn sarif(d: &Decision) -> serde_json::Value {
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

/// JUnit XML: a test case per commit (failing with the reasons about it) and one for the
/// range's approvals (failing with the other reasons).
pub fn junit(d: &Decision) -> String {
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

/// Markdown for a CI job summary.
pub fn markdown(d: &Decision) -> String {
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

/// SARIF of several decisions (the landings of a history): one run, every decision's results.
pub fn sarif_all(decisions: &[Decision]) -> serde_json::Value {
    let mut all = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "factory", "version": env!("CARGO_PKG_VERSION"), "rules": [] } },
            "results": [],
        }],
    });
    let mut rules: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut results = Vec::new();
    for d in decisions {
        let one = sarif(d);
        let run = &one["runs"][0];
        if let Some(r) = run["results"].as_array() {
            results.extend(r.iter().cloned());
        }
        for rule in run["tool"]["driver"]["rules"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(id) = rule["id"].as_str() {
                rules.insert(id.to_owned());
            }
        }
    }
    all["runs"][0]["results"] = serde_json::Value::Array(results);
    all["runs"][0]["tool"]["driver"]["rules"] = rules
        .iter()
        .map(|id| serde_json::json!({ "id": id, "name": id }))
        .collect();
    all
}

/// JUnit XML of several decisions: a test case per landing, failing with its reasons.
pub fn junit_all(decisions: &[Decision]) -> String {
    let mut cases = String::new();
    let mut failures = 0;
    for d in decisions {
        let summary = tip_summary(d);
        cases.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"factory.{}\">\n",
            xml(&format!("{}..{} {summary}", &d.base[..12], &d.tip[..12])),
            xml(&d.tier)
        ));
        if !d.passes() {
            failures += 1;
            let reasons: Vec<String> = d.reasons.iter().map(ToString::to_string).collect();
            cases.push_str(&format!(
                "      <failure message=\"{}\">{}</failure>\n",
                xml(reasons.first().map_or("blocked", String::as_str)),
                xml(&reasons.join("\n"))
            ));
        }
        cases.push_str("    </testcase>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"factory audit\" tests=\"{tests}\" failures=\"{failures}\">\n  <testsuite name=\"factory audit: landings\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n{cases}  </testsuite>\n</testsuites>\n",
        tests = decisions.len(),
    )
}

/// Markdown of several decisions: one table row per landing, then what blocks each blocked one.
pub fn markdown_all(decisions: &[Decision]) -> String {
    let blocked = decisions.iter().filter(|d| !d.passes()).count();
    let mut out = format!(
        "## factory audit: {}\n\n{} landing(s), {blocked} blocked.\n\n| landing | decision | tier | subject |\n|---|---|---|---|\n",
        if blocked == 0 { "pass" } else { "blocked" },
        decisions.len()
    );
    for d in decisions {
        let summary = tip_summary(d);
        out.push_str(&format!(
            "| `{}..{}` | {} | {} | {} |\n",
            &d.base[..12],
            &d.tip[..12],
            landing_verdict(d),
            d.tier,
            md(summary)
        ));
    }
    for d in decisions.iter().filter(|d| !d.passes()) {
        out.push_str(&format!("\n### `{}` blocks\n\n", &d.tip[..12]));
        for r in &d.reasons {
            out.push_str(&format!("- {}\n", md(&r.to_string())));
        }
    }
    out
}

/// How a landing was judged: `pass`, `override` (it passed on a break-glass override),
/// `ungoverned` (before factory was adopted) or `blocked`.
pub fn landing_verdict(d: &Decision) -> &'static str {
    if !d.governed {
        "ungoverned"
    } else if !d.passes() {
        "blocked"
    } else if !d.evaluation.overrides.is_empty() {
        "override"
    } else {
        "pass"
    }
}

/// The subject of a decision's tip (empty when the tip is not among its commits).
pub fn tip_summary(d: &Decision) -> &str {
    d.commits
        .iter()
        .find(|c| c.commit == d.tip)
        .map_or("", |c| c.summary.as_str())
}
