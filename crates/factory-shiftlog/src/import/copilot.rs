//! GitHub Copilot CLI sessions. The events JSONL has `{type, data, id, timestamp, parentId}`
//! lines: `session.start` (id, version, cwd, branch), `session.model_change`,
//! `system.message`, `user.message`, `assistant.message` (with `toolRequests`),
//! `tool.execution_complete` (results, paired by `toolCallId`) and `session.shutdown` (token
//! usage per model). The legacy JSON is one object whose `timeline` lists `user`, `copilot`,
//! `info` and `tool_call_completed` items.

use std::collections::HashMap;

use serde_json::Value;

use super::{Imported, JsonLines, add_tokens, output_summary, s, text_of};
use crate::schema::{Edit, Message, Role, ToolCall, Transcript, Usage};

const VERSION: u32 = 1;

/// The file a tool call edits, if it edits one.
fn edit_of(name: &str, args: &Value) -> Option<Edit> {
    let edits = match name {
        "edit" | "create" | "write" => true,
        "str_replace_editor" => matches!(
            s(args, "command"),
            Some("str_replace" | "create" | "insert")
        ),
        _ => false,
    };
    edits.then(|| Edit {
        path: s(args, "path").unwrap_or("").to_owned(),
        patch: None,
    })
}

pub(crate) fn import_jsonl(lines: JsonLines<'_>) -> Imported {
    let mut t = Transcript::new("copilot-cli", "copilot", VERSION);
    let mut model: Option<String> = None;
    let mut calls: HashMap<String, (usize, usize)> = HashMap::new();
    for (line_no, v) in lines {
        let data = v.get("data").unwrap_or(&Value::Null);
        let stamp = s(&v, "timestamp").map(str::to_owned);
        let kind = s(&v, "type").unwrap_or("");
        match kind {
            "session.start" => {
                t.session_id = s(data, "sessionId").unwrap_or("").to_owned();
                t.agent.version = s(data, "copilotVersion").map(str::to_owned);
                t.started_at = s(data, "startTime").map(str::to_owned);
                if let Some(ctx) = data.get("context") {
                    t.cwd = s(ctx, "cwd").map(str::to_owned);
                    t.branch = s(ctx, "branch").map(str::to_owned);
                }
            }
            "session.model_change" => {
                if let Some(m) = s(data, "newModel") {
                    t.note_model(m);
                    model = Some(m.to_owned());
                }
            }
            "system.message" | "user.message" | "assistant.message" => {
                let role = match kind {
                    "system.message" => Role::System,
                    "user.message" => Role::User,
                    _ => Role::Assistant,
                };
                let mut m =
                    Message::new(role, text_of(data.get("content").unwrap_or(&Value::Null)));
                m.timestamp = stamp;
                if role == Role::Assistant {
                    m.model = model.clone();
                    // The model's reasoning, when it showed it.
                    m.thinking = s(data, "reasoningText")
                        .filter(|r| !r.trim().is_empty())
                        .map(str::to_owned);
                }
                for req in data
                    .get("toolRequests")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name = s(req, "name").unwrap_or("").to_owned();
                    let args = req.get("arguments").cloned().unwrap_or(Value::Null);
                    m.edits.extend(edit_of(&name, &args));
                    let id = s(req, "toolCallId").map(str::to_owned);
                    if let Some(id) = &id {
                        calls.insert(id.clone(), (t.messages.len(), m.tool_calls.len()));
                    }
                    m.tool_calls.push(ToolCall {
                        id,
                        name,
                        input: args,
                        output: None,
                        is_error: false,
                    });
                }
                t.messages.push(m);
            }
            "tool.execution_start" => {
                // Calls the assistant did not request itself (a sub-agent's) appear only here.
                let id = s(data, "toolCallId").unwrap_or("").to_owned();
                if !calls.contains_key(&id) {
                    let name = s(data, "toolName").unwrap_or("").to_owned();
                    let args = data.get("arguments").cloned().unwrap_or(Value::Null);
                    let mut m = Message::new(Role::Assistant, "");
                    m.timestamp = stamp;
                    m.model = model.clone();
                    m.edits.extend(edit_of(&name, &args));
                    calls.insert(id.clone(), (t.messages.len(), 0));
                    m.tool_calls.push(ToolCall {
                        id: Some(id),
                        name,
                        input: args,
                        output: None,
                        is_error: false,
                    });
                    t.messages.push(m);
                }
            }
            "tool.execution_complete" => {
                let id = s(data, "toolCallId").unwrap_or("");
                // A result whose call is not in the file answers nothing here.
                let Some(call) = calls
                    .get(id)
                    .and_then(|&(mi, ci)| t.messages.get_mut(mi)?.tool_calls.get_mut(ci))
                else {
                    let _ = line_no;
                    continue;
                };
                // A failed call reports its `error`, not a `result`.
                let result = data
                    .get("result")
                    .filter(|r| !r.is_null())
                    .or_else(|| data.get("error").map(|e| e.get("message").unwrap_or(e)))
                    .unwrap_or(&Value::Null);
                call.output = Some(output_summary(result.get("content").unwrap_or(result)));
                call.is_error = data.get("success").and_then(Value::as_bool) == Some(false);
            }
            "session.shutdown" => {
                let mut u = Usage::default();
                for metrics in data
                    .get("modelMetrics")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|m| m.values())
                {
                    let usage = metrics.get("usage").unwrap_or(&Value::Null);
                    add_tokens(&mut u.input_tokens, usage, "inputTokens");
                    add_tokens(&mut u.output_tokens, usage, "outputTokens");
                    add_tokens(&mut u.cache_read_tokens, usage, "cacheReadTokens");
                    add_tokens(&mut u.cache_write_tokens, usage, "cacheWriteTokens");
                }
                t.usage = Some(u);
                t.ended_at = stamp;
            }
            _ => {}
        }
    }
    Ok(t)
}

