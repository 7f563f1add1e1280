//! Approval statements: one signed JSON line on the note of the approved tip.
//!
//! The signature covers the statement's canonical bytes: the domain line
//! `factory.approval/v1`, a newline, and the JSON of every field but `sig` with keys sorted and
//! no insignificant whitespace. SSH signatures use the namespace `factory-approval`.

use std::collections::BTreeMap;

use openpgp::Packet;
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use sequoia_openpgp as openpgp;
use serde::{Deserialize, Serialize};

use crate::keyring::Keyring;
use crate::verify::{Signers, Verdict, verify_openpgp, verify_ssh};

/// The SSH signature namespace of approval statements.
pub const APPROVAL_NAMESPACE: &str = "factory-approval";
/// The first line of the signed bytes.
pub const DOMAIN: &str = "factory.approval/v1";

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The approver accepts base..commit in the role.
    Approve,
    /// The approver objects; an outstanding reject blocks.
    Reject,
    /// Break-glass: a holder of the policy's override role lets base..commit land although its
    /// requirements are unmet, giving a reason; every report lists it.
    Override,
    /// Withdraws the signer's own earlier approvals and rejects of the same commit.
    Withdraw,
    /// A validator's score of the change on one dimension (`reliability`, `holdback`, …),
    /// with its evidence; kept in `refs/notes/factory/stamps`.
    Stamp,
}

impl Kind {
    /// The kind as written in statements.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Approve => "approve",
            Kind::Reject => "reject",
            Kind::Override => "override",
            Kind::Withdraw => "withdraw",
            Kind::Stamp => "stamp",
        }
    }
}

/// The evidence of a stamp: the digest of its log or results, and where they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// `sha256:` of the evidence file.
    pub digest: String,
    /// A URL or path where the evidence is kept.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub at: String,
}

/// The signature of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementSig {
    /// `openpgp` or `ssh`.
    pub format: String,
    /// The armored signature.
    pub armored: String,
}

/// One approval statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// Format version, 1.
    pub v: u32,
    /// Approve or reject.
    pub kind: Kind,
    /// The approved tip commit.
    pub commit: String,
    /// Its tree.
    pub tree: String,
    /// The base: the statement covers base..commit.
    pub base: String,
    /// The identity of the change base..commit (`sha256:…`, see the git layer's
    /// `Worker::change_id`): what the statement approves, wherever that change lands. Empty in
    /// statements made before changes had identities; those bind their commit, tree and base.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub change: String,
    /// The role the approver acts in.
    pub role: String,
    /// The blob id of the base's `.factory/policy.toml` (`none` when the base has none).
    pub policy: String,
    /// When, RFC 3339 UTC.
    pub time: String,
    /// The approver's handle in the policy.
    pub approver: String,
    /// Digests of the transcripts the reviewer saw.
    #[serde(default)]
    pub transcripts: Vec<String>,
    /// Free text.
    #[serde(default)]
    pub comment: String,
    /// Why an override was needed (overrides only; required there).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// What a stamp scores (stamps only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dimension: String,
    /// A stamp's score, in [0, 1] (stamps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<serde_json::Number>,
    /// What a stamp's score rests on (stamps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// The signature (absent while the statement is being signed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<StatementSig>,
}

impl Statement {
    /// The bytes the signature covers.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.sig = None;
        // serde_json::Value keeps object keys sorted: the JSON is canonical.
        let value = serde_json::to_value(&unsigned).unwrap_or_default();
        let mut out = format!("{DOMAIN}\n").into_bytes();
        out.extend(serde_json::to_vec(&value).unwrap_or_default());
        out
    }

    /// A stamp's score as a number.
    pub fn stamp_score(&self) -> Option<f64> {
        self.score.as_ref().and_then(serde_json::Number::as_f64)
    }

    /// The statement as one note line.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses one note line.
    pub fn from_line(line: &str) -> Result<Statement, String> {
        let s: Statement = serde_json::from_str(line).map_err(|e| e.to_string())?;
        if s.v != 1 {
            return Err(format!("unsupported statement version {}", s.v));
        }
        if s.kind == Kind::Stamp {
            if s.dimension.trim().is_empty() {
                return Err("a stamp names no dimension".to_owned());
            }
            match s.stamp_score() {
                Some(x) if (0.0..=1.0).contains(&x) => {}
                Some(x) => return Err(format!("a stamp's score must be in [0, 1], not {x}")),
                None => return Err("a stamp has no score".to_owned()),
            }
            if s.evidence
                .as_ref()
                .is_none_or(|e| !e.digest.starts_with("sha256:"))
            {
                return Err("a stamp needs evidence with a sha256: digest".to_owned());
            }
        } else if !s.dimension.is_empty() || s.score.is_some() || s.evidence.is_some() {
            return Err(format!(
                "a {} statement carries stamp fields",
                s.kind.as_str()
            ));
        }
        Ok(s)
    }
}

