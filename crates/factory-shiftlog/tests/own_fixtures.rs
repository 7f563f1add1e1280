//! factory's own small fixture for each format, with every field the importer fills, and the
//! errors of malformed files.

use factory_shiftlog::{Format, Role, import};

fn fixture(name: &str) -> (String, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    (name.to_owned(), std::fs::read_to_string(path).unwrap())
}

#[test]
fn every_format_is_detected_and_imported() {
    let cases = [
        ("claude.jsonl", Format::ClaudeCode, "s-claude", 3, 1, 1),
        ("codex.jsonl", Format::Codex, "s-codex", 3, 1, 1),
        ("gemini.jsonl", Format::GeminiJsonl, "s-gemini", 2, 1, 1),
        (
            "gemini-legacy.json",
            Format::GeminiJson,
            "s-gemini-legacy",
            2,
            0,
            0,
        ),
        ("copilot.jsonl", Format::CopilotJsonl, "s-copilot", 2, 1, 1),
        (
            "copilot-legacy.json",
            Format::CopilotJson,
            "s-copilot-legacy",
            3,
            1,
            1,
        ),
        ("aider.chat.history.md", Format::Aider, "", 4, 0, 1),
        ("specstory.md", Format::SpecStory, "", 2, 1, 0),
        ("cursor.md", Format::Cursor, "", 2, 0, 0),
    ];
    for (name, format, session, messages, tools, edits) in cases {
        let (file, text) = fixture(name);
        assert_eq!(Format::detect(&text), Some(format), "{name}");
        let t = import(&file, &text, None).unwrap();
        if !session.is_empty() {
            assert_eq!(t.session_id, session, "{name}");
        } else {
            assert_eq!(
                t.session_id.len(),
                16,
                "{name}: a digest-based id when the format has none"
            );
        }
        assert_eq!(
            (t.messages.len(), t.tool_call_count(), t.edit_count()),
            (messages, tools, edits),
            "{name}"
        );
        assert_eq!(t.source.format, format.name());
        assert_eq!(t.source.file.as_deref(), Some(name));
    }
}

#[test]
fn claude_code_fields() {
    let (file, text) = fixture("claude.jsonl");
    let t = import(&file, &text, None).unwrap();
    assert_eq!(t.title.as_deref(), Some("Add a health endpoint"));
    assert_eq!(
        (t.cwd.as_deref(), t.branch.as_deref()),
        (Some("/home/dev/shop"), Some("main"))
    );
    assert_eq!(t.models, ["claude-sonnet-4-5"]);
    let a = &t.messages[1];
    assert_eq!(a.role, Role::Assistant);
    assert_eq!(a.thinking.as_deref(), Some("A route in src/api.rs."));
    assert_eq!(a.tool_calls[0].output.as_deref(), Some("ok"));
    assert_eq!(a.edits[0].path, "src/api.rs");
    assert_eq!(
        a.edits[0].patch.as_deref(),
        Some(
            "@@ -3,1 +3,1 @@\n-    Router::new()\n+    Router::new().route(\"/health\", get(health))\n"
        )
    );
    assert_eq!(
        (t.started_at.as_deref(), t.ended_at.as_deref()),
        (Some("2026-01-05T10:00:00Z"), Some("2026-01-05T10:00:09Z"))
    );
    assert_eq!(
        t.usage.map(|u| (u.input_tokens, u.output_tokens)),
        Some((10, 5))
    );
}

#[test]
fn aider_links_its_commit_and_search_replace_edits() {
    let (file, text) = fixture("aider.chat.history.md");
    let t = import(&file, &text, None).unwrap();
    assert_eq!(t.commit.as_deref(), Some("4ac9569"));
    let edit = t.messages.iter().flat_map(|m| &m.edits).next().unwrap();
    assert_eq!(edit.path, "src/greet.py");
    assert_eq!(
        edit.patch.as_deref(),
        Some("+def greet():\n+    return \"hi\"\n")
    );
}

#[test]
fn gemini_repeated_ids_keep_the_last_version_in_the_first_place() {
    let (file, text) = fixture("gemini.jsonl");
    let t = import(&file, &text, None).unwrap();
    assert_eq!(t.messages[1].text, "Written.");
    assert_eq!(t.ended_at.as_deref(), Some("2026-01-05T10:00:03Z"));
}

