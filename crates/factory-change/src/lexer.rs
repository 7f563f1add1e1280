//! What each byte of a source line is — code, comment or string literal — per language, and
//! which lines lie in a test module written inside a production file.
//!
//! A lexer, not a parser: it knows how each language writes comments and string literals
//! (block comments, Python's triple-quoted strings, Rust's raw strings, Go's and JavaScript's
//! back-quoted strings all span lines) and, for Rust, the `#[cfg(test)]` items that hold a
//! file's unit tests. The git layer scans the whole old and new file once ([`scan`]) and records
//! where each changed line starts ([`LineStart`]); the policy then reads a changed line from that
//! state ([`walk`]). Without a recorded state, a line is read from the code state, except that a
//! line opening with a block comment's continuation (`*`) is taken for a comment.

/// What a byte of a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Code: neither comment nor string literal.
    Code,
    /// A comment or doc comment (with its markers).
    Comment,
    /// The contents of a string or character literal (its quotes are code).
    Str,
}

/// The lexer's state between two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    /// Not known: the line is read from code, a leading `*` taken for a comment's continuation.
    #[default]
    Unknown,
    /// In code.
    Code,
    /// Inside a block comment (`depth` for Rust's nested comments).
    Block {
        /// Nesting depth (1 for an unnested comment).
        depth: u32,
    },
    /// Inside a string literal closed by `quote` (repeated `count` times: 3 for Python's
    /// triple quotes), followed by `hashes` `#`s (Rust raw strings).
    Str {
        /// The closing quote character.
        quote: u8,
        /// How many quote characters close it.
        count: u8,
        /// `#`s after the closing quote (Rust raw strings); backslashes escape nothing then.
        hashes: u8,
        /// Whether backslash escapes the next character.
        escapes: bool,
        /// A Python docstring (a triple-quoted string opening a line): documentation, read as a
        /// comment, quotes included.
        doc: bool,
    },
    /// In a C or C++ line comment continued by a backslash at the end of the line before.
    LineComment,
    /// Inside the `${…}` of a JavaScript template string: code, until the brace that closes it
    /// (`depth` counts the braces open inside), then the template string again.
    Template {
        /// Braces open, the `${` included.
        depth: u32,
    },
}

/// Where a changed line starts: the lexer state, and whether it lies in a test module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineStart {
    /// The lexer state at the line's first byte.
    pub state: State,
    /// The line lies in an in-file test module (Rust: a `#[cfg(test)]` item), from its
    /// attribute to its closing brace.
    pub test: bool,
    /// A triple-quoted string opening this line is a docstring (Python): it is the file's first
    /// code, or the code before it ends with `:` (a `def`, a `class`). Elsewhere such a string
    /// is data, however it is laid out.
    pub docstring: bool,
}

/// How a language writes comments and strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syntax {
    line: &'static [&'static [u8]],
    block: Option<(&'static [u8], &'static [u8])>,
    quotes: &'static [u8],
    /// Rust: `'` opens a char literal only when it closes within a character (lifetimes), raw
    /// strings `r#"…"#`, nested block comments, `#[cfg(test)]` modules.
    rust: bool,
    /// `#` starts a comment only at the start of a line or after whitespace (shells).
    hash_after_space: bool,
    /// Python: `"""` and `'''` strings (and docstrings).
    triple: bool,
    /// Kotlin, Swift, Scala, Java text blocks: `"""` strings run over lines.
    triple_quoted: bool,
    /// JavaScript and TypeScript: `${…}` inside a back-quoted string is code; a `/` earlier
    /// on the line may open a regular expression, so `//` and `/*` after it are code.
    templates: bool,
    /// Block comments nest (Rust, Kotlin, Swift, Scala, Dart).
    nests: bool,
    /// C and C++: a backslash at the end of a line joins the next line to it (a line comment
    /// goes on).
    splices: bool,
    /// Java: `\u000a` in the source is a line end wherever it is written, comments included.
    unicode_escapes: bool,
    /// Quotes whose strings may run over several lines.
    multiline: &'static [u8],
    /// Bytes that can begin a comment or a literal in code ([`Syntax::opens`]); filled by
    /// [`syntax_of`].
    openers: [bool; 256],
    /// The same bytes as a list, for a vectorised search.
    opener_list: [u8; 8],
    opener_count: u8,
}

