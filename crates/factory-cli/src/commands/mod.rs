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

/// Untrusted text (a commit subject, a name, a branch, a transcript line) made safe for a
/// terminal: every control character, bidirectional override and line break becomes visible
/// (`\u{1b}`) instead of acting.
pub(crate) fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if factory_report::escape::is_hostile(c) || c == '\n' {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}
