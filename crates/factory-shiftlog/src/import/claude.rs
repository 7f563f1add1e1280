//! Claude Code session JSONL: one JSON object per line; `user` and `assistant` lines carry a
//! `message` whose content is a string or a list of blocks (`text`, `thinking`, `tool_use`,
//! `tool_result`, `image`); `summary` lines carry a title; sub-agent lines are `isSidechain`;
//! `toolUseResult` holds the structured patch of an edit.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{Failure, Imported, JsonLines, add_tokens, output_summary, s, text_of};
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

pub(crate) fn import(lines: JsonLines<'_>) -> Imported {
    let mut t = Transcript::new("claude-code", "claude-code", VERSION);
    let mut st = State::default();
    // Summaries name the conversation leaf they summarise (often one in another file); a
    // title the agent or the user gave wins.
    let mut summaries: Vec<(Option<String>, String)> = Vec::new();
    let mut custom_title: Option<String> = None;
    let mut uuids: HashSet<String> = HashSet::new();
    // Queued prompts not yet sent, and those sent whose user line is still to come.
    let mut queued: Vec<String> = Vec::new();
    let mut sent: Vec<String> = Vec::new();
    for (line_no, v) in lines {
        if let Some(u) = s(&v, "uuid") {
            uuids.insert(u.to_owned());
        }
        match s(&v, "type").unwrap_or("") {
            // A title: a summary names the conversation leaf it summarises; titles the agent
            // or the user gave win.
            "summary" => {
                if let Some(text) = s(&v, "summary") {
                    summaries.push((s(&v, "leafUuid").map(str::to_owned), text.to_owned()));
                }
            }
            "custom-title" | "ai-title" => {
                if let Some(text) = s(&v, "customTitle")
                    .or_else(|| s(&v, "aiTitle"))
                    .or_else(|| s(&v, "title"))
                {
                    custom_title = Some(text.to_owned());
                }
            }
            // A prompt typed while the agent worked, queued for its next turn.
            // A queued prompt, once dequeued, is also sent as an ordinary user line: that
            // line is then not a second prompt.
            "queue-operation" => match s(&v, "operation") {
                Some("enqueue") => {
                    if let Some(content) = v.get("content") {
                        let text = text_of(content);
                        if !text.trim().is_empty() && text.trim() != "tool_result" {
                            // A background task's notice waits in the same queue: the
                            // program's, not the person's.
                            let role = if is_program_text(&text) {
                                Role::System
                            } else {
                                Role::User
                            };
                            let mut m = Message::new(role, text.clone());
                            m.timestamp = s(&v, "timestamp").map(str::to_owned);
                            queued.push(text);
                            t.messages.push(m);
                        }
                    }
                }
                // Taken from the queue (sent as a user line later, or delivered another way):
                // the user line that carries it then is not a second message.
                Some("dequeue" | "remove") if !queued.is_empty() => {
                    let named = v.get("content").map(text_of);
                    let i = named
                        .and_then(|n| queued.iter().position(|q| q.trim() == n.trim()))
                        .unwrap_or(0);
                    sent.push(queued.remove(i));
                }
                _ => {}
            },
            // A sub-agent's turn, nested under the Task call that started it.
            "progress" => {
                let data = v.get("data").unwrap_or(&Value::Null);
                if s(data, "type") == Some("agent_progress")
                    && let Some(inner) = data.get("message")
                {
                    let parent = s(&v, "parentToolUseID").map(str::to_owned);
                    turn(&mut t, &mut st, inner, line_no, parent)?;
                }
            }
            // `claude -p --output-format stream-json`: the init names the directory, model and
            // version.
            "system" if s(&v, "subtype") == Some("init") => {
                if t.cwd.is_none() {
                    t.cwd = s(&v, "cwd").map(str::to_owned);
                }
                if t.agent.version.is_none() {
                    t.agent.version = s(&v, "claude_code_version").map(str::to_owned);
                }
                if let Some(id) = s(&v, "session_id") {
                    st.session_ids.push((id.to_owned(), 0));
                }
                // Amp writes the same stream (`amp --stream-json`), its init naming a mode.
                if v.get("agent_mode").is_some() {
                    t.agent.name = "amp".to_owned();
                }
            }
            // The end of a `-p` stream: the session's usage as the program totals it (per-line
            // usage there is often only a reply's first piece).
            "result" => {
                let mut total = Usage::default();
                let mut any = false;
                if let Some(models) = v.get("modelUsage").and_then(Value::as_object) {
                    for u in models.values() {
                        any = true;
                        add_tokens(&mut total.input_tokens, u, "inputTokens");
                        add_tokens(&mut total.output_tokens, u, "outputTokens");
                        add_tokens(&mut total.cache_read_tokens, u, "cacheReadInputTokens");
                        add_tokens(&mut total.cache_write_tokens, u, "cacheCreationInputTokens");
                    }
                } else if let Some(u) = v.get("usage") {
                    any = true;
                    total = anthropic_usage(u);
                }
                if any {
                    *st.results.get_or_insert_with(Usage::default) += total;
                }
            }
            // A slash command the person ran, and its output, logged as the program's lines.
            "system" if s(&v, "subtype") == Some("local_command") => {
                let text = s(&v, "content").unwrap_or("");
                let (role, text) = match slash_command(text) {
                    Some(command) => (Role::User, command),
                    None => (Role::System, text.to_owned()),
                };
                if !text.trim().is_empty() {
                    let mut m = Message::new(role, text);
                    m.timestamp = s(&v, "timestamp").map(str::to_owned);
                    t.messages.push(m);
                }
            }
            // The program's errors (a failed request and its retries): kept as its notices.
            "system"
                if s(&v, "subtype") == Some("api_error") || s(&v, "level") == Some("error") =>
            {
                let error = v.get("error").unwrap_or(&Value::Null);
                let detail = error
                    .pointer("/error/error/message")
                    .or_else(|| error.pointer("/error/message"))
                    .or_else(|| error.get("message"))
                    .and_then(Value::as_str)
                    .or_else(|| s(&v, "content"))
                    .unwrap_or("an error");
                let retry = match (v.get("retryAttempt"), v.get("maxRetries")) {
                    (Some(a), Some(n)) => format!(" (retry {a} of {n})"),
                    _ => String::new(),
                };
                let mut m = Message::new(Role::System, format!("API error: {detail}{retry}"));
                m.timestamp = s(&v, "timestamp").map(str::to_owned);
                t.messages.push(m);
            }
            "user" | "assistant" => {
                // The user line that carries a dequeued prompt (kept where it was queued).
                let repeated = (s(&v, "type") == Some("user"))
                    .then(|| v.get("message").and_then(|m| m.get("content")).map(text_of))
                    .flatten()
                    .and_then(|text| sent.iter().position(|q| q.trim() == text.trim()));
                if let Some(i) = repeated {
                    sent.remove(i);
                    continue;
                }
                turn(&mut t, &mut st, &v, line_no, None)?
            }
            // Snapshots, modes, links and other bookkeeping: not the conversation.
            _ => {}
        }
    }
    // A file of summaries only (Claude Code keeps such files beside the sessions): its
    // summaries are what it holds, kept as context; the conversations are in other files.
    if t.messages.is_empty() {
        for (_, text) in &summaries {
            t.messages.push(Message::new(Role::System, text.clone()));
        }
    }
    // Results whose call is not in the file (a resumed session): what they returned is kept.
    let mut orphans: Vec<(String, (Value, Option<Value>))> = st.early_results.drain().collect();
    orphans.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, (b, _)) in orphans {
        let text = output_summary(b.get("content").unwrap_or(&Value::Null));
        if !text.trim().is_empty() {
            t.messages.push(Message::new(Role::Tool, text));
        }
    }
    // Edits whose call failed (refused, not applied) are no edits.
    st.failed_edits.sort_unstable();
    st.failed_edits.dedup();
    for &(mi, ei) in st.failed_edits.iter().rev() {
        if let Some(m) = t.messages.get_mut(mi)
            && ei < m.edits.len()
        {
            m.edits.remove(ei);
        }
    }
    t.title = custom_title.or_else(|| {
        summaries
            .into_iter()
            .rev()
            .find(|(leaf, _)| leaf.as_ref().is_none_or(|l| uuids.contains(l)))
            .map(|(_, text)| text)
    });
    // The session is the one most lines name: a file continued after a compaction opens with
    // the summary of the session it continues, under that session's id.
    if let Some((id, _)) = st
        .session_ids
        .iter()
        .enumerate()
        .max_by_key(|(i, (_, n))| (*n, std::cmp::Reverse(*i)))
        .map(|(_, x)| x)
    {
        t.session_id = id.clone();
    }
    // A sub-agent's own file (`agent-<id>.jsonl`) names its parent's session: it is a session of
    // its own, never one that replaces the parent's.
    if let (false, Some(agent)) = (st.main_turns, &st.agent_id) {
        t.session_id = format!("{}:agent-{agent}", t.session_id);
    }
    if st.has_usage {
        for u in st.replies.values() {
            st.usage += *u;
        }
        t.usage = Some(st.usage);
    }
    if let Some(totals) = st.results {
        t.usage = Some(totals);
    }
    Ok(t)
}

