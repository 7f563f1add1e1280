//! End-to-end: signed approval statements with keys made at test time.

use std::path::PathBuf;
use std::process::Output;

use factory_tests::TestRepo;

fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

fn ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A repository whose base policy names bob (maintainer) and carol (domain-expert), and an
/// agent commit on top of it.
fn repo() -> (TestRepo, PathBuf, PathBuf) {
    let repo = TestRepo::new();
    let (bob, bob_pub) = repo.ssh_key("bob");
    let (carol, carol_pub) = repo.ssh_key("carol");
    repo.write(
        ".factory/policy.toml",
        format!(
            "version = 1\ndefault-tier = \"review\"\n[[tier]]\nname = \"auto\"\ndescription = \"\"\n[[tier]]\nname = \"review\"\ndescription = \"\"\nrequires = [{{ role = \"maintainer\" }}]\n[people.bob]\nroles = [\"maintainer\"]\nkeys = [\"{bob_pub}\"]\n[people.carol]\nroles = [\"domain-expert\"]\nkeys = [\"{carol_pub}\"]\n"
        ),
    );
    repo.commit("Base with policy");
    repo.write("src/api.rs", "route\n");
    repo.commit("Add a route\n\nAgent: claude-code/2.0\nRequested-By: carol\n");
    (repo, bob, carol)
}

fn approvals(repo: &TestRepo, rev: &str) -> serde_json::Value {
    serde_json::from_str(&ok(
        repo.command(factory_bin())
            .args(["approvals", rev, "--format", "json"])
            .output()
            .unwrap(),
        "approvals",
    ))
    .unwrap()
}

#[test]
fn approve_in_process_with_an_ssh_key_and_list_it() {
    let (repo, bob, _) = repo();
    let out = ok(
        repo.command(factory_bin())
            .args([
                "approve",
                "--role",
                "maintainer",
                "--comment",
                "looks right",
                "--key",
            ])
            .arg(&bob)
            .output()
            .unwrap(),
        "approve",
    );
    assert!(
        out.starts_with("approved ") && out.contains(" as maintainer (bob)"),
        "{out}"
    );
    let list = approvals(&repo, "HEAD");
    assert_eq!(list.as_array().unwrap().len(), 1);
    let s = &list[0];
    assert_eq!(
        (
            s["kind"].as_str(),
            s["approver"].as_str(),
            s["signature"].as_str()
        ),
        (Some("approve"), Some("bob"), Some("good"))
    );
    assert_eq!(s["problem"], serde_json::Value::Null);
    assert_eq!(
        s["base"].as_str().unwrap(),
        repo.git(&["rev-parse", "HEAD~1"]).trim()
    );
    assert_eq!(
        s["policy"].as_str().unwrap(),
        repo.git(&["rev-parse", "HEAD~1:.factory/policy.toml"])
            .trim()
    );
    assert_eq!(s["comment"], "looks right");
    // Readable with git alone.
    let note = repo.git(&["notes", "--ref=factory/approvals", "show", "HEAD"]);
    assert!(note.contains("\"kind\":\"approve\"") && note.contains("BEGIN SSH SIGNATURE"));
}

#[test]
fn approve_with_the_git_ssh_signing_setup() {
    let (repo, bob, _) = repo();
    repo.git(&["config", "gpg.format", "ssh"]);
    repo.git(&["config", "user.signingkey", bob.to_str().unwrap()]);
    ok(
        repo.command(factory_bin())
            .args(["approve", "--role", "maintainer", "--reject"])
            .output()
            .unwrap(),
        "approve --reject",
    );
    let list = approvals(&repo, "HEAD");
    assert_eq!(
        (list[0]["kind"].as_str(), list[0]["signature"].as_str()),
        (Some("reject"), Some("good"))
    );
}

