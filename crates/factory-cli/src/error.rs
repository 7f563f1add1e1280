//! The one error boundary: library errors become diagnostics and exit codes.

use std::process::ExitCode;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

use crate::ui::Ui;

/// An error that ends a command, with the exit code it maps to.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments, not a repository, unknown revision: exit 2.
    Usage(miette::Report),
    /// A policy or configuration that cannot be used: exit 2.
    Config(miette::Report),
    /// Anything else that went wrong: exit 3.
    Internal(miette::Report),
    /// stdout was closed by the reader: exit 0 quietly.
    BrokenPipe,
}

impl CliError {
    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage(miette::miette!("{}", message.into()))
    }

    pub(crate) fn internal(message: impl Into<String>) -> CliError {
        CliError::Internal(miette::miette!("{}", message.into()))
    }

    pub(crate) fn from_output(e: std::io::Error) -> CliError {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            CliError::BrokenPipe
        } else {
            CliError::internal(format!("cannot write output: {e}"))
        }
    }

    /// Prints the error to stderr and returns its exit code.
    pub(crate) fn report(self, ui: &mut Ui) -> ExitCode {
        let (report, code) = match self {
            CliError::BrokenPipe => return ExitCode::SUCCESS,
            CliError::Usage(r) | CliError::Config(r) => (r, 2),
            CliError::Internal(r) => (r, 3),
        };
        let text = render(report.as_ref(), ui.err_color());
        ui.err(&text);
        ExitCode::from(code)
    }
}

/// Renders a diagnostic as miette's graphical report.
pub(crate) fn render(diagnostic: &dyn Diagnostic, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut out = String::new();
    // Wrap for people at a terminal; never inside messages that scripts and logs grep.
    let width = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        100
    } else {
        1000
    };
    if GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .render_report(&mut out, diagnostic)
        .is_err()
    {
        out = format!("error: {diagnostic}\n");
    }
    out
}

/// An error and its sources, joined by `: `.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

impl From<factory_git::OpenError> for CliError {
    fn from(e: factory_git::OpenError) -> Self {
        match &e {
            factory_git::OpenError::NotARepository { path, .. } => {
                CliError::Usage(miette::miette!(
                    help = "run factory inside a git repository, or pass -C DIR",
                    "not a git repository: {}",
                    path.display()
                ))
            }
            factory_git::OpenError::Quarantine { .. } => CliError::internal(chain(&e)),
        }
    }
}

impl From<factory_git::RevError> for CliError {
    fn from(e: factory_git::RevError) -> Self {
        use factory_git::RevError;
        match &e {
            RevError::Unknown { spec, .. } => CliError::Usage(miette::miette!(
                help = "name a commit as git does: a branch, a tag, an id, HEAD~2, A..B",
                "unknown revision `{spec}`"
            )),
            RevError::NotACommit { .. } | RevError::UnbornHead => {
                CliError::Usage(miette::miette!("{e}"))
            }
            RevError::Walk { .. } => CliError::Internal(miette::miette!("{}", chain(&e))),
        }
    }
}

impl From<factory_git::ChangeError> for CliError {
    fn from(e: factory_git::ChangeError) -> Self {
        CliError::Internal(miette::miette!("{}", chain(&e)))
    }
}

impl From<factory_git::ReadError> for CliError {
    fn from(e: factory_git::ReadError) -> Self {
        match e {
            factory_git::ReadError::Rev(r) => r.into(),
            other => CliError::Internal(miette::miette!("{}", chain(&other))),
        }
    }
}

impl From<factory_policy::PolicyError> for CliError {
    fn from(e: factory_policy::PolicyError) -> Self {
        CliError::Config(miette::Report::new(e))
    }
}
