//! Every real sample in `../shared/fixtures/transcripts` imports with counts obtained without
//! the importer: each test names the jq, grep or awk command that produced its numbers, run on
//! the raw file.

use std::path::PathBuf;

use factory_shiftlog::{Format, Transcript, import};

fn sample(rel: &str) -> (String, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/transcripts")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path.display().to_string(), text)
}

/// Imports with detection, checks that detection picked `format`, and returns the transcript.
fn load(rel: &str, format: Format) -> Transcript {
    let (file, text) = sample(rel);
    assert_eq!(Format::detect(&text), Some(format), "{rel} detected as");
    import(&file, &text, None).unwrap_or_else(|e| panic!("{e}"))
}

#[track_caller]
fn counts(t: &Transcript, messages: usize, tools: usize, edits: usize) {
    assert_eq!(
        (t.messages.len(), t.tool_call_count(), t.edit_count()),
        (messages, tools, edits),
        "(messages, tool calls, edits)"
    );
}

#[track_caller]
fn stamps(t: &Transcript, first: &str, last: &str) {
    let first_msg = t.messages.iter().find_map(|m| m.timestamp.clone());
    let last_msg = t.messages.iter().rev().find_map(|m| m.timestamp.clone());
    assert_eq!(
        (first_msg.as_deref(), last_msg.as_deref()),
        (Some(first), Some(last))
    );
}

// Claude Code. Messages: user and assistant lines, except user lines that only return tool
// results (those become the calls' outputs):
//   jq -s '[.[] | select(.type=="assistant" or .type=="user") | select((.message.content|type)=="string"
//          or ([.message.content[] | select(.type!="tool_result")] | length) > 0)] | length'
// Tool calls: jq -s '[.[] | select(.type=="assistant") | .message.content[]? | select(.type=="tool_use")] | length'
// Edits: the same, with .name one of Edit, MultiEdit, Write, NotebookEdit, less those whose
// tool_result has is_error true (refused or failed: nothing was edited).
// Timestamps: the first and last of those messages' .timestamp.
#[test]
fn claude_code_init_session() {
    let t = load(
        "claude-code/claude-code-viewer_1af7fc5e-8455-4414-9ccd-011d40f70b2a.jsonl",
        Format::ClaudeCode,
    );
    counts(&t, 17, 12, 0);
    stamps(&t, "2025-09-03T00:47:19.293Z", "2025-09-03T00:47:52.264Z");
    assert_eq!(t.session_id, "1af7fc5e-8455-4414-9ccd-011d40f70b2a");
    assert_eq!(t.agent.version.as_deref(), Some("1.0.98"));
}

#[test]
fn claude_code_with_sub_agents() {
    let t = load(
        "claude-code/claude-code-viewer_5c0375b4-57a5-4f26-b12d-d022ee4e51b7.jsonl",
        Format::ClaudeCode,
    );
    counts(&t, 32, 21, 1);
    stamps(&t, "2025-09-07T09:52:03.071Z", "2025-09-07T09:54:26.499Z");
    assert!(
        t.messages.iter().any(|m| m.sidechain),
        "sidechain lines are kept and marked"
    );
}

#[test]
fn claude_code_long_session_with_summary_and_patches() {
    let t = load(
        "claude-code/claude-code-viewer_fe5e1c67-53e7-4862-81ae-d0e013e3270b.jsonl",
        Format::ClaudeCode,
    );
    counts(&t, 270, 167, 31);
    stamps(&t, "2025-09-03T00:52:31.217Z", "2025-09-03T01:02:03.665Z");
    // Its one summary line names a leaf that is not in this file: the title of another
    // session (Claude Code copies them forward), not this one's.
    assert_eq!(t.title, None);
    let with_patch = t
        .messages
        .iter()
        .flat_map(|m| &m.edits)
        .filter(|e| e.patch.is_some())
        .count();
    assert_eq!(with_patch, 31, "every edit carries a patch");
    assert!(
        t.messages
            .iter()
            .flat_map(|m| &m.tool_calls)
            .all(|c| c.output.is_some()),
        "every call is paired with its result"
    );
    assert!(t.usage.is_some_and(|u| u.output_tokens > 0));
}

