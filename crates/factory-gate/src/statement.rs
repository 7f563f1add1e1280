//! Making statements: approvals, rejects, withdrawals and overrides of a range, signed by the
//! person at the keyboard and appended to the tip's approvals note.
//!
//! The statement is made under the policy that will judge it — the default branch's, one source
//! of governance — and refused before anything is written when its signer is no person of that
//! policy or does not hold the role.

use factory_git::{APPROVALS_REF, ObjectId, RangeSpec, Repo, STAMPS_REF};
use factory_trust::approval::{self, Kind, SignatureCheck, Statement, check_signature};
use factory_trust::{SignError, Signer};
use serde::Serialize;

use crate::{GateError, base_policy};

/// What to state.
#[derive(Debug, Clone)]
pub struct Request {
    /// The tip the statement is made on.
    pub tip: ObjectId,
    /// The base; None: [`default_base`].
    pub base: Option<ObjectId>,
    /// The role; None: the policy's override role.
    pub role: Option<String>,
    /// Approve, reject, withdraw or override.
    pub kind: Kind,
    /// A free comment.
    pub comment: String,
    /// The reason of an override.
    pub reason: String,
    /// When, as RFC 3339 UTC.
    pub time: String,
    /// Write it even when it will not count (the signer is told why).
    pub force: bool,
    /// What a stamp says (stamps only).
    pub stamp: Option<Stamp>,
}

/// The content of a stamp.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// What it scores.
    pub dimension: String,
    /// The score, in [0, 1].
    pub score: f64,
    /// What the score rests on.
    pub evidence: approval::Evidence,
}

impl Stamp {
    /// A stamp whose evidence is `bytes` (a log, a results file), kept at `at` (a URL or path).
    pub fn new(dimension: &str, score: f64, bytes: &[u8], at: &str) -> Stamp {
        use sha2::{Digest, Sha256};
        let digest: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Stamp {
            dimension: dimension.to_owned(),
            score,
            evidence: approval::Evidence {
                digest: format!("sha256:{digest}"),
                at: at.to_owned(),
            },
        }
    }
}

/// A statement written.
#[derive(Debug, Clone)]
pub struct Made {
    /// The statement, signed.
    pub statement: Statement,
    /// The commit whose policy and keys it was made under.
    pub governance: ObjectId,
    /// The base it covers.
    pub base: ObjectId,
    /// Lines of the note that were already malformed (line number, problem); they count for
    /// nothing and were kept.
    pub malformed: Vec<(usize, String)>,
}

/// Why no statement was written.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    /// The policy or keys could not be read, or the repository failed.
    #[error(transparent)]
    Gate(#[from] GateError),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The signing key is no person's key in the governing policy.
    #[error(
        "your signing key {key} is no person's key in the policy of {} (the remote's default branch, or the base)",
        &governance.to_string()[..12]
    )]
    UnknownKey {
        /// The key.
        key: String,
        /// The commit whose policy was read.
        governance: ObjectId,
    },
    /// The signer's key cannot sign now (expired, revoked).
    #[error("the key of `{person}` cannot sign now: {reason}")]
    KeyInvalid {
        /// The person.
        person: String,
        /// Why.
        reason: String,
    },
    /// The signature made does not verify.
    #[error("the signature does not verify: {0}")]
    BadSignature(String),
    /// The statement would count for nothing under the governing policy: nothing is written.
    #[error("the {kind} would not count: {reason}")]
    WouldNotCount {
        /// `approval`, `reject` or `override`.
        kind: &'static str,
        /// Why, as the gate would say it.
        reason: String,
    },
    /// The signer does not hold the role.
    #[error("`{person}` does not hold the role `{role}` in the base policy")]
    NoRole {
        /// The person.
        person: String,
        /// The role.
        role: String,
    },
}

/// The merge-base with the default branch, or `tip`'s parent when it is on that branch.
pub fn default_base(repo: &Repo, tip: ObjectId) -> Result<ObjectId, GateError> {
    match repo.merge_base_with_default(tip) {
        Some(base) if base != tip => Ok(base),
        _ => Ok(repo.resolve_commit(&format!("{tip}^")).unwrap_or(tip)),
    }
}

