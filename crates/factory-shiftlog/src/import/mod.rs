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
        Err(ImportError {
            file: file.to_owned(),
            line: None,
            message:
                "no request in this aider history (aider was started and left): nothing to attach"
                    .to_owned(),
        })
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
    let text = crate::detect::strip_banner(text);
    // JSON lines published pretty-printed (`jq .` of a session): one object per line again.
    let compacted = compact_stream(text);
    let text = compacted.as_deref().unwrap_or(text);
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
    let bytes = text.len() as u64;
    let reader: Box<dyn std::io::BufRead + '_> = Box::new(std::io::Cursor::new(text.as_bytes()));
    finish(file, format, bytes, read(file, format, text, reader)?)
}

/// Reads the sessions of a file without holding it whole: JSON lines formats are read a line
/// at a time (a 100 MB session imports in a fraction of its size); the others are read whole
/// (and an aider history gives one transcript per session, as [`import_sessions`]).
pub fn import_path(
    path: &std::path::Path,
    format: Option<Format>,
) -> Result<Vec<Transcript>, ImportError> {
    use std::io::BufRead as _;
    let file = path.display().to_string();
    let err = |message: String| ImportError {
        file: file.clone(),
        line: None,
        message,
    };
    let opened = std::fs::File::open(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let bytes = opened.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = std::io::BufReader::with_capacity(1 << 16, opened);
    // The head is enough to tell the format (detection reads the first 500 lines).
    let mut head = Vec::new();
    for _ in 0..500 {
        if reader
            .read_until(b'\n', &mut head)
            .map_err(|e| err(format!("cannot read: {e}")))?
            == 0
        {
            break;
        }
    }
    let head_text = String::from_utf8_lossy(&head).into_owned();
    let format = match format.or_else(|| Format::detect(&head_text)) {
        Some(f) => f,
        None => {
            // A single document (an exported JSON) may need all of itself to be recognised.
            let mut all = head;
            std::io::Read::read_to_end(&mut reader, &mut all)
                .map_err(|e| err(format!("cannot read: {e}")))?;
            let text = String::from_utf8(all).map_err(|_| err("not UTF-8 text".to_owned()))?;
            return import_sessions(&file, &text, None);
        }
    };
    // Pretty-printed JSON lines are read whole and compacted (`import`), a name given or not.
    let pretty = head_text
        .lines()
        .find(|l| !l.trim().is_empty())
        .map(str::trim)
        == Some("{");
    if !format.is_json_lines() || pretty {
        let mut all = head;
        std::io::Read::read_to_end(&mut reader, &mut all)
            .map_err(|e| err(format!("cannot read: {e}")))?;
        let text = String::from_utf8(all).map_err(|_| err("not UTF-8 text".to_owned()))?;
        return import_sessions(&file, &text, Some(format));
    }
    let chained: Box<dyn std::io::BufRead> = Box::new(std::io::BufReader::new(
        std::io::Read::chain(std::io::Cursor::new(head), reader),
    ));
    finish(&file, format, bytes, read(&file, format, "", chained)?).map(|t| vec![t])
}

/// What an importer made of the file, and how many damaged lines it skipped.
type Read = (Transcript, u64);

/// Runs the importer of `format` on `text` (whole documents) or `reader` (JSON lines).
fn read(
    file: &str,
    format: Format,
    text: &str,
    reader: Box<dyn std::io::BufRead + '_>,
) -> Result<Read, ImportError> {
    let skipped = std::rc::Rc::new(std::cell::Cell::new(0));
    let lines = JsonLines::new(reader, skipped.clone());
    let t = read_with(format, text, lines).map_err(|(line, message)| ImportError {
        file: file.to_owned(),
        line,
        message,
    })?;
    Ok((t, skipped.get()))
}

fn read_with(format: Format, text: &str, lines: JsonLines<'_>) -> Imported {
    match format {
        Format::ClaudeCode => claude::import(lines),
        Format::Codex => codex::import(lines),
        Format::GeminiJsonl => gemini::import_jsonl(lines),
        Format::GeminiJson => gemini::import_json(text),
        Format::CopilotJsonl => copilot::import_jsonl(lines),
        Format::CopilotJson => copilot::import_json(text),
        Format::Aider => markdown::import_aider(text),
        Format::SpecStory => markdown::import_specstory(text),
        Format::Cursor => markdown::import_cursor(text),
        Format::QwenCode => qwen::import(lines),
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
        Format::CursorCli => stream::import_cursor(lines),
        Format::GeminiStream => stream::import_gemini_stream(lines),
        Format::OpenCode => {
            if whole_document(text).is_some_and(|d| d.get("messages").is_some()) {
                stream::import_opencode_export(text)
            } else {
                stream::import_opencode_events(lines)
            }
        }
        Format::Pi => stream::import_pi(lines),
        Format::Goose => {
            if whole_document(text).is_some_and(|d| d.is_array() || d.get("conversation").is_some())
            {
                stream::import_goose_json(text)
            } else {
                stream::import_goose_lines(lines)
            }
        }
    }
}

/// Checks and completes an imported transcript: an import that yields no text is an error,
/// never a silent empty note (the wrong format, or not a session at all).
fn finish(
    file: &str,
    format: Format,
    bytes: u64,
    (mut t, skipped): Read,
) -> Result<Transcript, ImportError> {
    let err = |line: Option<usize>, message: String| ImportError {
        file: file.to_owned(),
        line,
        message,
    };
    t.source.skipped_lines += skipped;
    // Terminal colours and cursor moves (a command's output, a TUI's notice) are not text.
    for m in &mut t.messages {
        strip_ansi(&mut m.text);
        for call in &mut m.tool_calls {
            if let Some(out) = &mut call.output {
                strip_ansi(out);
            }
        }
    }
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
    // A session that names no id is named by its content (before the file's name and size
    // are recorded: the same session under another name is the same session).
    if t.session_id.is_empty() {
        t.session_id = t.compute_digest().trim_start_matches("sha256:")[..16].to_owned();
    }
    t.source.bytes = bytes;
    t.source.file = std::path::Path::new(file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
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

/// JSON lines, read leniently and one line at a time from any reader: every object of every
/// line, in order (a damaged line holding two objects yields both). Lines that could not be read
/// whole are counted in a counter shared with whoever made the reader, so that a session is
/// never held whole in memory to be imported.
pub(crate) struct JsonLines<'r> {
    reader: Box<dyn std::io::BufRead + 'r>,
    line_no: usize,
    pending: std::collections::VecDeque<(usize, serde_json::Value)>,
    skipped: std::rc::Rc<std::cell::Cell<u64>>,
    buf: Vec<u8>,
}

impl<'r> JsonLines<'r> {
    /// Lines of `reader`; damaged ones are counted in `skipped`.
    pub(crate) fn new(
        reader: Box<dyn std::io::BufRead + 'r>,
        skipped: std::rc::Rc<std::cell::Cell<u64>>,
    ) -> JsonLines<'r> {
        JsonLines {
            reader,
            line_no: 0,
            pending: std::collections::VecDeque::new(),
            skipped,
            buf: Vec::new(),
        }
    }
}

impl Iterator for JsonLines<'_> {
    type Item = (usize, serde_json::Value);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(v) = self.pending.pop_front() {
                return Some(v);
            }
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            self.line_no += 1;
            let line = String::from_utf8_lossy(&self.buf);
            if line.trim().is_empty() {
                continue;
            }
            let mut damaged = false;
            for v in serde_json::Deserializer::from_str(&line).into_iter::<serde_json::Value>() {
                match v {
                    Ok(v @ serde_json::Value::Object(_)) => {
                        self.pending.push_back((self.line_no, v))
                    }
                    Ok(_) | Err(_) => {
                        damaged = true;
                        break;
                    }
                }
            }
            if damaged {
                self.skipped.set(self.skipped.get() + 1);
            }
        }
    }
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
                    // Parts without text say what they are: an image, a tool named to the model.
                    .or_else(|| match s(p, "type")? {
                        "image" | "input_image" | "image_url" => Some("[image]".to_owned()),
                        "tool_reference" => {
                            Some(format!("[tool: {}]", s(p, "tool_name").unwrap_or("?")))
                        }
                        _ => None,
                    })
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

