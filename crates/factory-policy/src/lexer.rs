//! Which parts of a changed line a content rule reads: code, comments, string literals, and
//! lines of in-file test modules.
//!
//! The lexing itself is the change model's ([`factory_change::lexer`]): the git layer scans each
//! whole file once and records where each changed line starts (in a block comment, a
//! multi-line string, a `#[cfg(test)]` module), so a line is read here from that state. No
//! grammar is parsed (see the design chapter for the choice and its measured cost).

use factory_change::lexer::{self as lex, LineStart, Part};

pub(crate) use factory_change::lexer::{Syntax, syntax_of};

/// Which parts of a line a content rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Parts {
    /// Code: everything that is neither comment nor string literal.
    pub code: bool,
    /// Comments and doc comments.
    pub comments: bool,
    /// The contents of string literals.
    pub strings: bool,
    /// Lines of a test module written inside a production file (Rust's `#[cfg(test)]`
    /// items), whatever their parts: read only by rules that read `tests` (or `any`).
    pub tests: bool,
}

impl Parts {
    /// Every part: the line as written.
    pub const ANY: Parts = Parts {
        code: true,
        comments: true,
        strings: true,
        tests: true,
    };

    /// Whether this is the whole line.
    pub fn is_any(self) -> bool {
        self == Parts::ANY
    }

    /// The parts not in `self`.
    pub(crate) fn complement(self) -> Parts {
        Parts {
            code: !self.code,
            comments: !self.comments,
            strings: !self.strings,
            tests: !self.tests,
        }
    }
}

/// The lexer state at the end of `line` (None for a language not known: all code). Two lines
/// that end in different states read the lines after them differently.
pub(crate) fn end_state(
    line: &[u8],
    syntax: Option<&Syntax>,
    start: LineStart,
) -> Option<lex::State> {
    syntax.map(|syn| lex::walk(line, syn, start, |_| {}))
}

/// The parts of `line` that `parts` selects (other parts become spaces, so columns and word
/// boundaries stay), for a file of `syntax`, the line starting at `start`.
pub(crate) fn select(
    line: &[u8],
    syntax: Option<&Syntax>,
    parts: Parts,
    start: LineStart,
) -> String {
    if start.test {
        return if parts.tests {
            String::from_utf8_lossy(line).into_owned()
        } else {
            String::new()
        };
    }
    let Some(syn) = syntax else {
        return if parts.code {
            String::from_utf8_lossy(line).into_owned()
        } else {
            String::new()
        };
    };
    let mut out = Vec::with_capacity(line.len());
    let mut bytes = line.iter();
    lex::walk(line, syn, start, |part| {
        let Some(&b) = bytes.next() else {
            return;
        };
        let wanted = match part {
            Part::Code => parts.code,
            Part::Comment => parts.comments,
            Part::Str => parts.strings,
        };
        out.push(if wanted { b } else { b' ' });
    });
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(path: &str, line: &str) -> String {
        select(
            line.as_bytes(),
            syntax_of(path.as_bytes()).as_ref(),
            Parts {
                code: true,
                ..Parts::default()
            },
            LineStart::default(),
        )
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
    }

    #[test]
    fn comments_and_strings_are_told_from_code() {
        assert_eq!(code("a.rs", "/// Argon2 Password Hashing Function."), "");
        assert_eq!(
            code("a.rs", "let x = f(); // XXX: no diagnosis"),
            "let x = f();"
        );
        let doc = code(
            "a.rs",
            r#"assert!(s.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));"#,
        );
        assert!(doc.starts_with(r#"assert!(s.starts_with(""#) && !doc.contains("PRIVATE"));
        assert_eq!(
            code("a.rs", "fn f<'a>(x: &'a str) -> char { 'x' }"),
            "fn f<'a>(x: &'a str) -> char { ' ' }"
        );
        assert_eq!(code("a.c", " * the password is checked here"), "");
        assert_eq!(
            code("a.c", "check(pw); /* verify_password */ done();"),
            "check(pw); done();"
        );
        assert_eq!(code("a.py", "x = 1  # password hash"), "x = 1");
        assert_eq!(code("a.sh", "echo ${#args} # count"), "echo ${#args}");
        assert_eq!(code("a.sql", "SELECT 1; -- drop table users"), "SELECT 1;");
        assert_eq!(code("a.go", "s := `bcrypt`"), "s := ` `");
        assert_eq!(
            code("README", "# password"),
            "# password",
            "unknown languages are code"
        );
    }
}