/// What the lines of one session share while they are read.
#[derive(Default)]
struct State {
    usage: Usage,
    has_usage: bool,
    /// The usage of each reply (`message.id`), the largest count its lines state.
    replies: HashMap<String, Usage>,
    /// tool_use id → (message index, tool call index, edit index if it edits a file)
    calls: HashMap<String, (usize, usize, Option<usize>)>,
    /// Session ids the lines name, in order of first use, with how many lines name each.
    session_ids: Vec<(String, usize)>,
    /// The prompts of sub-agent (Task) calls → the call's id: a sub-agent's first turn in the
    /// same file (`isSidechain`) is the prompt its call sent.
    task_prompts: HashMap<String, String>,
    /// A sub-agent's line (uuid) → the call that started that sub-agent.
    side_parent: HashMap<String, String>,
    /// The usage `result` lines state (a `-p` stream's totals), summed.
    results: Option<Usage>,
    /// Edits whose call failed (message, edit): removed at the end.
    failed_edits: Vec<(usize, usize)>,
    /// Whether a turn of the main conversation (not a sub-agent's) was seen.
    main_turns: bool,
    /// The sub-agent id the sub-agent lines name.
    agent_id: Option<String>,
    /// Results written before their calls: the result block and the line's `toolUseResult`.
    early_results: HashMap<String, (Value, Option<Value>)>,
}

