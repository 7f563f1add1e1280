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
    for turn in &turns {
        let role = match s(turn, "role") {
            Some("assistant") => Role::Assistant,
            Some("user") => Role::User,
            _ => continue,
        };
        let mut m = Message::new(role, "");
        let mut texts = Vec::new();
        let mut context = false;
        let mut only_results = true;
        match turn.get("content").unwrap_or(&Value::Null) {
            Value::Array(blocks) => {
                for b in blocks {
                    match s(b, "type").unwrap_or("") {
                        "text" => {
                            only_results = false;
                            let (kept, env) = without_environment(s(b, "text").unwrap_or(""));
                            context |= env;
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
        if only_results && m.tool_calls.is_empty() {
            continue;
        }
        m.text = texts.join("\n");
        // A user turn that only carries the environment is context.
        if role == Role::User && context && m.text.trim().is_empty() {
            m.role = Role::System;
        }
        if m.text.trim().is_empty() && m.tool_calls.is_empty() {
            continue;
        }
        t.messages.push(m);
    }
    Ok(t)
}
