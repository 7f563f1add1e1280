//! `factory demo`: build a small repository with human and agent commits and classify it with
//! the embedded default policy.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use factory_gate::classify_commits;
use factory_git::{RangeSpec, Repo};
use factory_policy::{DEFAULT_POLICY, Policy};

use super::classify::{Format, print};
use crate::Env;
use crate::error::CliError;
use crate::policy_source::Origin;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Build the repository in DIR (which must not exist or be empty) and keep it.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Keep the temporary repository and print its path.
    #[arg(long)]
    keep: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Only build and classify the history: no gated push (the walk-through of the gate needs
    /// `ssh-keygen`, and leaves a server beside the repository).
    #[arg(long)]
    no_gate: bool,
}

struct Person {
    name: &'static str,
    email: &'static str,
}

const ALICE: Person = Person {
    name: "Alice Maintainer",
    email: "alice@example.com",
};
const BOB: Person = Person {
    name: "Bob Reviewer",
    email: "bob@example.com",
};

/// One demo commit: who, what, and the files it writes.
struct DemoCommit {
    author: Person,
    message: &'static str,
    files: &'static [(&'static str, &'static str)],
}

const COMMITS: &[DemoCommit] = &[
    DemoCommit {
        author: ALICE,
        message: "Start the shop service\n",
        files: &[
            ("README.md", "# shop\n\nA small order service.\n"),
            (
                "docs/architecture.md",
                "# Architecture\n\nOne binary, one database.\n",
            ),
        ],
    },
    DemoCommit {
        author: ALICE,
        message: "Add POST /orders\n\nAgent: claude-code/2.0.14\nAgent-Session: 5c0375b4-demo\nRequested-By: alice\n",
        files: &[
            (
                "src/api/orders.rs",
                "use axum::{routing::post, Router};\n\npub fn routes() -> Router {\n    Router::new()\n        .route(\"/orders\", post(create_order))\n}\n\nasync fn create_order() -> &'static str {\n    \"created\"\n}\n",
            ),
            ("tests/orders.rs", "#[test]\nfn creates_an_order() {}\n"),
        ],
    },
    DemoCommit {
        author: ALICE,
        message: "Add the orders table\n\nAgent: codex/0.39.0\nRequested-By: alice\n",
        files: &[(
            "migrations/0001_orders.sql",
            "CREATE TABLE orders (\n    id BIGINT PRIMARY KEY,\n    total_cents BIGINT NOT NULL\n);\n",
        )],
    },
    DemoCommit {
        author: BOB,
        message: "Verify session tokens\n\nAgent: claude-code/2.0.14\nRequested-By: bob\n",
        files: &[(
            "src/auth/session.rs",
            "pub fn check(token: &str, key: &[u8]) -> bool {\n    let claims = jwt.verify(token, key);\n    claims.is_ok()\n}\n",
        )],
    },
    DemoCommit {
        author: BOB,
        message: "Document the orders API\n",
        files: &[(
            "docs/api/orders.md",
            "# Orders\n\n`POST /orders` creates an order.\n",
        )],
    },
];

fn git(dir: &Path, args: &[&str], author: &Person, date: &str) -> Result<(), CliError> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", author.name)
        .env("GIT_AUTHOR_EMAIL", author.email)
        .env("GIT_COMMITTER_NAME", author.name)
        .env("GIT_COMMITTER_EMAIL", author.email)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .map_err(|e| CliError::internal(format!("the demo needs the `git` program: {e}")))?;
    if !output.status.success() {
        return Err(CliError::internal(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

/// Builds the demo repository in `dir`.
fn build(dir: &Path) -> Result<(), CliError> {
    git(
        dir,
        &["init", "--quiet", "--initial-branch=main"],
        &ALICE,
        "2026-01-05T09:00:00Z",
    )?;
    for (i, commit) in COMMITS.iter().enumerate() {
        for (path, content) in commit.files {
            let file = dir.join(path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    CliError::internal(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
            std::fs::write(&file, content)
                .map_err(|e| CliError::internal(format!("cannot write {}: {e}", file.display())))?;
        }
        let date = format!("2026-01-05T{:02}:00:00Z", 10 + i);
        git(dir, &["add", "--all"], &commit.author, &date)?;
        git(
            dir,
            &["commit", "--quiet", "--message", commit.message],
            &commit.author,
            &date,
        )?;
    }
    Ok(())
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    let temp;
    let dir = match &args.dir {
        Some(dir) => {
            let dir = env.cwd.join(dir);
            if dir.exists()
                && std::fs::read_dir(&dir)
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(true)
            {
                return Err(CliError::usage(format!(
                    "{} exists and is not empty",
                    dir.display()
                )));
            }
            std::fs::create_dir_all(&dir)
                .map_err(|e| CliError::usage(format!("cannot create {}: {e}", dir.display())))?;
            dir
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("factory-demo-")
                .tempdir()
                .map_err(|e| {
                    CliError::internal(format!("cannot create a temporary directory: {e}"))
                })?;
            if args.keep {
                temp.keep()
            } else {
                temp.path().to_owned()
            }
        }
    };
    build(&dir)?;
    let kept = args.dir.is_some() || args.keep;
    let by_agents = COMMITS
        .iter()
        .filter(|c| c.message.contains("\nAgent: "))
        .count();
    env.ui.err(&format!(
        "Demo repository with {} commits ({} by people, {by_agents} by agents){}; classified with the embedded default policy.\n\n",
        COMMITS.len(),
        COMMITS.len() - by_agents,
        if kept { format!(" at {}", dir.display()) } else { String::new() }
    ));
    let repo = Repo::discover(&dir)?;
    let policy = Policy::parse("<embedded default policy>", DEFAULT_POLICY.text)?;
    let spec = RangeSpec::All;
    let commits = repo.commits(&spec)?;
    let classified = classify_commits(&repo, &policy, &commits)?;
    print(
        &mut env.ui,
        &policy,
        &Origin::Embedded,
        &spec.to_string(),
        &classified,
        args.format,
    )?;
    if !args.no_gate && args.format == Format::Human {
        let beside = dir.with_file_name(format!(
            "{}-gate",
            dir.file_name()
                .map_or("demo".into(), |n| n.to_string_lossy())
        ));
        if beside.exists() {
            return Err(CliError::usage(format!(
                "{} exists: the gate's server goes there (pass --no-gate to skip it)",
                beside.display()
            )));
        }
        let walked = super::demo_gate::walk(&mut env.ui, &dir, &beside);
        if !kept {
            let _ = std::fs::remove_dir_all(&beside);
        }
        walked?;
        env.ui.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