/// The commit whose policy and keys a statement is made and checked under. One source of
/// governance: the server judges every protected ref by its default branch's policy and keys,
/// so that is the remote's default branch as this clone last fetched it, or `base` when there
/// is no remote default branch here.
pub fn governance(repo: &Repo, base: ObjectId) -> ObjectId {
    [
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/main",
        "refs/remotes/origin/master",
    ]
    .iter()
    .find_map(|r| repo.resolve_commit(r).ok())
    .unwrap_or(base)
}

/// The digests of the transcripts attached to the commits of `base..tip` (of `tip` alone when
/// they are equal), sorted.
pub fn transcript_digests(
    repo: &Repo,
    base: ObjectId,
    tip: ObjectId,
) -> Result<Vec<String>, GateError> {
    let range = if base == tip {
        vec![tip]
    } else {
        repo.commits(&RangeSpec::Range {
            from: base.to_string(),
            to: tip.to_string(),
        })?
    };
    let mut digests = Vec::new();
    for c in range {
        digests.extend(
            crate::transcripts::of(repo, c)?
                .into_iter()
                .map(|t| t.digest),
        );
    }
    digests.sort();
    digests.dedup();
    Ok(digests)
}

/// Makes the statement `request` asks for, signs it with `signer` and appends it to the tip's
/// approvals note. Nothing is written when the signer cannot make it.
pub fn make(repo: &Repo, request: &Request, signer: &Signer) -> Result<Made, StatementError> {
    let tip = request.tip;
    let base = match request.base {
        Some(b) => b,
        None => default_base(repo, tip)?,
    };
    let governance = governance(repo, base);
    let (policy, policy_blob, keyring) = base_policy(repo, governance)?;
    let role = request
        .role
        .clone()
        .unwrap_or_else(|| policy.gate.override_role.clone());
    let mut statement = Statement {
        v: 1,
        kind: request.kind,
        commit: tip.to_string(),
        tree: repo.tree_of(tip).map_err(GateError::from)?.to_string(),
        base: base.to_string(),
        change: crate::change_id(repo, base, tip)?,
        role: role.clone(),
        policy: policy_blob,
        time: request.time.clone(),
        approver: String::new(),
        transcripts: transcript_digests(repo, base, tip)?,
        comment: request.comment.clone(),
        reason: request.reason.clone(),
        dimension: request
            .stamp
            .as_ref()
            .map(|s| s.dimension.clone())
            .unwrap_or_default(),
        score: request
            .stamp
            .as_ref()
            .and_then(|s| serde_json::Number::from_f64(s.score)),
        evidence: request.stamp.as_ref().map(|s| s.evidence.clone()),
        sig: None,
    };
    // Who is signing? Sign once to find the key's person in the policy, then for real.
    statement.sig = Some(signer.sign(&statement.canonical_bytes())?);
    let person = match check_signature(&statement, &keyring) {
        SignatureCheck::Good { person, .. } => person,
        SignatureCheck::UnknownKey { key } => {
            return Err(StatementError::UnknownKey { key, governance });
        }
        SignatureCheck::Invalid { person, reason } => {
            return Err(StatementError::KeyInvalid { person, reason });
        }
        SignatureCheck::Bad { reason } => return Err(StatementError::BadSignature(reason)),
    };
    if request.kind != Kind::Withdraw
        && !policy
            .people
            .get(&person)
            .is_some_and(|p| p.roles.contains(&role))
    {
        return Err(StatementError::NoRole { person, role });
    }
    statement.approver = person;
    statement.sig = None;
    statement.sig = Some(signer.sign(&statement.canonical_bytes())?);
    // Tell the truth before writing: judge the range as the gate will, with this statement.
    if request.kind != Kind::Withdraw && !request.force {
        let notes = crate::Notes::current(repo)?;
        let options = crate::Options {
            extra: vec![statement.clone()],
            ..crate::Options::decided_now()
        };
        let decision = crate::decide_under(repo, governance, base, tip, &notes, &options)?;
        let status = decision.evaluation.statements.iter().find(|s| {
            s.approver == statement.approver
                && s.role == statement.role
                && s.kind == statement.kind
                && s.time == statement.time
        });
        if let Some(status) = status.filter(|s| !s.counts) {
            return Err(StatementError::WouldNotCount {
                kind: match request.kind {
                    Kind::Reject => "reject",
                    Kind::Override => "override",
                    Kind::Stamp => "stamp",
                    _ => "approval",
                },
                reason: status.reason.clone(),
            });
        }
    }
    // Stamps go to their own notes ref.
    let notes_ref = if request.kind == Kind::Stamp {
        STAMPS_REF
    } else {
        APPROVALS_REF
    };
    let existing = repo
        .read_note(notes_ref, tip)
        .map_err(GateError::from)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    // Malformed lines already there count for nothing; they do not stop a new statement.
    let (_, malformed) = approval::parse_note_lenient(&existing);
    let note = approval::append_to_note(&existing, &statement);
    repo.write_note(
        notes_ref,
        tip,
        note.as_bytes(),
        &format!("factory: {} statement", request.kind.as_str()),
    )
    .map_err(GateError::from)?;
    Ok(Made {
        statement,
        governance,
        base,
        malformed,
    })
}

