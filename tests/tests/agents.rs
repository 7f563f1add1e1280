//! End-to-end: agents as principals. The policy names an agent and its key
//! (`[agents.NAME]`); under `require-verified-agents` the server's gate refuses a commit that
//! claims an agent without that agent's signature, and one signed by an agent key that does not
//! say it is that agent's. An agent key never approves. A run's commit is bound to its session
//! (`Agent-Transcript`), so a swapped transcript is refused.

use std::path::{Path, PathBuf};
use std::process::Output;

use factory_tests::{TestRepo, stderr, stdout, success};

fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

struct World {
    dev: TestRepo,
    server: PathBuf,
    bob: PathBuf,
    agent: PathBuf,
}

impl World {
    /// A server with the hook; a policy naming bob (maintainer, every role) and the agent
    /// `coder`; `extra` goes into `[agents]`.
    fn new(extra: &str) -> World {
        let dev = TestRepo::new();
        let server = dev.home().join("server.git");
        dev.git(&[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            &server.display().to_string(),
        ]);
        success(
            dev.command(factory_bin())
                .arg("-C")
                .arg(&server)
                .args(["hooks", "install", "--server"])
                .output()
                .unwrap(),
            "hooks install --server",
        );
        let (bob, bob_public) = dev.ssh_key("bob");
        let (agent, agent_public) = dev.ssh_key("coder");
        let extra = if extra.contains("require-transcript") {
            extra.to_owned()
        } else {
            format!("{extra}require-transcript = true\n")
        };
        let policy = factory_policy::DEFAULT_POLICY
            .text
            .replacen("require-transcript = true\n", "", 1)
            .replacen("[agents]\n", &format!("[agents]\n{extra}"), 1);
        dev.write(
            ".factory/policy.toml",
            format!(
                "{policy}\n[agents.coder]\nkeys = [\"{agent_public}\"]\n\n[people.bob]\nroles = [\"maintainer\", \"validation-architect\", \"domain-expert\"]\nkeys = [\"{bob_public}\"]\n"
            ),
        );
        dev.write("README.md", "# shop\n");
        dev.commit("Base");
        dev.git(&["remote", "add", "origin", &server.display().to_string()]);
        let w = World {
            dev,
            server,
            bob,
            agent,
        };
        let o = w.push();
        assert!(o.status.success(), "{}", stderr(&o));
        w
    }

