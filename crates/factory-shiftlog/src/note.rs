//! The note format: one transcript per line, as JSON, lines sorted.
//!
//! One document per line lets git's `cat_sort_uniq` notes merge strategy union the sessions that
//! two clones attached to the same commit; `git notes --ref=factory/transcripts show REV` stays
//! readable without factory. A transcript whose JSON would be larger than the session file it
//! came from (Markdown formats: the text is the file, and JSON adds its escapes and fields), or
//! larger than [`PLAIN_LINE_BYTES`] (a long session, which nobody reads as one line of JSON
//! anyway), is written as `z:` and the base64 of its deflated JSON, so that a note is never
//! larger than its sessions and a long session fits the note limit. The JSON of such a line is
//! deflated as it is written: it is never held whole.

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
    let text = note_text(note)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(decode_line(line, i + 1)?);
    }
    Ok(out)
}

/// The note as text.
fn note_text(note: &[u8]) -> Result<&str, NoteFormatError> {
    std::str::from_utf8(note).map_err(|e| NoteFormatError {
        line: 1,
        message: format!("not UTF-8: {e}"),
    })
}

/// Reads one line of a note (`number` is its 1-based line, for errors): the transcript, whose
/// schema and digest are checked.
pub fn decode_line(line: &str, number: usize) -> Result<Transcript, NoteFormatError> {
    let bad = |message: String| NoteFormatError {
        line: number,
        message,
    };
    let t: Transcript = match line.strip_prefix(COMPRESSED) {
        Some(packed) => serde_json::from_reader(inflating(packed)),
        None => serde_json::from_str(line),
    }
    .map_err(|e| bad(e.to_string()))?;
    if t.schema != crate::SCHEMA {
        return Err(bad(format!(
            "unknown schema `{}` (this factory reads {})",
            t.schema,
            crate::SCHEMA
        )));
    }
    if t.digest != t.compute_digest() {
        return Err(bad(format!(
            "session {} does not match its digest (edited after it was stored?)",
            t.session_id
        )));
    }
    Ok(t)
}

/// One line of a note as it is, with the session it names: enough to merge new sessions into
/// a note without holding the transcripts it already has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The 1-based line.
    pub number: usize,
    /// The session id.
    pub session_id: String,
    /// The agent's name.
    pub agent: String,
    /// The transcript's digest, as the line states it (unchecked: see [`decode_line`]).
    pub digest: String,
    /// The line's text.
    pub text: String,
}

/// The lines of a note with the sessions they name, read without building the transcripts (a
/// compressed line is inflated as it is read). Nothing is checked but the fields read: use
/// [`decode_line`] on a line that is kept.
pub fn lines(note: &[u8]) -> Result<Vec<Line>, NoteFormatError> {
    #[derive(serde::Deserialize)]
    struct Head {
        session_id: String,
        agent: crate::schema::Agent,
        #[serde(default)]
        digest: String,
    }
    let text = note_text(note)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let head: Head = match line.strip_prefix(COMPRESSED) {
            Some(packed) => serde_json::from_reader(inflating(packed)),
            None => serde_json::from_str(line),
        }
        .map_err(|e| NoteFormatError {
            line: i + 1,
            message: e.to_string(),
        })?;
        out.push(Line {
            number: i + 1,
            session_id: head.session_id,
            agent: head.agent.name,
            digest: head.digest,
            text: line.to_owned(),
        });
    }
    Ok(out)
}

/// The JSON of a compressed line's base64, as a reader: base64 → inflate, a buffer at a time.
/// A bomb cannot grow past the limit notes have anyway.
fn inflating(packed: &str) -> impl std::io::Read + '_ {
    use std::io::Read as _;
    let b64 = base64::read::DecoderReader::new(
        std::io::Cursor::new(packed.trim().as_bytes()),
        &base64::engine::general_purpose::STANDARD,
    );
    std::io::BufReader::with_capacity(
        1 << 16,
        flate2::read::DeflateDecoder::new(b64).take(256 * 1024 * 1024),
    )
}

