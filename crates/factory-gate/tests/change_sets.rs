//! Change sets of real commits, built by `tests/fixtures/change_kinds.sh` with the git binary.

use bstr::ByteSlice;
use factory_gate::classify::{classify_commits, worker};
use factory_git::{ChangeSet, ObjectId, RangeSpec, Repo};
use factory_policy::{ChangeKind, DEFAULT_POLICY, FileChange, FileMode, Policy, Status};
use factory_tests::TestRepo;

struct Fixture {
    repo: TestRepo,
    git: Repo,
    policy: Policy,
}

impl Fixture {
    fn new() -> Fixture {
        let repo = TestRepo::from_script("change_kinds");
        let git = Repo::discover(&repo.path()).unwrap();
        let policy = Policy::parse("default", DEFAULT_POLICY.text).unwrap();
        Fixture { repo, git, policy }
    }

    fn id(&self, subject: &str) -> ObjectId {
        ObjectId::from_hex(self.repo.commit_by_subject(subject).as_bytes()).unwrap()
    }

    fn change_set(&self, subject: &str) -> ChangeSet {
        changes(&self.git, &self.policy, self.id(subject))
    }
}

/// The change set of `id` with the content `policy`'s classifier asks for.
fn changes(git: &Repo, policy: &Policy, id: ObjectId) -> ChangeSet {
    worker(git, policy, id)
        .unwrap()
        .change_set(id, &mut policy.classifier())
        .unwrap()
}

fn file<'a>(cs: &'a ChangeSet, path: &str) -> &'a FileChange {
    cs.files
        .iter()
        .find(|f| f.path == path.as_bytes())
        .unwrap_or_else(|| panic!("no change to {path} in {:?}", cs.files))
}

#[test]
fn root_commit_is_diffed_against_the_empty_tree() {
    let f = Fixture::new();
    let cs = f.change_set("root");
    assert!(cs.parents.is_empty());
    let paths: Vec<_> = cs.files.iter().map(|f| f.path.to_string()).collect();
    assert_eq!(paths, ["README.md", "src/auth/login.rs", "src/lib.rs"]);
    assert!(cs.files.iter().all(|f| f.status == Status::Added));
}

#[test]
fn renames_keep_both_paths_and_path_rules_see_the_old_one() {
    let f = Fixture::new();
    let cs = f.change_set("rename out of auth");
    let rename = file(&cs, "src/session.rs");
    assert_eq!(rename.status, Status::Renamed);
    assert_eq!(
        rename.old_path.as_ref().map(|p| p.as_bstr()),
        Some(b"src/auth/login.rs".as_bstr())
    );
    let verdict = f.policy.classifier().classify(&cs.commit, &cs.files);
    assert_eq!(
        f.policy.tier_name(verdict.tier),
        "hard-stop",
        "moving code out of auth/ is an auth change"
    );
}

#[test]
fn binary_submodule_symlink_and_mode_changes_are_recognised() {
    let f = Fixture::new();
    // Blobs are read only when a rule needs them: the default policy has no `binary` rule...
    assert!(!file(&f.change_set("add binary"), "logo.png").binary);
    // ...the regulated one has.
    let regulated = Policy::parse(
        "regulated",
        factory_policy::shipped("regulated").unwrap().text,
    )
    .unwrap();
    let cs = changes(&f.git, &regulated, f.id("add binary"));
    assert!(file(&cs, "logo.png").binary);
    let v = regulated.classifier().classify(&cs.commit, &cs.files);
    assert!(
        v.evidence.iter().any(|e| e.rule == "binary-artifact"),
        "{:?}",
        v.evidence
    );
    let sub = f.change_set("add submodule");
    assert!(file(&sub, "vendor/lib").is_kind(ChangeKind::Submodule));
    let link = f.change_set("add symlink");
    assert_eq!(file(&link, "link.rs").new_mode, Some(FileMode::Symlink));
    let exec = f.change_set("make script executable");
    let run = file(&exec, "run.sh");
    assert!(run.is_kind(ChangeKind::Executable) && run.is_kind(ChangeKind::ModeChange));
    let v = f.policy.classifier().classify(&exec.commit, &exec.files);
    assert!(
        v.evidence.iter().any(|e| e.rule == "new-executable"),
        "{:?}",
        v.evidence
    );
}

