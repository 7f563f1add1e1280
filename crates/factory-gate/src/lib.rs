//! The gate: one engine deciding whether base..tip may land.
//!
//! The policy and keys are read from the trusted base — never from the commits being judged —
//! or the embedded default when the base has none. Every commit is classified under that
//! policy, its signature verified with those keys, agent commits are checked for transcripts
//! where the policy requires them, and the approval statements on the tip are evaluated
//! ([`factory_trust::evaluate`]). Any error is returned, and callers block on it (fail closed).
#![deny(missing_docs)]

mod push;

pub use push::{PushContext, PushDecision, RefUpdate, UpdateDecision, decide_push};

use factory_git::{APPROVALS_REF, ObjectId, RangeSpec, Repo, TRANSCRIPTS_REF, classify_commits};
use factory_policy::{DEFAULT_POLICY, Origin, Policy, PolicyError};
use factory_trust::approval::{self, Statement};
use factory_trust::{
    Evaluation, KeyProblem, Keyring, RangeCommit, RangeFacts, Verdict, evaluate, verify_commit,
};
use rayon::prelude::*;
use serde::Serialize;

/// The policy's path in a tree.
pub const POLICY_PATH: &str = ".factory/policy.toml";
/// The keys' directory in a tree.
pub const KEYS_DIR: &str = ".factory/keys";

/// Why the gate could not decide (callers block).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// Reading the repository failed.
    #[error("{0}")]
    Git(String),
    /// The base's policy file is not UTF-8.
    #[error("the base's policy is not UTF-8 text")]
    NotUtf8,
    /// The base's policy is invalid; the problems point into its text.
    #[error("the base's policy is invalid: {}", problems(&.0.problems))]
    Policy(PolicyError),
    /// Keys of the base's policy cannot be loaded; the problems point at them in the policy.
    #[error("the base's keys cannot be loaded: {}", .0.iter().map(|k| k.problem.message.as_str()).collect::<Vec<_>>().join("; "))]
    Keys(Vec<KeyProblem>),
    /// A note on a judged commit is malformed.
    #[error("the {what} note of {commit} is malformed: {message}")]
    Note {
        /// Which note.
        what: &'static str,
        /// The commit.
        commit: String,
        /// What is wrong.
        message: String,
    },
}