#[test]
fn malformed_files_name_the_file_and_line() {
    // A damaged line is skipped and counted; the readable lines import.
    let bad = "{\"type\":\"user\",\"sessionId\":\"s\",\"parentUuid\":null,\"message\":{\"content\":\"hi\"}}\n{not json\n";
    let t = import("session.jsonl", bad, None).unwrap();
    assert_eq!((t.messages.len(), t.source.skipped_lines), (1, 1));
    // Two objects run together on one line (a torn write): both are read.
    let torn = "{\"type\":\"user\",\"sessionId\":\"s\",\"uuid\":\"u1\",\"message\":{\"content\":\"one\"}}{\"type\":\"user\",\"sessionId\":\"s\",\"uuid\":\"u2\",\"message\":{\"content\":\"two\"}}\n";
    let t = import("session.jsonl", torn, None).unwrap();
    assert_eq!(t.messages.len(), 2);
    // Nothing readable: an error naming the file, never an empty transcript.
    let err = import("session.jsonl", "{not json\n", Some(Format::ClaudeCode)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("session.jsonl: no message text found")
            && err.to_string().contains("1 damaged line(s) skipped"),
        "{err}"
    );

    let err = import("notes.txt", "just some text\n", None).unwrap_err();
    assert!(
        err.to_string()
            .contains("not a transcript format factory recognises"),
        "{err}"
    );

    // An output whose call is not in the file answers nothing, and loses nothing else; a file
    // of nothing but that is no session.
    let orphan = "{\"timestamp\":\"t\",\"type\":\"response_item\",\"payload\":{\"type\":\"function_call_output\",\"call_id\":\"zz\",\"output\":\"x\"}}\n";
    let err = import("rollout.jsonl", orphan, Some(Format::Codex)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rollout.jsonl: no message text found (read as codex): not a session of that format?"
    );
    let (file, text) = fixture("codex.jsonl");
    let t = import(&file, &format!("{text}{orphan}"), None).unwrap();
    assert_eq!(
        t.messages.len(),
        3,
        "the session around the orphan output is kept"
    );

    // Bookkeeping lines only (a snapshot, a mode) hold no message; a file of summaries holds
    // them (see `found_samples`).
    let err = import(
        "empty.jsonl",
        "{\"type\":\"file-history-snapshot\",\"messageId\":\"m\",\"snapshot\":{}}\n{\"type\":\"permission-mode\",\"permissionMode\":\"default\",\"sessionId\":\"s\"}\n",
        Some(Format::ClaudeCode),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no message text"), "{err}");
}

/// The JSON Schema in the book names exactly the fields the code writes.
#[test]
fn the_book_json_schema_matches_the_types() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../book/src/schemas/transcript-v1.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    // A transcript with every optional field set.
    let (file, text) = fixture("claude.jsonl");
    let mut t = import(&file, &text, None).unwrap();
    t.commit = Some("c".into());
    t.redactions.insert("jwt".into(), 1);
    t.messages[1].sidechain = true;
    t.messages[1].parent_tool = Some("toolu_1".into());
    t.messages[1].tool_calls[0].is_error = true;
    t.source.skipped_lines = 1;
    t.seal();
    let value = serde_json::to_value(&t).unwrap();
    assert_eq!(keys(&value), keys(&schema["properties"]));
    assert_eq!(
        keys(&value["messages"][1]),
        keys(&schema["$defs"]["message"]["properties"])
    );
    assert_eq!(
        keys(&value["usage"]),
        keys(&schema["properties"]["usage"]["properties"])
    );
    assert_eq!(
        keys(&value["source"]),
        keys(&schema["properties"]["source"]["properties"])
    );
    let call = &value["messages"][1]["tool_calls"][0];
    assert_eq!(
        keys(call),
        keys(&schema["$defs"]["message"]["properties"]["tool_calls"]["items"]["properties"])
    );
    let formats: Vec<&str> = schema["properties"]["source"]["properties"]["format"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let ours: Vec<&str> = Format::ALL.iter().map(|(_, n)| *n).collect();
    assert_eq!(formats, ours);
}

/// A Claude Code 2.x session as the program writes it (built by hand to the shapes documented in
/// tests/FIXTURES.md): leading bookkeeping lines, a queued prompt, a sub-agent's turns
/// in `progress` lines, one reply streamed over two lines, an image-only prompt, a compaction
/// summary and a synthetic reply; damaged here with a torn line and a line cut short.
#[test]
fn claude_code_2x_keeps_every_turn() {
    let (file, text) = fixture("claude-2x.jsonl");
    // Damage it: two lines run together (a torn write) and a line cut short.
    let text = text.replacen("}\n{\"parentUuid\":\"u4\"", "}{\"parentUuid\":\"u4\"", 1)
        + "{\"parentUuid\":\"a4\",\"broken\":\n";
    assert_eq!(Format::detect(&text), Some(Format::ClaudeCode));
    let t = import(&file, &text, None).unwrap();
    assert_eq!(
        t.title.as_deref(),
        Some("Refund cap"),
        "the summary of a leaf of this file"
    );
    assert_eq!(
        t.models,
        ["claude-opus-4-6", "claude-haiku-4-5"],
        "no <synthetic>"
    );
    let queued = t
        .messages
        .iter()
        .find(|m| m.text == "also keep the old rounding");
    assert!(
        queued.is_some_and(|m| m.role == Role::User),
        "the queued prompt"
    );
    let sub: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.parent_tool.is_some())
        .collect();
    assert_eq!(sub.len(), 2, "the sub-agent's call and its answer");
    assert!(
        sub.iter()
            .all(|m| m.sidechain && m.parent_tool.as_deref() == Some("toolu_task"))
    );
    assert_eq!(
        sub[0].tool_calls[0].output.as_deref(),
        Some("src/refunds.rs:12: fn refund(total: u64)")
    );
    assert!(
        t.messages
            .iter()
            .any(|m| m.role == Role::User && m.text == "[image]")
    );
    let compact = t
        .messages
        .iter()
        .find(|m| m.text.starts_with("This session is being continued"));
    assert_eq!(
        compact.map(|m| m.role),
        Some(Role::System),
        "context, not a prompt"
    );
    let meta = t.messages.iter().find(|m| m.text.contains("/init"));
    assert_eq!(meta.map(|m| m.role), Some(Role::System));
    // Usage once per reply: msg_1 streamed over two lines counts once.
    let u = t.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens),
        (100 + 40 + 60 + 200, 20 + 5 + 12 + 30)
    );
    assert_eq!(u.cache_read_tokens, 1000);
    assert_eq!(
        t.source.skipped_lines, 1,
        "the damaged line, named and counted"
    );
    assert_eq!(t.edit_count(), 1);
    let prompts = t.messages.iter().filter(|m| m.role == Role::User).count();
    assert_eq!(prompts, 3, "the prompt, the queued one and the image");
}

