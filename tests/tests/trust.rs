//! End-to-end: commits signed with real gpg and ssh-keygen keys made at test time, verified by
//! `factory verify` against the people and keys of the policy.

use std::path::Path;
use std::process::{Command, Output};

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

/// gpg with the repository's hermetic home and its own GNUPGHOME.
fn gpg(repo: &TestRepo, gnupg: &Path, args: &[&str]) -> String {
    let out = repo
        .command("gpg")
        .env("GNUPGHOME", gnupg)
        .arg("--batch")
        .args(args)
        .output()
        .expect("gpg runs");
    ok(out, &format!("gpg {args:?}"))
}

fn verify(repo: &TestRepo, args: &[&str]) -> serde_json::Value {
    let out = repo
        .command(factory_bin())
        .args(["verify", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    serde_json::from_str(&ok(out, "factory verify")).unwrap()
}

fn policy(person_key: &str) -> String {
    format!(
        "version = 1\ndefault-tier = \"auto\"\n[[tier]]\nname = \"auto\"\ndescription = \"\"\n[[tier]]\nname = \"review\"\ndescription = \"\"\nrequires = [{{ role = \"maintainer\" }}]\n[people.alice]\nroles = [\"maintainer\"]\nkeys = [\"{person_key}\"]\n"
    )
}

#[test]
fn openpgp_signed_commits_good_bad_unknown_and_unsigned() {
    let repo = TestRepo::new();
    let (alice_home, alice) = repo.gpg_key("alice", "Alice <alice@example.com>", "0", &[]);
    let (_, _) = (alice_home.clone(), alice.clone());
    let armored = gpg(&repo, &alice_home, &["--armor", "--export", &alice]);
    repo.write(".factory/keys/alice.asc", &armored);
    repo.write(".factory/policy.toml", policy(&format!("openpgp:{alice}")));
    repo.commit("Add policy");
    let sign = |repo: &TestRepo, home: &Path, key: &str, msg: &str| {
        repo.write("f.txt", msg);
        repo.git(&["add", "f.txt"]);
        let out = repo
            .command("git")
            .env("GNUPGHOME", home)
            .args([
                "-c",
                &format!("user.signingkey={key}"),
                "commit",
                "--quiet",
                "-S",
                "-m",
                msg,
            ])
            .output()
            .unwrap();
        ok(out, "git commit -S");
    };
    sign(&repo, &alice_home, &alice, "signed by alice");
    let v = verify(&repo, &[]);
    assert_eq!(v[0]["verdict"], "good", "{v}");
    assert_eq!(v[0]["person"], "alice");
    assert_eq!(v[0]["roles"], serde_json::json!(["maintainer"]));
    assert_eq!(v[0]["key"], alice.as_str());

    // The same commit with an edited message keeps a signature that no longer matches.
    let raw = repo.git(&["cat-file", "commit", "HEAD"]);
    let forged = raw.replace("signed by alice", "signed by alice, honest");
    let mut child = repo
        .command("git")
        .args(["hash-object", "-t", "commit", "-w", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(forged.as_bytes())
        .unwrap();
    let forged_id = ok(child.wait_with_output().unwrap(), "hash-object")
        .trim()
        .to_owned();
    let v = verify(&repo, &[&forged_id]);
    assert_eq!(v[0]["verdict"], "bad", "{v}");

    // A key the policy does not name.
    let (mallory_home, mallory) = repo.gpg_key("mallory", "Mallory <m@example.com>", "0", &[]);
    sign(&repo, &mallory_home, &mallory, "signed by mallory");
    let v = verify(&repo, &[]);
    assert_eq!(v[0]["verdict"], "unknown-key", "{v}");
    assert_eq!(v[0]["key"], mallory.as_str());

    repo.write("f.txt", "plain");
    repo.commit("unsigned");
    let v = verify(&repo, &["HEAD~3..HEAD"]);
    let verdicts: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["unsigned", "unknown-key", "good"]);

    // Git agrees.
    let git = repo
        .command("git")
        .env("GNUPGHOME", &alice_home)
        .args(["log", "--format=%G?", "-3"])
        .output()
        .unwrap();
    assert_eq!(ok(git, "git log"), "N\nE\nG\n");
}

#[test]
fn a_policy_key_without_a_certificate_is_a_diagnostic() {
    let repo = TestRepo::new();
    repo.write(
        ".factory/policy.toml",
        policy("openpgp:712587B639AF20C4199BD3628147534145AF0296"),
    );
    repo.commit("policy");
    let out = repo
        .command(factory_bin())
        .args(["verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no certificate under .factory/keys/ has the fingerprint"),
        "{err}"
    );
    assert!(
        err.contains("712587B639AF20C4199BD3628147534145AF0296"),
        "{err}"
    );
    assert!(
        err.contains("[.factory/policy.toml:12:9]"),
        "points at the key in the policy: {err}"
    );
}

#[test]
fn ssh_signed_commits() {
    let repo = TestRepo::new();
    let key = repo.home().join("bob_ed25519");
    ok(
        repo.command("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "bob@example.com",
                "-f",
            ])
            .arg(&key)
            .output()
            .unwrap(),
        "ssh-keygen",
    );
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    repo.write(".factory/policy.toml", policy(public.trim()));
    repo.commit("policy");
    repo.write("f.txt", "x");
    repo.git(&["add", "f.txt"]);
    let out = repo
        .command("git")
        .args(["-c", "gpg.format=ssh", "-c"])
        .arg(format!("user.signingkey={}", key.display()))
        .args(["commit", "--quiet", "-S", "-m", "signed by bob"])
        .output()
        .unwrap();
    ok(out, "git commit -S (ssh)");
    let v = verify(&repo, &[]);
    assert_eq!(v[0]["verdict"], "good", "{v}");
    assert_eq!(v[0]["kind"], "ssh");
    assert_eq!(v[0]["person"], "alice");

    // The same signature with an allowed_signers file instead of the policy.
    repo.write("allowed", format!("bob@example.com {}", public.trim()));
    let out = repo
        .command(factory_bin())
        .args([
            "verify",
            "--format",
            "json",
            "--policy",
            "none.toml",
            "--allowed-signers",
            "allowed",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing policy file is a usage error"
    );
    std::fs::create_dir_all(repo.path().join("p")).unwrap();
    repo.write(
        "p/policy.toml",
        "version = 1\ndefault-tier = \"a\"\n[[tier]]\nname = \"a\"\ndescription = \"\"\n",
    );
    let out = Command::new(factory_bin())
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .args([
            "verify",
            "--format",
            "json",
            "--policy",
            "p/policy.toml",
            "--allowed-signers",
            "allowed",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&ok(out, "verify with allowed_signers")).unwrap();
    assert_eq!(v[0]["verdict"], "good", "{v}");
    assert_eq!(v[0]["principal"], "bob@example.com");
}

/// A gpg wrapper that signs as if the clock said `$FAKETIME`.
fn faked_gpg(repo: &TestRepo) -> std::path::PathBuf {
    let path = repo.home().join("gpg-at");
    std::fs::write(
        &path,
        "#!/bin/sh\nexec gpg --faked-system-time \"$FAKETIME\" \"$@\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

#[test]
fn judged_at_signing_time_expiry_later_is_fine_revocation_is_not() {
    let repo = TestRepo::new();
    let home = repo.home().join("gnupg-old");
    std::fs::create_dir_all(&home).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    // A key made on 2025-01-01 that expired on 2026-01-01, before this test runs.
    gpg(
        &repo,
        &home,
        &[
            "--faked-system-time",
            "20250101T000000",
            "--passphrase",
            "",
            "--quick-gen-key",
            "Old <old@example.com>",
            "ed25519",
            "sign",
            "1y",
        ],
    );
    let listing = gpg(&repo, &home, &["--with-colons", "--list-keys"]);
    let fpr = listing
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .unwrap()
        .split(':')
        .nth(9)
        .unwrap()
        .to_owned();
    repo.write(
        ".factory/keys/old.asc",
        gpg(&repo, &home, &["--armor", "--export", &fpr]),
    );
    repo.write(".factory/policy.toml", policy(&format!("openpgp:{fpr}")));
    repo.commit("policy");
    let wrapper = faked_gpg(&repo);
    repo.write("f.txt", "signed while valid");
    repo.git(&["add", "f.txt"]);
    let out = repo
        .command("git")
        .env("GNUPGHOME", &home)
        .env("FAKETIME", "20250601T000000")
        .arg("-c")
        .arg(format!("gpg.program={}", wrapper.display()))
        .args([
            "-c",
            &format!("user.signingkey={fpr}"),
            "commit",
            "--quiet",
            "-S",
            "-m",
            "signed in June 2025",
        ])
        .output()
        .unwrap();
    ok(out, "git commit -S at a faked time");
    let v = verify(&repo, &[]);
    assert_eq!(
        v[0]["verdict"], "good",
        "the key expired after the signature: {v}"
    );

    // Revoke the key with the certificate gpg made with it (no reason given: a hard
    // revocation), publish the revoked certificate: the old signature counts for nothing.
    let rev =
        std::fs::read_to_string(home.join("openpgp-revocs.d").join(format!("{fpr}.rev"))).unwrap();
    let rev = rev.replace(
        ":-----BEGIN PGP PUBLIC KEY BLOCK-----",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----",
    );
    std::fs::write(repo.home().join("rev.asc"), rev).unwrap();
    gpg(
        &repo,
        &home,
        &["--import", repo.home().join("rev.asc").to_str().unwrap()],
    );
    repo.write(
        ".factory/keys/old.asc",
        gpg(&repo, &home, &["--armor", "--export", &fpr]),
    );
    let v = verify(&repo, &[]);
    assert_eq!(v[0]["verdict"], "revoked", "{v}");
}