impl Syntax {
    /// Whether `c` can begin a comment or a literal in code: every other byte is code.
    fn opens(&self, c: u8) -> bool {
        self.quotes.contains(&c)
            || (self.rust && c == b'\'')
            || self.line.iter().any(|m| m[0] == c)
            || self.block.is_some_and(|(open, _)| open[0] == c)
    }

    /// With its table of [`Syntax::opens`] for every byte.
    fn finish(mut self) -> Syntax {
        for b in 0..=255u8 {
            if self.opens(b) {
                self.openers[b as usize] = true;
                if let Some(slot) = self.opener_list.get_mut(self.opener_count as usize) {
                    *slot = b;
                }
                self.opener_count = self.opener_count.saturating_add(1);
            }
        }
        self
    }
}

const C_LIKE: Syntax = Syntax {
    line: &[b"//"],
    block: Some((b"/*", b"*/")),
    quotes: b"\"'",
    rust: false,
    hash_after_space: false,
    triple: false,
    triple_quoted: false,
    templates: false,
    nests: false,
    splices: false,
    unicode_escapes: false,
    multiline: b"",
    openers: [false; 256],
    opener_list: [0; 8],
    opener_count: 0,
};

const HASH: Syntax = Syntax {
    line: &[b"#"],
    block: None,
    hash_after_space: true,
    ..C_LIKE
};

/// The syntax of a file, from its name; None when the language is not known (every byte is
/// then code).
pub fn syntax_of(path: &[u8]) -> Option<Syntax> {
    let name = path.rsplit(|b| *b == b'/').next().unwrap_or(path);
    let ext = name
        .iter()
        .rposition(|b| *b == b'.')
        .map(|i| &name[i + 1..])
        .unwrap_or(b"");
    let ext = String::from_utf8_lossy(ext).to_ascii_lowercase();
    Some(
        match ext.as_str() {
            "rs" => Syntax {
                rust: true,
                nests: true,
                quotes: b"\"",
                multiline: b"\"",
                ..C_LIKE
            },
            "c" | "h" | "cc" | "cpp" | "cxx" | "hpp" | "hh" => Syntax {
                splices: true,
                ..C_LIKE
            },
            "java" => Syntax {
                unicode_escapes: true,
                triple_quoted: true,
                ..C_LIKE
            },
            "kt" | "kts" | "swift" | "scala" => Syntax {
                nests: true,
                triple_quoted: true,
                ..C_LIKE
            },
            "dart" => Syntax {
                nests: true,
                ..C_LIKE
            },
            // C# ends lines (and so `//` comments) at U+0085, U+2028 and U+2029 too, and has
            // verbatim and raw strings; PHP ends a `//` comment at `?>` and has heredocs. Read
            // as C they would hide code in what looks like a comment: they are read as code
            // throughout until they have lexers of their own.
            "go" => Syntax {
                quotes: b"\"'`",
                multiline: b"`",
                ..C_LIKE
            },
            "js" | "jsx" | "ts" | "tsx" | "mjs" | "cjs" => Syntax {
                quotes: b"\"'`",
                multiline: b"`",
                templates: true,
                ..C_LIKE
            },
            "py" | "pyi" => Syntax {
                triple: true,
                ..HASH
            },
            "rb" | "pl" | "r" | "yaml" | "yml" | "toml" | "cfg" | "ini" | "conf" | "cmake"
            | "sh" | "bash" | "zsh" | "ksh" | "mk" | "tf" => HASH,
            "sql" => Syntax {
                line: &[b"--"],
                quotes: b"'",
                multiline: b"'",
                ..C_LIKE
            },
            _ => return None,
        }
        .finish(),
    )
}

/// Walks one line (without its terminator) from `state`, telling `emit` what each byte is, and
/// returns the state at the line's end.
pub fn walk(line: &[u8], syn: &Syntax, start: LineStart, emit: impl FnMut(Part)) -> State {
    walk_with(line, syn, &syn.openers, start.state, start.docstring, emit)
}

