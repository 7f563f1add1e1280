//! Event streams of headless agent runs and their session files:
//!
//! - **Cursor CLI** (`cursor-agent -p --output-format stream-json`): `system`/`init` (cwd,
//!   session_id, model), `user` and `assistant` lines with Messages-API `content`, `thinking`
//!   deltas, `tool_call` `started`/`completed` pairs keyed by `call_id` whose `tool_call` holds
//!   one `<kind>ToolCall` with `args` and `result`, and a closing `result`.
//! - **Gemini CLI** (`gemini -p … --output-format stream-json`): `init` (session_id, model),
//!   `message` (role, content; assistant text comes in `delta` pieces), `tool_use` (tool_name,
//!   tool_id, parameters), `tool_result` (tool_id, status, output / error) and `result` with
//!   `stats` (tokens, per-model figures).
//! - **OpenCode** (`opencode run --format json` events: `{type, timestamp, sessionID, part}`;
//!   and `opencode export`: `{info, messages: [{info, parts}]}`): text, reasoning, tool parts
//!   with `state` (input, output, status) and `step-finish` parts with token counts.
//! - **Goose**: session JSONL (a metadata line with `working_dir` and token totals, then one
//!   message per line), `goose run --output-format stream-json` (`{type: message, message}`), and
//!   exported JSON (a list of messages, or an object with `conversation`): messages with `role`,
//!   `created` (seconds) and `content` of `text`, `toolRequest`, `toolResponse`, `thinking`.

use std::collections::HashMap;

use serde_json::Value;

use super::{Imported, JsonLines, output_summary, s, text_of};
use crate::schema::{Edit, Message, Role, ToolCall, Transcript, Usage};

const VERSION: u32 = 1;

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of milliseconds since the epoch.
pub(crate) fn rfc3339_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// The file a writing tool call names, for tools known to write.
fn written_path(tool: &str, input: &Value) -> Option<String> {
    let tool = tool.to_ascii_lowercase();
    let writes = [
        "write",
        "edit",
        "replace",
        "patch",
        "text_editor",
        "create",
        "multiedit",
    ];
    if !writes.iter().any(|w| tool.contains(w)) {
        return None;
    }
    // Goose's text editor also views files.
    if tool.contains("text_editor")
        && s(input, "command").is_some_and(|c| matches!(c, "view" | "undo_edit"))
    {
        return None;
    }
    [
        "file_path",
        "filePath",
        "path",
        "absolute_path",
        "target_file",
    ]
    .iter()
    .find_map(|k| s(input, k))
    .map(str::to_owned)
}

fn push_call(m: &mut Message, id: Option<String>, name: &str, input: Value) {
    if let Some(path) = written_path(name, &input) {
        m.edits.push(Edit { path, patch: None });
    }
    m.tool_calls.push(ToolCall {
        id,
        name: name.to_owned(),
        input,
        output: None,
        is_error: false,
    });
}

/// Appends text to the last message when it is an assistant's still being streamed, else
/// starts one.
fn stream_text(t: &mut Transcript, role: Role, text: &str, timestamp: Option<String>, join: bool) {
    if join
        && let Some(last) = t.messages.last_mut()
        && last.role == role
        && last.tool_calls.is_empty()
    {
        last.text.push_str(text);
        return;
    }
    let mut m = Message::new(role, text);
    m.timestamp = timestamp;
    t.messages.push(m);
}

// ---------------------------------------------------------------------------------------------
// Cursor CLI

