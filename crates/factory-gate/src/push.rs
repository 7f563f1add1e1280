//! Judging a push: the ref updates of one `git push`, as the server's `pre-receive` hook or the
//! client's `pre-push` hook sees them.
//!
//! Protected branches (`[gate] protected` of the policy on the default branch, plus the default
//! branch itself) are gated: an update must pass [`decide`] against the branch's old value; a
//! new protected branch is judged against the default branch's tip; deleting or rewinding one is
//! refused. Other branches are review branches and are not gated. Tags never move: updating or
//! deleting one is refused, and a new tag must point into gated history or pass the gate
//! against the default branch. factory's notes refs only grow. Notes pushed together with
//! branches count for the branches' decisions.

use factory_git::{APPROVALS_REF, ObjectId, ObjectKind, Repo, STAMPS_REF, TRANSCRIPTS_REF};
use factory_policy::{DEFAULT_POLICY, Policy};
use serde::Serialize;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::{Decision, GateError, Loaded, Notes, Options, Reason, base_policy, decide_loaded, git};

/// Each base's policy and keys, loaded once per push (several updates share a base, and the
/// default branch's tip is usually one of them).
#[derive(Default)]
struct Policies {
    loaded: RefCell<HashMap<ObjectId, Rc<Loaded>>>,
}

impl Policies {
    fn at(&self, repo: &Repo, base: ObjectId) -> Result<Rc<Loaded>, GateError> {
        if let Some(l) = self.loaded.borrow().get(&base) {
            return Ok(l.clone());
        }
        let l = Rc::new(base_policy(repo, base)?);
        self.loaded.borrow_mut().insert(base, l.clone());
        Ok(l)
    }

    /// Decides base..tip under the governance (policy and keys) of `governance`: the default
    /// branch's tip, one source for every protected ref.
    fn decide(
        &self,
        repo: &Repo,
        governance: ObjectId,
        base: ObjectId,
        tip: ObjectId,
        notes: &Notes,
    ) -> Result<Decision, GateError> {
        let loaded = self.at(repo, governance)?;
        decide_loaded(repo, base, tip, notes, &Options::decided_now(), &loaded)
    }
}

/// One ref update of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The full ref name on the receiving side.
    pub name: String,
    /// Its value now (None: the ref does not exist yet).
    pub old: Option<ObjectId>,
    /// Its value after the push (None: the push deletes it).
    pub new: Option<ObjectId>,
}

fn object_id(hex: &str) -> Result<Option<ObjectId>, String> {
    let id =
        ObjectId::from_hex(hex.as_bytes()).map_err(|_| format!("`{hex}` is not an object id"))?;
    Ok((!id.is_null()).then_some(id))
}

fn ref_name(name: &str) -> Result<String, String> {
    if name.starts_with("refs/") && !name.contains(char::is_whitespace) {
        Ok(name.to_owned())
    } else {
        Err(format!("`{name}` is not a full ref name"))
    }
}

impl RefUpdate {
    /// Parses a line of `pre-receive`'s input: `<old> <new> <ref>`.
    pub fn from_receive_line(line: &str) -> Result<RefUpdate, String> {
        let fields: Vec<&str> = line.split(' ').collect();
        let [old, new, name] = fields[..] else {
            return Err(format!(
                "expected `<old> <new> <ref>`, got {} field(s)",
                fields.len()
            ));
        };
        Ok(RefUpdate {
            name: ref_name(name)?,
            old: object_id(old)?,
            new: object_id(new)?,
        })
    }

    /// Parses a line of `pre-push`'s input: `<local ref> <local oid> <remote ref> <remote oid>`.
    pub fn from_push_line(line: &str) -> Result<RefUpdate, String> {
        let fields: Vec<&str> = line.split(' ').collect();
        let [_local, local_oid, remote, remote_oid] = fields[..] else {
            return Err(format!(
                "expected `<local ref> <local oid> <remote ref> <remote oid>`, got {} field(s)",
                fields.len()
            ));
        };
        Ok(RefUpdate {
            name: ref_name(remote)?,
            old: object_id(remote_oid)?,
            new: object_id(local_oid)?,
        })
    }
}

