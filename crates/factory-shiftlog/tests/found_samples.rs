//! Real sessions of the formats added on 2026-12-02 (`fixtures/real/`, sources in
//! `fixtures/real/SOURCES.md`): each is recognised by its content and imports with the counts
//! an independent reading of the file gives (the `jq` command beside each test).

use factory_shiftlog::{Format, Transcript, import};

fn load(name: &str, format: Format) -> Transcript {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(Format::detect(&text), Some(format), "{name} detected as");
    import(name, &text, None).unwrap_or_else(|e| panic!("{e}"))
}

#[track_caller]
fn counts(t: &Transcript, messages: usize, tools: usize, edits: usize) {
    assert_eq!(
        (t.messages.len(), t.tool_call_count(), t.edit_count()),
        (messages, tools, edits),
        "(messages, tool calls, edits)"
    );
}

// Messages: jq -s '[.[] | select(.type=="user" or .type=="assistant")] | length'  → 3
// Calls:    jq -s '[.[] | select(.type=="tool_call" and .subtype=="started")] | length' → 2
// Outputs:  jq -s '[.[] | select(.type=="tool_call" and .subtype=="completed")] | length' → 2
#[test]
fn cursor_cli_direct_sleep() {
    let t = load("cursor-cli_direct-sleep.jsonl", Format::CursorCli);
    counts(&t, 3, 2, 0);
    assert_eq!(t.session_id, "d43015b9-0707-43f4-b2df-0bcea7891654");
    assert_eq!(t.cwd.as_deref(), Some("/home/user/project"));
    assert!(t.models.is_empty(), "`Auto` is no model: {:?}", t.models);
    let calls: Vec<_> = t.messages.iter().flat_map(|m| &m.tool_calls).collect();
    assert!(
        calls
            .iter()
            .all(|c| c.name == "shell" && c.output.is_some())
    );
    // The thinking deltas (jq '[.[] | select(.type=="thinking") | .text] | add') are kept.
    assert!(
        t.messages[1]
            .thinking
            .as_deref()
            .unwrap()
            .starts_with("**Planning")
    );
}

// Messages 1 user + 2 assistant; 1 call started and completed.
#[test]
fn cursor_cli_subagent_sleep() {
    let t = load("cursor-cli_subagent-sleep-v2.jsonl", Format::CursorCli);
    counts(&t, 3, 1, 0);
    let call = &t.messages[1].tool_calls[0];
    assert_eq!(call.input["command"], "sleep 10");
    assert!(call.input.get("parsingResult").is_none());
}

// jq -c '[.type, .role, .tool_name]': init, 3 tool_use/tool_result pairs (read_file, replace,
// read_file), one assistant delta; no user message. → an assistant turn holding the 3 calls
// (the `replace` an edit), then the reply.
#[test]
fn gemini_stream_0_11_edit() {
    let t = load("gemini-stream_0.11_edit-file.jsonl", Format::GeminiStream);
    counts(&t, 2, 3, 1);
    assert!(t.messages[0].tool_calls.iter().all(|c| c.output.is_some()));
}

// init (model `auto`), a user message, one shell call with its result, one reply; the
// result's stats.models name two models: jq '.stats.models | keys' → gemini-3.1-flash-lite,
// gemini-3.5-flash; input without the cache: .stats.input → 14800.
#[test]
fn gemini_stream_0_53_shell() {
    let t = load("gemini-stream_0.53.1_shell.jsonl", Format::GeminiStream);
    counts(&t, 3, 1, 0);
    assert_eq!(t.models, ["gemini-3.1-flash-lite", "gemini-3.5-flash"]);
    let u = t.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.cache_read_tokens),
        (14800, 74, 8115)
    );
    assert_eq!(t.messages[2].text, "amux-fixture");
    // jq -c 'select(.type=="result") | .timestamp': the session ends with its result.
    assert_eq!(t.ended_at.as_deref(), Some("2026-08-09T15:23:28.211Z"));
}