pub(crate) fn import_cursor(lines: JsonLines<'_>) -> Imported {
    let mut t = Transcript::new("cursor", "cursor-cli", VERSION);
    let mut calls: HashMap<String, (usize, usize)> = HashMap::new();
    let mut thinking = String::new();
    for (_, v) in lines {
        // Cursor's editor keeps its agent transcripts (`agent-transcripts/*.jsonl`) as bare
        // `{role, message}` lines: the same turns without the envelope's `type`.
        let kind = s(&v, "type").or_else(|| s(&v, "role")).unwrap_or("");
        if t.session_id.is_empty() {
            t.session_id = s(&v, "session_id").unwrap_or("").to_owned();
        }
        let ts = v
            .get("timestamp_ms")
            .and_then(Value::as_i64)
            .map(rfc3339_millis);
        match kind {
            "system" => {
                t.cwd = t.cwd.take().or_else(|| s(&v, "cwd").map(str::to_owned));
                // `Auto` is Cursor's router, not a model.
                if let Some(model) = s(&v, "model").filter(|m| !m.eq_ignore_ascii_case("auto")) {
                    t.note_model(model);
                }
            }
            "thinking" => {
                if let Some(piece) = s(&v, "text") {
                    thinking.push_str(piece);
                }
            }
            "user" | "assistant" => {
                let role = if kind == "user" {
                    Role::User
                } else {
                    Role::Assistant
                };
                let content = v
                    .get("message")
                    .and_then(|m| m.get("content"))
                    .unwrap_or(&Value::Null);
                let mut body = text_of(content);
                // The editor wraps the person's words in `<user_query>`; a reply of only
                // `[REDACTED]` is reasoning Cursor withheld.
                if let Some(inner) = body
                    .trim()
                    .strip_prefix("<user_query>")
                    .and_then(|b| b.strip_suffix("</user_query>"))
                {
                    body = inner.trim().to_owned();
                }
                if body.contains("[REDACTED]") {
                    body = body
                        .split("\n\n")
                        .filter(|p| p.trim() != "[REDACTED]")
                        .collect::<Vec<_>>()
                        .join("\n\n");
                }
                if body.trim().is_empty() {
                    continue;
                }
                let mut m = Message::new(role, body);
                m.timestamp = ts;
                if role == Role::Assistant && !thinking.is_empty() {
                    m.thinking = Some(std::mem::take(&mut thinking));
                }
                if !m.text.trim().is_empty() || m.thinking.is_some() {
                    t.messages.push(m);
                }
            }
            "tool_call" => {
                let id = s(&v, "call_id").unwrap_or("").to_owned();
                let Some((name, call)) = v
                    .get("tool_call")
                    .and_then(Value::as_object)
                    .and_then(|o| o.iter().next())
                else {
                    continue;
                };
                let name = name.trim_end_matches("ToolCall").to_owned();
                match s(&v, "subtype") {
                    Some("started") => {
                        // A call belongs to the assistant turn that made it.
                        if t.messages.last().is_none_or(|m| m.role != Role::Assistant) {
                            let mut m = Message::new(Role::Assistant, "");
                            m.timestamp = ts;
                            if !thinking.is_empty() {
                                m.thinking = Some(std::mem::take(&mut thinking));
                            }
                            t.messages.push(m);
                        }
                        let mi = t.messages.len() - 1;
                        let m = &mut t.messages[mi];
                        calls.insert(id.clone(), (mi, m.tool_calls.len()));
                        let mut args = call.get("args").cloned().unwrap_or(Value::Null);
                        // The call's own id and the shell parse are bookkeeping, not input.
                        if let Some(o) = args.as_object_mut() {
                            for key in ["toolCallId", "parsingResult", "simpleCommands"] {
                                o.remove(key);
                            }
                        }
                        push_call(m, Some(id), &name, args);
                    }
                    Some("completed") => {
                        if let Some(&(mi, ci)) = calls.get(&id)
                            && t.messages.get(mi).is_some_and(|m| ci < m.tool_calls.len())
                        {
                            let result = call.get("result").unwrap_or(&Value::Null);
                            let (out, error) = match (result.get("success"), result.get("error")) {
                                (_, Some(e)) => (e, true),
                                (Some(ok), None) => (ok, false),
                                (None, None) => (result, false),
                            };
                            let said: Vec<String> =
                                ["stdout", "stderr", "content", "output", "message"]
                                    .iter()
                                    .filter_map(|k| out.get(*k))
                                    .map(text_of)
                                    .filter(|x| !x.trim().is_empty())
                                    .collect();
                            let summary = if said.is_empty() {
                                output_summary(out)
                            } else {
                                output_summary(&Value::String(said.join("\n")))
                            };
                            let c = &mut t.messages[mi].tool_calls[ci];
                            c.output = Some(summary);
                            c.is_error = error;
                        }
                    }
                    _ => {}
                }
            }
            "result" => {
                if let Some(u) = v.get("usage") {
                    t.usage = Some(Usage {
                        input_tokens: u.get("inputTokens").and_then(Value::as_u64).unwrap_or(0),
                        output_tokens: u.get("outputTokens").and_then(Value::as_u64).unwrap_or(0),
                        ..Usage::default()
                    });
                }
            }
            _ => {}
        }
    }
    Ok(t)
}

