//! Importers, one per format, each turning a file into a [`Transcript`].

mod claude;
mod codex;
mod copilot;
mod gemini;
mod markdown;

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
    }
    .map_err(|(line, message)| err(line, message))?;
    if t.messages.is_empty() {
        return Err(err(None, format!("no messages found (read as {format})")));
    }
    t.source.file = std::path::Path::new(file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    if t.session_id.is_empty() {
        t.session_id = t.compute_digest().trim_start_matches("sha256:")[..16].to_owned();
    }
    t.fill_times();
    Ok(t)
}

/// What an importer returns: the transcript, or the failing line and why.
pub(crate) type Imported = Result<Transcript, Failure>;

/// Where an import failed (a 1-based line, when there is one) and why.
pub(crate) type Failure = (Option<usize>, String);

/// Parses each non-empty line as a JSON object, naming the line of the first that is not.
pub(crate) fn json_lines(text: &str) -> Result<Vec<(usize, serde_json::Value)>, Failure> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v @ serde_json::Value::Object(_)) => out.push((i + 1, v)),
            Ok(_) => return Err((Some(i + 1), "expected a JSON object".into())),
            Err(e) => return Err((Some(i + 1), format!("not JSON: {e}"))),
        }
    }
    Ok(out)
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
