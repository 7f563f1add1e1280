//! The audit cache: what the gate learns of a commit that cannot change while the governance
//! files stay the same (its classification, origin, evidence and signature verdict), stored
//! under the git directory and keyed by the commit id and the id of the base's `.factory/`
//! tree (which holds the policy blob and the keys).
//!
//! One file per governance tree and factory version, one line per commit: the SHA-256 of the
//! JSON, a space, the JSON. A line that does not parse or whose digest does not match makes
//! the whole file untrusted: it is ignored and rewritten. Notes (transcripts, approvals) are
//! never cached; they are read on every decision.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;

use factory_trust::Verdict;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::EvidenceReport;

/// The facts of one commit under one governance tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Facts {
    pub(crate) commit: String,
    pub(crate) summary: String,
    pub(crate) tier: String,
    pub(crate) origin: String,
    pub(crate) signature: Verdict,
    /// Claimed identities: every Requested-By and Co-authored-by, the author and the committer.
    pub(crate) claims: Vec<String>,
    /// When the OpenPGP signature says it was made.
    #[serde(default)]
    pub(crate) signed_at: Option<i64>,
    pub(crate) evidence: Vec<EvidenceReport>,
    pub(crate) agent: Option<String>,
    pub(crate) time: i64,
    /// Claimed versus verified origin.
    pub(crate) agent_origin: factory_trust::AgentOrigin,
    /// The transcript digests the commit carries (`Agent-Transcript` trailers).
    pub(crate) bound_transcripts: Vec<String>,
}

pub(crate) struct Cache {
    path: PathBuf,
    entries: HashMap<String, Facts>,
    /// Lines to add; the whole file is rewritten when it was corrupt.
    pending: Vec<String>,
    rewrite: bool,
}

fn digest(json: &str) -> String {
    let mut h = Sha256::new();
    h.update(json.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The name of the cache of a governance: the id of `.factory/` (policy blob and keys), or —
/// where there is none and the embedded default policy judges — a digest of that policy's text,
/// so that a build with another default never answers from a cache the old one wrote.
fn key(governance: Option<factory_git::ObjectId>) -> String {
    match governance {
        Some(id) => id.to_string(),
        None => format!(
            "default-{}",
            &digest(factory_policy::DEFAULT_POLICY.text)[..16]
        ),
    }
}

impl Cache {
    /// Opens the cache of `governance` (the id of `.factory/`, None for the embedded default)
    /// under `git_dir`; a missing file is an empty cache, a corrupt one is discarded.
    pub(crate) fn open(
        git_dir: &std::path::Path,
        governance: Option<factory_git::ObjectId>,
    ) -> Cache {
        let path = git_dir
            .join("factory")
            .join("cache")
            // v6: lines are read by their parts from whole files (a v5 cache holds other verdicts).
            .join(concat!("audit-v6-", env!("CARGO_PKG_VERSION")))
            .join(format!("{}.jsonl", key(governance)));
        let mut cache = Cache {
            path,
            entries: HashMap::new(),
            pending: Vec::new(),
            rewrite: false,
        };
        let Ok(text) = std::fs::read_to_string(&cache.path) else {
            cache.rewrite = cache.path.exists();
            return cache;
        };
        // Lines are checked and parsed on all cores; one bad line discards the file.
        let parsed: Option<Vec<Facts>> = text
            .par_lines()
            .map(|line| {
                line.split_once(' ').and_then(|(sum, json)| {
                    (digest(json) == sum)
                        .then(|| serde_json::from_str::<Facts>(json).ok())
                        .flatten()
                })
            })
            .collect();
        match parsed {
            Some(list) => {
                cache.entries = list.into_iter().map(|f| (f.commit.clone(), f)).collect();
            }
            None => cache.rewrite = true,
        }
        cache
    }

    pub(crate) fn get(&self, commit: &str) -> Option<&Facts> {
        self.entries.get(commit)
    }

    /// Takes the facts of a commit out (after [`Cache::save`], when the cache is done with).
    pub(crate) fn take(&mut self, commit: &str) -> Option<Facts> {
        self.entries.remove(commit)
    }

    pub(crate) fn insert(&mut self, facts: Facts) {
        if let Ok(json) = serde_json::to_string(&facts) {
            self.pending.push(format!("{} {json}\n", digest(&json)));
            self.entries.insert(facts.commit.clone(), facts);
        }
    }

    /// Writes what was added. Failing to write a cache is not an error of the decision.
    pub(crate) fn save(&mut self) {
        if self.pending.is_empty() && !self.rewrite {
            return;
        }
        let Some(dir) = self.path.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if self.rewrite {
            // Rewrite the trusted entries from scratch, atomically.
            let mut text = String::new();
            for f in self.entries.values() {
                if let Ok(json) = serde_json::to_string(f) {
                    text.push_str(&format!("{} {json}\n", digest(&json)));
                }
            }
            let tmp = self
                .path
                .with_extension(format!("tmp{}", std::process::id()));
            if std::fs::write(&tmp, text).is_ok() {
                let _ = std::fs::rename(&tmp, &self.path);
            }
        } else if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
        {
            // One write per batch; a torn write is caught by the digest next time.
            let _ = file.write_all(self.pending.concat().as_bytes());
        }
        self.pending.clear();
        self.rewrite = false;
    }
}
