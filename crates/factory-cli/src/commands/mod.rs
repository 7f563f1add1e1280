//! One module per command, each with its clap arguments and one `run` function.

pub(crate) mod approve;
pub(crate) mod audit;
mod audit_landings;
pub(crate) mod blame;
pub(crate) mod classify;
mod commits;
pub(crate) mod demo;
mod demo_gate;
pub(crate) mod docs;
pub(crate) mod doctor;
mod explain;
pub(crate) mod holdback;
pub(crate) mod hook;
mod import;
pub(crate) mod init;
pub(crate) mod log;
pub(crate) mod notes;
pub(crate) mod people;
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

/// A shallow clone lacks the history the gate judges: an error that says how to fetch it.
pub(crate) fn refuse_shallow(repo: &factory_git::Repo) -> Result<(), crate::error::CliError> {
    if repo.git_dir().join("shallow").exists() {
        return Err(crate::error::CliError::Config(miette::miette!(
            help = "fetch the whole history: `git fetch --unshallow` (in GitHub Actions, `actions/checkout` with `fetch-depth: 0`; in GitLab CI, `GIT_DEPTH: 0`)",
            "this clone is shallow: the commits and policy the gate judges by are not all here"
        )));
    }
    Ok(())
}