/// The receiving side before the push.
#[derive(Debug, Clone, Default)]
pub struct PushContext {
    /// Its branches: (full ref name, commit).
    pub branches: Vec<(String, ObjectId)>,
    /// Its default branch (full ref name), if known.
    pub default_branch: Option<String>,
    /// Where factory's notes are read unless the push updates them.
    pub notes: Notes,
}

impl PushContext {
    /// The context of a client's push to a remote, from the remote's listing
    /// (`git ls-remote --symref REMOTE HEAD 'refs/heads/*' 'refs/notes/factory/*'`): its
    /// branches, its default branch, and its notes — what the server will read unless the push
    /// updates them, so that a push that leaves its approval behind is stopped here as the
    /// server would refuse it. A branch at a commit this clone lacks is an error when the
    /// judgement needs it — the default branch (policy, protected branches, base of new refs),
    /// or any when no other is known — and so is a notes ref this clone lacks; the error names
    /// the ref.
    pub fn from_remote_listing(repo: &Repo, listing: &str) -> Result<PushContext, String> {
        let mut ctx = PushContext::default();
        let mut missing: Vec<String> = Vec::new();
        for line in listing.lines() {
            if let Some(rest) = line.strip_prefix("ref: ") {
                if let Some((target, "HEAD")) = rest.split_once('\t') {
                    ctx.default_branch = Some(target.to_owned());
                }
                continue;
            }
            let Some((hex, name)) = line.split_once('\t') else {
                continue;
            };
            if name == APPROVALS_REF || name == TRANSCRIPTS_REF || name == STAMPS_REF {
                let id = ObjectId::from_hex(hex.as_bytes()).map_err(|_| name.to_owned())?;
                if !repo.has_object(id) {
                    return Err(name.to_owned());
                }
                match name {
                    APPROVALS_REF => ctx.notes.approvals = Some(id),
                    STAMPS_REF => ctx.notes.stamps = Some(id),
                    _ => ctx.notes.transcripts = Some(id),
                }
                continue;
            }
            if let (Ok(id), true) = (
                ObjectId::from_hex(hex.as_bytes()),
                name.starts_with("refs/heads/"),
            ) {
                if repo.has_object(id) {
                    ctx.branches.push((name.to_owned(), id));
                } else {
                    missing.push(name.to_owned());
                }
            }
        }
        let needed = missing
            .iter()
            .find(|m| ctx.default_branch.as_deref() == Some(m.as_str()))
            .or(missing.first().filter(|_| ctx.branches.is_empty()));
        match needed {
            Some(name) => Err(name.clone()),
            None => Ok(ctx),
        }
    }

    /// The default branch's name (full ref), as [`PushContext::default_tip`] finds it.
    fn default_name(&self) -> Option<&str> {
        let exists = |name: &str| self.branches.iter().any(|(n, _)| n == name);
        self.default_branch
            .as_deref()
            .filter(|n| exists(n))
            .or_else(|| {
                ["refs/heads/main", "refs/heads/master"]
                    .into_iter()
                    .find(|n| exists(n))
            })
    }

    /// The default branch's tip; when HEAD names a branch that does not exist (a bare
    /// repository initialised with another default name), `main`, else `master`.
    fn default_tip(&self) -> Option<ObjectId> {
        let find = |name: &str| {
            self.branches
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, id)| *id)
        };
        self.default_branch
            .as_deref()
            .and_then(find)
            .or_else(|| find("refs/heads/main"))
            .or_else(|| find("refs/heads/master"))
    }
}

/// The decision on one ref update.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateDecision {
    /// The ref.
    #[serde(rename = "ref")]
    pub name: String,
    /// Its old value (None: created).
    pub old: Option<String>,
    /// Its new value (None: deleted).
    pub new: Option<String>,
    /// How the update was judged: `gated`, `bootstrap`, `not-gated`, `tag`, `notes`,
    /// `refused`, `error`.
    pub judged: &'static str,
    /// `pass` or `blocked`.
    pub decision: &'static str,
    /// Why it is blocked (empty when it passes).
    pub reasons: Vec<Reason>,
    /// The gate's decision, for gated updates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<Decision>,
}

