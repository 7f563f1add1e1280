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
            let path = if back > 0 {
                lines[back - 1].trim().to_owned()
            } else {
                String::new()
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
            edits.push(Edit {
                path,
                patch: Some(patch),
            });
        }
        i += 1;
    }
    edits
}

pub(crate) fn import_aider(text: &str) -> Imported {
    let mut t = Transcript::new("aider", "aider", VERSION);
    let mut stamp: Option<String> = None;
    let mut seen_user = false;
    for line in text.lines() {
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
        if let Some(user) = line
            .strip_prefix("#### ")
            .or_else(|| (line == "####").then_some(""))
        {
            seen_user = true;
            push_line(&mut t, Role::User, user, &stamp);
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
            if let Some(model) = out.strip_prefix("Main model: ") {
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
        if let Some(model) = m
            .text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Main model: "))
        {
            let model = model.split_whitespace().next().unwrap_or("").to_owned();
            if !t.models.contains(&model) && !model.is_empty() {
                t.models.push(model);
            }
        }
        if m.role == Role::Assistant {
            m.edits = aider_edits(&m.text);
        }
    }
    t.messages.retain(|m| !m.text.trim().is_empty());
    trim_messages(&mut t);
    Ok(t)
}

/// A `<details><summary>…</summary>` block of a SpecStory turn, as a tool call.
fn specstory_tools(text: &str) -> Vec<ToolCall> {
    text.match_indices("<summary>")
        .filter_map(|(at, _)| {
            let rest = &text[at + "<summary>".len()..];
            let summary = &rest[..rest.find("</summary>")?];
            let name = summary
                .split(['•', '"'])
                .next()
                .unwrap_or(summary)
                .trim()
                .trim_start_matches("Tool use:")
                .trim()
                .trim_matches('*')
                .to_owned();
            Some(ToolCall {
                id: None,
                name,
                input: Value::String(summary.trim().to_owned()),
                output: None,
                is_error: false,
            })
        })
        .collect()
}

/// Splits a markdown export at header lines, each giving a role and maybe a timestamp.
fn split_turns(
    t: &mut Transcript,
    text: &str,
    header: impl Fn(&str) -> Option<(Role, Option<String>)>,
) {
    for line in text.lines() {
        if let Some((role, stamp)) = header(line.trim()) {
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
    split_turns(&mut t, text, |line| {
        let inner = line.strip_prefix("_**")?.strip_suffix("**_")?;
        let (who, stamp) = match inner.split_once(" (") {
            Some((who, rest)) => (who, Some(rest.trim_end_matches(')').to_owned())),
            None => (inner, None),
        };
        let role = match who {
            "User" => Role::User,
            "Assistant" => Role::Assistant,
            _ => return None,
        };
        Some((role, stamp))
    });
    for m in &mut t.messages {
        if m.role == Role::Assistant {
            m.tool_calls = specstory_tools(&m.text);
        }
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