/// Qwen Code (Gemini-style parts in Claude-style lines) is its own format: never three empty
/// Claude Code messages.
#[test]
fn qwen_code_is_recognised_and_read() {
    let (file, text) = fixture("qwen.jsonl");
    assert_eq!(Format::detect(&text), Some(Format::QwenCode));
    let t = import(&file, &text, None).unwrap();
    assert_eq!(t.session_id, "s-qwen");
    assert_eq!(t.models, ["qwen3-coder-plus"]);
    assert_eq!(t.messages.len(), 3, "{:#?}", t.messages);
    assert_eq!(t.messages[0].text, "Add a /health route");
    assert_eq!(
        t.messages[1].thinking.as_deref(),
        Some("The router lives in src/api.rs.")
    );
    assert_eq!(
        t.messages[1].tool_calls[0].output.as_deref(),
        Some("Successfully modified file: src/api.rs")
    );
    let u = t.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.cache_read_tokens),
        (200 + 100, 40 + 15 + 10, 2200),
        "input without the cached tokens, output with the thoughts"
    );
    // Read as Claude Code by mistake, it is an error, not an empty transcript.
    let err = import(&file, &text, Some(Format::ClaudeCode)).unwrap_err();
    assert!(err.to_string().contains("no message text found"), "{err}");
}

/// Codex injects instructions and the environment as user turns: they are context, and a web
/// search is a tool call.
#[test]
fn codex_context_is_not_the_users_and_web_searches_are_calls() {
    let text = [
        r#"{"timestamp":"2026-01-05T10:00:00Z","type":"session_meta","payload":{"id":"s-cx","cwd":"/w","cli_version":"0.50.0"}}"#,
        r##"{"timestamp":"2026-01-05T10:00:01Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"# AGENTS.md instructions for /w\n\nUse cargo."}]}}"##,
        r#"{"timestamp":"2026-01-05T10:00:01Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context>\n  <cwd>/w</cwd>\n</environment_context>"}]}}"#,
        r#"{"timestamp":"2026-01-05T10:00:02Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"Which axum version handles this?"}]}}"#,
        r#"{"timestamp":"2026-01-05T10:00:03Z","type":"response_item","payload":{"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"axum 0.8 router"}}}"#,
        r#"{"timestamp":"2026-01-05T10:00:04Z","type":"response_item","payload":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"axum 0.8."}]}}"#,
        r#"{"timestamp":"2026-01-05T10:00:05Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"<turn_aborted>\n</turn_aborted>"}]}}"#,
    ]
    .join("\n");
    let t = import("rollout.jsonl", &text, None).unwrap();
    let users: Vec<&str> = t
        .messages
        .iter()
        .filter(|m| m.role == Role::User)
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(users, ["Which axum version handles this?"]);
    assert_eq!(
        t.messages.iter().filter(|m| m.role == Role::System).count(),
        3
    );
    let search = &t.tool_call_count();
    assert_eq!(*search, 1);
}

/// SpecStory 2.1 names the model (and mode) in its headers, keeps thinking in `Thought Process`
/// blocks and edits in `Edit file:` blocks.
#[test]
fn specstory_2_1_agent_headers_thinking_and_edits() {
    let text = "# Add a cap (2026-01-05 10:00Z)\n\n_**User (2026-01-05 10:00Z)**_\n\nCap refunds at the total.\n\n---\n\n_**Agent (model gpt-5, mode Agent)**_\n\n<details><summary>Thought Process</summary>The cap belongs in refund().</details>\n\nCapping it.\n\n<details><summary>Edit file: src/refunds.rs</summary>\n\n```diff\n-    total\n+    total.min(cap)\n```\n\n</details>\n\n---\n\n_**Assistant (model claude-4-sonnet)**_\n\nDone.\n";
    assert_eq!(Format::detect(text), Some(Format::SpecStory));
    let t = import("history.md", text, None).unwrap();
    assert_eq!(t.messages.len(), 3, "{:#?}", t.messages);
    assert_eq!(t.messages[0].role, Role::User);
    assert_eq!(
        t.messages[0].timestamp.as_deref(),
        Some("2026-01-05 10:00Z")
    );
    let agent = &t.messages[1];
    assert_eq!(agent.role, Role::Assistant);
    assert_eq!(agent.model.as_deref(), Some("gpt-5"));
    assert_eq!(agent.timestamp, None, "no model in the timestamp");
    assert_eq!(
        agent.thinking.as_deref(),
        Some("The cap belongs in refund().")
    );
    assert_eq!(agent.edits.len(), 1);
    assert_eq!(agent.edits[0].path, "src/refunds.rs");
    assert_eq!(
        agent.edits[0].patch.as_deref(),
        Some("-    total\n+    total.min(cap)\n")
    );
    assert_eq!(t.models, ["gpt-5", "claude-4-sonnet"]);
}

