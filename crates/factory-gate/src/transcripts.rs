//! The Shift Log in the repository: reading the transcripts attached to a commit, and attaching
//! new ones — imported, stripped of thinking unless the policy keeps it, redacted under the
//! policy, merged into the commit's note within the policy's size limit.

use factory_git::{ObjectId, Repo, TRANSCRIPTS_REF};
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
    let redactor = redactor(policy)?;
    let mut imported = Vec::new();
    for (file, text) in files {
        let mut t = factory_shiftlog::import(file, text, format)?;
        if !policy.transcripts.keep_thinking {
            for m in &mut t.messages {
                m.thinking = None;
            }
        }
        redactor.redact(&mut t);
        imported.push(t);
    }
    let mut sessions = of(repo, commit)?;
    let mut changed = false;
    for t in &imported {
        changed |= note::merge(&mut sessions, t.clone());
    }
    let data = note::encode(&sessions);
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
    Ok((imported, changed))
}
