//! The note format: one transcript per line, as JSON, lines sorted.
//!
//! One document per line lets git's `cat_sort_uniq` notes merge strategy union the sessions that
//! two clones attached to the same commit; `git notes --ref=factory/transcripts show REV` stays
//! readable without factory.

use crate::schema::Transcript;

/// A note that is not a list of transcripts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the transcript note: {message}")]
pub struct NoteFormatError {
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads the transcripts of a note.
pub fn decode(note: &[u8]) -> Result<Vec<Transcript>, NoteFormatError> {
    let text = std::str::from_utf8(note).map_err(|e| NoteFormatError {
        line: 1,
        message: format!("not UTF-8: {e}"),
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let t: Transcript = serde_json::from_str(line).map_err(|e| NoteFormatError {
            line: i + 1,
            message: e.to_string(),
        })?;
        if t.schema != crate::SCHEMA {
            return Err(NoteFormatError {
                line: i + 1,
                message: format!(
                    "unknown schema `{}` (this factory reads {})",
                    t.schema,
                    crate::SCHEMA
                ),
            });
        }
        if t.digest != t.compute_digest() {
            return Err(NoteFormatError {
                line: i + 1,
                message: format!(
                    "session {} does not match its digest (edited after it was stored?)",
                    t.session_id
                ),
            });
        }
        out.push(t);
    }
    Ok(out)
}

/// Writes transcripts as a note.
pub fn encode(transcripts: &[Transcript]) -> String {
    let mut lines: Vec<String> = transcripts
        .iter()
        .map(|t| serde_json::to_string(t).unwrap_or_default())
        .collect();
    lines.sort();
    lines.dedup();
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Adds `new` to `existing`: a session already there (same agent and session id) is replaced,
/// others are kept. Returns whether anything changed.
pub fn merge(existing: &mut Vec<Transcript>, new: Transcript) -> bool {
    match existing
        .iter_mut()
        .find(|t| t.session_id == new.session_id && t.agent.name == new.agent.name)
    {
        Some(old) if old.digest == new.digest => false,
        Some(old) => {
            *old = new;
            true
        }
        None => {
            existing.push(new);
            true
        }
    }
}
