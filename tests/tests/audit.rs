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
    // A malformed line counts for nothing and is named; it neither passes nor blocks forever.
    let o = out(&repo, &["audit", &range]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("line 1 of the approvals note") && text.contains("counts for nothing"),
        "{text}"
    );
    assert!(text.contains("without a transcript"), "{text}");
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

/// The base repository plus an agent commit adding an endpoint at src/api.rs:2, with its
/// transcript; returns the repository and the range.
fn blocked_endpoint() -> (TestRepo, String) {
    let (repo, _, base) = repo();
    repo.write(
        "src/api.rs",
        "fn routes(r: Router) -> Router {\n    r.route(\"/orders\", post(create))\n}\n",
    );
    repo.commit("Add POST /orders & <more>\n\nAgent: claude-code/2.0\nRequested-By: alice\n");
    assert!(
        out(&repo, &["transcript", "attach", &transcript()])
            .status
            .success()
    );
    (repo, format!("{base}..HEAD"))
}

#[test]
fn sarif_places_each_finding_at_its_evidence() {
    let (repo, range) = blocked_endpoint();
    let o = out(&repo, &["audit", &range, "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(1));
    // It reads as SARIF 2.1.0 (types generated from the OASIS schema).
    let log: serde_sarif::sarif::Sarif = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
    assert_eq!(log.version.to_string().trim_matches('"'), "2.1.0");
    let v = json(&o);
    let result = &v["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "http-endpoint-rust");
    assert_eq!(result["level"], "error");
    let place = &result["locations"][0]["physicalLocation"];
    assert_eq!(place["artifactLocation"]["uri"], "src/api.rs");
    assert_eq!(place["region"]["startLine"], 2);
    assert!(
        result["message"]["text"]
            .as_str()
            .unwrap()
            .contains("needs 1 approval(s) by `maintainer`"),
        "{result}"
    );
    assert_eq!(
        v["runs"][0]["tool"]["driver"]["rules"][0]["id"],
        "http-endpoint-rust"
    );
}

#[test]
fn junit_and_markdown_for_ci() {
    let (repo, range) = blocked_endpoint();
    let o = out(&repo, &["audit", &range, "--format", "junit"]);
    assert_eq!(o.status.code(), Some(1));
    let xml = String::from_utf8_lossy(&o.stdout);
    assert!(xml.starts_with("<?xml version=\"1.0\""), "{xml}");
    assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
    assert!(
        xml.contains("Add POST /orders &amp; &lt;more&gt;"),
        "escaped: {xml}"
    );
    assert!(xml.contains("<failure message=\""), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 2, "{xml}");
    assert_eq!(xml.matches("</testcase>").count(), 2, "{xml}");

    let o = out(&repo, &["audit", &range, "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(1));
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(md.starts_with("## factory audit: blocked"), "{md}");
    assert!(md.contains("http-endpoint-rust at src/api.rs:2"), "{md}");
    assert!(md.contains("### What blocks"), "{md}");
}

#[test]
fn the_audit_cache_is_reused_and_a_corrupt_one_is_rebuilt() {
    let (repo, range) = blocked_endpoint();
    let first = json(&out(&repo, &["audit", &range, "--format", "json"]));
    let dir = repo.path().join(".git/factory/cache");
    let files: Vec<_> = walk(&dir);
    assert_eq!(
        files.len(),
        1,
        "one cache file per governance tree: {files:?}"
    );
    let cached = std::fs::read_to_string(&files[0]).unwrap();
    assert_eq!(cached.lines().count(), 1, "{cached}");
    // The second audit gives the same decision from the cache.
    let second = json(&out(&repo, &["audit", &range, "--format", "json"]));
    assert_eq!(first, second);
    // A line edited without its digest (here: the tier lowered) is not trusted: the file is
    // discarded, the commit judged again, and the cache rewritten.
    let forged = cached.replace("\"tier\":\"review\"", "\"tier\":\"auto\"");
    assert_ne!(forged, cached);
    std::fs::write(&files[0], &forged).unwrap();
    let third = out(&repo, &["audit", &range, "--format", "json"]);
    assert_eq!(third.status.code(), Some(1));
    assert_eq!(json(&third), first);
    assert_eq!(std::fs::read_to_string(&files[0]).unwrap(), cached);
    // Garbage too.
    std::fs::write(&files[0], "\u{0}\u{1}garbage\n").unwrap();
    assert_eq!(
        json(&out(&repo, &["audit", &range, "--format", "json"])),
        first
    );
    // --no-cache neither reads nor writes it.
    std::fs::remove_file(&files[0]).unwrap();
    assert_eq!(
        json(&out(
            &repo,
            &["audit", &range, "--format", "json", "--no-cache"]
        )),
        first
    );
    assert!(walk(&dir).is_empty());
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn human_commits_must_be_signed_when_the_policy_says_so() {
    let (repo, bob, _) = repo();
    let policy = std::fs::read_to_string(repo.path().join(".factory/policy.toml")).unwrap()
        + "\n[gate]\nrequire-signed-human-commits = true\n";
    repo.write(".factory/policy.toml", policy);
    let base = repo.commit("Require signed human commits");
    repo.write("docs/notes.md", "# Notes\n");
    repo.commit("Unsigned notes");
    let range = format!("{base}..HEAD");
    let o = out(&repo, &["audit", &range, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let d = json(&o);
    assert_eq!(d["reasons"][0]["kind"], "unsigned-human-commit");
    assert_eq!(d["reasons"][0]["signature"], "unsigned");
    // Signed by bob, a person of the policy: it passes (docs need no approval).
    repo.git(&["reset", "--quiet", "--hard", &base]);
    repo.git(&["config", "gpg.format", "ssh"]);
    repo.git(&["config", "user.signingkey", &bob.display().to_string()]);
    repo.write("docs/notes.md", "# Notes\n");
    repo.git(&["add", "--all"]);
    repo.git(&["commit", "--quiet", "-S", "-m", "Signed notes"]);
    let o = out(&repo, &["audit", &range, "--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn hostile_subjects_are_inert_in_every_output_format() {
    let (repo, _, base) = repo();
    let range = format!("{base}..HEAD");
    let hostile = "Fix <script>alert(1)</script> [click](https://evil.example) ![x](https://evil.example/x.png) \u{1b}[31mred\u{1b}]8;;https://evil.example\u{7} \u{202e}txt.exe | **bold**";
    repo.write("src/api.rs", "r.route(\"/a\", get(a))\n");
    repo.commit(hostile);
    let text = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    let md = text(&out(&repo, &["audit", &range, "--format", "markdown"]));
    for raw in [
        "<script>", "[click](", "![", "\u{1b}", "\u{202e}", "**bold**", " | **",
    ] {
        assert!(!md.contains(raw), "markdown holds {raw:?}: {md}");
    }
    assert!(md.contains("alert"), "the subject is still shown: {md}");
    let human = text(&out(&repo, &["audit", &range]));
    assert!(
        !human.contains('\u{1b}') && !human.contains('\u{202e}'),
        "{human:?}"
    );
    assert!(
        human.contains("\\u{1b}"),
        "the escape is shown, not obeyed: {human}"
    );
    let junit = text(&out(&repo, &["audit", &range, "--format", "junit"]));
    assert!(
        !junit.contains("<script>") && !junit.contains('\u{1b}'),
        "{junit}"
    );
    let log = text(&out(&repo, &["log"]));
    assert!(!log.contains('\u{1b}'), "{log:?}");
    let classify = text(&out(&repo, &["classify"]));
    assert!(!classify.contains("\u{1b}]8"), "{classify:?}");
    let report = text(&out(&repo, &["report", &range, "--format", "markdown"]));
    assert!(
        !report.contains("<script>") && !report.contains('\u{1b}'),
        "{report}"
    );
    let html = text(&out(&repo, &["report", &range, "--format", "html"]));
    assert!(
        !html.contains("<script>alert") && !html.contains('\u{1b}'),
        "html"
    );
}

#[test]
fn a_branch_behind_its_target_answers_only_for_what_it_brings() {
    let (repo, _, base) = repo();
    repo.git(&["checkout", "--quiet", "-b", "feature"]);
    repo.write("docs/guide.md", "# Guide\n");
    repo.commit("Write the guide\n\nAgent: claude-code/2.0\nRequested-By: alice\n");
    assert!(
        out(&repo, &["transcript", "attach", &transcript()])
            .status
            .success()
    );
    // Meanwhile the target moved on with an auth change the branch does not have.
    repo.git(&["checkout", "--quiet", "main"]);
    repo.write("src/auth/session.rs", "pub fn expire() -> u64 { 900 }\n");
    repo.commit("Expire sessions");
    repo.git(&["checkout", "--quiet", "feature"]);
    let o = out(&repo, &["audit", "main..feature", "--format", "json"]);
    let doc = json(&o);
    assert_eq!(doc["tier"], "auto", "{doc}");
    assert_eq!(o.status.code(), Some(0), "{doc}");
    // Without a range: the merge-base is the base, the default branch's tip governs.
    let o = out(&repo, &["audit", "--format", "json"]);
    let doc = json(&o);
    assert_eq!(doc["base"], base.as_str(), "{doc}");
    assert_eq!(o.status.code(), Some(0), "{doc}");
}

/// A dry run judges with the proposed policy's own keys when it names people: a commit signed
/// by a key the base does not know is good under the proposal (say, an imported policy), and the
/// output says which keys were used.
#[test]
fn a_dry_run_uses_the_proposed_policys_keys() {
    let (repo, _, base) = repo();
    let key = repo.home().join("erin");
    let k = repo
        .command("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "erin", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(k.status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    repo.write("docs/a.md", "# a\n");
    repo.git(&["add", "docs/a.md"]);
    let o = repo
        .command("git")
        .args(["-c", "gpg.format=ssh", "-c"])
        .arg(format!("user.signingkey={}", key.display()))
        .args(["commit", "--quiet", "-S", "-m", "Docs by erin"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let proposal = repo.home().join("proposal");
    std::fs::create_dir_all(&proposal).unwrap();
    let file = proposal.join("policy.toml");
    std::fs::write(
        &file,
        factory_policy::DEFAULT_POLICY.text.to_owned()
            + &format!(
                "\n[people.erin]\nroles = [\"maintainer\", \"validation-architect\", \"domain-expert\"]\nkeys = [\"{}\"]\n",
                public.trim()
            ),
    )
    .unwrap();
    let range = format!("{base}..HEAD");
    let o = out(
        &repo,
        &[
            "audit",
            &range,
            "--policy",
            &file.display().to_string(),
            "--format",
            "json",
        ],
    );
    let v = json(&o);
    assert_eq!(
        v["current"]["commits"][0]["signature"], "unknown-key",
        "{v}"
    );
    assert_eq!(
        v["proposed"]["decision"]["commits"][0]["signature"], "good",
        "{v}"
    );
    assert!(
        v["proposed"]["policy"]
            .as_str()
            .is_some_and(|p| p.ends_with("(with its own keys)")),
        "{v}"
    );
    // The report's dry run reads the same keys.
    let o = out(
        &repo,
        &[
            "report",
            &range,
            "--format",
            "json",
            "--policy",
            &file.display().to_string(),
        ],
    );
    let r = json(&o);
    assert!(
        r["dry_run"]["policy"]
            .as_str()
            .is_some_and(|p| p.ends_with("(with its own keys)")),
        "{}",
        r["dry_run"]
    );
}

#[test]
fn the_cache_of_the_embedded_default_is_keyed_by_that_policy() {
    // A repository without `.factory/` is judged by the embedded default: its cache must not
    // outlive that policy (a build with another default would answer from it).
    let repo = TestRepo::new();
    repo.write("README.md", "x\n");
    repo.commit("Base");
    repo.write("src/lib.rs", "pub fn f() {}\n");
    repo.commit("Code");
    let o = out(&repo, &["audit", "HEAD~1..HEAD", "--format", "json"]);
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let files = walk(&repo.path().join(".git/factory/cache"));
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    let digest = name
        .strip_prefix("default-")
        .and_then(|n| n.strip_suffix(".jsonl"))
        .unwrap_or_else(|| panic!("not keyed by the default policy: {name}"));
    assert!(
        digest.len() == 16 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );
}
