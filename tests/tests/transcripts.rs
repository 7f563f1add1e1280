//! End-to-end: Shift Log commands against real repositories, read back with git itself.

use std::path::PathBuf;
use std::process::Output;

use factory_tests::{TestRepo, stderr, stdout, workspace_root};

fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

fn factory(repo: &TestRepo, args: &[&str]) -> Output {
    repo.command(factory_bin())
        .args(args)
        .output()
        .expect("factory runs")
}

fn own(name: &str) -> PathBuf {
    workspace_root()
        .join("crates/factory-shiftlog/tests/fixtures")
        .join(name)
}

/// A repository with one human commit and one agent commit that edits src/api.rs.
fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "src/api.rs",
        "pub fn routes() -> Router {\n    Router::new()\n}\n",
    );
    repo.commit("Start");
    repo.write(
        "src/api.rs",
        "pub fn routes() -> Router {\n    Router::new().route(\"/health\", get(health))\n}\n",
    );
    repo.commit("Add GET /health\n\nAgent: claude-code/2.0.14\nRequested-By: alice\n");
    repo
}

/// The note of `rev` as git shows it, its lines decoded (a line stored deflated is inflated):
/// what the tests read is what any reader of the note gets.
fn note(repo: &TestRepo, rev: &str) -> String {
    let raw = repo.git(&["notes", "--ref=factory/transcripts", "show", rev]);
    let sessions = factory_shiftlog::note::decode(raw.as_bytes()).expect("a valid note");
    sessions
        .iter()
        .map(|t| serde_json::to_string(t).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn attach_stores_a_note_git_can_read_and_keeps_earlier_sessions() {
    let repo = repo();
    let claude = own("claude.jsonl");
    let out = factory(&repo, &["transcript", "attach", claude.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("attached claude-code session s-claude to "),
        "{}",
        stdout(&out)
    );
    let first = note(&repo, "HEAD");
    assert_eq!(first.lines().count(), 1);
    let doc: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert_eq!(doc["schema"], "factory.transcript/v1");
    assert_eq!(doc["session_id"], "s-claude");
    assert!(doc["digest"].as_str().unwrap().starts_with("sha256:"));

    // A second session is added beside the first, on an explicit revision.
    let codex = own("codex.jsonl");
    let out = factory(
        &repo,
        &["transcript", "attach", "HEAD", codex.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let both = note(&repo, "HEAD");
    assert_eq!(both.lines().count(), 2);
    assert!(both.contains("\"s-claude\"") && both.contains("\"s-codex\""));

    // Attaching the same session again changes nothing.
    let out = factory(&repo, &["transcript", "attach", claude.to_str().unwrap()]);
    assert!(
        stdout(&out).contains("already attached"),
        "{}",
        stdout(&out)
    );
    assert_eq!(note(&repo, "HEAD"), both);

    let json = factory(&repo, &["transcript", "show", "HEAD", "--format", "json"]);
    let sessions: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 2);
    let text = stdout(&factory(&repo, &["transcript", "show"]));
    assert!(
        text.contains("── user · 2026-01-05T10:00:00Z\n  Add GET /health"),
        "{text}"
    );
    assert!(text.contains("✎ src/api.rs"), "{text}");
    let full = stdout(&factory(&repo, &["transcript", "show", "--full"]));
    assert!(full.contains("(thinking) A route in src/api.rs."), "{full}");
    assert!(
        full.contains("+    Router::new().route(\"/health\", get(health))"),
        "{full}"
    );
}

#[test]
fn secrets_never_reach_the_note() {
    let repo = repo();
    let token = format!("ghp_{}", "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe9Dc8");
    let line = format!(
        r#"{{"type":"user","sessionId":"s-secret","parentUuid":null,"timestamp":"2026-01-05T10:00:00Z","message":{{"role":"user","content":"push with {token} please"}}}}"#
    );
    repo.write("session.jsonl", format!("{line}\n"));
    let out = factory(&repo, &["transcript", "attach", "session.jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("redacted: github-token 1"),
        "{}",
        stdout(&out)
    );
    let stored = note(&repo, "HEAD");
    assert!(!stored.contains(&token));
    assert!(stored.contains("[REDACTED:github-token]"));
    assert!(
        stored.contains("\"redactions\":{\"github-token\":1}"),
        "{stored}"
    );
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let repo = repo();
    repo.write(
        "broken.jsonl",
        "{\"type\":\"file-history-snapshot\",\"messageId\":\"m\",\"snapshot\":{}}\n{oops\n",
    );
    let good = own("claude.jsonl");
    let out = factory(
        &repo,
        &[
            "transcript",
            "attach",
            good.to_str().unwrap(),
            "broken.jsonl",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("broken.jsonl: no message text found")
            && stderr(&out).contains("1 damaged line(s) skipped"),
        "{}",
        stderr(&out)
    );
    let notes = repo
        .command("git")
        .args(["notes", "--ref=factory/transcripts", "list"])
        .output()
        .unwrap();
    assert!(notes.stdout.is_empty(), "nothing was written");

    let out = factory(
        &repo,
        &[
            "transcript",
            "attach",
            "--format",
            "nope",
            good.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown format `nope`"));

    let out = factory(&repo, &["transcript", "show", "HEAD~1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no transcript is attached to HEAD~1"));
}

#[test]
fn the_size_limit_comes_from_the_policy() {
    let repo = repo();
    repo.write(
        "small.toml",
        "version = 1\ndefault-tier = \"a\"\n[[tier]]\nname = \"a\"\ndescription = \"\"\n[transcripts]\nmax-note-bytes = 200\n",
    );
    let claude = own("claude.jsonl");
    let out = factory(
        &repo,
        &[
            "transcript",
            "attach",
            "--policy",
            "small.toml",
            claude.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("over the limit of 200") && stderr(&out).contains("max-note-bytes"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_megabyte_class_transcript_round_trips() {
    let repo = repo();
    let mut text = String::new();
    for i in 0..2400 {
        let body = "word ".repeat(100);
        text.push_str(&format!(
            r#"{{"type":"{}","sessionId":"s-big","parentUuid":null,"timestamp":"2026-01-05T10:{:02}:{:02}Z","message":{{"role":"x","content":"{i} {body}"}}}}"#,
            if i % 2 == 0 { "user" } else { "assistant" },
            (i / 60) % 60,
            i % 60
        ));
        text.push('\n');
    }
    assert!(text.len() > 1_200_000);
    repo.write("big.jsonl", &text);
    let out = factory(&repo, &["transcript", "attach", "big.jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json = factory(&repo, &["transcript", "show", "--format", "json"]);
    let sessions: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(sessions[0]["messages"].as_array().unwrap().len(), 2400);
}

#[test]
fn notes_written_by_git_with_fan_out_are_read() {
    let repo = repo();
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    // Store a transcript through factory, then rebuild the notes tree by hand with git's 2/38
    // fan-out (ab/cdef…), as git does for large notes trees.
    let claude = own("claude.jsonl");
    assert!(
        factory(&repo, &["transcript", "attach", claude.to_str().unwrap()])
            .status
            .success()
    );
    let blob = repo
        .git(&[
            "rev-parse",
            &format!("refs/notes/factory/transcripts:{head}"),
        ])
        .trim()
        .to_owned();
    let inner = pipe(
        &repo,
        &["mktree"],
        &format!("100644 blob {blob}\t{}\n", &head[2..]),
    );
    let outer = pipe(
        &repo,
        &["mktree"],
        &format!("040000 tree {}\t{}\n", inner.trim(), &head[..2]),
    );
    let commit = repo.git(&["commit-tree", outer.trim(), "-m", "fan-out"]);
    repo.git(&[
        "update-ref",
        "refs/notes/factory/transcripts",
        commit.trim(),
    ]);
    assert_eq!(
        repo.git(&["ls-tree", "refs/notes/factory/transcripts"])
            .split('\t')
            .nth(1)
            .unwrap()
            .trim(),
        &head[..2]
    );
    let out = factory(&repo, &["transcript", "show", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("\"s-claude\""));
}

fn pipe(repo: &TestRepo, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = repo
        .command("git")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn log_and_why_tell_the_story_of_a_line() {
    let repo = repo();
    let claude = own("claude.jsonl");
    assert!(
        factory(&repo, &["transcript", "attach", claude.to_str().unwrap()])
            .status
            .success()
    );
    let log = stdout(&factory(&repo, &["log"]));
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(lines[0].contains("review") && lines[0].contains("agent claude-code/2.0.14 (claude-sonnet-4-5) [transcript: 3 messages]  Add GET /health"), "{log}");
    assert!(lines[1].contains("human  Start"), "{log}");
    let json: serde_json::Value =
        serde_json::from_slice(&factory(&repo, &["log", "--format", "json", "-n", "1"]).stdout)
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["messages"], 3);

    let why = factory(&repo, &["why", "src/api.rs:2"]);
    assert!(why.status.success(), "{}", stderr(&why));
    let text = stdout(&why);
    assert!(
        text.starts_with("src/api.rs:2  Router::new().route(\"/health\", get(health))\ncommit "),
        "{text}"
    );
    assert!(text.contains("Add GET /health"), "{text}");
    assert!(
        text.contains("── user · 2026-01-05T10:00:00Z\n  Add GET /health"),
        "{text}"
    );
    assert!(
        text.contains("── assistant · 2026-01-05T10:00:05Z\n  Adding the route.\n  ✎ src/api.rs"),
        "{text}"
    );

    let dotted = stdout(&factory(&repo, &["why", "./src/api.rs:2"]));
    assert_eq!(dotted, text, "./ paths name the same line");
    let human = stdout(&factory(&repo, &["why", "src/api.rs:1"]));
    assert!(
        human.contains("no transcript is attached to this commit"),
        "{human}"
    );
    let out = factory(&repo, &["why", "src/api.rs:99"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("src/api.rs has no line 99"),
        "{}",
        stderr(&out)
    );
    let out = factory(&repo, &["why", "src/api.rs"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn log_into_a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let repo = TestRepo::from_script("many_commits");
    let mut child = repo
        .command(factory_bin())
        .arg("log")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("change 3000"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}: {}", out.status, stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn the_policy_adds_redaction_patterns_and_can_drop_thinking() {
    let repo = repo();
    repo.write(
        ".factory/policy.toml",
        "version = 1\ndefault-tier = \"a\"\n[[tier]]\nname = \"a\"\ndescription = \"\"\n[transcripts]\nkeep-thinking = false\nredact = { internal-host = 'build-[0-9]+\\.corp\\.example' }\n",
    );
    let line = r#"{"type":"assistant","sessionId":"s-p","parentUuid":null,"timestamp":"2026-01-05T10:00:00Z","message":{"role":"assistant","content":[{"type":"thinking","thinking":"secret plan"},{"type":"text","text":"deploying to build-17.corp.example"}]}}"#;
    repo.write("s.jsonl", format!("{line}\n"));
    let out = factory(&repo, &["transcript", "attach", "s.jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("redacted: internal-host 1"),
        "{}",
        stdout(&out)
    );
    let stored = note(&repo, "HEAD");
    assert!(
        !stored.contains("build-17.corp.example") && stored.contains("[REDACTED:internal-host]")
    );
    assert!(
        !stored.contains("secret plan"),
        "thinking dropped by the policy"
    );
}

#[test]
fn blame_tells_agent_lines_from_peoples() {
    let repo = repo();
    let claude = own("claude.jsonl");
    assert!(
        factory(&repo, &["transcript", "attach", claude.to_str().unwrap()])
            .status
            .success()
    );
    let o = factory(&repo, &["blame", "src/api.rs"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].contains(" human ") && lines[0].ends_with("1| pub fn routes() -> Router {"),
        "{text}"
    );
    assert!(
        lines[1].contains(" agent claude-code/2.0.14 (s-claude)")
            && lines[1].contains("2|     Router::new().route"),
        "{text}"
    );
    assert_eq!(
        lines[3],
        "src/api.rs: 3 line(s), 1 by agents (33%), 2 by people"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &factory(&repo, &["blame", "src/api.rs", "--format", "json"]).stdout,
    )
    .unwrap();
    assert_eq!(json[1]["origin"], "agent");
    assert_eq!(json[1]["session"], "s-claude");
    assert_eq!(json[1]["models"][0], "claude-sonnet-4-5");
    assert_eq!(json[0]["origin"], "human");
    assert!(json[0]["session"].is_null());
    // As of the first commit, every line is a person's.
    let first = stdout(&factory(&repo, &["blame", "src/api.rs", "--rev", "HEAD~1"]));
    assert!(
        first.ends_with("0 by agents (0%), 3 by people\n"),
        "{first}"
    );
    let o = factory(&repo, &["blame", "src/nope.rs"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("src/nope.rs is not a file at HEAD"),
        "{}",
        stderr(&o)
    );
}

/// The rules of the Agent Trace record schema (version 0.1) that an export must follow.
fn check_agent_trace(r: &serde_json::Value) {
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let allowed = |v: &serde_json::Value, ok: &[&str]| {
        for k in keys(v) {
            assert!(
                ok.contains(&k.as_str()),
                "property `{k}` is not in the format: {v}"
            );
        }
    };
    allowed(
        r,
        &[
            "version",
            "id",
            "timestamp",
            "vcs",
            "tool",
            "files",
            "metadata",
        ],
    );
    for k in ["version", "id", "timestamp", "files"] {
        assert!(r.get(k).is_some(), "required `{k}` missing");
    }
    let version = r["version"].as_str().unwrap();
    let (major, minor) = version.split_once('.').unwrap();
    assert!(!major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()));
    assert!(!minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit()));
    let id = r["id"].as_str().unwrap();
    let parts: Vec<&str> = id.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12],
        "{id}"
    );
    assert!(
        matches!(parts[2].as_bytes()[0], b'1'..=b'8'),
        "UUID version: {id}"
    );
    assert!(
        matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
        "UUID variant: {id}"
    );
    let ts = r["timestamp"].as_str().unwrap();
    assert!(
        ts.len() == 20 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
        "{ts}"
    );
    allowed(&r["vcs"], &["type", "revision"]);
    assert_eq!(r["vcs"]["type"], "git");
    allowed(&r["tool"], &["name", "version"]);
    assert!(r["tool"]["name"].is_string() && r["tool"]["version"].is_string());
    for f in r["files"].as_array().unwrap() {
        allowed(f, &["path", "conversations"]);
        assert!(f["path"].is_string());
        for c in f["conversations"].as_array().unwrap() {
            allowed(c, &["url", "contributor", "ranges", "related"]);
            allowed(&c["contributor"], &["type", "model_id"]);
            assert!(
                ["human", "ai", "mixed", "unknown"]
                    .contains(&c["contributor"]["type"].as_str().unwrap())
            );
            for range in c["ranges"].as_array().unwrap() {
                allowed(
                    range,
                    &["start_line", "end_line", "content_hash", "contributor"],
                );
                let (s, e) = (
                    range["start_line"].as_u64().unwrap(),
                    range["end_line"].as_u64().unwrap(),
                );
                assert!(s >= 1 && e >= s, "{range}");
            }
        }
    }
    assert!(r["metadata"].is_object());
}

#[test]
fn agent_trace_export_attributes_added_lines() {
    let repo = repo();
    let claude = own("claude.jsonl");
    assert!(
        factory(&repo, &["transcript", "attach", claude.to_str().unwrap()])
            .status
            .success()
    );
    let o = factory(&repo, &["transcript", "export", "--format", "agent-trace"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    check_agent_trace(&r);
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    assert_eq!(r["vcs"]["revision"], head);
    assert_eq!(r["files"].as_array().unwrap().len(), 1);
    let file = &r["files"][0];
    assert_eq!(file["path"], "src/api.rs");
    let c = &file["conversations"][0];
    assert_eq!(c["contributor"]["type"], "ai");
    assert_eq!(c["contributor"]["model_id"], "anthropic/claude-sonnet-4-5");
    // The agent changed line 2 only (git diff -U0 HEAD~1 HEAD: @@ -2 +2 @@).
    assert_eq!(
        c["ranges"],
        serde_json::json!([{ "start_line": 2, "end_line": 2 }])
    );
    assert_eq!(
        r["metadata"]["factory"]["sessions"][0]["session_id"],
        "s-claude"
    );
    // The same commit, the same record id; the person's first commit is `human`.
    let again: serde_json::Value =
        serde_json::from_slice(&factory(&repo, &["transcript", "export"]).stdout).unwrap();
    assert_eq!(again["id"], r["id"]);
    let first: serde_json::Value =
        serde_json::from_slice(&factory(&repo, &["transcript", "export", "HEAD~1"]).stdout)
            .unwrap();
    check_agent_trace(&first);
    assert_eq!(
        first["files"][0]["conversations"][0]["contributor"]["type"],
        "human"
    );
    assert_eq!(
        first["files"][0]["conversations"][0]["ranges"][0]["end_line"],
        3
    );
    assert_ne!(first["id"], r["id"]);
}
