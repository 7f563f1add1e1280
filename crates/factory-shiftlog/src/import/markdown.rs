//! Markdown transcripts: aider's chat history, SpecStory exports and Cursor's "Export chat".

use serde_json::Value;

use super::Imported;
use crate::schema::{Edit, Message, Role, ToolCall, Transcript};

const VERSION: u32 = 1;

/// Appends `line` to the last message if it has `role`, else starts a new message.
fn push_line(t: &mut Transcript, role: Role, line: &str, stamp: &Option<String>) {
    match t.messages.last_mut() {
        Some(m) if m.role == role => {
            m.text.push('\n');
            m.text.push_str(line);
        }
        _ => {
            let mut m = Message::new(role, line);
            m.timestamp = stamp.clone();
            t.messages.push(m);
        }
    }
}

fn trim_messages(t: &mut Transcript) {
    for m in &mut t.messages {
        let text = m
            .text
            .trim()
            .trim_start_matches("---")
            .trim_end_matches("---")
            .trim()
            .to_owned();
        m.text = text;
    }
}

/// aider's SEARCH/REPLACE blocks in an assistant message: the file is named on the line before
/// the block (or before its opening fence).
fn aider_edits(text: &str) -> Vec<Edit> {
    let lines: Vec<&str> = text.lines().collect();
    let mut edits = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() == "<<<<<<< SEARCH" {
            let mut back = i;
            while back > 0
                && (lines[back - 1].trim().is_empty()
                    || lines[back - 1].trim_start().starts_with("```"))
            {
                back -= 1;
            }
            // The path as aider writes it: bare, or as a `### ` heading, in backticks or bold,
            // with Windows separators.
            let path = if back > 0 {
                lines[back - 1]
                    .trim()
                    .trim_start_matches('#')
                    .trim()
                    .trim_matches(['`', '*'])
                    .replace('\\', "/")
            } else {
                String::new()
            };
            // What stands before the block is a path, or prose (a failed block's correction):
            // prose names no file.
            let path =
                if path.is_empty() || path.contains(char::is_whitespace) || path.ends_with(':') {
                    String::new()
                } else {
                    path
                };
            let mut patch = String::new();
            let mut sign = '-';
            i += 1;
            while i < lines.len() && lines[i].trim_end() != ">>>>>>> REPLACE" {
                if lines[i].trim_end() == "=======" {
                    sign = '+';
                } else {
                    patch.push(sign);
                    patch.push_str(lines[i]);
                    patch.push('\n');
                }
                i += 1;
            }
            if !path.is_empty() {
                edits.push(Edit {
                    path,
                    patch: Some(patch),
                });
            }
        }
        i += 1;
    }
    edits
}

