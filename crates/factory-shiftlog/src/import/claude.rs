//! Claude Code session JSONL: one JSON object per line; `user` and `assistant` lines carry a
//! `message` whose content is a string or a list of blocks (`text`, `thinking`, `tool_use`,
//! `tool_result`, `image`); `summary` lines carry a title; sub-agent lines are `isSidechain`;
//! `toolUseResult` holds the structured patch of an edit.

use std::collections::HashMap;

use serde_json::Value;

use super::{Imported, add_tokens, json_lines, output_summary, s, text_of};
use crate::schema::{Edit, Message, Role, ToolCall, Transcript, Usage};

const VERSION: u32 = 1;
/// Tools whose calls edit a file named by `file_path` (or `notebook_path`).
const EDIT_TOOLS: &[&str] = &["Edit", "MultiEdit", "Write", "NotebookEdit"];

fn prefixed(prefix: char, text: &str) -> String {
    text.lines().map(|l| format!("{prefix}{l}\n")).collect()
}

/// A patch from a tool_use input, when the result carried none.
fn patch_from_input(name: &str, input: &Value) -> Option<String> {
    match name {
        "Write" => s(input, "content").map(|c| prefixed('+', c)),
        "Edit" => Some(format!(
            "{}{}",
            prefixed('-', s(input, "old_string")?),
            prefixed('+', s(input, "new_string")?)
        )),
        "MultiEdit" => input.get("edits").and_then(Value::as_array).map(|edits| {
            edits
                .iter()
                .map(|e| {
                    format!(
                        "{}{}",
                        prefixed('-', s(e, "old_string").unwrap_or("")),
                        prefixed('+', s(e, "new_string").unwrap_or(""))
                    )
                })
                .collect()
        }),
        _ => None,
    }
}

/// A unified patch from `structuredPatch` hunks.
fn patch_from_hunks(hunks: &[Value]) -> String {
    let mut out = String::new();
    for h in hunks {
        let n = |k: &str| h.get(k).and_then(Value::as_u64).unwrap_or(0);
        out.push_str(&format!(
            "@@ -{},{} +{},{} @@\n",
            n("oldStart"),
            n("oldLines"),
            n("newStart"),
            n("newLines")
        ));
        for line in h
            .get("lines")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push_str(line.as_str().unwrap_or(""));
            out.push('\n');
        }
    }
    out
}

pub(crate) fn import(text: &str) -> Imported {
    let mut t = Transcript::new("claude-code", "claude-code", VERSION);
    let mut usage = Usage::default();
    let mut has_usage = false;
    // tool_use id → (message index, tool call index, edit index if it edits a file)
    let mut calls: HashMap<String, (usize, usize, Option<usize>)> = HashMap::new();
    for (line_no, v) in json_lines(text)? {
        let kind = s(&v, "type").unwrap_or("");
        if kind == "summary" {
            if t.title.is_none() {
                t.title = s(&v, "summary").map(str::to_owned);
            }
            continue;
        }
        if kind != "user" && kind != "assistant" {
            continue;
        }
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
            t.branch = s(&v, "gitBranch")
                .filter(|b| !b.is_empty())
                .map(str::to_owned);
        }
        let Some(message) = v.get("message") else {
            return Err((Some(line_no), format!("a `{kind}` line without `message`")));
        };
        let role = if kind == "assistant" {
            Role::Assistant
        } else if v.get("isMeta").and_then(Value::as_bool) == Some(true) {
            Role::System
        } else {
            Role::User
        };
        let mut m = Message::new(role, "");
        m.timestamp = s(&v, "timestamp").map(str::to_owned);
        m.sidechain = v.get("isSidechain").and_then(Value::as_bool) == Some(true);
        m.model = s(message, "model").map(str::to_owned);
        if let Some(model) = &m.model {
            t.note_model(model);
        }
        if let Some(u) = message.get("usage") {
            has_usage = true;
            add_tokens(&mut usage.input_tokens, u, "input_tokens");
            add_tokens(&mut usage.output_tokens, u, "output_tokens");
            add_tokens(&mut usage.cache_read_tokens, u, "cache_read_input_tokens");
            add_tokens(
                &mut usage.cache_write_tokens,
                u,
                "cache_creation_input_tokens",
            );
        }
        let content = message.get("content").unwrap_or(&Value::Null);
        let mut texts = Vec::new();
        let mut only_results = matches!(content, Value::Array(a) if !a.is_empty());
        match content {
            Value::Array(blocks) => {
                for b in blocks {
                    match s(b, "type").unwrap_or("") {
                        "tool_result" => {
                            let id = s(b, "tool_use_id").unwrap_or("");
                            if let Some(&(mi, ci, ei)) = calls.get(id) {
                                // The tool_use may be in this very line: `m`, not pushed yet.
                                let msg = t.messages.get_mut(mi).unwrap_or(&mut m);
                                let call = &mut msg.tool_calls[ci];
                                call.output =
                                    Some(output_summary(b.get("content").unwrap_or(&Value::Null)));
                                call.is_error =
                                    b.get("is_error").and_then(Value::as_bool) == Some(true);
                                let hunks = v
                                    .get("toolUseResult")
                                    .and_then(|r| r.get("structuredPatch"))
                                    .and_then(Value::as_array)
                                    .filter(|h| !h.is_empty());
                                if let (Some(ei), Some(hunks)) = (ei, hunks) {
                                    msg.edits[ei].patch = Some(patch_from_hunks(hunks));
                                }
                            }
                        }
                        "text" => {
                            only_results = false;
                            texts.push(s(b, "text").unwrap_or("").to_owned());
                        }
                        "thinking" => {
                            only_results = false;
                            let th = s(b, "thinking").unwrap_or("");
                            m.thinking = Some(match m.thinking.take() {
                                Some(prev) => format!("{prev}\n{th}"),
                                None => th.to_owned(),
                            });
                        }
                        "tool_use" => {
                            only_results = false;
                            let name = s(b, "name").unwrap_or("").to_owned();
                            let input = b.get("input").cloned().unwrap_or(Value::Null);
                            let edit = EDIT_TOOLS.contains(&name.as_str()).then(|| {
                                let path = s(&input, "file_path")
                                    .or_else(|| s(&input, "notebook_path"))
                                    .unwrap_or("")
                                    .to_owned();
                                m.edits.push(Edit {
                                    path,
                                    patch: patch_from_input(&name, &input),
                                });
                                m.edits.len() - 1
                            });
                            let id = s(b, "id").map(str::to_owned);
                            if let Some(id) = &id {
                                calls.insert(
                                    id.clone(),
                                    (t.messages.len(), m.tool_calls.len(), edit),
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
                        "image" => {
                            only_results = false;
                            texts.push("[image]".to_owned());
                        }
                        _ => only_results = false,
                    }
                }
            }
            other => texts.push(text_of(other)),
        }
        if only_results {
            // A user line that only returns tool results is folded into the calls above.
            continue;
        }
        m.text = texts.join("\n");
        t.messages.push(m);
    }
    if has_usage {
        t.usage = Some(usage);
    }
    Ok(t)
}