#[test]
fn refusals_when_approving() {
    let (repo, bob, carol) = repo();
    // A role the signer does not hold in the base policy.
    let out = repo
        .command(factory_bin())
        .args(["approve", "--role", "domain-expert", "--key"])
        .arg(&bob)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("`bob` does not hold the role `domain-expert`")
    );
    // A key that is no person's.
    let (stranger, _) = repo.ssh_key("stranger");
    let out = repo
        .command(factory_bin())
        .args(["approve", "--role", "maintainer", "--key"])
        .arg(&stranger)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is no person's key in the policy of"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = carol;
}

#[test]
fn copied_or_edited_statements_are_invalid() {
    let (repo, bob, _) = repo();
    ok(
        repo.command(factory_bin())
            .args(["approve", "--role", "maintainer", "--key"])
            .arg(&bob)
            .output()
            .unwrap(),
        "approve",
    );
    let line = repo.git(&["notes", "--ref=factory/approvals", "show", "HEAD"]);
    // Replay: the same line on another commit.
    repo.write("src/other.rs", "x\n");
    repo.commit("Another change");
    repo.git(&[
        "notes",
        "--ref=factory/approvals",
        "add",
        "-f",
        "-m",
        line.trim(),
        "HEAD",
    ]);
    let list = approvals(&repo, "HEAD");
    assert!(
        list[0]["problem"].as_str().unwrap().contains("replayed"),
        "{list}"
    );
    // An edited line: the signature no longer covers it.
    let edited = line.replace("\"role\":\"maintainer\"", "\"role\":\"domain-expert\"");
    repo.git(&[
        "notes",
        "--ref=factory/approvals",
        "add",
        "-f",
        "-m",
        edited.trim(),
        "HEAD~1",
    ]);
    let list = approvals(&repo, "HEAD~1");
    assert_eq!(list[0]["signature"], "bad", "{list}");
}

#[test]
fn approve_with_gpg_through_git_and_with_an_openpgp_key_file() {
    let repo = TestRepo::new();
    let (home, fpr) = repo.gpg_key("erin", "Erin <erin@example.com>", "0", &[]);
    let export = |args: &[&str]| {
        ok(
            repo.command("gpg")
                .env("GNUPGHOME", &home)
                .arg("--batch")
                .args(args)
                .output()
                .unwrap(),
            "gpg export",
        )
    };
    repo.write(
        ".factory/keys/erin.asc",
        export(&["--armor", "--export", &fpr]),
    );
    repo.write(
        ".factory/policy.toml",
        format!("version = 1\ndefault-tier = \"review\"\n[[tier]]\nname = \"review\"\ndescription = \"\"\nrequires = [{{ role = \"maintainer\" }}]\n[people.erin]\nroles = [\"maintainer\"]\nkeys = [\"openpgp:{fpr}\"]\n"),
    );
    repo.commit("Base with policy");
    repo.write("src/lib.rs", "x\n");
    repo.commit("Change");
    repo.git(&["config", "user.signingkey", &fpr]);
    let out = repo
        .command(factory_bin())
        .env("GNUPGHOME", &home)
        .args(["approve", "--role", "maintainer"])
        .output()
        .unwrap();
    assert!(ok(out, "approve with gpg").contains("(erin)"));
    let list = approvals(&repo, "HEAD");
    assert_eq!(
        (
            list[0]["signature"].as_str(),
            list[0]["sig"]["format"].as_str()
        ),
        (Some("good"), Some("openpgp")),
        "{list}"
    );

    // The same key, exported without a passphrase, signs in-process.
    std::fs::write(
        repo.home().join("erin.key"),
        export(&["--armor", "--export-secret-keys", &fpr]),
    )
    .unwrap();
    let out = repo
        .command(factory_bin())
        .args(["approve", "--role", "maintainer", "--reject", "--key"])
        .arg(repo.home().join("erin.key"))
        .output()
        .unwrap();
    ok(out, "approve --key (openpgp)");
    let list = approvals(&repo, "HEAD");
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|s| s["signature"] == "good"),
        "{list}"
    );
}