/// aider 0.86 prints `Model:`; edit paths may be headings with Windows separators.
#[test]
fn aider_model_lines_and_heading_paths() {
    let text = "# aider chat started at 2026-01-05 10:00:00\n\n> Aider v0.86.1\n> Model: gpt-4.1 with diff edit format\n\n#### style the header\n\n### app\\styles\\app.css\n```\n<<<<<<< SEARCH\nh1 {}\n=======\nh1 { color: red; }\n>>>>>>> REPLACE\n```\n";
    let t = import(".aider.chat.history.md", text, None).unwrap();
    assert_eq!(t.models, ["gpt-4.1"]);
    let edits: Vec<&str> = t
        .messages
        .iter()
        .flat_map(|m| &m.edits)
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(edits, ["app/styles/app.css"]);
}

/// Cline's conversation history: Messages API turns; the environment it appends to user turns
/// is context, not kept as the user's words.
#[test]
fn cline_history_is_read_with_its_environment_as_context() {
    let (file, text) = fixture("cline.json");
    assert_eq!(Format::detect(&text), Some(Format::Cline));
    let t = import(&file, &text, None).unwrap();
    let roles: Vec<Role> = t.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::Assistant,
            Role::Assistant
        ],
        "{:#?}",
        t.messages
    );
    assert!(
        t.messages[0].text.contains("Add a /health route")
            && !t.messages[0].text.contains("VSCode")
    );
    assert_eq!(t.tool_call_count(), 2);
    assert_eq!(
        t.messages[2].tool_calls[0].output.as_deref(),
        Some("The content was successfully saved to src/api.rs.")
    );
}

#[test]
fn cursor_cli_stream_json_is_read_with_its_tool_calls() {
    let (file, text) = fixture("cursor-cli.jsonl");
    assert_eq!(Format::detect(&text), Some(Format::CursorCli));
    let t = import(&file, &text, None).unwrap();
    assert_eq!(t.session_id, "s-cursor");
    assert_eq!(t.cwd.as_deref(), Some("/work/shop"));
    assert_eq!(t.models, ["Claude 4 Sonnet"]);
    assert_eq!(
        (t.messages.len(), t.tool_call_count(), t.edit_count()),
        (3, 2, 1)
    );
    let reply = &t.messages[1];
    assert_eq!(reply.thinking.as_deref(), Some("Need a route and a test."));
    assert_eq!(reply.timestamp.as_deref(), Some("2026-01-05T10:00:01.000Z"));
    assert_eq!(reply.tool_calls[0].name, "write");
    assert_eq!(reply.edits[0].path, "/work/shop/src/health.rs");
    assert!(reply.tool_calls[0].input.get("toolCallId").is_none());
    assert!(reply.tool_calls[1].is_error);
    assert!(
        reply.tool_calls[1]
            .output
            .as_deref()
            .unwrap()
            .contains("FAILED")
    );
}

#[test]
fn gemini_stream_json_joins_deltas_and_counts_uncached_input() {
    let (file, text) = fixture("gemini-stream.jsonl");
    assert_eq!(Format::detect(&text), Some(Format::GeminiStream));
    let t = import(&file, &text, None).unwrap();
    assert_eq!(t.session_id, "s-gemini-stream");
    assert_eq!(t.models, ["gemini-2.5-pro"], "`auto` is no model");
    // The reply after the tool's result is a message of its own.
    assert_eq!(
        (t.messages.len(), t.tool_call_count(), t.edit_count()),
        (3, 1, 1)
    );
    assert_eq!(t.messages[2].text, "I wrote hello.txt.");
    assert_eq!(
        t.messages[1].tool_calls[0].output.as_deref(),
        Some("Wrote hello.txt")
    );
    let u = t.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.cache_read_tokens),
        (1000, 100, 200)
    );
}