/// [`walk`] with the syntax's table of opening bytes made once.
fn walk_with(
    line: &[u8],
    syn: &Syntax,
    openers: &[bool; 256],
    state: State,
    docstring: bool,
    mut emit: impl FnMut(Part),
) -> State {
    let starts = |at: usize, s: &[u8]| line.get(at..at + s.len()) == Some(s);
    // Line ends the compiler sees where a lexer of lines does not: Java's `\u000a` (anywhere,
    // comments included) and JavaScript's U+2028/U+2029. Such a line is read as code.
    if (syn.unicode_escapes && has_unicode_escape(line))
        || (syn.templates && bstr::ByteSlice::find(line, "\u{2028}").is_some())
        || (syn.templates && bstr::ByteSlice::find(line, "\u{2029}").is_some())
    {
        line.iter().for_each(|_| emit(Part::Code));
        return State::Code;
    }
    // A line the next one is spliced onto is read as code: what it says depends on that line.
    if syn.splices && ends_with_splice(line) {
        line.iter().for_each(|_| emit(Part::Code));
        return if state == State::LineComment
            || (matches!(state, State::Code | State::Unknown) && has_line_comment(line, syn))
        {
            State::LineComment
        } else {
            walk_plain(strip_splice(line), syn, state)
        };
    }
    if state == State::LineComment {
        line.iter().for_each(|_| emit(Part::Comment));
        return if syn.splices && ends_with_splice(line) {
            State::LineComment
        } else {
            State::Code
        };
    }
    let mut i = 0;
    let mut state = match state {
        State::Unknown => {
            let trimmed = line.trim_ascii_start();
            if syn.block.is_some() && trimmed.starts_with(b"*") && !trimmed.starts_with(b"*=") {
                // The continuation of a block comment, as far as one line can tell.
                line.iter().for_each(|_| emit(Part::Comment));
                return State::Unknown;
            }
            State::Code
        }
        s => s,
    };
    while i < line.len() {
        match state {
            State::Unknown | State::Code | State::LineComment => {}
            State::Template { depth } => {
                let c = line[i];
                emit(Part::Code);
                i += 1;
                state = match c {
                    b'{' => State::Template {
                        depth: depth.saturating_add(1),
                    },
                    b'}' if depth <= 1 => State::Str {
                        quote: b'`',
                        count: 1,
                        hashes: 0,
                        escapes: true,
                        doc: false,
                    },
                    b'}' => State::Template { depth: depth - 1 },
                    _ => state,
                };
                continue;
            }
            State::Block { depth } => {
                let (open, close) = syn.block.unwrap_or((b"/*", b"*/"));
                let c = line[i];
                if c != close[0] && c != open[0] {
                    emit(Part::Comment);
                    i += 1;
                    continue;
                }
                if starts(i, close) {
                    close.iter().for_each(|_| emit(Part::Comment));
                    i += close.len();
                    state = if depth > 1 {
                        State::Block { depth: depth - 1 }
                    } else {
                        State::Code
                    };
                } else if syn.nests && starts(i, open) {
                    open.iter().for_each(|_| emit(Part::Comment));
                    i += open.len();
                    state = State::Block {
                        depth: depth.saturating_add(1),
                    };
                } else {
                    emit(Part::Comment);
                    i += 1;
                }
                continue;
            }
            State::Str {
                quote,
                count,
                hashes,
                escapes,
                doc,
            } => {
                let (inside, quotes) = if doc {
                    (Part::Comment, Part::Comment)
                } else {
                    (Part::Str, Part::Code)
                };
                let c = line[i];
                if syn.templates && quote == b'`' && c == b'$' && line.get(i + 1) == Some(&b'{') {
                    emit(Part::Code);
                    emit(Part::Code);
                    i += 2;
                    state = State::Template { depth: 1 };
                    continue;
                }
                if c != quote && c != b'\\' {
                    emit(inside);
                    i += 1;
                    continue;
                }
                if escapes && c == b'\\' {
                    emit(inside);
                    if i + 1 < line.len() {
                        emit(inside);
                    }
                    i += 2;
                    continue;
                }
                let closes = c == quote
                    && (0..count as usize).all(|k| line.get(i + k) == Some(&quote))
                    && (0..hashes as usize)
                        .all(|k| line.get(i + count as usize + k) == Some(&b'#'));
                if closes {
                    let n = count as usize + hashes as usize;
                    (0..n).for_each(|_| emit(quotes));
                    i += n;
                    state = State::Code;
                } else {
                    emit(inside);
                    i += 1;
                }
                continue;
            }
        }
        let c = line[i];
        if !openers[c as usize] {
            // A run of plain code.
            let run = if (syn.opener_count as usize) <= syn.opener_list.len() {
                let set = &syn.opener_list[..syn.opener_count as usize];
                bstr::ByteSlice::find_byteset(&line[i..], set)
            } else {
                line[i..].iter().position(|b| openers[*b as usize])
            }
            .unwrap_or(line.len() - i);
            (0..run).for_each(|_| emit(Part::Code));
            i += run;
            continue;
        }
        // JavaScript: after a `/` in code, `//` or `/*` may be inside a regular expression
        // (`/^https:\/\//`): read as code.
        // Nor is `//` after a `:`: a URL in JSX text (`https://…`) is not a comment.
        let maybe_regex = syn.templates
            && c == b'/'
            && (line[..i].contains(&b'/') || (i > 0 && line[i - 1] == b':'));
        // Line comment: the rest of the line (in C, and the next ones while a backslash ends
        // them).
        if !maybe_regex
            && syn.line.iter().any(|m| starts(i, m))
            && (!syn.hash_after_space || i == 0 || line[i - 1].is_ascii_whitespace())
        {
            line[i..].iter().for_each(|_| emit(Part::Comment));
            return State::Code;
        }
        if let Some((open, _)) = syn.block
            && !maybe_regex
            && starts(i, open)
        {
            open.iter().for_each(|_| emit(Part::Comment));
            i += open.len();
            state = State::Block { depth: 1 };
            continue;
        }
        // Rust raw strings: r"…", r#"…"#, br"…" (the `r` and `#`s went by as code).
        if syn.rust && c == b'"' {
            let hashes = line[..i].iter().rev().take_while(|b| **b == b'#').count();
            let r = i - hashes;
            let raw = r > 0
                && line[r - 1] == b'r'
                && (r == 1
                    || !is_ident(line[r - 2])
                    || (line[r - 2] == b'b' && (r == 2 || !is_ident(line[r - 3]))));
            if raw && hashes < 256 {
                emit(Part::Code);
                i += 1;
                state = State::Str {
                    quote: b'"',
                    count: 1,
                    hashes: hashes as u8,
                    escapes: false,
                    doc: false,
                };
                continue;
            }
        }
        if syn.rust && c == b'\'' {
            // A char literal closes within a character; otherwise a lifetime or label.
            let close = if line.get(i + 1) == Some(&b'\\') {
                (i + 3..(i + 12).min(line.len())).find(|&k| line[k] == b'\'')
            } else {
                let width = line.get(i + 1).map_or(1, |b| utf8_width(*b));
                (line.get(i + 1 + width) == Some(&b'\'')).then_some(i + 1 + width)
            };
            match close {
                Some(close) => {
                    emit(Part::Code);
                    (i + 1..close).for_each(|_| emit(Part::Str));
                    emit(Part::Code);
                    i = close + 1;
                }
                None => {
                    emit(Part::Code);
                    i += 1;
                }
            }
            continue;
        }
        if syn.quotes.contains(&c) {
            let triple = (syn.triple || (syn.triple_quoted && c == b'"')) && starts(i, &[c, c, c]);
            let count = if triple { 3 } else { 1 };
            // A triple-quoted string that opens its line is a docstring (or a block comment
            // written as one); one assigned or passed is data.
            let doc = triple && docstring && line[..i].iter().all(u8::is_ascii_whitespace);
            (0..count).for_each(|_| emit(if doc { Part::Comment } else { Part::Code }));
            i += count;
            state = State::Str {
                quote: c,
                count: count as u8,
                hashes: 0,
                escapes: c != b'`',
                doc,
            };
            continue;
        }
        emit(Part::Code);
        i += 1;
    }
    match state {
        // A string that may not span lines ends with its line (C, shell, single-quoted Python).
        State::Str { quote, count, .. } if count == 1 && !syn.multiline.contains(&quote) => {
            State::Code
        }
        s => s,
    }
}

