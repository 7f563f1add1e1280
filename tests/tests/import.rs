//! End-to-end: `factory policy import` on the real policy files in ../shared/fixtures/policies.

use std::path::PathBuf;

use factory_tests::{TestRepo, stderr, stdout, success, workspace_root};

fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

fn shared(dir: &str, name: &str) -> PathBuf {
    workspace_root()
        .join("../shared/fixtures")
        .join(dir)
        .join(name)
}

/// Imports FILE into a fresh repository's .factory/policy.toml; returns the repository and
/// what was reported as not expressed.
fn imported(from: &str, file: &str) -> (TestRepo, String) {
    let repo = TestRepo::new();
    let o = repo
        .command(factory_bin())
        .args([
            "policy",
            "import",
            "--from",
            from,
            "-o",
            ".factory/policy.toml",
        ])
        .arg(shared("policies", file))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("wrote "), "{}", stdout(&o));
    success(
        repo.command(factory_bin())
            .args(["policy", "check"])
            .output()
            .unwrap(),
        "policy check of the imported policy",
    );
    repo.commit("Adopt the imported policy");
    (repo, stderr(&o))
}

/// The tier and rules factory gives a commit adding `path`.
fn classify(repo: &TestRepo, path: &str) -> (String, Vec<String>) {
    repo.write(path, "x\n");
    repo.commit(&format!("Touch {path}"));
    let out = success(
        repo.command(factory_bin())
            .args(["classify", "HEAD", "--format", "json"])
            .output()
            .unwrap(),
        "classify",
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let c = &v["commits"][0];
    (
        c["tier"].as_str().unwrap().to_owned(),
        c["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["rule"].as_str().unwrap().to_owned())
            .collect(),
    )
}

#[test]
fn codeowners_owners_become_roles_and_lines_rules() {
    let (repo, lost) = imported("codeowners", "hashicorp-vault.CODEOWNERS");
    assert!(
        lost.contains("line 38: `/website/data/` has no owners"),
        "{lost}"
    );
    let policy = std::fs::read_to_string(repo.path().join(".factory/policy.toml")).unwrap();
    assert!(
        policy.starts_with("# Imported from CODEOWNERS hashicorp-vault.CODEOWNERS"),
        "{policy}"
    );
    assert!(
        policy.contains("#   - line 38:"),
        "the header lists what was lost: {policy}"
    );
    let (tier, rules) = classify(&repo, "builtin/credential/aws/backend.go");
    assert_eq!(tier, "owners-vault-ecosystem");
    assert!(
        rules.iter().any(|r| r.starts_with("codeowners-line-")),
        "{rules:?}"
    );
    // The catch-all owner is the default tier.
    let (tier, _) = classify(&repo, "command/server.go");
    assert_eq!(tier, "owners-vault");

    let (repo, lost) = imported("codeowners", "getsentry-sentry.CODEOWNERS.EXCERPT");
    assert!(lost.contains("`enterprise-or-security`"), "{lost}");
    let (tier, _) = classify(&repo, "src/sentry/auth/helper.py");
    assert_eq!(tier, "owners-enterprise-or-security");
}

#[test]
fn policy_bot_rules_become_tiers_with_their_conditions() {
    let (repo, lost) = imported("policy-bot", "OffchainLabs-prysm.policy.yml");
    assert!(lost.contains("the condition `has_labels`"), "{lost}");
    assert!(lost.contains("only_changed_files"), "{lost}");
    let (tier, _) = classify(&repo, "beacon-chain/core/helpers/rewards.go");
    assert_eq!(tier, "touches-consensus-critical-code");
    let (tier, _) = classify(&repo, "beacon-chain/rpc/server_test.go");
    assert_eq!(tier, "only-test-files-are-changed");
    let policy = std::fs::read_to_string(repo.path().join(".factory/policy.toml")).unwrap();
    assert!(policy.contains("min-lines-changed = 1001"), "{policy}");

    let (repo, lost) = imported("policy-bot", "FuelLabs-fuel-core.policy.yml");
    assert!(lost.contains("policy.disapproval"), "{lost}");
    let (tier, rules) = classify(&repo, ".policy.yml");
    assert_eq!(
        tier, "the-em-team-approved-a-sensitive-file-change",
        "{rules:?}"
    );
    // Anchored at the root: the same name deeper down is an ordinary change.
    let (tier, _) = classify(&repo, "crates/x/.policy.yml");
    assert_eq!(tier, "default");
}

#[test]
fn sequoia_git_authorizations_become_people_whose_keys_verify_the_same() {
    for (policy, keyring, commits) in [
        (
            "sequoia-pgp-sequoia.openpgp-policy.toml",
            "sequoia-openpgp-policy-keyring.asc",
            vec!["sequoia_pgp-armored-as-MESSAGE_c4b6c236.commit"],
        ),
        (
            "chewing-libchewing.openpgp-policy.toml",
            "libchewing-openpgp-policy-keyring.asc",
            vec![
                "libchewing_github-web-flow-pgp_4249e4d0.commit",
                "libchewing_ssh_77d8fdeb.commit",
            ],
        ),
    ] {
        let (repo, _) = imported("sequoia-git", policy);
        let text = std::fs::read_to_string(repo.path().join(".factory/policy.toml")).unwrap();
        // The same certificates as the project's keyring, each with its person.
        let mut imported: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("keys = [\"openpgp:"))
            .map(|l| l.trim_end_matches("\"]").to_owned())
            .collect();
        let mut expected = factory_trust::Keyring::cert_fingerprints(
            &std::fs::read(shared("signed-commits", keyring)).unwrap(),
        )
        .unwrap();
        imported.sort();
        expected.sort();
        assert_eq!(imported, expected, "{policy}");
        assert!(text.contains("require-signed-human-commits = true"));
        // The real commits get the verdicts they get with the original keyring (see
        // crates/factory-trust/tests/real_commits.rs): none of them is signed by a key of
        // these policies, and the importer must not make one good.
        for commit in commits {
            let id = repo
                .git(&[
                    "hash-object",
                    "-t",
                    "commit",
                    "-w",
                    "--literally",
                    &shared("signed-commits", commit).display().to_string(),
                ])
                .trim()
                .to_owned();
            let out = success(
                repo.command(factory_bin())
                    .args(["verify", &id, "--format", "json"])
                    .output()
                    .unwrap(),
                "verify",
            );
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            let verdict = v[0]["verdict"]
                .as_str()
                .or(v["commits"][0]["verdict"].as_str());
            assert_eq!(verdict, Some("unknown-key"), "{commit}: {out}");
        }
    }
}

#[test]
fn import_refuses_to_overwrite_and_reports_bad_input() {
    let repo = TestRepo::new();
    repo.write(".factory/policy.toml", "keep me");
    let o = repo
        .command(factory_bin())
        .args([
            "policy",
            "import",
            "--from",
            "codeowners",
            "-o",
            ".factory/policy.toml",
        ])
        .arg(shared("policies", "hashicorp-vault.CODEOWNERS"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pass --force"), "{}", stderr(&o));
    repo.write("bad.yml", "approval_rules: [unclosed\n");
    let o = repo
        .command(factory_bin())
        .args(["policy", "import", "--from", "policy-bot", "bad.yml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.yml"), "{}", stderr(&o));
    repo.write(
        "bad.toml",
        "[authorization.x]\nsign_commit = true\nkeyring = \"not a key\"\n",
    );
    let o = repo
        .command(factory_bin())
        .args(["policy", "import", "--from", "sequoia-git", "bad.toml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("the keyring of `x` cannot be read"),
        "{}",
        stderr(&o)
    );
}
