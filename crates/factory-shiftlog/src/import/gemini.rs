//! Gemini CLI sessions. The JSONL form opens with a header object (`sessionId`, `projectHash`,
//! `startTime`), then has one object per message (`id`, `timestamp`, `type` = `user`, `gemini`,
//! `info`, `error`, …) and `{"$set": {...}}` lines that update the header; a message id that
//! appears again replaces the earlier version (the last wins, in the place of the first). The
//! legacy form is one object with the header fields and a `messages` array.

use std::collections::HashMap;

use serde_json::Value;

use super::{Imported, JsonLines, output_summary, s, text_of};
use crate::schema::{Edit, Message, Role, ToolCall, Transcript, Usage};

const VERSION: u32 = 1;
const EDIT_TOOLS: &[&str] = &["write_file", "replace", "edit"];

fn header(t: &mut Transcript, v: &Value) {
    if let Some(id) = s(v, "sessionId") {
        t.session_id = id.to_owned();
    }
    if let Some(start) = s(v, "startTime") {
        t.started_at = Some(start.to_owned());
    }
    if let Some(end) = s(v, "lastUpdated") {
        t.ended_at = Some(end.to_owned());
    }
}

fn message(t: &mut Transcript, usage: &mut Option<Usage>, v: &Value) -> Message {
    let role = match s(v, "type").unwrap_or("") {
        "user" => Role::User,
        "gemini" | "model" | "assistant" => Role::Assistant,
        _ => Role::System,
    };
    // The text is `content`, or (in some versions) Gemini API `parts`.
    let content = v
        .get("content")
        .filter(|c| !c.is_null())
        .or_else(|| v.get("parts"))
        .unwrap_or(&Value::Null);
    let text = text_of(content);
    // What the CLI sends as the user (the session's context, its mode notices) is its own.
    let role = if role == Role::User
        && (text.trim_start().starts_with("<session_context>")
            || text.starts_with("User has manually exited Plan Mode"))
    {
        Role::System
    } else {
        role
    };
    let mut m = Message::new(role, text);
    m.timestamp = s(v, "timestamp").map(str::to_owned);
    m.model = s(v, "model").map(str::to_owned);
    if let Some(model) = &m.model {
        t.note_model(model);
    }
    if let Some(thoughts) = v.get("thoughts").and_then(Value::as_array) {
        let text: Vec<String> = thoughts
            .iter()
            .map(|th| {
                format!(
                    "{}: {}",
                    s(th, "subject").unwrap_or(""),
                    s(th, "description").unwrap_or("")
                )
            })
            .collect();
        if !text.is_empty() {
            m.thinking = Some(text.join("\n"));
        }
    }
    if let Some(tokens) = v.get("tokens") {
        let u = usage.get_or_insert_with(Usage::default);
        // `input` includes the cached tokens, and `thoughts` are output not in `output`.
        let n = |k: &str| tokens.get(k).and_then(Value::as_u64).unwrap_or(0);
        u.input_tokens += n("input").saturating_sub(n("cached"));
        u.output_tokens += n("output") + n("thoughts");
        u.cache_read_tokens += n("cached");
    }
    for call in v
        .get("toolCalls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = s(call, "name").unwrap_or("").to_owned();
        let args = call.get("args").cloned().unwrap_or(Value::Null);
        // A failed or cancelled call edited nothing.
        let done = !matches!(s(call, "status"), Some("error" | "cancelled"));
        if done && EDIT_TOOLS.contains(&name.as_str()) {
            let diff = call
                .get("resultDisplay")
                .and_then(|d| s(d, "fileDiff"))
                .map(str::to_owned);
            m.edits.push(Edit {
                path: s(&args, "file_path")
                    .or_else(|| s(&args, "path"))
                    .unwrap_or("")
                    .to_owned(),
                patch: diff,
            });
        }
        let output = call.get("result").map(|r| {
            // Results are `[{functionResponse: {response: {output}}}]`.
            let inner = r
                .as_array()
                .and_then(|a| a.first())
                .and_then(|f| f.get("functionResponse"))
                .and_then(|f| f.get("response"))
                .and_then(|r| r.get("output").or_else(|| r.get("error")))
                .unwrap_or(r);
            output_summary(inner)
        });
        m.tool_calls.push(ToolCall {
            id: s(call, "id").map(str::to_owned),
            name,
            input: args,
            output,
            is_error: s(call, "status") == Some("error"),
        });
    }
    m
}

fn finish(mut t: Transcript, usage: Option<Usage>, mut messages: Vec<Message>) -> Transcript {
    // A user entry that only returns a tool's result (`functionResponse` parts) says nothing:
    // the result is on the call.
    messages
        .retain(|m| !m.text.trim().is_empty() || !m.tool_calls.is_empty() || m.thinking.is_some());
    t.messages = messages;
    t.usage = usage;
    t
}

pub(crate) fn import_jsonl(lines: JsonLines<'_>) -> Imported {
    let mut t = Transcript::new("gemini-cli", "gemini", VERSION);
    let mut usage = None;
    let mut order: Vec<String> = Vec::new();
    let mut latest: HashMap<String, Value> = HashMap::new();
    for (line_no, v) in lines {
        if let Some(set) = v.get("$set") {
            header(&mut t, set);
        } else if let Some(id) = s(&v, "id") {
            if !latest.contains_key(id) {
                order.push(id.to_owned());
            }
            latest.insert(id.to_owned(), v);
        } else if v.get("sessionId").is_some() {
            header(&mut t, &v);
        } else {
            return Err((
                Some(line_no),
                "neither a header, a message with an `id`, nor a `$set` update".into(),
            ));
        }
    }
    let messages = order
        .iter()
        .map(|id| message(&mut t, &mut usage, &latest[id]))
        .collect();
    Ok(finish(t, usage, messages))
}

pub(crate) fn import_json(text: &str) -> Imported {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| (Some(e.line()), format!("not JSON: {e}")))?;
    let mut t = Transcript::new("gemini-cli", "gemini-json", VERSION);
    header(&mut t, &doc);
    let mut usage = None;
    let Some(list) = doc.get("messages").and_then(Value::as_array) else {
        return Err((None, "no `messages` array".into()));
    };
    let messages = list
        .iter()
        .map(|m| message(&mut t, &mut usage, m))
        .collect();
    Ok(finish(t, usage, messages))
}
