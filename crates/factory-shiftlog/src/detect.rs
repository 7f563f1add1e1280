//! Which agent wrote a transcript file.

use std::fmt;

/// A transcript format factory can import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Claude Code session JSONL.
    ClaudeCode,
    /// OpenAI Codex CLI rollout JSONL.
    Codex,
    /// Gemini CLI session JSONL (with `$set` updates).
    GeminiJsonl,
    /// Gemini CLI legacy single-object JSON.
    GeminiJson,
    /// GitHub Copilot CLI events JSONL.
    CopilotJsonl,
    /// GitHub Copilot CLI legacy single-object JSON.
    CopilotJson,
    /// aider's `.aider.chat.history.md`.
    Aider,
    /// SpecStory markdown export.
    SpecStory,
    /// Cursor "Export chat" markdown.
    Cursor,
    /// Qwen Code session JSONL (Gemini-style `parts` in Claude-style lines).
    QwenCode,
    /// Cline's `api_conversation_history.json` (Anthropic Messages API turns).
    Cline,
    /// Cursor CLI `--output-format stream-json` events.
    CursorCli,
    /// Gemini CLI `--output-format stream-json` events.
    GeminiStream,
    /// OpenCode: `opencode export` JSON or `opencode run --format json` events.
    OpenCode,
    /// Goose: session JSONL, `goose run` stream-json, or exported JSON.
    Goose,
    /// The pi coding agent's session JSONL (a `session` header, then `message` entries).
    Pi,
}

impl Format {
    /// Every format with its name (as `--format` takes it).
    pub const ALL: [(Format, &'static str); 16] = [
        (Format::ClaudeCode, "claude-code"),
        (Format::Codex, "codex"),
        (Format::GeminiJsonl, "gemini"),
        (Format::GeminiJson, "gemini-json"),
        (Format::CopilotJsonl, "copilot"),
        (Format::CopilotJson, "copilot-json"),
        (Format::Aider, "aider"),
        (Format::SpecStory, "specstory"),
        (Format::Cursor, "cursor"),
        (Format::QwenCode, "qwen-code"),
        (Format::Cline, "cline"),
        (Format::CursorCli, "cursor-cli"),
        (Format::GeminiStream, "gemini-stream"),
        (Format::OpenCode, "opencode"),
        (Format::Goose, "goose"),
        (Format::Pi, "pi"),
    ];

    /// The format's name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("", |(_, n)| n)
    }

    /// Whether the format is JSON lines that can be read a line at a time (formats that also
    /// come as one document — OpenCode, Goose, Cline — are read whole).
    pub fn is_json_lines(self) -> bool {
        matches!(
            self,
            Format::ClaudeCode
                | Format::Codex
                | Format::GeminiJsonl
                | Format::CopilotJsonl
                | Format::QwenCode
                | Format::CursorCli
                | Format::GeminiStream
                | Format::Pi
        )
    }

    /// Parses a format name.
    pub fn from_name(name: &str) -> Option<Format> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }

    /// Recognises a format from the file's content, or None.
    pub fn detect(text: &str) -> Option<Format> {
        let text = strip_banner(text);
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        let goose_message = |m: &serde_json::Value| {
            m.get("role").and_then(|r| r.as_str()).is_some()
                && m.get("created").is_some_and(serde_json::Value::is_number)
                && m.get("content").is_some_and(serde_json::Value::is_array)
        };
        // A list of messages with `created` seconds: a Goose export.
        if trimmed.starts_with('[')
            && let Ok(serde_json::Value::Array(turns)) =
                serde_json::from_str::<serde_json::Value>(trimmed)
            && !turns.is_empty()
            && turns.iter().all(goose_message)
        {
            return Some(Format::Goose);
        }
        // `say` / `ask` items: Cline's UI messages.
        let cline_ui = |m: &serde_json::Value| {
            matches!(m.get("type").and_then(|t| t.as_str()), Some("say" | "ask"))
                && (m.get("say").is_some() || m.get("ask").is_some())
        };
        if trimmed.starts_with('[')
            && let Ok(serde_json::Value::Array(items)) =
                serde_json::from_str::<serde_json::Value>(trimmed)
            && !items.is_empty()
            && items.iter().all(cline_ui)
        {
            return Some(Format::Cline);
        }
        // An array of Messages API turns: Cline's conversation history.
        if trimmed.starts_with('[')
            && let Ok(serde_json::Value::Array(turns)) =
                serde_json::from_str::<serde_json::Value>(trimmed)
            && !turns.is_empty()
            && turns.iter().all(|t| {
                t.get("role").and_then(|r| r.as_str()).is_some() && t.get("content").is_some()
            })
        {
            return Some(Format::Cline);
        }
        if trimmed.starts_with('{') {
            // One JSON document, or JSON lines?
            if let Ok(serde_json::Value::Object(doc)) =
                serde_json::from_str::<serde_json::Value>(trimmed)
            {
                if doc.contains_key("messages") && doc.contains_key("sessionId") {
                    return Some(Format::GeminiJson);
                }
                if doc.contains_key("chatMessages") || doc.contains_key("timeline") {
                    return Some(Format::CopilotJson);
                }
                if doc.contains_key("info")
                    && doc
                        .get("messages")
                        .and_then(|m| m.as_array())
                        .is_some_and(|m| m.iter().any(|x| x.get("parts").is_some()))
                {
                    return Some(Format::OpenCode);
                }
                if doc.contains_key("conversation")
                    && (doc.contains_key("working_dir")
                        || doc.contains_key("accumulated_total_tokens"))
                {
                    return Some(Format::Goose);
                }
            }
            // JSON lines: the first line that says which agent wrote it (sessions often open
            // with bookkeeping lines — snapshots, modes, titles — of no format's own).
            for line in trimmed.lines().take(500) {
                // The first object of the line: a torn line may hold two.
                let Some(Ok(serde_json::Value::Object(line))) =
                    serde_json::Deserializer::from_str(line)
                        .into_iter::<serde_json::Value>()
                        .next()
                else {
                    continue;
                };
                if let Some(format) = Format::of_line(&line) {
                    return Some(format);
                }
            }
            return None;
        }
        if text.contains("# aider chat started at") {
            return Some(Format::Aider);
        }
        let mut end = text.len().min(4096);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let head = &text[..end];
        if (text.contains("_**User")
            && (text.contains("_**Assistant") || text.contains("_**Agent")))
            || head.contains("<!-- Generated by SpecStory")
        {
            return Some(Format::SpecStory);
        }
        if text.contains("**User**") && text.contains("**Cursor**") {
            return Some(Format::Cursor);
        }
        None
    }
}

