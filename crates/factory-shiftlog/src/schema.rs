//! The normalised transcript, schema `factory.transcript/v1`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version tag of the transcript schema.
pub const SCHEMA: &str = "factory.transcript/v1";

/// One agent session, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcript {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The session id the agent gave, or a digest of the file when it gave none.
    pub session_id: String,
    /// Which agent.
    pub agent: Agent,
    /// Models that answered, in order of first use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// A title, when the agent stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Time of the first message (as the source wrote it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Time of the last message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Working directory of the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Git branch, when the agent recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Git commit the session started from, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The conversation, in order.
    pub messages: Vec<Message>,
    /// Token usage summed over the session, when the source has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Where the transcript came from.
    pub source: Source,
    /// What redaction replaced, by kind.
    #[serde(default)]
    pub redactions: BTreeMap<String, u64>,
    /// `sha256:` of the canonical JSON of everything else (see [`Transcript::compute_digest`]).
    #[serde(default)]
    pub digest: String,
}

/// The agent that produced a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// e.g. `claude-code`, `codex`, `gemini-cli`, `copilot-cli`, `aider`, `cursor`.
    pub name: String,
    /// The agent's version, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Who speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person.
    User,
    /// The model.
    Assistant,
    /// The agent program (instructions, notices).
    System,
    /// Tool output shown in the conversation.
    Tool,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// When, as the source wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// The model's reasoning, when the source kept it and the policy keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// Tool calls made in this turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Files edited in this turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<Edit>,
    /// The model that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Part of a sub-agent's side conversation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sidechain: bool,
    /// For a sub-agent's turn: the id of the tool call that started the sub-agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_tool: Option<String>,
}

impl Message {
    /// A message with a role and text and nothing else.
    pub fn new(role: Role, text: impl Into<String>) -> Message {
        Message {
            role,
            timestamp: None,
            text: text.into(),
            thinking: None,
            tool_calls: Vec::new(),
            edits: Vec::new(),
            model: None,
            sidechain: false,
            parent_tool: None,
        }
    }
}

/// A tool call and a summary of what it returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    /// The call id, to pair it with its result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Tool name.
    pub name: String,
    /// Its input, as the agent sent it.
    #[serde(default)]
    pub input: serde_json::Value,
    /// The start of its output (at most [`OUTPUT_SUMMARY_BYTES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The tool reported an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
}

/// How much of a tool's output is kept.
pub const OUTPUT_SUMMARY_BYTES: usize = 2000;

/// A file edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// The file, as the agent named it.
    pub path: String,
    /// A unified-diff-like patch, when the source has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
}

/// Token counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    /// Input tokens (not read from cache).
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from a cache.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// Input tokens written to a cache.
    #[serde(default)]
    pub cache_write_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
    }
}

/// Where a transcript came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The format's name (see [`crate::Format`]).
    pub format: String,
    /// The version of factory's importer for that format.
    pub importer_version: u32,
    /// The file's name (without directories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Lines of the file that could not be read (damaged) and were skipped; an auditor sees
    /// that the transcript is not whole.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped_lines: u64,
    /// The size of the session as read, in bytes: a note is never larger (its line is stored
    /// compressed when the JSON would be).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bytes: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
pub(crate) fn summary(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    // Cut at a space or a line's end when one is near: a secret (redaction comes after) is
    // then kept whole or dropped whole, never cut in two.
    if let Some(space) = text[..end].rfind(|c: char| c.is_whitespace())
        && space >= max - max / 4
    {
        end = space;
    }
    // Sized exactly: a long session holds thousands of these.
    let marker = format!("… [{} more bytes]", text.len() - end);
    let mut out = String::with_capacity(end + marker.len());
    out.push_str(&text[..end]);
    out.push_str(&marker);
    out
}

impl Transcript {
    /// An empty transcript of the given agent and format.
    pub fn new(agent: &str, format: &str, importer_version: u32) -> Transcript {
        Transcript {
            schema: SCHEMA.to_owned(),
            session_id: String::new(),
            agent: Agent {
                name: agent.to_owned(),
                version: None,
            },
            models: Vec::new(),
            title: None,
            started_at: None,
            ended_at: None,
            cwd: None,
            branch: None,
            commit: None,
            messages: Vec::new(),
            usage: None,
            source: Source {
                format: format.to_owned(),
                importer_version,
                file: None,
                skipped_lines: 0,
                bytes: 0,
            },
            redactions: BTreeMap::new(),
            digest: String::new(),
        }
    }

    /// Adds a model to [`Transcript::models`] unless it is there.
    pub fn note_model(&mut self, model: &str) {
        if !model.is_empty() && !self.models.iter().any(|m| m == model) {
            self.models.push(model.to_owned());
        }
    }

