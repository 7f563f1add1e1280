//! The terminal: stdout, stderr and colours. Everything factory prints goes through here.

use std::io::{self, Write};

use anstream::{AutoStream, ColorChoice};

use crate::error::CliError;

/// Owns stdout and stderr.
#[derive(Debug)]
pub(crate) struct Ui {
    out: AutoStream<io::Stdout>,
    err: AutoStream<io::Stderr>,
    color: bool,
}

impl Ui {
    /// `choice` None means: colours on a terminal unless NO_COLOR / CLICOLOR say otherwise.
    pub(crate) fn new(choice: Option<ColorChoice>) -> Ui {
        let out_choice = choice.unwrap_or_else(|| AutoStream::choice(&io::stdout()));
        let err_choice = choice.unwrap_or_else(|| AutoStream::choice(&io::stderr()));
        Ui {
            out: AutoStream::new(io::stdout(), out_choice),
            err: AutoStream::new(io::stderr(), err_choice),
            color: !matches!(out_choice, ColorChoice::Never),
        }
    }

    /// Whether stdout shows colours.
    pub(crate) fn color(&self) -> bool {
        self.color
    }

    /// Whether stderr shows colours.
    pub(crate) fn err_color(&self) -> bool {
        !matches!(self.err.current_choice(), ColorChoice::Never)
    }

    /// Writes to stdout. A closed pipe (`factory … | head`) ends the command quietly.
    pub(crate) fn out(&mut self, text: &str) -> Result<(), CliError> {
        self.out
            .write_all(text.as_bytes())
            .map_err(CliError::from_output)
    }

    /// Writes a line to stdout.
    pub(crate) fn outln(&mut self, text: &str) -> Result<(), CliError> {
        self.out(text)?;
        self.out("\n")
    }

    /// Writes to stderr, ignoring failures (there is nowhere left to report them).
    pub(crate) fn err(&mut self, text: &str) {
        let _ = self.err.write_all(text.as_bytes());
    }

    /// Flushes stdout.
    pub(crate) fn flush(&mut self) -> Result<(), CliError> {
        self.out.flush().map_err(CliError::from_output)
    }
}