// One text part; the step-finish tokens: input 17913, output 9 + reasoning 29, cache read 1664.
#[test]
fn opencode_run_events() {
    let t = load("opencode-1.17.20_run.ndjson", Format::OpenCode);
    counts(&t, 1, 0, 0);
    assert_eq!(t.session_id, "ses_09ec7fc10ffekAtgUWHv9M6Y0T");
    assert_eq!(t.messages[0].text, "alpha\nbravo\ncharlie");
    let u = t.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.cache_read_tokens),
        (17913, 38, 1664)
    );
}

// grep -o '"type":"[a-zA-Z]*"': 3 message events (text "4"; a toolRequest; a user message
// holding only its toolResponse, folded into the call) → 2 messages, 1 call with its output.
#[test]
fn goose_run_stream() {
    let t = load("goose-1.25_run-stream.jsonl", Format::Goose);
    counts(&t, 2, 1, 0);
    assert_eq!(t.messages[1].tool_calls[0].name, "developer__shell");
    assert!(t.messages[1].tool_calls[0].output.is_some());
}

// The metadata line (working_dir, accumulated tokens 1378998 / 14657) and one user message.
#[test]
fn goose_legacy_session() {
    let t = load("goose_legacy-session-head.jsonl", Format::Goose);
    counts(&t, 1, 0, 0);
    assert_eq!(t.cwd.as_deref(), Some("/home/skogix"));
    let u = t.usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (1378998, 14657));
}

// Two assistant messages, each with one text-editor `write` request: 2 calls, 2 edits.
#[test]
fn goose_exported_messages() {
    let t = load("goose_messages.json", Format::Goose);
    counts(&t, 2, 2, 2);
    assert!(t.messages.iter().all(|m| m.edits[0].path.ends_with(".txt")));
}

// jq -c '[.type, .operation, .message.role]': enqueue, dequeue, user, assistant, last-prompt →
// the dequeued prompt is the user line that follows: one prompt, one reply.
#[test]
fn claude_code_queued_prompt_is_one_prompt() {
    let t = load("claude-code-2.1_queued-prompt.jsonl", Format::ClaudeCode);
    counts(&t, 2, 0, 0);
    assert_eq!(t.messages[0].role, factory_shiftlog::Role::User);
}

// jq -c '[.type, .payload.type, .payload.role]': a developer message and the environment
// context (context, system), one user message, one assistant message.
#[test]
fn codex_0_135_context_is_not_the_users() {
    let t = load("codex-0.135_session.jsonl", Format::Codex);
    counts(&t, 4, 0, 0);
    let users = t
        .messages
        .iter()
        .filter(|m| m.role == factory_shiftlog::Role::User)
        .count();
    assert_eq!(users, 1);
}

// jq -c '.messages[] | [.type, (.content|type), (.toolCalls|length)]': 7 messages, 2 tool calls;
// the two `model` turns have null content and their text in parts.
#[test]
fn gemini_model_turns_keep_their_parts() {
    let t = load("gemini_model-parts.json", Format::GeminiJson);
    counts(&t, 7, 2, 0);
    assert!(
        t.messages
            .iter()
            .all(|m| !m.text.trim().is_empty() || !m.tool_calls.is_empty())
    );
}

// jq '.type' | sort | uniq -c: 2 user.message, 5 assistant.message, 1 system.message; 4
// tool.execution_complete, two of them for calls the trimmed file does not hold.
#[test]
fn copilot_results_of_unknown_calls_lose_nothing_else() {
    let t = load("copilot-1.0.77_trimmed-ids.jsonl", Format::CopilotJsonl);
    counts(&t, 8, 4, 0);
}

#[test]
fn an_aider_history_without_a_request_is_an_error() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real/aider-0.86_no-request.aider.chat.history.md");
    let err = factory_shiftlog::import_path(&path, None).unwrap_err();
    assert!(
        err.to_string().contains("no request in this aider history"),
        "{err}"
    );
}

