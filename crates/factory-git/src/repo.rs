//! Opening a repository and reading from it.

use std::path::{Path, PathBuf};

use gix::ObjectId;

use crate::error::{OpenError, ReadError, RevError};

/// A repository, shareable across threads; each thread gets its own handle.
#[derive(Debug, Clone)]
pub struct Repo {
    shared: gix::ThreadSafeRepository,
    /// The object directory whose alternates see a push's quarantined objects (kept alive).
    _receive: Option<std::sync::Arc<tempfile::TempDir>>,
}

/// Per-thread object cache: large enough to keep the trees of a commit and its parents hot.
const OBJECT_CACHE_BYTES: usize = 16 * 1024 * 1024;
/// Per-thread cache of inflated delta bases.
const DELTA_BASE_CACHE_BYTES: usize = 16 * 1024 * 1024;

impl Repo {
    /// Finds the repository containing `dir` (honouring `GIT_DIR` and friends).
    pub fn discover(dir: &Path) -> Result<Repo, OpenError> {
        let shared = gix::ThreadSafeRepository::discover_with_environment_overrides(dir).map_err(
            |source| OpenError::NotARepository {
                path: dir.to_owned(),
                source,
            },
        )?;
        Ok(Repo {
            shared,
            _receive: None,
        })
    }

    /// Opens the repository a `pre-receive` hook runs in, seeing the objects of the push.
    ///
    /// git receives a push into a quarantine directory named by `GIT_QUARANTINE_PATH` /
    /// `GIT_OBJECT_DIRECTORY` (with the repository's objects in
    /// `GIT_ALTERNATE_OBJECT_DIRECTORIES`); gix does not read those variables, so this opens an
    /// object store in a fresh temporary directory whose only content is an alternates file
    /// listing the quarantine directory and the repository's objects. Nothing is written into
    /// the quarantine directory. Without those variables it is [`Repo::discover`].
    pub fn for_receive(dir: &Path) -> Result<Repo, OpenError> {
        let mut repo = Repo::discover(dir)?;
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let Some(incoming) = var("GIT_QUARANTINE_PATH").or_else(|| var("GIT_OBJECT_DIRECTORY"))
        else {
            return Ok(repo);
        };
        let quarantine_err = |source: std::io::Error| OpenError::Quarantine {
            path: PathBuf::from(&incoming),
            source,
        };
        let absolute = |p: PathBuf| -> std::io::Result<PathBuf> {
            if p.is_absolute() {
                Ok(p)
            } else {
                std::fs::canonicalize(dir.join(p))
            }
        };
        let mut dirs = vec![absolute(PathBuf::from(&incoming)).map_err(quarantine_err)?];
        if let Some(list) = var("GIT_ALTERNATE_OBJECT_DIRECTORIES") {
            for p in std::env::split_paths(&list) {
                dirs.push(absolute(p).map_err(quarantine_err)?);
            }
        }
        let common = repo
            .shared
            .common_dir
            .clone()
            .unwrap_or_else(|| repo.shared.git_dir().to_owned());
        dirs.push(absolute(common.join("objects")).map_err(quarantine_err)?);
        let tmp = tempfile::Builder::new()
            .prefix("factory-receive-")
            .tempdir()
            .map_err(quarantine_err)?;
        let objects = tmp.path().join("objects");
        std::fs::create_dir_all(objects.join("info")).map_err(quarantine_err)?;
        let mut alternates = String::new();
        for d in &dirs {
            alternates.push_str(&d.to_string_lossy());
            alternates.push('\n');
        }
        std::fs::write(objects.join("info").join("alternates"), alternates)
            .map_err(quarantine_err)?;
        let hash = repo.shared.to_thread_local().object_hash();
        let store = gix::odb::Store::at_opts(
            objects,
            hash,
            &mut std::iter::empty(),
            gix::odb::store::init::Options::default(),
        )
        .map_err(quarantine_err)?;
        repo.shared.objects = std::sync::Arc::new(store);
        repo._receive = Some(std::sync::Arc::new(tmp));
        Ok(repo)
    }

