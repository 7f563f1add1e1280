//! End-to-end: validation stamps and holdback scenarios. Scenarios are sealed to the
//! validator's OpenPGP certificate (an agent's worktree holds only ciphertext), run in a
//! sandboxed checkout by `factory holdback run` with the validator's secret key, and signed as a
//! `holdback` stamp; a tier that requires 0.9 blocks at 2/3 and passes after the fix; a
//! tampered stamp and a stamp replayed onto another change count for nothing.

use std::path::PathBuf;
use std::process::Output;

use factory_tests::{TestRepo, fixtures_dir, stderr, stdout, success};

fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

struct World {
    repo: TestRepo,
    secret: PathBuf,
}

impl World {
    fn factory(&self, args: &[&str]) -> Output {
        self.repo
            .command(factory_bin())
            .args(args)
            .output()
            .unwrap()
    }
}

const SCENARIOS: &[(&str, &str)] = &[
    (
        "adds-up",
        "name = \"adds-up\"\ncommand = \"sh src/app.sh\"\nstdout-contains = [\"total: 42\"]\n",
    ),
    (
        "runs",
        "name = \"runs\"\ncommand = [\"sh\", \"src/app.sh\"]\nexpect-exit = 0\n",
    ),
    (
        "no-errors",
        "name = \"no-errors\"\ncommand = \"sh src/app.sh\"\nstdout-lacks = [\"error\"]\n",
    ),
];

fn world() -> World {
    let repo = TestRepo::new();
    let (gnupg, fpr) = repo.gpg_key("val", "Val Validator <val@example.com>", "0", &[]);
    let gpg = |args: &[&str]| {
        success(
            repo.command("gpg")
                .env("GNUPGHOME", &gnupg)
                .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
                .args(args)
                .output()
                .unwrap(),
            "gpg",
        )
    };
    gpg(&["--quick-add-key", &fpr, "cv25519", "encr", "0"]);
    repo.write(".factory/keys/val.asc", gpg(&["--armor", "--export", &fpr]));
    let secret = repo.home().join("val-secret.asc");
    std::fs::write(&secret, gpg(&["--armor", "--export-secret-keys", &fpr])).unwrap();
    let (_, bob) = repo.ssh_key("bob");
    let (_, alice) = repo.ssh_key("alice");
    let (_, ci) = repo.ssh_key("ci");
    let policy = factory_policy::DEFAULT_POLICY.text.replacen(
        "requires = [{ role = \"maintainer\", count = 1 }]",
        "requires = [{ stamp = \"holdback\", min = 0.9 }]",
        1,
    );
    assert!(policy.contains("stamp = \"holdback\""));
    repo.write(
        ".factory/policy.toml",
        format!(
            "{policy}\n[people.val]\nroles = [\"validator\"]\nkeys = [\"openpgp:{fpr}\"]\n\n[people.bob]\nroles = [\"maintainer\", \"validation-architect\", \"domain-expert\"]\nkeys = [\"{bob}\"]\n\n[people.alice]\nroles = [\"maintainer\"]\nkeys = [\"{alice}\"]\n\n[people.ci]\nroles = [\"validator\"]\nkeys = [\"{ci}\"]\n"
        ),
    );
    repo.write("src/app.sh", "echo \"total: 41\"\n");
    let w = World { repo, secret };
    for (name, text) in SCENARIOS {
        let file = w.repo.home().join(format!("{name}.toml"));
        std::fs::write(&file, text).unwrap();
        let o = w.factory(&["holdback", "add", &file.display().to_string()]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).contains(&format!(".factory/holdback/{name}.asc sealed to val")),
            "{}",
            stdout(&o)
        );
    }
    w.repo.commit("Base");
    w
}

fn run_holdback(w: &World, rev: &str) -> Output {
    w.factory(&[
        "holdback",
        "run",
        rev,
        "--base",
        "main",
        "--runs",
        "2",
        "--key",
        &w.secret.display().to_string(),
    ])
}