// jq -c 'select(.type=="assistant") | .message.content[] | [.type, ((.text // .thinking // "") | length)]':
// two thinking blocks of only a signature (length 0), two tool calls, one text; user lines: the
// prompt, a skill's instructions (isMeta), and the two tool results. No turn is empty.
#[test]
fn claude_code_signature_only_thinking_is_no_turn() {
    use factory_shiftlog::Role;
    let t = load(
        "claude-code-2.1.126_signature-only-thinking.jsonl",
        Format::ClaudeCode,
    );
    counts(&t, 5, 2, 0);
    let roles: Vec<Role> = t.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles.iter().filter(|r| **r == Role::User).count(), 1);
    assert_eq!(roles.iter().filter(|r| **r == Role::System).count(), 1);
    assert!(t.messages.iter().all(|m| m.thinking.is_none()));
    assert!(
        t.messages
            .iter()
            .all(|m| !m.text.trim().is_empty() || !m.tool_calls.is_empty())
    );
    assert_eq!(t.session_id, "0821f1d4-dcf3-4f60-9f32-f6de4987a6ea");
}

// jq -c '[.type, .isApiErrorMessage, .message.model]': the prompt twice, each answered by a
// `<synthetic>` "Credit balance is too low" marked isApiErrorMessage: the program's, not a model's.
#[test]
fn claude_code_api_errors_are_the_programs() {
    use factory_shiftlog::Role;
    let t = load("claude-code-2.0.31_credit-errors.jsonl", Format::ClaudeCode);
    let roles: Vec<Role> = t.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::System, Role::User, Role::System]);
    assert!(t.models.is_empty(), "{:?}", t.models);
}

// A SpecStory 2.1 export of a Codex CLI session that holds only the prompt (head -8): recognised
// by SpecStory's comment, the agent and session id from the session comment.
#[test]
fn specstory_prompt_only_export_names_its_agent() {
    let t = load("specstory-2.1_codex-prompt-only.md", Format::SpecStory);
    counts(&t, 1, 0, 0);
    assert_eq!(t.agent.name, "codex");
    assert_eq!(t.session_id, "019fd8dc-387c-7b92-9abe-dc5979002ba6");
    assert_eq!(t.started_at.as_deref(), Some("2026-08-06 20:56:34Z"));
}

// grep -c '^_\*\*User' → 2; grep -c '^_\*\*Agent' → 32 (each `(gpt-5.1-codex-max TIME)`);
// grep -c '<summary>Tool use' → 16; grep -c 'Thought Process' → 14.
#[test]
fn specstory_2_headers_give_model_and_time() {
    use factory_shiftlog::Role;
    let t = load("specstory-2.1_codex-model-and-time.md", Format::SpecStory);
    counts(&t, 34, 16, 0);
    assert_eq!(t.models, ["gpt-5.1-codex-max"]);
    let agent = t
        .messages
        .iter()
        .find(|m| m.role == Role::Assistant)
        .unwrap();
    assert_eq!(agent.timestamp.as_deref(), Some("2025-12-05T01:38:42.132Z"));
    let thoughts = t.messages.iter().filter(|m| m.thinking.is_some()).count();
    assert_eq!(thoughts, 14);
    // The reasoning is kept apart, never left in the text (the policy may drop it).
    assert!(
        t.messages
            .iter()
            .all(|m| !m.text.contains("Thought Process"))
    );
    assert!(
        t.messages
            .iter()
            .flat_map(|m| &m.tool_calls)
            .all(|c| !c.name.is_empty())
    );
}

// jq -c '.[] | {role, ts, m: .modelInfo.modelId, n: ([.content[] | select(.type=="tool_use")] | length)}'
// over the 26 turns: 13 assistant turns with 15 tool calls (each turn's `[tool for …] Result:`
// texts answer 14 of them; the last has no answer), one user message (the new message of the
// resumed task), Cline's notices ([TASK RESUMPTION], task_progress, TODO LIST UPDATE) in three
// turns; model claude_4_5_opus; tokens: jq '[.[] | .metrics.tokens.prompt // 0] | add' → 637583,
// completion → 7688.
#[test]
fn cline_api_history_keeps_time_model_tokens_and_the_users_words() {
    use factory_shiftlog::Role;
    let t = load("cline-3.x_api-history-messages-14-39.json", Format::Cline);
    let n = |r: Role| t.messages.iter().filter(|m| m.role == r).count();
    assert_eq!(
        (n(Role::User), n(Role::Assistant), n(Role::System)),
        (1, 13, 3)
    );
    assert_eq!(t.tool_call_count(), 15);
    let answered = t
        .messages
        .iter()
        .flat_map(|m| &m.tool_calls)
        .filter(|c| c.output.is_some())
        .count();
    assert_eq!(answered, 14);
    assert_eq!(t.models, ["claude_4_5_opus"]);
    let u = t.usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (637_583, 7_688));
    assert_eq!(t.started_at.as_deref(), Some("2026-04-28T03:00:46.657Z"));
    let user = t.messages.iter().find(|m| m.role == Role::User).unwrap();
    assert!(!user.text.contains("TASK RESUMPTION"), "{}", user.text);
}

