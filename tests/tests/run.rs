//! End-to-end: `factory run` with a scripted agent (tests/fixtures/fake-agent.sh) as real
//! processes in real worktrees.

use std::process::Output;

use factory_tests::{TestRepo, fixtures_dir, stderr, stdout, success};

fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

/// A repository whose policy names bob (maintainer) and runners.toml defines `fake`.
fn repo(extra_policy: &str) -> TestRepo {
    let repo = TestRepo::new();
    let (_, public) = repo.ssh_key("bob");
    repo.write(
        ".factory/policy.toml",
        factory_policy::DEFAULT_POLICY.text.to_owned()
            + &format!(
                "\n[people.bob]\nroles = [\"maintainer\", \"validation-architect\", \"domain-expert\"]\nkeys = [\"{public}\"]\n{extra_policy}"
            ),
    );
    repo.write(
        ".factory/runners.toml",
        format!(
            "[runner.fake]\ncommand = [\"sh\", \"{0}\"]\ntranscript = \"{{run_dir}}/session.jsonl\"\ntranscript-format = \"claude-code\"\nagent = \"fake-agent/1.0\"\ntimeout = 60\n\n[runner.bare]\ncommand = [\"sh\", \"{0}\"]\ntranscript = \"{{run_dir}}/session.jsonl\"\ntranscript-format = \"claude-code\"\nagent = \"fake-agent/1.0\"\nsandbox = \"none\"\n",
            fixtures_dir().join("fake-agent.sh").display()
        ),
    );
    repo.write("README.md", "# shop\n");
    repo.commit("Base");
    repo.git(&["config", "user.email", "carol@example.com"]);
    repo
}

fn run(repo: &TestRepo, args: &[&str]) -> Output {
    repo.command(factory_bin())
        .args(["run", "--runner", "fake"])
        .args(args)
        .output()
        .unwrap()
}

fn run_with(repo: &TestRepo, runner: &str, args: &[&str]) -> Output {
    repo.command(factory_bin())
        .args(["run", "--runner", runner])
        .args(args)
        .output()
        .unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {} {}", stdout(o), stderr(o)))
}

