//! Cline's `api_conversation_history.json`: one JSON array of Anthropic Messages API turns
//! (`role` user or assistant; `content` a string or blocks `text`, `tool_use`, `tool_result`,
//! `image`). Cline wraps what it adds to a user turn in tags (`<environment_details>`,
//! `<task>`): the environment is context, the task is the user's.

use std::collections::HashMap;

use serde_json::Value;

use super::{Imported, output_summary, s, text_of};
use crate::schema::{Message, Role, ToolCall, Transcript};

const VERSION: u32 = 1;

/// `text` without the `<environment_details>…</environment_details>` Cline appends.
fn without_environment(text: &str) -> (String, bool) {
    let (open, close) = ("<environment_details>", "</environment_details>");
    match (text.find(open), text.find(close)) {
        (Some(a), Some(b)) if b > a => {
            let rest = format!("{}{}", &text[..a], &text[b + close.len()..]);
            (rest.trim().to_owned(), true)
        }
        _ => (text.to_owned(), false),
    }
}

pub(crate) fn import(text: &str) -> Imported {
    let mut t = Transcript::new("cline", "cline", VERSION);
    let turns: Vec<Value> = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| (None, format!("not a JSON array of messages: {e}")))?;
    let mut calls: HashMap<String, (usize, usize)> = HashMap::new();
    let mut usage: Option<crate::schema::Usage> = None;
    for turn in &turns {
        let role = match s(turn, "role") {
            Some("assistant") => Role::Assistant,
            Some("user") => Role::User,
            _ => continue,
        };
        let mut m = Message::new(role, "");
        // Newer Cline keeps the time (ms), the model and the request's tokens on each turn.
        m.timestamp = turn
            .get("ts")
            .and_then(Value::as_i64)
            .map(super::stream::rfc3339_millis);
        if role == Role::Assistant
            && let Some(model) = turn.get("modelInfo").and_then(|i| s(i, "modelId"))
        {
            m.model = Some(model.to_owned());
            t.note_model(model);
        }
        if let Some(tokens) = turn.get("metrics").and_then(|x| x.get("tokens")) {
            let n = |k: &str| tokens.get(k).and_then(Value::as_u64).unwrap_or(0);
            let u = usage.get_or_insert_with(crate::schema::Usage::default);
            u.input_tokens += n("prompt");
            u.output_tokens += n("completion");
            u.cache_read_tokens += n("cached");
        }
        let mut texts = Vec::new();
        let mut context = false;
        let mut notices: Vec<String> = Vec::new();
        let mut said = false;
        let mut only_results = true;
        match turn.get("content").unwrap_or(&Value::Null) {
            Value::Array(blocks) => {
                for b in blocks {
                    match s(b, "type").unwrap_or("") {
                        "text" => {
                            let (kept, env) = without_environment(s(b, "text").unwrap_or(""));
                            context |= env;
                            // Cline returns a tool's result as text: `[tool for 'path'] Result:`.
                            let first = kept.trim_start().lines().next().unwrap_or("");
                            if role == Role::User && is_tool_result(&kept) {
                                let open = t
                                    .messages
                                    .iter_mut()
                                    .rev()
                                    .find(|x| x.role == Role::Assistant)
                                    .and_then(|x| {
                                        x.tool_calls.iter_mut().find(|c| c.output.is_none())
                                    });
                                if let Some(call) = open {
                                    call.output = Some(output_summary(&Value::String(kept)));
                                    continue;
                                }
                            }
                            only_results = false;
                            // Cline's own notices are context, not the user's words.
                            if role == Role::User
                                && [
                                    "[TASK RESUMPTION]",
                                    "[ERROR]",
                                    "[Response interrupted",
                                    "# TODO LIST UPDATE REQUIRED",
                                    "# task_progress",
                                    "(The user did not provide a new message",
                                ]
                                .iter()
                                .any(|p| first.starts_with(p))
                            {
                                // Kept apart, before the turn, so that the user's words stay
                                // the user's.
                                notices.push(kept.trim().to_owned());
                                continue;
                            } else if role == Role::User && !kept.is_empty() {
                                said = true;
                            }
                            if !kept.is_empty() {
                                texts.push(kept);
                            }
                        }
                        "image" => {
                            only_results = false;
                            texts.push("[image]".to_owned());
                        }
                        "tool_use" => {
                            only_results = false;
                            let id = s(b, "id").map(str::to_owned);
                            let name = s(b, "name").unwrap_or("");
                            if matches!(
                                name,
                                "write_to_file"
                                    | "replace_in_file"
                                    | "apply_diff"
                                    | "insert_content"
                            ) && let Some(path) = b
                                .get("input")
                                .and_then(|i| s(i, "path").or_else(|| s(i, "absolutePath")))
                            {
                                m.edits.push(crate::schema::Edit {
                                    path: path.to_owned(),
                                    patch: None,
                                });
                            }
                            if let Some(id) = &id {
                                calls.insert(id.clone(), (t.messages.len(), m.tool_calls.len()));
                            }
                            m.tool_calls.push(ToolCall {
                                id,
                                name: s(b, "name").unwrap_or("").to_owned(),
                                input: b.get("input").cloned().unwrap_or(Value::Null),
                                output: None,
                                is_error: false,
                            });
                        }
                        "tool_result" => {
                            if let Some(&(mi, ci)) =
                                s(b, "tool_use_id").and_then(|id| calls.get(id))
                                && let Some(msg) = t.messages.get_mut(mi)
                            {
                                msg.tool_calls[ci].output =
                                    Some(output_summary(b.get("content").unwrap_or(&Value::Null)));
                                msg.tool_calls[ci].is_error =
                                    b.get("is_error").and_then(Value::as_bool) == Some(true);
                            } else {
                                // Cline often answers its own XML tool calls in text.
                                only_results = false;
                                texts.push(text_of(b.get("content").unwrap_or(&Value::Null)));
                            }
                        }
                        _ => only_results = false,
                    }
                }
            }
            other => {
                only_results = false;
                let (kept, env) = without_environment(&text_of(other));
                context |= env;
                texts.push(kept);
            }
        }
        if !notices.is_empty() {
            let mut n = Message::new(Role::System, notices.join("\n"));
            n.timestamp = m.timestamp.clone();
            t.messages.push(n);
        }
        if only_results && m.tool_calls.is_empty() {
            continue;
        }
        m.text = texts.join("\n");
        // A user turn that only carries the environment, or Cline's notices, is context.
        if role == Role::User && context && !said && m.text.trim().is_empty() {
            m.role = Role::System;
        }
        if m.text.trim().is_empty() && m.tool_calls.is_empty() {
            continue;
        }
        t.messages.push(m);
    }
    t.usage = usage;
    Ok(t)
}

