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
            c => out.push(c),
        }
    }
    out
}
