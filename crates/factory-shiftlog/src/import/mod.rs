//! Importers, one per format, each turning a file into a [`Transcript`].

mod claude;
mod cline;
mod codex;
mod copilot;
mod gemini;
mod markdown;
mod qwen;
pub(crate) mod stream;

use crate::detect::Format;
use crate::schema::Transcript;

/// A transcript that cannot be imported: the file, the line, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ImportError {
    /// The file's name.
    pub file: String,
    /// The 1-based line, when the problem is on one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// Reads every session of a file: an aider history holds one session per `# aider chat
/// started at` line, and each becomes a transcript of its own (sessions without a request —
/// aider started and left — are dropped when others have one); every other format holds one.
pub fn import_sessions(
    file: &str,
    text: &str,
    format: Option<Format>,
) -> Result<Vec<Transcript>, ImportError> {
    let detected = format.or_else(|| Format::detect(text));
    if detected != Some(Format::Aider) {
        return import(file, text, format).map(|t| vec![t]);
    }
    let mut chunks: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with("# aider chat started at ") || chunks.is_empty() {
            chunks.push(String::new());
        }
        if let Some(last) = chunks.last_mut() {
            last.push_str(line);
        }
    }
    let sessions: Vec<Transcript> = chunks
        .iter()
        .filter_map(|chunk| import(file, chunk, Some(Format::Aider)).ok())
        .collect();
    let asked = |t: &Transcript| {
        t.messages
            .iter()
            .any(|m| m.role == crate::schema::Role::User && !m.text.trim().is_empty())
    };
    if sessions.iter().any(asked) {
        Ok(sessions.into_iter().filter(asked).collect())
    } else if sessions.is_empty() {
        import(file, text, Some(Format::Aider)).map(|t| vec![t])
    } else {
        Ok(sessions)
    }
}

/// Reads a transcript. `format` None means: detect it from the content.
///
/// Nothing is redacted here; see [`crate::Redactor`].
pub fn import(file: &str, text: &str, format: Option<Format>) -> Result<Transcript, ImportError> {
    let err = |line: Option<usize>, message: String| ImportError {
        file: file.to_owned(),
        line,
        message,
    };
    let format = match format {
        Some(f) => f,
        None => Format::detect(text).ok_or_else(|| {
            let names: Vec<_> = Format::ALL.iter().map(|(_, n)| *n).collect();
            err(
                None,
                format!(
                    "not a transcript format factory recognises; name one with --format ({})",
                    names.join(", ")
                ),
            )
        })?,
    };
    let mut t = match format {
        Format::ClaudeCode => claude::import(text),
        Format::Codex => codex::import(text),
        Format::GeminiJsonl => gemini::import_jsonl(text),
        Format::GeminiJson => gemini::import_json(text),
        Format::CopilotJsonl => copilot::import_jsonl(text),
        Format::CopilotJson => copilot::import_json(text),
        Format::Aider => markdown::import_aider(text),
        Format::SpecStory => markdown::import_specstory(text),
        Format::Cursor => markdown::import_cursor(text),
        Format::QwenCode => qwen::import(text),
        Format::Cline => {
            // The Messages API turns have roles; the UI messages and CLI events say and ask.
            let api = whole_document(text).is_some_and(|d| {
                d.as_array()
                    .is_some_and(|a| a.iter().any(|x| x.get("role").is_some()))
            });
            if api {
                cline::import(text)
            } else {
                cline::import_ui(text)
            }
        }
        Format::CursorCli => stream::import_cursor(text),
        Format::GeminiStream => stream::import_gemini_stream(text),
        Format::OpenCode => {
            if whole_document(text).is_some_and(|d| d.get("messages").is_some()) {
                stream::import_opencode_export(text)
            } else {
                stream::import_opencode_events(text)
            }
        }
        Format::Goose => {
            if whole_document(text).is_some_and(|d| d.is_array() || d.get("conversation").is_some())
            {
                stream::import_goose_json(text)
            } else {
                stream::import_goose_lines(text)
            }
        }
    }
    .map_err(|(line, message)| err(line, message))?;
    // An import that yields no text is an error, never a silent empty note: the wrong
    // format, or not a session at all.
    let said = |m: &crate::schema::Message| {
        !m.text.trim().is_empty() || !m.tool_calls.is_empty() || m.thinking.is_some()
    };
    if !t.messages.iter().any(said) {
        return Err(err(
            None,
            format!(
                "no message text found (read as {format}{}): not a session of that format?",
                if t.source.skipped_lines > 0 {
                    format!(", {} damaged line(s) skipped", t.source.skipped_lines)
                } else {
                    String::new()
                }
            ),
        ));
    }
    t.source.bytes = text.len() as u64;
    t.source.file = std::path::Path::new(file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    if t.session_id.is_empty() {
        t.session_id = t.compute_digest().trim_start_matches("sha256:")[..16].to_owned();
    }
    t.fill_times();
    Ok(t)
}

/// The text as one JSON document, when it is one (not JSON lines).
fn whole_document(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(text.trim_start_matches('\u{feff}').trim()).ok()
}

/// What an importer returns: the transcript, or the failing line and why.
pub(crate) type Imported = Result<Transcript, Failure>;

/// Where an import failed (a 1-based line, when there is one) and why.
pub(crate) type Failure = (Option<usize>, String);

/// JSON lines, read leniently: every object of every line, in order (a damaged line holding two
/// objects yields both), and the 1-based numbers of the lines that could not be read whole.
pub(crate) struct JsonLines {
    /// (line, object).
    pub(crate) values: Vec<(usize, serde_json::Value)>,
    /// Lines skipped, wholly or from the point where they stopped being JSON.
    pub(crate) skipped: Vec<usize>,
}

/// Reads JSON lines leniently (see [`JsonLines`]).
pub(crate) fn json_lines(text: &str) -> JsonLines {
    let mut out = JsonLines {
        values: Vec::new(),
        skipped: Vec::new(),
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut damaged = false;
        for v in serde_json::Deserializer::from_str(line).into_iter::<serde_json::Value>() {
            match v {
                Ok(v @ serde_json::Value::Object(_)) => out.values.push((i + 1, v)),
                Ok(_) | Err(_) => {
                    damaged = true;
                    break;
                }
            }
        }
        if damaged {
            out.skipped.push(i + 1);
        }
    }
    out
}

/// A string field, if present.
pub(crate) fn s<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(|x| x.as_str())
}

/// Text of a value that is a string or a list of `{text}` / `{type, text}` parts.
pub(crate) fn text_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(parts) => parts
            .iter()
            .filter_map(|p| {
                p.as_str()
                    .map(str::to_owned)
                    .or_else(|| s(p, "text").map(str::to_owned))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Output of a tool, as a summary.
pub(crate) fn output_summary(v: &serde_json::Value) -> String {
    crate::schema::summary(&text_of(v), crate::schema::OUTPUT_SUMMARY_BYTES)
}

/// Adds a token count found at `key` to `acc`.
pub(crate) fn add_tokens(acc: &mut u64, v: &serde_json::Value, key: &str) {
    *acc += v.get(key).and_then(|x| x.as_u64()).unwrap_or(0);
}
