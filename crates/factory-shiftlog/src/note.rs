//! The note format: one transcript per line, as JSON, lines sorted.
//!
//! One document per line lets git's `cat_sort_uniq` notes merge strategy union the sessions that
//! two clones attached to the same commit; `git notes --ref=factory/transcripts show REV` stays
//! readable without factory. A transcript whose JSON would be larger than the session file it
//! came from (Markdown formats: the text is the file, and JSON adds its escapes and fields) is
//! written as `z:` and the base64 of its deflated JSON, so that a note is never larger than its
//! sessions.

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
        let json = match line.strip_prefix(COMPRESSED) {
            Some(packed) => inflate(packed).map_err(|message| NoteFormatError {
                line: i + 1,
                message,
            })?,
            None => line.to_owned(),
        };
        let t: Transcript = serde_json::from_str(&json).map_err(|e| NoteFormatError {
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

/// The prefix of a compressed line.
const COMPRESSED: &str = "z:";

/// One transcript's line: its JSON, or compressed when the JSON is larger than its session.
fn line_of(t: &Transcript) -> String {
    let json = serde_json::to_string(t).unwrap_or_default();
    if t.source.bytes == 0 || json.len() as u64 <= t.source.bytes {
        return json;
    }
    use base64::Engine as _;
    use std::io::Write as _;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    if z.write_all(json.as_bytes()).is_err() {
        return json;
    }
    match z.finish() {
        Ok(bytes) => format!(
            "{COMPRESSED}{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
        Err(_) => json,
    }
}

/// The JSON of a compressed line.
fn inflate(packed: &str) -> Result<String, String> {
    use base64::Engine as _;
    use std::io::Read as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(packed.trim())
        .map_err(|e| format!("a compressed line that is not base64: {e}"))?;
    let mut json = String::new();
    // A bomb cannot grow past the limit notes have anyway.
    flate2::read::DeflateDecoder::new(bytes.as_slice())
        .take(256 * 1024 * 1024)
        .read_to_string(&mut json)
        .map_err(|e| format!("a compressed line that does not inflate: {e}"))?;
    Ok(json)
}

/// Writes transcripts as a note.
pub fn encode(transcripts: &[Transcript]) -> String {
    let mut lines: Vec<String> = transcripts.iter().map(line_of).collect();
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
