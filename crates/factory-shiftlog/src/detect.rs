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
}

impl Format {
    /// Every format with its name (as `--format` takes it).
    pub const ALL: [(Format, &'static str); 11] = [
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
    ];

    /// The format's name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("", |(_, n)| n)
    }

    /// Parses a format name.
    pub fn from_name(name: &str) -> Option<Format> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }

    /// Recognises a format from the file's content, or None.
    pub fn detect(text: &str) -> Option<Format> {
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
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
        if text.contains("_**User") && (text.contains("_**Assistant") || text.contains("_**Agent"))
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
