//! Classifying many commits in parallel.

use factory_policy::{Policy, Verdict};
use gix::ObjectId;
use rayon::prelude::*;

use crate::changes::{ChangeSet, Worker};
use crate::error::ChangeError;
use crate::repo::Repo;

/// A commit's change set and its verdict.
#[derive(Debug, Clone)]
pub struct Classified {
    /// The commit. Its `files` are emptied once classified, to keep long histories small in
    /// memory; `files_changed` keeps their number.
    pub change_set: ChangeSet,
    /// How many files the commit changed (for a merge: that differ from every parent).
    pub files_changed: usize,
    /// How the policy classifies it.
    pub verdict: Verdict,
}

/// Classifies `commits` under `policy`, on all cores, keeping the order of `commits`.
///
/// The first error wins; nothing is classified partially.
pub fn classify_commits(
    repo: &Repo,
    policy: &Policy,
    commits: &[ObjectId],
) -> Result<Vec<Classified>, ChangeError> {
    classify_commits_observed(repo, policy, commits, &|| {})
}

/// [`classify_commits`], calling `done` (from any thread) as each commit is classified.
pub fn classify_commits_observed(
    repo: &Repo,
    policy: &Policy,
    commits: &[ObjectId],
    done: &(dyn Fn() + Sync),
) -> Result<Vec<Classified>, ChangeError> {
    commits
        .par_iter()
        .map_init(
            || Worker::new(repo, policy),
            |worker, id| {
                let worker = worker.as_mut().map_err(|e| ChangeError::Object {
                    commit: *id,
                    id: *id,
                    what: "repository",
                    source: gix::Error::from_error(std::io::Error::other(e.to_string())),
                })?;
                let mut change_set = worker.change_set(*id)?;
                let verdict = worker
                    .classifier()
                    .classify(&change_set.commit, &change_set.files);
                // The verdict holds the evidence; the changes themselves are not kept.
                let files_changed = change_set.files.len();
                change_set.files = Vec::new();
                done();
                Ok(Classified {
                    change_set,
                    files_changed,
                    verdict,
                })
            },
        )
        .collect()
}

/// Classifies the net change between two commits' trees (`from` → `to`) under `policy`, with
/// `to`'s commit facts.
pub fn classify_between(
    repo: &Repo,
    policy: &Policy,
    from: ObjectId,
    to: ObjectId,
) -> Result<Verdict, ChangeError> {
    let mut worker = Worker::new(repo, policy).map_err(|e| ChangeError::Object {
        commit: to,
        id: to,
        what: "repository",
        source: gix::Error::from_error(std::io::Error::other(e.to_string())),
    })?;
    let change_set = worker.change_between(from, to)?;
    Ok(worker
        .classifier()
        .classify(&change_set.commit, &change_set.files))
}
