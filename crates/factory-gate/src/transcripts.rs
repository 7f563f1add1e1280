//! The Shift Log in the repository: reading the transcripts attached to a commit, and attaching
//! new ones — imported, stripped of thinking unless the policy keeps it, redacted under the
//! policy, merged into the commit's note within the policy's size limit.

use std::collections::{BTreeMap, BTreeSet};

use factory_git::{ObjectId, RangeSpec, Repo, TRANSCRIPTS_REF};
use factory_policy::Policy;
use factory_shiftlog::{Format, ImportError, RedactionConfig, Redactor, Transcript, note};

use crate::GateError;

/// Why nothing was attached.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// A file is no transcript of a known format (or not of the format named).
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The policy's redaction patterns do not compile.
    #[error("the policy's transcript redaction does not load: {0}")]
    Redaction(String),
    /// The note would be over the policy's limit.
    #[error(
        "the transcript note of {} would be {bytes} bytes, over the limit of {limit} (transcripts.max-note-bytes in the policy)",
        &commit.to_string()[..12]
    )]
    TooLarge {
        /// The commit.
        commit: ObjectId,
        /// The note's size.
        bytes: u64,
        /// The policy's limit.
        limit: u64,
    },
    /// The repository could not be read or written, or the note there is malformed.
    #[error(transparent)]
    Gate(#[from] GateError),
}

/// The transcripts attached to `commit` (empty if none). A malformed note is an error.
pub fn of(repo: &Repo, commit: ObjectId) -> Result<Vec<Transcript>, GateError> {
    let Some(bytes) = repo.read_note(TRANSCRIPTS_REF, commit)? else {
        return Ok(Vec::new());
    };
    note::decode(&bytes).map_err(|e| GateError::Note {
        what: "transcript",
        commit: commit.to_string(),
        message: e.to_string(),
    })
}