#[test]
fn a_holdback_stamp_blocks_below_the_threshold_and_passes_after_the_fix() {
    let w = world();
    // Only ciphertext in the tree.
    for (name, _) in SCENARIOS {
        let sealed =
            std::fs::read_to_string(w.repo.path().join(format!(".factory/holdback/{name}.asc")))
                .unwrap();
        assert!(
            sealed.starts_with("-----BEGIN PGP MESSAGE-----"),
            "{sealed}"
        );
        assert!(
            !sealed.contains("total: 42") && !sealed.contains("stdout"),
            "{sealed}"
        );
    }
    w.repo.git(&["checkout", "--quiet", "-b", "feature"]);
    w.repo
        .write("src/app.sh", "total=41\necho \"total: $total\"\n");
    w.repo.commit("Touch the app");
    let o = run_holdback(&w, "feature");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("scenario adds-up: 0/2 runs passed"), "{text}");
    assert!(text.contains("the output lacks \"total: 42\""), "{text}");
    assert!(
        text.contains("holdback: 4/6 runs of 3 scenario(s)"),
        "{text}"
    );
    assert!(
        text.contains("stamped ") && text.contains("holdback 0.6666"),
        "{text}"
    );
    let audit = w.factory(&["audit", "main..feature"]);
    assert_eq!(audit.status.code(), Some(1), "{}", stdout(&audit));
    let said = format!("{}{}", stdout(&audit), stderr(&audit));
    assert!(
        said.contains("needs a `holdback` stamp of at least 0.9 (the latest, by val"),
        "{said}"
    );

    // Tampered: the score raised in the note. The signature no longer holds.
    let tip = w.repo.git(&["rev-parse", "feature"]).trim().to_owned();
    let line = w.repo.git(&["notes", "--ref=factory/stamps", "show", &tip]);
    let forged = line.replace("\"score\":0.6666666666666666", "\"score\":1.0");
    assert_ne!(forged, line, "{line}");
    w.repo.git(&[
        "notes",
        "--ref=factory/stamps",
        "add",
        "-f",
        "-m",
        forged.trim(),
        &tip,
    ]);
    let audit = w.factory(&["audit", "main..feature"]);
    assert_eq!(audit.status.code(), Some(1));
    let said = stdout(&audit);
    assert!(
        said.contains("statement by val as validator: the signature does not verify"),
        "{said}"
    );

    // The fix: all scenarios pass, a new stamp for the new change, and the range lands.
    w.repo.write("src/app.sh", "echo \"total: 42\"\n");
    w.repo.commit("Fix the total");
    let o = run_holdback(&w, "feature");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("holdback: 6/6 runs"), "{}", stdout(&o));
    let audit = w.factory(&["audit", "main..feature"]);
    assert!(
        audit.status.success(),
        "{}{}",
        stdout(&audit),
        stderr(&audit)
    );
    assert!(
        stdout(&audit).contains("valid stamp: holdback 1"),
        "{}",
        stdout(&audit)
    );
    // Replayed onto another change: counts for nothing.
    let good = w
        .repo
        .git(&["notes", "--ref=factory/stamps", "show", "feature"]);
    w.repo.git(&["checkout", "--quiet", "-b", "other", "main"]);
    w.repo.write("src/other.sh", "echo other\n");
    w.repo.commit("Another change");
    w.repo.git(&[
        "notes",
        "--ref=factory/stamps",
        "add",
        "-m",
        good.trim(),
        "HEAD",
    ]);
    let audit = w.factory(&["audit", "main..other"]);
    assert_eq!(audit.status.code(), Some(1), "{}", stdout(&audit));
    assert!(
        stdout(&audit).contains("made for another change"),
        "{}",
        stdout(&audit)
    );
    // Landed with --no-ff, the report carries the stamp, by dimension and agent.
    let base = w.repo.git(&["rev-parse", "main"]).trim().to_owned();
    w.repo.git(&["checkout", "--quiet", "main"]);
    w.repo.git(&[
        "merge",
        "--quiet",
        "--no-ff",
        "-m",
        "Merge feature",
        "feature",
    ]);
    let report = w.factory(&["report", &format!("{base}..main"), "--format", "json"]);
    assert!(report.status.success(), "{}", stderr(&report));
    let json: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let stamps = json["stamps"].as_array().expect("stamps");
    assert!(
        stamps
            .iter()
            .any(|s| s["dimension"] == "holdback" && s["score"] == 1.0 && s["validator"] == "val"),
        "{stamps:?}"
    );
}

