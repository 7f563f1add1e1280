//! Redaction: secrets are replaced by a marker naming their kind before anything is stored.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;

use crate::schema::Transcript;

/// What to redact beyond the built-in kinds.
#[derive(Debug, Clone)]
pub struct RedactionConfig {
    /// Shannon entropy (bits per character) at or above which a long token is taken for a
    /// secret. Default 4.0.
    pub entropy_threshold: f64,
    /// Minimum length of a token for the entropy check. Default 24.
    pub entropy_min_len: usize,
    /// Extra patterns (regular expressions) with the kind each is reported as.
    pub patterns: Vec<(String, String)>,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        RedactionConfig {
            entropy_threshold: 4.0,
            entropy_min_len: 24,
            patterns: Vec::new(),
        }
    }
}

/// The built-in rules, in the gitleaks configuration format (see the file's head).
const RULES: &str = include_str!("rules.toml");

/// A rule file in the gitleaks format: the subset factory reads.
#[derive(serde::Deserialize)]
struct RuleFile {
    rules: Vec<RuleDef>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleDef {
    id: String,
    #[allow(dead_code, reason = "documentation in the file; gitleaks reads it")]
    description: Option<String>,
    regex: String,
    secret_group: Option<usize>,
    entropy: Option<f64>,
    allowlist: Option<AllowDef>,
}

#[derive(serde::Deserialize)]
struct AllowDef {
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
}

/// One compiled rule.
#[derive(Debug, Clone)]
struct Rule {
    kind: String,
    pattern: String,
    /// Compiled the first time a text may hold a match (see [`Rule::required`]): a short
    /// session is redacted without compiling the rules none of its texts can match. None if
    /// the pattern cannot be compiled (a size limit): the texts it would read are withheld.
    regex: std::sync::OnceLock<Option<Regex>>,
    /// The group that is the secret; None: the first group that took part, else the match.
    group: Option<usize>,
    entropy: Option<f64>,
    allow: Vec<Regex>,
    stopwords: Vec<String>,
}

impl Rule {
    fn new(kind: &str, pattern: &str) -> Result<Rule, String> {
        let regex =
            Regex::new(pattern).map_err(|e| format!("redaction pattern `{pattern}`: {e}"))?;
        Ok(Rule {
            kind: kind.to_owned(),
            pattern: pattern.to_owned(),
            regex: std::sync::OnceLock::from(Some(regex)),
            group: None,
            entropy: None,
            allow: Vec::new(),
            stopwords: Vec::new(),
        })
    }

    /// A built-in rule, checked (parsed) now and compiled when first needed. Its word
    /// boundaries are ASCII ones: secrets are ASCII, and a Unicode `\b` makes the regex engine
    /// give up its DFA for a slow one on any text holding a non-ASCII character.
    fn lazy(kind: &str, pattern: &str) -> Result<Rule, String> {
        let pattern = &ascii_boundaries(pattern);
        regex_syntax::Parser::new()
            .parse(pattern)
            .map_err(|e| format!("redaction pattern `{pattern}`: {e}"))?;
        Ok(Rule {
            kind: kind.to_owned(),
            pattern: pattern.to_owned(),
            regex: std::sync::OnceLock::new(),
            group: None,
            entropy: None,
            allow: Vec::new(),
            stopwords: Vec::new(),
        })
    }

    fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| Regex::new(&self.pattern).ok())
            .as_ref()
    }

    /// Literals one of which starts every match (regex-syntax's prefix extraction), when they
    /// are a finite set of three bytes or more each: a text holding none of them (ASCII case
    /// aside) has no match.
    fn required(&self) -> Option<Vec<Vec<u8>>> {
        let hir = regex_syntax::Parser::new().parse(&self.pattern).ok()?;
        let seq = regex_syntax::hir::literal::Extractor::new()
            .limit_total(256)
            .extract(&hir);
        let lits = seq.literals()?;
        (!lits.is_empty() && lits.iter().all(|l| l.as_bytes().len() >= 3))
            .then(|| lits.iter().map(|l| l.as_bytes().to_vec()).collect())
    }

    /// The secret of a match: its span in the match, or None when the rule lets it be.
    fn secret<'t>(&self, caps: &regex::Captures<'t>) -> Option<regex::Match<'t>> {
        let secret = match self.group {
            Some(g) => caps.get(g)?,
            None => (1..caps.len())
                .find_map(|g| caps.get(g))
                .or_else(|| caps.get(0))?,
        };
        let text = secret.as_str();
        if text.starts_with("[REDACTED:")
            || self.entropy.is_some_and(|e| entropy(text) < e)
            || self.allow.iter().any(|re| re.is_match(text))
        {
            return None;
        }
        let lower = text.to_ascii_lowercase();
        if self.stopwords.iter().any(|w| lower.contains(w.as_str())) {
            return None;
        }
        // Values that only name where a secret is, or stand in for one.
        let names_a_value = matches!(
            self.kind.as_str(),
            "password"
                | "env-secret"
                | "cli-password"
                | "api-key-header"
                | "url-query-secret"
                | "url-credentials"
        );
        // A quoted value is a literal: only a placeholder or a variable the shell expands stands
        // in for a secret there.
        let whole = caps.get(0).map_or("", |m| m.as_str());
        let at = secret.start() - caps.get(0).map_or(0, |m| m.start());
        // An environment file's and a URL's values are literals too.
        let quoted = whole[..at].ends_with(['"', '\''])
            || matches!(self.kind.as_str(), "env-secret" | "url-credentials");
        if names_a_value && is_reference(text, quoted) {
            return None;
        }
        if self.kind == "env-secret" && names_no_secret(caps.get(0).map_or("", |m| m.as_str())) {
            return None;
        }
        Some(secret)
    }
}