// Codex. Messages: response_item payloads of type message, function_call, custom_tool_call,
// and reasoning with a non-empty summary:
//   jq -s '[.[] | select(.type=="response_item" and (.payload.type=="message" or .payload.type=="function_call"
//          or .payload.type=="custom_tool_call" or (.payload.type=="reasoning" and ((.payload.summary // [])|length)>0)))] | length'
// Tool calls: the function_call and custom_tool_call items.
// Edits: jq -r 'select(.type=="response_item" and (.payload.type=="function_call" or .payload.type=="custom_tool_call"))
//          | (.payload.arguments // .payload.input)' | grep -o '\*\*\* \(Update\|Add\|Delete\) File: ' | wc -l
//        → 4, and the files of the successful patch a code-mode `exec` call applied:
//        jq -c 'select(.payload.type=="patch_apply_end" and .payload.success) | .payload.changes | keys' → 2
#[test]
fn codex_rollout() {
    let t = load("codex/vibecodingtracker_codex.jsonl", Format::Codex);
    counts(&t, 30, 19, 6);
    stamps(&t, "2025-09-19T09:02:12.512Z", "2025-09-19T09:09:30.000Z");
    assert_eq!(
        t.commit.as_deref(),
        Some("87d292ac346e58c85dc4eef0a8dd13bd02ec0c7f")
    );
    assert_eq!(t.branch.as_deref(), Some("main"));
    assert_eq!(t.agent.version.as_deref(), Some("0.39.0"));
    assert_eq!(t.models, ["aide-gpt-5"]);
    let paths: Vec<_> = t
        .messages
        .iter()
        .flat_map(|m| &m.edits)
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "go.mod",
            "README.zh-TW.md",
            "README.zh-CN.md",
            ".python-version",
            "core/version.go",
            "docs/RELEASE_NOTES.md"
        ]
    );
}

// Gemini JSONL. Messages: distinct ids (a repeated id replaces the earlier version):
//   jq -s '[.[] | select(.id)] | group_by(.id) | length'
// Tool calls: jq -s '[.[] | select(.id)] | group_by(.id) | map(.[-1].toolCalls // [] | length) | add'
// Edits: the same, counting tool calls named write_file, replace or edit.
// Start and end: the header's startTime and the last `$set` lastUpdated.
#[test]
fn gemini_jsonl_with_set_updates_and_repeated_ids() {
    let t = load(
        "gemini-cli/vibecodingtracker_gemini.jsonl",
        Format::GeminiJsonl,
    );
    counts(&t, 11, 12, 2);
    assert_eq!(t.started_at.as_deref(), Some("2026-04-23T12:52:52.759Z"));
    assert_eq!(t.ended_at.as_deref(), Some("2026-04-23T12:58:35.591Z"));
    assert_eq!(
        t.messages[0].timestamp.as_deref(),
        Some("2026-04-23T12:53:02.597Z")
    );
}

// Gemini legacy: jq '.messages|length', jq '[.messages[].toolCalls // [] | length] | add',
// jq '[.messages[].toolCalls // [] | .[] | select(.name=="write_file" or .name=="replace" or .name=="edit")] | length'.
#[test]
fn gemini_legacy_single_object() {
    let t = load(
        "gemini-cli/vibecodingtracker_gemini_legacy_single_object.json",
        Format::GeminiJson,
    );
    counts(&t, 4, 7, 4);
    assert_eq!(t.started_at.as_deref(), Some("2026-03-27T10:19:12.584Z"));
    assert_eq!(t.ended_at.as_deref(), Some("2026-03-27T10:22:00.022Z"));
}