// ---------------------------------------------------------------------------------------------
// Gemini CLI stream-json

pub(crate) fn import_gemini_stream(lines: JsonLines<'_>) -> Imported {
    let mut t = Transcript::new("gemini-cli", "gemini-stream", VERSION);
    let mut calls: HashMap<String, (usize, usize)> = HashMap::new();
    for (_, v) in lines {
        let kind = s(&v, "type").unwrap_or("");
        let ts = s(&v, "timestamp").map(str::to_owned);
        match kind {
            "init" => {
                t.session_id = s(&v, "session_id").unwrap_or("").to_owned();
                // `auto` is a routing choice, not a model; the result names the real ones.
                if let Some(model) = s(&v, "model").filter(|m| !m.starts_with("auto")) {
                    t.note_model(model);
                }
            }
            "message" => {
                let role = match s(&v, "role") {
                    Some("user") => Role::User,
                    Some("assistant") => Role::Assistant,
                    _ => continue,
                };
                let body = text_of(v.get("content").unwrap_or(&Value::Null));
                let delta = v.get("delta").and_then(Value::as_bool) == Some(true);
                stream_text(&mut t, role, &body, ts, delta && role == Role::Assistant);
            }
            "tool_use" => {
                if t.messages.last().is_none_or(|m| m.role != Role::Assistant) {
                    let mut m = Message::new(Role::Assistant, "");
                    m.timestamp = ts;
                    t.messages.push(m);
                }
                let mi = t.messages.len() - 1;
                let id = s(&v, "tool_id").unwrap_or("").to_owned();
                let m = &mut t.messages[mi];
                calls.insert(id.clone(), (mi, m.tool_calls.len()));
                let input = v.get("parameters").cloned().unwrap_or(Value::Null);
                push_call(m, Some(id), s(&v, "tool_name").unwrap_or(""), input);
            }
            "tool_result" => {
                if let Some(&(mi, ci)) = s(&v, "tool_id").and_then(|id| calls.get(id))
                    && let Some(c) = t
                        .messages
                        .get_mut(mi)
                        .and_then(|m| m.tool_calls.get_mut(ci))
                {
                    c.is_error = s(&v, "status") == Some("error");
                    let out = v
                        .get("output")
                        .or_else(|| v.get("error").and_then(|e| e.get("message")))
                        .unwrap_or(&Value::Null);
                    c.output = Some(output_summary(out));
                }
            }
            "error" => {
                let mut m = Message::new(Role::System, s(&v, "message").unwrap_or(""));
                m.timestamp = ts;
                t.messages.push(m);
            }
            "result" => {
                // The session ends when the result comes, after the last tool's output.
                if ts.is_some() {
                    t.ended_at = ts;
                }
                let Some(stats) = v.get("stats") else {
                    continue;
                };
                let n = |o: &Value, k: &str| o.get(k).and_then(Value::as_u64).unwrap_or(0);
                if let Some(models) = stats.get("models").and_then(Value::as_object) {
                    for name in models.keys() {
                        t.note_model(name);
                    }
                }
                // `input` is what was not read from cache (newer CLIs); `input_tokens` all.
                let cached = n(stats, "cached");
                let input = if stats.get("input").is_some() {
                    n(stats, "input")
                } else {
                    n(stats, "input_tokens").saturating_sub(cached)
                };
                t.usage = Some(Usage {
                    input_tokens: input,
                    output_tokens: n(stats, "output_tokens"),
                    cache_read_tokens: cached,
                    cache_write_tokens: 0,
                });
            }
            _ => {}
        }
    }
    Ok(t)
}

// ---------------------------------------------------------------------------------------------
// OpenCode

