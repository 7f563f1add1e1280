//! One module per command, each with its clap arguments and one `run` function.

pub(crate) mod approve;
pub(crate) mod audit;
pub(crate) mod classify;
mod commits;
pub(crate) mod demo;
pub(crate) mod docs;
pub(crate) mod hook;
mod import;
pub(crate) mod init;
pub(crate) mod log;
pub(crate) mod notes;
pub(crate) mod policy;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod transcript;
pub(crate) mod verify;
pub(crate) mod why;

/// Whether a character must not reach a terminal or a rendered document as it is: C0 and C1
/// controls (ESC starts terminal escape sequences) and the bidirectional overrides and isolates
/// that make text read differently from what it is.
fn is_hostile(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t'))
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// Untrusted text (a commit subject, a name, a branch, a transcript line) made safe for a
/// terminal: every control character, bidirectional override and line break becomes visible
/// (`\u{1b}`) instead of acting.
pub(crate) fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hostile(c) || c == '\n' {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Untrusted text made inert for Markdown (a CI job summary, the Markdown report), on one line:
/// the characters that open links, images, emphasis, code, table cells, headings and raw HTML
/// are backslash-escaped, `&` becomes `&amp;` (no entity), and control characters and
/// bidirectional overrides are shown as escapes.
pub(crate) fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '!' | '~' | '#' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c if is_hostile(c) => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

/// Text escaped for XML and HTML (both `&apos;` and control characters handled), for the JUnit
/// output of `audit` and the HTML report.
pub(crate) fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c if is_hostile(c) && c != '\r' => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}