/// Who signed a statement, if the signature holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "signature", rename_all = "kebab-case")]
pub enum SignatureCheck {
    /// A valid signature by a key of this person, valid at signing time.
    Good {
        /// The person.
        person: String,
        /// The key.
        key: String,
    },
    /// Not signed, or the signature does not verify over the canonical bytes.
    Bad {
        /// Why.
        reason: String,
    },
    /// The key is no person's in the keyring.
    UnknownKey {
        /// The key.
        key: String,
    },
    /// The key was expired or revoked at signing time (or hard-revoked at any time).
    Invalid {
        /// The person.
        person: String,
        /// Why.
        reason: String,
    },
}

/// Checks a statement's signature against a keyring, with the same verification as commit
/// signatures (judged at signing time), over the statement's canonical bytes.
pub fn check_signature(statement: &Statement, keyring: &Keyring) -> SignatureCheck {
    let Some(sig) = &statement.sig else {
        return SignatureCheck::Bad {
            reason: "not signed".into(),
        };
    };
    let bytes = statement.canonical_bytes();
    let verdict = match sig.format.as_str() {
        "ssh" => verify_ssh(
            &sig.armored,
            &bytes,
            APPROVAL_NAMESPACE,
            None,
            keyring,
            None,
            Signers::People,
        ),
        "openpgp" => verify_openpgp(&sig.armored, &bytes, keyring, Signers::People),
        other => {
            return SignatureCheck::Bad {
                reason: format!("unknown signature format `{other}`"),
            };
        }
    };
    match verdict {
        Verdict::Good {
            person: Some(person),
            key,
            ..
        } => SignatureCheck::Good { person, key },
        Verdict::Good {
            person: None, key, ..
        }
        | Verdict::UnknownKey { key, .. } => SignatureCheck::UnknownKey { key },
        Verdict::Expired { person, reason, .. } => SignatureCheck::Invalid {
            person: person.unwrap_or_default(),
            reason,
        },
        Verdict::Revoked { person, .. } => SignatureCheck::Invalid {
            person: person.unwrap_or_default(),
            reason: "the key is revoked".into(),
        },
        Verdict::Bad { reason, .. } | Verdict::Malformed { reason } => {
            SignatureCheck::Bad { reason }
        }
        Verdict::Unsupported { .. } | Verdict::Unsigned => SignatureCheck::Bad {
            reason: "not an OpenPGP or SSH signature".into(),
        },
    }
}

/// When a statement is checked for a decision made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckTime {
    /// The time of the decision (seconds since the epoch): the key must be valid then.
    pub now: i64,
    /// The committer time of the approved tip: a statement or signature dated before it was
    /// not made for it (backdated) and never counts.
    pub not_before: i64,
}