impl UpdateDecision {
    fn new(update: &RefUpdate, judged: &'static str, reasons: Vec<Reason>) -> UpdateDecision {
        UpdateDecision {
            name: update.name.clone(),
            old: update.old.map(|o| o.to_string()),
            new: update.new.map(|o| o.to_string()),
            judged,
            decision: if reasons.is_empty() {
                "pass"
            } else {
                "blocked"
            },
            reasons,
            gate: None,
        }
    }

    fn refused(update: &RefUpdate, message: String) -> UpdateDecision {
        UpdateDecision::new(update, "refused", vec![Reason::Refused { message }])
    }

    fn error(update: &RefUpdate, e: GateError) -> UpdateDecision {
        UpdateDecision::new(
            update,
            "error",
            vec![Reason::Error {
                message: format!("the gate cannot decide, so it blocks: {e}"),
            }],
        )
    }

    fn gated(update: &RefUpdate, decision: Decision) -> UpdateDecision {
        let mut d = UpdateDecision::new(update, "gated", decision.reasons.clone());
        d.gate = Some(decision);
        d
    }

    /// Whether the update may go ahead.
    pub fn passes(&self) -> bool {
        self.decision == "pass"
    }
}

/// The decision on a whole push: it lands only if every update passes.
#[derive(Debug, Clone, Serialize)]
pub struct PushDecision {
    /// `pass` or `blocked`.
    pub decision: &'static str,
    /// Each update.
    pub updates: Vec<UpdateDecision>,
}

impl PushDecision {
    /// Whether the push may land.
    pub fn passes(&self) -> bool {
        self.decision == "pass"
    }
}

/// The policy that says which branches are protected: the default branch's, or the embedded
/// default when there is none.
fn repository_policy(
    repo: &Repo,
    ctx: &PushContext,
    policies: &Policies,
) -> Result<factory_policy::Gate, GateError> {
    match ctx.default_tip() {
        Some(tip) => policies.at(repo, tip).map(|l| l.0.gate.clone()),
        None => Policy::parse("<embedded default policy>", DEFAULT_POLICY.text)
            .map(|p| p.gate)
            .map_err(GateError::Policy),
    }
}

/// Decides a push.
pub fn decide_push(repo: &Repo, updates: &[RefUpdate], ctx: &PushContext) -> PushDecision {
    let mut notes = ctx.notes;
    for u in updates {
        if u.name == TRANSCRIPTS_REF {
            notes.transcripts = u.new;
        } else if u.name == APPROVALS_REF {
            notes.approvals = u.new;
        } else if u.name == STAMPS_REF {
            notes.stamps = u.new;
        }
    }
    let policies = Policies::default();
    let gate = match repository_policy(repo, ctx, &policies) {
        Ok(gate) => gate,
        Err(e) => {
            // Without the policy nothing can be judged: every update is blocked.
            let message =
                format!("the gate cannot read the default branch's policy, so it blocks: {e}");
            return PushDecision {
                decision: "blocked",
                updates: updates
                    .iter()
                    .map(|u| {
                        UpdateDecision::new(
                            u,
                            "error",
                            vec![Reason::Error {
                                message: message.clone(),
                            }],
                        )
                    })
                    .collect(),
            };
        }
    };
    let protects = |branch: &str| -> bool {
        ctx.default_branch.as_deref() == Some(&format!("refs/heads/{branch}"))
            || gate.protects(branch)
    };
    let mut out: Vec<UpdateDecision> = Vec::new();
    // Branches and notes first: tags may point into history that this push makes gated.
    for u in updates {
        let decision = if u.name.starts_with("refs/notes/factory/") {
            notes_update(repo, u)
        } else if let Some(branch) = u.name.strip_prefix("refs/heads/") {
            if protects(branch) {
                protected_update(repo, u, ctx, &notes, &policies)
            } else if (u.new.is_some() && protects(&branch.to_lowercase()))
                || ctx.branches.iter().any(|(n, _)| {
                    n != &u.name
                        && n.eq_ignore_ascii_case(&u.name)
                        && n.strip_prefix("refs/heads/").is_some_and(&protects)
                })
            {
                // On a case-insensitive file system `Main` and `main` are one ref file.
                UpdateDecision::refused(
                    u,
                    format!(
                        "{} differs from a protected branch only by case: refused",
                        u.name
                    ),
                )
            } else {
                UpdateDecision::new(u, "not-gated", Vec::new())
            }
        } else if u.name.starts_with("refs/tags/") {
            continue;
        } else {
            UpdateDecision::new(u, "not-gated", Vec::new())
        };
        out.push(decision);
    }
    let gated_tips: Vec<ObjectId> = ctx
        .branches
        .iter()
        .filter(|(n, _)| n.strip_prefix("refs/heads/").is_some_and(&protects))
        .map(|(_, id)| *id)
        .chain(
            out.iter()
                .filter(|d| d.judged == "gated" && d.passes())
                .filter_map(|d| d.new.as_deref())
                .filter_map(|n| ObjectId::from_hex(n.as_bytes()).ok()),
        )
        .collect();
    for u in updates.iter().filter(|u| u.name.starts_with("refs/tags/")) {
        out.push(tag_update(repo, u, ctx, &notes, &gated_tips, &policies));
    }
    PushDecision {
        decision: if out.iter().all(UpdateDecision::passes) {
            "pass"
        } else {
            "blocked"
        },
        updates: out,
    }
}