// jq -c '.messages[] | [.type, (.content | if type=="array" then map(keys[0]) else type end),
// (.toolCalls | length), (.thoughts | length)]' over the first 24 messages: the session context,
// an `info` notice, the CLI's plan-mode notice, one prompt; 10 `gemini` turns with 11 tool calls,
// 5 of them with thoughts; 10 user entries that only return `functionResponse` parts.
#[test]
fn gemini_cli_context_notices_and_bare_results_are_not_prompts() {
    use factory_shiftlog::Role;
    let t = load(
        "gemini-cli_session-context-first24.json",
        Format::GeminiJson,
    );
    let n = |r: Role| t.messages.iter().filter(|m| m.role == r).count();
    assert_eq!(
        (n(Role::User), n(Role::Assistant), n(Role::System)),
        (1, 10, 3)
    );
    assert_eq!(t.tool_call_count(), 11);
    assert_eq!(
        t.messages.iter().filter(|m| m.thinking.is_some()).count(),
        5
    );
    assert!(t.messages[0].text.starts_with("<session_context>"));
}

// jq -c 'select(.type | test("message|tool.execution")) | [.type, .data.reasoningText != null,
// .data.success, .data.error.message]': a system message, the prompt, two replies with their
// reasoning, two calls that failed with `"path": Required`.
#[test]
fn copilot_reasoning_and_failed_calls_are_kept() {
    let t = load(
        "copilot-1.0.78_failed-calls.events.jsonl",
        Format::CopilotJsonl,
    );
    counts(&t, 4, 2, 0);
    assert_eq!(
        t.messages.iter().filter(|m| m.thinking.is_some()).count(),
        2
    );
    for call in t.messages.iter().flat_map(|m| &m.tool_calls) {
        assert!(call.is_error);
        assert_eq!(call.output.as_deref(), Some("\"path\": Required"));
    }
}

// jq -r '.type' | sort | uniq -c → 5 summary: a file of summaries only imports them as context
// (what it holds), not as an error and not as prompts.
#[test]
fn claude_code_file_of_summaries_only_keeps_them() {
    let t = load("claude-code-1.0_summaries-only.jsonl", Format::ClaudeCode);
    counts(&t, 5, 0, 0);
    assert!(
        t.messages
            .iter()
            .all(|m| m.role == factory_shiftlog::Role::System)
    );
    assert_eq!(
        t.messages[0].text,
        "AI Assistant Capabilities and Tool Overview"
    );
}

// jq -c '[.type, .isMeta, (.message.content | tostring | .[:40])]': a caveat (isMeta), the
// `/login` command, and its `<local-command-stdout>`: the person typed `/login`; the rest is the
// program's.
#[test]
fn claude_code_local_command_output_is_the_programs() {
    use factory_shiftlog::Role;
    let t = load("claude-code-2.1.117_login-only.jsonl", Format::ClaudeCode);
    let roles: Vec<(Role, &str)> = t
        .messages
        .iter()
        .map(|m| (m.role, m.text.as_str()))
        .collect();
    assert_eq!(roles.len(), 3, "{roles:?}");
    assert_eq!(roles[1], (Role::User, "/login"));
    assert_eq!(roles[2].0, Role::System);
    assert!(roles[2].1.contains("Login interrupted"));
}

