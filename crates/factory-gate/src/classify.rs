//! Classifying commits: the git layer's change sets read by the policy's classifier, on all
//! cores. The classifier decides which files' content the git layer loads.

use factory_git::{ChangeError, ChangeSet, Detection, ObjectId, Repo, Worker};
use factory_policy::{Policy, Verdict};
use rayon::prelude::*;

/// A commit's change set and its verdict.
#[derive(Debug, Clone)]
pub struct Classified {
    /// The commit. Its `files` are emptied once classified, to keep long histories small in
    /// memory; `files_changed` keeps their number.
    pub change_set: ChangeSet,
    /// How many files the commit changed (for a merge: against its first parent).
    pub files_changed: usize,
    /// How the policy classifies it.
    pub verdict: Verdict,
}

/// What the git layer must detect for `policy`'s rules to see what they ask about.
pub fn detection(policy: &Policy) -> Detection {
    Detection {
        renames: policy.wants_rename_detection(),
        copies: policy.wants_copy_detection(),
        binary: policy.wants_binary_detection(),
    }
}

/// A git worker for `policy` on `repo`, as a change error (the repository could not be read).
pub fn worker(repo: &Repo, policy: &Policy, commit: ObjectId) -> Result<Worker, ChangeError> {
    Worker::new(repo, detection(policy)).map_err(|source| ChangeError::Object {
        commit,
        id: commit,
        what: "repository",
        source,
    })
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
    let detect = detection(policy);
    commits
        .par_iter()
        .map_init(
            || (Worker::new(repo, detect), policy.classifier()),
            |(worker, classifier), id| {
                let worker = worker.as_mut().map_err(|e| ChangeError::Object {
                    commit: *id,
                    id: *id,
                    what: "repository",
                    source: gix_error(e),
                })?;
                let classified = classify_one(worker, classifier, *id)?;
                done();
                Ok(classified)
            },
        )
        .collect()
}

/// One commit's change set, classified; the verdict holds the evidence, the changes themselves
/// are not kept.
fn classify_one(
    worker: &mut Worker,
    classifier: &mut factory_policy::Classifier<'_>,
    id: ObjectId,
) -> Result<Classified, ChangeError> {
    let mut change_set = worker.change_set(id, classifier)?;
    let verdict = classifier.classify(&change_set.commit, &change_set.files);
    let files_changed = change_set.files.len();
    change_set.files = Vec::new();
    Ok(Classified {
        change_set,
        files_changed,
        verdict,
    })
}

/// The workers of a streamed classification, kept across chunks so that their object caches
/// stay warm.
type Slot<'p> = (
    Result<Worker, factory_git::GixError>,
    factory_policy::Classifier<'p>,
);

/// A worker borrowed from the pool for one rayon job; it goes back when the job ends.
struct Borrowed<'a, 'p> {
    pool: &'a std::sync::Mutex<Vec<Slot<'p>>>,
    slot: Option<Slot<'p>>,
}

impl Drop for Borrowed<'_, '_> {
    fn drop(&mut self) {
        // One warm worker per thread is kept; more (rayon nests jobs) are let go.
        if let (Some(slot), Ok(mut pool)) = (self.slot.take(), self.pool.lock())
            && pool.len() < rayon::current_num_threads()
        {
            pool.push(slot);
        }
    }
}

/// Classifies `commits` in their order, `chunk` at a time on all cores, handing each chunk's
/// results to `sink` before the next is read: a history of any length is classified in the
/// memory of one chunk, with the workers (and their caches) reused from chunk to chunk.
pub fn classify_streamed<E: From<ChangeError>>(
    repo: &Repo,
    policy: &Policy,
    commits: &[ObjectId],
    chunk: usize,
    sink: &mut dyn FnMut(Vec<Classified>) -> Result<(), E>,
) -> Result<(), E> {
    let detect = detection(policy);
    let pool: std::sync::Mutex<Vec<Slot<'_>>> = std::sync::Mutex::new(Vec::new());
    for part in commits.chunks(chunk.max(1)) {
        let classified =
            part.par_iter()
                .map_init(
                    || {
                        let reused = pool.lock().ok().and_then(|mut p| p.pop());
                        Borrowed {
                            pool: &pool,
                            slot: Some(reused.unwrap_or_else(|| {
                                (Worker::new(repo, detect), policy.classifier())
                            })),
                        }
                    },
                    |borrowed, id| {
                        let (worker, classifier) = borrowed.slot.get_or_insert_with(|| {
                            (Worker::new(repo, detect), policy.classifier())
                        });
                        let worker = worker.as_mut().map_err(|e| ChangeError::Object {
                            commit: *id,
                            id: *id,
                            what: "repository",
                            source: gix_error(e),
                        })?;
                        classify_one(worker, classifier, *id)
                    },
                )
                .collect::<Result<Vec<_>, ChangeError>>()?;
        sink(classified)?;
    }
    Ok(())
}

/// Classifies the net change between two commits' trees (`from` → `to`) under `policy`, with
/// `to`'s commit facts.
pub fn classify_between(
    repo: &Repo,
    policy: &Policy,
    from: ObjectId,
    to: ObjectId,
) -> Result<Verdict, ChangeError> {
    let mut worker = worker(repo, policy, to)?;
    let mut classifier = policy.classifier();
    let change_set = worker.change_between(from, to, &mut classifier)?;
    Ok(classifier.classify(&change_set.commit, &change_set.files))
}

/// The per-thread worker's construction error, kept for every commit that thread would read.
fn gix_error(e: &factory_git::GixError) -> factory_git::GixError {
    factory_git::GixError::from_error(std::io::Error::other(e.to_string()))
}
