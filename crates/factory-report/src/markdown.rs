//! The report in Markdown.

use crate::{Report, short_id};

use crate::escape::escape_markdown as cell;

pub(crate) fn render(r: &Report) -> String {
    let t = &r.totals;
    let mut m = format!(
        "# Compliance report: {}\n\nbranch {} `{}..{}` · policy {} · generated {}\n\n",
        cell(&r.range.repository),
        cell(&r.range.branch),
        short_id(&r.range.base),
        short_id(&r.range.tip),
        if r.range.policy == "none" {
            "embedded default".to_owned()
        } else {
            format!("`{}`", short_id(&r.range.policy))
        },
        cell(&r.range.generated)
    );
    m.push_str(&format!(
        "| changes | commits | agent commits | human commits | agent share | blocked today | transcript coverage | valid approvals |\n|---|---|---|---|---|---|---|---|\n| {} | {} | {} | {} | {}% | {} | {}% | {} |\n\n",
        t.changes, t.commits, t.agent_commits, t.human_commits, r.metrics.agent_share_percent,
        t.blocked_changes, r.transcripts.coverage_percent, r.approvals.valid
    ));
    m.push_str(&format!(
        "Lines added by agents {}, by people {}; removed {} and {}.\n\n",
        t.lines_added_agent, t.lines_added_human, t.lines_removed_agent, t.lines_removed_human
    ));
    m.push_str("## Tiers\n\n| tier | commits |\n|---|---|\n");
    for tier in &r.tier_order {
        m.push_str(&format!(
            "| {} | {} |\n",
            cell(tier),
            r.tiers.get(tier).copied().unwrap_or(0)
        ));
    }
    m.push_str("\n## Agents\n\n| agent | models | commits | lines added |\n|---|---|---|---|\n");
    for a in &r.by_agent {
        m.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            cell(&a.agent),
            cell(&a.models.join(", ")),
            a.commits,
            a.lines_added
        ));
    }
    let a = &r.approvals;
    m.push_str(&format!(
        "\n## Approvals\n\n{} valid; commit to approval: median {} h, p90 {} h. Sign-offs per change: {}.\n\n",
        a.valid,
        a.latency_hours.median.map_or("–".into(), |v| v.to_string()),
        a.latency_hours.p90.map_or("–".into(), |v| v.to_string()),
        r.metrics.signoffs_per_change
    ));
    for (role, n) in &a.by_role {
        m.push_str(&format!("- {}: {n}\n", cell(role)));
    }
    m.push_str("\n## Hard-stop changes\n\n");
    for h in &r.hard_stop {
        m.push_str(&format!(
            "- `{}` {} — {}; {}\n",
            short_id(&h.commit),
            cell(&h.summary),
            h.decision,
            cell(&crate::html::signoff(h))
        ));
    }
    m.push_str(&format!("\n## Violations ({})\n\n", r.violations.len()));
    for v in &r.violations {
        m.push_str(&format!(
            "- **{}** `{}` {}: {}\n",
            v.kind,
            short_id(&v.commit),
            cell(&v.summary),
            cell(&v.detail)
        ));
    }
    m.push_str(&format!("\n## Overrides ({})\n\n", r.overrides.len()));
    for o in &r.overrides {
        m.push_str(&format!(
            "- `{}` by {} at {}: {}\n",
            short_id(&o.commit),
            cell(&o.person),
            o.time,
            cell(&o.reason)
        ));
    }
    m.push_str("\n## Signatures\n\n");
    for (k, v) in &r.signatures {
        m.push_str(&format!("- {k}: {v}\n"));
    }
    if let Some(d) = &r.dry_run {
        m.push_str(&format!(
            "\n## Dry run: {}\n\n{} changes blocked with the proposed policy, {} with the current one.\n\n",
            cell(&d.policy), d.blocked_proposed, d.blocked_current
        ));
        for (c, s) in &d.newly_blocked {
            m.push_str(&format!(
                "- would now be blocked: `{}` {}\n",
                short_id(c),
                cell(s)
            ));
        }
        for (c, s) in &d.newly_passing {
            m.push_str(&format!(
                "- would now pass: `{}` {}\n",
                short_id(c),
                cell(s)
            ));
        }
    }
    m
}