/// One `user` or `assistant` line (of the session, or of a sub-agent under `parent`).
fn turn(
    t: &mut Transcript,
    st: &mut State,
    v: &Value,
    line_no: usize,
    parent: Option<String>,
) -> Result<(), Failure> {
    let kind = s(v, "type").unwrap_or("");
    if kind != "user" && kind != "assistant" {
        return Ok(());
    }
    if let Some(id) = s(v, "sessionId")
        .or_else(|| s(v, "session_id"))
        .filter(|id| !id.is_empty())
    {
        match st.session_ids.iter_mut().find(|(known, _)| known == id) {
            Some((_, n)) => *n += 1,
            None => st.session_ids.push((id.to_owned(), 1)),
        }
    }
    if t.agent.version.is_none() {
        t.agent.version = s(v, "version").map(str::to_owned);
    }
    if t.cwd.is_none() {
        t.cwd = s(v, "cwd").map(str::to_owned);
    }
    if t.branch.is_none() {
        t.branch = s(v, "gitBranch")
            .filter(|b| !b.is_empty())
            .map(str::to_owned);
    }
    // A damaged turn (no message) is skipped and counted, never the whole file.
    let Some(message) = v.get("message") else {
        let _ = line_no;
        t.source.skipped_lines += 1;
        return Ok(());
    };
    // Context the agent injected (instructions, a compaction summary) is not the user's; nor
    // is an error the program reported in the model's place.
    let flag = |k: &str| v.get(k).and_then(Value::as_bool) == Some(true);
    let injected = ["isMeta", "isCompactSummary", "isVisibleInTranscriptOnly"]
        .iter()
        .any(|k| flag(k));
    // `isSynthetic`: a line the program wrote in the user's place (a hook's feedback).
    let synthetic_reply = kind == "assistant" && s(message, "model") == Some("<synthetic>");
    let role = if flag("isApiErrorMessage")
        || synthetic_reply
        || (kind != "assistant" && (injected || flag("isSynthetic")))
    {
        Role::System
    } else if kind == "assistant" {
        Role::Assistant
    } else {
        Role::User
    };
    let mut m = Message::new(role, "");
    m.timestamp = s(v, "timestamp").map(str::to_owned);
    // stream-json names the sub-agent call a turn belongs to.
    let parent = parent.or_else(|| s(v, "parent_tool_use_id").map(str::to_owned));
    m.sidechain = parent.is_some() || v.get("isSidechain").and_then(Value::as_bool) == Some(true);
    if parent.is_none() {
        if m.sidechain {
            if let Some(agent) = s(v, "agentId") {
                st.agent_id.get_or_insert_with(|| agent.to_owned());
            }
        } else {
            st.main_turns = true;
        }
    }
    // A sub-agent's lines in the session's own file: the first is the prompt of the Task call
    // that started it, the others follow it by `parentUuid`.
    let parent = parent.or_else(|| {
        if !m.sidechain {
            return None;
        }
        let found = s(v, "parentUuid")
            .and_then(|p| st.side_parent.get(p).cloned())
            .or_else(|| {
                let prompt = text_of(message.get("content").unwrap_or(&Value::Null));
                st.task_prompts.get(prompt.trim()).cloned()
            });
        if let (Some(id), Some(uuid)) = (&found, s(v, "uuid")) {
            st.side_parent.insert(uuid.to_owned(), id.clone());
        }
        found
    });
    m.parent_tool = parent;
    // `<synthetic>` marks messages the program made up (an interruption notice): no model.
    m.model = s(message, "model")
        .filter(|m| !m.starts_with('<'))
        .map(str::to_owned);
    if let Some(model) = &m.model {
        t.note_model(model);
    }
    // Usage once per reply: each content block of a streamed reply repeats it, the later
    // lines with the counts so far — the last line of a reply has its whole usage.
    if let Some(u) = message.get("usage") {
        st.has_usage = true;
        let usage = anthropic_usage(u);
        match s(message, "id") {
            Some(id) => {
                // The counts so far only grow: the largest of each is the reply's.
                let r = st.replies.entry(id.to_owned()).or_default();
                r.input_tokens = r.input_tokens.max(usage.input_tokens);
                r.output_tokens = r.output_tokens.max(usage.output_tokens);
                r.cache_read_tokens = r.cache_read_tokens.max(usage.cache_read_tokens);
                r.cache_write_tokens = r.cache_write_tokens.max(usage.cache_write_tokens);
            }
            None => st.usage += usage,
        }
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
                        if !st.calls.contains_key(id) && !id.is_empty() {
                            // Written before its call (lines are not always in order): kept
                            // until the call comes.
                            st.early_results.insert(
                                id.to_owned(),
                                (b.clone(), v.get("toolUseResult").cloned()),
                            );
                            continue;
                        }
                        if let Some(&(mi, ci, ei)) = st.calls.get(id) {
                            // The tool_use may be in this very line: `m`, not pushed yet.
                            let in_messages = mi < t.messages.len();
                            let msg = t.messages.get_mut(mi).unwrap_or(&mut m);
                            let call = &mut msg.tool_calls[ci];
                            call.output =
                                Some(output_summary(b.get("content").unwrap_or(&Value::Null)));
                            call.is_error =
                                b.get("is_error").and_then(Value::as_bool) == Some(true);
                            // A refused or failed edit changed nothing.
                            if call.is_error
                                && let Some(ei) = ei
                                && in_messages
                            {
                                st.failed_edits.push((mi, ei));
                            }
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
                        // A block of only a signature (the reasoning withheld) says nothing.
                        if th.trim().is_empty() {
                            continue;
                        }
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
                        if let (Some(id), Some(prompt)) = (&id, s(&input, "prompt"))
                            && matches!(name.as_str(), "Task" | "Agent")
                        {
                            st.task_prompts.insert(prompt.trim().to_owned(), id.clone());
                        }
                        if let Some(id) = &id {
                            st.calls
                                .insert(id.clone(), (t.messages.len(), m.tool_calls.len(), edit));
                        }
                        let early = id.as_ref().and_then(|i| st.early_results.remove(i));
                        let (output, is_error) = match &early {
                            Some((b, _)) => (
                                Some(output_summary(b.get("content").unwrap_or(&Value::Null))),
                                b.get("is_error").and_then(Value::as_bool) == Some(true),
                            ),
                            None => (None, false),
                        };
                        if let (Some(ei), Some((_, Some(r)))) = (edit, &early)
                            && let Some(hunks) = r
                                .get("structuredPatch")
                                .and_then(Value::as_array)
                                .filter(|h| !h.is_empty())
                        {
                            m.edits[ei].patch = Some(patch_from_hunks(hunks));
                        }
                        m.tool_calls.push(ToolCall {
                            id,
                            name,
                            input,
                            output,
                            is_error,
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
        return Ok(());
    }
    if m.role == Role::User {
        // What the IDE or the agent adds to a prompt as blocks of its own (the selection, the
        // open file, reminders) is context, kept as such before the prompt; the program's
        // notice that the user interrupted is the program's.
        let (context, prompt): (Vec<String>, Vec<String>) =
            texts.into_iter().partition(|x| is_context_block(x));
        if !context.is_empty() {
            let mut c = Message::new(Role::System, context.join("\n"));
            c.timestamp = m.timestamp.clone();
            c.sidechain = m.sidechain;
            c.parent_tool = m.parent_tool.clone();
            t.messages.push(c);
        }
        texts = prompt;
        if texts.len() == 1
            && texts[0]
                .trim_start()
                .starts_with("[Request interrupted by user")
        {
            m.role = Role::System;
        }
        // What the program shows in the user's place — a local command's or a shell's output,
        // a background task's notice — is the program's.
        if !texts.is_empty() && texts.iter().all(|x| is_program_text(x)) {
            m.role = Role::System;
        }
        // A slash command, as the person typed it: `/name args`.
        for x in &mut texts {
            if let Some(command) = slash_command(x) {
                *x = command;
            }
        }
    }
    m.text = texts.join("\n");
    // A reply of nothing factory reads (a `fallback` block, an empty streamed piece) is no turn.
    if m.text.trim().is_empty()
        && m.tool_calls.is_empty()
        && m.thinking.is_none()
        && m.edits.is_empty()
    {
        return Ok(());
    }
    t.messages.push(m);
    Ok(())
}

/// A text block the IDE or the agent added to a prompt, not typed by the user.
fn is_context_block(text: &str) -> bool {
    opens_with(
        text,
        &[
            "<ide_selection>",
            "<ide_opened_file>",
            "<ide_diagnostics>",
            "<system-reminder>",
        ],
    )
}

/// Whether a user line's text is the program's: a local command's or a shell's output, a
/// background task's notice, a caveat it adds.
fn is_program_text(text: &str) -> bool {
    opens_with(
        text,
        &[
            "<local-command-stdout>",
            "<local-command-stderr>",
            "<local-command-caveat>",
            "<bash-stdout>",
            "<bash-stderr>",
            "<task-notification>",
            "<user-prompt-submit-hook>",
        ],
    )
}

/// Whether `text` opens (after blanks) with one of `tags`.
fn opens_with(text: &str, tags: &[&str]) -> bool {
    let t = text.trim_start();
    tags.iter().any(|tag| t.starts_with(tag))
}

/// `<command-message>…</command-message><command-name>/x</command-name><command-args>y
/// </command-args>` as the person typed it: `/x y`.
fn slash_command(text: &str) -> Option<String> {
    let inner = |tag: &str| {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let start = text.find(&open)? + open.len();
        let end = start + text[start..].find(&close)?;
        Some(text[start..end].trim().to_owned())
    };
    let name = inner("command-name")?;
    let args = inner("command-args").unwrap_or_default();
    Some(if args.is_empty() {
        name
    } else {
        format!("{name} {args}")
    })
}

/// The Messages API's usage object (`input_tokens`, `output_tokens`, `cache_read_input_tokens`,
/// `cache_creation_input_tokens`).
fn anthropic_usage(u: &Value) -> Usage {
    let mut usage = Usage::default();
    add_tokens(&mut usage.input_tokens, u, "input_tokens");
    add_tokens(&mut usage.output_tokens, u, "output_tokens");
    add_tokens(&mut usage.cache_read_tokens, u, "cache_read_input_tokens");
    add_tokens(
        &mut usage.cache_write_tokens,
        u,
        "cache_creation_input_tokens",
    );
    usage
}