#[test]
fn a_run_leaves_a_branch_ready_for_review() {
    let repo = repo("");
    let main = repo.git(&["rev-parse", "main"]);
    let o = run(&repo, &["--prompt", "Add the orders endpoint"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("the agent finished"), "{text}");
    assert!(text.contains("committed "), "{text}");
    assert!(text.contains("gate: blocked (tier review)"), "{text}");
    assert!(
        text.contains("needs 1 approval(s) by `maintainer` (0 counted); can be given by: bob"),
        "{text}"
    );
    let branch = repo
        .git(&[
            "branch",
            "--list",
            "factory/run/*",
            "--format=%(refname:short)",
        ])
        .trim()
        .to_owned();
    assert!(branch.starts_with("factory/run/"), "{branch}");
    // The commit: the agent's file only, with the trailers.
    let files = repo.git(&["show", "--name-only", "--format=", &branch]);
    assert!(files.trim().starts_with("src/api_"), "{files}");
    assert!(!files.contains("FACTORY_PREAMBLE"), "{files}");
    let message = repo.git(&["log", "-1", "--format=%B", &branch]);
    assert!(
        message.starts_with("Add the orders endpoint\n"),
        "{message}"
    );
    assert!(message.contains("Agent: fake-agent/1.0\n"), "{message}");
    assert!(message.contains("Agent-Session: fake-"), "{message}");
    assert!(
        message.contains("Requested-By: carol@example.com"),
        "{message}"
    );
    // The transcript is attached as a note, and the gate sees an agent commit with it.
    let shown = success(
        repo.command(factory_bin())
            .args(["transcript", "show", &branch])
            .output()
            .unwrap(),
        "transcript show",
    );
    assert!(shown.contains("Add the orders endpoint"), "{shown}");
    // The base branch did not move, and no worktree is left behind.
    assert_eq!(repo.git(&["rev-parse", "main"]), main);
    assert_eq!(repo.git(&["worktree", "list"]).lines().count(), 1);
}

#[test]
fn a_transcript_kept_in_the_worktree_is_not_committed() {
    let repo = repo("");
    let config = std::fs::read_to_string(repo.path().join(".factory/runners.toml"))
        .unwrap()
        .replace("[runner.fake]", "[runner.local]")
        .replace("{run_dir}/session.jsonl", "{worktree}/agent-session.jsonl");
    repo.write(".factory/runners.toml", config);
    repo.commit("A runner whose agent keeps its session in the worktree");
    let o = repo
        .command(factory_bin())
        .args([
            "run",
            "--runner",
            "local",
            "--format",
            "json",
            "--prompt",
            "docs with local-transcript",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let r = &json(&o)[0];
    let branch = r["branch"].as_str().unwrap();
    let files = repo.git(&["show", "--name-only", "--format=", branch]);
    assert!(
        files.trim().starts_with("docs/") && !files.contains("agent-session"),
        "{files}"
    );
    let shown = repo
        .command(factory_bin())
        .args(["transcript", "show", branch])
        .output()
        .unwrap();
    let note = stdout(&shown);
    assert!(note.contains("docs with local-transcript"), "{note}");
}

#[test]
fn parallel_runs_do_not_interfere() {
    let repo = repo("");
    let o = run(
        &repo,
        &[
            "--jobs",
            "3",
            "--format",
            "json",
            "--prompt",
            "Write docs one",
            "--prompt",
            "Write docs two",
            "--prompt",
            "Write docs three",
            "--prompt",
            "Write docs four",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let reports = json(&o);
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 4);
    let mut branches = Vec::new();
    let mut sessions = Vec::new();
    for r in reports {
        let branch = r["branch"].as_str().unwrap().to_owned();
        let files = repo.git(&["show", "--name-only", "--format=", &branch]);
        let run_id = branch.trim_start_matches("factory/run/");
        assert_eq!(
            files.trim(),
            format!("docs/{run_id}.md"),
            "each branch holds its own work"
        );
        assert_eq!(r["gate"]["decision"], "pass", "{r}");
        let note = repo.git(&["notes", "--ref", "factory/transcripts", "show", &branch]);
        assert_eq!(note.lines().count(), 1, "one session per commit: {note}");
        sessions.push(note);
        branches.push(branch);
    }
    branches.sort();
    branches.dedup();
    sessions.sort();
    sessions.dedup();
    assert_eq!((branches.len(), sessions.len()), (4, 4));
}

/// Unsandboxed (`sandbox = "none"`): the agent's process group is killed, so the child's PID
/// can be checked on the host. A sandboxed run's end is checked in tests/tests/sandbox.rs.
#[test]
fn a_timeout_kills_the_agent_and_its_children_and_leaves_the_base() {
    let repo = repo("");
    let main = repo.git(&["rev-parse", "main"]);
    let started = std::time::Instant::now();
    let o = run_with(
        &repo,
        "bare",
        &[
            "--timeout",
            "1",
            "--format",
            "json",
            "--prompt",
            "sleep on it",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        started.elapsed().as_secs() < 30,
        "the run did not wait for the agent"
    );
    let r = &json(&o)[0];
    assert_eq!(r["status"], "timed out and was killed");
    assert!(r["commit"].is_null());
    let run_dir = std::path::Path::new(r["log"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_owned();
    let child: u32 = std::fs::read_to_string(run_dir.join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The agent's child is gone too (no zombie under our name either: it was reparented).
    // A killed process can take a moment to leave /proc on a loaded machine: wait for it.
    let alive = || {
        std::path::Path::new(&format!("/proc/{child}")).exists()
            && !std::fs::read_to_string(format!("/proc/{child}/stat"))
                .unwrap_or_default()
                .contains(") Z ")
    };
    for _ in 0..50 {
        if !alive() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!alive(), "the agent's child {child} survived the timeout");
    assert_eq!(repo.git(&["rev-parse", "main"]), main);
    // The partial transcript is kept with the run.
    assert!(
        r["transcript"]
            .as_str()
            .is_some_and(|t| std::path::Path::new(t).exists()),
        "{r}"
    );
}

#[test]
fn a_crashing_agent_is_reported_and_its_partial_transcript_kept() {
    let repo = repo("");
    let o = run(&repo, &["--format", "json", "--prompt", "crash please"]);
    assert_eq!(o.status.code(), Some(1));
    let r = &json(&o)[0];
    assert_eq!(r["status"], "crashed (signal 11)");
    assert!(
        r["not_committed"]
            .as_str()
            .unwrap()
            .contains("worktree is kept"),
        "{r}"
    );
    let kept = std::fs::read_to_string(r["transcript"].as_str().unwrap()).unwrap();
    assert!(
        kept.contains("crash please") && !kept.contains("Done."),
        "{kept}"
    );
}

#[test]
fn the_agent_gets_the_policy_and_no_secrets() {
    let repo = repo("");
    let o = repo
        .command(factory_bin())
        .env("SECRET_TOKEN", "do-not-leak")
        .args([
            "run",
            "--runner",
            "fake",
            "--format",
            "json",
            "--prompt",
            "env and docs",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let r = &json(&o)[0];
    let run_dir = std::path::Path::new(r["log"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_owned();
    let env = std::fs::read_to_string(run_dir.join("env.txt")).unwrap();
    assert!(!env.contains("SECRET_TOKEN"), "{env}");
    assert!(
        !env.contains("GIT_AUTHOR_NAME"),
        "only allow-listed variables: {env}"
    );
    assert!(
        env.contains("FACTORY_HARD_STOP_PATHS=") && env.contains("auth/"),
        "{env}"
    );
    let preamble = std::fs::read_to_string(run_dir.join("preamble.md")).unwrap();
    assert!(
        preamble.contains("## Hard stop (`hard-stop`)") && preamble.contains("payments/"),
        "{preamble}"
    );
    // The truth: path rules with their exclusions; content rules apart, never their file
    // scopes as hard-stop paths (every source file is not hard-stop).
    let hard = preamble
        .split("## Hard stop")
        .nth(1)
        .and_then(|s| s.split("## Needs review").next())
        .unwrap();
    assert!(
        hard.contains("!tests/") && !hard.contains("`*.rs`"),
        "{hard}"
    );
    // Content rules (also those reading both sides, `changed-lines`) are not path rules.
    assert!(
        !hard.contains("auth-code") && !hard.contains("crypto-code"),
        "{hard}"
    );
    assert!(
        hard.contains("`security-paths (when the change reaches code, strings): "),
        "path rules say which parts of lines they read: {hard}"
    );
    assert!(
        preamble.contains("## Rules on what lines say") && preamble.contains("auth-code"),
        "{preamble}"
    );
}

#[test]
fn a_tier_forbidden_to_agents_is_not_committed() {
    let repo = repo("");
    let policy = std::fs::read_to_string(repo.path().join(".factory/policy.toml"))
        .unwrap()
        .replace(
            "distinct-people = true",
            "distinct-people = true\nforbid-agent = true",
        );
    repo.write(".factory/policy.toml", policy);
    repo.commit("Agents may not touch hard-stop code");
    let o = run(&repo, &["--prompt", "Rework auth"]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(
        text.contains(
            "not committed: the change is `hard-stop`, which the policy forbids agents to make"
        ),
        "{text}"
    );
    assert!(
        repo.git(&["log", "--all", "--format=%s"])
            .lines()
            .all(|s| s != "Rework auth")
    );
}

#[test]
fn push_sends_the_branch_and_the_notes() {
    let repo = repo("");
    let server = repo.home().join("server.git");
    repo.git(&["init", "--quiet", "--bare", &server.display().to_string()]);
    repo.git(&["remote", "add", "origin", &server.display().to_string()]);
    let o = run(&repo, &["--push", "--prompt", "Write docs"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let listing = repo.git(&["ls-remote", "origin"]);
    assert!(listing.contains("refs/heads/factory/run/"), "{listing}");
    assert!(
        listing.contains("refs/notes/factory/transcripts"),
        "{listing}"
    );
    let o = repo
        .command(factory_bin())
        .args(["run", "--runner", "nope", "--prompt", "x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no runner `nope`"), "{}", stderr(&o));
    // An agent program that does not exist: a clear error, and no worktree or branch left.
    repo.write(
        ".factory/runners.toml",
        "[runner.ghost]\ncommand = [\"no-such-agent-program\", \"{prompt}\"]\n",
    );
    let before = repo.git(&["branch", "--list", "factory/run/*"]);
    let o = repo
        .command(factory_bin())
        .args(["run", "--runner", "ghost", "--prompt", "x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot start `no-such-agent-program`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(repo.git(&["branch", "--list", "factory/run/*"]), before);
    assert_eq!(repo.git(&["worktree", "list"]).lines().count(), 1);
}

#[test]
fn run_list_and_clean_account_for_what_runs_leave() {
    let repo = repo("");
    // One run commits (its branch waits for review), one crashes (its worktree is kept).
    assert!(
        run(&repo, &["--prompt", "Add the orders endpoint"])
            .status
            .success()
    );
    assert_eq!(
        run(&repo, &["--prompt", "crash please"]).status.code(),
        Some(1)
    );
    let factory = |args: &[&str]| repo.command(factory_bin()).args(args).output().unwrap();
    let list = success(factory(&["run", "list"]), "run list");
    assert!(list.contains("(not landed)"), "{list}");
    assert!(list.contains("worktree kept at"), "{list}");
    // clean removes the kept worktree and the empty branch, keeps the work not yet landed.
    let cleaned = success(factory(&["run", "clean"]), "run clean");
    assert!(
        cleaned.contains("removed the worktree") && cleaned.contains("(no commit)"),
        "{cleaned}"
    );
    let list = success(factory(&["run", "list"]), "run list");
    assert!(
        list.contains("(not landed)") && !list.contains("worktree kept"),
        "{list}"
    );
    // Once the work lands, its branch goes too.
    let branch = repo
        .git(&[
            "for-each-ref",
            "--format=%(refname:short)",
            "refs/heads/factory/run/",
        ])
        .trim()
        .to_owned();
    repo.git(&["merge", "--quiet", "--ff-only", &branch]);
    let cleaned = success(factory(&["run", "clean"]), "run clean");
    assert!(cleaned.contains("(landed)"), "{cleaned}");
    assert_eq!(
        success(factory(&["run", "list"]), "run list"),
        "no runs left anything\n"
    );
}

#[test]
fn doctor_checks_that_the_runners_sandbox_can_be_made() {
    let repo = repo("");
    let o = repo.command(factory_bin()).arg("doctor").output().unwrap();
    let text = stdout(&o);
    assert!(
        text.contains("runners: 2 configured; bubblewrap can make their sandbox"),
        "{text}{}",
        stderr(&o)
    );
    repo.write(
        ".factory/runners.toml",
        "[runner.x]\ncommand = [\"true\"]\nsandbox = \"chroot\"\n",
    );
    let o = repo.command(factory_bin()).arg("doctor").output().unwrap();
    assert!(!o.status.success());
    assert!(
        stdout(&o).contains("runner `x`: sandbox `chroot` is not known"),
        "{}",
        stdout(&o)
    );
}