/// The prefix of a compressed line.
const COMPRESSED: &str = "z:";

/// The largest transcript stored as readable JSON; larger ones are stored compressed.
pub const PLAIN_LINE_BYTES: u64 = 1 << 20;

/// One transcript's line: its JSON, or compressed when the JSON is larger than its session or
/// than [`PLAIN_LINE_BYTES`].
fn line_of(t: &Transcript) -> String {
    let mut counted = Counter(0);
    if serde_json::to_writer(&mut counted, t).is_err() {
        return serde_json::to_string(t).unwrap_or_default();
    }
    let plain =
        counted.0 <= PLAIN_LINE_BYTES && (t.source.bytes == 0 || counted.0 <= t.source.bytes);
    if plain {
        return serde_json::to_string(t).unwrap_or_default();
    }
    // JSON → deflate, a buffer at a time (the JSON is never held whole), then base64 into a
    // string of its exact size (and a byte more for the note's newline).
    use base64::Engine as _;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let written = {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut z);
        serde_json::to_writer(&mut buffered, t)
            .map_err(std::io::Error::from)
            .and_then(|()| std::io::Write::flush(&mut buffered))
    };
    match (written, z.finish()) {
        (Ok(()), Ok(bytes)) => {
            let mut out = String::with_capacity(COMPRESSED.len() + bytes.len().div_ceil(3) * 4 + 1);
            out.push_str(COMPRESSED);
            base64::engine::general_purpose::STANDARD.encode_string(&bytes, &mut out);
            out
        }
        _ => serde_json::to_string(t).unwrap_or_default(),
    }
}

/// A writer that only counts bytes.
struct Counter(u64);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes transcripts as a note.
pub fn encode(transcripts: &[Transcript]) -> String {
    encode_refs(transcripts.iter())
}

/// Writes transcripts as a note, from references (nothing is copied but their lines).
pub fn encode_refs<'a>(transcripts: impl IntoIterator<Item = &'a Transcript>) -> String {
    join(transcripts.into_iter().map(line_of).collect())
}

/// A note of `lines`: sorted, each once.
fn join(mut lines: Vec<String>) -> String {
    lines.sort();
    lines.dedup();
    if lines.len() == 1 {
        // One session (a long one, often): its line is the note, not copied.
        let mut only = lines.pop().unwrap_or_default();
        only.push('\n');
        return only;
    }
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in &lines {
        out.push_str(line);
        out.push('\n');
    }
    if out.is_empty() {
        out.push('\n');
    }
    out
}

/// A note of the lines of `existing` (see [`lines`]) with `new` added (as [`merge`] adds
/// them), and whether anything changed. The lines that stay are checked ([`decode_line`]) one
/// at a time; a session attached again replaces its line unread (the same session gives the
/// same line, so nothing changes).
pub fn add(existing: Vec<Line>, new: &[Transcript]) -> Result<(String, bool), NoteFormatError> {
    let mut added: Vec<&Transcript> = Vec::new();
    for t in new {
        match added
            .iter()
            .position(|o| o.session_id == t.session_id && o.agent.name == t.agent.name)
        {
            Some(i) => added[i] = t,
            None => added.push(t),
        }
    }
    let added: Vec<(&Transcript, String)> = added.into_iter().map(|t| (t, line_of(t))).collect();
    let mut changed = false;
    let mut replaced = vec![false; added.len()];
    let mut lines = Vec::new();
    for line in existing {
        match added
            .iter()
            .position(|(t, _)| line.session_id == t.session_id && line.agent == t.agent.name)
        {
            Some(i) => {
                changed |= replaced[i] || line.text != added[i].1;
                replaced[i] = true;
            }
            None => {
                decode_line(&line.text, line.number)?;
                lines.push(line.text);
            }
        }
    }
    changed |= replaced.iter().any(|r| !r);
    lines.extend(added.into_iter().map(|(_, line)| line));
    Ok((join(lines), changed))
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
