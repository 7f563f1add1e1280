//! Evaluation for the gate: for a range judged under its base's policy and keys, which tier
//! requirements are met, by whom, and why each statement counts or not.

use std::collections::{BTreeMap, BTreeSet};

use factory_policy::{Origin, Policy, TierId, VALIDATOR_ROLE};
use serde::Serialize;

use crate::approval::{CheckTime, Kind, SignatureCheck, Statement, check_signature_at};
use crate::keyring::Keyring;
use crate::verify::Verdict;

/// One commit of the range, as the caller classified and verified it (with the base's keys).
#[derive(Debug, Clone)]
pub struct RangeCommit {
    /// Full id.
    pub id: String,
    /// Its tier under the base policy.
    pub tier: TierId,
    /// Agent or human.
    pub origin: Origin,
    /// Its signature verdict against the base keyring.
    pub signature: Verdict,
    /// Claimed identities: every `Requested-By` and `Co-authored-by` value, the author and the
    /// committer (`Name <email>`). A person any claim names may not approve the range.
    pub claims: Vec<String>,
}

/// What is judged.
#[derive(Debug, Clone)]
pub struct RangeFacts<'a> {
    /// The trusted base (the ref's old value).
    pub base: String,
    /// The tip being landed.
    pub tip: String,
    /// The tip's tree.
    pub tip_tree: String,
    /// The identity of the change base..tip: a statement that names a change binds it and
    /// nothing else (a statement without one binds its commit, tree and base).
    pub change: String,
    /// The base's policy.
    pub policy: &'a Policy,
    /// The blob id of the base's policy file (`none` for the embedded default).
    pub policy_blob: String,
    /// The base's keys.
    pub keyring: &'a Keyring,
    /// The commits of base..tip.
    pub commits: Vec<RangeCommit>,
    /// The statements on the tip's approvals note.
    pub statements: Vec<Statement>,
    /// For a decision made now (a push, or an audit of what has not landed): keys must be
    /// valid now and statements may not predate the tip. None judges at signing time (history).
    pub at: Option<CheckTime>,
    /// The digests of the transcripts attached to the range's commits now. An approval counts
    /// only if it saw every one of them (its `transcripts`): one attached later was not
    /// reviewed.
    pub transcripts: Vec<String>,
}

/// Why a statement counts or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementStatus {
    /// The approver it names.
    pub approver: String,
    /// The role it claims.
    pub role: String,
    /// Approve, reject or override.
    pub kind: Kind,
    /// When it was signed, as it says (RFC 3339).
    pub time: String,
    /// Whether it counts.
    pub counts: bool,
    /// Why (or why not).
    pub reason: String,
}

/// A valid break-glass override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverrideRecord {
    /// Who signed it.
    pub person: String,
    /// Why.
    pub reason: String,
    /// When, as the statement says.
    pub time: String,
}

/// An unmet requirement of a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmet {
    /// The commit.
    pub commit: String,
    /// The tier whose requirement it is.
    pub tier: String,
    /// What is missing.
    pub what: String,
    /// Who could provide it (holders of the role, minus those who may not approve this commit).
    pub could: Vec<String>,
}

/// The evaluation of a range.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Whether every requirement of every commit is met and no valid reject is outstanding, or
    /// a valid override lets the range land anyway.
    pub pass: bool,
    /// The range's tier.
    pub tier: String,
    /// Each statement and why it counts or not.
    pub statements: Vec<StatementStatus>,
    /// Requirements met, per commit: (commit, role, people).
    pub met: Vec<(String, String, Vec<String>)>,
    /// Requirements not met.
    pub unmet: Vec<Unmet>,
    /// People whose valid reject statements are outstanding.
    pub rejects: Vec<String>,
    /// Valid break-glass overrides (they waive `unmet` and `rejects`).
    pub overrides: Vec<OverrideRecord>,
    /// Valid stamps on the change, oldest first.
    pub stamps: Vec<StampRecord>,
}

/// A valid stamp.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StampRecord {
    /// What it scores.
    pub dimension: String,
    /// The score, in [0, 1].
    pub score: f64,
    /// Who stamped (a holder of the role `validator`).
    pub validator: String,
    /// When, as the stamp says.
    pub time: String,
    /// The digest of its evidence.
    pub evidence: String,
    /// Where the evidence is.
    pub at: String,
}

