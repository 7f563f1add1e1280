//! Qwen Code session JSONL: Claude-style lines (`uuid`, `parentUuid`, `sessionId`, `type`
//! `user` / `assistant` / `tool_result` / `system`, `timestamp`, `cwd`, `version`) whose `message`
//! is Gemini-style content: `parts` of `text` (with `thought: true` for thinking),
//! `functionCall` and `functionResponse`. Usage is in `usageMetadata`.

use std::collections::HashMap;

use serde_json::Value;

use super::{Imported, JsonLines, output_summary, s};
use crate::schema::{Message, Role, ToolCall, Transcript, Usage};

const VERSION: u32 = 1;

pub(crate) fn import(lines: JsonLines<'_>) -> Imported {
    let mut t = Transcript::new("qwen-code", "qwen-code", VERSION);
    let mut usage: Option<Usage> = None;
    // functionCall id → (message index, tool call index)
    let mut calls: HashMap<String, (usize, usize)> = HashMap::new();
    for (_, v) in lines {
        let kind = s(&v, "type").unwrap_or("");
        if t.session_id.is_empty() {
            t.session_id = s(&v, "sessionId").unwrap_or("").to_owned();
        }
        if t.agent.version.is_none() {
            t.agent.version = s(&v, "version").map(str::to_owned);
        }
        if t.cwd.is_none() {
            t.cwd = s(&v, "cwd").map(str::to_owned);
        }
        if t.branch.is_none() {
            t.branch = s(&v, "gitBranch").map(str::to_owned);
        }
        if let Some(u) = v.get("usageMetadata") {
            let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
            let acc = usage.get_or_insert_with(Usage::default);
            acc.input_tokens += n("promptTokenCount").saturating_sub(n("cachedContentTokenCount"));
            // Whether `candidatesTokenCount` already holds the thoughts differs between
            // backends; the total never counts them twice: output = total − prompt.
            acc.output_tokens += match u.get("totalTokenCount").and_then(Value::as_u64) {
                Some(total) if total >= n("promptTokenCount") => total - n("promptTokenCount"),
                _ => n("candidatesTokenCount") + n("thoughtsTokenCount"),
            };
            acc.cache_read_tokens += n("cachedContentTokenCount");
        }
        let role = match kind {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "system" => Role::System,
            "tool_result" => Role::Tool,
            _ => continue,
        };
        let parts = v
            .get("message")
            .and_then(|m| m.get("parts"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut m = Message::new(role, "");
        m.timestamp = s(&v, "timestamp").map(str::to_owned);
        m.model = s(&v, "model").map(str::to_owned);
        if let Some(model) = &m.model {
            t.note_model(model);
        }
        let mut texts = Vec::new();
        let mut thinking = Vec::new();
        let mut answered = false;
        for p in &parts {
            if let Some(call) = p.get("functionCall") {
                let id = s(call, "id").map(str::to_owned);
                if let Some(id) = &id {
                    calls.insert(id.clone(), (t.messages.len(), m.tool_calls.len()));
                }
                m.tool_calls.push(ToolCall {
                    id,
                    name: s(call, "name").unwrap_or("").to_owned(),
                    input: call.get("args").cloned().unwrap_or(Value::Null),
                    output: None,
                    is_error: false,
                });
            } else if let Some(response) = p.get("functionResponse") {
                answered = true;
                if let Some(&(mi, ci)) = s(response, "id").and_then(|id| calls.get(id))
                    && let Some(msg) = t.messages.get_mut(mi)
                {
                    let out = response.get("response").unwrap_or(&Value::Null);
                    let out = out.get("output").unwrap_or(out);
                    msg.tool_calls[ci].output = Some(output_summary(out));
                    msg.tool_calls[ci].is_error = out.get("error").is_some();
                }
            } else if p.get("inlineData").is_some() || p.get("fileData").is_some() {
                texts.push("[image]".to_owned());
            } else if let Some(text) = s(p, "text") {
                if p.get("thought").and_then(Value::as_bool) == Some(true) {
                    thinking.push(text.to_owned());
                } else {
                    texts.push(text.to_owned());
                }
            }
        }
        if !thinking.is_empty() {
            m.thinking = Some(thinking.join("\n"));
        }
        m.text = texts.join("\n");
        // A line that only answers tool calls is folded into them.
        if answered && m.text.is_empty() && m.tool_calls.is_empty() {
            continue;
        }
        if m.text.is_empty() && m.tool_calls.is_empty() && m.thinking.is_none() {
            continue;
        }
        t.messages.push(m);
    }
    t.usage = usage;
    Ok(t)
}
