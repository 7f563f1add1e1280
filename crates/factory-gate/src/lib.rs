//! The gate: one engine deciding whether base..tip may land.
//!
//! The policy and keys are read from the trusted base — never from the commits being judged —
//! or the embedded default when the base has none. Every commit is classified under that
//! policy, its signature verified with those keys, agent commits are checked for transcripts
//! where the policy requires them, and the approval statements on the tip are evaluated
//! ([`factory_trust::evaluate`]). Any error is returned, and callers block on it (fail closed).
#![deny(missing_docs)]

pub mod agent_trace;
mod cache;
pub mod classify;
pub mod hooks;
mod push;
pub mod statement;
pub mod transcripts;

pub use classify::{
    Classified, classify_between, classify_commits, classify_commits_observed, classify_streamed,
};
pub use push::{PushContext, PushDecision, RefUpdate, UpdateDecision, decide_push};

use factory_git::{APPROVALS_REF, ObjectId, RangeSpec, Repo, STAMPS_REF, TRANSCRIPTS_REF};
use factory_policy::{DEFAULT_POLICY, Origin, Policy, PolicyError};
use factory_trust::approval::{self, Statement};
use factory_trust::{
    AgentOrigin, Evaluation, KeyProblem, Keyring, RangeCommit, RangeFacts, Verdict, evaluate,
    verify_commit,
};
use rayon::prelude::*;
use serde::Serialize;

/// The policy's path in a tree.
pub const POLICY_PATH: &str = ".factory/policy.toml";
/// The keys' directory in a tree.
pub const KEYS_DIR: &str = ".factory/keys";
/// The trailer that binds a commit to the digest of the session `factory run` attached to it
/// (`Agent-Transcript: sha256:…`), inside the signed commit.
pub const TRANSCRIPT_TRAILER: &str = "Agent-Transcript";

