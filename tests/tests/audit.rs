//! End-to-end: `factory audit` decides under the base's policy, with transcripts and signed
//! approvals.

use std::path::PathBuf;
use std::process::Output;

use factory_tests::{TestRepo, workspace_root};

fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

fn out(repo: &TestRepo, args: &[&str]) -> Output {
    repo.command(factory_bin()).args(args).output().unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)))
}

fn transcript() -> String {
    workspace_root()
        .join("crates/factory-shiftlog/tests/fixtures/claude.jsonl")
        .display()
        .to_string()
}

/// A repository whose base names bob as maintainer; returns it, bob's key and the base id.
fn repo() -> (TestRepo, PathBuf, String) {
    let repo = TestRepo::new();
    let key = repo.home().join("bob");
    let k = repo
        .command("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "bob", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(k.status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let policy = factory_policy::DEFAULT_POLICY.text.to_owned()
        + &format!(
            "\n[people.bob]\nroles = [\"maintainer\", \"validation-architect\", \"domain-expert\"]\nkeys = [\"{}\"]\n",
            public.trim()
        );
    repo.write(".factory/policy.toml", policy);
    repo.write("README.md", "# shop\n");
    let base = repo.commit("Base");
    (repo, key, base)
}

#[test]
fn docs_pass_endpoints_need_an_approval_and_get_it() {
    let (repo, bob, base) = repo();
    let range = format!("{base}..HEAD");
    repo.write("docs/guide.md", "# Guide\n");
    repo.commit("Write the guide\n\nAgent: claude-code/2.0\nRequested-By: alice\n");
    assert!(
        out(&repo, &["transcript", "attach", &transcript()])
            .status
            .success()
    );
    let o = out(&repo, &["audit", &range, "--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(json(&o)["decision"], "pass");

    repo.write(
        "src/api.rs",
        "fn routes(r: Router) -> Router {\n    r.route(\"/orders\", post(create))\n}\n",
    );
    repo.commit("Add POST /orders\n\nAgent: claude-code/2.0\nRequested-By: alice\n");
    assert!(
        out(&repo, &["transcript", "attach", &transcript()])
            .status
            .success()
    );
    let o = out(&repo, &["audit", &range, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let d = json(&o);
    assert_eq!(d["decision"], "blocked");
    assert_eq!(d["reasons"][0]["kind"], "unmet");
    assert_eq!(d["reasons"][0]["could"], serde_json::json!(["bob"]));
    let human = String::from_utf8_lossy(&out(&repo, &["audit", &range]).stdout).into_owned();
    assert!(
        human.contains("blocked:") && human.contains("can be given by: bob"),
        "{human}"
    );

    let a = repo
        .command(factory_bin())
        .args(["approve", "--base", &base, "--role", "maintainer", "--key"])
        .arg(&bob)
        .output()
        .unwrap();
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let o = out(&repo, &["audit", &range, "--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(json(&o)["evaluation"]["statements"][0]["counts"], true);
}

#[test]
fn agent_commits_without_transcripts_and_malformed_notes_block() {
    let (repo, _, base) = repo();
    let range = format!("{base}..HEAD");
    repo.write("docs/guide.md", "# Guide\n");
    repo.commit("Write the guide\n\nAgent: claude-code/2.0\n");
    let o = out(&repo, &["audit", &range, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["reasons"][0]["kind"], "missing-transcript");

    repo.git(&[
        "notes",
        "--ref=factory/approvals",
        "add",
        "-m",
        "{not a statement",
        "HEAD",
    ]);
    let o = out(&repo, &["audit", &range]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cannot decide, so it blocks"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_policy_comes_from_the_base_not_the_range() {
    let (repo, _, base) = repo();
    // The range rewrites the policy to let everything through: the base's policy still judges,
    // and the change itself is governance (hard-stop).
    repo.write(
        ".factory/policy.toml",
        "version = 1\ndefault-tier = \"auto\"\n[[tier]]\nname = \"auto\"\ndescription = \"\"\n",
    );
    repo.write("src/auth/session.rs", "fn check() {}\n");
    repo.commit("Loosen the policy");
    let o = out(
        &repo,
        &["audit", &format!("{base}..HEAD"), "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(1));
    let d = json(&o);
    assert_eq!(d["tier"], "hard-stop");
}