/// Whether a user text is Cline's report of a tool's result: `[read_file for 'a.rs'] Result:`,
/// `[subagents] Result:`, `[ask_followup_question for 'a question
/// over lines'] Result:`.
fn is_tool_result(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('[') else {
        return false;
    };
    let name_end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    if name_end == 0 {
        return false;
    }
    let after = &rest[name_end..];
    after.starts_with("] Result:") || (after.starts_with(" for ") && after.contains("] Result:"))
}

/// Cline's `ui_messages.json` (a JSON array) or the `cline task --json` events (JSON lines):
/// `say` and `ask` items with `ts` (milliseconds), `text`, and `modelInfo`. `task` and
/// `user_feedback` are the user's; `text`, `completion_result` and `followup` questions the
/// assistant's; `reasoning` its thinking; `tool` (a JSON description: tool, path, content or
/// diff) and `command` items are tool calls, `command_output` a command's output;
/// `api_req_started` carries the request's token counts; partial items are pieces of a later
/// whole one.
pub(crate) fn import_ui(text: &str) -> Imported {
    let mut t = Transcript::new("cline", "cline", VERSION);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    let items: Vec<Value> = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed)
            .map_err(|e| (Some(e.line()), format!("not a JSON array of messages: {e}")))?
    } else {
        let skipped = std::rc::Rc::new(std::cell::Cell::new(0));
        let lines = super::JsonLines::new(
            Box::new(std::io::Cursor::new(text.as_bytes())),
            skipped.clone(),
        );
        let items = lines.map(|(_, v)| v).collect();
        t.source.skipped_lines = skipped.get();
        items
    };
    let mut usage = crate::schema::Usage::default();
    let mut counted = false;
    let mut finished_usage = crate::schema::Usage::default();
    let mut thinking: Option<String> = None;
    let mut last_command: Option<(usize, usize)> = None;
    // The command's output as it came (at most what is kept), and its whole length.
    let mut command_output = (String::new(), 0usize);
    let mut requested = false;
    for item in &items {
        if s(item, "type") == Some("task_started") {
            t.session_id = s(item, "taskId").unwrap_or("").to_owned();
            continue;
        }
        if item.get("partial").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let kind = s(item, "say").or_else(|| s(item, "ask")).unwrap_or("");
        let body = s(item, "text").unwrap_or("");
        let ts = item
            .get("ts")
            .and_then(Value::as_i64)
            .map(super::stream::rfc3339_millis);
        if let Some(model) = item.get("modelInfo").and_then(|m| s(m, "modelId")) {
            t.note_model(model);
        }
        let mut push = |t: &mut Transcript, role: Role, text: &str| {
            let mut m = Message::new(role, text);
            m.timestamp = ts.clone();
            if role == Role::Assistant {
                m.thinking = thinking.take();
            }
            t.messages.push(m);
        };
        match kind {
            "task" | "user_feedback" => push(&mut t, Role::User, body),
            // Some versions show the task as a `text` item before the first request.
            "text" if !requested && !body.trim().is_empty() => push(&mut t, Role::User, body),
            "text" | "completion_result" if !body.trim().is_empty() => {
                push(&mut t, Role::Assistant, body);
            }
            "plan_mode_respond" => {
                let response = serde_json::from_str::<Value>(body)
                    .ok()
                    .and_then(|v| s(&v, "response").map(str::to_owned))
                    .unwrap_or_else(|| body.to_owned());
                if !response.trim().is_empty() {
                    push(&mut t, Role::Assistant, &response);
                }
            }
            "mcp_server_response" => {
                if let Some((mi, ci)) = last_command
                    && let Some(c) = t
                        .messages
                        .get_mut(mi)
                        .and_then(|m| m.tool_calls.get_mut(ci))
                {
                    c.output = Some(output_summary(&Value::String(body.to_owned())));
                }
            }
            "followup" => {
                let question = serde_json::from_str::<Value>(body)
                    .ok()
                    .and_then(|v| s(&v, "question").map(str::to_owned))
                    .unwrap_or_else(|| body.to_owned());
                push(&mut t, Role::Assistant, &question);
            }
            "reasoning" => {
                let th = thinking.get_or_insert_with(String::new);
                if !th.is_empty() {
                    th.push('\n');
                }
                th.push_str(body);
            }
            // `error_retry` only counts attempts; the error itself is its own item.
            "error" | "diff_error" => push(&mut t, Role::System, body),
            "tool" | "command" | "use_mcp_server" => {
                if t.messages.last().is_none_or(|m| m.role != Role::Assistant) {
                    push(&mut t, Role::Assistant, "");
                }
                let mi = t.messages.len() - 1;
                let m = &mut t.messages[mi];
                let (name, input) = if kind == "command" {
                    (
                        "execute_command".to_owned(),
                        serde_json::json!({ "command": body }),
                    )
                } else if kind == "use_mcp_server" {
                    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                    let name = match (s(&v, "serverName"), s(&v, "toolName")) {
                        (Some(server), Some(tool)) => format!("mcp:{server}/{tool}"),
                        (Some(server), None) => format!("mcp:{server}"),
                        _ => "use_mcp_server".to_owned(),
                    };
                    (name, v)
                } else {
                    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                    (s(&v, "tool").unwrap_or("tool").to_owned(), v)
                };
                if matches!(name.as_str(), "editedExistingFile" | "newFileCreated")
                    && let Some(path) = s(&input, "path")
                {
                    m.edits.push(crate::schema::Edit {
                        path: path.to_owned(),
                        patch: s(&input, "diff").map(str::to_owned),
                    });
                }
                if kind == "command" || kind == "use_mcp_server" {
                    last_command = Some((mi, m.tool_calls.len()));
                    command_output = (String::new(), 0);
                }
                m.tool_calls.push(ToolCall {
                    id: None,
                    name,
                    input,
                    output: None,
                    is_error: false,
                });
            }
            "command_output" => {
                if let Some((mi, ci)) = last_command
                    && let Some(c) = t
                        .messages
                        .get_mut(mi)
                        .and_then(|m| m.tool_calls.get_mut(ci))
                {
                    // Pieces of one output: the kept start and the true length of the whole.
                    let (kept, total) = &mut command_output;
                    *total += body.len();
                    if kept.len() <= crate::schema::OUTPUT_SUMMARY_BYTES {
                        kept.push_str(body);
                    }
                    let mut end = kept.len().min(crate::schema::OUTPUT_SUMMARY_BYTES);
                    while !kept.is_char_boundary(end) {
                        end -= 1;
                    }
                    c.output = Some(if *total > end {
                        format!("{}… [{} more bytes]", &kept[..end], *total - end)
                    } else {
                        kept.clone()
                    });
                }
            }
            "api_req_started" | "api_req_finished" => {
                requested = true;
                let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
                if v.get("tokensIn").is_none() && v.get("tokensOut").is_none() {
                    continue;
                }
                let target = if kind == "api_req_started" {
                    counted = true;
                    &mut usage
                } else {
                    &mut finished_usage
                };
                target.input_tokens += n("tokensIn");
                target.output_tokens += n("tokensOut");
                target.cache_read_tokens += n("cacheReads");
                target.cache_write_tokens += n("cacheWrites");
            }
            _ => {}
        }
    }
    // Token counts are on the started requests (Cline fills them in when the reply is done);
    // older tasks kept them on `api_req_finished` items.
    let usage = if counted { usage } else { finished_usage };
    if usage != crate::schema::Usage::default() {
        t.usage = Some(usage);
    }
    Ok(t)
}