    /// Commits `path` signed with `key` (None: unsigned), with `trailers` in the message.
    fn commit(&self, path: &str, key: Option<&Path>, trailers: &str) -> String {
        self.dev.write(path, format!("# {path}\n"));
        self.dev.git(&["add", "-A"]);
        let message = format!("Add {path}\n\n{trailers}");
        let mut args: Vec<String> = Vec::new();
        if let Some(k) = key {
            args.extend([
                "-c".into(),
                "gpg.format=ssh".into(),
                "-c".into(),
                format!("user.signingkey={}", k.display()),
                "commit".into(),
                "-S".into(),
            ]);
        } else {
            args.push("commit".into());
        }
        args.extend(["--quiet".into(), "-m".into(), message]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.dev.git(&refs);
        self.dev.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    fn push(&self) -> Output {
        self.dev
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
    }

    fn server_main(&self) -> String {
        self.dev.git(&[
            "--git-dir",
            &self.server.display().to_string(),
            "rev-parse",
            "main",
        ])
    }

    fn factory(&self, args: &[&str]) -> Output {
        self.dev.command(factory_bin()).args(args).output().unwrap()
    }
}

/// The digest of the (first) session attached to `rev`, as factory stored it.
fn stored_digest(w: &World, rev: &str) -> String {
    let o = w.factory(&["transcript", "show", rev, "--format", "json"]);
    let sessions: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    sessions[0]["digest"].as_str().unwrap().to_owned()
}

/// A one-prompt Claude Code session `id` saying `text`.
fn session_line(id: &str, text: &str) -> String {
    format!(
        "{{\"type\":\"user\",\"sessionId\":\"{id}\",\"cwd\":\"/w\",\"version\":\"1.0\",\"message\":{{\"role\":\"user\",\"content\":\"{text}\"}},\"uuid\":\"u1\",\"timestamp\":\"2026-01-05T10:00:01Z\"}}\n"
    )
}

#[test]
fn attack_a_person_labels_their_own_commit_as_an_agents() {
    let w = World::new("require-verified-agents = true\nrequire-transcript = false\n");
    let before = w.server_main();
    // Bob signs, and says the agent wrote it.
    w.commit("docs/a.md", Some(&w.bob), "Agent: coder/1.0\n");
    let o = w.push();
    assert!(!o.status.success(), "accepted: {}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("claims agent `coder/1.0` but is not signed by a key of `[agents.coder]`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.server_main(), before, "the remote moved");
}

#[test]
fn attack_an_agent_key_signs_a_commit_that_names_no_agent() {
    let w = World::new("require-verified-agents = true\nrequire-transcript = false\n");
    let before = w.server_main();
    let id = w.commit("docs/a.md", Some(&w.agent), "");
    let o = w.push();
    assert!(!o.status.success(), "accepted: {}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("is signed by the key of agent `coder` but does not say it is that agent's"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.server_main(), before, "the remote moved");
    // Whatever the policy requires, the commit is the agent's.
    let v = w.factory(&["verify", &id]);
    assert!(stdout(&v).contains("agent coder"), "{}", stdout(&v));
    assert!(
        stdout(&v).contains("agent origin mismatch"),
        "{}",
        stdout(&v)
    );
}

#[test]
fn a_commit_signed_by_its_agents_key_is_verified_and_lands() {
    let w = World::new("require-verified-agents = true\nrequire-transcript = false\n");
    let id = w.commit("docs/a.md", Some(&w.agent), "Agent: coder/1.0\n");
    let audit = w.factory(&["audit", "origin/main..HEAD"]);
    assert!(
        stdout(&audit).contains("agent (verified)"),
        "{}",
        stdout(&audit)
    );
    let log = w.factory(&["log", "-n", "1"]);
    assert!(
        stdout(&log).contains("coder/1.0 (verified)"),
        "{}",
        stdout(&log)
    );
    let o = w.push();
    assert!(o.status.success(), "refused: {}", stderr(&o));
    assert_eq!(w.server_main().trim(), id);
}

#[test]
fn attack_an_agent_key_cannot_approve() {
    let w = World::new("require-transcript = false\n");
    let before = w.server_main();
    // A review-tier change (CI), approved with the agent's key.
    w.commit(".github/workflows/ci.yml", None, "");
    let o = w.factory(&[
        "approve",
        "--role",
        "maintainer",
        "--force",
        "--key",
        &w.agent.display().to_string(),
    ]);
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(said.contains("agents never approve"), "{said}");
    let o = w.push();
    assert!(!o.status.success(), "accepted: {}", stderr(&o));
    assert_eq!(w.server_main(), before, "the remote moved");
}

#[test]
fn a_policy_cannot_give_one_key_to_an_agent_and_a_person() {
    let w = World::new("");
    let policy = std::fs::read_to_string(w.dev.path().join(".factory/policy.toml")).unwrap();
    let bob_public = std::fs::read_to_string(w.bob.with_extension("pub")).unwrap();
    w.dev.write(
        ".factory/policy.toml",
        format!(
            "{policy}\n[agents.sneaky]\nkeys = [\"{}\"]\n",
            bob_public.trim()
        ),
    );
    let o = w.factory(&["policy", "check"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("this key of agent `sneaky` is also a key of person `bob`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn attack_a_swapped_transcript_is_refused() {
    let w = World::new("require-transcript = true\n");
    let before = w.server_main();
    let session = |text: &str| session_line("s1", text);
    let real = w.dev.home().join("real.jsonl");
    std::fs::write(&real, session("Write the docs")).unwrap();
    // The digest of the session as factory stores it, bound into the signed commit.
    let id = w.commit("docs/a.md", Some(&w.agent), "Agent: coder/1.0\n");
    success(
        w.factory(&["transcript", "attach", &id, &real.display().to_string()]),
        "attach",
    );
    let digest = stored_digest(&w, &id);
    w.dev.git(&["reset", "--quiet", "--soft", "HEAD~1"]);
    w.dev.git(&[
        "-c",
        "gpg.format=ssh",
        "-c",
        &format!("user.signingkey={}", w.agent.display()),
        "commit",
        "-S",
        "--quiet",
        "-m",
        &format!("Add docs/a.md\n\nAgent: coder/1.0\nAgent-Transcript: {digest}\n"),
    ]);
    let id = w.dev.git(&["rev-parse", "HEAD"]).trim().to_owned();
    // A different session is attached instead (the same session id: it replaces the first).
    let fake = w.dev.home().join("fake.jsonl");
    std::fs::write(&fake, session("Something else entirely")).unwrap();
    success(
        w.factory(&["transcript", "attach", &id, &fake.display().to_string()]),
        "attach",
    );
    let o = w.push();
    assert!(!o.status.success(), "accepted: {}", stderr(&o));
    assert!(
        stderr(&o).contains("which its transcript note does not hold"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.server_main(), before, "the remote moved");
    // With the bound session attached, it lands.
    w.dev
        .git(&["notes", "--ref=factory/transcripts", "remove", &id]);
    success(
        w.factory(&["transcript", "attach", &id, &real.display().to_string()]),
        "attach",
    );
    let o = w.push();
    assert!(o.status.success(), "refused: {}", stderr(&o));
}

#[test]
fn attaching_a_session_that_touched_none_of_the_commits_files_warns() {
    let w = World::new("");
    let id = w.commit("docs/a.md", None, "");
    let line = |file: &str| {
        format!(
            "{{\"type\":\"user\",\"sessionId\":\"s-{file}\",\"cwd\":\"/w\",\"version\":\"1.0\",\"message\":{{\"role\":\"user\",\"content\":\"Edit it\"}},\"uuid\":\"u1\",\"timestamp\":\"2026-01-05T10:00:01Z\"}}\n{{\"type\":\"assistant\",\"sessionId\":\"s-{file}\",\"cwd\":\"/w\",\"version\":\"1.0\",\"message\":{{\"id\":\"m1\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[{{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Edit\",\"input\":{{\"file_path\":\"/w/{file}\",\"old_string\":\"a\",\"new_string\":\"b\"}}}}]}},\"uuid\":\"a1\",\"timestamp\":\"2026-01-05T10:00:02Z\"}}\n"
        )
    };
    let this = w.dev.home().join("this.jsonl");
    std::fs::write(&this, line("docs/a.md")).unwrap();
    let other = w.dev.home().join("other.jsonl");
    std::fs::write(&other, line("src/elsewhere.rs")).unwrap();
    let o = w.factory(&["transcript", "attach", &id, &this.display().to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("touched none"), "{}", stderr(&o));
    let o = w.factory(&["transcript", "attach", &id, &other.display().to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: session s-src/elsewhere.rs touched none of the 1 file(s)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn attack_two_agent_trailers_prove_nothing() {
    let w = World::new("require-verified-agents = true\nrequire-transcript = false\n");
    let before = w.server_main();
    w.commit(
        "docs/a.md",
        Some(&w.agent),
        "Agent: coder/1.0\nAgent: other/2.0\n",
    );
    let o = w.push();
    assert!(!o.status.success(), "accepted: {}", stderr(&o));
    assert!(
        stderr(&o).contains("claims several agents (coder, other)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.server_main(), before, "the remote moved");
}

#[test]
fn attack_another_session_cannot_be_attached_to_a_bound_commit() {
    let w = World::new("require-transcript = false\n");
    let session = session_line;
    let real = w.dev.home().join("real.jsonl");
    std::fs::write(&real, session("s1", "Write the docs")).unwrap();
    // Learn the stored digest, then bind a commit to it.
    let probe = w.commit("docs/probe.md", None, "");
    success(
        w.factory(&["transcript", "attach", &probe, &real.display().to_string()]),
        "attach",
    );
    let digest = stored_digest(&w, &probe);
    let id = w.commit(
        "docs/a.md",
        Some(&w.agent),
        &format!("Agent: coder/1.0\nAgent-Transcript: {digest}\n"),
    );
    success(
        w.factory(&["transcript", "attach", &id, &real.display().to_string()]),
        "attach",
    );
    let o = w.push();
    assert!(o.status.success(), "refused: {}", stderr(&o));
    let notes_before = w.dev.git(&[
        "--git-dir",
        &w.server.display().to_string(),
        "rev-parse",
        "refs/notes/factory/transcripts",
    ]);
    // Later, a notes-only push adds an unrelated session to the bound commit.
    let other = w.dev.home().join("other.jsonl");
    std::fs::write(&other, session("s2", "Something else")).unwrap();
    success(
        w.factory(&["transcript", "attach", &id, &other.display().to_string()]),
        "attach",
    );
    let o = w
        .dev
        .command("git")
        .args([
            "push",
            "--no-verify",
            "origin",
            "refs/notes/factory/*:refs/notes/factory/*",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success(), "accepted: {}", stderr(&o));
    assert!(
        stderr(&o).contains("session s2 is not the one"),
        "{}",
        stderr(&o)
    );
    let notes_after = w.dev.git(&[
        "--git-dir",
        &w.server.display().to_string(),
        "rev-parse",
        "refs/notes/factory/transcripts",
    ]);
    assert_eq!(notes_before, notes_after, "the server's notes moved");
}
