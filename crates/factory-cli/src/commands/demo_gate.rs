//! The second half of `factory demo`: the gate at work on the demo repository. A bare server
//! with factory's pre-receive hook, a team of two adopting a policy, an agent's endpoint
//! refused with its reasons, approved by the other person, and landed — real pushes, real
//! signatures.

use std::path::Path;
use std::process::Command;

use factory_gate::statement::{self, Request};
use factory_git::Repo;
use factory_trust::Signer;
use factory_trust::approval::Kind;

use crate::error::CliError;
use crate::ui::Ui;

fn run(dir: &Path, program: &str, args: &[&str], date: &str) -> Result<String, CliError> {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Alice Maintainer")
        .env("GIT_AUTHOR_EMAIL", "alice@example.com")
        .env("GIT_COMMITTER_NAME", "Alice Maintainer")
        .env("GIT_COMMITTER_EMAIL", "alice@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .map_err(|e| CliError::internal(format!("the demo needs the `{program}` program: {e}")))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && program != "git" {
        return Err(CliError::internal(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            text.trim()
        )));
    }
    Ok(text)
}

/// The server's verdict lines of a push (`remote: factory: …`), as the pusher sees them.
fn verdict(push: &str) -> Vec<String> {
    push.lines()
        .filter_map(|l| l.strip_prefix("remote: factory: "))
        .map(|l| format!("    {}", l.trim_end()))
        .collect()
}

/// A new Ed25519 key pair under `dir`; returns the private key's path and the public key.
fn key(dir: &Path, name: &str) -> Result<(std::path::PathBuf, String), CliError> {
    let path = dir.join(name);
    run(
        dir,
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            &format!("{name}@example.com"),
            "-f",
            &path.display().to_string(),
        ],
        "",
    )?;
    let public = std::fs::read_to_string(path.with_extension("pub"))
        .map_err(|e| CliError::internal(format!("{}: {e}", path.display())))?;
    Ok((path, public.trim().to_owned()))
}

/// Runs the gate half of the demo in `dir` (the demo repository), with the server and keys
/// beside it in `beside`.
pub(crate) fn walk(ui: &mut Ui, dir: &Path, beside: &Path) -> Result<(), CliError> {
    let io = |e: std::io::Error| CliError::internal(e.to_string());
    std::fs::create_dir_all(beside).map_err(io)?;
    let server = beside.join("server.git");
    let keys = beside.join("keys");
    std::fs::create_dir_all(&keys).map_err(io)?;
    let day = "2026-01-06T09:00:00Z";
    ui.outln("\nThe gate: a server with factory's pre-receive hook, and a team of two.")?;
    run(
        beside,
        "git",
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            "server.git",
        ],
        day,
    )?;
    let factory = std::env::current_exe().map_err(io)?;
    factory_gate::hooks::install(&Repo::discover(&server)?, "pre-receive", &factory)
        .map_err(|e| CliError::internal(e.to_string()))?;
    let (_, alice) = key(&keys, "alice")?;
    let (bob_key, bob) = key(&keys, "bob")?;
    let mut policy = factory_policy::DEFAULT_POLICY.text.to_owned();
    for (handle, roles, public) in [
        ("alice", "maintainer\", \"validation-architect", &alice),
        ("bob", "maintainer\", \"domain-expert", &bob),
    ] {
        policy.push_str(&format!(
            "\n[people.{handle}]\nemail = \"{handle}@example.com\"\nroles = [\"{roles}\"]\nkeys = [\"{public}\"]\n"
        ));
    }
    std::fs::create_dir_all(dir.join(".factory")).map_err(io)?;
    std::fs::write(dir.join(".factory/policy.toml"), policy).map_err(io)?;
    run(dir, "git", &["add", ".factory"], day)?;
    run(
        dir,
        "git",
        &["commit", "--quiet", "-m", "Adopt factory"],
        day,
    )?;
    run(
        dir,
        "git",
        &["remote", "add", "origin", &server.display().to_string()],
        day,
    )?;
    let push = |when: &str| {
        run(
            dir,
            "git",
            &[
                "push",
                "--quiet",
                "origin",
                "main",
                "refs/notes/factory/*:refs/notes/factory/*",
            ],
            when,
        )
    };
    ui.outln("  alice adopts factory (alice: maintainer, validation-architect; bob: maintainer, domain-expert) and pushes:")?;
    for l in verdict(&push(day)?) {
        ui.outln(&l)?;
    }

    // An agent's endpoint, with its session.
    let when = "2026-01-06T10:00:00Z";
    std::fs::write(
        dir.join("src/api/refunds.rs"),
        "use axum::{routing::post, Router};\n\npub fn routes() -> Router {\n    Router::new().route(\"/refunds\", post(crate::refunds::create))\n}\n",
    )
    .map_err(io)?;
    run(dir, "git", &["add", "src"], when)?;
    run(
        dir,
        "git",
        &[
            "commit",
            "--quiet",
            "-m",
            "Add POST /refunds\n\nAgent: claude-code/2.0.14\nRequested-By: alice\n",
        ],
        when,
    )?;
    let repo = Repo::discover(dir)?;
    let tip = repo.resolve_commit("HEAD")?;
    let (policy, _, _) =
        factory_gate::base_policy(&repo, tip).map_err(|e| CliError::internal(e.to_string()))?;
    let session = "# aider chat started at 2026-01-06 09:55:00\n\n#### Add POST /refunds\n\nI added the route in src/api/refunds.rs.\n";
    factory_gate::transcripts::attach(
        &repo,
        tip,
        &policy,
        &[("refunds-session.md".to_owned(), session.to_owned())],
        None,
    )
    .map_err(|e| CliError::internal(e.to_string()))?;
    ui.outln("  an agent adds POST /refunds for alice, its session attached; the push:")?;
    for l in verdict(&push(when)?) {
        ui.outln(&l)?;
    }

    // Bob approves: a signed statement on the commit's note, then the push lands.
    run(dir, "git", &["fetch", "--quiet", "origin"], when)?;
    let made = statement::make(
        &repo,
        &Request {
            tip,
            base: None,
            role: Some("maintainer".into()),
            kind: Kind::Approve,
            comment: String::new(),
            reason: String::new(),
            time: "2026-01-06T11:00:00Z".into(),
            force: false,
            stamp: None,
        },
        &Signer::KeyFile(bob_key),
    )
    .map_err(|e| CliError::internal(e.to_string()))?;
    ui.outln(&format!(
        "  bob approves as maintainer (a signed note covering change {}); the push:",
        &made.statement.change[..19]
    ))?;
    for l in verdict(&push("2026-01-06T11:00:00Z")?) {
        ui.outln(&l)?;
    }
    let landed = run(
        beside,
        "git",
        &["--git-dir", "server.git", "rev-parse", "main"],
        day,
    )?;
    if landed.trim() != tip.to_string().as_str() {
        return Err(CliError::internal(
            "the approved change did not land on the demo server",
        ));
    }
    ui.outln("  the change landed on the server's main, with its transcript and approval.")?;
    Ok(())
}