    /// The references under `prefix` (e.g. `refs/heads/`) with the objects they point at.
    pub fn references(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>, ReadError> {
        let repo = self.local();
        let err = |source: gix::Error| ReadError::Object {
            rev: prefix.to_owned(),
            path: String::new(),
            source,
        };
        let platform = repo.references().map_err(err)?;
        let mut out = Vec::new();
        for r in platform.all().map_err(err)? {
            let mut r = r.map_err(|e| err(gix::Error::from_error(e)))?;
            let name = r.name().as_bstr().to_string();
            if !name.starts_with(prefix) {
                continue;
            }
            if let Ok(id) = r.peel_to_id() {
                out.push((name, id.detach()));
            }
        }
        Ok(out)
    }

    /// The full name of the branch HEAD points to (`refs/heads/main`), even when it is unborn.
    pub fn head_branch(&self) -> Option<String> {
        let repo = self.local();
        let head = repo.head().ok()?;
        head.referent_name().map(|n| n.as_bstr().to_string())
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: ObjectId, descendant: ObjectId) -> Result<bool, ReadError> {
        if ancestor == descendant {
            return Ok(true);
        }
        let repo = self.local();
        let base = repo
            .merge_base(ancestor, descendant)
            .map_err(|source| ReadError::Object {
                rev: format!("{ancestor}...{descendant}"),
                path: String::new(),
                source,
            })?;
        Ok(base.is_some_and(|b| b.detach() == ancestor))
    }

    /// The best common ancestor of two commits, if they have one.
    pub fn merge_base(&self, a: ObjectId, b: ObjectId) -> Result<Option<ObjectId>, ReadError> {
        let repo = self.local();
        let base = repo.merge_base(a, b).map_err(|source| ReadError::Object {
            rev: format!("{a}...{b}"),
            path: String::new(),
            source,
        })?;
        Ok(base.map(|id| id.detach()))
    }

    /// The parents of a commit, in order.
    pub fn parents(&self, commit: ObjectId) -> Result<Vec<ObjectId>, ReadError> {
        let repo = self.local();
        let err = |source| ReadError::Object {
            rev: commit.to_string(),
            path: String::new(),
            source,
        };
        let c = repo.find_commit(commit).map_err(err)?;
        Ok(c.parent_ids().map(|p| p.detach()).collect())
    }

    /// Whether the object exists (in the quarantine too, for [`Repo::for_receive`]).
    pub fn has_object(&self, id: ObjectId) -> bool {
        self.local().has_object(id)
    }

    /// The content of an object (a blob's bytes, a commit's raw text).
    pub fn read_blob(&self, id: ObjectId) -> Result<Vec<u8>, ReadError> {
        let repo = self.local();
        let object = repo.find_object(id).map_err(|source| ReadError::Object {
            rev: id.to_string(),
            path: String::new(),
            source,
        })?;
        Ok(object.detach().data)
    }

    /// The kind of an object (`commit`, `tag`, `tree`, `blob`).
    pub fn object_kind(&self, id: ObjectId) -> Result<gix::object::Kind, ReadError> {
        let repo = self.local();
        let object = repo.find_header(id).map_err(|e| ReadError::Object {
            rev: id.to_string(),
            path: String::new(),
            source: gix::Error::from_error(e),
        })?;
        Ok(object.kind())
    }

    /// A handle for the current thread, with an object cache.
    pub fn local(&self) -> gix::Repository {
        let mut repo = self.shared.to_thread_local();
        repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
        // Like git's core.deltaBaseCacheLimit: history walks resolve the same delta bases of
        // trees over and over, and gix's default (64 entries) makes them inflate again.
        repo.objects.set_pack_cache(|| {
            Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
                DELTA_BASE_CACHE_BYTES,
            ))
        });
        repo
    }

    /// The working tree, unless the repository is bare.
    pub fn workdir(&self) -> Option<PathBuf> {
        self.shared.work_dir().map(Path::to_owned)
    }

    /// The git directory.
    pub fn git_dir(&self) -> &Path {
        self.shared.git_dir()
    }

    /// The git directory all worktrees share (the git directory itself outside a linked
    /// worktree).
    pub fn common_dir(&self) -> &Path {
        self.shared
            .common_dir
            .as_deref()
            .unwrap_or_else(|| self.shared.git_dir())
    }

    /// Resolves a revision to a commit id (tags are peeled).
    pub fn resolve_commit(&self, spec: &str) -> Result<ObjectId, RevError> {
        let repo = self.local();
        if spec == "HEAD" && repo.head_id().is_err() && repo.head().is_ok_and(|h| h.is_unborn()) {
            return Err(RevError::UnbornHead);
        }
        let id = repo
            .rev_parse_single(spec)
            .map_err(|source| RevError::Unknown {
                spec: spec.to_owned(),
                source,
            })?;
        let object = id.object().map_err(|source| RevError::Unknown {
            spec: spec.to_owned(),
            source,
        })?;
        object
            .peel_to_kind(gix::object::Kind::Commit)
            .map(|c| c.id)
            .map_err(|_| RevError::NotACommit {
                spec: spec.to_owned(),
            })
    }

    /// The commit HEAD points to, or None when HEAD is unborn.
    pub fn head_commit(&self) -> Option<ObjectId> {
        self.local().head_id().ok().map(|id| id.detach())
    }

    /// The blob id of `path` in `commit`'s tree, if it is a file there.
    pub fn blob_id_at(&self, commit: ObjectId, path: &str) -> Result<Option<ObjectId>, ReadError> {
        Ok(self
            .entry_at(commit, path)?
            .filter(|(mode, _)| mode.is_blob())
            .map(|(_, id)| id))
    }

    /// The id of the entry at `path` in `commit`'s tree (a blob or a tree), if there is one.
    pub fn entry_id_at(&self, commit: ObjectId, path: &str) -> Result<Option<ObjectId>, ReadError> {
        Ok(self.entry_at(commit, path)?.map(|(_, id)| id))
    }

    fn entry_at(
        &self,
        commit: ObjectId,
        path: &str,
    ) -> Result<Option<(gix::object::tree::EntryMode, ObjectId)>, ReadError> {
        let repo = self.local();
        let err = |source: gix::Error| ReadError::Object {
            rev: commit.to_string(),
            path: path.to_owned(),
            source,
        };
        let tree = repo.find_commit(commit).map_err(err)?.tree().map_err(err)?;
        Ok(tree
            .lookup_entry_by_path(path)
            .map_err(err)?
            .map(|e| (e.mode(), e.oid().to_owned())))
    }

    /// The tree id of a commit.
    pub fn tree_of(&self, commit: ObjectId) -> Result<ObjectId, ReadError> {
        let repo = self.local();
        let err = |source: gix::Error| ReadError::Object {
            rev: commit.to_string(),
            path: String::new(),
            source,
        };
        let c = repo.find_commit(commit).map_err(err)?;
        c.tree_id().map(|t| t.detach()).map_err(err)
    }

    /// The raw commit object (as `git cat-file commit` prints it).
    pub fn raw_commit(&self, commit: ObjectId) -> Result<Vec<u8>, ReadError> {
        self.read_blob(commit)
    }

    /// The files directly in directory `dir` of `commit`'s tree, as (name, content); empty if
    /// there is no such directory.
    pub fn files_in(
        &self,
        commit: ObjectId,
        dir: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, ReadError> {
        let repo = self.local();
        let err = |source: gix::Error| ReadError::Object {
            rev: commit.to_string(),
            path: dir.to_owned(),
            source,
        };
        let tree = repo.find_commit(commit).map_err(err)?.tree().map_err(err)?;
        let Some(entry) = tree.lookup_entry_by_path(dir).map_err(err)? else {
            return Ok(Vec::new());
        };
        if !entry.mode().is_tree() {
            return Ok(Vec::new());
        }
        let sub = entry.object().map_err(err)?.into_tree();
        let mut out = Vec::new();
        for e in sub.iter() {
            let e = e.map_err(|e| err(gix::Error::from_error(e)))?;
            if e.mode().is_blob() {
                let blob = repo.find_object(e.oid()).map_err(err)?;
                out.push((e.filename().to_string(), blob.detach().data));
            }
        }
        Ok(out)
    }

    /// The message of a commit, lossily decoded.
    pub fn message(&self, commit: ObjectId) -> Result<String, ReadError> {
        let repo = self.local();
        let err = |source: gix::Error| ReadError::Object {
            rev: commit.to_string(),
            path: String::new(),
            source,
        };
        let c = repo.find_commit(commit).map_err(err)?;
        let decoded = c.decode().map_err(|e| err(gix::Error::from_error(e)))?;
        Ok(String::from_utf8_lossy(decoded.message.as_ref()).into_owned())
    }

    /// The content of the blob at `path` in `commit`'s tree, or None if there is none.
    pub fn file_at(&self, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>, ReadError> {
        let repo = self.local();
        let read_err = |source: gix::Error| ReadError::Object {
            rev: commit.to_string(),
            path: path.to_owned(),
            source,
        };
        let tree = repo
            .find_commit(commit)
            .map_err(&read_err)?
            .tree()
            .map_err(&read_err)?;
        let Some(entry) = tree.lookup_entry_by_path(path).map_err(&read_err)? else {
            return Ok(None);
        };
        if !entry.mode().is_blob() {
            return Ok(None);
        }
        let object = entry.object().map_err(read_err)?;
        Ok(Some(object.detach().data))
    }
}