pub(crate) fn import_json(text: &str) -> Imported {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| (Some(e.line()), format!("not JSON: {e}")))?;
    let mut t = Transcript::new("copilot-cli", "copilot-json", VERSION);
    t.session_id = s(&doc, "sessionId").unwrap_or("").to_owned();
    t.started_at = s(&doc, "startTime").map(str::to_owned);
    let items = doc
        .get("timeline")
        .or_else(|| doc.get("chatMessages"))
        .and_then(Value::as_array)
        .ok_or((None, "no `timeline` array".to_owned()))?;
    for item in items {
        let stamp = s(item, "timestamp").map(str::to_owned);
        let mut m = match s(item, "type").or_else(|| s(item, "role")).unwrap_or("") {
            "user" => Message::new(
                Role::User,
                s(item, "text").or_else(|| s(item, "content")).unwrap_or(""),
            ),
            "copilot" | "assistant" => Message::new(
                Role::Assistant,
                s(item, "text").or_else(|| s(item, "content")).unwrap_or(""),
            ),
            "tool_call_completed" => {
                let name = s(item, "name").unwrap_or("").to_owned();
                let args = item.get("arguments").cloned().unwrap_or(Value::Null);
                let mut m = Message::new(Role::Assistant, "");
                m.edits.extend(edit_of(&name, &args));
                let result = item.get("result").unwrap_or(&Value::Null);
                m.tool_calls.push(ToolCall {
                    id: s(item, "callId").map(str::to_owned),
                    name,
                    input: args,
                    output: (!result.is_null())
                        .then(|| output_summary(result.get("content").unwrap_or(result))),
                    is_error: s(item, "status").is_some_and(|st| st != "success"),
                });
                m
            }
            _ => Message::new(Role::System, s(item, "text").unwrap_or("")),
        };
        m.timestamp = stamp;
        t.messages.push(m);
    }
    Ok(t)
}
