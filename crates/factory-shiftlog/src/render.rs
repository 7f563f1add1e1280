//! Transcripts as people read them.

use std::fmt::Write as _;

use crate::schema::{Role, Transcript};

/// How much to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Turns with long texts cut, tool calls collapsed to one line each.
    Summary,
    /// Everything, including thinking, tool inputs and outputs, and patches.
    Full,
}

fn cut(text: &str, max: usize) -> String {
    crate::schema::summary(text.trim(), max)
}

/// Renders a transcript as text.
pub fn text(t: &Transcript, detail: Detail) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "session {} · {}{} · {} message(s), {} tool call(s), {} edit(s)",
        t.session_id,
        t.agent.name,
        t.agent
            .version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default(),
        t.messages.len(),
        t.tool_call_count(),
        t.edit_count()
    );
    if !t.models.is_empty() {
        let _ = writeln!(out, "models: {}", t.models.join(", "));
    }
    if let (Some(a), Some(b)) = (&t.started_at, &t.ended_at) {
        let _ = writeln!(out, "time: {a} → {b}");
    }
    if !t.redactions.is_empty() {
        let r: Vec<String> = t
            .redactions
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(out, "redacted: {}", r.join(", "));
    }
    for m in &t.messages {
        let who = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
            Role::Tool => "tool",
        };
        let _ = writeln!(
            out,
            "\n── {who}{}{}",
            m.timestamp
                .as_deref()
                .map(|s| format!(" · {s}"))
                .unwrap_or_default(),
            if m.sidechain { " · sub-agent" } else { "" }
        );
        if let (Detail::Full, Some(th)) = (detail, &m.thinking) {
            let _ = writeln!(out, "  (thinking) {}", th.trim().replace('\n', "\n  "));
        }
        if !m.text.trim().is_empty() {
            let body = match detail {
                Detail::Full => m.text.trim().to_owned(),
                Detail::Summary => cut(&m.text, 600),
            };
            let _ = writeln!(out, "  {}", body.replace('\n', "\n  "));
        }
        for call in &m.tool_calls {
            match detail {
                Detail::Summary => {
                    let input = cut(&call.input.to_string(), 100).replace('\n', " ");
                    let _ = writeln!(
                        out,
                        "  ▸ {}({input}){}",
                        call.name,
                        if call.is_error { " ✗" } else { "" }
                    );
                }
                Detail::Full => {
                    let _ = writeln!(out, "  ▸ {} {}", call.name, call.input);
                    if let Some(o) = &call.output {
                        let _ = writeln!(out, "    → {}", o.trim().replace('\n', "\n      "));
                    }
                }
            }
        }
        for e in &m.edits {
            let _ = writeln!(out, "  ✎ {}", e.path);
            if let (Detail::Full, Some(p)) = (detail, &e.patch) {
                let _ = writeln!(out, "    {}", p.trim_end().replace('\n', "\n    "));
            }
        }
    }
    out
}