#[test]
fn opencode_run_events_and_exports_are_read() {
    let (file, text) = fixture("opencode-run.ndjson");
    assert_eq!(Format::detect(&text), Some(Format::OpenCode));
    let t = import(&file, &text, None).unwrap();
    assert_eq!(t.session_id, "ses_s-opencode");
    assert_eq!(
        (t.messages.len(), t.tool_call_count(), t.edit_count()),
        (1, 1, 1)
    );
    let m = &t.messages[0];
    assert_eq!(m.thinking.as_deref(), Some("Read the config first."));
    assert_eq!(m.text, "The port is now 8080.");
    assert_eq!(m.edits[0].path, "/work/shop/config.toml");
    assert_eq!(m.timestamp.as_deref(), Some("2026-01-05T10:00:00.500Z"));
    let u = t.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.cache_read_tokens),
        (900, 50, 300)
    );

    let (file, text) = fixture("opencode-export.json");
    assert_eq!(Format::detect(&text), Some(Format::OpenCode));
    let t = import(&file, &text, None).unwrap();
    assert_eq!(t.session_id, "ses_s-opencode-export");
    assert_eq!(t.title.as_deref(), Some("Change the port"));
    assert_eq!(t.cwd.as_deref(), Some("/work/shop"));
    assert_eq!(t.models, ["claude-sonnet-4-5"]);
    assert_eq!(
        (t.messages.len(), t.tool_call_count(), t.edit_count()),
        (2, 1, 1)
    );
    assert_eq!(t.messages[0].role, Role::User);
    assert_eq!(t.messages[1].model.as_deref(), Some("claude-sonnet-4-5"));
    // Tokens once, from the message, not again from its step.
    let u = t.usage.unwrap();
    assert_eq!(
        (
            u.input_tokens,
            u.output_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens
        ),
        (1000, 55, 400, 100)
    );
}

#[test]
fn goose_sessions_and_exports_fold_tool_responses_into_their_calls() {
    let (file, text) = fixture("goose.jsonl");
    assert_eq!(Format::detect(&text), Some(Format::Goose));
    let t = import(&file, &text, None).unwrap();
    assert_eq!(t.cwd.as_deref(), Some("/work/shop"));
    assert_eq!(t.title.as_deref(), Some("Fix the failing test"));
    assert_eq!(
        (t.messages.len(), t.tool_call_count(), t.edit_count()),
        (3, 1, 1)
    );
    assert_eq!(
        t.messages[1].tool_calls[0].output.as_deref(),
        Some("The file was edited.")
    );
    assert_eq!(t.messages[1].edits[0].path, "/work/shop/tests/orders.rs");
    assert_eq!(
        t.messages[0].timestamp.as_deref(),
        Some("2026-01-05T10:00:00.000Z")
    );
    let u = t.usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (2800, 200));

    let (file, text) = fixture("goose-export.json");
    assert_eq!(
        Format::detect(&text),
        Some(Format::Goose),
        "not Cline's turns"
    );
    let t = import(&file, &text, None).unwrap();
    assert_eq!(
        (t.messages.len(), t.tool_call_count(), t.edit_count()),
        (3, 1, 0)
    );
    assert_eq!(
        t.messages[1].tool_calls[0].output.as_deref(),
        Some("Cargo.toml\nsrc")
    );
}

