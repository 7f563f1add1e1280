//! End-to-end: the built `factory` binary against real repositories.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use factory_tests::{TestRepo, stderr, stdout};

/// The binary cargo built for these tests.
fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

fn factory(repo: &TestRepo, args: &[&str]) -> Output {
    repo.command(factory_bin())
        .args(args)
        .output()
        .expect("factory runs")
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "factory failed: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("valid JSON")
}

fn normalise(repo: &TestRepo, text: &str) -> String {
    text.replace(&repo.path().display().to_string(), "[REPO]")
}

#[test]
fn demo_classifies_human_and_agent_commits() {
    let repo = TestRepo::new();
    let out = factory(&repo, &["demo", "--no-gate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
    // The book's quickstart shows this output too: tests/tests/book_sessions.rs runs it.
    assert!(stderr(&out).starts_with("Demo repository with 5 commits (2 by people, 3 by agents)"));
}

#[test]
fn demo_json_follows_the_schema() {
    let repo = TestRepo::new();
    let doc = json(&factory(&repo, &["demo", "--format", "json"]));
    assert_eq!(doc["schema"], "factory.classify/v1");
    assert_eq!(doc["tier"], "hard-stop");
    assert_eq!(doc["policy"]["source"], "embedded");
    let commits = doc["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 5);
    for c in commits {
        assert_eq!(c["commit"].as_str().unwrap().len(), 40);
        assert!(["auto", "review", "hard-stop"].contains(&c["tier"].as_str().unwrap()));
        assert!(["agent", "human"].contains(&c["origin"].as_str().unwrap()));
        for e in c["evidence"].as_array().unwrap() {
            for key in ["rule", "tier", "path", "line", "text"] {
                assert!(e.get(key).is_some(), "evidence without `{key}`: {e}");
            }
        }
    }
    let auth = commits
        .iter()
        .find(|c| c["summary"] == "Verify session tokens")
        .unwrap();
    assert_eq!(auth["origin"], "agent");
    assert_eq!(auth["agent"], "claude-code/2.0.14");
    let e = auth["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["rule"] == "auth-code")
        .unwrap();
    assert_eq!(
        (e["path"].as_str(), e["line"].as_u64()),
        (Some("src/auth/session.rs"), Some(2))
    );
}

#[test]
fn demo_walks_through_a_gated_push_on_a_real_server() {
    let repo = TestRepo::new();
    let out = factory(&repo, &["demo", "--dir", "shop"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let blocked = text.find("blocked (gated, tier review").expect(&text);
    let reason = text.find("needs 1 approval(s) by `maintainer` (0 counted); can be given by: bob");
    let landed = text.find("pass (gated, tier review").expect(&text);
    assert!(reason.is_some() && blocked < landed, "{text}");
    // The server is real, and the approved change is on its main with its notes.
    let server = repo.path().join("shop-gate/server.git");
    let main = repo.git(&[
        "--git-dir",
        &server.display().to_string(),
        "rev-parse",
        "main",
    ]);
    let tip = repo.git(&["-C", "shop", "rev-parse", "HEAD"]);
    assert_eq!(main.trim(), tip.trim());
    for notes in [
        "refs/notes/factory/approvals",
        "refs/notes/factory/transcripts",
    ] {
        repo.git(&[
            "--git-dir",
            &server.display().to_string(),
            "rev-parse",
            notes,
        ]);
    }
}

#[test]
fn demo_keeps_its_repository_in_dir() {
    let repo = TestRepo::new();
    let out = factory(&repo, &["demo", "--no-gate", "--dir", "shop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shop = repo.path().join("shop");
    assert!(shop.join(".git").is_dir());
    let again = factory(&repo, &["demo", "--no-gate", "--dir", "shop"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("exists and is not empty"));
    // The kept repository classifies the same through the ordinary command.
    let out = repo
        .command(factory_bin())
        .current_dir(&shop)
        .args(["classify", "HEAD~1", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(json(&out)["tier"], "hard-stop");
}

#[test]
fn classify_sees_every_change_kind_and_the_evil_merge() {
    let repo = TestRepo::from_script("change_kinds");
    let doc = json(&factory(&repo, &["classify", "--all", "--format", "json"]));
    let commits = doc["commits"].as_array().unwrap();
    let log = repo.git(&["rev-list", "--all"]);
    assert_eq!(commits.len(), log.lines().count());
    let by = |s: &str| {
        commits
            .iter()
            .find(|c| c["summary"] == s)
            .unwrap_or_else(|| panic!("{s}"))
    };
    let evil = by("evil merge");
    assert_eq!(evil["parents"].as_array().unwrap().len(), 2);
    assert_eq!(evil["tier"], "hard-stop");
    let rules: Vec<_> = evil["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"http-endpoint-rust") && rules.contains(&"auth-code"),
        "{rules:?}"
    );
    assert_eq!(by("clean merge")["tier"], "auto");
    assert_eq!(by("empty")["files_changed"], 0);
    assert_eq!(by("rename out of auth")["tier"], "hard-stop");
    let nonutf8 = by("non-utf8 path");
    assert_eq!(nonutf8["evidence"][0]["path"], "caf\u{fffd}.txt");
    assert_eq!(doc["tier"], "hard-stop");
}

#[test]
fn classify_a_range_and_a_single_commit() {
    let repo = TestRepo::from_script("change_kinds");
    let doc = json(&factory(
        &repo,
        &["classify", "HEAD~3..HEAD~1", "--format", "json"],
    ));
    let expected = repo.git(&["rev-list", "HEAD~3..HEAD~1"]);
    let mut got: Vec<&str> = doc["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["commit"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = expected.lines().collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(doc["range"], "HEAD~3..HEAD~1");
    let one = json(&factory(&repo, &["classify", "--format", "json"]));
    assert_eq!(one["commits"].as_array().unwrap().len(), 1);
    assert_eq!(one["commits"][0]["summary"], "evil merge");
}

#[test]
fn usage_errors_exit_2_with_a_clear_message() {
    let repo = TestRepo::from_script("change_kinds");
    let out = factory(&repo, &["classify", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("unknown_revision", stderr(&out));

    let outside = tempfile::tempdir().unwrap();
    let out = repo
        .command(factory_bin())
        .current_dir(outside.path())
        .arg("classify")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a git repository"),
        "{}",
        stderr(&out)
    );

    let empty = TestRepo::new();
    let out = factory(&empty, &["classify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no commits yet"), "{}", stderr(&out));

    let out = factory(&repo, &["classify", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_broken_policy_blocks_classification_with_diagnostics() {
    let repo = TestRepo::from_script("change_kinds");
    repo.write(".factory/policy.toml", "version = 1\ndefault-tier = \"auto\"\n[[tier]]\nname = \"auto\"\ndescription = \"\"\n[[rule]]\nid = \"x\"\ntier = \"nope\"\npaths = [\"a\"]\n");
    let out = factory(&repo, &["classify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown tier `nope`"),
        "{}",
        stderr(&out)
    );
    let out = factory(&repo, &["policy", "check"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("policy_check_error", normalise(&repo, &stderr(&out)));
}

#[test]
fn the_policy_comes_from_the_work_tree_then_head_then_the_default() {
    let repo = TestRepo::from_script("change_kinds");
    let show = |repo: &TestRepo| {
        stdout(&factory(repo, &["policy", "show"]))
            .lines()
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(show(&repo), "# effective policy: embedded default");
    let mine = "version = 1\ndefault-tier = \"low\"\n[[tier]]\nname = \"low\"\ndescription = \"\"\n[[tier]]\nname = \"high\"\ndescription = \"\"\n";
    repo.write(".factory/policy.toml", mine);
    assert_eq!(
        show(&repo),
        "# effective policy: .factory/policy.toml (working tree)"
    );
    let doc = json(&factory(&repo, &["classify", "--format", "json"]));
    assert_eq!(doc["policy"]["source"], "worktree");
    assert_eq!(doc["tiers"], serde_json::json!(["low", "high"]));
    repo.commit("Add policy");
    std::fs::remove_file(repo.path().join(".factory/policy.toml")).unwrap();
    assert!(show(&repo).starts_with("# effective policy: .factory/policy.toml at HEAD ("));
    let doc = json(&factory(&repo, &["classify", "--format", "json"]));
    assert_eq!(doc["policy"]["source"], "head");
    assert_eq!(
        doc["commits"][0]["evidence"][0]["rule"], "factory.governance",
        "deleting the policy is governance"
    );
    assert_eq!(doc["tier"], "high");
    // --policy overrides and says so.
    repo.write("other.toml", mine.replace("low", "lo"));
    let doc = json(&factory(
        &repo,
        &["classify", "--policy", "other.toml", "--format", "json"],
    ));
    assert_eq!(doc["policy"]["source"], "file");
    let human = stdout(&factory(&repo, &["classify", "--policy", "other.toml"]));
    assert!(human.contains("other.toml (--policy)"), "{human}");
}

#[test]
fn policy_check_and_show_for_shipped_policies() {
    let repo = TestRepo::new();
    let out = factory(&repo, &["policy", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("policy_check_default", stdout(&out));
    for name in ["default", "regulated", "open-source"] {
        let out = factory(&repo, &["policy", "show", "--template", name]);
        assert!(out.status.success());
        repo.write(&format!("{name}.toml"), &out.stdout);
        let check = factory(&repo, &["policy", "check", &format!("{name}.toml")]);
        assert!(check.status.success(), "{name}: {}", stderr(&check));
        let doc = json(&factory(
            &repo,
            &["policy", "show", "--template", name, "--format", "json"],
        ));
        assert_eq!(doc["rules"][0]["id"], "factory.governance");
    }
    let out = factory(&repo, &["policy", "show", "--template", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    let repo = TestRepo::from_script("many_commits");
    let mut child = repo
        .command(factory_bin())
        .args(["classify", "--all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("change 3000"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        stderr(&out)
    );
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn colours_only_when_asked_or_on_a_terminal() {
    let repo = TestRepo::from_script("change_kinds");
    let plain = factory(&repo, &["classify"]);
    assert!(!plain.stdout.contains(&0x1b), "no escapes into a pipe");
    let coloured = factory(&repo, &["--color", "always", "classify"]);
    assert!(
        coloured.stdout.contains(&0x1b),
        "--color always colours: {}",
        stdout(&coloured)
    );
}

#[test]
fn help_lists_the_commands() {
    let out = Command::new(factory_bin())
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!("help", stdout(&out));
}

#[test]
fn the_books_cli_reference_is_generated_from_the_code() {
    let path = factory_tests::workspace_root().join("book/src/cli-reference.md");
    let generated = factory_cli::cli_reference_markdown();
    if std::env::var_os("FACTORY_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == generated,
        "book/src/cli-reference.md is out of date: run FACTORY_BLESS=1 cargo test -p factory-cli --test cli"
    );
}

#[test]
fn completions_and_man_pages_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    let bash = std::process::Command::new(env!("CARGO_BIN_EXE_factory"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(bash.status.success());
    let script = String::from_utf8_lossy(&bash.stdout);
    assert!(
        script.contains("_factory()") && script.contains("pre-receive"),
        "{script}"
    );
    let man = std::process::Command::new(env!("CARGO_BIN_EXE_factory"))
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        man.status.success(),
        "{}",
        String::from_utf8_lossy(&man.stderr)
    );
    let page = std::fs::read_to_string(dir.path().join("factory-hooks-install.1")).unwrap();
    assert!(
        page.contains(".TH factory-hooks-install 1") && page.contains("\\-\\-server"),
        "{page}"
    );
    assert!(dir.path().join("factory.1").exists());
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_factory"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn classify_explain_says_why_each_rule_fired_or_not() {
    let repo = TestRepo::new();
    repo.write("src/lib.rs", "fn main() {}\n");
    repo.commit("Base");
    repo.write(
        "src/lib.rs",
        "/// Argon2 Memory-Hard Password Hashing Function.\nfn main() {}\n",
    );
    repo.write("tests/data/crypto-refresh/key.pem", "not a key\n");
    repo.commit("Document the KDF and add a test vector");
    let out = factory(&repo, &["classify", "--explain", "HEAD"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "skipped   auth-code (hard-stop): line 1 matched only in a comment or string"
        ),
        "{text}"
    );
    assert!(
        text.contains("excluded  crypto (hard-stop) by `!tests/`"),
        "{text}"
    );
    assert!(text.contains("fired     tests (auto)"), "{text}");
    let json = json(&factory(
        &repo,
        &["classify", "--explain", "HEAD", "--format", "json"],
    ));
    assert_ne!(
        json[0]["tier"], "hard-stop",
        "prose and a test vector are not a hard stop: {json}"
    );
    let rules = json[0]["files"][0]["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["rule"] == "auth-code" && r["outcome"] == "outside-parts"),
        "{json}"
    );
}