fn short(id: ObjectId) -> String {
    id.to_string()[..12].to_owned()
}

fn protected_update(
    repo: &Repo,
    u: &RefUpdate,
    ctx: &PushContext,
    notes: &Notes,
    policies: &Policies,
) -> UpdateDecision {
    let Some(new) = u.new else {
        return UpdateDecision::refused(
            u,
            format!("{} is protected: deleting it is refused", u.name),
        );
    };
    let base = match u.old {
        Some(old) => {
            match repo.is_ancestor(old, new) {
                Ok(true) => {}
                Ok(false) => {
                    return UpdateDecision::refused(
                        u,
                        format!(
                            "{} is protected: a force push ({} is not an ancestor of {}) is refused",
                            u.name,
                            short(old),
                            short(new)
                        ),
                    );
                }
                Err(e) => return UpdateDecision::error(u, git(e)),
            }
            old
        }
        None => match ctx.default_tip() {
            Some(tip) => tip,
            None if ctx.branches.is_empty() => {
                // The first branch of an empty repository sets the trusted base, which must
                // hold a policy and keys that load: a broken base would block every later push.
                return match policies.at(repo, new) {
                    Ok(_) => UpdateDecision::new(u, "bootstrap", Vec::new()),
                    Err(e) => UpdateDecision::refused(
                        u,
                        format!(
                            "{} would set the trusted base, and its policy does not load: {e}",
                            u.name
                        ),
                    ),
                };
            }
            None => {
                return UpdateDecision::refused(
                    u,
                    format!(
                        "{} is new and the default branch does not exist: there is no trusted base to judge it against",
                        u.name
                    ),
                );
            }
        },
    };
    // One source of governance: the default branch's tip judges every protected ref, so a
    // branch created at (or kept on) an old commit never brings back an older policy or keys.
    let governance = ctx.default_tip().unwrap_or(base);
    // The default branch's next tip becomes every protected ref's governance: its policy and
    // keys must load, or every later push would be blocked.
    if ctx.default_name() == Some(u.name.as_str()) {
        let changed = match (
            repo.entry_id_at(base, ".factory"),
            repo.entry_id_at(new, ".factory"),
        ) {
            (Ok(a), Ok(b)) => a != b,
            (Err(e), _) | (_, Err(e)) => return UpdateDecision::error(u, git(e)),
        };
        if changed {
            match policies.at(repo, new) {
                Err(e) => {
                    return UpdateDecision::refused(
                        u,
                        format!(
                            "{} would govern every protected branch, and its policy does not load: {e}",
                            u.name
                        ),
                    );
                }
                // A governed repository that drops its people (or its policy, for the embedded
                // default, which names none) could never approve anything again, the restoring
                // change included: only the server's administrator could undo it.
                Ok(next) if next.0.people.is_empty() => {
                    let had_people = policies
                        .at(repo, base)
                        .map(|l| !l.0.people.is_empty())
                        .unwrap_or(false);
                    if had_people {
                        return UpdateDecision::refused(
                            u,
                            format!(
                                "{} would govern every protected branch with a policy that names no people: nothing above the lowest tier could ever be approved again",
                                u.name
                            ),
                        );
                    }
                }
                Ok(_) => {}
            }
        }
    }
    match policies.decide(repo, governance, base, new, notes) {
        Ok(d) => UpdateDecision::gated(u, d),
        Err(e) => UpdateDecision::error(u, e),
    }
}