/// A stream of pretty-printed JSON objects (its first line is a lone `{`) as JSON lines, when
/// the whole text is such a stream; None for anything else.
fn compact_stream(text: &str) -> Option<String> {
    let body = text.trim_start_matches('\u{feff}');
    if body.lines().find(|l| !l.trim().is_empty())?.trim() != "{" {
        return None;
    }
    let mut out = String::with_capacity(body.len() / 2);
    let mut objects = 0;
    for value in serde_json::Deserializer::from_str(body).into_iter::<serde_json::Value>() {
        let value = value.ok()?;
        if !value.is_object() {
            return None;
        }
        out.push_str(&value.to_string());
        out.push('\n');
        objects += 1;
    }
    (objects >= 2).then_some(out)
}

/// Removes ANSI escape sequences (`ESC [ … letter`, `ESC ] … BEL`) from `text`, in place and
/// only when it has one.
fn strip_ansi(text: &mut String) {
    if !text.contains('\u{1b}') {
        return;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            // CSI: parameters, then one final letter.
            Some('[') => {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() || d == '~' {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC \.
            Some(']') => {
                chars.next();
                while let Some(d) = chars.next() {
                    if d == '\u{7}' {
                        break;
                    }
                    if d == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            // A two-character sequence (`ESC (B`, `ESC =`).
            Some(_) => {
                chars.next();
            }
            None => {}
        }
    }
    *text = out;
}
