//! OpenSSH `allowed_signers` files (see ssh-keygen(1), "ALLOWED SIGNERS").

use ssh_key::PublicKey;

/// One line of an allowed_signers file.
#[derive(Debug, Clone)]
pub struct AllowedSigner {
    /// The principals (e-mail addresses or names) the key may sign as; patterns allowed.
    pub principals: Vec<String>,
    /// `namespaces="..."`: the namespaces the key may sign in (None: any).
    pub namespaces: Option<Vec<String>>,
    /// `valid-after`, seconds since the epoch (UTC).
    pub valid_after: Option<i64>,
    /// `valid-before`, seconds since the epoch (UTC).
    pub valid_before: Option<i64>,
    /// `cert-authority`: the key is a CA, whose certificates factory does not verify.
    pub cert_authority: bool,
    /// The key.
    pub key: PublicKey,
    /// 1-based line in the file.
    pub line: usize,
}

/// A parsed allowed_signers file.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    /// The entries, in file order.
    pub entries: Vec<AllowedSigner>,
}

/// A line that is not an allowed_signers entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Splits an option list at commas outside double quotes.
fn options(list: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in list.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().expect("never empty").push(c),
        }
    }
    out
}

/// Splits off one whitespace-delimited field, honouring double quotes (kept).
fn field(s: &str) -> (String, &str) {
    let s = s.trim_start();
    let mut out = String::new();
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => {
                quoted = !quoted;
                out.push(c);
            }
            c if c.is_whitespace() && !quoted => return (out, &s[i..]),
            c => out.push(c),
        }
    }
    (out, "")
}

/// `YYYYMMDD[HHMM[SS]][Z]` to seconds since the epoch (UTC; ssh-keygen reads it as local time
/// unless it ends in Z; factory always uses UTC).
fn timestamp(v: &str) -> Option<i64> {
    let v = v.trim_end_matches(['Z', 'z']);
    if !v.bytes().all(|b| b.is_ascii_digit()) || !matches!(v.len(), 8 | 12 | 14) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| v.get(r).map_or(Some(0), |s| s.parse::<i64>().ok());
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(8..10)?, num(10..12)?, num(12..14)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from the civil date (proleptic Gregorian).
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Whether `name` matches an ssh pattern (`*` and `?` wildcards).
fn pattern_match(pattern: &str, name: &str) -> bool {
    fn rec(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => rec(&p[1..], n) || (!n.is_empty() && rec(p, &n[1..])),
            (Some(b'?'), Some(_)) => rec(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => rec(&p[1..], &n[1..]),
            _ => false,
        }
    }
    rec(pattern.as_bytes(), name.as_bytes())
}

impl AllowedSigners {
    /// Parses a file; every malformed line is an error naming it.
    pub fn parse(text: &str) -> Result<AllowedSigners, ParseError> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let err = |message: String| ParseError { line, message };
            let (principals, mut rest) = field(content);
            let mut entry = AllowedSigner {
                principals: options(&principals),
                namespaces: None,
                valid_after: None,
                valid_before: None,
                cert_authority: false,
                key: PublicKey::from_openssh("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                    .map_err(|e| err(e.to_string()))?,
                line,
            };
            // Options, if the next field is not a key type.
            let (next, after) = field(rest);
            let is_key_type =
                |s: &str| s.starts_with("ssh-") || s.starts_with("ecdsa-") || s.starts_with("sk-");
            if !is_key_type(&next) {
                for opt in options(&next) {
                    let (name, value) = opt.split_once('=').unwrap_or((opt.as_str(), ""));
                    match name.to_ascii_lowercase().as_str() {
                        "cert-authority" => entry.cert_authority = true,
                        "namespaces" => {
                            entry.namespaces = Some(value.split(',').map(str::to_owned).collect())
                        }
                        "valid-after" => {
                            entry.valid_after = Some(
                                timestamp(value)
                                    .ok_or_else(|| err(format!("bad valid-after `{value}`")))?,
                            )
                        }
                        "valid-before" => {
                            entry.valid_before = Some(
                                timestamp(value)
                                    .ok_or_else(|| err(format!("bad valid-before `{value}`")))?,
                            )
                        }
                        other => return Err(err(format!("unknown option `{other}`"))),
                    }
                }
                rest = after;
            }
            let key_text = rest.trim();
            entry.key = PublicKey::from_openssh(key_text)
                .map_err(|e| err(format!("not a public key: {e}")))?;
            entries.push(entry);
        }
        Ok(AllowedSigners { entries })
    }

    /// The entries allowing `key` to sign in `namespace` at `time` (seconds since the epoch),
    /// optionally as `principal`.
    pub fn allowing<'a>(
        &'a self,
        key: &'a ssh_key::public::KeyData,
        namespace: &'a str,
        time: Option<i64>,
        principal: Option<&'a str>,
    ) -> impl Iterator<Item = &'a AllowedSigner> + 'a {
        self.entries.iter().filter(move |e| {
            !e.cert_authority
                && e.key.key_data() == key
                && e.namespaces
                    .as_ref()
                    .is_none_or(|ns| ns.iter().any(|n| pattern_match(n, namespace)))
                && time.is_none_or(|t| {
                    e.valid_after.is_none_or(|a| t >= a) && e.valid_before.is_none_or(|b| t <= b)
                })
                && principal.is_none_or(|p| e.principals.iter().any(|pat| pattern_match(pat, p)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_dates() {
        assert_eq!(timestamp("19700101"), Some(0));
        assert_eq!(timestamp("20240102"), Some(1_704_153_600));
        assert_eq!(
            timestamp("202401020304Z"),
            Some(1_704_153_600 + 3 * 3600 + 4 * 60)
        );
        assert_eq!(timestamp("2024"), None);
    }

    #[test]
    fn patterns() {
        assert!(pattern_match("*@example.com", "alice@example.com"));
        assert!(!pattern_match("*@example.com", "alice@example.org"));
        assert!(pattern_match("gi?", "git"));
    }
}
