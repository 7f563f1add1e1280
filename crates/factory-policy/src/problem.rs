//! Problems found in a policy file, as miette diagnostics pointing at the offending text.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The policy still loads; something is probably not what its author meant.
    Warning,
    /// The policy cannot be used.
    Error,
}

/// One problem in a policy file, with the span of the text it is about.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// Byte range of the offending text in the file, when there is one.
    pub span: Option<Range<usize>>,
    /// Short text shown at the span.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// The file's name and text, shared by all problems of the file.
    pub(crate) source: Arc<NamedSource<String>>,
}

impl Problem {
    /// The 1-based line of the span's start, if there is a span.
    pub fn line(&self) -> Option<usize> {
        let span = self.span.as_ref()?;
        let text = self.source.inner();
        Some(text[..span.start.min(text.len())].matches('\n').count() + 1)
    }

    /// The name of the file the problem is in.
    pub fn file(&self) -> &str {
        self.source.name()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(match self.severity {
            Severity::Error => "policy::error",
            Severity::Warning => "policy::warning",
        }))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.source.as_ref())
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span.clone()?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.label.clone()),
            span,
        ))))
    }
}

/// A policy that could not be loaded: every problem found, errors and warnings.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}: {} error(s) in the policy", self.errors().count())]
pub struct PolicyError {
    /// The file name the policy was read from.
    pub file: String,
    /// Every problem, in the order of the file.
    pub problems: Vec<Problem>,
}

impl PolicyError {
    /// The problems of severity [`Severity::Error`].
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
    }
}

impl Diagnostic for PolicyError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("policy::invalid"))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.problems.iter().map(|p| p as &dyn Diagnostic)))
    }
}

/// Collects problems while a policy is decoded.
#[derive(Debug)]
pub(crate) struct Problems {
    pub(crate) source: Arc<NamedSource<String>>,
    pub(crate) list: Vec<Problem>,
    /// Added to every span: where the part of the file being decoded starts (a chunk of rule
    /// tables parsed on its own).
    pub(crate) offset: usize,
}

impl Problems {
    pub(crate) fn new(name: &str, text: &str) -> Self {
        Problems {
            source: Arc::new(NamedSource::new(name, text.to_owned())),
            list: Vec::new(),
            offset: 0,
        }
    }

    pub(crate) fn push(
        &mut self,
        severity: Severity,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        let offset = self.offset;
        self.list.push(Problem {
            severity,
            message: message.into(),
            span: span.map(|s| s.start + offset..s.end + offset),
            label: label.into(),
            help,
            source: Arc::clone(&self.source),
        });
    }

    pub(crate) fn error(
        &mut self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) {
        self.push(Severity::Error, span, message, label, None);
    }

    pub(crate) fn error_help(
        &mut self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(Severity::Error, span, message, label, Some(help.into()));
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.list.iter().any(|p| p.severity == Severity::Error)
    }
}