fn tag_update(
    repo: &Repo,
    u: &RefUpdate,
    ctx: &PushContext,
    notes: &Notes,
    gated_tips: &[ObjectId],
    policies: &Policies,
) -> UpdateDecision {
    if u.old.is_some() {
        let what = if u.new.is_some() {
            "moving"
        } else {
            "deleting"
        };
        return UpdateDecision::refused(
            u,
            format!("tags never move: {what} {} is refused", u.name),
        );
    }
    let Some(new) = u.new else {
        return UpdateDecision::new(u, "tag", Vec::new());
    };
    let commit = match repo.object_kind(new) {
        Ok(ObjectKind::Commit) => new,
        Ok(ObjectKind::Tag) => match repo.resolve_commit(&new.to_string()) {
            Ok(c) => c,
            // A tag of a tree or blob adds no commits.
            Err(_) => return UpdateDecision::new(u, "tag", Vec::new()),
        },
        Ok(_) => return UpdateDecision::new(u, "tag", Vec::new()),
        Err(e) => return UpdateDecision::error(u, git(e)),
    };
    for tip in gated_tips {
        match repo.is_ancestor(commit, *tip) {
            Ok(true) => return UpdateDecision::new(u, "tag", Vec::new()),
            Ok(false) => {}
            Err(e) => return UpdateDecision::error(u, git(e)),
        }
    }
    match ctx.default_tip() {
        Some(base) => match policies.decide(repo, base, base, commit, notes) {
            Ok(d) => UpdateDecision::gated(u, d),
            Err(e) => UpdateDecision::error(u, e),
        },
        None if ctx.branches.is_empty() => UpdateDecision::new(u, "bootstrap", Vec::new()),
        None => UpdateDecision::refused(
            u,
            format!(
                "{} points outside gated history and the default branch does not exist",
                u.name
            ),
        ),
    }
}