impl Format {
    /// The format one JSON line belongs to, if it tells.
    fn of_line(line: &serde_json::Map<String, serde_json::Value>) -> Option<Format> {
        let has = |k: &str| line.contains_key(k);
        let kind = line.get("type").and_then(|t| t.as_str()).unwrap_or("");
        if has("payload") && has("timestamp") {
            return Some(Format::Codex);
        }
        // Cline's `--json` events.
        if (matches!(kind, "say" | "ask") && (has("say") || has("ask")))
            || (kind == "task_started" && has("taskId"))
        {
            return Some(Format::Cline);
        }
        // OpenCode run events: a `part` of a `sessionID`.
        if has("sessionID") && has("part") {
            return Some(Format::OpenCode);
        }
        // Goose: the session's metadata line, or messages with `created` seconds.
        let created =
            |m: &serde_json::Value| m.get("created").is_some_and(serde_json::Value::is_number);
        if has("working_dir") && (has("message_count") || has("total_tokens") || has("description"))
        {
            return Some(Format::Goose);
        }
        if (kind == "message" && line.get("message").is_some_and(created))
            || (has("role")
                && line
                    .get("created")
                    .is_some_and(serde_json::Value::is_number)
                && line.get("content").is_some_and(serde_json::Value::is_array))
        {
            return Some(Format::Goose);
        }
        // Cursor's editor agent transcripts: `{role, message: {content}}` and nothing else.
        if !has("type")
            && matches!(
                line.get("role").and_then(|r| r.as_str()),
                Some("user" | "assistant")
            )
            && line.len() == 2
            && line
                .get("message")
                .is_some_and(|m| m.get("content").is_some())
        {
            return Some(Format::CursorCli);
        }
        // pi: a `session` header with a format version, and entries that chain by `parentId`.
        if (kind == "session" && has("id") && has("cwd"))
            || (matches!(
                kind,
                "message" | "model_change" | "thinking_level_change" | "custom_message"
            ) && has("parentId")
                && has("id"))
        {
            return Some(Format::Pi);
        }
        // Claude Code's own `--output-format stream-json`: `session_id` envelopes whose turns
        // name the sub-agent call they belong to, and an init listing tools and MCP servers.
        if has("session_id")
            && (has("parent_tool_use_id")
                || (kind == "system"
                    && (has("tools") || has("mcp_servers") || has("claude_code_version"))))
        {
            return Some(Format::ClaudeCode);
        }
        // Cursor CLI: Claude-like envelopes without Claude's uuids, tool calls by `call_id`.
        if has("session_id")
            && (kind == "tool_call"
                || has("apiKeySource")
                || has("model_call_id")
                || has("timestamp_ms")
                || (matches!(kind, "user" | "assistant")
                    && has("message")
                    && !has("uuid")
                    && !has("parent_tool_use_id")))
        {
            return Some(Format::CursorCli);
        }
        // Gemini CLI stream-json: flat events with an ISO timestamp.
        if has("timestamp")
            && ((kind == "init" && has("session_id") && has("model"))
                || (kind == "message" && has("role") && has("content") && !has("message"))
                || (kind == "tool_use" && has("tool_name"))
                || (kind == "tool_result" && has("tool_id")))
        {
            return Some(Format::GeminiStream);
        }
        if has("data") && kind.contains('.') {
            return Some(Format::CopilotJsonl);
        }
        if has("projectHash") || (has("sessionId") && has("startTime")) {
            return Some(Format::GeminiJsonl);
        }
        let message = line.get("message").and_then(|m| m.as_object());
        if matches!(kind, "user" | "assistant" | "tool_result" | "system")
            && (has("parentUuid") || has("sessionId") || has("uuid"))
        {
            // Qwen Code keeps Gemini's `parts`; Claude Code has `content`.
            if message.is_some_and(|m| m.contains_key("parts")) {
                return Some(Format::QwenCode);
            }
            if message.is_some_and(|m| m.contains_key("content")) {
                return Some(Format::ClaudeCode);
            }
        }
        let claude_only = matches!(
            kind,
            "file-history-snapshot" | "queue-operation" | "progress" | "custom-title" | "ai-title"
        );
        if claude_only || (kind == "summary" && has("leafUuid")) {
            return Some(Format::ClaudeCode);
        }
        None
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A JSON document with a few lines of a program's output before it (`opencode export > file`
/// keeps `Exporting session: ses_…`): the document. Any other text is returned as it is.
pub(crate) fn strip_banner(text: &str) -> &str {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with(['{', '[']) {
        return text;
    }
    let mut at = 0;
    for line in text.split_inclusive('\n').take(5) {
        at += line.len();
        let rest = &text[at..];
        if rest.trim_start().starts_with(['{', '['])
            && serde_json::from_str::<serde::de::IgnoredAny>(rest.trim()).is_ok()
        {
            return rest;
        }
    }
    text
}