/// Why `s` does not bind the range, if it does not. A statement that names a change binds
/// exactly that change — the net content of base..tip, wherever and however it lands (fast
/// forward, `--no-ff` merge, squash, rebase onto a newer base with the same result); one
/// without binds the commit, tree and base it names.
fn binding(s: &Statement, facts: &RangeFacts<'_>) -> Option<String> {
    if !s.change.is_empty() {
        return (s.change != facts.change).then(|| {
            format!(
                "made for another change ({}, not this range's {}): the content differs",
                short_change(&s.change),
                short_change(&facts.change)
            )
        });
    }
    if s.commit != facts.tip {
        return Some(format!(
            "made for commit {}, not this tip (replay)",
            s.commit
        ));
    }
    if s.tree != facts.tip_tree {
        return Some("made for another tree".to_owned());
    }
    (s.base != facts.base).then(|| {
        format!(
            "its base {} does not match the range's base {}",
            s.base, facts.base
        )
    })
}

/// A change identity shortened for messages.
fn short_change(change: &str) -> &str {
    let end = change.len().min("sha256:".len() + 12);
    &change[..end]
}

/// Assigns people to requirement slots: each slot needs a person holding its role; with
/// `distinct`, a person fills at most one slot; a person never fills two slots of one
/// requirement. Returns, per requirement, the people assigned.
fn assign(
    slots: &[(usize, &str)],
    people: &BTreeMap<String, BTreeSet<String>>,
    distinct: bool,
) -> Vec<Option<String>> {
    let names: Vec<&String> = people.keys().collect();
    let fits = |slot: usize, p: usize| people[names[p]].contains(slots[slot].1);
    let mut owner: Vec<Option<usize>> = vec![None; slots.len()];
    if !distinct {
        // Per requirement: different people, but a person may serve several requirements.
        let mut used: BTreeSet<(usize, usize)> = BTreeSet::new();
        for (s, (req, _)) in slots.iter().enumerate() {
            if let Some(p) = (0..names.len()).find(|&p| fits(s, p) && !used.contains(&(*req, p))) {
                used.insert((*req, p));
                owner[s] = Some(p);
            }
        }
    } else {
        // Maximum bipartite matching (augmenting paths).
        let mut person_slot: Vec<Option<usize>> = vec![None; names.len()];
        fn augment(
            s: usize,
            seen: &mut Vec<bool>,
            person_slot: &mut Vec<Option<usize>>,
            fits: &dyn Fn(usize, usize) -> bool,
            n: usize,
        ) -> bool {
            for p in 0..n {
                if fits(s, p) && !seen[p] {
                    seen[p] = true;
                    if person_slot[p].is_none_or(|other| augment(other, seen, person_slot, fits, n))
                    {
                        person_slot[p] = Some(s);
                        return true;
                    }
                }
            }
            false
        }
        for s in 0..slots.len() {
            let mut seen = vec![false; names.len()];
            augment(s, &mut seen, &mut person_slot, &fits, names.len());
        }
        for (p, s) in person_slot.iter().enumerate() {
            if let Some(s) = s {
                owner[*s] = Some(p);
            }
        }
    }
    owner
        .into_iter()
        .map(|o| o.map(|p| names[p].clone()))
        .collect()
}

