//! End-to-end: factory's notes travel between real clones through a bare remote and survive
//! amend, rebase, rebase-merge and squash-merge.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use factory_tests::{TestRepo, hermetic, workspace_root};

fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

fn own(name: &str) -> String {
    workspace_root()
        .join("crates/factory-shiftlog/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// Runs a program in `dir` with the hermetic environment of `home`.
fn run(home: &Path, dir: &Path, program: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir).args(args);
    hermetic(&mut cmd, home);
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{program} {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn sessions(home: &Path, dir: &Path, rev: &str) -> Vec<String> {
    let out = run(
        home,
        dir,
        factory_bin(),
        &["transcript", "show", rev, "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut ids: Vec<String> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["session_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn setup_is_idempotent_and_amend_and_rebase_carry_notes() {
    let repo = TestRepo::new();
    let (home, dir) = (repo.home().to_owned(), repo.path());
    repo.write("a.txt", "a\n");
    repo.commit("base");
    repo.git(&["remote", "add", "origin", "https://example.invalid/x.git"]);
    let first = text(&run(&home, &dir, factory_bin(), &["notes", "setup"]));
    assert!(
        first.contains(
            "remote.origin.fetch += +refs/notes/factory/*:refs/notes/factory-remotes/origin/*"
        ),
        "{first}"
    );
    assert!(
        first.contains("notes.rewriteRef += refs/notes/factory/*"),
        "{first}"
    );
    let second = text(&run(&home, &dir, factory_bin(), &["notes", "setup"]));
    assert_eq!(second, "notes: already set up, nothing changed\n");
    assert_eq!(
        repo.git(&["config", "--get-all", "remote.origin.push"]),
        "HEAD\nrefs/notes/factory/*:refs/notes/factory/*\n"
    );

    repo.write("a.txt", "a\nb\n");
    repo.commit("agent work\n\nAgent: claude-code/2.0\n");
    run(
        &home,
        &dir,
        factory_bin(),
        &["transcript", "attach", &own("claude.jsonl")],
    );
    repo.git(&[
        "commit",
        "--quiet",
        "--amend",
        "-m",
        "agent work, amended\n\nAgent: claude-code/2.0\n",
    ]);
    assert_eq!(
        sessions(&home, &dir, "HEAD"),
        ["s-claude"],
        "amend carried the note"
    );

    repo.git(&["checkout", "--quiet", "-b", "topic"]);
    repo.git(&["checkout", "--quiet", "main"]);
    repo.git(&["reset", "--quiet", "--hard", "HEAD~1"]);
    repo.write("other.txt", "o\n");
    repo.commit("main moves on");
    repo.git(&["checkout", "--quiet", "topic"]);
    repo.git(&["rebase", "--quiet", "main"]);
    assert_eq!(
        sessions(&home, &dir, "HEAD"),
        ["s-claude"],
        "rebase carried the note"
    );
}

#[test]
fn two_clones_keep_both_transcripts_of_one_commit() {
    let server = tempfile::tempdir().unwrap();
    let home = server.path().to_owned();
    let bare = home.join("remote.git");
    run(
        &home,
        &home,
        "git",
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            bare.to_str().unwrap(),
        ],
    );
    let a: PathBuf = home.join("a");
    let b: PathBuf = home.join("b");
    run(
        &home,
        &home,
        "git",
        &[
            "clone",
            "--quiet",
            bare.to_str().unwrap(),
            a.to_str().unwrap(),
        ],
    );
    std::fs::write(a.join("f.txt"), "x\n").unwrap();
    run(&home, &a, "git", &["add", "f.txt"]);
    run(
        &home,
        &a,
        "git",
        &["commit", "--quiet", "-m", "shared commit"],
    );
    run(&home, &a, "git", &["push", "--quiet", "origin", "main"]);
    run(
        &home,
        &home,
        "git",
        &[
            "clone",
            "--quiet",
            bare.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
    );
    for dir in [&a, &b] {
        run(&home, dir, factory_bin(), &["notes", "setup"]);
    }
    run(
        &home,
        &a,
        factory_bin(),
        &["transcript", "attach", &own("claude.jsonl")],
    );
    run(
        &home,
        &b,
        factory_bin(),
        &["transcript", "attach", &own("codex.jsonl")],
    );
    let out = text(&run(&home, &a, factory_bin(), &["notes", "sync"]));
    assert!(out.contains("pushed factory notes to origin"), "{out}");
    let out = text(&run(&home, &b, factory_bin(), &["notes", "sync"]));
    assert!(
        out.contains("refs/notes/factory/transcripts: merged with origin"),
        "{out}"
    );
    run(&home, &a, factory_bin(), &["notes", "sync"]);
    assert_eq!(sessions(&home, &a, "HEAD"), ["s-claude", "s-codex"]);
    assert_eq!(sessions(&home, &b, "HEAD"), ["s-claude", "s-codex"]);
    // The server holds the union too.
    let on_server = text(&run(
        &home,
        &bare,
        "git",
        &["notes", "--ref=factory/transcripts", "show", "main"],
    ));
    assert_eq!(on_server.lines().count(), 2);
}

/// A repository with a topic branch of two agent commits, each with a transcript.
fn topic_repo() -> TestRepo {
    let repo = TestRepo::new();
    let (home, dir) = (repo.home().to_owned(), repo.path());
    repo.write("base.txt", "base\n");
    repo.commit("base");
    repo.git(&["checkout", "--quiet", "-b", "topic"]);
    repo.write("one.txt", "one\n");
    repo.commit("one\n\nAgent: claude-code/2.0\n");
    run(
        &home,
        &dir,
        factory_bin(),
        &["transcript", "attach", &own("claude.jsonl")],
    );
    repo.write("two.txt", "two\n");
    repo.commit("two\n\nAgent: codex/0.39\n");
    run(
        &home,
        &dir,
        factory_bin(),
        &["transcript", "attach", &own("codex.jsonl")],
    );
    repo.git(&["checkout", "--quiet", "main"]);
    repo.write("main.txt", "main\n");
    repo.commit("main moves on");
    repo
}

#[test]
fn remap_after_a_rebase_merge_matches_by_patch_id() {
    let repo = topic_repo();
    let (home, dir) = (repo.home().to_owned(), repo.path());
    // A server-side rebase-merge: the commits are re-created on main without their notes.
    repo.git(&["cherry-pick", "--quiet", "main..topic"]);
    assert!(
        repo.command(factory_bin())
            .args(["transcript", "show"])
            .output()
            .unwrap()
            .status
            .code()
            == Some(2)
    );
    let out = text(&run(
        &home,
        &dir,
        factory_bin(),
        &["notes", "remap", "HEAD~2..HEAD"],
    ));
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("rebased from"), "{out}");
    assert_eq!(sessions(&home, &dir, "HEAD~1"), ["s-claude"]);
    assert_eq!(sessions(&home, &dir, "HEAD"), ["s-codex"]);
    let again = text(&run(
        &home,
        &dir,
        factory_bin(),
        &["notes", "remap", "HEAD~2..HEAD"],
    ));
    assert_eq!(again, "nothing to remap\n");
}

#[test]
fn remap_after_a_squash_merge_unions_the_transcripts() {
    let repo = topic_repo();
    let (home, dir) = (repo.home().to_owned(), repo.path());
    repo.git(&["merge", "--quiet", "--squash", "topic"]);
    repo.git(&["commit", "--quiet", "-m", "Squashed topic"]);
    let out = text(&run(
        &home,
        &dir,
        factory_bin(),
        &["notes", "remap", "HEAD~1..HEAD"],
    ));
    assert!(out.contains("2 session(s) squashed from"), "{out}");
    assert_eq!(sessions(&home, &dir, "HEAD"), ["s-claude", "s-codex"]);
}

/// An agent fleet syncs its notes all at once: 32 clones, each with its own session on the same
/// commit, run `factory notes sync` concurrently against one bare server with factory's hook.
/// Lost races are retried; every session arrives, none twice.
#[test]
fn thirty_two_clones_sync_notes_at_once_and_nothing_is_lost() {
    let repo = TestRepo::new();
    let home = repo.home().to_owned();
    let bare = home.join("fleet.git");
    run(
        &home,
        &home,
        "git",
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            bare.to_str().unwrap(),
        ],
    );
    run(
        &home,
        &bare,
        factory_bin(),
        &["hooks", "install", "--server"],
    );
    let seed = home.join("seed");
    run(
        &home,
        &home,
        "git",
        &[
            "clone",
            "--quiet",
            bare.to_str().unwrap(),
            seed.to_str().unwrap(),
        ],
    );
    std::fs::write(seed.join("README.md"), "# fleet\n").unwrap();
    run(&home, &seed, "git", &["add", "README.md"]);
    run(&home, &seed, "git", &["commit", "--quiet", "-m", "Start"]);
    run(&home, &seed, "git", &["push", "--quiet", "origin", "main"]);
    const CLONES: usize = 32;
    let mut dirs = Vec::new();
    for i in 0..CLONES {
        let dir = home.join(format!("clone-{i}"));
        run(
            &home,
            &home,
            "git",
            &[
                "clone",
                "--quiet",
                bare.to_str().unwrap(),
                dir.to_str().unwrap(),
            ],
        );
        run(&home, &dir, factory_bin(), &["notes", "setup"]);
        let session = home.join(format!("session-{i}.md"));
        std::fs::write(
            &session,
            format!(
                "# aider chat started at 2026-01-05 10:{i:02}:00\n\n#### task {i}\n\nDone {i}.\n"
            ),
        )
        .unwrap();
        run(
            &home,
            &dir,
            factory_bin(),
            &["transcript", "attach", session.to_str().unwrap()],
        );
        dirs.push(dir);
    }
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|dir| {
                let home = home.clone();
                scope.spawn(move || {
                    let mut cmd = Command::new(factory_bin());
                    cmd.current_dir(dir).args(["notes", "sync"]);
                    hermetic(&mut cmd, &home);
                    let out = cmd.output().expect("runs");
                    (!out.status.success()).then(|| {
                        format!(
                            "{}: exit {:?}: {}",
                            dir.display(),
                            out.status.code(),
                            String::from_utf8_lossy(&out.stderr)
                        )
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let on_server = text(&run(
        &home,
        &bare,
        "git",
        &["notes", "--ref=factory/transcripts", "show", "main"],
    ));
    let mut lines: Vec<&str> = on_server.lines().collect();
    assert_eq!(lines.len(), CLONES, "every session arrived");
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), CLONES, "none twice");
}