/// Folds one OpenCode part into the transcript (`info` is its message's, when known).
fn opencode_part(t: &mut Transcript, part: &Value, role: Role, timestamp: Option<String>) {
    let kind = s(part, "type").unwrap_or("");
    let message_id = s(part, "messageID").unwrap_or("").to_owned();
    let current = |t: &mut Transcript| -> usize {
        // Parts of one message go to one transcript message.
        let same = t.messages.last().is_some_and(|m| {
            m.role == role && m.parent_tool.as_deref() == Some(message_id.as_str())
        });
        if !same {
            let mut m = Message::new(role, "");
            m.timestamp = timestamp.clone();
            m.parent_tool = Some(message_id.clone());
            t.messages.push(m);
        }
        t.messages.len() - 1
    };
    match kind {
        "text" => {
            if part.get("synthetic").and_then(Value::as_bool) == Some(true) {
                return;
            }
            let body = s(part, "text").unwrap_or("");
            if body.trim().is_empty() {
                return;
            }
            let i = current(t);
            let m = &mut t.messages[i];
            if !m.text.is_empty() {
                m.text.push('\n');
            }
            m.text.push_str(body);
        }
        "reasoning" => {
            let body = s(part, "text").unwrap_or("");
            if body.trim().is_empty() {
                return;
            }
            let i = current(t);
            let m = &mut t.messages[i];
            let th = m.thinking.get_or_insert_with(String::new);
            if !th.is_empty() {
                th.push('\n');
            }
            th.push_str(body);
        }
        "tool" => {
            let state = part.get("state").unwrap_or(&Value::Null);
            let i = current(t);
            let m = &mut t.messages[i];
            let input = state.get("input").cloned().unwrap_or(Value::Null);
            push_call(
                m,
                s(part, "callID").map(str::to_owned),
                s(part, "tool").unwrap_or(""),
                input,
            );
            if let Some(c) = m.tool_calls.last_mut() {
                let status = s(state, "status").unwrap_or("");
                c.is_error = status == "error";
                let out = state
                    .get("output")
                    .or_else(|| state.get("error"))
                    .unwrap_or(&Value::Null);
                if !out.is_null() {
                    c.output = Some(output_summary(out));
                }
            }
        }
        "step-finish" => {
            if let Some(tokens) = part.get("tokens") {
                add_opencode_tokens(t, tokens);
            }
        }
        _ => {}
    }
}

fn add_opencode_tokens(t: &mut Transcript, tokens: &Value) {
    let n = |k: &str| tokens.get(k).and_then(Value::as_u64).unwrap_or(0);
    let cache = tokens.get("cache").unwrap_or(&Value::Null);
    let c = |k: &str| cache.get(k).and_then(Value::as_u64).unwrap_or(0);
    let u = t.usage.get_or_insert_with(Usage::default);
    u.input_tokens += n("input");
    u.output_tokens += n("output") + n("reasoning");
    u.cache_read_tokens += c("read");
    u.cache_write_tokens += c("write");
}

/// `opencode run --format json` events.
pub(crate) fn import_opencode_events(lines: JsonLines<'_>) -> Imported {
    let mut t = Transcript::new("opencode", "opencode", VERSION);
    for (_, v) in lines {
        if t.session_id.is_empty() {
            t.session_id = s(&v, "sessionID").unwrap_or("").to_owned();
        }
        let ts = v
            .get("timestamp")
            .and_then(Value::as_i64)
            .map(rfc3339_millis);
        if s(&v, "type") == Some("error") {
            let message = v
                .get("error")
                .map(|e| {
                    s(e, "message")
                        .or_else(|| e.get("data").and_then(|d| s(d, "message")))
                        .map_or_else(|| e.to_string(), str::to_owned)
                })
                .unwrap_or_default();
            let mut m = Message::new(Role::System, message);
            m.timestamp = ts;
            t.messages.push(m);
            continue;
        }
        if let Some(part) = v.get("part") {
            // The run's events are the assistant's; the prompt is not among them.
            opencode_part(&mut t, part, Role::Assistant, ts);
        }
    }
    for m in &mut t.messages {
        m.parent_tool = None;
    }
    Ok(t)
}