/// A statement of a note, with its signature's verdict and why it does not bind the commit.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// The statement.
    #[serde(flatten)]
    pub statement: Statement,
    /// Its signature, checked with the keys of the policy that governs it.
    #[serde(flatten)]
    pub check: SignatureCheck,
    /// Why the statement does not bind this commit, if it does not.
    pub problem: Option<String>,
}

/// The statements on `tip`'s approvals note, and its stamps, each checked: its signature under the governing
/// policy's keys, and whether it was made for this commit, tree and policy. Malformed lines are
/// returned apart (line, problem); they count for nothing.
#[allow(clippy::type_complexity)]
pub fn list(repo: &Repo, tip: ObjectId) -> Result<(Vec<Listed>, Vec<(usize, String)>), GateError> {
    let note = repo
        .read_note(APPROVALS_REF, tip)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let (mut statements, malformed) = approval::parse_note_lenient(&note);
    // The tip's stamps are listed with its statements.
    if let Some(stamps) = repo.read_note(STAMPS_REF, tip)? {
        let (good, _) = approval::parse_note_lenient(&String::from_utf8_lossy(&stamps));
        statements.extend(good.into_iter().filter(|s| s.kind == Kind::Stamp));
    }
    let tree = repo.tree_of(tip)?.to_string();
    let mut bases: std::collections::HashMap<ObjectId, (String, factory_trust::Keyring)> =
        Default::default();
    let mut listed = Vec::new();
    for s in statements {
        let base = ObjectId::from_hex(s.base.as_bytes()).ok();
        let (check, problem) = match base {
            None => (
                SignatureCheck::Bad {
                    reason: "the base is not a commit id".into(),
                },
                Some("bad base".to_owned()),
            ),
            Some(base) => {
                // Statements usually share a base: load its policy and keys once.
                let (blob, keyring) = match bases.entry(base) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let (_, blob, keyring) = base_policy(repo, governance(repo, base))?;
                        e.insert((blob, keyring))
                    }
                };
                let check = check_signature(&s, keyring);
                let problem = if s.commit != tip {
                    Some(format!(
                        "made for {}, not this commit (replayed)",
                        &s.commit[..12.min(s.commit.len())]
                    ))
                } else if s.tree != tree {
                    Some("the tree does not match".to_owned())
                } else if s.policy != *blob {
                    Some(
                        "made under another policy than the default branch's (or the base's)"
                            .to_owned(),
                    )
                } else if matches!(&check, SignatureCheck::Good { person, .. } if *person != s.approver)
                {
                    Some("signed by someone other than the named approver".to_owned())
                } else {
                    None
                };
                (check, problem)
            }
        };
        listed.push(Listed {
            statement: s,
            check,
            problem,
        });
    }
    Ok((listed, malformed))
}