/// factory's notes only grow: no deletion, no rewind, no note removed or shortened, judged on
/// what each object's note says (whatever the fan-out), never on raw tree entries. A notes tree
/// that maps one object twice is refused, and so is every new line that is not a valid
/// statement (approvals) or transcript (transcripts), named by its object and line.
fn notes_update(repo: &Repo, u: &RefUpdate) -> UpdateDecision {
    let Some(new) = u.new else {
        return UpdateDecision::refused(
            u,
            format!("deleting {} is refused: factory's notes only grow", u.name),
        );
    };
    if let Some(old) = u.old {
        match repo.is_ancestor(old, new) {
            Ok(true) => {}
            Ok(false) => {
                return UpdateDecision::refused(
                    u,
                    format!(
                        "rewriting {} is refused: {} does not descend from {} (merge the notes instead: factory notes sync)",
                        u.name,
                        short(new),
                        short(old)
                    ),
                );
            }
            Err(e) => return UpdateDecision::error(u, git(e)),
        }
    }
    // git knows the empty tree without storing it.
    let old_tree = match u.old.map(|o| repo.tree_of(o)).transpose() {
        Ok(t) => t.map_or_else(|| EMPTY_TREE.to_owned(), |t| t.to_string()),
        Err(e) => return UpdateDecision::error(u, git(e)),
    };
    let new_tree = match repo.tree_of(new) {
        Ok(t) => t,
        Err(e) => return UpdateDecision::error(u, git(e)),
    };
    let diff = match repo.git(
        &[
            "diff-tree",
            "-r",
            "--no-renames",
            "--name-only",
            "-z",
            &old_tree,
            &new_tree.to_string(),
        ],
        None,
    ) {
        Ok(d) => d,
        Err(e) => return UpdateDecision::error(u, git(e)),
    };
    let mut reasons = Vec::new();
    let mut objects: std::collections::BTreeSet<ObjectId> = Default::default();
    for path in diff.split('\0').filter(|p| !p.is_empty()) {
        let hex: String = path.chars().filter(|c| *c != '/').collect();
        match ObjectId::from_hex(hex.as_bytes()) {
            // Notes are named by the object's id in lower-case hex, as git writes them.
            Ok(id)
                if hex.len() == 40
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
            {
                objects.insert(id);
            }
            _ => reasons.push(Reason::Refused {
                message: format!(
                    "{}: `{path}` is not a note (a notes tree holds only object ids)",
                    u.name
                ),
            }),
        }
    }
    let transcripts = u.name == TRANSCRIPTS_REF;
    for object in objects {
        let before = match u.old.map(|o| repo.read_note_in(o, object)).transpose() {
            Ok(b) => b.flatten(),
            Err(e) => {
                reasons.push(Reason::Error {
                    message: format!("{}: {e}", u.name),
                });
                continue;
            }
        };
        let after = match repo.read_note_in(new, object) {
            Ok(a) => a,
            Err(e) => {
                reasons.push(Reason::Refused {
                    message: format!("{}: {e}", u.name),
                });
                continue;
            }
        };
        let before = String::from_utf8_lossy(before.as_deref().unwrap_or_default()).into_owned();
        let after = String::from_utf8_lossy(after.as_deref().unwrap_or_default()).into_owned();
        let kept: std::collections::HashSet<&str> = after.lines().collect();
        let had: std::collections::HashSet<&str> = before.lines().collect();
        if before
            .lines()
            .filter(|l| !l.trim().is_empty())
            .any(|l| !kept.contains(l))
        {
            reasons.push(Reason::Refused {
                message: format!(
                    "{}: lines of the note of {object} are removed or changed; factory's notes only grow",
                    u.name
                ),
            });
            continue;
        }
        // A commit bound to its sessions (`Agent-Transcript`) takes no other.
        let bound: Vec<String> = if transcripts {
            repo.raw_commit(object)
                .ok()
                .map(|raw| {
                    let text = String::from_utf8_lossy(&raw).into_owned();
                    let message = text.split_once("\n\n").map_or("", |(_, m)| m);
                    factory_policy::parse_trailers(message)
                        .into_iter()
                        .filter(|t| t.key.eq_ignore_ascii_case(crate::TRANSCRIPT_TRAILER))
                        .map(|t| t.value.trim().to_owned())
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        for (i, line) in after.lines().enumerate() {
            if line.trim().is_empty() || had.contains(line) {
                continue;
            }
            let problem = if transcripts {
                match factory_shiftlog::note::decode(line.as_bytes()) {
                    Err(e) => Some(e.message),
                    Ok(sessions) if !bound.is_empty() => sessions
                        .iter()
                        .find(|t| !bound.contains(&t.digest))
                        .map(|t| {
                            format!(
                                "session {} is not the one {object} is bound to (Agent-Transcript)",
                                t.session_id
                            )
                        }),
                    Ok(_) => None,
                }
            } else {
                factory_trust::approval::Statement::from_line(line).err()
            };
            if let Some(problem) = problem {
                reasons.push(Reason::Refused {
                    message: format!(
                        "{}: line {} of the note of {object} is not a valid {}: {problem}",
                        u.name,
                        i + 1,
                        if transcripts {
                            "transcript"
                        } else {
                            "statement"
                        }
                    ),
                });
            }
        }
    }
    let judged = if reasons.is_empty() {
        "notes"
    } else {
        "refused"
    };
    UpdateDecision::new(u, judged, reasons)
}

/// The id of the empty tree (SHA-1).
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
