//! The report as one self-contained HTML page: no scripts, no external styles, fonts or
//! requests; charts are inline SVG with titles and descriptions, each followed by its figures
//! as a table; every finding links to its commit's entry, which lists the evidence.

use crate::{Report, short_id};

use crate::escape::escape_markup as esc;

/// A figure the page shows, marked so that it can be checked against the JSON report.
fn fig(name: &str, value: impl std::fmt::Display) -> String {
    format!("<span data-figure=\"{name}\">{value}</span>")
}

/// A horizontal bar chart.
fn bars(id: &str, title: &str, desc: &str, rows: &[(String, u64)]) -> String {
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let height = 28 * rows.len().max(1) + 10;
    let mut svg = format!(
        "<svg role=\"img\" aria-labelledby=\"{id}-t {id}-d\" viewBox=\"0 0 640 {height}\" width=\"640\" height=\"{height}\"><title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        esc(title),
        esc(desc)
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = 8 + i * 28;
        let w = (*value as f64 / max as f64 * 420.0).round() as u64;
        svg.push_str(&format!(
            "<text x=\"150\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text><rect x=\"160\" y=\"{y}\" width=\"{w}\" height=\"20\" class=\"bar b{}\"/><text x=\"{}\" y=\"{}\" class=\"value\">{value}</text>",
            y + 15,
            esc(label),
            i % 4,
            166 + w,
            y + 15
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Stacked columns per week (every week of the range, empty ones too): agent changes over all
/// changes, with a y axis, week labels spaced so that they never overlap, and a legend.
fn weeks_chart(report: &Report) -> String {
    let n = report.weeks.len().max(1);
    let max = report
        .weeks
        .iter()
        .map(|w| w.changes)
        .max()
        .unwrap_or(0)
        .max(1);
    let col = (640 / n).clamp(4, 48);
    let left = 40;
    let width = (left + col * n + 20).max(480);
    // A label is about 60 px wide at 12 px: one every `step` columns.
    let step = 72usize.div_ceil(col).max(1);
    let mut svg = format!(
        "<svg role=\"img\" aria-labelledby=\"share-t share-d\" viewBox=\"0 0 {width} 270\" width=\"{width}\" height=\"270\"><title id=\"share-t\">Agent share of changes per week</title><desc id=\"share-d\">For each ISO week, the changes landed (full column, grey) and those with agent commits (blue); {}% of all changes had agent commits.</desc>",
        report.metrics.agent_share_percent
    );
    // The y axis: 0 and the maximum.
    svg.push_str(&format!(
        "<line x1=\"{left}\" y1=\"20\" x2=\"{left}\" y2=\"200\" class=\"axis\"/><line x1=\"{left}\" y1=\"200\" x2=\"{}\" y2=\"200\" class=\"axis\"/><text x=\"{}\" y=\"24\" text-anchor=\"end\" class=\"value\">{max}</text><text x=\"{}\" y=\"204\" text-anchor=\"end\" class=\"value\">0</text>",
        left + col * n,
        left - 4,
        left - 4
    ));
    for (i, w) in report.weeks.iter().enumerate() {
        let x = left + 1 + i * col;
        let total_h = (w.changes as f64 / max as f64 * 180.0).round() as usize;
        let agent_h = (w.agent_changes as f64 / max as f64 * 180.0).round() as usize;
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{total_h}\" class=\"bar b3\"><title>{}: {} changes</title></rect><rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{agent_h}\" class=\"bar b0\"><title>{}: {} with agent commits</title></rect>",
            200 - total_h,
            col.saturating_sub(2).max(1),
            esc(&w.week),
            w.changes,
            200 - agent_h,
            col.saturating_sub(2).max(1),
            esc(&w.week),
            w.agent_changes
        ));
        if i % step == 0 {
            svg.push_str(&format!(
                "<text x=\"{x}\" y=\"218\" class=\"label week\">{}</text>",
                esc(&w.week)
            ));
        }
    }
    // The legend.
    svg.push_str(&format!(
        "<rect x=\"{left}\" y=\"240\" width=\"12\" height=\"12\" class=\"b3\"/><text x=\"{}\" y=\"251\" class=\"label\">all changes</text><rect x=\"{}\" y=\"240\" width=\"12\" height=\"12\" class=\"b0\"/><text x=\"{}\" y=\"251\" class=\"label\">changes with agent commits</text>",
        left + 16,
        left + 120,
        left + 136
    ));
    svg.push_str("</svg>");
    svg
}

fn table(head: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = String::from("<table><thead><tr>");
    for h in head {
        t.push_str(&format!("<th scope=\"col\">{}</th>", esc(h)));
    }
    t.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        t.push_str(&format!(
            "<tr><td colspan=\"{}\">none</td></tr>",
            head.len()
        ));
    }
    for r in rows {
        t.push_str("<tr>");
        for c in r {
            t.push_str(&format!("<td>{c}</td>"));
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
}

/// Who signed a hard-stop change off, what overrode it, or what it lacks.
pub(crate) fn signoff(x: &crate::HardStop) -> String {
    if !x.overridden_by.is_empty() {
        return format!("override by {}", x.overridden_by.join("; "));
    }
    if !x.missing.is_empty() {
        return format!("missing: {}", x.missing.join("; "));
    }
    if x.signed_by.is_empty() {
        return "—".to_owned();
    }
    x.signed_by
        .iter()
        .map(|(role, p)| format!("{role}: {}", p.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn link(commit: &str) -> String {
    format!(
        "<a href=\"#c-{commit}\"><code>{}</code></a>",
        short_id(commit)
    )
}

const STYLE: &str = "
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1000px;padding:0 1rem;color:#1b1f24}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.sub{color:#57606a}.kpis{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.kpi{border:1px solid #d0d7de;border-radius:8px;padding:.6rem .9rem;min-width:9rem}.kpi b{display:block;font-size:1.5rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{border-bottom:1px solid #eaeef2;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}code{font-size:.9em}.bad{color:#b42318}.ok{color:#1a7f37}
svg .label{font-size:12px;fill:#1b1f24}svg .value{font-size:12px;fill:#57606a}svg .axis{stroke:#8c959f;stroke-width:1}
td{overflow-wrap:anywhere}details>summary{cursor:pointer;margin:.6rem 0}
.b0{fill:#0969da}.b1{fill:#8250df}.b2{fill:#bf3989}.b3{fill:#afb8c1}
@media print{body{margin:0;max-width:none;font-size:11pt}a{color:inherit;text-decoration:none}h2{break-after:avoid}table,svg{break-inside:avoid}}
";

pub(crate) fn render(r: &Report) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    h.push_str(&format!(
        "<title>factory report {}..{}</title><style>{STYLE}</style></head><body>",
        short_id(&r.range.base),
        short_id(&r.range.tip)
    ));
    h.push_str(&format!(
        "<header><h1>Compliance report: {}</h1><p class=\"sub\">branch {} · <code>{}..{}</code>{}{} · policy {} · generated {}</p></header><main>",
        esc(&r.range.repository),
        esc(&r.range.branch),
        short_id(&r.range.base),
        short_id(&r.range.tip),
        r.range.since.as_deref().map(|s| format!(" · since {}", esc(s))).unwrap_or_default(),
        r.range.until.as_deref().map(|s| format!(" · until {}", esc(s))).unwrap_or_default(),
        if r.range.policy == "none" {
            "embedded default".to_owned()
        } else {
            format!("<code>{}</code>", short_id(&r.range.policy))
        },
        esc(&r.range.generated),
    ));
    let t = &r.totals;
    h.push_str(
        "<section aria-labelledby=\"summary\"><h2 id=\"summary\">Summary</h2><div class=\"kpis\">",
    );
    for (label, value) in [
        ("Changes", fig("changes", t.changes)),
        ("Commits", fig("commits", t.commits)),
        ("Agent commits", fig("agent_commits", t.agent_commits)),
        ("Human commits", fig("human_commits", t.human_commits)),
        (
            "Agent share of changes",
            format!(
                "{}%",
                fig("agent_share_percent", r.metrics.agent_share_percent)
            ),
        ),
        ("Blocked today", fig("blocked_changes", t.blocked_changes)),
        (
            "Transcript coverage",
            format!(
                "{}%",
                fig("coverage_percent", r.transcripts.coverage_percent)
            ),
        ),
        ("Valid approvals", fig("approvals", r.approvals.valid)),
    ] {
        h.push_str(&format!("<div class=\"kpi\">{label}<b>{value}</b></div>"));
    }
    h.push_str("</div>");
    h.push_str(&table(
        &["origin", "commits", "lines added", "lines removed"],
        vec![
            vec![
                "agent".into(),
                t.agent_commits.to_string(),
                fig("lines_added_agent", t.lines_added_agent),
                t.lines_removed_agent.to_string(),
            ],
            vec![
                "human".into(),
                t.human_commits.to_string(),
                fig("lines_added_human", t.lines_added_human),
                t.lines_removed_human.to_string(),
            ],
        ],
    ));
    h.push_str(&table(
        &["agent", "models", "commits", "lines added"],
        r.by_agent
            .iter()
            .map(|a| {
                vec![
                    esc(&a.agent),
                    esc(&a.models.join(", ")),
                    a.commits.to_string(),
                    a.lines_added.to_string(),
                ]
            })
            .collect(),
    ));
    h.push_str("</section>");

    // Tiers.
    let mut order = r.tier_order.clone();
    order.sort_by_key(|t| r.tiers.get(t).copied().unwrap_or(0) == 0);
    let tier_rows: Vec<(String, u64)> = r
        .tier_order
        .iter()
        .map(|t| (t.clone(), r.tiers.get(t).copied().unwrap_or(0)))
        .collect();
    h.push_str("<section aria-labelledby=\"tiers\"><h2 id=\"tiers\">Tier distribution</h2>");
    h.push_str(&bars(
        "tier",
        "Commits per tier",
        &format!(
            "Commits per tier: {}.",
            tier_rows
                .iter()
                .map(|(t, n)| format!("{t} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        &tier_rows,
    ));
    h.push_str(&table(
        &["tier", "commits"],
        tier_rows
            .iter()
            .map(|(t, n)| vec![esc(t), fig(&format!("tier_{t}"), n)])
            .collect(),
    ));
    h.push_str("</section>");

    h.push_str("<section aria-labelledby=\"share\"><h2 id=\"share\">Agent share over time</h2>");
    h.push_str(&weeks_chart(r));
    h.push_str("<details><summary>The figures per week</summary>");
    h.push_str(&table(
        &["week", "changes", "with agent commits"],
        r.weeks
            .iter()
            .map(|w| {
                vec![
                    esc(&w.week),
                    w.changes.to_string(),
                    w.agent_changes.to_string(),
                ]
            })
            .collect(),
    ));
    h.push_str("</details></section>");

    // Approvals.
    let a = &r.approvals;
    h.push_str("<section aria-labelledby=\"approvals\"><h2 id=\"approvals\">Approvals</h2>");
    h.push_str(&format!(
        "<p>{} valid approvals; time from commit to approval: median {} h, p90 {} h ({} measured). Sign-offs per change: {}.</p>",
        fig("approvals_valid", a.valid),
        fig("latency_median", a.latency_hours.median.map_or("–".into(), |v| v.to_string())),
        fig("latency_p90", a.latency_hours.p90.map_or("–".into(), |v| v.to_string())),
        a.latency_hours.count,
        fig("signoffs_per_change", r.metrics.signoffs_per_change),
    ));
    h.push_str(&bars(
        "latency",
        "Approval latency",
        &format!(
            "Approvals by time from commit to approval: {}.",
            a.latency_buckets
                .iter()
                .map(|(b, n)| format!("{b} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        &a.latency_buckets,
    ));
    h.push_str(&table(
        &["role", "approvals"],
        a.by_role
            .iter()
            .map(|(k, v)| vec![esc(k), v.to_string()])
            .collect(),
    ));
    h.push_str(&table(
        &["person", "approvals"],
        a.by_person
            .iter()
            .map(|(k, v)| vec![esc(k), v.to_string()])
            .collect(),
    ));
    h.push_str("</section>");

    h.push_str("<section aria-labelledby=\"hardstop\"><h2 id=\"hardstop\">Hard-stop changes</h2>");
    h.push_str(&table(
        &["change", "subject", "decision", "signed by"],
        r.hard_stop
            .iter()
            .map(|x| {
                vec![
                    link(&x.commit),
                    esc(&x.summary),
                    esc(&x.decision),
                    esc(&signoff(x)),
                ]
            })
            .collect(),
    ));
    h.push_str("</section>");

    h.push_str(&format!(
        "<section aria-labelledby=\"violations\"><h2 id=\"violations\">Violations ({})</h2>",
        fig("violations", r.violations.len())
    ));
    h.push_str(&table(
        &["kind", "commit", "subject", "detail"],
        r.violations
            .iter()
            .map(|v| {
                vec![
                    format!("<span class=\"bad\">{}</span>", v.kind),
                    link(&v.commit),
                    esc(&v.summary),
                    esc(&v.detail),
                ]
            })
            .collect(),
    ));
    h.push_str("</section>");

    h.push_str(&format!(
        "<section aria-labelledby=\"overrides\"><h2 id=\"overrides\">Overrides ({})</h2>",
        fig("overrides", r.overrides.len())
    ));
    h.push_str(&table(
        &["change", "by", "when", "reason"],
        r.overrides
            .iter()
            .map(|o| {
                vec![
                    link(&o.commit),
                    esc(&o.person),
                    esc(&o.time),
                    esc(&o.reason),
                ]
            })
            .collect(),
    ));
    h.push_str("</section>");

    h.push_str(&format!(
        "<section aria-labelledby=\"stamps\"><h2 id=\"stamps\">Validation stamps ({})</h2>",
        fig("stamps", r.stamps.len())
    ));
    if !r.stamps.is_empty() {
        // Mean score per dimension and agent: how each agent's work fares with the validators.
        let mut means: std::collections::BTreeMap<(String, String), (f64, u64)> =
            std::collections::BTreeMap::new();
        for st in &r.stamps {
            let e = means
                .entry((st.dimension.clone(), st.agent.clone()))
                .or_default();
            e.0 += st.score;
            e.1 += 1;
        }
        let rows: Vec<(String, u64)> = means
            .iter()
            .map(|((d, a), (sum, n))| {
                (
                    format!("{d} · {a}"),
                    (sum / *n as f64 * 100.0).round() as u64,
                )
            })
            .collect();
        h.push_str(&bars(
            "stampchart",
            "Mean stamp score (%) by dimension and agent",
            "For each stamp dimension and the agent that made the change, the mean score of the valid stamps in the range, in percent.",
            &rows,
        ));
    }
    h.push_str(&table(
        &[
            "change",
            "when",
            "dimension",
            "score",
            "validator",
            "agent",
            "models",
        ],
        r.stamps
            .iter()
            .map(|st| {
                vec![
                    link(&st.commit),
                    esc(&st.time),
                    esc(&st.dimension),
                    format!("{:.2}", st.score),
                    esc(&st.validator),
                    esc(&st.agent),
                    esc(&st.models.join(", ")),
                ]
            })
            .collect(),
    ));
    h.push_str("</section>");

    let tr = &r.transcripts;
    h.push_str("<section aria-labelledby=\"transcripts\"><h2 id=\"transcripts\">Transcripts and signatures</h2>");
    h.push_str(&format!(
        "<p>{} of {} agent commits carry a transcript ({}%).</p>",
        fig("with_transcript", tr.with_transcript),
        tr.agent_commits,
        tr.coverage_percent
    ));
    h.push_str(&table(
        &["redacted", "count"],
        tr.redactions
            .iter()
            .map(|(k, v)| vec![esc(k), v.to_string()])
            .collect(),
    ));
    h.push_str(&table(
        &["signature", "commits"],
        r.signatures
            .iter()
            .map(|(k, v)| vec![esc(k), fig(&format!("signature_{k}"), v)])
            .collect(),
    ));
    let m = &r.metrics;
    h.push_str(&table(
        &[
            "defect proxy (reverts and fix-ups)",
            "count",
            "per 100 commits",
        ],
        vec![
            vec![
                "aimed at agent commits".into(),
                m.reverts_of_agent_commits.to_string(),
                fig("agent_reverts_per_100", m.agent_reverts_per_100),
            ],
            vec![
                "aimed at human commits".into(),
                m.reverts_of_human_commits.to_string(),
                fig("human_reverts_per_100", m.human_reverts_per_100),
            ],
        ],
    ));
    h.push_str(&format!(
        "<p>Time from the first agent commit of a merged change to its merge: median {} h, p90 {} h ({} merges).</p>",
        m.agent_time_to_merge_hours.median.map_or("–".into(), |v| v.to_string()),
        m.agent_time_to_merge_hours.p90.map_or("–".into(), |v| v.to_string()),
        m.agent_time_to_merge_hours.count
    ));
    h.push_str("</section>");

    if let Some(d) = &r.dry_run {
        h.push_str("<section aria-labelledby=\"dryrun\"><h2 id=\"dryrun\">Dry run of a proposed policy</h2>");
        h.push_str(&format!(
            "<p>With <code>{}</code>: {} changes blocked, against {} with the current policy.</p>",
            esc(&d.policy),
            fig("blocked_proposed", d.blocked_proposed),
            fig("blocked_current", d.blocked_current)
        ));
        h.push_str(&table(
            &["would now be blocked", "subject"],
            d.newly_blocked
                .iter()
                .map(|(c, s)| vec![link(c), esc(s)])
                .collect(),
        ));
        h.push_str(&table(
            &["would now pass", "subject"],
            d.newly_passing
                .iter()
                .map(|(c, s)| vec![link(c), esc(s)])
                .collect(),
        ));
        h.push_str("</section>");
    }

    h.push_str(&format!(
        "<section aria-labelledby=\"commits\"><h2 id=\"commits\">Commits</h2><details{}><summary>{} commit(s)</summary>",
        if r.commits.len() <= 20 { " open" } else { "" },
        r.commits.len()
    ));
    h.push_str("<table><thead><tr><th scope=\"col\">commit</th><th scope=\"col\">subject</th><th scope=\"col\">origin</th><th scope=\"col\">tier</th><th scope=\"col\">signature</th><th scope=\"col\">transcript</th><th scope=\"col\">evidence</th></tr></thead><tbody>");
    for c in &r.commits {
        h.push_str(&format!(
            "<tr id=\"c-{}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.commit,
            short_id(&c.commit),
            esc(&c.summary),
            esc(&match &c.agent {
                Some(a) if c.agent_origin.is_empty() => format!("agent ({a})"),
                Some(a) => format!("agent ({a}, {})", c.agent_origin),
                None => c.origin.clone(),
            }),
            esc(&c.tier),
            esc(&c.signature),
            if c.transcript { "yes" } else { "no" },
            c.evidence
                .iter()
                .map(|(rule, at)| format!("{} <code>{}</code>", esc(rule), esc(at)))
                .collect::<Vec<_>>()
                .join("<br>")
        ));
    }
    h.push_str("</tbody></table></details></section>");
    h.push_str("</main><footer><p class=\"sub\">Generated by factory from the repository's history, policy, signatures and notes. Schema of the figures: factory.report/v1 (<code>factory report --format json</code>).</p></footer></body></html>\n");
    h
}