#[test]
fn an_aider_history_of_several_sessions_gives_one_transcript_each() {
    let text = "\
# aider chat started at 2026-01-05 10:00:00

> aider --model sonnet
> Model: claude-sonnet-4-5

#### Add a health route

I added the route.

# aider chat started at 2026-01-05 11:00:00

> aider --model sonnet

# aider chat started at 2026-01-05 12:00:00

> aider --model sonnet

#### Now write its test

The test is in place.
";
    let sessions = factory_shiftlog::import_sessions("h.md", text, None).unwrap();
    assert_eq!(
        sessions.len(),
        2,
        "the session without a request is dropped"
    );
    assert_ne!(sessions[0].session_id, sessions[1].session_id);
    assert!(
        sessions[0]
            .messages
            .iter()
            .any(|m| m.text.contains("Add a health route"))
    );
    assert!(
        sessions[1]
            .messages
            .iter()
            .any(|m| m.text.contains("Now write its test"))
    );
    assert!(
        !sessions[0]
            .messages
            .iter()
            .any(|m| m.text.contains("Now write its test"))
    );
    assert_eq!(
        sessions[1].started_at.as_deref(),
        Some("2026-01-05 12:00:00")
    );
    // Every other format is one session.
    let (file, text) = fixture("claude.jsonl");
    assert_eq!(
        factory_shiftlog::import_sessions(&file, &text, None)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_note_is_never_larger_than_its_session() {
    let dirs = ["tests/fixtures", "tests/fixtures/real"];
    let mut compressed = 0;
    let mut seen = 0;
    for dir in dirs {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.is_file() || path.ends_with("SOURCES.md") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Ok(mut sessions) = factory_shiftlog::import_sessions(&name, &text, None) else {
                continue;
            };
            for t in &mut sessions {
                t.seal();
                // The streamed digest is the digest of the whole canonical JSON.
                assert_eq!(t.digest, t.compute_digest_whole(), "{name}");
            }
            seen += 1;
            let note = factory_shiftlog::note::encode(&sessions);
            // The fixed fields of a transcript (schema, agent, source, digest) take a few hundred
            // bytes: a session under 1 KiB may get a note of up to 1 KiB.
            assert!(
                note.len() <= text.len().max(1024) + 1,
                "{name}: a note of {} bytes for a session of {}",
                note.len(),
                text.len()
            );
            compressed += note.lines().filter(|l| l.starts_with("z:")).count();
            assert_eq!(
                factory_shiftlog::note::decode(note.as_bytes()).unwrap(),
                sessions,
                "{name}"
            );
        }
    }
    assert!(seen >= 20, "{seen} sessions");
    assert!(compressed > 0, "the Markdown fixtures need compressing");
}

#[test]
fn cline_ui_messages_and_cli_events_are_read() {
    let (file, text) = fixture("cline-ui.json");
    assert_eq!(Format::detect(&text), Some(Format::Cline));
    let t = import(&file, &text, None).unwrap();
    assert_eq!(t.models, ["claude-sonnet-4-5"]);
    // task, the text (with its reasoning; the tool and command calls join it), the completion,
    // the feedback.
    assert_eq!(
        (t.messages.len(), t.tool_call_count(), t.edit_count()),
        (4, 2, 1)
    );
    assert_eq!(t.messages[0].role, Role::User);
    let reply = &t.messages[1];
    assert_eq!(
        reply.thinking.as_deref(),
        Some("The router lives in src/api.rs.")
    );
    assert_eq!(reply.edits[0].path, "src/api.rs");
    assert_eq!(reply.tool_calls[1].name, "execute_command");
    assert_eq!(
        reply.tool_calls[1].output.as_deref(),
        Some("test result: ok. 3 passed")
    );
    assert_eq!(reply.timestamp.as_deref(), Some("2026-01-05T10:00:01.500Z"));
    let u = t.usage.unwrap();
    assert_eq!(
        (
            u.input_tokens,
            u.output_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens
        ),
        (1400, 350, 1800, 100)
    );
    // The same items as `cline task --json` events, with a partial piece and the task id.
    let events: String =
        std::iter::once(r#"{"type":"task_started","taskId":"1767607200000"}"#.to_owned())
            .chain(std::iter::once(
                r#"{"ts":1767607201400,"type":"say","say":"text","text":"I'll","partial":true}"#
                    .to_owned(),
            ))
            .chain(
                serde_json::from_str::<Vec<serde_json::Value>>(&text)
                    .unwrap()
                    .iter()
                    .map(|v| v.to_string()),
            )
            .collect::<Vec<_>>()
            .join("\n");
    assert_eq!(Format::detect(&events), Some(Format::Cline));
    let e = import("events.jsonl", &events, None).unwrap();
    assert_eq!(e.session_id, "1767607200000");
    assert_eq!(e.messages.len(), 4, "the partial piece is not a message");
}

#[test]
fn a_dequeued_prompt_is_one_prompt() {
    let text = [
        r#"{"type":"user","message":{"role":"user","content":"Add a route"},"uuid":"u1","sessionId":"s","timestamp":"2026-01-05T10:00:00Z"}"#,
        r#"{"type":"queue-operation","operation":"enqueue","content":"Also add its test","timestamp":"2026-01-05T10:00:01Z","sessionId":"s"}"#,
        r#"{"type":"assistant","message":{"id":"m1","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Route added."}]},"uuid":"a1","sessionId":"s","timestamp":"2026-01-05T10:00:02Z"}"#,
        r#"{"type":"queue-operation","operation":"dequeue","timestamp":"2026-01-05T10:00:03Z","sessionId":"s"}"#,
        r#"{"type":"user","message":{"role":"user","content":"Also add its test"},"uuid":"u2","sessionId":"s","timestamp":"2026-01-05T10:00:03Z"}"#,
        r#"{"type":"assistant","message":{"id":"m2","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Test added."}]},"uuid":"a2","sessionId":"s","timestamp":"2026-01-05T10:00:04Z"}"#,
    ]
    .join("\n");
    let t = import("q.jsonl", &text, None).unwrap();
    let prompts: Vec<&str> = t
        .messages
        .iter()
        .filter(|m| m.role == Role::User)
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(prompts, ["Add a route", "Also add its test"]);
    assert_eq!(t.messages.len(), 4);
}

#[test]
fn cline_results_sent_as_text_answer_their_calls_and_writes_are_edits() {
    let text = r#"[
  {"role":"user","content":[{"type":"text","text":"<task>Write hello.txt</task>"}]},
  {"role":"assistant","content":[{"type":"text","text":"Writing it."},{"type":"tool_use","id":"t1","name":"write_to_file","input":{"absolutePath":"/w/hello.txt","content":"hi"}}]},
  {"role":"user","content":[{"type":"text","text":"[write_to_file for '/w/hello.txt'] Result:\nThe content was saved."}]},
  {"role":"user","content":[{"type":"text","text":"[TASK RESUMPTION] This task was interrupted."}]},
  {"role":"assistant","content":[{"type":"text","text":"Done."}]}
]"#;
    let t = import("api_conversation_history.json", text, None).unwrap();
    let roles: Vec<Role> = t.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::System, Role::Assistant]
    );
    let call = &t.messages[1].tool_calls[0];
    assert!(
        call.output
            .as_deref()
            .unwrap()
            .contains("The content was saved.")
    );
    assert_eq!(t.messages[1].edits[0].path, "/w/hello.txt");
}