/// Why the gate could not decide (callers block).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// A revision did not resolve or a range could not be walked.
    #[error(transparent)]
    Rev(#[from] factory_git::RevError),
    /// An object (tree, blob) could not be read.
    #[error(transparent)]
    Read(#[from] factory_git::ReadError),
    /// A commit's change set could not be computed (the commit and object are named).
    #[error(transparent)]
    Change(#[from] factory_git::ChangeError),
    /// A notes tree could not be read.
    #[error(transparent)]
    Notes(#[from] factory_git::NoteError),
    /// The repository could not be opened or read by gix.
    #[error(transparent)]
    Open(#[from] factory_git::OpenError),
    /// A git command failed.
    #[error(transparent)]
    Command(#[from] factory_git::GitCommandError),
    /// Text that should name an object does not.
    #[error("`{0}` is not an object id")]
    BadId(String),
    /// The history has a shape the gate cannot judge (a root commit where a base is needed, a
    /// commit in two steps), or its own state is inconsistent.
    #[error("{0}")]
    History(String),
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

fn git<E: Into<GateError>>(e: E) -> GateError {
    e.into()
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
    /// The transcript note of a commit does not hold the session the commit is bound to
    /// (`Agent-Transcript`): it was swapped or never attached.
    TranscriptMismatch {
        /// The commit.
        commit: String,
        /// The digest the commit carries.
        digest: String,
    },
    /// The commit's agent origin is not proved and the policy requires it
    /// (`require-verified-agents`), or it is signed by one agent's key and claims another.
    UnverifiedAgent {
        /// The commit.
        commit: String,
        /// Why.
        message: String,
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
        let short = |c: &str| c.chars().take(12).collect::<String>();
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
            Reason::TranscriptMismatch { commit, digest } => write!(
                f,
                "{} is bound to transcript {digest} (Agent-Transcript), which its transcript note does not hold",
                short(commit)
            ),
            Reason::UnverifiedAgent { commit, message } => {
                write!(f, "{} {message}", short(commit))
            }
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
    /// `refs/notes/factory/stamps`.
    pub stamps: Option<ObjectId>,
}

impl Notes {
    /// The notes refs as they are in `repo`.
    pub fn current(repo: &Repo) -> Result<Notes, GateError> {
        let refs = repo.references("refs/notes/factory/").map_err(git)?;
        let find = |name: &str| refs.iter().find(|(n, _)| n == name).map(|(_, id)| *id);
        Ok(Notes {
            transcripts: find(TRANSCRIPTS_REF),
            approvals: find(APPROVALS_REF),
            stamps: find(STAMPS_REF),
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

/// A rule that fired on a commit, and where.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct EvidenceReport {
    /// The rule id.
    pub rule: String,
    /// The tier it gives.
    pub tier: String,
    /// The file, for file conditions.
    pub path: Option<String>,
    /// The line (in the new file for added lines).
    pub line: Option<u32>,
    /// The matched text, or a description for commit conditions.
    pub text: Option<String>,
}

impl EvidenceReport {
    /// The report of one piece of a verdict's evidence under `policy`.
    fn of(policy: &Policy, e: &factory_policy::Evidence) -> EvidenceReport {
        EvidenceReport {
            rule: e.rule.clone(),
            tier: policy.tier_name(e.tier).to_owned(),
            path: e
                .path
                .as_ref()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            line: e.line,
            text: e.text.clone(),
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
    /// `agent` or `human`.
    pub origin: String,
    /// The signature verdict.
    pub signature: String,
    /// Whether a transcript is attached.
    pub transcript: bool,
    /// The rules that fired.
    pub evidence: Vec<EvidenceReport>,
    /// The agent (`NAME/VERSION`) for agent commits, when known.
    pub agent: Option<String>,
    /// How the agent origin is known: `human`, `claimed` (the commit says so), `verified`
    /// (signed by that agent's key) or `mismatch` (signed by an agent key it does not name).
    pub agent_origin: String,
    /// The models named by the attached transcripts.
    pub models: Vec<String>,
    /// Redactions made in the attached transcripts, by kind.
    pub redactions: std::collections::BTreeMap<String, u64>,
    /// Commit time, seconds since the epoch.
    pub time: i64,
}

/// How [`decide_with`] runs.
#[derive(Default)]
pub struct Options<'a> {
    /// Reuse and extend the audit cache under the git directory.
    pub cache: bool,
    /// Called with (commits judged, commits in the range) as the work progresses.
    pub progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
    /// The time of a decision made now (seconds since the epoch): keys must be valid then, and
    /// no signature or statement may predate what it signs. None judges at signing time, as
    /// an audit of landed history may.
    pub now: Option<i64>,
    /// Statements judged as if they were on the tip's note: one about to be written, so that
    /// its signer learns whether it will count before it is written.
    pub extra: Vec<Statement>,
}

impl Options<'_> {
    /// For a decision made now (a push, an audit of what has not landed): no cache, no
    /// progress, keys judged at the current time.
    pub fn decided_now() -> Self {
        Options {
            now: Some(now()),
            ..Options::default()
        }
    }
}

/// The current time, seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl std::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("cache", &self.cache)
            .field("progress", &self.progress.is_some())
            .field("now", &self.now)
            .field("extra", &self.extra.len())
            .finish()
    }
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
    /// The base policy's tiers, lowest first.
    pub tiers: Vec<String>,
    /// Malformed note lines that were read and count for nothing.
    pub note_problems: Vec<String>,
    /// Whether a policy governed it: false for a landing whose base had no `.factory/` in a
    /// history that adopts factory later (history from before the adoption, and the adoption
    /// itself), which passes as ungoverned.
    pub governed: bool,
}

impl Decision {
    /// Whether the range's tier is the base policy's highest (hard stop).
    pub fn tier_is_highest(&self) -> bool {
        self.tiers.last() == Some(&self.tier)
    }
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
    decide_with(repo, base, tip, notes, &Options::decided_now())
}

/// The facts of commits under a policy, from the cache where it has them.
fn commit_facts(
    repo: &Repo,
    policy: &Policy,
    keyring: &Keyring,
    commits: &[ObjectId],
    cache: Option<&mut cache::Cache>,
    progress: Option<&(dyn Fn(u64, u64) + Sync)>,
) -> Result<Vec<cache::Facts>, GateError> {
    let total = commits.len() as u64;
    let missing: Vec<ObjectId> = match &cache {
        Some(c) => commits
            .iter()
            .filter(|id| c.get(&id.to_string()).is_none())
            .copied()
            .collect(),
        None => commits.to_vec(),
    };
    let done = std::sync::atomic::AtomicU64::new(total - missing.len() as u64);
    let tick = || {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(p) = progress {
            p(n, total);
        }
    };
    let classified = classify_commits_observed(repo, policy, &missing, &tick).map_err(git)?;
    let fresh: Vec<cache::Facts> = classified
        .par_iter()
        .map(|c| {
            let id = c.change_set.id;
            let raw = repo.raw_commit(id).map_err(git)?;
            let signature = verify_commit(&raw, keyring, None);
            let signed_at = factory_trust::signature_time(&raw);
            let facts = &c.change_set.commit;
            let mut claims: Vec<String> = facts
                .trailer_values("Requested-By")
                .chain(facts.trailer_values("Co-authored-by"))
                .map(str::to_owned)
                .collect();
            claims.push(facts.author.clone());
            if let Some((committer, _)) = committer(&raw) {
                claims.push(committer);
            }
            // What the commit claims, and what its signature proves: a commit signed by an
            // agent key is that agent's work whatever it says.
            let claimed = (c.verdict.origin == Origin::Agent).then(|| {
                c.verdict
                    .agent
                    .clone()
                    .unwrap_or_else(|| "agent".to_owned())
            });
            let mut agent_origin = AgentOrigin::judge(policy, claimed.as_deref(), &signature);
            // Two `Agent` trailers naming different agents prove nothing about either.
            let mut named: Vec<String> = facts
                .trailer_values("Agent")
                .map(|v| {
                    v.split('/')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase()
                })
                .collect();
            named.sort();
            named.dedup();
            if named.len() > 1 {
                agent_origin = AgentOrigin::Conflicting { claimed: named };
            }
            let (origin, agent) = match &agent_origin {
                AgentOrigin::Mismatch {
                    claimed: None,
                    signed_by,
                } => (Origin::Agent, Some(signed_by.clone())),
                _ => (c.verdict.origin, c.verdict.agent.clone()),
            };
            let bound_transcripts = facts
                .trailer_values(TRANSCRIPT_TRAILER)
                .map(|v| v.trim().to_owned())
                .collect();
            Ok(cache::Facts {
                commit: id.to_string(),
                summary: c.change_set.commit.summary().to_owned(),
                tier: policy.tier_name(c.verdict.tier).to_owned(),
                origin: origin.as_str().to_owned(),
                signature,
                claims,
                signed_at,
                evidence: c
                    .verdict
                    .evidence
                    .iter()
                    .map(|e| EvidenceReport::of(policy, e))
                    .collect(),
                agent,
                time: c.change_set.time,
                agent_origin,
                bound_transcripts,
            })
        })
        .collect::<Result<_, GateError>>()?;
    let Some(cache) = cache else {
        return Ok(fresh);
    };
    for f in fresh {
        cache.insert(f);
    }
    cache.save();
    commits
        .iter()
        .map(|id| {
            cache.take(&id.to_string()).ok_or_else(|| {
                GateError::History(format!(
                    "the facts of {id} are missing from the audit cache"
                ))
            })
        })
        .collect()
}

/// The facts of a raw commit object that agent recognition reads: author, message, trailers.
pub fn facts_of_raw(raw: &[u8]) -> factory_policy::CommitFacts {
    let text = String::from_utf8_lossy(raw);
    let (header, message) = text.split_once("\n\n").unwrap_or((&text, ""));
    let author = header
        .lines()
        .find_map(|l| l.strip_prefix("author "))
        .map(|a| match a.rfind("> ") {
            Some(end) => a[..=end].to_owned(),
            None => a.to_owned(),
        })
        .unwrap_or_default();
    factory_policy::CommitFacts {
        author,
        message: message.to_owned(),
        trailers: factory_policy::parse_trailers(message),
        ..Default::default()
    }
}

/// The committer of a raw commit object: `Name <email>` and the time (seconds since the epoch).
fn committer(raw: &[u8]) -> Option<(String, Option<i64>)> {
    let text = String::from_utf8_lossy(raw);
    let line = text
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("committer "))?;
    // `Name <email> TIME ZONE`
    let end = line.rfind('>')?;
    let time = line[end + 1..].split_whitespace().next()?.parse().ok();
    Some((line[..=end].to_owned(), time))
}

/// [`decide`], with a cache and progress reports.
pub fn decide_with(
    repo: &Repo,
    base: ObjectId,
    tip: ObjectId,
    notes: &Notes,
    options: &Options<'_>,
) -> Result<Decision, GateError> {
    let loaded = base_policy(repo, base)?;
    decide_loaded(repo, base, tip, notes, options, &loaded)
}

/// The gate's decision on every first-parent step of base..tip (each step judged against its
/// parent, as the push that made it was or should have been), oldest first.
///
/// `proposed` judges with another policy instead of each base's (a dry run): tiers and
/// requirements come from it, and its keys when given (else the base's), while the policy
/// binding of approvals stays the base's, so that approvals given under the real policy still
/// count where the proposed one accepts them.
pub fn decide_history(
    repo: &Repo,
    base: ObjectId,
    tip: ObjectId,
    notes: &Notes,
    proposed: Option<(&Policy, Option<&Keyring>)>,
    progress: Option<&(dyn Fn(u64, u64) + Sync)>,
) -> Result<Vec<Decision>, GateError> {
    let listed = repo
        .git(
            &[
                "rev-list",
                "--first-parent",
                "--parents",
                "--reverse",
                &format!("{base}..{tip}"),
            ],
            None,
        )
        .map_err(git)?;
    // (step, first parent, number of parents)
    let mut steps: Vec<(ObjectId, ObjectId, usize)> = Vec::new();
    for line in listed.lines() {
        let ids: Vec<ObjectId> = line
            .split(' ')
            .map(|h| ObjectId::from_hex(h.as_bytes()).map_err(|_| GateError::BadId(h.to_owned())))
            .collect::<Result<_, _>>()?;
        match ids.as_slice() {
            [step, parent, rest @ ..] => steps.push((*step, *parent, 1 + rest.len())),
            [_root] => {
                return Err(GateError::History(
                    "the range starts at a root commit: give a base that is an ancestor".into(),
                ));
            }
            [] => {}
        }
    }
    // Group the steps by their base's governance tree: one policy load and one classification
    // pass (with the cache) per group.
    // The governance tree changes only at steps that touch .factory/ (relative to their first
    // parent): look it up there and at the base, not at every step.
    let touching: std::collections::HashSet<String> = repo
        .git(
            &[
                "rev-list",
                "--first-parent",
                &format!("{base}..{tip}"),
                "--",
                ".factory",
            ],
            None,
        )
        .map_err(git)?
        .lines()
        .map(str::to_owned)
        .collect();
    // The id of `.factory/` at a commit; None before adoption.
    let governance_at = |commit: ObjectId| repo.entry_id_at(commit, ".factory").map_err(git);
    let mut current = governance_at(base)?;
    // History before the adoption of factory is not judged by a policy it never had — when the
    // history adopts it; a repository that never did is judged by the embedded default
    // throughout (what factory would say of it).
    let adopted = governance_at(tip)?.is_some();
    let mut groups: Vec<(Option<ObjectId>, Vec<usize>)> = Vec::new();
    for (i, (step, _, _)) in steps.iter().enumerate() {
        let governance = current;
        if touching.contains(&step.to_string()) {
            current = governance_at(*step)?;
        }
        match groups.iter_mut().find(|(g, _)| *g == governance) {
            Some((_, members)) => members.push(i),
            None => groups.push((governance, vec![i])),
        }
    }
    let total = steps.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    let mut decisions: Vec<Option<Decision>> = (0..steps.len()).map(|_| None).collect();
    for (governance, members) in groups {
        let (base_policy_, blob, keyring) = base_policy(repo, steps[members[0]].1)?;
        let loaded: Loaded = match proposed {
            Some((p, keys)) => (p.clone(), blob, keys.cloned().unwrap_or(keyring)),
            None => (base_policy_, blob, keyring),
        };
        let mut per_step: Vec<Vec<ObjectId>> = Vec::new();
        for &i in &members {
            let (step, parent, parents) = steps[i];
            per_step.push(if parents == 1 {
                vec![step]
            } else {
                repo.commits(&RangeSpec::Range {
                    from: parent.to_string(),
                    to: step.to_string(),
                })
                .map_err(git)?
            });
        }
        let all: Vec<ObjectId> = per_step.iter().flatten().copied().collect();
        let mut cache = proposed
            .is_none()
            .then(|| cache::Cache::open(repo.git_dir(), governance));
        let facts = commit_facts(repo, &loaded.0, &loaded.2, &all, cache.as_mut(), None)?;
        let mut by_id: std::collections::HashMap<String, cache::Facts> =
            facts.into_iter().map(|f| (f.commit.clone(), f)).collect();
        for (&i, commits) in members.iter().zip(per_step) {
            let (step, parent, _) = steps[i];
            let step_facts = commits
                .iter()
                .map(|id| {
                    by_id.remove(&id.to_string()).ok_or_else(|| {
                        GateError::History(format!("{id} appears in two steps of the history"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut decision = judge(
                repo,
                parent,
                step,
                notes,
                &loaded,
                step_facts,
                Judging {
                    now: None,
                    net: None,
                    extra: Vec::new(),
                },
            )?;
            // A landing whose base had no `.factory/` was not governed: history from before
            // factory was adopted, and the adoption itself (the gate lets a repository without
            // people bootstrap). Removing `.factory/` later is judged by the policy it removes.
            if governance.is_none() && adopted && proposed.is_none() {
                decision.governed = false;
                decision.decision = "pass";
                decision.reasons.clear();
            }
            decisions[i] = Some(decision);
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if let Some(p) = progress {
                p(n, total);
            }
        }
    }
    Ok(decisions.into_iter().flatten().collect())
}

/// [`decide_with`] under the policy and keys of `governance` instead of the base's: one source
/// of governance, as the server judges every protected ref by its default branch's tip.
pub fn decide_under(
    repo: &Repo,
    governance: ObjectId,
    base: ObjectId,
    tip: ObjectId,
    notes: &Notes,
    options: &Options<'_>,
) -> Result<Decision, GateError> {
    let loaded = base_policy(repo, governance)?;
    // The audit cache is keyed by the base's governance tree: use it only when that is the
    // governance judging.
    let options = Options {
        cache: options.cache && governance == base,
        progress: options.progress,
        now: options.now,
        extra: options.extra.clone(),
    };
    decide_loaded(repo, base, tip, notes, &options, &loaded)
}

/// A dry run: base..tip judged with a proposed policy's tiers and rules, its keys when given
/// (else the base's), and the base's policy binding (so approvals given under the real policy
/// still count).
pub fn decide_proposed(
    repo: &Repo,
    base: ObjectId,
    tip: ObjectId,
    notes: &Notes,
    proposed: &Policy,
    keys: Option<&Keyring>,
) -> Result<Decision, GateError> {
    let (_, blob, base_keys) = base_policy(repo, base)?;
    // The proposed policy's own keys when it comes with them (a policy imported from another
    // tool names people whose keys the base does not know).
    let keyring = keys.cloned().unwrap_or(base_keys);
    decide_loaded(
        repo,
        base,
        tip,
        notes,
        &Options::decided_now(),
        &(proposed.clone(), blob, keyring),
    )
}

/// A base's policy, policy blob id and keyring, as [`base_policy`] returns them.
pub(crate) type Loaded = (Policy, String, Keyring);

/// [`decide_with`] with the base's policy already loaded.
pub(crate) fn decide_loaded(
    repo: &Repo,
    base: ObjectId,
    tip: ObjectId,
    notes: &Notes,
    options: &Options<'_>,
    loaded: &Loaded,
) -> Result<Decision, GateError> {
    let (policy, _, keyring) = loaded;
    let commits = repo
        .commits(&RangeSpec::Range {
            from: base.to_string(),
            to: tip.to_string(),
        })
        .map_err(git)?;
    let mut cache = if options.cache {
        let governance = repo.entry_id_at(base, ".factory").map_err(git)?;
        Some(cache::Cache::open(repo.git_dir(), governance))
    } else {
        None
    };
    let facts = commit_facts(
        repo,
        policy,
        keyring,
        &commits,
        cache.as_mut(),
        options.progress,
    )?;
    // Every path that differs between the base's tree and the tip's must be classified by a
    // judged change. Along a first-parent chain from the tip down to the base it is, step by
    // step; when the tip's first-parent chain leaves the range without reaching the base (a
    // merge whose first parent is older than the base, say), the net change base → tip is
    // classified too, and counts as the tip's.
    // When the base is not an ancestor of the tip (an audit of a branch that has not caught up
    // with its target), what the branch brings is measured from their merge-base: the target's
    // newer changes are not the branch's to answer for.
    // A push's update is a fast-forward whose first-parent chain usually reaches the base:
    // that costs a walk of the chain and nothing more.
    let net = if reaches_base(repo, base, tip, &commits)? {
        None
    } else {
        let anchor = if repo.is_ancestor(base, tip).map_err(git)? {
            Some(base)
        } else {
            repo.merge_base(base, tip).map_err(git)?
        };
        match anchor {
            Some(anchor) if !reaches_base(repo, anchor, tip, &commits)? => {
                Some(classify_between(repo, policy, anchor, tip).map_err(git)?)
            }
            _ => None,
        }
    };
    judge(
        repo,
        base,
        tip,
        notes,
        loaded,
        facts,
        Judging {
            now: options.now,
            net,
            extra: options.extra.clone(),
        },
    )
}

/// The identity of the change base..tip: what the range brings, measured from the base when it
/// is an ancestor of the tip, else from their merge-base (a branch behind its target answers
/// only for what it brings).
pub fn change_id(repo: &Repo, base: ObjectId, tip: ObjectId) -> Result<String, GateError> {
    let from = if repo.is_ancestor(base, tip)? {
        base
    } else {
        repo.merge_base(base, tip)?.unwrap_or(base)
    };
    let mut worker =
        factory_git::Worker::new(repo, factory_git::Detection::default()).map_err(|source| {
            factory_git::ChangeError::Object {
                commit: tip,
                id: tip,
                what: "repository",
                source,
            }
        })?;
    Ok(worker.change_id(from, tip)?)
}

/// Whether following first parents from `tip` through the range's commits reaches `base`.
fn reaches_base(
    repo: &Repo,
    base: ObjectId,
    tip: ObjectId,
    commits: &[ObjectId],
) -> Result<bool, GateError> {
    let in_range: std::collections::HashSet<ObjectId> = commits.iter().copied().collect();
    let mut at = tip;
    loop {
        if at == base {
            return Ok(true);
        }
        if !in_range.contains(&at) {
            return Ok(false);
        }
        match repo.parents(at).map_err(git)?.first() {
            Some(p) => at = *p,
            None => return Ok(false),
        }
    }
}

/// The statements of a notes commit by the change they name, built once per process and notes
/// commit: a history audit judges every landing against the same approvals notes.
type ChangeIndex = std::collections::HashMap<String, Vec<(ObjectId, Statement)>>;

/// The indexes of the notes commits judged last (the approvals and the stamps notes).
static CHANGE_INDEX: std::sync::Mutex<Vec<(ObjectId, std::sync::Arc<ChangeIndex>)>> =
    std::sync::Mutex::new(Vec::new());

/// The statements on the approvals notes commit `approvals` that name `change`, with the
/// commit each is on. Malformed lines are skipped here (the tip's own note reports them).
fn statements_of_change(
    repo: &Repo,
    approvals: ObjectId,
    change: &str,
) -> Result<Vec<(ObjectId, Statement)>, GateError> {
    let cached = CHANGE_INDEX.lock().ok().and_then(|g| {
        g.iter()
            .find(|(id, _)| *id == approvals)
            .map(|(_, i)| i.clone())
    });
    let index = match cached {
        Some(index) => index,
        None => {
            let mut index = ChangeIndex::new();
            for (annotated, bytes) in repo.notes_containing(approvals, b"\"change\"")? {
                let (good, _) = approval::parse_note_lenient(&String::from_utf8_lossy(&bytes));
                for st in good.into_iter().filter(|s| !s.change.is_empty()) {
                    index
                        .entry(st.change.clone())
                        .or_default()
                        .push((annotated, st));
                }
            }
            let index = std::sync::Arc::new(index);
            if let Ok(mut g) = CHANGE_INDEX.lock() {
                if g.len() >= 4 {
                    g.remove(0);
                }
                g.push((approvals, index.clone()));
            }
            index
        }
    };
    Ok(index.get(change).cloned().unwrap_or_default())
}

/// What the other commits of a change say of it: the agents that made it and everyone who
/// claimed it (requesters, authors, committers).
#[derive(Debug, Default)]
struct Provenance {
    /// An agent that made commits of the change, if any did.
    agent: Option<String>,
    /// Claimed identities on those commits.
    claims: Vec<String>,
}

/// The provenance of a change from the commits it was made in elsewhere (`base..commit` for
/// each source): a squash or rebase keeps the origin and the requesters of the work it carries.
fn provenance(
    repo: &Repo,
    policy: &Policy,
    keyring: &Keyring,
    sources: &[(ObjectId, ObjectId)],
) -> Result<Provenance, GateError> {
    let mut out = Provenance::default();
    for (base, commit) in sources {
        // A source whose objects are not here (notes can name any commit) says nothing.
        if !repo.has_object(*base)
            || !repo.has_object(*commit)
            || !repo.is_ancestor(*base, *commit).unwrap_or(false)
        {
            continue;
        }
        let commits = repo.commits(&RangeSpec::Range {
            from: base.to_string(),
            to: commit.to_string(),
        })?;
        for f in commit_facts(repo, policy, keyring, &commits, None, None)? {
            if f.origin == Origin::Agent.as_str() && out.agent.is_none() {
                out.agent = Some(f.agent.clone().unwrap_or_else(|| "agent".to_owned()));
            }
            out.claims.extend(f.claims);
        }
    }
    out.claims.sort();
    out.claims.dedup();
    Ok(out)
}

/// How [`judge`] judges, beyond the facts of the commits.
struct Judging {
    /// The time of a decision made now (see [`Options::now`]).
    now: Option<i64>,
    /// The net change base → tip, when the tip's first-parent chain misses the base.
    net: Option<factory_policy::Verdict>,
    /// Statements judged as if they were on the tip's note.
    extra: Vec<Statement>,
}

/// The decision on base..tip from the facts of its commits (newest first).
fn judge(
    repo: &Repo,
    base: ObjectId,
    tip: ObjectId,
    notes: &Notes,
    loaded: &Loaded,
    facts: Vec<cache::Facts>,
    how: Judging,
) -> Result<Decision, GateError> {
    let Judging { now, net, extra } = how;
    let (policy, policy_blob, keyring) = loaded;
    let tip_hex = tip.to_string();
    let mut note_problems: Vec<String> = Vec::new();
    // The digests of the transcripts attached to the range's commits now.
    let mut seen_transcripts: Vec<String> = Vec::new();
    let range_time = facts.iter().find(|f| f.commit == tip_hex).map(|f| f.time);

    // The range's change identity binds statements; with no approvals notes and no statement
    // at hand there is nothing to bind (a whole-history audit of a repository without factory's
    // notes pays no extra tree diff per landing).
    let change = if notes.approvals.is_some() || notes.stamps.is_some() || !extra.is_empty() {
        change_id(repo, base, tip)?
    } else {
        String::new()
    };
    let mut statements: Vec<Statement> = match Notes::read(repo, notes.approvals, tip)? {
        None => Vec::new(),
        Some(bytes) => {
            // A malformed line counts for nothing and is reported; it never blocks forever.
            let (good, bad) = approval::parse_note_lenient(&String::from_utf8_lossy(&bytes));
            for (line, message) in bad {
                note_problems.push(format!(
                    "line {line} of the approvals note of {tip} is malformed and counts for nothing: {message}"
                ));
            }
            good
        }
    };
    // A statement binds a change, not a commit: wherever it was written (the branch's tip
    // before a rebase or a squash, the side of a --no-ff merge), it counts for this range when
    // it names this range's change.
    let in_range: std::collections::HashSet<&str> =
        facts.iter().map(|f| f.commit.as_str()).collect();
    let mut sources: Vec<(ObjectId, ObjectId)> = Vec::new();
    if let Some(approvals) = notes.approvals {
        for (annotated, st) in statements_of_change(repo, approvals, &change)? {
            if annotated == tip {
                continue;
            }
            // The same change made elsewhere (before a rebase or a squash): its commits'
            // origin and claims go with it.
            if !in_range.contains(annotated.to_string().as_str())
                && let Ok(b) = ObjectId::from_hex(st.base.as_bytes())
                && !sources.contains(&(b, annotated))
            {
                sources.push((b, annotated));
            }
            statements.push(st);
        }
    }
    // Stamps count from their own notes ref only.
    let before = statements.len();
    statements.retain(|s| s.kind != approval::Kind::Stamp);
    if statements.len() < before {
        note_problems.push(format!(
            "{} stamp(s) in the approvals notes count for nothing: stamps belong in {STAMPS_REF}",
            before - statements.len()
        ));
    }
    // Stamps: the tip's stamps note, and every stamp that names this change.
    if let Some(bytes) = Notes::read(repo, notes.stamps, tip)? {
        let (good, bad) = approval::parse_note_lenient(&String::from_utf8_lossy(&bytes));
        for (line, message) in bad {
            note_problems.push(format!(
                "line {line} of the stamps note of {tip} is malformed and counts for nothing: {message}"
            ));
        }
        statements.extend(
            good.into_iter()
                .filter(|st| st.kind == approval::Kind::Stamp),
        );
    }
    if let Some(stamps) = notes.stamps {
        statements.extend(
            statements_of_change(repo, stamps, &change)?
                .into_iter()
                .map(|(_, st)| st)
                .filter(|st| st.kind == approval::Kind::Stamp),
        );
    }
    let provenance = provenance(repo, policy, keyring, &sources)?;
    statements.extend(extra);
    let mut seen_lines = std::collections::HashSet::new();
    statements.retain(|s| seen_lines.insert(s.to_line()));
    let mut reports = Vec::new();
    let mut range = Vec::new();
    let mut reasons = Vec::new();
    for mut f in facts {
        let id = ObjectId::from_hex(f.commit.as_bytes())
            .map_err(|_| GateError::BadId(f.commit.clone()))?;
        if let Some(now) = now {
            f.signature = factory_trust::judge_now(f.signature, f.signed_at, f.time, keyring, now);
        }
        if let Some(net) = net.as_ref().filter(|_| f.commit == tip_hex) {
            // The net change base → tip counts as the tip's.
            if let Some(t) = policy.tier_by_name(&f.tier)
                && net.tier > t
            {
                f.tier = policy.tier_name(net.tier).to_owned();
            }
            for e in &net.evidence {
                let mut report = EvidenceReport::of(policy, e);
                report.text = Some(format!(
                    "net change of the range: {}",
                    report.text.unwrap_or_default()
                ));
                f.evidence.push(report);
            }
        }
        let tier = policy
            .tier_by_name(&f.tier)
            .ok_or_else(|| GateError::History(format!("unknown tier {} for {id}", f.tier)))?;
        // The tip of a squash or rebase of agent work is agent work: its origin and
        // requesters come with the change.
        if f.commit == tip_hex && provenance.agent.is_some() && f.origin != Origin::Agent.as_str() {
            f.origin = Origin::Agent.as_str().to_owned();
            f.agent = provenance.agent.clone();
        }
        if f.commit == tip_hex {
            f.claims.extend(provenance.claims.iter().cloned());
        }
        let origin = if f.origin == Origin::Agent.as_str() {
            Origin::Agent
        } else {
            Origin::Human
        };
        let mut models = Vec::new();
        let mut session_digests: Vec<String> = Vec::new();
        let mut redactions = std::collections::BTreeMap::new();
        let transcript = match Notes::read(repo, notes.transcripts, id)? {
            None => false,
            Some(bytes) => {
                // A malformed line counts for nothing and is reported; it never blocks forever.
                let mut sessions = Vec::new();
                for (i, line) in String::from_utf8_lossy(&bytes).lines().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    match factory_shiftlog::note::decode(line.as_bytes()) {
                        Ok(t) => sessions.extend(t),
                        Err(e) => note_problems.push(format!(
                            "line {} of the transcript note of {id} is malformed and counts for nothing: {}",
                            i + 1,
                            e.message
                        )),
                    }
                }
                let any = !sessions.is_empty();
                for t in sessions {
                    session_digests.push(t.digest.clone());
                    seen_transcripts.push(t.digest.clone());
                    for m in t.models {
                        if !models.contains(&m) {
                            models.push(m);
                        }
                    }
                    for (k, n) in t.redactions {
                        *redactions.entry(k).or_insert(0) += n;
                    }
                }
                any
            }
        };
        if origin == Origin::Agent && policy.agents.require_transcript && !transcript {
            reasons.push(Reason::MissingTranscript {
                commit: id.to_string(),
            });
        }
        // A commit bound to its session: the note must still hold that session. A missing
        // note is the require-transcript check's to report.
        if transcript || policy.agents.require_transcript {
            for digest in &f.bound_transcripts {
                if transcript && !session_digests.contains(digest) {
                    reasons.push(Reason::TranscriptMismatch {
                        commit: id.to_string(),
                        digest: digest.clone(),
                    });
                }
            }
        }
        if policy.agents.require_verified
            && let Some(message) = f.agent_origin.unproved(policy)
        {
            reasons.push(Reason::UnverifiedAgent {
                commit: id.to_string(),
                message,
            });
        }
        let signed_by_person = matches!(
            f.signature,
            Verdict::Good {
                person: Some(_),
                ..
            }
        );
        if origin == Origin::Human && policy.gate.require_signed_human_commits && !signed_by_person
        {
            reasons.push(Reason::UnsignedHumanCommit {
                commit: id.to_string(),
                signature: f.signature.name().to_owned(),
            });
        }
        range.push(RangeCommit {
            id: id.to_string(),
            tier,
            origin,
            signature: f.signature.clone(),
            claims: f.claims.clone(),
        });
        reports.push(CommitReport {
            commit: f.commit,
            summary: f.summary,
            tier: f.tier,
            origin: f.origin,
            signature: f.signature.name().to_owned(),
            transcript,
            evidence: f.evidence,
            agent: f.agent,
            agent_origin: f.agent_origin.name().to_owned(),
            models,
            redactions,
            time: f.time,
        });
    }
    // The tip's committer time: from its facts when it is in the range, else from the object.
    let tip_time = match range_time {
        Some(t) => t,
        None => committer(&repo.raw_commit(tip).map_err(git)?)
            .and_then(|(_, t)| t)
            .unwrap_or(0),
    };
    let evaluation = evaluate(&RangeFacts {
        at: now.map(|now| factory_trust::approval::CheckTime {
            now,
            not_before: tip_time,
        }),
        base: base.to_string(),
        tip: tip.to_string(),
        tip_tree: repo.tree_of(tip).map_err(git)?.to_string(),
        change,
        policy,
        policy_blob: policy_blob.clone(),
        keyring,
        commits: range,
        statements,
        transcripts: seen_transcripts,
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
        tiers: policy.tiers.iter().map(|t| t.name.clone()).collect(),
        note_problems,
        base: base.to_string(),
        tip: tip.to_string(),
        tier: evaluation.tier.clone(),
        reasons,
        commits: reports,
        evaluation,
        governed: true,
    })
}