// A sub-agent's own file (`subagents/…/agent-a12cea4a990e7e508.jsonl`): every line isSidechain
// with `agentId`, and the parent's `sessionId` 3e89eb15-…. Usage: per `message.id` the largest
// output_tokens: jq -s 'group_by(.message.id) | map(select(.[0].message.id) |
// map(.message.usage.output_tokens // 0) | max) | add' → 181.
#[test]
fn claude_code_subagent_file_is_a_session_of_its_own() {
    let t = load(
        "claude-code-2.1.167_subagent-file.jsonl",
        Format::ClaudeCode,
    );
    assert_eq!(
        t.session_id,
        "3e89eb15-32e7-43f8-8734-8d47310263ea:agent-a12cea4a990e7e508"
    );
    assert!(t.messages.iter().all(|m| m.sidechain));
    assert_eq!(t.usage.unwrap().output_tokens, 181);
}

// jq -r '.type' | uniq -c: a snapshot, the prompt "hello", 8 `system` lines of subtype
// api_error (retries 1 to 8 of 10), no reply: the errors are kept as the program's notices.
#[test]
fn claude_code_api_error_retries_are_kept() {
    use factory_shiftlog::Role;
    let t = load("claude-code-2.1.76_api-errors.jsonl", Format::ClaudeCode);
    let errors: Vec<&str> = t
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(errors.len(), 8);
    assert!(
        errors[0].starts_with("API error: your current token plan not support model"),
        "{}",
        errors[0]
    );
    assert!(errors[0].ends_with("(retry 1 of 10)"), "{}", errors[0]);
    assert!(t.ended_at > t.started_at);
}

// jq -c 'select(.type=="assistant") | .message.content[] | select(.type=="tool_use") | .name'
// → 8 Bash, 1 Edit, 2 Read; the Edit's result is an error (permission not granted), so it
// edited nothing; the only user line is a Stop hook's feedback marked isSynthetic; usage: the
// `result` line's modelUsage (jq -c 'select(.type=="result") | .modelUsage').
#[test]
fn claude_code_stream_json_capture() {
    use factory_shiftlog::Role;
    let t = load("claude-code-2.1.138_stream-json.jsonl", Format::ClaudeCode);
    assert_eq!(t.agent.name, "claude-code");
    assert_eq!(t.tool_call_count(), 11);
    assert_eq!(t.edit_count(), 0, "a refused Edit is no edit");
    assert!(
        t.messages.iter().all(|m| m.role != Role::User),
        "no prompt the person wrote"
    );
    assert!(
        t.messages
            .iter()
            .any(|m| m.role == Role::System && m.text.starts_with("Stop hook feedback"))
    );
    let u = t.usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (10_386, 1_206));
}

// jq -c '{role, t: .message.content[0].text[:40]}': 4 prompts in `<user_query>`, 8 assistant
// lines of which 3 are only `[REDACTED]` (withheld reasoning): 4 prompts, 5 replies.
#[test]
fn cursor_editor_agent_transcript() {
    use factory_shiftlog::Role;
    let t = load(
        "cursor-editor_agent-transcript-first12.jsonl",
        Format::CursorCli,
    );
    let n = |r: Role| t.messages.iter().filter(|m| m.role == r).count();
    assert_eq!((n(Role::User), n(Role::Assistant)), (4, 5));
    assert!(t.messages[0].text.starts_with("i need primitve ideas"));
    assert!(t.messages.iter().all(|m| !m.text.contains("[REDACTED]")));
}

// jq -s '[.[] | select(.type=="message") | .message.role] | group_by(.)': 3 user, 7 assistant
// (5 `toolCall` blocks; output tokens add up to 890, cache reads to 64576), 5 toolResult.
#[test]
fn pi_coding_agent_session() {
    use factory_shiftlog::Role;
    let t = load("pi_session-first16.jsonl", Format::Pi);
    let n = |r: Role| t.messages.iter().filter(|m| m.role == r).count();
    assert_eq!((n(Role::User), n(Role::Assistant)), (3, 7));
    assert_eq!(t.tool_call_count(), 5);
    assert!(
        t.messages
            .iter()
            .flat_map(|m| &m.tool_calls)
            .all(|c| c.output.is_some())
    );
    let u = t.usage.unwrap();
    assert_eq!((u.output_tokens, u.cache_read_tokens), (890, 64_576));
    assert_eq!(t.models, ["claude-opus-4-5"]);
    assert_eq!(t.session_id, "5fd1e58c-9635-410e-a644-133a96057c90");
}