/// `pattern` with each `\b` (outside a class, not itself escaped) written `(?-u:\b)`.
fn ascii_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    let mut class = 0usize;
    // Just after a class's `[` (or `[^`), where `]` is a literal.
    let mut opened = false;
    while let Some(c) = chars.next() {
        let was_opened = std::mem::take(&mut opened);
        match c {
            ']' | '^' if was_opened => {
                opened = c == '^';
                out.push(c);
            }
            '\\' => match chars.next() {
                Some('b') if class == 0 => out.push_str("(?-u:\\b)"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '[' => {
                class += 1;
                opened = true;
                out.push(c);
            }
            ']' if class > 0 => {
                class -= 1;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The built-in rules, compiled.
fn built_in() -> Result<Vec<Rule>, String> {
    let file: RuleFile =
        toml::from_str(RULES).map_err(|e| format!("the built-in redaction rules: {e}"))?;
    let mut rules = Vec::new();
    for def in file.rules {
        let mut rule = Rule::lazy(&def.id, &def.regex)?;
        rule.group = def.secret_group;
        rule.entropy = def.entropy;
        if let Some(allow) = def.allowlist {
            for re in &allow.regexes {
                rule.allow
                    .push(Regex::new(re).map_err(|e| format!("allowlist of `{}`: {e}", def.id))?);
            }
            rule.stopwords = allow
                .stopwords
                .iter()
                .map(|w| w.to_ascii_lowercase())
                .collect();
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// Whether an environment assignment's name says its value is no secret: where one is
/// (`…_PATH`, `…_FILE`, `…_URL`), what it is called, or a size (`MAX_TOKENS`).
fn names_no_secret(assignment: &str) -> bool {
    let name = assignment
        .split(['=', ':', '?'])
        .next()
        .unwrap_or("")
        .trim()
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    [
        "_PATH",
        "_FILE",
        "_DIR",
        "_URL",
        "_URI",
        "_HEADER",
        "_NAME",
        "_ENDPOINT",
        "_HOST",
        "_PORT",
        "_TTL",
        "_EXPIRY",
        "_LENGTH",
        "_LIMIT",
        "_TYPE",
        "_MODE",
        "_ID",
        "_REGION",
    ]
    .iter()
    .any(|suffix| name.ends_with(suffix))
        || name.starts_with("MAX_")
        || name.starts_with("MIN_")
}

/// A token that may be a secret, for the entropy check.
const TOKEN: &str = r"[A-Za-z0-9+/=_-]+";

/// Replaces secrets in transcripts and counts them by kind.
#[derive(Debug, Clone)]
pub struct Redactor {
    rules: Vec<Rule>,
    /// The required literals of the rules that have them, in one ASCII case-insensitive
    /// automaton, with the rule of each; rules without are always tried.
    prefilter: Option<Prefilter>,
    token: Regex,
    config: RedactionConfig,
}

/// The prefilter automaton, the rule of each of its literals, and the rules always tried.
type Prefilter = (aho_corasick::AhoCorasick, Vec<usize>, Vec<bool>);

/// The marker that replaces a secret of `kind`.
pub fn marker(kind: &str) -> String {
    format!("[REDACTED:{kind}]")
}

fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

impl Redactor {
    /// A redactor with the built-in kinds and `config`'s patterns. A bad pattern is an error
    /// naming it.
    pub fn new(config: RedactionConfig) -> Result<Redactor, String> {
        let mut rules = built_in()?;
        for (kind, pattern) in &config.patterns {
            rules.push(Rule::new(kind, pattern)?);
        }
        let mut literals = Vec::new();
        let mut owner = Vec::new();
        let mut always = vec![true; rules.len()];
        for (i, rule) in rules.iter().enumerate() {
            if let Some(lits) = rule.required() {
                always[i] = false;
                owner.extend(std::iter::repeat_n(i, lits.len()));
                literals.extend(lits);
            }
        }
        // Without an automaton (a build limit) every rule is tried.
        let prefilter = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&literals)
            .ok()
            .map(|ac| (ac, owner, always));
        Ok(Redactor {
            rules,
            prefilter,
            token: Regex::new(TOKEN).map_err(|e| e.to_string())?,
            config,
        })
    }

    /// Redacts one text, adding to `counts`.
    pub fn redact_text(&self, text: &str, counts: &mut BTreeMap<String, u64>) -> String {
        self.redact_cow(text, counts).into_owned()
    }

    /// Redacts one text, adding to `counts`; a text with nothing to redact is not copied (a long
    /// session is redacted without a second copy of its texts).
    fn redact_cow<'a>(
        &self,
        text: &'a str,
        counts: &mut BTreeMap<String, u64>,
    ) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        let mut out: Cow<'a, str> = Cow::Borrowed(text);
        let candidates: Option<Vec<bool>> = self.prefilter.as_ref().map(|(ac, owner, always)| {
            let mut may = always.clone();
            for m in ac.find_overlapping_iter(text) {
                may[owner[m.pattern().as_usize()]] = true;
            }
            may
        });
        for (i, rule) in self.rules.iter().enumerate() {
            if candidates.as_ref().is_some_and(|may| !may[i]) {
                continue;
            }
            let Some(regex) = rule.regex() else {
                // A rule that cannot be compiled withholds what it would have read.
                *counts.entry(rule.kind.clone()).or_default() += 1;
                return Cow::Owned(marker(&rule.kind));
            };
            if !regex.is_match(&out) {
                continue;
            }
            let mut n = 0u64;
            let replaced = regex.replace_all(&out, |caps: &regex::Captures<'_>| {
                let whole = caps.get(0).map_or("", |m| m.as_str());
                let Some(secret) = rule.secret(caps) else {
                    return whole.to_owned();
                };
                n += 1;
                let start = secret.start() - caps.get(0).map_or(0, |m| m.start());
                format!(
                    "{}{}{}",
                    &whole[..start],
                    marker(&rule.kind),
                    &whole[start + secret.len()..]
                )
            });
            if n > 0 {
                out = Cow::Owned(replaced.into_owned());
                *counts.entry(rule.kind.clone()).or_default() += n;
            }
        }
        // High-entropy tokens: long, mixed letters and digits, and random-looking — but not
        // paths, URLs, data URIs or the integrity hashes of lockfiles, which look random too.
        let mut n = 0u64;
        let mut result = String::new();
        let mut last = 0;
        for m in self.token.find_iter(&out) {
            // `NAME=value` is one token to the pattern: the value is what may be secret.
            let start = match m.as_str().trim_end_matches('=').rfind('=') {
                Some(i) => m.start() + i + 1,
                None => m.start(),
            };
            let tok = &out[start..m.end()];
            let before = &out[..start];
            if self.is_secret_token(tok, before, &out[m.end()..]) {
                result.push_str(&out[last..start]);
                result.push_str(&marker("high-entropy"));
                last = m.end();
                n += 1;
            }
        }
        if n > 0 {
            result.push_str(&out[last..]);
            out = Cow::Owned(result);
            *counts.entry("high-entropy".to_owned()).or_default() += n;
        }
        out
    }

    /// Redacts `text` in place, replacing it only when something was redacted.
    fn redact_in_place(&self, text: &mut String, counts: &mut BTreeMap<String, u64>) {
        if let std::borrow::Cow::Owned(redacted) = self.redact_cow(text, counts) {
            *text = redacted;
        }
    }

    /// Whether a token (with the text before it) is taken for a secret by its entropy.
    fn is_secret_token(&self, tok: &str, before: &str, after: &str) -> bool {
        let mixed = tok.bytes().any(|b| b.is_ascii_uppercase())
            && tok.bytes().any(|b| b.is_ascii_lowercase())
            && tok.bytes().any(|b| b.is_ascii_digit());
        if tok.len() < self.config.entropy_min_len
            || !mixed
            || tok.starts_with("REDACTED")
            || entropy(tok) < self.config.entropy_threshold
        {
            return false;
        }
        // The word the token is in, up to the token.
        let word = &before[before.rfind(char::is_whitespace).map_or(0, |i| i + 1)..];
        let word = word.trim_start_matches(['(', '[', '`', '"', '\'', '<']);
        // Part of a URL's scheme, host or path (its query and fragment are judged: tokens
        // there are what URLs carry secrets in).
        // A URL's scheme and host (its path and query are judged: keys ride in both).
        if let Some(at) = word.find("://")
            && !word[at + 3..].contains(['/', '?', '#', '&'])
        {
            return false;
        }
        // A path: its word starts like one (`/…`, `~/…`, `./…`, `C:\…`) and nothing is assigned
        // or listed in it before the token (`./.env:KEY=…` is a line of a file, not a path), or
        // the token has directories and a file's extension follows (`src/Foo/Bar9x.tsx`).
        let path_start = tok.starts_with('/')
            || tok.starts_with("refs/")
            || word.starts_with(['/', '~', '.', '\\'])
            || word.as_bytes().get(1..3) == Some(b":\\")
            || word.as_bytes().get(1..3) == Some(b":/");
        let drive = word.as_bytes().get(1) == Some(&b':');
        let assigned = word[usize::from(drive) * 2..].contains(['=', ':']);
        if path_start && !assigned {
            return false;
        }
        if tok.contains('/') && has_extension(after) {
            return false;
        }
        // A name made of words (`Status422UnprocessableEntity`, `fadeUp_260ms_cubic`): random
        // tokens have no long runs of letters.
        if wordy(tok) >= 0.6 {
            return false;
        }
        // Ids the agents give their own sessions, messages, parts and calls.
        if [
            "ses_",
            "msg_",
            "prt_",
            "toolu_",
            "call_",
            "req_",
            "resp_",
            "run_",
            "chatcmpl-",
            "tooluse_",
            "pi_",
            "ch_",
            "cus_",
            "price_",
            "prod_",
            "evt_",
            "sub_",
            "asst_",
            "thread_",
            "usr_",
        ]
        .iter()
        .any(|p| tok.starts_with(p))
        {
            return false;
        }
        // Words joined by `+` (a search query in a URL).
        let words: Vec<&str> = tok.split('+').collect();
        if words.len() >= 3
            && words
                .iter()
                .filter(|w| w.len() >= 3 && w.bytes().all(|b| b.is_ascii_alphabetic()))
                .count()
                * 2
                >= words.len()
        {
            return false;
        }
        // Path-like: every segment plain (lower case, digits, `-_.`) or made of words.
        if tok.contains('/')
            && tok.split('/').all(|seg| {
                seg.len() <= 3
                    || wordy(seg) >= 0.6
                    || seg.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || b == b'-'
                            || b == b'_'
                            || b == b'.'
                    })
            })
        {
            return false;
        }
        // Public things that look random: an EVM address, GitHub's node ids, a Go module
        // hash, a key fingerprint, an SSH public key.
        if (tok.len() == 42
            && tok.starts_with("0x")
            && tok[2..].bytes().all(|b| b.is_ascii_hexdigit()))
            || ["_kwDO", "_kgDO", "MDEw", "MDQ6"]
                .iter()
                .any(|p| tok.contains(p))
            || [
                "h1:",
                "SHA256:",
                "ssh-ed25519 ",
                "ssh-rsa ",
                "ecdsa-sha2-nistp256 ",
            ]
            .iter()
            .any(|p| before.ends_with(p))
        {
            return false;
        }
        // Data URIs (images in a transcript) and lockfile integrity hashes.
        let lower = before.to_ascii_lowercase();
        if lower.ends_with("base64,")
            || ["sha1-", "sha256-", "sha384-", "sha512-"]
                .iter()
                .any(|p| tok.starts_with(p))
        {
            return false;
        }
        true
    }

    fn redact_value(&self, v: &mut Value, counts: &mut BTreeMap<String, u64>) {
        match v {
            Value::String(s) => self.redact_in_place(s, counts),
            Value::Array(a) => a.iter_mut().for_each(|x| self.redact_value(x, counts)),
            Value::Object(o) => {
                // `{"key": "DB_PASSWORD", "value": "…"}`, `{"name": "API_TOKEN", "value": "…"}`:
                // a setting named by a sibling field.
                let named_by_sibling = ["key", "name"].iter().any(|k| {
                    o.get(*k)
                        .and_then(Value::as_str)
                        .is_some_and(|n| secret_field(n, "Zq7Lm2Vb9Tx4").is_some())
                });
                if named_by_sibling
                    && let Some(Value::String(text)) = o.get_mut("value")
                    && !text.starts_with("[REDACTED:")
                    && text.len() >= 4
                    && !is_reference(text, true)
                {
                    *text = marker("password");
                    *counts.entry("password".to_owned()).or_default() += 1;
                }
                for (key, x) in o.iter_mut() {
                    // A tool's input names its fields: a secret under a secret's name is one,
                    // whatever it looks like (the text rules see the value without its name).
                    if let Value::String(text) = x
                        && let Some(kind) = secret_field(key, text)
                    {
                        let keep = if kind == "authorization-header" {
                            text.split_once(' ').map(|(scheme, _)| format!("{scheme} "))
                        } else {
                            None
                        };
                        *text = format!("{}{}", keep.unwrap_or_default(), marker(kind));
                        *counts.entry(kind.to_owned()).or_default() += 1;
                        continue;
                    }
                    self.redact_value(x, counts);
                }
            }
            _ => {}
        }
    }

    /// Redacts every text of a transcript in place, records the counts in
    /// [`Transcript::redactions`] and reseals its digest.
    pub fn redact(&self, t: &mut Transcript) {
        let mut counts = std::mem::take(&mut t.redactions);
        for text in [&mut t.title, &mut t.cwd].into_iter().flatten() {
            self.redact_in_place(text, &mut counts);
        }
        for m in &mut t.messages {
            self.redact_in_place(&mut m.text, &mut counts);
            if let Some(th) = &mut m.thinking {
                self.redact_in_place(th, &mut counts);
            }
            for call in &mut m.tool_calls {
                self.redact_value(&mut call.input, &mut counts);
                if let Some(out) = &mut call.output {
                    self.redact_in_place(out, &mut counts);
                }
            }
            for edit in &mut m.edits {
                if let Some(p) = &mut edit.patch {
                    self.redact_in_place(p, &mut counts);
                }
            }
        }
        counts.retain(|_, n| *n > 0);
        t.redactions = counts;
        t.seal();
    }
}

/// Whether the text after a token starts with a file's extension: `.rs`, `.tsx`, `.jsonl`, then
/// the end of the word.
fn has_extension(after: &str) -> bool {
    let Some(rest) = after.strip_prefix('.') else {
        return false;
    };
    let ext = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
    (1..=5).contains(&ext)
        && rest.as_bytes()[..ext].iter().any(u8::is_ascii_alphabetic)
        && !rest.as_bytes()[..ext].iter().any(u8::is_ascii_uppercase)
        && rest[ext..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != '-' && c != '/')
}

/// Whether the value of an assignment names where a secret is (a type, a variable or field, a
/// call, an environment lookup, a path, a URL, a number) or is a placeholder, rather than being
/// one. Each form is recognised whole: a password that merely starts with `$` or contains a dot
/// is still a password.
fn is_reference(value: &str, quoted: bool) -> bool {
    let v = value
        .trim_matches(['"', '\'', '`'])
        .trim_end_matches([')', ']', ':', '|', '!', ';', ',']);
    // A closing brace belongs to the value only when the value opened one.
    let v = if v.matches('}').count() > v.matches('{').count() {
        v.trim_end_matches('}')
    } else {
        v
    };
    if v.is_empty() {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    let ident = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    const TYPES: &[&str] = &[
        "string",
        "str",
        "number",
        "int",
        "integer",
        "bool",
        "boolean",
        "none",
        "null",
        "nil",
        "undefined",
        "any",
        "bytes",
        "text",
        "optional",
        "secretstr",
        "char",
        "object",
        "true",
        "false",
    ];
    if TYPES.contains(&lower.trim_end_matches('?')) || lower.starts_with("optional[") {
        return true;
    }
    // A generic type: `Option<String>`, `Vec<u8>`, `Record<string, string>`.
    if let Some((outer, _)) = v.split_once('<')
        && v.ends_with('>')
        && ident(outer)
        && !quoted
    {
        return true;
    }
    // `$VAR`, `${VAR}`, `$(command)`, `%VAR%`, `{{ template }}`, `<placeholder>`.
    let var = v
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}').or(Some(r)))
        .map(|r| r.split([':', '-', '?', '}']).next().unwrap_or(r))
        .or_else(|| v.strip_prefix('$'))
        .or_else(|| v.strip_prefix('%').and_then(|r| r.strip_suffix('%')));
    if var.is_some_and(|name| name.split('.').all(ident) || name.starts_with('(')) {
        return true;
    }
    if (v.starts_with("{{") && v.ends_with("}}")) || (v.starts_with('<') && v.ends_with('>')) {
        return true;
    }
    // Placeholders: `your_api_key`, `sk-…-your-key-here`, `sk-...`, `pk_test_XXX`, `****`,
    // `changeme`, `change-this-in-production`, a constant's name in quotes (`'TOKEN_VALUE'`).
    const INSIDE: &[&str] = &[
        "xxx",
        "****",
        "...",
        "…",
        "change-this",
        "changethis",
        "replace-me",
        "replace_me",
    ];
    const WHOLE: &[&str] = &[
        "changeme",
        "change_me",
        "change-me",
        "placeholder",
        "dummy",
        "redacted",
        "todo",
        "tbd",
        "password",
        "passwd",
        "secret",
        "token",
        "pass",
        "disabled",
        "enabled",
        "none",
        "test",
        "test-key",
        "testkey",
        "demo",
        "dev",
    ];
    let placeholder = lower.starts_with("your_")
        || lower.starts_with("your-")
        || lower.ends_with("-here")
        || lower.ends_with("_here")
        || INSIDE.iter().any(|p| lower.contains(p))
        || lower.bytes().all(|b| b == b'x' || b == b'*' || b == b'.')
        || WHOLE.contains(&lower.as_str())
        || (v.contains('_') && v.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
    if placeholder {
        return true;
    }
    // A version (`^0.4.14`, `~1.2`, `>=2.0.0`).
    let version = v.trim_start_matches(['^', '~', '>', '<', '=', 'v']);
    if version.starts_with(|c: char| c.is_ascii_digit())
        && version.contains('.')
        && version
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return true;
    }
    if quoted {
        return false;
    }
    // A call: `getApiKey()`, `os.getenv("KEY")`, `env('DB_PASSWORD')` (a default given as the
    // second argument is still found by the quoted-value rule).
    if let Some((callee, _)) = v.split_once('(')
        && !callee.is_empty()
        && callee
            .split(['.', ':'])
            .filter(|p| !p.is_empty())
            .all(ident)
    {
        return true;
    }
    // A path or a URL.
    if ["/", "./", "../", "~/", "http://", "https://"]
        .iter()
        .any(|p| v.starts_with(p))
    {
        return true;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    // A borrow or a subscript: `&args.password`, `request.form['password']`, `tokens[0]`.
    if v.starts_with('&') || v.contains('[') {
        return true;
    }
    // A type named in words: `AccessToken`, `SecretString`, `PasswordHash`.
    let humps = v.bytes().filter(u8::is_ascii_uppercase).count();
    if ident(v)
        && v.starts_with(|c: char| c.is_ascii_uppercase())
        && humps >= 2
        && !v.bytes().any(|b| b.is_ascii_digit() || b == b'_')
        && v.bytes().any(|b| b.is_ascii_lowercase())
    {
        return true;
    }
    // A field or variable: `credentials.password`, `config.db.apiKey`, `self.secret`,
    // `pluginOptions?.apiKey` — an object name known to hold settings, or a field named for
    // what it holds.
    let path = v.replace("?.", ".");
    let parts: Vec<&str> = path.split('.').collect();
    // A resource address: `google_secret_manager_secret.db_url.id`.
    if parts.len() >= 3
        && parts
            .iter()
            .all(|p| ident(p) && !p.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return true;
    }
    if parts.len() >= 2 && parts.iter().all(|p| ident(p)) {
        const OBJECTS: &[&str] = &[
            "self",
            "this",
            "config",
            "cfg",
            "conf",
            "settings",
            "env",
            "process",
            "os",
            "credentials",
            "creds",
            "options",
            "opts",
            "params",
            "args",
            "props",
            "req",
            "request",
            "ctx",
            "context",
            "app",
            "user",
            "data",
            "body",
            "secrets",
            "vault",
            "form",
            "input",
            "values",
            "state",
            "auth",
            "account",
            "client",
        ];
        const FIELDS: &[&str] = &[
            "password",
            "passwd",
            "pass",
            "secret",
            "token",
            "key",
            "apikey",
            "api_key",
            "accesstoken",
            "access_token",
            "refreshtoken",
            "refresh_token",
            "credentials",
            "privatekey",
            "private_key",
            "secretkey",
            "secret_key",
            "result",
        ];
        let first = parts[0].to_ascii_lowercase();
        let last = parts[parts.len() - 1].to_ascii_lowercase();
        if OBJECTS.contains(&first.as_str())
            || parts[0].ends_with("Options")
            || parts[0].ends_with("Config")
            || FIELDS.contains(&last.as_str())
            || last.ends_with("password")
            || last.ends_with("secret")
            || last.ends_with("token")
            || last.ends_with("key")
        {
            return true;
        }
    }
    // A constant: `OPENAI_API_KEY`, `settings.SECRET_KEY`'s last part.
    if ident(v) && v.contains('_') && !v.bytes().any(|b| b.is_ascii_lowercase()) {
        return true;
    }
    // A variable named for a secret: `password=password`, `apiKey: openaiApiKey`,
    // `secret=jwt_secret_key` — one word, or words joined in camelCase or snake_case (a
    // literal such as `Password123` starts with a capital).
    let joined = v.starts_with(|c: char| c.is_ascii_lowercase())
        && (v.contains('_') || v.bytes().skip(1).any(|b| b.is_ascii_uppercase()));
    // Digits only as a short tail (`hashedPassword2`): `mySecretKey2024` is a literal.
    let body = v.trim_end_matches(|c: char| c.is_ascii_digit());
    ident(v)
        && v.len() - body.len() <= 2
        && !body.bytes().any(|b| b.is_ascii_digit())
        && (joined || ["password", "passwd", "secret", "token", "apikey", "key"].contains(&v))
        && [
            "password", "passwd", "secret", "token", "apikey", "api_key", "key",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

/// The share of a token's characters in runs of four or more letters that read as words (a
/// capital then lower case, or all lower case): near 1 for identifiers made of words, near 0
/// for random tokens.
fn wordy(tok: &str) -> f64 {
    let b = tok.as_bytes();
    let mut in_words = 0usize;
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic() {
            let start = i;
            i += 1;
            // A capital and lower case (`Status`), all lower case, or all capitals (`HOME`).
            let upper = b[start].is_ascii_uppercase() && i < b.len() && b[i].is_ascii_uppercase();
            while i < b.len()
                && (if upper {
                    b[i].is_ascii_uppercase()
                } else {
                    b[i].is_ascii_lowercase()
                })
            {
                i += 1;
            }
            if i - start >= 4 {
                in_words += i - start;
            }
        } else {
            i += 1;
        }
    }
    if b.is_empty() {
        0.0
    } else {
        in_words as f64 / b.len() as f64
    }
}

/// The kind of secret a JSON field holds by its name, when its value is one (not a reference or
/// a placeholder, not already redacted).
fn secret_field(key: &str, value: &str) -> Option<&'static str> {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    if value.len() < 4 || value.starts_with("[REDACTED:") || value.contains("[REDACTED:") {
        return None;
    }
    if k == "authorization" || k == "proxyauthorization" {
        return Some("authorization-header");
    }
    const NAMES: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "secretkey",
        "apikey",
        "xapikey",
        "accesstoken",
        "refreshtoken",
        "authtoken",
        "idtoken",
        "token",
        "clientsecret",
        "privatekey",
        "secretaccesskey",
        "sessiontoken",
        "bearertoken",
        "pass",
        "dbpass",
        "pin",
        "mnemonic",
        "seedphrase",
        "credentials",
        "signingkey",
        "clientkey",
        "encryptionkey",
        "masterkey",
    ];
    let named = NAMES.contains(&k.as_str())
        || [
            "password", "passwd", "secret", "apikey", "token", "mnemonic",
        ]
        .iter()
        .any(|w| k.ends_with(w));
    (named && !is_reference(value, true)).then_some("password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_rules_compile_and_most_are_prefiltered() {
        let rules = built_in().expect("the built-in rules parse");
        for rule in &rules {
            assert!(rule.regex().is_some(), "{} compiles", rule.kind);
        }
        let without: Vec<&str> = rules
            .iter()
            .filter(|r| r.required().is_none())
            .map(|r| r.kind.as_str())
            .collect();
        assert!(without.len() * 2 < rules.len(), "{without:?}");
    }

    #[test]
    fn a_rule_that_cannot_be_compiled_withholds_the_text() {
        let mut r = Redactor::new(RedactionConfig::default()).unwrap();
        // Parses, but compiles past the regex size limit.
        r.rules
            .push(Rule::lazy("huge", r"(?:\w{100}){100}").unwrap());
        r.prefilter = None;
        let mut counts = BTreeMap::new();
        let out = r.redact_text("an ordinary line", &mut counts);
        assert_eq!(out, marker("huge"));
        assert_eq!(counts.get("huge"), Some(&1));
    }

    #[test]
    fn word_boundaries_are_ascii() {
        assert_eq!(ascii_boundaries(r"\bkey\b"), r"(?-u:\b)key(?-u:\b)");
        assert_eq!(ascii_boundaries(r"a\\b[\b-]"), r"a\\b[\b-]");
        assert_eq!(ascii_boundaries(r"[]\b]\b"), r"[]\b](?-u:\b)");
    }

    #[test]
    fn a_rule_is_tried_only_where_its_literals_are() {
        let r = Redactor::new(RedactionConfig::default()).unwrap();
        let mut counts = BTreeMap::new();
        let key = "AKIA".to_owned() + "Z3Q7XW2LMNB4TPRS";
        let text = format!("the key is {key} and nothing else");
        assert!(!r.redact_text(&text, &mut counts).contains(&key));
        // Lower case is no AWS key id, but the prefilter (ASCII case-insensitive) still lets
        // the rule look.
        let plain = "akia is a word here";
        assert_eq!(r.redact_text(plain, &mut counts), plain);
    }
}
