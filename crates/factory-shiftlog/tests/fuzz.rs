//! Hostile input never panics the transcript importers or the note decoder: arbitrary text,
//! JSON lines built from the keys and values the importers look for, and the fixtures of
//! `tests/fixtures/` with bytes and lines inserted, deleted, replaced, duplicated and swapped.
//! A transcript that imports also redacts, renders, and survives the note format unchanged.
//!
//! `FACTORY_FUZZ_CASES=N` sets the number of cases per property (default 256).

use std::sync::LazyLock;

use factory_shiftlog::render::{self, Detail};
use factory_shiftlog::{
    Format, ImportError, OUTPUT_SUMMARY_BYTES, RedactionConfig, Redactor, SCHEMA, Transcript,
    import, note,
};
use proptest::prelude::*;
use proptest::sample::Index;

#[path = "../../../tests/fuzz/common.rs"]
mod common;
use common::{apply, config, mutations};
use serde_json::{Map, Value};

/// `(file name, text)` of every fixture.
static FIXTURES: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 9, "fixtures missing from {}", dir.display());
    out
});

static REDACTOR: LazyLock<Redactor> =
    LazyLock::new(|| Redactor::new(RedactionConfig::default()).unwrap());

// ------------------------------------------------------------------------------------------
// Mutations: insert, delete and replace bytes; duplicate, drop and swap lines.

const TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "\\",
    "\\u",
    "\\ud800",
    "null",
    "true",
    "1e400",
    "-0",
    "18446744073709551616",
    "0.1",
    "é",
    "🦀",
    "\u{feff}",
    "\"type\":\"assistant\",",
    "{\"type\":\"tool_result\",\"tool_use_id\":\"x\"},",
    "\"id\":\"x\",",
    "\"call_id\":\"x\",",
    "_**User**_\n",
    "_**Assistant**_\n",
    "**User**\n",
    "**Cursor**\n",
    "#### ",
    "> ",
    "---\n",
    "<<<<<<< SEARCH\n",
    "=======\n",
    ">>>>>>> REPLACE\n",
    "<summary>",
    "</summary>",
    "# aider chat started at ",
];

// ------------------------------------------------------------------------------------------
// JSON built from the keys and values the importers look for.

const KEYS: &[&str] = &[
    "type",
    "message",
    "content",
    "role",
    "text",
    "thinking",
    "name",
    "id",
    "input",
    "tool_use_id",
    "is_error",
    "toolUseResult",
    "structuredPatch",
    "lines",
    "oldStart",
    "usage",
    "input_tokens",
    "model",
    "sessionId",
    "timestamp",
    "isMeta",
    "isSidechain",
    "summary",
    "leafUuid",
    "parentUuid",
    "version",
    "cwd",
    "gitBranch",
    "payload",
    "call_id",
    "arguments",
    "output",
    "git",
    "commit_hash",
    "info",
    "total_token_usage",
    "data",
    "toolCallId",
    "toolRequests",
    "toolName",
    "result",
    "success",
    "newModel",
    "modelMetrics",
    "projectHash",
    "startTime",
    "lastUpdated",
    "$set",
    "messages",
    "toolCalls",
    "args",
    "resultDisplay",
    "fileDiff",
    "thoughts",
    "tokens",
    "status",
    "timeline",
    "chatMessages",
    "callId",
    "file_path",
    "old_string",
    "new_string",
    "edits",
    "functionResponse",
    "response",
];

const STRINGS: &[&str] = &[
    "user",
    "assistant",
    "summary",
    "tool_use",
    "tool_result",
    "text",
    "thinking",
    "image",
    "Edit",
    "MultiEdit",
    "Write",
    "NotebookEdit",
    "session_meta",
    "turn_context",
    "response_item",
    "event_msg",
    "token_count",
    "message",
    "reasoning",
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "session.start",
    "session.model_change",
    "system.message",
    "user.message",
    "assistant.message",
    "tool.execution_start",
    "tool.execution_complete",
    "session.shutdown",
    "gemini",
    "info",
    "copilot",
    "tool_call_completed",
    "write_file",
    "replace",
    "str_replace_editor",
    "create",
    "error",
    "x",
    "y",
    "*** Begin Patch\n*** Update File: a.rs\n+x\n*** End Patch",
    "{\"output\":\"o\"}",
    "é🦀",
    "",
];

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        4 => prop::sample::select(STRINGS).prop_map(Value::from),
        1 => any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            1 => prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            3 => prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())
            }),
        ]
    })
}

/// One object per line (what the JSONL importers read), sometimes with raw text between.
fn json_lines() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        6 => json().prop_map(|v| v.to_string()),
        1 => "[ -~]{0,30}",
    ];
    prop::collection::vec(line, 1..10).prop_map(|l| l.join("\n"))
}