/// A `\uXXXX` escape (any number of `u`s), which Java decodes before it reads comments and
/// strings: `\u000a` ends a line, `\u002a/` ends a comment, `\u0022` ends a string.
fn has_unicode_escape(line: &[u8]) -> bool {
    line.windows(2).enumerate().any(|(i, w)| {
        if w != b"\\u" {
            return false;
        }
        let rest = &line[i + 1..];
        let digits = &rest[rest.iter().take_while(|b| **b == b'u').count()..];
        digits.len() >= 4 && digits[..4].iter().all(u8::is_ascii_hexdigit)
    })
}

/// C and C++: the line ends in a backslash (trailing blanks allowed, as GCC and Clang read
/// it) or the trigraph `??/`, which joins the next line to it.
fn ends_with_splice(line: &[u8]) -> bool {
    let t = line.trim_ascii_end();
    t.ends_with(b"\\") || t.ends_with(b"??/")
}

/// `line` without the splices that end it (and the blanks after them): what is left ends in
/// none, so reading it never comes back here.
fn strip_splice(line: &[u8]) -> &[u8] {
    let mut t = line.trim_ascii_end();
    while let Some(rest) = t.strip_suffix(b"\\").or_else(|| t.strip_suffix(b"??/")) {
        t = rest.trim_ascii_end();
    }
    t
}