#[test]
fn aider_applied_edits_and_gemini_parts_are_kept() {
    let aider = "# aider chat started at 2026-01-05 10:00:00\n\n#### Rewrite app.py\n\napp.py\n```\nprint('hi')\n```\n\n> Applied edit to app.py\n> Commit 1234abc Rewrite app.py\n";
    let t = import("h.md", aider, None).unwrap();
    assert_eq!(t.edit_count(), 1);
    assert_eq!(
        t.messages
            .iter()
            .find(|m| !m.edits.is_empty())
            .unwrap()
            .edits[0]
            .path,
        "app.py"
    );
    let gemini = r#"{"sessionId":"g","projectHash":"h","startTime":"2026-01-05T10:00:00Z","lastUpdated":"2026-01-05T10:01:00Z","messages":[{"id":"1","type":"user","content":"Say ok","timestamp":"2026-01-05T10:00:00Z"},{"id":"2","type":"model","parts":[{"text":"Ok"}],"timestamp":"2026-01-05T10:00:01Z"}]}"#;
    let t = import("session.json", gemini, None).unwrap();
    assert_eq!(t.messages[1].text, "Ok");
}

/// A long session (its JSON over `PLAIN_LINE_BYTES`) is stored deflated even when smaller than
/// its file, reads back whole; attaching it again changes nothing, a new version replaces it,
/// another session joins it, and a kept line that was edited is refused.
#[test]
fn a_long_session_is_stored_deflated_and_merged_line_by_line() {
    use factory_shiftlog::{Message, Role, note};
    let (file, text) = fixture("claude.jsonl");
    let mut long = import(&file, &text, None).unwrap();
    for i in 0..3000 {
        long.messages.push(Message::new(
            Role::User,
            format!("prompt {i}: {}", "words of a long session ".repeat(20)),
        ));
    }
    long.source.bytes = 100 * 1024 * 1024;
    long.seal();
    let note = note::encode(std::slice::from_ref(&long));
    assert!(note.starts_with("z:"), "a long session's line is deflated");
    assert!((note.len() as u64) < note::PLAIN_LINE_BYTES);
    assert_eq!(note::decode(note.as_bytes()).unwrap(), [long.clone()]);

    let lines = note::lines(note.as_bytes()).unwrap();
    assert_eq!(
        (lines[0].session_id.as_str(), lines[0].digest.as_str()),
        (long.session_id.as_str(), long.digest.as_str())
    );
    let (again, changed) = note::add(lines.clone(), std::slice::from_ref(&long)).unwrap();
    assert_eq!((again.as_str(), changed), (note.as_str(), false));

    let mut newer = long.clone();
    newer.messages.push(Message::new(Role::User, "one more"));
    newer.seal();
    let mut other = import(&file, &text, None).unwrap();
    other.session_id = "another".into();
    other.seal();
    let (merged, changed) = note::add(lines, &[newer.clone(), other.clone()]).unwrap();
    assert!(changed);
    let mut got = note::decode(merged.as_bytes()).unwrap();
    got.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    let mut want = vec![newer, other.clone()];
    want.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    assert_eq!(got, want);

    // The other session's line, edited by hand, is checked when a third session is added.
    let plain = note::encode(std::slice::from_ref(&other)).replace("Add GET", "Add PUT");
    let mut third = other.clone();
    third.session_id = "third".into();
    third.seal();
    let err = note::add(note::lines(plain.as_bytes()).unwrap(), &[third]).unwrap_err();
    assert!(err.message.contains("does not match its digest"), "{err}");
}

/// `opencode export ID > file` keeps the line the command prints first (seen in a real export):
/// the document after it is read as if the line were not there.
#[test]
fn an_export_with_the_commands_banner_first_is_read() {
    let (file, text) = fixture("opencode-export.json");
    let bannered = format!("Exporting session: ses_1be58628dffeUlqtrOC0XgUH2I\n{text}");
    assert_eq!(Format::detect(&bannered), Some(Format::OpenCode));
    let plain = import(&file, &text, None).unwrap();
    let read = import(&file, &bannered, None).unwrap();
    assert_eq!(read.messages, plain.messages);
    // Text that is not a JSON document after a few lines stays unrecognised.
    assert_eq!(Format::detect("Exporting session: x\nnot json\n"), None);
}

/// aider writes each line of the user's input with a Markdown line break (two spaces): a `#### `
/// heading in a reply (seen in a real history) is the reply's; two inputs apart are two
/// prompts; the `Models:` header of aider 0.47 names the model.
#[test]
fn aider_prompts_are_the_lines_aider_marks_as_input() {
    let text = "# aider chat started at 2024-08-04 23:10:26\n\n\
        > Models: gpt-4o with diff edit format, weak model gpt-4o-mini  \n\n\
        #### /clear  \n\n\
        #### how do I install it?  \n\n\
        Run one of these.\n\n\
        #### If you're using **npm**:\n\
        ```bash\nnpm install\n```\n\n\
        #### If you're using **yarn**:\n\
        ```bash\nyarn\n```\n";
    let t = import("h.md", text, Some(Format::Aider)).unwrap();
    let users: Vec<&str> = t
        .messages
        .iter()
        .filter(|m| m.role == factory_shiftlog::Role::User)
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(users, ["/clear", "how do I install it?"]);
    // An answer to aider's own question is the program's exchange, not a prompt.
    let answered = format!(
        "{text}\n#### Add file to the chat? (Y)es/(N)o/(A)ll/(S)kip all/(D)on't ask again [Yes]: skip  \n"
    );
    let t2 = import("h.md", &answered, Some(Format::Aider)).unwrap();
    let prompts = t2
        .messages
        .iter()
        .filter(|m| m.role == factory_shiftlog::Role::User)
        .count();
    assert_eq!(prompts, 2);
    let reply = t
        .messages
        .iter()
        .find(|m| m.role == factory_shiftlog::Role::Assistant)
        .unwrap();
    assert!(
        reply.text.contains("#### If you're using **yarn**:"),
        "{}",
        reply.text
    );
    assert_eq!(t.models, ["gpt-4o"]);
}