/// `opencode export` JSON.
pub(crate) fn import_opencode_export(text: &str) -> Imported {
    let doc: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| (Some(e.line()), format!("not JSON: {e}")))?;
    let mut t = Transcript::new("opencode", "opencode", VERSION);
    let info = doc.get("info").unwrap_or(&Value::Null);
    t.session_id = s(info, "id").unwrap_or("").to_owned();
    t.title = s(info, "title").map(str::to_owned);
    t.cwd = s(info, "directory").map(str::to_owned);
    t.agent.version = s(info, "version").map(str::to_owned);
    for message in doc
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let mi = message.get("info").unwrap_or(&Value::Null);
        let role = match s(mi, "role") {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            _ => continue,
        };
        let model = s(mi, "modelID")
            .or_else(|| mi.get("model").and_then(|m| s(m, "modelID")))
            .map(str::to_owned);
        if role == Role::Assistant
            && let Some(model) = &model
        {
            t.note_model(model);
        }
        if t.cwd.is_none() {
            t.cwd = mi.get("path").and_then(|p| s(p, "cwd")).map(str::to_owned);
        }
        let ts = mi
            .get("time")
            .and_then(|tm| tm.get("created"))
            .and_then(Value::as_i64)
            .map(rfc3339_millis);
        let before = t.messages.len();
        for part in message
            .get("parts")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            // Tokens are counted once, from the message, not from its steps.
            if s(part, "type") == Some("step-finish") {
                continue;
            }
            opencode_part(&mut t, part, role, ts.clone());
        }
        if role == Role::Assistant {
            if let Some(tokens) = mi.get("tokens") {
                add_opencode_tokens(&mut t, tokens);
            }
            for m in &mut t.messages[before..] {
                m.model = model.clone();
            }
        }
    }
    for m in &mut t.messages {
        m.parent_tool = None;
    }
    Ok(t)
}

// ---------------------------------------------------------------------------------------------
// Goose

fn goose_message(t: &mut Transcript, msg: &Value, calls: &mut HashMap<String, (usize, usize)>) {
    let role = match s(msg, "role") {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        _ => return,
    };
    let ts = msg
        .get("created")
        .and_then(Value::as_i64)
        .map(|secs| rfc3339_millis(secs.saturating_mul(1000)));
    let mut m = Message::new(role, "");
    m.timestamp = ts;
    let mut texts = Vec::new();
    let mut answered = false;
    for item in msg
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        match s(item, "type").unwrap_or("") {
            "text" => {
                if let Some(body) = s(item, "text").filter(|b| !b.trim().is_empty()) {
                    texts.push(body.to_owned());
                }
            }
            "thinking" | "redactedThinking" => {
                if let Some(body) = s(item, "thinking") {
                    m.thinking = Some(body.to_owned());
                }
            }
            "image" => texts.push("[image]".to_owned()),
            "toolRequest" => {
                let id = s(item, "id").unwrap_or("").to_owned();
                let call = item
                    .get("toolCall")
                    .and_then(|c| c.get("value"))
                    .unwrap_or(&Value::Null);
                calls.insert(id.clone(), (t.messages.len(), m.tool_calls.len()));
                let input = call.get("arguments").cloned().unwrap_or(Value::Null);
                push_call(&mut m, Some(id), s(call, "name").unwrap_or(""), input);
            }
            "toolResponse" => {
                answered = true;
                if let Some(&(mi, ci)) = s(item, "id").and_then(|id| calls.get(id))
                    && let Some(target) = t.messages.get_mut(mi)
                    && ci < target.tool_calls.len()
                {
                    let result = item.get("toolResult").unwrap_or(&Value::Null);
                    let value = result.get("value").unwrap_or(result);
                    let content = value.get("content").unwrap_or(value);
                    let c = &mut target.tool_calls[ci];
                    c.output = Some(output_summary(content));
                    c.is_error = s(result, "status") == Some("error")
                        || value.get("isError").and_then(Value::as_bool) == Some(true);
                }
            }
            _ => {}
        }
    }
    m.text = texts.join("\n");
    // Tool responses come back in user messages: they are folded into their calls.
    if answered && m.text.is_empty() && m.tool_calls.is_empty() {
        return;
    }
    if m.text.is_empty() && m.tool_calls.is_empty() && m.thinking.is_none() {
        return;
    }
    t.messages.push(m);
}

