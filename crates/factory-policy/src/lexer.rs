//! Telling code from comments and string literals in a changed line, per language, so that a
//! content rule can match what a program does rather than what its prose says.
//!
//! A lexer at the level of one line: the changed lines of a diff come without the rest of the
//! file, so a line is read from the code state, except that a line opening with a block
//! comment's continuation (`*`, `*/`) is a comment. That is enough for comments, doc comments
//! and string literals; no grammar is parsed (see the design chapter for the measured cost).

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
}

impl Parts {
    /// Every part: the line as written.
    pub const ANY: Parts = Parts {
        code: true,
        comments: true,
        strings: true,
    };

    /// Whether this is the whole line.
    pub fn is_any(self) -> bool {
        self == Parts::ANY
    }
}

/// How a language writes comments and strings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Syntax {
    line: &'static [&'static str],
    block: Option<(&'static str, &'static str)>,
    quotes: &'static [char],
    /// `'` opens a char literal only when it closes within a character (Rust lifetimes).
    rust_chars: bool,
    /// `#` starts a comment only at the start of a line or after whitespace (shells).
    hash_after_space: bool,
}

const C_LIKE: Syntax = Syntax {
    line: &["//"],
    block: Some(("/*", "*/")),
    quotes: &['"', '\''],
    rust_chars: false,
    hash_after_space: false,
};

/// The syntax of a file, from its name; None when factory does not know the language (the
/// whole line is then read as code).
pub(crate) fn syntax_of(path: &[u8]) -> Option<Syntax> {
    let name = path.rsplit(|b| *b == b'/').next().unwrap_or(path);
    let ext = name
        .iter()
        .rposition(|b| *b == b'.')
        .map(|i| &name[i + 1..])
        .unwrap_or(b"");
    let ext = String::from_utf8_lossy(ext).to_ascii_lowercase();
    Some(match ext.as_str() {
        "rs" => Syntax {
            rust_chars: true,
            quotes: &['"'],
            ..C_LIKE
        },
        "c" | "h" | "cc" | "cpp" | "cxx" | "hpp" | "hh" | "java" | "kt" | "kts" | "cs"
        | "swift" | "scala" | "dart" => C_LIKE,
        "go" | "js" | "jsx" | "ts" | "tsx" | "mjs" | "cjs" => Syntax {
            quotes: &['"', '\'', '`'],
            ..C_LIKE
        },
        "py" | "rb" | "pl" | "r" | "yaml" | "yml" | "toml" | "cfg" | "ini" | "conf" | "cmake" => {
            Syntax {
                line: &["#"],
                block: None,
                quotes: &['"', '\''],
                rust_chars: false,
                hash_after_space: true,
            }
        }
        "sh" | "bash" | "zsh" | "ksh" => Syntax {
            line: &["#"],
            block: None,
            quotes: &['"', '\''],
            rust_chars: false,
            hash_after_space: true,
        },
        "sql" => Syntax {
            line: &["--"],
            block: Some(("/*", "*/")),
            quotes: &['\''],
            rust_chars: false,
            hash_after_space: false,
        },
        _ => return None,
    })
}

/// The parts of `line` that `parts` selects (other parts become spaces, so columns and word
/// boundaries stay), for a file of `syntax`.
pub(crate) fn select(line: &str, syntax: Option<Syntax>, parts: Parts) -> String {
    let Some(syn) = syntax else {
        return if parts.code {
            line.to_owned()
        } else {
            String::new()
        };
    };
    let keep = |c: char, part: u8, out: &mut String| {
        let wanted = match part {
            0 => parts.code,
            1 => parts.comments,
            _ => parts.strings,
        };
        out.push(if wanted || c == '\n' { c } else { ' ' });
    };
    let mut out = String::with_capacity(line.len());
    let trimmed = line.trim_start();
    // The continuation of a block comment.
    if syn.block.is_some() && (trimmed.starts_with('*') && !trimmed.starts_with("*=")) {
        line.chars().for_each(|c| keep(c, 1, &mut out));
        return out;
    }
    let chars: Vec<char> = line.chars().collect();
    let starts = |at: usize, s: &str| (at..).zip(s.chars()).all(|(i, c)| chars.get(i) == Some(&c));
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // Line comment: the rest of the line.
        if syn.line.iter().any(|m| starts(i, m))
            && (!syn.hash_after_space || i == 0 || chars[i - 1].is_whitespace())
        {
            chars[i..].iter().for_each(|&c| keep(c, 1, &mut out));
            break;
        }
        // Block comment: to its end, or the end of the line.
        if let Some((open, close)) = syn.block
            && starts(i, open)
        {
            let mut j = i + open.len();
            while j < chars.len() && !starts(j, close) {
                j += 1;
            }
            let end = (j + close.len()).min(chars.len());
            chars[i..end].iter().for_each(|&c| keep(c, 1, &mut out));
            i = end;
            continue;
        }
        // String or char literal.
        if syn.quotes.contains(&c) || (syn.rust_chars && c == '\'') {
            if syn.rust_chars && c == '\'' {
                let close = if chars.get(i + 1) == Some(&'\\') {
                    (i + 2..(i + 12).min(chars.len())).find(|&k| chars[k] == '\'')
                } else {
                    (chars.get(i + 2) == Some(&'\'')).then_some(i + 2)
                };
                let Some(close) = close else {
                    keep(c, 0, &mut out);
                    i += 1;
                    continue;
                };
                keep(c, 0, &mut out);
                chars[i + 1..close]
                    .iter()
                    .for_each(|&c| keep(c, 2, &mut out));
                keep('\'', 0, &mut out);
                i = close + 1;
                continue;
            }
            keep(c, 0, &mut out);
            let mut j = i + 1;
            while j < chars.len() && chars[j] != c {
                if chars[j] == '\\' && c != '`' {
                    keep(chars[j], 2, &mut out);
                    j += 1;
                    if j < chars.len() {
                        keep(chars[j], 2, &mut out);
                    }
                    j += 1;
                    continue;
                }
                keep(chars[j], 2, &mut out);
                j += 1;
            }
            if j < chars.len() {
                keep(c, 0, &mut out);
            }
            i = j + 1;
            continue;
        }
        keep(c, 0, &mut out);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(path: &str, line: &str) -> String {
        select(
            line,
            syntax_of(path.as_bytes()),
            Parts {
                code: true,
                ..Parts::default()
            },
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