fn problems(list: &[factory_policy::Problem]) -> String {
    list.iter()
        .map(|p| format!("{}:{}: {}", p.file(), p.line().unwrap_or(0), p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn git<E: std::fmt::Display>(e: E) -> GateError {
    GateError::Git(e.to_string())
}

/// The trusted base's policy, the blob id of its file (`none` for the default) and its keys.
pub fn base_policy(repo: &Repo, base: ObjectId) -> Result<(Policy, String, Keyring), GateError> {
    let blob = repo.blob_id_at(base, POLICY_PATH).map_err(git)?;
    let (name, text) = match repo.file_at(base, POLICY_PATH).map_err(git)? {
        Some(bytes) => (
            format!("{}:{POLICY_PATH}", &base.to_string()[..12]),
            String::from_utf8(bytes).map_err(|_| GateError::NotUtf8)?,
        ),
        None => (
            "<embedded default policy>".to_owned(),
            DEFAULT_POLICY.text.to_owned(),
        ),
    };
    let policy = Policy::parse(&name, &text).map_err(GateError::Policy)?;
    let files = if blob.is_some() {
        repo.files_in(base, KEYS_DIR).map_err(git)?
    } else {
        Vec::new()
    };
    let keyring = Keyring::from_policy(&policy, &files).map_err(GateError::Keys)?;
    Ok((
        policy,
        blob.map_or_else(|| "none".to_owned(), |b| b.to_string()),
        keyring,
    ))
}

/// A reason the gate blocks.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reason {
    /// A tier requirement is not met.
    Unmet {
        /// The commit.
        commit: String,
        /// Its tier.
        tier: String,
        /// What is missing.
        what: String,
        /// Who could provide it.
        could: Vec<String>,
    },
    /// A valid reject statement is outstanding.
    Rejected {
        /// By whom.
        person: String,
    },
    /// An agent commit has no transcript, and the policy requires one.
    MissingTranscript {
        /// The commit.
        commit: String,
    },
    /// A human commit has no good signature by a person of the policy, and the policy requires
    /// one (`[gate] require-signed-human-commits`).
    UnsignedHumanCommit {
        /// The commit.
        commit: String,
        /// Its signature verdict.
        signature: String,
    },
    /// The ref update itself is refused (deleting or rewinding a protected branch, moving a tag,
    /// rewriting factory's notes).
    Refused {
        /// Why.
        message: String,
    },
    /// The gate could not decide; it blocks (fails closed).
    Error {
        /// What went wrong.
        message: String,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |c: &str| c[..12.min(c.len())].to_owned();
        match self {
            Reason::Unmet {
                commit,
                tier,
                what,
                could,
            } => {
                let who = if could.is_empty() {
                    "no one in the base policy can give it".to_owned()
                } else {
                    format!("can be given by: {}", could.join(", "))
                };
                write!(f, "{} ({tier}) needs {what}; {who}", short(commit))
            }
            Reason::Rejected { person } => write!(f, "{person} rejected the change"),
            Reason::MissingTranscript { commit } => write!(
                f,
                "{} is an agent commit without a transcript (factory transcript attach)",
                short(commit)
            ),
            Reason::UnsignedHumanCommit { commit, signature } => write!(
                f,
                "{} is a human commit without a good signature by a person of the policy ({signature})",
                short(commit)
            ),
            Reason::Refused { message } | Reason::Error { message } => f.write_str(message),
        }
    }
}

/// Where the gate reads factory's notes: the notes commits the refs have, or are about to have
/// when notes are pushed together with a branch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notes {
    /// `refs/notes/factory/transcripts`.
    pub transcripts: Option<ObjectId>,
    /// `refs/notes/factory/approvals`.
    pub approvals: Option<ObjectId>,
}

impl Notes {
    /// The notes refs as they are in `repo`.
    pub fn current(repo: &Repo) -> Result<Notes, GateError> {
        let refs = repo.references("refs/notes/factory/").map_err(git)?;
        let find = |name: &str| refs.iter().find(|(n, _)| n == name).map(|(_, id)| *id);
        Ok(Notes {
            transcripts: find(TRANSCRIPTS_REF),
            approvals: find(APPROVALS_REF),
        })
    }

    fn read(
        repo: &Repo,
        notes: Option<ObjectId>,
        commit: ObjectId,
    ) -> Result<Option<Vec<u8>>, GateError> {
        match notes {
            None => Ok(None),
            Some(n) => repo.read_note_in(n, commit).map_err(git),
        }
    }
}

/// One judged commit.
#[derive(Debug, Clone, Serialize)]
pub struct CommitReport {
    /// Full id.
    pub commit: String,
    /// Subject line.
    pub summary: String,
    /// Its tier.
    pub tier: String,
    /// Agent or human.
    pub origin: &'static str,
    /// The signature verdict.
    pub signature: &'static str,
    /// Whether a transcript is attached.
    pub transcript: bool,
    /// The evidence of the rules that fired: (rule, path, line).
    pub evidence: Vec<(String, Option<String>, Option<u32>)>,
}

/// The gate's decision on base..tip.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// `pass` or `blocked`.
    pub decision: &'static str,
    /// The trusted base.
    pub base: String,
    /// The tip.
    pub tip: String,
    /// The range's tier.
    pub tier: String,
    /// Every reason it blocks (empty when it passes).
    pub reasons: Vec<Reason>,
    /// The commits judged.
    pub commits: Vec<CommitReport>,
    /// The evaluation of the approval statements.
    pub evaluation: Evaluation,
    /// What valid overrides waived (the decision is `pass` with these listed).
    pub waived: Vec<Reason>,
}

impl Decision {
    /// Whether the update may land.
    pub fn passes(&self) -> bool {
        self.decision == "pass"
    }
}