/// The state after `line` from `state`, its parts unused.
fn walk_plain(line: &[u8], syn: &Syntax, state: State) -> State {
    walk_with(line, syn, &syn.openers, state, false, |_| {})
}

/// Whether `line`, read from code, ends in a line comment.
fn has_line_comment(line: &[u8], syn: &Syntax) -> bool {
    let mut last = Part::Code;
    let t = strip_splice(line);
    walk_with(t, syn, &syn.openers, State::Code, false, |p| last = p);
    last == Part::Comment && walk_plain(t, syn, State::Code) == State::Code
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn utf8_width(b: u8) -> usize {
    match b {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Where each line of `text` starts (one entry per line, lines split at `\n`), for its first
/// `lines` lines: the lexer state and whether the line lies in an in-file test module. A line's
/// start depends only on the lines before it, so a caller that needs lines up to N scans N.
pub fn scan(text: &[u8], syn: &Syntax, lines: usize) -> Vec<LineStart> {
    let mut out = Vec::with_capacity(lines.min(text.len() / 16 + 1));
    let mut state = State::Code;
    // Rust test modules: a `#[cfg(test)]` attribute, then the item's braces.
    let mut depth: u32 = 0;
    let mut pending = false;
    let mut region: Option<u32> = None;
    let openers = syn.openers;
    // Python: whether a statement has been seen (a docstring opens the module only before one).
    let mut last_code: Option<u8> = None;
    let (mut in_header, mut after_header) = (false, false);
    let mut rest = text;
    while out.len() < lines && !rest.is_empty() {
        let end = bstr::ByteSlice::find_byte(rest, b'\n');
        let (line, next) = match end {
            Some(e) => (&rest[..e], &rest[e + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut test = region.is_some() || pending;
        if syn.rust && state == State::Code && is_cfg_test(line) {
            pending = true;
            test = true;
        }
        // Python: a docstring opens the module, or is the first statement after a `def` or
        // `class` header (which may run over lines) ends with `:` — not after any `:`.
        let trimmed = line.trim_ascii_start();
        if syn.triple
            && state == State::Code
            && [&b"def "[..], b"async def ", b"class "]
                .iter()
                .any(|k| trimmed.starts_with(k))
        {
            in_header = true;
        }
        let docstring = syn.triple && (last_code.is_none() || after_header);
        out.push(LineStart {
            state,
            test,
            docstring,
        });
        if syn.triple {
            let mut k = 0;
            let mut line_code = None;
            state = walk_with(line, syn, &openers, state, docstring, |p| {
                let b = line[k];
                k += 1;
                if p != Part::Comment && !b.is_ascii_whitespace() {
                    line_code = Some(b);
                }
            });
            // A statement line (not blank, not a `#` comment) decides what may follow.
            if !trimmed.is_empty() && !trimmed.starts_with(b"#") {
                after_header = in_header && line_code == Some(b':');
                if after_header {
                    in_header = false;
                }
                last_code = last_code.or(Some(b' '));
            }
            continue;
        }
        if !syn.rust {
            state = walk_with(line, syn, &openers, state, false, |_| {});
            continue;
        }
        let mut k = 0;
        state = walk_with(line, syn, &openers, state, false, |p| {
            let b = line[k];
            k += 1;
            if p != Part::Code {
                return;
            }
            match b {
                b'{' => {
                    if pending && region.is_none() {
                        region = Some(depth);
                        pending = false;
                    }
                    depth += 1;
                }
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if region == Some(depth) {
                        region = None;
                    }
                }
                b';' if pending && region.is_none() => pending = false,
                _ => {}
            }
        });
    }
    out
}

/// A line holding `#[cfg(test)]` (or `#[cfg(all(test, …))]`) outside comments.
fn is_cfg_test(line: &[u8]) -> bool {
    let t = line.trim_ascii_start();
    if !t.starts_with(b"#[cfg(") {
        return false;
    }
    let compact: Vec<u8> = t
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    compact.starts_with(b"#[cfg(test)]") || compact.starts_with(b"#[cfg(all(test,")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(path: &str, text: &str) -> Vec<String> {
        let syn = syntax_of(path.as_bytes()).unwrap();
        let starts = scan(text.as_bytes(), &syn, usize::MAX);
        text.lines()
            .zip(starts)
            .map(|(line, start)| {
                let mut s = String::new();
                let mut bytes = line.bytes();
                walk(line.as_bytes(), &syn, start, |p| {
                    let b = bytes.next().unwrap();
                    s.push(match p {
                        Part::Code if b == b' ' => ' ',
                        Part::Code => 'c',
                        Part::Comment => '/',
                        Part::Str => 's',
                    });
                });
                if start.test {
                    s.insert(0, 'T');
                }
                s
            })
            .collect()
    }

    #[test]
    fn block_comments_and_multi_line_strings_carry_over_lines() {
        let c = parts("a.c", "int x; /* one\nverify_password(x)\n*/ y();");
        assert_eq!(c, ["ccc cc //////", "//////////////////", "// cccc"]);
        let py = parts(
            "a.py",
            "def f():\n    \"\"\"Checks the\n    password.\"\"\"\n    g()",
        );
        // A docstring is documentation.
        assert_eq!(py[1], "    /////////////");
        assert_eq!(py[2], "////////////////");
        assert_eq!(py[3], "    ccc");
        // A triple-quoted string opening a line that no `def`/`class` opened is data.
        let data = parts("a.py", "q = (\n    \"\"\"select password\"\"\"\n)");
        assert_eq!(data[1], "    cccsssssssssssssssccc");
        // A triple-quoted string that is assigned is data.
        let sql = parts("a.py", "q = \"\"\"select\npassword from t\"\"\"\nx()");
        assert_eq!(sql[0], "c c cccssssss");
        assert_eq!(sql[1], "sssssssssssssssccc");
        let js = parts("a.js", "const u = `${verify(false)} ok`;");
        assert_eq!(
            js[0], "ccccc c c cccccccccccccccccssscc",
            "template expressions are code"
        );
        let kt = parts("a.kt", "val s = \"\"\"a\n/* b\n\"\"\"\nf()");
        assert_eq!(
            kt[1], "ssss",
            "a multi-line string's line is a string: {kt:?}"
        );
        assert_eq!(kt[3], "ccc");
        let go = parts("a.go", "s := `a\nbcrypt`\nx()");
        assert_eq!(go[1], "ssssssc");
        assert_eq!(go[2], "ccc");
        let rs = parts("a.rs", "let s = r#\"a \"quoted\"\nb\"#; x();");
        assert_eq!(rs[1], "sccc cccc");
    }

    #[test]
    fn rust_test_modules_are_marked_from_attribute_to_closing_brace() {
        let text = "fn a() {}\n#[cfg(test)]\nmod tests {\n    fn b() { \"}\" }\n}\nfn c() {}\n";
        let marks: Vec<bool> = scan(text.as_bytes(), &syntax_of(b"x.rs").unwrap(), usize::MAX)
            .iter()
            .map(|s| s.test)
            .collect();
        assert_eq!(marks, [false, true, true, true, true, false]);
        let single = "#[cfg(test)]\nuse std::fmt;\nfn prod() {}\n";
        let marks: Vec<bool> = scan(single.as_bytes(), &syntax_of(b"x.rs").unwrap(), usize::MAX)
            .iter()
            .map(|s| s.test)
            .collect();
        assert_eq!(marks, [true, true, false]);
    }

    #[test]
    fn a_line_of_backslashes_is_read_without_recursion() {
        let line = "// x ".to_owned() + &"\\".repeat(200_000);
        let syn = syntax_of(b"a.c").unwrap();
        let mut n = 0;
        walk(line.as_bytes(), &syn, LineStart::default(), |_| n += 1);
        assert_eq!(n, line.len());
    }

    #[test]
    fn lifetimes_are_code_and_chars_are_strings() {
        let rs = parts("a.rs", "fn f<'a>(x: &'a str) -> char { 'x' }");
        assert_eq!(rs[0], "cc cccccccc ccc cccc cc cccc c csc c");
    }
}
