//! OpenAI Codex CLI rollout JSONL: `{timestamp, type, payload}` lines. `session_meta` names the
//! session (id, cwd, CLI version, git commit and branch); `turn_context` the model;
//! `response_item` payloads are `message`s, `reasoning`, and `function_call` /
//! `custom_tool_call` items (JSON-string arguments) paired with their outputs by `call_id`.
//! Edits are the files named in `apply_patch` envelopes.

use std::collections::HashMap;

use serde_json::Value;

use super::{Imported, JsonLines, add_tokens, output_summary, s, text_of};
use crate::schema::{Edit, Message, Role, ToolCall, Transcript, Usage};

const VERSION: u32 = 1;

/// The files an `apply_patch` envelope touches, each with its section of the patch.
pub(crate) fn patch_edits(text: &str) -> Vec<Edit> {
    let mut edits: Vec<Edit> = Vec::new();
    for line in text.lines() {
        let header = ["*** Update File: ", "*** Add File: ", "*** Delete File: "]
            .iter()
            .find_map(|h| line.strip_prefix(h));
        if let Some(path) = header {
            edits.push(Edit {
                path: path.trim().to_owned(),
                patch: Some(String::new()),
            });
        } else if line.starts_with("*** End Patch") || line.starts_with("*** Begin Patch") {
            continue;
        } else if let Some(Edit { patch: Some(p), .. }) = edits.last_mut() {
            p.push_str(line);
            p.push('\n');
        }
    }
    edits
}