/// The files a session says it touched: its edits' paths and the path arguments of its tool
/// calls (`file_path`, `path`, `filePath`, `notebook_path`), as the agent wrote them (often
/// absolute).
pub fn touched_paths(t: &Transcript) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in &t.messages {
        for e in &m.edits {
            out.push(e.path.clone());
        }
        for c in &m.tool_calls {
            for key in ["file_path", "path", "filePath", "notebook_path"] {
                if let Some(p) = c.input.get(key).and_then(|v| v.as_str()) {
                    out.push(p.to_owned());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether a session touched one of `changed` (repository-relative paths): a touched path
/// equals one or ends with `/` and one.
pub fn touches_any(t: &Transcript, changed: &[String]) -> bool {
    let touched = touched_paths(t);
    changed.iter().any(|c| {
        touched
            .iter()
            .any(|p| p == c || p.ends_with(&format!("/{c}")) || p.ends_with(&format!("\\{c}")))
    })
}

/// The redactor of `policy`'s `[transcripts]` settings.
pub fn redactor(policy: &Policy) -> Result<Redactor, AttachError> {
    let t = &policy.transcripts;
    Redactor::new(RedactionConfig {
        entropy_threshold: t.entropy_threshold,
        patterns: t.redact.clone(),
        ..RedactionConfig::default()
    })
    .map_err(AttachError::Redaction)
}

/// Imports transcript files (name, text) — in `format`, or detected — redacts them under
/// `policy`, and adds them to the commit's note; returns them and whether the note changed.
/// Nothing is written if a file cannot be imported or the note would be too large.
pub fn attach(
    repo: &Repo,
    commit: ObjectId,
    policy: &Policy,
    files: &[(String, String)],
    format: Option<Format>,
) -> Result<(Vec<Transcript>, bool), AttachError> {
    let imported = prepare(policy, files, format)?;
    let changed = store(repo, commit, policy, &imported)?;
    Ok((imported, changed))
}

/// [`attach`] of session files read from disk, each a line at a time where its format allows
/// (a large session is never held whole).
pub fn attach_paths(
    repo: &Repo,
    commit: ObjectId,
    policy: &Policy,
    paths: &[std::path::PathBuf],
    format: Option<Format>,
) -> Result<(Vec<Transcript>, bool), AttachError> {
    let imported = prepare_paths(policy, paths, format)?;
    let changed = store(repo, commit, policy, &imported)?;
    Ok((imported, changed))
}

/// [`prepare`] of session files read from disk, each a line at a time where its format allows.
pub fn prepare_paths(
    policy: &Policy,
    paths: &[std::path::PathBuf],
    format: Option<Format>,
) -> Result<Vec<Transcript>, AttachError> {
    let redactor = redactor(policy)?;
    let mut imported = Vec::new();
    for path in paths {
        for t in factory_shiftlog::import_path(path, format)? {
            imported.push(finish(policy, &redactor, t));
        }
    }
    Ok(imported)
}

/// A transcript as it is stored: thinking dropped unless the policy keeps it, redacted.
fn finish(policy: &Policy, redactor: &Redactor, mut t: Transcript) -> Transcript {
    if !policy.transcripts.keep_thinking {
        for m in &mut t.messages {
            m.thinking = None;
        }
    }
    redactor.redact(&mut t);
    t
}

/// Imports transcript files (name, text) — in `format`, or detected — and redacts them under
/// `policy`, as [`attach`] stores them: their digests are what a commit bound to them carries
/// (`Agent-Transcript`).
pub fn prepare(
    policy: &Policy,
    files: &[(String, String)],
    format: Option<Format>,
) -> Result<Vec<Transcript>, AttachError> {
    let redactor = redactor(policy)?;
    let mut imported = Vec::new();
    for (file, text) in files {
        for t in factory_shiftlog::import_sessions(file, text, format)? {
            imported.push(finish(policy, &redactor, t));
        }
    }
    Ok(imported)
}

/// Adds prepared transcripts ([`prepare`]) to the commit's note within the policy's size
/// limit; returns whether the note changed.
pub fn store(
    repo: &Repo,
    commit: ObjectId,
    policy: &Policy,
    imported: &[Transcript],
) -> Result<bool, AttachError> {
    // The note's lines are kept as they are (each checked, one at a time) and the new sessions
    // written by reference: a long session is held once, never twice.
    let existing = match repo
        .read_note(TRANSCRIPTS_REF, commit)
        .map_err(GateError::from)?
    {
        Some(bytes) => note::lines(&bytes),
        None => Ok(Vec::new()),
    };
    let (data, changed) = existing
        .and_then(|lines| note::add(lines, imported))
        .map_err(|e| GateError::Note {
            what: "transcript",
            commit: commit.to_string(),
            message: e.to_string(),
        })?;
    let limit = policy.transcripts.max_note_bytes;
    if data.len() as u64 > limit {
        return Err(AttachError::TooLarge {
            commit,
            bytes: data.len() as u64,
            limit,
        });
    }
    if changed {
        repo.write_note(
            TRANSCRIPTS_REF,
            commit,
            data.as_bytes(),
            "factory: attach transcript",
        )
        .map_err(GateError::from)?;
    }
    Ok(changed)
}

/// Transcripts carried over to a rewritten commit by [`remap`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remapped {
    /// The commit that had no transcript.
    pub target: ObjectId,
    /// The commits whose transcripts it now carries.
    pub from: Vec<ObjectId>,
    /// How many sessions it carries.
    pub sessions: usize,
    /// Whether `from` is a squashed branch (else one rebased or cherry-picked commit).
    pub squashed: bool,
}

/// Carries transcripts over to the commits of `range` (`A..B`) that have none, from annotated
/// commits outside the range with the same patch (a rebase or cherry-pick), or from a branch of
/// annotated commits whose combined diff is the commit's (a squash).
pub fn remap(repo: &Repo, range: &RangeSpec) -> Result<Vec<Remapped>, GateError> {
    let RangeSpec::Range { to, .. } = range else {
        return Ok(Vec::new());
    };
    let targets = repo.commits(range)?;
    let in_range: BTreeSet<ObjectId> = targets.iter().copied().collect();
    // Every annotated commit outside the range is a candidate source, keyed by patch id.
    // No notes ref yet means no sources.
    let listed = repo
        .git(
            &["notes", &format!("--ref={TRANSCRIPTS_REF}"), "list"],
            None,
        )
        .unwrap_or_default();
    let mut sources: Vec<ObjectId> = Vec::new();
    for line in listed.lines() {
        let Some(id) = line
            .split_whitespace()
            .nth(1)
            .and_then(|h| ObjectId::from_hex(h.as_bytes()).ok())
        else {
            continue;
        };
        if !in_range.contains(&id) {
            sources.push(id);
        }
    }
    let mut by_patch: BTreeMap<String, Vec<ObjectId>> = BTreeMap::new();
    for id in &sources {
        if let Some(pid) = repo.patch_id(None, &id.to_string())? {
            by_patch.entry(pid).or_default().push(*id);
        }
    }
    let mut remapped = Vec::new();
    for target in targets.iter().rev() {
        if !of(repo, *target)?.is_empty() {
            continue;
        }
        let Some(pid) = repo.patch_id(None, &target.to_string())? else {
            continue;
        };
        let mut from: Vec<ObjectId> = by_patch.get(&pid).cloned().unwrap_or_default();
        let mut squashed = false;
        if from.is_empty() {
            // A squash: a branch of annotated commits whose combined diff is this commit's.
            for tip in &sources {
                let Ok(base) = repo.git(&["merge-base", &tip.to_string(), to], None) else {
                    continue;
                };
                let base = base.trim();
                if repo.patch_id(Some(base), &tip.to_string())?.as_deref() == Some(pid.as_str()) {
                    let chain = repo.commits(&RangeSpec::Range {
                        from: base.to_owned(),
                        to: tip.to_string(),
                    })?;
                    from = chain.into_iter().filter(|c| sources.contains(c)).collect();
                    squashed = true;
                    break;
                }
            }
        }
        if from.is_empty() {
            continue;
        }
        let mut sessions = Vec::new();
        for source in &from {
            for t in of(repo, *source)? {
                note::merge(&mut sessions, t);
            }
        }
        repo.write_note(
            TRANSCRIPTS_REF,
            *target,
            note::encode(&sessions).as_bytes(),
            "factory: remap transcripts",
        )?;
        remapped.push(Remapped {
            target: *target,
            from,
            sessions: sessions.len(),
            squashed,
        });
    }
    Ok(remapped)
}