/// Qwen Code reports `candidatesTokenCount` with the thoughts already in it (total = prompt +
/// candidates, as a real 0.15 record shows): output is total − prompt, never thoughts twice.
#[test]
fn qwen_output_tokens_count_thoughts_once() {
    let text = concat!(
        r#"{"uuid":"u1","parentUuid":null,"sessionId":"q","timestamp":"2026-05-05T11:08:38Z","type":"user","message":{"role":"user","parts":[{"text":"Calculate .089 * 7.85788"}]}}"#,
        "\n",
        r#"{"uuid":"u2","parentUuid":"u1","sessionId":"q","timestamp":"2026-05-05T11:08:46Z","type":"assistant","model":"qwen3-coder","message":{"role":"model","parts":[{"text":"a product","thought":true},{"text":"0.69935132"}]},"usageMetadata":{"promptTokenCount":18009,"candidatesTokenCount":47,"thoughtsTokenCount":36,"totalTokenCount":18056,"cachedContentTokenCount":12}}"#,
        "\n"
    );
    let t = import("q.jsonl", text, Some(Format::QwenCode)).unwrap();
    let u = t.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.cache_read_tokens),
        (17_997, 47, 12)
    );
}

/// `claude -p --output-format stream-json`: recognised as Claude Code (not as Cursor CLI, whose
/// stream it resembles), with the init's directory and version, tool calls paired with their
/// results, and the sub-agent's turns nested under the Task call (`parent_tool_use_id`).
#[test]
fn claude_code_stream_json_is_claude_code() {
    let (file, text) = fixture("claude-stream.jsonl");
    assert_eq!(Format::detect(&text), Some(Format::ClaudeCode));
    let t = import(&file, &text, None).unwrap();
    assert_eq!(t.agent.name, "claude-code");
    assert_eq!(t.agent.version.as_deref(), Some("2.0.76"));
    assert_eq!(t.cwd.as_deref(), Some("/home/dev/shop"));
    assert_eq!(t.session_id, "9a1b2c3d-0000-4000-8000-000000000001");
    assert_eq!(t.tool_call_count(), 2);
    assert!(
        t.messages
            .iter()
            .flat_map(|m| &m.tool_calls)
            .all(|c| c.output.is_some())
    );
    let nested: Vec<_> = t.messages.iter().filter(|m| m.sidechain).collect();
    assert_eq!(nested.len(), 1);
    assert_eq!(nested[0].parent_tool.as_deref(), Some("toolu_01"));
    let u = t.usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (45, 29));
}

/// A session published pretty-printed (`jq .` of its JSON lines, as some repositories keep
/// them) reads as the session itself.
#[test]
fn pretty_printed_json_lines_are_read() {
    let (file, text) = fixture("claude.jsonl");
    let pretty: String = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            serde_json::to_string_pretty(&v).unwrap() + "\n"
        })
        .collect();
    assert_eq!(Format::detect(&pretty), None, "not JSON lines as it stands");
    let plain = import(&file, &text, None).unwrap();
    let read = import(&file, &pretty, None).unwrap();
    assert_eq!(read.messages, plain.messages);
    assert_eq!(read.source.skipped_lines, 0);
    // Read from disk with the format named, as `transcript attach --format claude-code` does.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pretty.jsonl");
    std::fs::write(&path, &pretty).unwrap();
    let named = factory_shiftlog::import_path(&path, Some(Format::ClaudeCode)).unwrap();
    assert_eq!(named[0].messages, plain.messages);
}

/// Terminal escapes in what a program printed (colours, cursor moves, links) are not stored.
#[test]
fn terminal_escapes_are_not_text() {
    let line = |t: &str, kind: &str, text: &str| {
        serde_json::json!({"type": kind, "sessionId": "s", "uuid": t, "timestamp": "2026-01-01T00:00:00Z",
            "message": {"role": kind, "content": text}})
        .to_string()
    };
    let text = [
        line("u1", "user", "<local-command-stdout>\u{1b}[2mCompacted (ctrl+o to see full summary)\u{1b}[22m</local-command-stdout>"),
        line("a1", "assistant", "\u{1b}]8;;https://example.com\u{7}done\u{1b}]8;;\u{7} \u{1b}[1;32mok\u{1b}[0m"),
    ]
    .join("\n");
    let t = import("s.jsonl", &text, Some(Format::ClaudeCode)).unwrap();
    assert_eq!(
        t.messages[0].text,
        "<local-command-stdout>Compacted (ctrl+o to see full summary)</local-command-stdout>"
    );
    assert_eq!(t.messages[1].text, "done ok");
}