pub(crate) fn import(lines: JsonLines<'_>) -> Imported {
    let mut t = Transcript::new("codex", "codex", VERSION);
    let mut usage: Option<Usage> = None;
    let mut model: Option<String> = None;
    let mut calls: HashMap<String, usize> = HashMap::new();
    // The last code-mode `exec` call, whose patches are reported under ids of their own.
    let mut last_exec: Option<usize> = None;
    for (line_no, v) in lines {
        let stamp = s(&v, "timestamp").map(str::to_owned);
        let p = v.get("payload").unwrap_or(&Value::Null);
        match s(&v, "type").unwrap_or("") {
            "session_meta" => {
                t.session_id = s(p, "id").unwrap_or("").to_owned();
                t.cwd = s(p, "cwd").map(str::to_owned);
                t.agent.version = s(p, "cli_version").map(str::to_owned);
                t.started_at = s(p, "timestamp").map(str::to_owned);
                if let Some(git) = p.get("git") {
                    t.commit = s(git, "commit_hash").map(str::to_owned);
                    t.branch = s(git, "branch").map(str::to_owned);
                }
            }
            "turn_context" => {
                if let Some(m) = s(p, "model") {
                    t.note_model(m);
                    model = Some(m.to_owned());
                }
            }
            // A command's end: its output, for a call whose output item never came.
            "event_msg" if s(p, "type") == Some("exec_command_end") => {
                if let Some(&mi) = s(p, "call_id").and_then(|id| calls.get(id))
                    && let Some(call) = t.messages[mi].tool_calls.first_mut()
                    && call.output.is_none()
                {
                    let out = p
                        .get("aggregated_output")
                        .or_else(|| p.get("stdout"))
                        .unwrap_or(&Value::Null);
                    call.output = Some(output_summary(out));
                    call.is_error = p.get("exit_code").and_then(Value::as_i64).unwrap_or(0) != 0;
                }
            }
            // The name Codex gives the thread: the session's title.
            "event_msg" if s(p, "type") == Some("thread_name_updated") => {
                if let Some(name) = s(p, "thread_name").filter(|n| !n.trim().is_empty()) {
                    t.title = Some(name.to_owned());
                }
            }
            "event_msg" if s(p, "type") == Some("token_count") => {
                // Each event carries the running total; the last one wins.
                if let Some(total) = p.get("info").and_then(|i| i.get("total_token_usage")) {
                    let mut u = Usage::default();
                    add_tokens(&mut u.input_tokens, total, "input_tokens");
                    add_tokens(&mut u.output_tokens, total, "output_tokens");
                    add_tokens(&mut u.cache_read_tokens, total, "cached_input_tokens");
                    u.input_tokens = u.input_tokens.saturating_sub(u.cache_read_tokens);
                    usage = Some(u);
                }
            }
            // A patch Codex applied, with the files it changed: the edits of a call that
            // carried no `apply_patch` envelope of its own (code mode's `exec`).
            "event_msg" if s(p, "type") == Some("patch_apply_end") => {
                if p.get("success").and_then(Value::as_bool) == Some(false) {
                    continue;
                }
                let known = s(p, "call_id").and_then(|id| calls.get(id)).copied();
                if known.is_some_and(|mi| !t.messages[mi].edits.is_empty()) {
                    continue;
                }
                let edits: Vec<Edit> = p
                    .get("changes")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(path, change)| Edit {
                        // Relative to the session's directory, as patch envelopes name them.
                        path: t
                            .cwd
                            .as_deref()
                            .and_then(|cwd| path.strip_prefix(cwd.trim_end_matches('/')))
                            .and_then(|rest| rest.strip_prefix('/'))
                            .unwrap_or(path)
                            .to_owned(),
                        patch: s(change, "unified_diff").map(str::to_owned).or_else(|| {
                            s(change, "content")
                                .map(|c| c.lines().map(|l| format!("+{l}\n")).collect())
                        }),
                    })
                    .collect();
                // Code mode names the patch by a call id of its own: the edits belong to the
                // `exec` call that ran it.
                match known.or(last_exec) {
                    Some(mi) => t.messages[mi].edits.extend(edits),
                    None if !edits.is_empty() => {
                        let mut m = Message::new(Role::Assistant, "");
                        m.timestamp = stamp;
                        m.model = model.clone();
                        m.edits = edits;
                        t.messages.push(m);
                    }
                    None => {}
                }
            }
            "response_item" => match s(p, "type").unwrap_or("") {
                "message" => {
                    let text = text_of(p.get("content").unwrap_or(&Value::Null));
                    let role = match s(p, "role").unwrap_or("") {
                        "assistant" => Role::Assistant,
                        // What Codex injects as the user's turn — the repository's AGENTS.md
                        // instructions, the environment, an aborted turn's notice — is context.
                        "user" if !injected(&text) => Role::User,
                        _ => Role::System,
                    };
                    let mut m = Message::new(role, text);
                    m.timestamp = stamp;
                    if role == Role::Assistant {
                        m.model = model.clone();
                    }
                    t.messages.push(m);
                }
                "reasoning" => {
                    let summary = text_of(p.get("summary").unwrap_or(&Value::Null));
                    if !summary.is_empty() {
                        let mut m = Message::new(Role::Assistant, "");
                        m.thinking = Some(summary);
                        m.timestamp = stamp;
                        m.model = model.clone();
                        t.messages.push(m);
                    }
                }
                kind @ ("function_call" | "custom_tool_call") => {
                    let raw = if kind == "function_call" {
                        p.get("arguments")
                    } else {
                        p.get("input")
                    };
                    let input = match raw {
                        Some(Value::String(a)) => {
                            serde_json::from_str(a).unwrap_or_else(|_| Value::String(a.clone()))
                        }
                        Some(other) => other.clone(),
                        None => Value::Null,
                    };
                    let mut m = Message::new(Role::Assistant, "");
                    m.timestamp = stamp;
                    m.model = model.clone();
                    let mut leaves = Vec::new();
                    string_leaves(&input, &mut leaves);
                    m.edits = leaves.iter().flat_map(|l| patch_edits(l)).collect();
                    let id = s(p, "call_id").map(str::to_owned);
                    if let Some(id) = &id {
                        calls.insert(id.clone(), t.messages.len());
                    }
                    if s(p, "name") == Some("exec") {
                        last_exec = Some(t.messages.len());
                    }
                    m.tool_calls.push(ToolCall {
                        id,
                        name: s(p, "name").unwrap_or("").to_owned(),
                        input,
                        output: None,
                        is_error: false,
                    });
                    t.messages.push(m);
                }
                // A web search the model ran: a tool call with its query.
                "web_search_call" => {
                    let mut m = Message::new(Role::Assistant, "");
                    m.timestamp = stamp;
                    m.model = model.clone();
                    m.tool_calls.push(ToolCall {
                        id: s(p, "id").map(str::to_owned),
                        name: "web_search".to_owned(),
                        input: p.get("action").cloned().unwrap_or(Value::Null),
                        output: s(p, "status").map(str::to_owned),
                        is_error: false,
                    });
                    t.messages.push(m);
                }
                "function_call_output" | "custom_tool_call_output" => {
                    let id = s(p, "call_id").unwrap_or("");
                    // An output whose call is not in the file (cut by a compaction, or a
                    // trimmed file) answers nothing here; the rest of the session still counts.
                    let Some(&mi) = calls.get(id) else {
                        let _ = line_no;
                        continue;
                    };
                    let out = p.get("output").unwrap_or(&Value::Null);
                    // Function outputs are often JSON with an `output` field.
                    let inner = match out {
                        Value::String(sv) => serde_json::from_str::<Value>(sv)
                            .ok()
                            .and_then(|j| j.get("output").cloned())
                            .unwrap_or_else(|| out.clone()),
                        other => other.clone(),
                    };
                    if let Some(call) = t.messages[mi].tool_calls.first_mut() {
                        call.output = Some(output_summary(&inner));
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    t.usage = usage;
    Ok(t)
}

/// Whether a user-role message is context Codex injected rather than the user's words.
fn injected(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with("<environment_context>")
        || t.starts_with("<user_instructions>")
        || t.starts_with("<turn_aborted>")
        || t.starts_with("# AGENTS.md instructions")
        || t.starts_with("<INSTRUCTIONS>")
}

/// Every string inside a JSON value.
fn string_leaves<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| string_leaves(x, out)),
        Value::Object(o) => o.values().for_each(|x| string_leaves(x, out)),
        _ => {}
    }
}