#[test]
fn a_sandboxed_agent_sees_only_ciphertext_of_the_scenarios() {
    let w = world();
    w.repo.write(
        ".factory/runners.toml",
        format!(
            "[runner.peek]\ncommand = [\"sh\", \"{}\"]\n",
            fixtures_dir().join("peeking-agent.sh").display()
        ),
    );
    w.repo.commit("Runner");
    let o = w.factory(&[
        "run",
        "--runner",
        "peek",
        "--format",
        "json",
        "--prompt",
        "Look around",
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let log = PathBuf::from(r[0]["log"].as_str().unwrap());
    let seen = std::fs::read_to_string(log.parent().unwrap().join("seen.txt")).unwrap();
    assert!(seen.contains("-----BEGIN PGP MESSAGE-----"), "{seen}");
    for needle in ["total: 42", "adds-up\"", "stdout-contains"] {
        assert!(!seen.contains(needle), "the agent read {needle}: {seen}");
    }
    let preamble = std::fs::read_to_string(log.parent().unwrap().join("preamble.md")).unwrap();
    assert!(
        !preamble.contains("adds-up") && !preamble.contains("holdback/"),
        "{preamble}"
    );
    assert!(!seen.contains("PRIVATE KEY"), "{seen}");
}

#[test]
fn stamps_are_checked_before_they_are_written() {
    let w = world();
    let evidence = w.repo.home().join("log.txt");
    std::fs::write(&evidence, "ok\n").unwrap();
    // Out of range, and by someone who is no validator.
    let o = w.factory(&[
        "stamp",
        "--dimension",
        "reliability",
        "--score",
        "1.5",
        "--evidence",
        &evidence.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--score must be between 0 and 1"),
        "{}",
        stderr(&o)
    );
    let bob = w.repo.home().join("bob");
    let o = w.factory(&[
        "stamp",
        "--dimension",
        "reliability",
        "--score",
        "0.9",
        "--evidence",
        &evidence.display().to_string(),
        "--key",
        &bob.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("does not hold the role `validator`"),
        "{}",
        stderr(&o)
    );
    let o = w.factory(&[
        "stamp",
        "--base",
        "HEAD~0",
        "--dimension",
        "reliability",
        "--score",
        "0.97",
        "--evidence",
        &evidence.display().to_string(),
        "--key",
        &w.secret.display().to_string(),
        "--force",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("reliability 0.97 as validator (val), evidence sha256:"),
        "{}",
        stdout(&o)
    );
    let note = w
        .repo
        .git(&["notes", "--ref=factory/stamps", "show", "HEAD"]);
    assert!(
        note.contains("\"kind\":\"stamp\"") && note.contains("\"dimension\":\"reliability\""),
        "{note}"
    );
    let listed = stdout(&w.factory(&["approvals"]));
    assert!(
        listed.contains("stamp val as validator")
            && listed.contains("(reliability 0.97, evidence sha256:"),
        "{listed}"
    );
}

/// A commit re-made with the same tree, parent and dates and one more trailer: the same change.
fn remake_with(w: &World, trailer: &str) {
    let tree = w.repo.git(&["rev-parse", "HEAD^{tree}"]).trim().to_owned();
    let parent = w.repo.git(&["rev-parse", "HEAD~1"]).trim().to_owned();
    let subject = w.repo.git(&["log", "-1", "--format=%s"]).trim().to_owned();
    let id = w
        .repo
        .git(&[
            "commit-tree",
            &tree,
            "-p",
            &parent,
            "-m",
            &format!("{subject}\n\n{trailer}"),
        ])
        .trim()
        .to_owned();
    w.repo.git(&["reset", "--quiet", "--hard", &id]);
}

fn stamp_at(w: &World, key: &std::path::Path, score: &str, time: &str) {
    let evidence = w.repo.home().join("log.txt");
    std::fs::write(&evidence, format!("{score}\n")).unwrap();
    let o = w
        .repo
        .command(factory_bin())
        .args([
            "stamp",
            "--base",
            "main",
            "--dimension",
            "holdback",
            "--score",
            score,
        ])
        .arg("--evidence")
        .arg(&evidence)
        .arg("--key")
        .arg(key)
        .env("GIT_COMMITTER_DATE", time)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn attack_a_claim_cannot_silence_a_later_lower_stamp_or_a_reject() {
    let w = world();
    w.repo.git(&["checkout", "--quiet", "-b", "feature"]);
    w.repo
        .write("src/app.sh", "total=41\necho \"total: $total\"\n");
    w.repo.commit("Touch the app");
    stamp_at(&w, &w.repo.home().join("ci"), "1.0", "2026-01-05T10:01:00Z");
    stamp_at(&w, &w.secret, "0.5", "2026-01-05T10:02:00Z");
    let audit = w.factory(&["audit", "main..feature"]);
    assert_eq!(audit.status.code(), Some(1), "{}", stdout(&audit));
    assert!(
        stdout(&audit).contains("the latest, by val"),
        "{}",
        stdout(&audit)
    );
    // The same change, now claiming val as a co-author: val's later stamp still decides.
    remake_with(&w, "Co-authored-by: Val Validator <val@example.com>");
    let audit = w.factory(&["audit", "main..feature"]);
    assert_eq!(
        audit.status.code(),
        Some(1),
        "a claim silenced the stamp: {}",
        stdout(&audit)
    );
    assert!(
        stdout(&audit).contains("the latest, by val"),
        "{}",
        stdout(&audit)
    );

    // A reject stands whatever the commit claims about its author.
    stamp_at(&w, &w.secret, "1.0", "2026-01-05T10:03:00Z");
    let bob = w.repo.home().join("bob").display().to_string();
    let o = w
        .repo
        .command(factory_bin())
        .args([
            "approve",
            "--reject",
            "--role",
            "maintainer",
            "--base",
            "main",
            "--key",
            &bob,
        ])
        .env("GIT_COMMITTER_DATE", "2026-01-05T10:04:00Z")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let audit = w.factory(&["audit", "main..feature"]);
    assert!(
        stdout(&audit).contains("bob rejected the change")
            || stderr(&audit).contains("bob rejected the change"),
        "{}",
        stdout(&audit)
    );
    remake_with(&w, "Requested-By: bob");
    let audit = w.factory(&["audit", "main..feature"]);
    assert_eq!(
        audit.status.code(),
        Some(1),
        "a claim silenced the reject: {}",
        stdout(&audit)
    );
}

#[test]
fn the_server_gate_lands_a_change_only_with_its_stamp() {
    let w = world();
    let server = w.repo.home().join("server.git");
    w.repo.git(&[
        "init",
        "--quiet",
        "--bare",
        "--initial-branch=main",
        &server.display().to_string(),
    ]);
    let o = w
        .repo
        .command(factory_bin())
        .arg("-C")
        .arg(&server)
        .args(["hooks", "install", "--server"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    w.repo
        .git(&["remote", "add", "origin", &server.display().to_string()]);
    let push = || {
        w.repo
            .command("git")
            .args([
                "push",
                "--no-verify",
                "origin",
                "main",
                "refs/notes/factory/*:refs/notes/factory/*",
            ])
            .output()
            .unwrap()
    };
    let o = push();
    assert!(o.status.success(), "bootstrap: {}", stderr(&o));
    w.repo.git(&["fetch", "--quiet", "origin"]);
    let server_main = || {
        w.repo.git(&[
            "--git-dir",
            &server.display().to_string(),
            "rev-parse",
            "main",
        ])
    };
    let before = server_main();
    // A review-tier change without its stamp is refused, and the server does not move.
    w.repo.write("src/app.sh", "echo \"total: 42\"\n");
    w.repo.commit("Fix the total");
    let o = push();
    assert!(
        !o.status.success(),
        "accepted without a stamp: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("holdback"), "{}", stderr(&o));
    assert_eq!(server_main(), before);
    // Stamped (all scenarios pass), pushed with the stamps note: it lands.
    let o = w.factory(&[
        "holdback",
        "run",
        "HEAD",
        "--base",
        "origin/main",
        "--key",
        &w.secret.display().to_string(),
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let o = push();
    assert!(o.status.success(), "refused with its stamp: {}", stderr(&o));
    assert_eq!(server_main(), w.repo.git(&["rev-parse", "HEAD"]));
}

#[test]
fn attack_code_under_test_cannot_make_factory_write_through_a_link() {
    let w = world();
    let target = w.repo.home().join("victim.txt");
    let scenario = w.repo.home().join("planter.toml");
    std::fs::write(
        &scenario,
        format!(
            "name = \"planter\"\ncommand = \"ln -sf {} $HOME/../stdout; echo planted\"\n",
            target.display()
        ),
    )
    .unwrap();
    let o = w.factory(&["holdback", "add", &scenario.display().to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    w.repo.commit("Add the planter");
    w.repo.write("src/app.sh", "echo \"total: 42\"\n");
    w.repo.commit("Change");
    let o = w.factory(&[
        "holdback",
        "run",
        "HEAD",
        "--base",
        "HEAD~1",
        "--runs",
        "3",
        "--key",
        &w.secret.display().to_string(),
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(!target.exists(), "factory wrote through the planted link");
}

#[test]
fn a_holdback_run_without_scenarios_is_an_error() {
    let repo = TestRepo::new();
    repo.write("README.md", "# shop\n");
    repo.commit("Base");
    repo.write("README.md", "# shop, again\n");
    repo.commit("Change");
    let key = repo.home().join("key.asc");
    std::fs::write(&key, "not read before the scenarios are found\n").unwrap();
    let o = repo
        .command(factory_bin())
        .args([
            "holdback",
            "run",
            "--base",
            "HEAD~1",
            "--key",
            &key.display().to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no holdback scenarios under .factory/holdback/"),
        "{}",
        stderr(&o)
    );
    assert!(
        repo.command("git")
            .args(["notes", "--ref=factory/stamps", "list"])
            .output()
            .unwrap()
            .stdout
            .is_empty()
    );
}