pub(crate) fn import_aider(text: &str) -> Imported {
    let mut t = Transcript::new("aider", "aider", VERSION);
    let mut stamp: Option<String> = None;
    let mut seen_user = false;
    // aider ends each line of the user's input with a Markdown line break (two spaces): where
    // it does, a `#### ` line without one is a heading of the reply, not a prompt.
    let hard_breaks = text
        .lines()
        .any(|l| l.starts_with("#### ") && l.ends_with("  "));
    // A blank line ends an input: the next `#### ` line is another one.
    let mut blank = false;
    for line in text.lines() {
        let was_blank = std::mem::replace(&mut blank, line.trim().is_empty());
        if let Some(date) = line.strip_prefix("# aider chat started at ") {
            stamp = Some(date.trim().to_owned());
            if t.started_at.is_none() {
                t.started_at = stamp.clone();
            }
            seen_user = false;
            // A new session starts a new message even if the roles match.
            let mut start = Message::new(Role::System, "");
            start.timestamp = stamp.clone();
            t.messages.push(start);
            continue;
        }
        let user = line
            .strip_prefix("#### ")
            .or_else(|| (line == "####").then_some(""))
            .filter(|_| !hard_breaks || line.ends_with("  ") || line.trim_end() == "####");
        if let Some(user) = user {
            seen_user = true;
            if was_blank && t.messages.last().is_some_and(|m| m.role == Role::User) {
                let mut m = Message::new(Role::User, "");
                m.timestamp = stamp.clone();
                t.messages.push(m);
            }
            push_line(&mut t, Role::User, user.trim_end(), &stamp);
        } else if !seen_user {
            // Before the first request: aider's start-up output and the command line.
            push_line(
                &mut t,
                Role::System,
                line.strip_prefix("> ").unwrap_or(line),
                &stamp,
            );
        } else if let Some(out) = line
            .strip_prefix("> ")
            .or_else(|| (line == ">").then_some(""))
        {
            if let Some(rest) = out.strip_prefix("Commit ")
                && t.commit.is_none()
            {
                t.commit = rest.split_whitespace().next().map(str::to_owned);
            }
            if let Some(model) = out
                .strip_prefix("Main model: ")
                .or_else(|| out.strip_prefix("Model: "))
                .or_else(|| out.strip_prefix("Models: "))
            {
                t.note_model(model.split_whitespace().next().unwrap_or(""));
            }
            push_line(&mut t, Role::Tool, out, &stamp);
        } else if line.trim().is_empty() {
            if let Some(m) = t.messages.last_mut() {
                m.text.push('\n');
            }
        } else {
            push_line(&mut t, Role::Assistant, line, &stamp);
        }
    }
    for m in &mut t.messages {
        if let Some(version) = m
            .text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Aider v"))
        {
            t.agent
                .version
                .get_or_insert_with(|| version.trim().to_owned());
        }
        if let Some(model) = m.text.lines().find_map(|l| {
            l.trim()
                .strip_prefix("Main model: ")
                .or_else(|| l.trim().strip_prefix("Model: "))
                .or_else(|| l.trim().strip_prefix("Models: "))
        }) {
            let model = model.split_whitespace().next().unwrap_or("").to_owned();
            if !t.models.contains(&model) && !model.is_empty() {
                t.models.push(model);
            }
        }
        if m.role == Role::Assistant {
            m.edits = aider_edits(&m.text);
            // `<thinking-content-HASH>…</thinking-content-HASH>`: the model's reasoning, as
            // aider shows it for reasoning models.
            let (text, thinking) =
                take_tagged(&m.text, "<thinking-content-", "</thinking-content-");
            if !thinking.is_empty() {
                m.text = text;
                m.thinking = Some(thinking.join("\n"));
            }
        }
    }
    // Whole-file and architect edits show no SEARCH/REPLACE block, only aider's
    // `Applied edit to PATH`: the file goes to the reply that made it.
    let mut last_reply: Option<usize> = None;
    for i in 0..t.messages.len() {
        match t.messages[i].role {
            Role::Assistant => last_reply = Some(i),
            Role::Tool => {
                let applied: Vec<String> = t.messages[i]
                    .text
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix("Applied edit to "))
                    .map(|p| p.trim().replace('\\', "/"))
                    .collect();
                if let Some(r) = last_reply {
                    for path in applied {
                        if !t.messages[r].edits.iter().any(|e| e.path == path) {
                            t.messages[r].edits.push(Edit { path, patch: None });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    t.messages
        .retain(|m| !m.text.trim().is_empty() || m.thinking.is_some());
    trim_messages(&mut t);
    // The person's answer to one of aider's questions (`Add file to the chat? (Y)es/(N)o…:
    // skip`) is logged as input: it answers the program, it asks the model nothing.
    for m in &mut t.messages {
        if m.role == Role::User && m.text.lines().count() == 1 && m.text.contains("(Y)es/(N)o") {
            m.role = Role::System;
        }
    }
    // In architect mode aider hands the architect's reply to the editor model as input, logged
    // like the user's: a "prompt" that repeats the reply before it is aider's.
    let mut last_reply: Option<String> = None;
    for m in &mut t.messages {
        match m.role {
            Role::Assistant => last_reply = Some(m.text.trim().to_owned()),
            Role::User
                if last_reply.as_deref() == Some(m.text.trim()) && !m.text.trim().is_empty() =>
            {
                m.role = Role::System;
            }
            _ => {}
        }
    }
    Ok(t)
}

/// The `<details><summary>…</summary>…</details>` blocks of a SpecStory turn: thinking
/// (`Thought Process`), file edits (`Edit file: PATH`, with the diff inside when there is one)
/// and tool calls.
fn specstory_blocks(m: &mut Message) {
    let text = m.text.clone();
    let mut thinking = Vec::new();
    for (at, _) in text.match_indices("<summary>") {
        let rest = &text[at + "<summary>".len()..];
        let Some(end) = rest.find("</summary>") else {
            continue;
        };
        let summary = rest[..end].trim();
        let body = &rest[end + "</summary>".len()..];
        let body = body[..body.find("</details>").unwrap_or(body.len())].trim();
        if summary.starts_with("Thought Process") {
            thinking.push(body.to_owned());
            continue;
        }
        if let Some(path) = summary.strip_prefix("Edit file:") {
            let patch = body
                .split("```")
                .nth(1)
                .map(|fenced| fenced.split_once('\n').map_or("", |(_, p)| p).to_owned());
            m.edits.push(Edit {
                path: path.trim().trim_matches(['`', '*']).to_owned(),
                patch,
            });
        }
        // `Tool use: **Bash**` (SpecStory 2), or the older `Listed directory src`, `Grep
        // for "x" • 3 matches`: the tool's name, without its arguments.
        let name = match summary.strip_prefix("Tool use:") {
            Some(rest) => rest
                .trim()
                .trim_matches('*')
                .split("**")
                .next()
                .unwrap_or(""),
            None => summary.split(['•', '"', ':']).next().unwrap_or(summary),
        }
        .trim()
        .trim_matches('*')
        .trim()
        .to_owned();
        m.tool_calls.push(ToolCall {
            id: None,
            name,
            input: Value::String(summary.to_owned()),
            // What the block shows: the call's arguments and what it returned.
            output: Some(body)
                .filter(|b| !b.is_empty())
                .map(|b| crate::schema::summary(b, crate::schema::OUTPUT_SUMMARY_BYTES)),
            is_error: false,
        });
    }
    if !thinking.is_empty() {
        m.thinking = Some(thinking.join("\n"));
        // The reasoning is kept apart (and dropped unless the policy keeps it), not in the text.
        m.text = without_thinking(&m.text);
    }
}

/// `text` without its `<think>…</think>` and `<details><summary>Thought Process…</details>`
/// blocks.
fn without_thinking(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let think = rest.find("<think>");
        let details = rest
            .match_indices("<details>")
            .find(|(i, _)| {
                rest[i + "<details>".len()..]
                    .trim_start()
                    .starts_with("<summary>Thought Process")
            })
            .map(|(i, _)| i);
        let (start, close) = match (think, details) {
            (Some(a), Some(b)) if b < a => (b, "</details>"),
            (Some(a), _) => (a, "</think>"),
            (None, Some(b)) => (b, "</details>"),
            (None, None) => break,
        };
        out.push_str(&rest[..start]);
        match rest[start..].find(close) {
            Some(end) => rest = &rest[start + end + close.len()..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out.trim().to_owned()
}

/// Splits a markdown export at header lines, each giving a role and maybe a timestamp.
fn split_turns(
    t: &mut Transcript,
    text: &str,
    mut header: impl FnMut(&str) -> Option<(Role, Option<String>)>,
) {
    for line in text.lines() {
        // A header starts its line: one indented (in a diff, in a quoted block) is text.
        if let Some((role, stamp)) = header(line.trim_end()) {
            let mut m = Message::new(role, "");
            m.timestamp = stamp;
            t.messages.push(m);
        } else if let Some(m) = t.messages.last_mut() {
            m.text.push_str(line);
            m.text.push('\n');
        } else if let Some(title) = line.strip_prefix("# ") {
            t.title.get_or_insert_with(|| title.trim().to_owned());
        }
    }
    trim_messages(t);
}

pub(crate) fn import_specstory(text: &str) -> Imported {
    let mut t = Transcript::new("cursor", "specstory", VERSION);
    // `<!-- Claude Code Session 24302aa3-… (2025-12-22_19-14-11Z) -->`: the agent SpecStory
    // recorded, and its session id (exports of Cursor name none: Cursor is the default).
    for line in text.lines().take(40) {
        let Some(inner) = line
            .trim()
            .strip_prefix("<!--")
            .and_then(|l| l.strip_suffix("-->"))
        else {
            continue;
        };
        let Some((agent, rest)) = inner.trim().split_once(" Session ") else {
            continue;
        };
        t.agent.name = match agent.trim() {
            "Claude Code" => "claude-code".to_owned(),
            "Codex CLI" | "Codex" => "codex".to_owned(),
            "Gemini CLI" => "gemini-cli".to_owned(),
            other => other.to_lowercase().replace(' ', "-"),
        };
        if let Some(id) = rest.split_whitespace().next() {
            t.session_id = id.to_owned();
        }
        break;
    }
    // Headers: `_**User (2025-10-03 10:00Z)**_`, `_**Assistant**_`, and since SpecStory 2
    // `_**Agent (model gpt-5, mode Agent)**_`, `_**Agent (claude-sonnet-4-5)**_`,
    // `_**Agent (gpt-5.1-codex-max 2025-12-05T00:36:08.562Z)**_`, with ` (sidechain)` after a
    // sub-agent's: the parenthesis holds a time, a model, or both.
    let mut turns: Vec<(Option<String>, bool)> = Vec::new();
    split_turns(&mut t, text, |line| {
        let inner = line.strip_prefix("_**")?.strip_suffix("**_")?;
        let (inner, sidechain) = match inner.strip_suffix(" (sidechain)") {
            Some(rest) => (rest, true),
            None => (inner, false),
        };
        let (who, paren) = match inner.split_once(" (") {
            Some((who, rest)) => (who, Some(rest.strip_suffix(')')?.trim())),
            None => (inner, None),
        };
        let role = match who {
            "User" => Role::User,
            "Assistant" | "Agent" => Role::Assistant,
            _ => return None,
        };
        let (model, stamp) = match paren {
            Some(p) if p.starts_with("model ") || p.starts_with("mode ") => (
                p.strip_prefix("model ")
                    .map(|m| m.split(',').next().unwrap_or(m).trim().to_owned()),
                None,
            ),
            Some(p) => {
                // Time words start with a digit (`2025-12-05T00:36:08Z`, `2025-10-03 10:00Z`).
                let (time, model): (Vec<&str>, Vec<&str>) = p
                    .split_whitespace()
                    .partition(|w| w.starts_with(|c: char| c.is_ascii_digit()));
                let model = model.join(" ");
                (
                    Some(model).filter(|m| !m.is_empty()),
                    Some(time.join(" ")).filter(|t| !t.is_empty()),
                )
            }
            None => (None, None),
        };
        // `default` is Cursor's automatic choice and `<synthetic>` a message the program
        // made: no model answered by that name.
        let model = model.filter(|m| m != "default" && !m.starts_with('<'));
        turns.push((model, sidechain));
        Some((role, stamp))
    });
    for (m, (model, sidechain)) in t.messages.iter_mut().zip(turns.clone()) {
        m.sidechain = sidechain;
        if m.role == Role::Assistant {
            m.model = model;
            specstory_blocks(m);
        }
    }
    for model in turns.into_iter().filter_map(|(m, _)| m) {
        t.note_model(&model);
    }
    // `# Code Analysis and Output Review (2025-03-28 12:54:20)`: the title, and when it began.
    if let Some(title) = t.title.clone()
        && let Some((name, when)) = title.trim_end_matches(')').rsplit_once(" (")
        && title.ends_with(')')
        && when.starts_with(|c: char| c.is_ascii_digit())
    {
        t.title = Some(name.trim().to_owned());
        t.started_at.get_or_insert_with(|| when.trim().to_owned());
    }
    Ok(t)
}

pub(crate) fn import_cursor(text: &str) -> Imported {
    let mut t = Transcript::new("cursor", "cursor", VERSION);
    if let Some(line) = text.lines().find(|l| l.starts_with("_Exported on ")) {
        if let Some(v) = line
            .rsplit_once("(")
            .map(|(_, v)| v.trim_end_matches(")_").trim_end_matches(')'))
        {
            t.agent.version = Some(v.to_owned());
        }
        t.started_at = line
            .strip_prefix("_Exported on ")
            .and_then(|r| r.split(" from ").next())
            .map(str::to_owned);
    }
    split_turns(&mut t, text, |line| match line {
        "**User**" => Some((Role::User, None)),
        "**Cursor**" => Some((Role::Assistant, None)),
        _ => None,
    });
    Ok(t)
}

/// `text` without its blocks opened by `open…>` and closed by `close…>` (the tag may carry a
/// suffix, as aider's hashes), and the blocks' bodies.
fn take_tagged(text: &str, open: &str, close: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut bodies = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        let Some(gt) = rest[start..].find('>') else {
            break;
        };
        let body_start = start + gt + 1;
        let Some(end) = rest[body_start..].find(close) else {
            break;
        };
        let body_end = body_start + end;
        let after = rest[body_end..]
            .find('>')
            .map_or(rest.len(), |i| body_end + i + 1);
        out.push_str(&rest[..start]);
        bodies.push(rest[body_start..body_end].trim().to_owned());
        rest = &rest[after..];
    }
    out.push_str(rest);
    (out.trim().to_owned(), bodies)
}
