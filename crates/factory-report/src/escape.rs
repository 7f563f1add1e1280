//! Untrusted text (commit subjects, names, reasons) made inert for the documents a report is
//! rendered to, and for terminals.

/// Whether a character must not reach a terminal or a rendered document as it is: C0 and C1
/// controls (ESC starts terminal escape sequences) and the bidirectional overrides and isolates
/// that make text read differently from what it is.
pub fn is_hostile(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t'))
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// Untrusted text made inert for Markdown (a CI job summary, the Markdown report), on one line:
/// the characters that open links, images, emphasis, code, table cells, headings and raw HTML
/// are backslash-escaped, `&` becomes `&amp;` (no entity), and control characters and
/// bidirectional overrides are shown as escapes.
pub fn escape_markdown(text: &str) -> String {
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
pub fn escape_markup(text: &str) -> String {
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
