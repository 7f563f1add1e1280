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
    let bad = "{\"type\":\"user\",\"sessionId\":\"s\",\"parentUuid\":null,\"message\":{\"content\":\"hi\"}}\n{not json\n";
    let err = import("session.jsonl", bad, None).unwrap_err();
    assert_eq!((err.file.as_str(), err.line), ("session.jsonl", Some(2)));
    assert!(
        err.to_string().starts_with("session.jsonl:2: not JSON"),
        "{err}"
    );

    let err = import("notes.txt", "just some text\n", None).unwrap_err();
    assert!(
        err.to_string()
            .contains("not a transcript format factory recognises"),
        "{err}"
    );

    let orphan = "{\"timestamp\":\"t\",\"type\":\"response_item\",\"payload\":{\"type\":\"function_call_output\",\"call_id\":\"zz\",\"output\":\"x\"}}\n";
    let err = import("rollout.jsonl", orphan, Some(Format::Codex)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rollout.jsonl:1: output for unknown call `zz`"
    );

    let err = import(
        "empty.jsonl",
        "{\"type\":\"summary\",\"summary\":\"x\",\"leafUuid\":\"y\"}\n",
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no messages"), "{err}");
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
    t.messages[1].tool_calls[0].is_error = true;
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