fn goose_metadata(t: &mut Transcript, v: &Value) {
    t.cwd = s(v, "working_dir").map(str::to_owned);
    t.title = s(v, "description")
        .or_else(|| s(v, "name"))
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    if t.session_id.is_empty() {
        t.session_id = s(v, "id").unwrap_or("").to_owned();
    }
    let n = |k: &str| v.get(k).and_then(Value::as_u64);
    let input = n("accumulated_input_tokens").or_else(|| n("input_tokens"));
    let output = n("accumulated_output_tokens").or_else(|| n("output_tokens"));
    if input.is_some() || output.is_some() {
        t.usage = Some(Usage {
            input_tokens: input.unwrap_or(0),
            output_tokens: output.unwrap_or(0),
            ..Usage::default()
        });
    }
}

/// Goose session JSONL and `goose run` stream-json.
pub(crate) fn import_goose_lines(lines: JsonLines<'_>) -> Imported {
    let mut t = Transcript::new("goose", "goose", VERSION);
    let mut calls = HashMap::new();
    for (_, v) in lines {
        if v.get("working_dir").is_some() {
            goose_metadata(&mut t, &v);
        } else if s(&v, "type") == Some("message") {
            if let Some(msg) = v.get("message") {
                goose_message(&mut t, msg, &mut calls);
            }
        } else if v.get("role").is_some() {
            goose_message(&mut t, &v, &mut calls);
        }
    }
    Ok(t)
}