// Copilot events. Messages: jq -s '[.[] | select(.type=="system.message" or .type=="user.message"
// or .type=="assistant.message")] | length' (10), plus one per call that no assistant message requested
// (a sub-agent's), which appears only as tool.execution_start (2):
//   jq -s '([.[]|select(.type=="assistant.message")|.data.toolRequests[]?.toolCallId]) as $req
//          | [.[]|select(.type=="tool.execution_start" and ((.data.toolCallId) as $id | $req | index($id) | not))] | length'
// Tool calls: jq -s '[.[] | select(.type=="tool.execution_start")] | length' (13); edits: calls named
// edit, create or write. Start: session.start's data.startTime; end: session.shutdown's timestamp.
#[test]
fn copilot_events() {
    let t = load(
        "copilot-cli/vibecodingtracker_copilot.jsonl",
        Format::CopilotJsonl,
    );
    counts(&t, 12, 13, 0);
    assert_eq!(t.started_at.as_deref(), Some("2026-04-23T17:08:08.893Z"));
    assert_eq!(t.ended_at.as_deref(), Some("2026-04-23T17:18:20.178Z"));
    assert_eq!(t.models, ["claude-sonnet-4.6"]);
    assert_eq!(t.usage.map(|u| u.input_tokens), Some(186_809));
}

// Copilot legacy: one message per timeline item, jq '.timeline|length'; tool calls:
// jq '[.timeline[]|select(.type=="tool_call_completed")]|length'; edits: those of str_replace_editor
// whose arguments.command is str_replace, create or insert; timestamps: .timeline[0] and [-1].
#[test]
fn copilot_legacy() {
    let t = load(
        "copilot-cli/vibecodingtracker_copilot_legacy.json",
        Format::CopilotJson,
    );
    counts(&t, 23, 15, 7);
    stamps(&t, "2025-10-11T12:54:53.532Z", "2025-10-11T12:55:58.153Z");
}

// aider. Messages: runs of lines of one role, where `#### ` lines ending in aider's Markdown line
// break (two spaces) are the user's (a `#### Assistant:` line without one is not), everything
// before a session's first request is start-up output (system), `> ` lines are tool output and
// other non-blank lines the assistant's:
//   awk '/^# aider chat started at /{cur="";seen=0;next} {if ($0 ~ /^[[:space:]]*$/) r=""; else if ($0 ~ /^#### .*  $/
//        || $0=="####") r="user"; else if (!seen) r="system"; else if ($0 ~ /^> / || $0==">") r="tool";
//        else r="assistant"; if (r=="user") seen=1; if (r!="" && r!=cur) {t++; cur=r}} END {print t}'
// Edits: grep -c '^<<<<<<< SEARCH'
#[test]
fn aider_history() {
    let t = load(
        "aider/codegenie-mongodb-task.aider.chat.history.md",
        Format::Aider,
    );
    counts(&t, 5, 0, 2);
    assert_eq!(t.started_at.as_deref(), Some("2025-12-07 22:05:07"));
    assert_eq!(t.agent.version.as_deref(), Some("0.86.1"));
    assert_eq!(t.models, ["gpt-4o"]);
}

// SpecStory. Messages: grep -cE '^_\*\*(User|Assistant)( \(.*\))?\*\*_$'; tool calls: grep -c '<summary>'.
#[test]
fn specstory_exports() {
    let t = load(
        "specstory/minsky_2025-04-26_22-29-task-management-command-design.md",
        Format::SpecStory,
    );
    counts(&t, 48, 15, 0);
    let t = load(
        "specstory/minsky_2025-04-27_19-26-enhancing-minsky-cli-task-id-for-session-start.md",
        Format::SpecStory,
    );
    counts(&t, 14, 4, 0);
    // `# Enhancing Minsky CLI: Task ID for Session Start (2025-04-27 15:26:44)`: the title and
    // when the session began.
    assert_eq!(
        t.title.as_deref(),
        Some("Enhancing Minsky CLI: Task ID for Session Start")
    );
    assert_eq!(t.started_at.as_deref(), Some("2025-04-27 15:26:44"));
}

// Cursor. Messages: grep -cE '^\*\*(User|Cursor)\*\*$'.
#[test]
fn cursor_export() {
    let t = load(
        "cursor/cursor_export_generic_vs_secretary_worker.md",
        Format::Cursor,
    );
    counts(&t, 2, 0, 0);
    assert_eq!(t.agent.version.as_deref(), Some("1.4.5"));
}