/// Structural mutations of a JSON fixture: nodes are numbered in pre-order over all its lines.
#[derive(Debug, Clone)]
enum JsonMutation {
    /// Replace a node by a new value.
    Replace(Index, Value),
    /// Replace a node by a copy of another node (of any line): pairs ids across lines, moves
    /// blocks between messages.
    Graft(Index, Index),
    /// Add a copy of another node to an array or object node.
    Push(Index, Index, &'static str),
    /// Remove one element of an array or object node.
    Remove(Index, Index),
}

fn json_mutations() -> impl Strategy<Value = Vec<JsonMutation>> {
    let one = prop_oneof![
        1 => (any::<Index>(), json()).prop_map(|(i, v)| JsonMutation::Replace(i, v)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(i, j)| JsonMutation::Graft(i, j)),
        2 => (any::<Index>(), any::<Index>(), prop::sample::select(KEYS)).prop_map(|(i, j, k)| JsonMutation::Push(i, j, k)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(i, j)| JsonMutation::Remove(i, j)),
    ];
    prop::collection::vec(one, 1..6)
}

/// The kind of every node in pre-order: 0 a scalar, 1 an array, 2 an object.
fn kinds(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Array(a) => {
            out.push(1);
            a.iter().for_each(|x| kinds(x, out));
        }
        Value::Object(o) => {
            out.push(2);
            o.values().for_each(|x| kinds(x, out));
        }
        _ => out.push(0),
    }
}

fn nth<'a>(v: &'a mut Value, k: &mut usize) -> Option<&'a mut Value> {
    if *k == 0 {
        return Some(v);
    }
    *k -= 1;
    let children: Vec<&mut Value> = match v {
        Value::Array(a) => a.iter_mut().collect(),
        Value::Object(o) => o.values_mut().collect(),
        _ => Vec::new(),
    };
    children.into_iter().find_map(|c| nth(c, k))
}