    /// Sets the start and end times from the messages' timestamps where the source gave none.
    pub fn fill_times(&mut self) {
        // RFC 3339 times in one zone order as text: the earliest and the latest (lines are
        // not always written in time order); other forms: the first and the last.
        let stamps: Vec<&String> = self
            .messages
            .iter()
            .filter_map(|m| m.timestamp.as_ref())
            .collect();
        let rfc3339 = !stamps.is_empty()
            && stamps.iter().all(|t| {
                let b = t.as_bytes();
                b.len() >= 20 && b[4] == b'-' && b[10] == b'T' && t.ends_with('Z')
            });
        let (first, last) = if rfc3339 {
            (
                stamps.iter().min().map(|t| (*t).clone()),
                stamps.iter().max().map(|t| (*t).clone()),
            )
        } else {
            (
                stamps.first().map(|t| (*t).clone()),
                stamps.last().map(|t| (*t).clone()),
            )
        };
        if self.started_at.is_none() {
            self.started_at = first;
        }
        if self.ended_at.is_none() {
            self.ended_at = last;
        }
    }

    /// Number of tool calls over all messages.
    pub fn tool_call_count(&self) -> usize {
        self.messages.iter().map(|m| m.tool_calls.len()).sum()
    }

    /// Number of edits over all messages.
    pub fn edit_count(&self) -> usize {
        self.messages.iter().map(|m| m.edits.len()).sum()
    }

    /// The digest of the transcript's content: SHA-256 over its canonical JSON (keys sorted,
    /// no insignificant whitespace) with `digest` itself empty.
    pub fn compute_digest(&self) -> String {
        // serde_json::Value keeps object keys sorted (BTreeMap), which makes its JSON
        // canonical. The top level is written key by key and the messages one at a time, so
        // a long session is never copied or held as one value tree.
        let shallow = Transcript {
            schema: self.schema.clone(),
            session_id: self.session_id.clone(),
            agent: self.agent.clone(),
            models: self.models.clone(),
            title: self.title.clone(),
            started_at: self.started_at.clone(),
            ended_at: self.ended_at.clone(),
            cwd: self.cwd.clone(),
            branch: self.branch.clone(),
            commit: self.commit.clone(),
            messages: Vec::new(),
            usage: self.usage,
            source: self.source.clone(),
            redactions: self.redactions.clone(),
            digest: String::new(),
        };
        let mut hasher = Sha256::new();
        let top = serde_json::to_value(&shallow).unwrap_or_default();
        hasher.update(b"{");
        if let serde_json::Value::Object(map) = &top {
            for (i, (key, value)) in map.iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                hasher.update(serde_json::to_vec(key).unwrap_or_default());
                hasher.update(b":");
                if key == "messages" {
                    hasher.update(b"[");
                    for (j, m) in self.messages.iter().enumerate() {
                        if j > 0 {
                            hasher.update(b",");
                        }
                        let v = serde_json::to_value(m).unwrap_or_default();
                        hasher.update(serde_json::to_vec(&v).unwrap_or_default());
                    }
                    hasher.update(b"]");
                } else {
                    hasher.update(serde_json::to_vec(value).unwrap_or_default());
                }
            }
        }
        hasher.update(b"}");
        let hash = hasher.finalize();
        let mut out = String::from("sha256:");
        for b in hash {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// The digest as first defined: the canonical JSON of a copy, as one value tree. Kept to
    /// check [`Transcript::compute_digest`] against.
    #[doc(hidden)]
    pub fn compute_digest_whole(&self) -> String {
        let mut copy = self.clone();
        copy.digest = String::new();
        let value = serde_json::to_value(&copy).unwrap_or_default();
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        let hash = Sha256::digest(&bytes);
        let mut out = String::from("sha256:");
        for b in hash {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// Sets [`Transcript::digest`].
    pub fn seal(&mut self) {
        self.digest = self.compute_digest();
    }
}

#[cfg(test)]
mod summary_tests {
    use super::summary;

    /// A cut falls at a space near the limit, so that a secret after it is dropped whole
    /// rather than kept in part for redaction to miss.
    #[test]
    fn a_cut_never_splits_a_word_near_the_limit() {
        let text = format!("{}\"password\": \"Xk3pq9Lm2zR\", more", "x ".repeat(990));
        let cut = summary(&text, 1990);
        assert!(!cut.contains("Xk3p"), "{}", &cut[cut.len() - 60..]);
        assert!(cut.ends_with(" more bytes]"));
        // One long word: cut at the limit, on a character boundary.
        let word = "é".repeat(2000);
        let cut = summary(&word, 2001);
        assert!(cut.starts_with(&"é".repeat(1000)));
    }
}