#[test]
fn non_utf8_paths_and_empty_commits() {
    let f = Fixture::new();
    let cs = f.change_set("non-utf8 path");
    assert_eq!(cs.files.len(), 1);
    assert_eq!(cs.files[0].path.as_slice(), b"caf\xe9.txt");
    assert!(f.change_set("empty").files.is_empty());
}

#[test]
fn content_rules_scan_very_large_files_to_the_last_line() {
    let f = Fixture::new();
    let cs = f.change_set("large file");
    // `big.txt` is covered by no content rule of the default policy: no lines are computed.
    assert!(file(&cs, "big.txt").added.is_none());
    // A policy whose content rule covers it finds the route on line 300001.
    let policy = Policy::parse(
        "p",
        "version = 1\ndefault-tier = \"a\"\n[[tier]]\nname = \"a\"\ndescription = \"\"\n[[tier]]\nname = \"b\"\ndescription = \"\"\n[[rule]]\nid = \"route\"\ntier = \"b\"\nadded-lines = ['\\.route\\(']\n",
    )
    .unwrap();
    let cs2 = changes(&f.git, &policy, cs.id);
    let v = policy.classifier().classify(&cs2.commit, &cs2.files);
    let e = v
        .evidence
        .iter()
        .find(|e| e.rule == "route")
        .expect("route found");
    assert_eq!(e.line, Some(300_001));
    assert_eq!(e.text.as_deref(), Some(".route(\"/hidden\", get(h))"));
}

#[test]
fn a_clean_merge_brings_its_side_to_the_first_parent() {
    let f = Fixture::new();
    let cs = f.change_set("clean merge");
    assert_eq!(cs.parents.len(), 2);
    let paths: Vec<_> = cs.files.iter().map(|f| f.path.to_string()).collect();
    assert_eq!(paths, ["docs/topic.md"], "what the merge brings to main");
}

#[test]
fn evil_merges_show_the_content_that_is_in_no_parent() {
    let f = Fixture::new();
    let cs = f.change_set("evil merge");
    let paths: Vec<_> = cs.files.iter().map(|f| f.path.to_string()).collect();
    assert_eq!(
        paths,
        ["docs/evil.md", "src/api.rs", "src/lib.rs"],
        "the side's file and the merge's own content, against the first parent"
    );
    let v = f.policy.classifier().classify(&cs.commit, &cs.files);
    let route = v
        .evidence
        .iter()
        .find(|e| e.rule == "http-endpoint-rust")
        .expect("route");
    assert_eq!(
        (route.path.as_ref().unwrap().to_string(), route.line),
        ("src/api.rs".into(), Some(2))
    );
    let auth = v
        .evidence
        .iter()
        .find(|e| e.rule == "auth-code")
        .expect("auth");
    assert_eq!(
        (auth.path.as_ref().unwrap().to_string(), auth.line),
        ("src/lib.rs".into(), Some(9))
    );
    assert_eq!(f.policy.tier_name(v.tier), "hard-stop");
}

#[test]
fn ranges_and_parallel_classification_keep_git_log_order() {
    let f = Fixture::new();
    let all = f.git.commits(&RangeSpec::All).unwrap();
    let log: Vec<String> = f
        .repo
        .git(&["log", "--all", "--format=%H"])
        .lines()
        .map(str::to_owned)
        .collect();
    let mut ours: Vec<String> = all.iter().map(ToString::to_string).collect();
    let mut theirs = log.clone();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs, "the same commits as git log --all");
    let range = f.git.commits(&RangeSpec::parse("HEAD~2..HEAD")).unwrap();
    let expected: Vec<String> = f
        .repo
        .git(&["rev-list", "HEAD~2..HEAD"])
        .lines()
        .map(str::to_owned)
        .collect();
    let mut got: Vec<String> = range.iter().map(ToString::to_string).collect();
    got.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(got, expected_sorted);
    let classified = classify_commits(&f.git, &f.policy, &all).unwrap();
    let order: Vec<_> = classified.iter().map(|c| c.change_set.id).collect();
    assert_eq!(order, all);
}

#[test]
fn unknown_revisions_are_reported_by_name() {
    let f = Fixture::new();
    let err = f
        .git
        .commits(&RangeSpec::parse("no-such-branch"))
        .unwrap_err();
    assert_eq!(err.to_string(), "unknown revision `no-such-branch`");
    let err = f
        .git
        .commits(&RangeSpec::parse("HEAD:README.md"))
        .unwrap_err();
    assert_eq!(err.to_string(), "`HEAD:README.md` is not a commit");
}