/// Applies `mutations` to the JSON fixture `text` (one document, or one per line), or None if
/// it is not JSON.
fn mutate_json(text: &str, mutations: &[JsonMutation]) -> Option<String> {
    let lines = text.lines().filter(|l| !l.trim().is_empty());
    let single = serde_json::from_str::<Value>(text).is_ok();
    let mut doc = if single {
        Value::Array(vec![serde_json::from_str(text).ok()?])
    } else {
        Value::Array(
            lines
                .map(|l| serde_json::from_str(l).ok())
                .collect::<Option<_>>()?,
        )
    };
    for m in mutations {
        // Node 0 is the list of lines itself: it is never replaced, nor copied.
        let mut k = Vec::new();
        kinds(&doc, &mut k);
        let among = |i: &Index, want: fn(u8) -> bool| {
            let nodes: Vec<usize> = (1..k.len()).filter(|&n| want(k[n])).collect();
            (!nodes.is_empty()).then(|| nodes[i.index(nodes.len())])
        };
        let copy = |doc: &mut Value, j: &Index| nth(doc, &mut among(j, |k| k > 0)?).cloned();
        match m {
            JsonMutation::Replace(i, v) => {
                if let Some(mut n) = among(i, |_| true) {
                    *nth(&mut doc, &mut n)? = v.clone();
                }
            }
            JsonMutation::Graft(i, j) => {
                if let (Some(mut n), Some(v)) = (among(i, |_| true), copy(&mut doc, j)) {
                    *nth(&mut doc, &mut n)? = v;
                }
            }
            JsonMutation::Push(i, j, key) => {
                let v = copy(&mut doc, j).unwrap_or(Value::Null);
                match nth(&mut doc, &mut among(i, |k| k > 0).unwrap_or(0))? {
                    Value::Array(a) => a.push(v),
                    Value::Object(o) => drop(o.insert((*key).to_owned(), v)),
                    _ => {}
                }
            }
            JsonMutation::Remove(i, j) => {
                match nth(&mut doc, &mut among(i, |k| k > 0).unwrap_or(0))? {
                    Value::Array(a) if !a.is_empty() => drop(a.remove(j.index(a.len()))),
                    Value::Object(o) if !o.is_empty() => {
                        let key = o.keys().nth(j.index(o.len())).cloned()?;
                        o.remove(&key);
                    }
                    _ => {}
                }
            }
        }
    }
    let Value::Array(lines) = doc else {
        return None;
    };
    Some(if single {
        lines.first().map(Value::to_string).unwrap_or_default()
    } else {
        lines
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

// ------------------------------------------------------------------------------------------
// What every outcome must satisfy.

fn check_import(file: &str, text: &str, result: Result<Transcript, ImportError>) {
    match result {
        Err(e) => {
            assert_eq!(e.file, file);
            if let Some(line) = e.line {
                // serde_json counts a line after a trailing newline, as split('\n') does.
                assert!(
                    (1..=text.split('\n').count()).contains(&line),
                    "line {line} outside the text: {e}"
                );
            }
            let _ = e.to_string();
        }
        Ok(mut t) => {
            assert_eq!(t.schema, SCHEMA);
            assert!(!t.messages.is_empty());
            assert!(!t.session_id.is_empty());
            assert!(
                Format::from_name(&t.source.format).is_some(),
                "{}",
                t.source.format
            );
            for call in t.messages.iter().flat_map(|m| &m.tool_calls) {
                if let Some(out) = &call.output {
                    assert!(
                        out.len() <= OUTPUT_SUMMARY_BYTES + 40,
                        "tool output of {} bytes kept",
                        out.len()
                    );
                }
            }
            let _ = render::text(&t, Detail::Summary);
            let _ = render::text(&t, Detail::Full);
            REDACTOR.redact(&mut t);
            assert_eq!(t.digest, t.compute_digest());
            // What is stored is what is read back, digest and all.
            let stored = note::encode(std::slice::from_ref(&t));
            assert_eq!(note::decode(stored.as_bytes()), Ok(vec![t]));
        }
    }
}

/// Imports `text` as detected and as every format.
fn import_all(file: &str, text: &str) {
    if let Some(f) = Format::detect(text) {
        assert_eq!(Format::from_name(f.name()), Some(f));
    }
    check_import(file, text, import(file, text, None));
    for (format, _) in Format::ALL {
        check_import(file, text, import(file, text, Some(format)));
    }
}

fn check_note(bytes: &[u8]) {
    match note::decode(bytes) {
        Err(e) => {
            let lines = String::from_utf8_lossy(bytes).split('\n').count();
            assert!(
                (1..=lines).contains(&e.line),
                "line {} outside the note: {e}",
                e.line
            );
        }
        Ok(ts) => {
            for t in &ts {
                assert_eq!(t.digest, t.compute_digest());
            }
            // Written back (sorted, duplicates dropped), the note holds the same sessions.
            let again = note::decode(note::encode(&ts).as_bytes()).unwrap();
            assert!(again.iter().all(|t| ts.contains(t)) && ts.iter().all(|t| again.contains(t)));
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        import_all("dir/session.jsonl", &text);
    }

    #[test]
    fn json_lines_never_panic(text in json_lines()) {
        import_all("session.jsonl", &text);
    }

    #[test]
    fn one_json_document_never_panics(doc in json()) {
        import_all("session.json", &doc.to_string());
        import_all("session.json", &serde_json::to_string_pretty(&doc).unwrap());
    }

    #[test]
    fn mutated_fixtures_never_panic(which in any::<Index>(), mutations in mutations(TOKENS)) {
        let (name, text) = &FIXTURES[which.index(FIXTURES.len())];
        let text = String::from_utf8_lossy(&apply(text.as_bytes(), &mutations)).into_owned();
        import_all(name, &text);
    }

    #[test]
    fn json_mutated_fixtures_never_panic(which in any::<Index>(), mutations in json_mutations()) {
        let json: Vec<&(String, String)> = FIXTURES.iter().filter(|(n, _)| n.ends_with(".json") || n.ends_with(".jsonl")).collect();
        let (name, text) = json[which.index(json.len())];
        let text = mutate_json(text, &mutations).expect("the JSON fixtures are JSON");
        import_all(name, &text);
    }

    #[test]
    fn arbitrary_notes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_note(&bytes);
    }

    #[test]
    fn mutated_notes_never_panic(mutations in mutations(TOKENS)) {
        let note = stored_fixtures();
        check_note(&apply(note.as_bytes(), &mutations));
    }
}

/// Every fixture imported, redacted and written as one note.
fn stored_fixtures() -> &'static str {
    static NOTE: LazyLock<String> = LazyLock::new(|| {
        let ts: Vec<Transcript> = FIXTURES
            .iter()
            .map(|(name, text)| {
                let mut t = import(name, text, None).unwrap();
                REDACTOR.redact(&mut t);
                t
            })
            .collect();
        note::encode(&ts)
    });
    &NOTE
}

/// Found by `json_lines_never_panic`: a Claude Code line whose `tool_result` block answers a
/// `tool_use` block of the same line indexed a message not pushed yet.
#[test]
fn claude_tool_result_in_the_line_of_its_tool_use() {
    let line = r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"x","name":"Edit"},{"type":"tool_result","tool_use_id":"x"}]}}"#;
    import_all("claude.jsonl", line);
}

/// Found by `json_mutated_fixtures_never_panic`: without serde_json's `float_roundtrip` feature a
/// float is not always read back as the value written, so a stored note fails its own digest.
#[test]
fn a_float_in_a_tool_input_survives_the_note() {
    let text = "{\"sessionId\":\"s\",\"startTime\":\"t\"}\n{\"id\":\"m\",\"type\":\"gemini\",\"content\":\"c\",\"toolCalls\":[{\"name\":\"x\",\"args\":{\"v\":2.68891753428389e246}}]}";
    import_all("gemini.jsonl", text);
}
