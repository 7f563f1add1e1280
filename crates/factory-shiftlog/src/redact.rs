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

/// Built-in kinds: (kind, pattern). When a pattern has a group named `secret`, only that group
/// is replaced (the key name of an assignment stays readable).
const BUILT_IN: &[(&str, &str)] = &[
    (
        "private-key",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----",
    ),
    (
        "aws-access-key",
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b",
    ),
    (
        "aws-secret-key",
        r#"(?i)aws_?secret_?access_?key["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9/+=]{40})"#,
    ),
    ("gcp-api-key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    (
        "gcp-service-account",
        r#""private_key_id"\s*:\s*"(?P<secret>[0-9a-f]{40})""#,
    ),
    (
        "azure-storage-key",
        r"(?i)AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)",
    ),
    (
        "azure-client-secret",
        r#"(?i)(?:azure|client)_?secret["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9~._-]{34,40})"#,
    ),
    (
        "github-token",
        r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\b|\bgithub_pat_[A-Za-z0-9_]{22,255}\b",
    ),
    ("gitlab-token", r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
    (
        "slack-token",
        r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b|https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+",
    ),
    (
        "stripe-key",
        r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b",
    ),
    (
        "jwt",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    ),
    ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("pypi-token", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{40,}"),
    (
        "url-credentials",
        r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:(?P<secret>[^\s@/]{3,})@",
    ),
    (
        "basic-auth",
        r#"(?:\s-u|--user)\s+["']?[A-Za-z0-9._@~-]+:(?P<secret>[^\s"']{3,})"#,
    ),
    (
        "authorization-header",
        r"(?i)\bauthorization\s*[:=]\s*[\x22']?(?:bearer|basic|token|digest)\s+(?P<secret>[A-Za-z0-9._~+/=-]{8,})",
    ),
    (
        "bearer-token",
        r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/-]{20,}=*)",
    ),
    (
        "env-secret",
        r"(?m)^\s*(?:export\s+)?[A-Z][A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|PWD|CREDENTIALS?)[A-Z0-9_]*\s*=\s*[\x22']?(?P<secret>[^\s\x22']{6,})",
    ),
    (
        "hex-key",
        r#"(?i)(?:key|token|secret|signature|salt)[\w-]*["']?\s*[:=]\s*["']?(?P<secret>[0-9a-f]{32,})\b"#,
    ),
    (
        "password",
        r#"(?i)(?:password|passwd|pwd|passphrase|secret|api_?key|access_?token|auth_?token)["']?\s*[:=]\s*["']?(?P<secret>[^\s"',;]{6,})"#,
    ),
];

/// A token that may be a secret, for the entropy check.
const TOKEN: &str = r"[A-Za-z0-9+/=_-]+";

/// Replaces secrets in transcripts and counts them by kind.
#[derive(Debug, Clone)]
pub struct Redactor {
    rules: Vec<(String, Regex)>,
    token: Regex,
    config: RedactionConfig,
}

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
        let mut rules = Vec::new();
        for (kind, pattern) in BUILT_IN {
            rules.push((
                (*kind).to_owned(),
                Regex::new(pattern).map_err(|e| e.to_string())?,
            ));
        }
        for (kind, pattern) in &config.patterns {
            let re =
                Regex::new(pattern).map_err(|e| format!("redaction pattern `{pattern}`: {e}"))?;
            rules.push((kind.clone(), re));
        }
        Ok(Redactor {
            rules,
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
        for (kind, re) in &self.rules {
            if !re.is_match(&out) {
                continue;
            }
            let mut n = 0u64;
            let replaced = re.replace_all(&out, |caps: &regex::Captures<'_>| {
                let whole = caps.get(0).map_or("", |m| m.as_str());
                let secret = caps.name("secret").map_or(whole, |m| m.as_str());
                if secret.starts_with("[REDACTED:") {
                    // Already replaced by an earlier, more specific kind.
                    return whole.to_owned();
                }
                // `secret: string`, `password = credentials.password`, `KEY=your_key`: code
                // naming where a secret is, or a placeholder — not a secret.
                if matches!(kind.as_str(), "password" | "env-secret") && is_reference(secret) {
                    return whole.to_owned();
                }
                n += 1;
                match caps.name("secret") {
                    Some(secret) => {
                        let start = secret.start() - caps.get(0).map_or(0, |m| m.start());
                        format!(
                            "{}{}{}",
                            &whole[..start],
                            marker(kind),
                            &whole[start + secret.len()..]
                        )
                    }
                    None => marker(kind),
                }
            });
            if n > 0 {
                out = Cow::Owned(replaced.into_owned());
                *counts.entry(kind.clone()).or_default() += n;
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
        // A path, or part of a URL: the word it is in has `://` before it (secrets in URLs —
        // credentials, webhooks, query tokens — have their own rules).
        let word = &before[before.rfind(char::is_whitespace).map_or(0, |i| i + 1)..];
        let word = word.trim_start_matches(['(', '[', '`', '"', '\'', '<']);
        if tok.starts_with('/') || word.contains("://") {
            return false;
        }
        // A path: its word starts like one (`/…`, `~/…`, `./…`, `C:\…`), or the token has
        // directories and is followed by a file's extension (`src/Foo/Bar9x.tsx`).
        if word.starts_with(['/', '~', '.', '\\'])
            || word.as_bytes().get(1..3) == Some(b":\\")
            || word.as_bytes().get(1..3) == Some(b":/")
        {
            return false;
        }
        if tok.contains('/') && has_extension(after) {
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
        // Path-like: every segment short or plain words.
        if tok.contains('/')
            && tok.split('/').all(|seg| {
                seg.len() <= 16
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
            Value::Object(o) => o.values_mut().for_each(|x| self.redact_value(x, counts)),
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

/// Whether the value of an assignment names where a secret is (a type, a variable, a call, an
/// environment lookup) or is a placeholder, rather than being one.
fn is_reference(value: &str) -> bool {
    let v = value
        .trim_matches(['"', '\'', '`'])
        .trim_end_matches([')', ']', '}', ':', '>', '|', '?', '.', '!']);
    let lower = v.to_ascii_lowercase();
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
    if TYPES.contains(&lower.as_str())
        || lower.starts_with("optional[")
        || lower.starts_with("option<")
    {
        return true;
    }
    if v.starts_with(['$', '{', '<', '%', '(', '['])
        || v.contains('(')
        || [
            "process.env",
            "os.environ",
            "os.getenv",
            "import.meta.env",
            "env.",
            "env::",
            "std::env",
            "config.",
            "settings.",
            "self.",
            "this.",
        ]
        .iter()
        .any(|p| v.starts_with(p))
    {
        return true;
    }
    if [
        "your_",
        "your-",
        "xxx",
        "***",
        "changeme",
        "change_me",
        "placeholder",
        "dummy",
        "redacted",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
    {
        return true;
    }
    // `credentials.password`, `cfg.api_key`: a lower-case name with fields.
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() >= 2
        && v.starts_with(|c: char| c.is_ascii_lowercase())
        && parts.iter().all(|p| {
            p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}