/// Goose exported JSON: a list of messages, or a session with `conversation`.
pub(crate) fn import_goose_json(text: &str) -> Imported {
    let doc: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| (Some(e.line()), format!("not JSON: {e}")))?;
    let mut t = Transcript::new("goose", "goose", VERSION);
    let messages = match &doc {
        Value::Array(list) => list.clone(),
        Value::Object(_) => {
            goose_metadata(&mut t, &doc);
            let conversation = doc.get("conversation").unwrap_or(&Value::Null);
            conversation
                .as_array()
                .or_else(|| conversation.get("messages").and_then(Value::as_array))
                .cloned()
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let mut calls = HashMap::new();
    for msg in &messages {
        goose_message(&mut t, msg, &mut calls);
    }
    Ok(t)
}

/// The pi coding agent's session JSONL: a `session` header (id, cwd, time), then entries that
/// chain by `parentId` — `message` (role `user`, `assistant` or `toolResult`; content blocks
/// `text`, `thinking`, `toolCall`, `image`; the assistant's `model` and `usage`; times in
/// milliseconds), `model_change`, `custom_message` (what an extension showed, kept as the
/// program's), and settings changes (skipped).
pub(crate) fn import_pi(lines: JsonLines<'_>) -> Imported {
    let mut t = Transcript::new("pi", "pi", VERSION);
    let mut calls: HashMap<String, (usize, usize)> = HashMap::new();
    let mut usage: Option<Usage> = None;
    for (_, v) in lines {
        let stamp = s(&v, "timestamp").map(str::to_owned);
        match s(&v, "type").unwrap_or("") {
            "session" => {
                t.session_id = s(&v, "id").unwrap_or("").to_owned();
                t.cwd = s(&v, "cwd").map(str::to_owned);
                // Older versions name the model in the header.
                if let Some(model) = s(&v, "modelId") {
                    t.note_model(model);
                }
            }
            // A compaction's summary of what came before it: context.
            "compaction" => {
                if let Some(summary) = s(&v, "summary").filter(|x| !x.trim().is_empty()) {
                    let mut m = Message::new(Role::System, summary);
                    m.timestamp = stamp;
                    t.messages.push(m);
                }
            }
            "model_change" => {
                if let Some(model) = s(&v, "modelId") {
                    t.note_model(model);
                }
            }
            "custom_message" => {
                let text = text_of(v.get("content").unwrap_or(&Value::Null));
                if !text.trim().is_empty()
                    && v.get("display").and_then(Value::as_bool) != Some(false)
                {
                    let mut m = Message::new(Role::System, text);
                    m.timestamp = stamp;
                    t.messages.push(m);
                }
            }
            "message" => {
                let msg = v.get("message").unwrap_or(&Value::Null);
                let at = msg
                    .get("timestamp")
                    .and_then(Value::as_i64)
                    .map(rfc3339_millis)
                    .or(stamp);
                let content = msg.get("content").unwrap_or(&Value::Null);
                match s(msg, "role").unwrap_or("") {
                    // A command the person ran themselves (`!cmd`), with its output.
                    "bashExecution" => {
                        let mut m = Message::new(Role::User, "");
                        m.timestamp = at;
                        m.tool_calls.push(ToolCall {
                            id: None,
                            name: "bash".to_owned(),
                            input: serde_json::json!({ "command": s(msg, "command").unwrap_or("") }),
                            output: msg.get("output").map(output_summary),
                            is_error: msg.get("exitCode").and_then(Value::as_i64).unwrap_or(0) != 0,
                        });
                        t.messages.push(m);
                    }
                    "toolResult" => {
                        let Some(&(mi, ci)) = s(msg, "toolCallId").and_then(|id| calls.get(id))
                        else {
                            continue;
                        };
                        if let Some(call) = t
                            .messages
                            .get_mut(mi)
                            .and_then(|m| m.tool_calls.get_mut(ci))
                        {
                            call.output = Some(output_summary(content));
                            call.is_error =
                                msg.get("isError").and_then(Value::as_bool) == Some(true);
                        }
                    }
                    role @ ("user" | "assistant") => {
                        let role = if role == "user" {
                            Role::User
                        } else {
                            Role::Assistant
                        };
                        let mut m = Message::new(role, "");
                        m.timestamp = at;
                        let mut texts = Vec::new();
                        let mut thinking = Vec::new();
                        match content {
                            Value::Array(blocks) => {
                                for b in blocks {
                                    match s(b, "type").unwrap_or("") {
                                        "text" => texts.push(s(b, "text").unwrap_or("").to_owned()),
                                        "thinking" => {
                                            let th = s(b, "thinking").unwrap_or("");
                                            if !th.trim().is_empty() {
                                                thinking.push(th.to_owned());
                                            }
                                        }
                                        "image" => texts.push("[image]".to_owned()),
                                        "toolCall" => {
                                            let name = s(b, "name").unwrap_or("").to_owned();
                                            let input =
                                                b.get("arguments").cloned().unwrap_or(Value::Null);
                                            if matches!(name.as_str(), "edit" | "write")
                                                && let Some(path) = s(&input, "path")
                                                    .or_else(|| s(&input, "file_path"))
                                            {
                                                m.edits.push(crate::schema::Edit {
                                                    path: path.to_owned(),
                                                    patch: None,
                                                });
                                            }
                                            let id = s(b, "id").map(str::to_owned);
                                            if let Some(id) = &id {
                                                calls.insert(
                                                    id.clone(),
                                                    (t.messages.len(), m.tool_calls.len()),
                                                );
                                            }
                                            m.tool_calls.push(ToolCall {
                                                id,
                                                name,
                                                input,
                                                output: None,
                                                is_error: false,
                                            });
                                        }
                                        _ => {}
                                    }
                                }
                            }
                            other => texts.push(text_of(other)),
                        }
                        m.text = texts.join("\n");
                        if !thinking.is_empty() {
                            m.thinking = Some(thinking.join("\n"));
                        }
                        if role == Role::Assistant {
                            if let Some(model) = s(msg, "model") {
                                m.model = Some(model.to_owned());
                                t.note_model(model);
                            }
                            if let Some(u) = msg.get("usage") {
                                let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
                                *usage.get_or_insert_with(Usage::default) += Usage {
                                    input_tokens: n("input"),
                                    output_tokens: n("output"),
                                    cache_read_tokens: n("cacheRead"),
                                    cache_write_tokens: n("cacheWrite"),
                                };
                            }
                        }
                        // A request that failed or was aborted: the program's notice.
                        if m.text.trim().is_empty()
                            && m.tool_calls.is_empty()
                            && m.thinking.is_none()
                            && let Some(error) = s(msg, "errorMessage")
                        {
                            m.role = Role::System;
                            m.text = error.to_owned();
                        }
                        if !m.text.trim().is_empty()
                            || !m.tool_calls.is_empty()
                            || m.thinking.is_some()
                        {
                            t.messages.push(m);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    t.usage = usage;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::rfc3339_millis;

    #[test]
    fn milliseconds_become_rfc3339() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_770_823_841_542),
            "2026-02-11T15:30:41.542Z"
        );
        assert_eq!(rfc3339_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
