//! Agent Trace export: the record of one commit in the Agent Trace format (version 0.1,
//! agent-trace.dev): for each file the commit changed, the line ranges it added, attributed to
//! the conversation that produced them — an agent (`ai`, with the session's model) or a person
//! (`human`). factory's own data (the sessions, the agent, the Agent trailer) goes under
//! `metadata`, the one place the format leaves open.

use factory_git::{ObjectId, Repo};
use factory_policy::{Origin, Policy};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::GateError;

/// The version of the Agent Trace format written.
pub const VERSION: &str = "0.1";

/// A UUID (version 8, RFC 9562) derived from the commit id: the same commit always gets the
/// same record id.
fn record_id(commit: ObjectId) -> String {
    let h = Sha256::digest(format!("factory.agent-trace/{commit}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A model name in the models.dev convention (`provider/model`), when the provider is known
/// from the name; otherwise the name as the transcript gives it.
pub fn model_id(model: &str) -> String {
    if model.contains('/') {
        return model.to_owned();
    }
    let m = model.to_ascii_lowercase();
    let provider = if m.starts_with("claude") {
        "anthropic"
    } else if m.starts_with("gpt")
        || m.starts_with("o1")
        || m.starts_with("o3")
        || m.starts_with("o4")
        || m.contains("codex")
    {
        "openai"
    } else if m.starts_with("gemini") || m.starts_with("gemma") {
        "google"
    } else if m.starts_with("qwen") {
        "alibaba"
    } else if m.starts_with("grok") {
        "xai"
    } else if m.starts_with("mistral") || m.starts_with("codestral") || m.starts_with("devstral") {
        "mistral"
    } else if m.starts_with("deepseek") {
        "deepseek"
    } else {
        return model.to_owned();
    };
    format!("{provider}/{model}")
}

/// A file and the line ranges (1-based, inclusive) a commit added to it.
type FileRanges = (String, Vec<(u64, u64)>);

/// The new-side line ranges (1-based, inclusive) each file gained in `commit` against its
/// first parent (the empty tree for a root commit), from git's zero-context diff.
fn added_ranges(repo: &Repo, commit: ObjectId) -> Result<Vec<FileRanges>, GateError> {
    let parent = repo.parents(commit)?.first().map(ToString::to_string);
    let empty = "4b825dc642cb6eb9a060e54bf8d69288fbee4904".to_owned();
    let from = parent.unwrap_or(empty);
    let diff = repo.git(
        &[
            "diff",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            &from,
            &commit.to_string(),
        ],
        None,
    )?;
    let mut out: Vec<FileRanges> = Vec::new();
    for line in diff.lines() {
        if let Some(path) = line.strip_prefix("+++ b/") {
            out.push((path.to_owned(), Vec::new()));
        } else if line.starts_with("+++ /dev/null") {
            out.push((String::new(), Vec::new()));
        } else if let Some(rest) = line.strip_prefix("@@ ") {
            // `@@ -a[,b] +c[,d] @@`
            let Some(new) = rest.split_whitespace().find(|p| p.starts_with('+')) else {
                continue;
            };
            let new = &new[1..];
            let (start, count) = match new.split_once(',') {
                Some((s, c)) => (s.parse::<u64>().unwrap_or(0), c.parse::<u64>().unwrap_or(0)),
                None => (new.parse::<u64>().unwrap_or(0), 1),
            };
            if count > 0
                && start > 0
                && let Some((_, ranges)) = out.last_mut()
            {
                ranges.push((start, start + count - 1));
            }
        }
    }
    out.retain(|(path, ranges)| !path.is_empty() && !ranges.is_empty());
    Ok(out)
}

/// The Agent Trace record of `commit` under `policy` (which recognises agent commits).
pub fn record(repo: &Repo, policy: &Policy, commit: ObjectId) -> Result<Value, GateError> {
    let raw = repo.raw_commit(commit)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let header = text.split_once("\n\n").map_or(text.as_str(), |(h, _)| h);
    let facts = crate::facts_of_raw(&raw);
    let (origin, _, agent) = policy.origin(&facts);
    let time = header
        .lines()
        .find_map(|l| l.strip_prefix("committer "))
        .and_then(|c| c.rsplit(' ').nth(1))
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(0);
    let sessions = crate::transcripts::of(repo, commit)?;
    let mut files = Vec::new();
    for (path, ranges) in added_ranges(repo, commit)? {
        let session = sessions
            .iter()
            .find(|t| crate::transcripts::touches_any(t, std::slice::from_ref(&path)))
            .or(sessions.first());
        let mut contributor = json!({
            "type": if origin == Origin::Agent { "ai" } else { "human" },
        });
        if origin == Origin::Agent
            && let Some(model) = session.and_then(|t| t.models.first())
        {
            contributor["model_id"] = json!(model_id(model).chars().take(250).collect::<String>());
        }
        files.push(json!({
            "path": path,
            "conversations": [{
                "contributor": contributor,
                "ranges": ranges
                    .iter()
                    .map(|(s, e)| json!({ "start_line": s, "end_line": e }))
                    .collect::<Vec<_>>(),
            }],
        }));
    }
    let sessions_meta: Vec<Value> = sessions
        .iter()
        .map(|t| {
            json!({
                "session_id": t.session_id,
                "agent": t.agent.name,
                "format": t.source.format,
                "models": t.models,
                "digest": t.digest,
            })
        })
        .collect();
    Ok(json!({
        "version": VERSION,
        "id": record_id(commit),
        "timestamp": factory_trust::civil::rfc3339(time),
        "vcs": { "type": "git", "revision": commit.to_string() },
        "tool": { "name": "factory", "version": env!("CARGO_PKG_VERSION") },
        "files": files,
        "metadata": {
            "factory": {
                "origin": origin.as_str(),
                "agent": agent,
                "sessions": sessions_meta,
                "notes_ref": factory_git::TRANSCRIPTS_REF,
            }
        },
    }))
}