/// Evaluates a range.
pub fn evaluate(facts: &RangeFacts<'_>) -> Evaluation {
    let policy = facts.policy;
    let roles_of = |person: &str| -> BTreeSet<String> {
        policy
            .people
            .get(person)
            .map(|p| p.roles.iter().cloned().collect())
            .unwrap_or_default()
    };
    // Who may not approve: people whose good signature is on a commit of the range, and every
    // person a claim names (Requested-By, Co-authored-by, author, committer). Claims only take
    // away.
    let mut excluded: BTreeSet<String> = BTreeSet::new();
    // Whose good signature is on a commit of the range: the only exclusion that can drop a
    // stamp. A claim is typed by whoever made the commit, so it may take away an approval but
    // never silence a validator's stamp or a reviewer's reject.
    let mut signers: BTreeSet<String> = BTreeSet::new();
    for c in &facts.commits {
        if let Verdict::Good {
            person: Some(p), ..
        } = &c.signature
        {
            excluded.insert(p.clone());
            signers.insert(p.clone());
        }
        for claim in &c.claims {
            excluded.extend(facts.keyring.people_claimed_by(claim));
        }
    }
    let time_of = |s: &str| crate::civil::parse_rfc3339(s).unwrap_or(i64::MIN);
    // Withdrawals: a person's valid, signed `withdraw` cancels that person's own approvals and
    // rejects dated at or before it.
    let mut withdrawn_until: BTreeMap<String, String> = BTreeMap::new();
    for s in facts.statements.iter().filter(|s| s.kind == Kind::Withdraw) {
        let ok = matches!(
                    check_signature_at(s, facts.keyring, facts.at),
                    SignatureCheck::Good { ref person, .. } if *person == s.approver
        ) && binding(s, facts).is_none();
        if ok {
            let until = withdrawn_until.entry(s.approver.clone()).or_default();
            if until.is_empty() || time_of(&s.time) > time_of(until) {
                *until = s.time.clone();
            }
        }
    }
    let mut statements = Vec::new();
    let mut approvals: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut rejects = Vec::new();
    let mut overrides = Vec::new();
    let mut stamps: Vec<StampRecord> = Vec::new();
    let mut counted_for: BTreeMap<(String, String), ()> = BTreeMap::new();
    for s in &facts.statements {
        let check = check_signature_at(s, facts.keyring, facts.at);
        let refusal = match &check {
            SignatureCheck::Bad { reason } => {
                Some(format!("the signature does not verify ({reason})"))
            }
            SignatureCheck::UnknownKey { key } => Some(format!(
                "signed by {key}, which is no person's key in the base policy"
            )),
            SignatureCheck::Invalid { reason, .. } => {
                Some(format!("the key was not valid: {reason}"))
            }
            SignatureCheck::Good { person, .. } if *person != s.approver => Some(format!(
                "signed by `{person}`, not by the named approver `{}`",
                s.approver
            )),
            SignatureCheck::Good { .. } => None,
        }
        .or_else(|| binding(s, facts))
        .or_else(|| {
            (s.policy != facts.policy_blob)
                .then(|| "made under another policy than the base's".to_owned())
        })
        .or_else(|| {
            (matches!(s.kind, Kind::Approve | Kind::Reject)
                && withdrawn_until
                    .get(&s.approver)
                    .is_some_and(|until| time_of(&s.time) <= time_of(until)))
            .then(|| "withdrawn by its signer".to_owned())
        })
        .or_else(|| {
            let unseen = facts
                .transcripts
                .iter()
                .filter(|d| !s.transcripts.contains(d))
                .count();
            (s.kind == Kind::Approve && unseen > 0).then(|| {
                format!(
                    "{unseen} transcript(s) attached to the range after it was signed: approve again"
                )
            })
        })
        .or_else(|| {
            (s.kind == Kind::Withdraw).then(|| {
                "a withdrawal: its signer's earlier statements count for nothing".to_owned()
            })
        })
        .or_else(|| {
            (s.kind == Kind::Override && s.role != policy.gate.override_role).then(|| {
                format!(
                    "an override must be signed in the override role `{}`",
                    policy.gate.override_role
                )
            })
        })
        .or_else(|| {
            (s.kind == Kind::Override && s.reason.trim().is_empty())
                .then(|| "an override without a reason counts for nothing".to_owned())
        })
        .or_else(|| {
            (s.kind == Kind::Stamp && s.role != VALIDATOR_ROLE).then(|| {
                format!("a stamp must be signed in the role `{VALIDATOR_ROLE}`, not `{}`", s.role)
            })
        })
        .or_else(|| {
            (!roles_of(&s.approver).contains(&s.role)).then(|| {
                format!(
                    "`{}` does not hold the role `{}` in the base policy",
                    s.approver, s.role
                )
            })
        })
        .or_else(|| {
            let out = match s.kind {
                Kind::Reject => false,
                Kind::Stamp => signers.contains(&s.approver),
                _ => excluded.contains(&s.approver),
            };
            out.then(|| {
                format!(
                    "`{}` authored or requested changes in the range and cannot approve them",
                    s.approver
                )
            })
        })
        .or_else(|| {
            (s.kind == Kind::Approve
                && counted_for.contains_key(&(s.approver.clone(), s.role.clone())))
            .then(|| "the same person and role are already counted".to_owned())
        });
        let counts = refusal.is_none();
        if counts {
            match s.kind {
                Kind::Approve => {
                    counted_for.insert((s.approver.clone(), s.role.clone()), ());
                    approvals
                        .entry(s.approver.clone())
                        .or_default()
                        .insert(s.role.clone());
                }
                Kind::Reject => rejects.push(s.approver.clone()),
                Kind::Override => overrides.push(OverrideRecord {
                    person: s.approver.clone(),
                    reason: s.reason.clone(),
                    time: s.time.clone(),
                }),
                Kind::Withdraw => {}
                Kind::Stamp => stamps.push(StampRecord {
                    dimension: s.dimension.clone(),
                    score: s.stamp_score().unwrap_or(0.0),
                    validator: s.approver.clone(),
                    time: s.time.clone(),
                    evidence: s
                        .evidence
                        .as_ref()
                        .map(|e| e.digest.clone())
                        .unwrap_or_default(),
                    at: s
                        .evidence
                        .as_ref()
                        .map(|e| e.at.clone())
                        .unwrap_or_default(),
                }),
            }
        }
        statements.push(StatementStatus {
            approver: s.approver.clone(),
            role: s.role.clone(),
            kind: s.kind,
            time: s.time.clone(),
            counts,
            reason: refusal.unwrap_or_else(|| match s.kind {
                Kind::Approve => "valid approval".to_owned(),
                Kind::Reject => "valid rejection: blocks until withdrawn".to_owned(),
                Kind::Override => format!("valid override: {}", s.reason),
                Kind::Withdraw => "valid withdrawal".to_owned(),
                Kind::Stamp => format!(
                    "valid stamp: {} {}",
                    s.dimension,
                    s.stamp_score().unwrap_or(0.0)
                ),
            }),
        });
    }

    let mut met = Vec::new();
    let mut unmet = Vec::new();
    let mut range_tier = policy.lowest_tier();
    for c in &facts.commits {
        range_tier = range_tier.max(c.tier);
        let tier = policy.tier(c.tier);
        if tier.forbid_agent && c.origin == Origin::Agent {
            unmet.push(Unmet {
                commit: c.id.clone(),
                tier: tier.name.clone(),
                what: format!("agents may not produce `{}` changes", tier.name),
                could: Vec::new(),
            });
        }
        // Who may approve this commit: statement approvers, and its own human signer (a
        // human-signed commit approves its own diff) with that person's roles.
        let mut people: BTreeMap<String, BTreeSet<String>> = approvals.clone();
        if let (
            Origin::Human,
            Verdict::Good {
                person: Some(p), ..
            },
        ) = (c.origin, &c.signature)
        {
            people.entry(p.clone()).or_default().extend(roles_of(p));
        }
        let slots: Vec<(usize, &str)> = tier
            .requires
            .iter()
            .enumerate()
            .flat_map(|(i, r)| std::iter::repeat_n((i, r.role.as_str()), r.count as usize))
            .collect();
        let owners = assign(&slots, &people, tier.distinct_people);
        for (i, r) in tier.requires.iter().enumerate() {
            let got: Vec<String> = slots
                .iter()
                .zip(&owners)
                .filter(|((req, _), _)| *req == i)
                .filter_map(|(_, o)| o.clone())
                .collect();
            if got.len() < r.count as usize {
                let could = policy
                    .holders(&r.role)
                    .filter(|h| !excluded.contains(*h) && !got.iter().any(|g| g == h))
                    // With distinct people, someone already counted for another slot of the
                    // tier cannot fill this one too.
                    .filter(|h| !tier.distinct_people || !owners.iter().flatten().any(|o| o == h))
                    .filter(|h| {
                        // People whose keys are all expired or revoked cannot give it.
                        facts
                            .at
                            .is_none_or(|at| facts.keyring.person_valid_at(h, at.now))
                    })
                    .map(str::to_owned)
                    .collect();
                unmet.push(Unmet {
                    commit: c.id.clone(),
                    tier: tier.name.clone(),
                    what: format!(
                        "{} approval(s) by `{}` ({} counted)",
                        r.count,
                        r.role,
                        got.len()
                    ),
                    could,
                });
            } else {
                met.push((c.id.clone(), r.role.clone(), got));
            }
        }
        for r in &tier.stamps {
            // The latest valid stamp of the dimension decides: a later, lower score stands.
            let latest = stamps
                .iter()
                .filter(|s| s.dimension == r.dimension)
                .max_by_key(|s| time_of(&s.time));
            match latest {
                Some(s) if s.score >= r.min => {
                    met.push((
                        c.id.clone(),
                        format!("stamp:{}", r.dimension),
                        vec![s.validator.clone()],
                    ));
                }
                _ => unmet.push(Unmet {
                    commit: c.id.clone(),
                    tier: tier.name.clone(),
                    what: match latest {
                        Some(s) => format!(
                            "a `{}` stamp of at least {} (the latest, by {} at {}, scores {})",
                            r.dimension, r.min, s.validator, s.time, s.score
                        ),
                        None => format!(
                            "a `{}` stamp of at least {} (no valid stamp)",
                            r.dimension, r.min
                        ),
                    },
                    could: policy
                        .holders(VALIDATOR_ROLE)
                        .filter(|h| !excluded.contains(*h))
                        .map(str::to_owned)
                        .collect(),
                }),
            }
        }
    }
    let pass = (unmet.is_empty() && rejects.is_empty()) || !overrides.is_empty();
    stamps.sort_by_key(|a| time_of(&a.time));
    Evaluation {
        pass,
        tier: policy.tier_name(range_tier).to_owned(),
        statements,
        met,
        unmet,
        rejects,
        overrides,
        stamps,
    }
}