/// [`check_signature`], and for a decision made now ([`CheckTime`]): the key must be valid
/// now, neither the statement's time nor its signature's may precede the tip, and the statement
/// may not be dated more than five minutes ahead of now.
pub fn check_signature_at(
    statement: &Statement,
    keyring: &Keyring,
    when: Option<CheckTime>,
) -> SignatureCheck {
    let check = check_signature(statement, keyring);
    let SignatureCheck::Good { person, .. } = &check else {
        return check;
    };
    if when.is_none() {
        // Judged at signing time (landed history): the time must still be one, and not later
        // than the moment of judging.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let invalid = |reason: String| SignatureCheck::Invalid {
            person: person.clone(),
            reason,
        };
        match crate::civil::parse_rfc3339(&statement.time) {
            None => {
                return invalid(format!(
                    "its time `{}` is not RFC 3339 (YYYY-MM-DDTHH:MM:SSZ)",
                    statement.time
                ));
            }
            Some(t) if t > now + 300 => return invalid("it is dated in the future".to_owned()),
            Some(_) => return check,
        }
    }
    let (Some(when), SignatureCheck::Good { person, key }) = (when, &check) else {
        return check;
    };
    let invalid = |reason: String| SignatureCheck::Invalid {
        person: person.clone(),
        reason,
    };
    let signed_at = statement
        .sig
        .as_ref()
        .filter(|s| s.format == "openpgp")
        .and_then(|s| crate::verify::openpgp_signature_time(&s.armored));
    if let Some(t) = signed_at
        && t < when.not_before
    {
        return invalid(format!(
            "its signature is dated before the commit it approves ({t} < {})",
            when.not_before
        ));
    }
    match crate::civil::parse_rfc3339(&statement.time) {
        Some(t) if t < when.not_before => {
            return invalid("it is dated before the commit it approves".to_owned());
        }
        // A clock may run a little fast; a statement from the future could outlive a later
        // withdrawal, so it never counts.
        Some(t) if t > when.now + 300 => {
            return invalid("it is dated in the future".to_owned());
        }
        Some(_) => {}
        None => {
            return invalid(format!(
                "its time `{}` is not RFC 3339 (YYYY-MM-DDTHH:MM:SSZ)",
                statement.time
            ));
        }
    }
    if let Err(reason) = keyring.valid_at(key, when.now) {
        return invalid(reason);
    }
    check
}

/// Parses every line of a note, keeping going past malformed lines: the statements, and each
/// malformed line's number (1-based) with what is wrong. A malformed line counts for nothing.
pub fn parse_note_lenient(note: &str) -> (Vec<Statement>, Vec<(usize, String)>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (i, l) in note.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match Statement::from_line(l) {
            Ok(s) => good.push(s),
            Err(e) => bad.push((i + 1, e)),
        }
    }
    (good, bad)
}

/// Parses the statements of an approvals note; a malformed line is an error naming it.
pub fn parse_note(note: &str) -> Result<Vec<Statement>, String> {
    note.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| Statement::from_line(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// Adds a statement line to a note, keeping lines sorted and unique (git's cat_sort_uniq).
pub fn append_to_note(note: &str, statement: &Statement) -> String {
    let mut lines: BTreeMap<String, ()> = note
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| (l.to_owned(), ()))
        .collect();
    lines.insert(statement.to_line(), ());
    let mut out = lines.into_keys().collect::<Vec<_>>().join("\n");
    out.push('\n');
    out
}

/// Signs `bytes` in-process with an unencrypted OpenPGP secret key (armored), returning an
/// armored detached signature.
pub fn sign_openpgp(secret_key: &[u8], bytes: &[u8]) -> Result<String, String> {
    use openpgp::serialize::Serialize as _;
    let cert = openpgp::Cert::from_bytes(secret_key).map_err(|e| e.to_string())?;
    let policy = StandardPolicy::new();
    let key = cert
        .keys()
        .with_policy(&policy, None)
        .secret()
        .alive()
        .revoked(false)
        .for_signing()
        .next()
        .ok_or("the key file holds no usable secret signing key")?;
    let mut keypair = key
        .key()
        .clone()
        .into_keypair()
        .map_err(|e| format!("{e} (is the key protected by a passphrase?)"))?;
    let sig =
        openpgp::packet::signature::SignatureBuilder::new(openpgp::types::SignatureType::Binary)
            .sign_message(&mut keypair, bytes)
            .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    {
        let mut writer = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::Signature)
            .map_err(|e| e.to_string())?;
        Packet::from(sig)
            .serialize(&mut writer)
            .map_err(|e| e.to_string())?;
        writer.finalize().map_err(|e| e.to_string())?;
    }
    String::from_utf8(out).map_err(|e| e.to_string())
}