/// Decides whether base..tip may land, reading notes where `notes` says.
pub fn decide(
    repo: &Repo,
    base: ObjectId,
    tip: ObjectId,
    notes: &Notes,
) -> Result<Decision, GateError> {
    let (policy, policy_blob, keyring) = base_policy(repo, base)?;
    let commits = repo
        .commits(&RangeSpec::Range {
            from: base.to_string(),
            to: tip.to_string(),
        })
        .map_err(git)?;
    let classified = classify_commits(repo, &policy, &commits).map_err(git)?;
    let verdicts: Vec<Verdict> = commits
        .par_iter()
        .map(|id| {
            repo.raw_commit(*id)
                .map(|raw| verify_commit(&raw, &keyring, None))
                .map_err(git)
        })
        .collect::<Result<_, _>>()?;
    let mut reports = Vec::new();
    let mut range = Vec::new();
    let mut reasons = Vec::new();
    for (c, verdict) in classified.iter().zip(verdicts) {
        let id = c.change_set.id;
        let transcript = match Notes::read(repo, notes.transcripts, id)? {
            None => false,
            Some(bytes) => {
                factory_shiftlog::note::decode(&bytes).map_err(|e| GateError::Note {
                    what: "transcript",
                    commit: id.to_string(),
                    message: e.to_string(),
                })?;
                true
            }
        };
        if c.verdict.origin == Origin::Agent && policy.agents.require_transcript && !transcript {
            reasons.push(Reason::MissingTranscript {
                commit: id.to_string(),
            });
        }
        let signed_by_person = matches!(
            verdict,
            Verdict::Good {
                person: Some(_),
                ..
            }
        );
        if c.verdict.origin == Origin::Human
            && policy.gate.require_signed_human_commits
            && !signed_by_person
        {
            reasons.push(Reason::UnsignedHumanCommit {
                commit: id.to_string(),
                signature: verdict.name().to_owned(),
            });
        }
        reports.push(CommitReport {
            commit: id.to_string(),
            summary: c.change_set.commit.summary().to_owned(),
            tier: policy.tier_name(c.verdict.tier).to_owned(),
            origin: c.verdict.origin.as_str(),
            signature: verdict.name(),
            transcript,
            evidence: c
                .verdict
                .evidence
                .iter()
                .map(|e| {
                    (
                        e.rule.clone(),
                        e.path
                            .as_ref()
                            .map(|p| String::from_utf8_lossy(p).into_owned()),
                        e.line,
                    )
                })
                .collect(),
        });
        range.push(RangeCommit {
            id: id.to_string(),
            tier: c.verdict.tier,
            origin: c.verdict.origin,
            signature: verdict,
            requested_by: c
                .change_set
                .commit
                .trailer_values("Requested-By")
                .next()
                .map(str::to_owned),
        });
    }
    let statements: Vec<Statement> = match Notes::read(repo, notes.approvals, tip)? {
        None => Vec::new(),
        Some(bytes) => {
            approval::parse_note(&String::from_utf8_lossy(&bytes)).map_err(|message| {
                GateError::Note {
                    what: "approvals",
                    commit: tip.to_string(),
                    message,
                }
            })?
        }
    };
    let evaluation = evaluate(&RangeFacts {
        base: base.to_string(),
        tip: tip.to_string(),
        tip_tree: repo.tree_of(tip).map_err(git)?.to_string(),
        policy: &policy,
        policy_blob,
        keyring: &keyring,
        commits: range,
        statements,
    });
    for u in &evaluation.unmet {
        reasons.push(Reason::Unmet {
            commit: u.commit.clone(),
            tier: u.tier.clone(),
            what: u.what.clone(),
            could: u.could.clone(),
        });
    }
    for person in &evaluation.rejects {
        reasons.push(Reason::Rejected {
            person: person.clone(),
        });
    }
    let waived = if evaluation.overrides.is_empty() {
        Vec::new()
    } else {
        std::mem::take(&mut reasons)
    };
    Ok(Decision {
        decision: if reasons.is_empty() {
            "pass"
        } else {
            "blocked"
        },
        waived,
        base: base.to_string(),
        tip: tip.to_string(),
        tier: evaluation.tier.clone(),
        reasons,
        commits: reports,
        evaluation,
    })
}
