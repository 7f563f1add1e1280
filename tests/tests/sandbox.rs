//! End-to-end: `factory run` puts the agent in a bubblewrap sandbox. A scripted hostile agent
//! (tests/fixtures/hostile-agent.sh) tries to read the user's SSH key and the agent signing
//! key, write outside its worktree (directly and through a link it plants), change the
//! repository's hooks and config, and reach a listener on the host's 127.0.0.1. Every attempt
//! fails in the sandbox, and the same script run with `sandbox = "none"` succeeds at them (so
//! the attempts are real); its legitimate edit is committed with its transcript either way.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use factory_tests::{TestRepo, fixtures_dir, stderr, stdout};

fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

const ATTEMPTS: &[&str] = &[
    "read-ssh-key",
    "read-signing-key",
    "read-other-repository",
    "write-outside",
    "write-through-link",
    "write-git-hooks",
    "write-git-config",
    "rewrite-worktree-gitdir",
    "reach-localhost",
    "read-git-hooks",
    "keep-capabilities",
    "remount-git-dir",
];

struct Setup {
    repo: TestRepo,
    listener: TcpListener,
    outside: std::path::PathBuf,
}

fn setup(sandbox: &str, extra: &str) -> Setup {
    let repo = TestRepo::new();
    let ssh = repo.home().join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::write(ssh.join("id_ed25519"), "USER PRIVATE KEY\n").unwrap();
    let (agent_key, agent_public) = repo.ssh_key("agent-signing-key");
    let other = repo.home().join("other");
    std::fs::create_dir_all(other.join(".git")).unwrap();
    std::fs::write(
        other.join(".git/config"),
        "[remote \"origin\"]\n\turl = https://user:token@example.com/x\n",
    )
    .unwrap();
    let outside = repo.home().join(format!("outside-{sandbox}"));
    std::fs::create_dir_all(&outside).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    repo.write(
        ".factory/policy.toml",
        format!(
            "{}\n[agents.hostile]\nkeys = [\"{agent_public}\"]\n",
            factory_policy::DEFAULT_POLICY.text
        ),
    );
    repo.write(
        ".factory/runners.toml",
        format!(
            "[runner.agent]\ncommand = [\"sh\", \"{}\"]\ntranscript = \"{{run_dir}}/session.jsonl\"\ntranscript-format = \"claude-code\"\nagent = \"hostile/1.0\"\nsandbox = \"{sandbox}\"\nsigning-key = \"{}\"\nenv = [\"ATTACK_SSH_KEY\", \"ATTACK_SIGNING_KEY\", \"ATTACK_OUTSIDE\", \"ATTACK_PORT\", \"ATTACK_GIT_DIR\", \"ATTACK_OTHER\"]\n{extra}",
            fixtures_dir().join("hostile-agent.sh").display(),
            agent_key.display()
        ),
    );
    repo.write("README.md", "# shop\n");
    repo.commit("Base");
    std::fs::write(
        repo.path().join(".git/hooks/pre-push"),
        "#!/bin/sh\n# SECRET HOOK\n",
    )
    .unwrap();
    let _ = agent_key;
    Setup {
        repo,
        listener,
        outside,
    }
}

fn run(s: &Setup, prompt: &str) -> Output {
    run_against(s, prompt, &s.repo.path().join(".git"))
}

fn run_against(s: &Setup, prompt: &str, git_dir: &Path) -> Output {
    let port = s.listener.local_addr().unwrap().port().to_string();
    s.repo
        .command(factory_bin())
        .args([
            "run", "--runner", "agent", "--format", "json", "--prompt", prompt,
        ])
        .env("ATTACK_SSH_KEY", s.repo.home().join(".ssh/id_ed25519"))
        .env(
            "ATTACK_SIGNING_KEY",
            s.repo.home().join("agent-signing-key"),
        )
        .env("ATTACK_OUTSIDE", &s.outside)
        .env("ATTACK_PORT", port)
        .env("ATTACK_GIT_DIR", git_dir)
        .env("ATTACK_OTHER", s.repo.home().join("other"))
        .output()
        .unwrap()
}

fn report(o: &Output) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout(o), stderr(o)));
    v[0].clone()
}

fn attempts(r: &serde_json::Value) -> String {
    let log = Path::new(r["log"].as_str().unwrap());
    std::fs::read_to_string(log.parent().unwrap().join("attempts.txt")).unwrap()
}

fn connected(listener: &TcpListener) -> bool {
    match listener.accept() {
        Ok((mut stream, _)) => {
            let _ = stream.read(&mut [0; 1]);
            true
        }
        Err(_) => false,
    }
}

#[test]
fn attack_a_sandboxed_agent_reaches_nothing_of_the_users() {
    let s = setup("bubblewrap", "");
    let git_dir = s.repo.path().join(".git");
    let hooks_before = std::fs::read_dir(git_dir.join("hooks"))
        .map(|d| d.count())
        .unwrap_or(0);
    let config_before = std::fs::read_to_string(git_dir.join("config")).unwrap();
    let o = run(&s, "Write the notes");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let r = report(&o);
    let tried = attempts(&r);
    for a in ATTEMPTS {
        assert!(
            tried.contains(&format!("{a}: failed")),
            "{a} was not stopped:\n{tried}"
        );
    }
    // Nothing changed on the host.
    assert_eq!(
        std::fs::read_dir(&s.outside).unwrap().count(),
        0,
        "a file was written outside"
    );
    assert!(
        !connected(&s.listener),
        "the agent reached the host's 127.0.0.1"
    );
    assert_eq!(
        std::fs::read_to_string(git_dir.join("config")).unwrap(),
        config_before
    );
    assert!(!git_dir.join("hooks/post-commit").exists());
    assert_eq!(
        std::fs::read_dir(git_dir.join("hooks"))
            .map(|d| d.count())
            .unwrap_or(0),
        hooks_before
    );
    // The legitimate edit is committed, signed by the agent key, with its transcript bound.
    let commit = r["commit"].as_str().expect("a commit");
    let files = s.repo.git(&["show", "--name-only", "--format=", commit]);
    assert_eq!(files.trim(), "docs/notes.md");
    let message = s.repo.git(&["log", "-1", "--format=%B", commit]);
    assert!(message.contains("Agent-Transcript: sha256:"), "{message}");
    let verify = s
        .repo
        .command(factory_bin())
        .args(["verify", commit])
        .output()
        .unwrap();
    assert!(
        stdout(&verify).contains("good        agent hostile"),
        "{}",
        stdout(&verify)
    );
    let shown = s
        .repo
        .command(factory_bin())
        .args(["transcript", "show", commit])
        .output()
        .unwrap();
    assert!(
        stdout(&shown).contains("Wrote docs/notes.md."),
        "{}",
        stdout(&shown)
    );
}

/// The control: without the sandbox the same attempts succeed, so the test above can fail.
#[test]
fn unsandboxed_the_same_agent_reaches_everything() {
    let s = setup("none", "");
    // Unsandboxed, the agent could break the repository: its git attacks aim at a decoy.
    let decoy = s.repo.home().join("decoy.git");
    std::fs::create_dir_all(decoy.join("hooks")).unwrap();
    let o = run_against(&s, "Write the notes", &decoy);
    let r = report(&o);
    let tried = attempts(&r);
    for a in [
        "read-ssh-key",
        "read-signing-key",
        "read-other-repository",
        "write-outside",
        "write-through-link",
        "reach-localhost",
    ] {
        assert!(
            tried.contains(&format!("{a}: succeeded")),
            "{a} failed unsandboxed:\n{tried}"
        );
    }
    assert!(s.outside.join("direct.txt").exists());
}

#[test]
fn attack_a_transcript_linked_to_a_users_file_is_not_read() {
    let s = setup("bubblewrap", "");
    // The agent replaces its transcript with a link to the user's key.
    s.repo.write(
        ".factory/runners.toml",
        format!(
            "[runner.agent]\ncommand = [\"sh\", \"-c\", \"mkdir -p docs && echo x > docs/a.md && ln -s {} $FACTORY_RUN_DIR/session.jsonl\"]\ntranscript = \"{{run_dir}}/session.jsonl\"\ntranscript-format = \"claude-code\"\n",
            s.repo.home().join(".ssh/id_ed25519").display()
        ),
    );
    s.repo.commit("Runner");
    let o = run(&s, "Write a");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let r = report(&o);
    assert!(r["transcript"].is_null(), "{r}");
    let notes = s
        .repo
        .command("git")
        .args(["notes", "--ref=factory/transcripts", "list"])
        .output()
        .unwrap();
    assert!(
        stdout(&notes).trim().is_empty(),
        "a note was written: {}",
        stdout(&notes)
    );
}

#[test]
fn a_sandboxed_agent_past_its_limits_ends_as_such() {
    let s = setup("bubblewrap", "cpu-seconds = 1\n");
    s.repo.write(
        ".factory/runners.toml",
        "[runner.agent]\ncommand = [\"sh\", \"-c\", \"while :; do :; done\"]\ncpu-seconds = 1\ntimeout = 60\n",
    );
    s.repo.commit("Runner");
    let o = run(&s, "Spin");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = report(&o);
    assert_eq!(
        r["status"], "exceeded its CPU time limit of 1 s and was killed",
        "{r}"
    );
    assert!(r["commit"].is_null());
}

#[test]
fn a_sandboxed_agent_that_times_out_leaves_nothing_running() {
    let s = setup("bubblewrap", "");
    // A child that keeps writing a heartbeat outlives its parent unless the sandbox goes.
    s.repo.write(
        ".factory/runners.toml",
        "[runner.agent]\ncommand = [\"sh\", \"-c\", \"(while :; do date +%s%N > $FACTORY_RUN_DIR/beat; sleep 0.05; done) & sleep 300\"]\n",
    );
    s.repo.commit("Runner");
    let port = s.listener.local_addr().unwrap().port().to_string();
    let o = s
        .repo
        .command(factory_bin())
        .args([
            "run",
            "--runner",
            "agent",
            "--timeout",
            "1",
            "--format",
            "json",
            "--prompt",
            "Wait",
        ])
        .env("ATTACK_PORT", port)
        .output()
        .unwrap();
    let r = report(&o);
    assert_eq!(r["status"], "timed out and was killed", "{r}");
    let beat = Path::new(r["log"].as_str().unwrap())
        .parent()
        .unwrap()
        .join("beat");
    let first = std::fs::read_to_string(&beat).expect("the child ran");
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(
        std::fs::read_to_string(&beat).unwrap(),
        first,
        "the agent's child survived"
    );
}

#[test]
fn require_verified_agents_needs_a_signing_runner() {
    let s = setup("bubblewrap", "");
    let policy = std::fs::read_to_string(s.repo.path().join(".factory/policy.toml")).unwrap();
    s.repo.write(
        ".factory/policy.toml",
        policy.replacen(
            "[agents]\n",
            "[agents]\nrequire-verified-agents = true\n",
            1,
        ),
    );
    s.repo.write(
        ".factory/runners.toml",
        "[runner.agent]\ncommand = [\"true\"]\nagent = \"hostile\"\n",
    );
    s.repo.commit("Require verified agents");
    let branches = s.repo.git(&["branch", "--list"]);
    let o = run(&s, "Anything");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("needs `signing-key`"), "{}", stderr(&o));
    assert_eq!(
        s.repo.git(&["branch", "--list"]),
        branches,
        "a branch was left"
    );
}

#[test]
fn a_network_allow_list_opens_only_the_hosts_it_names() {
    let s = setup("bubblewrap", "");
    // Two services on the host: one allowed, one not.
    let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
    let denied = TcpListener::bind("127.0.0.1:0").unwrap();
    let allowed_port = allowed.local_addr().unwrap().port();
    let denied_port = denied.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in allowed.incoming().flatten() {
            let mut stream = stream;
            let _ = std::io::Write::write_all(&mut stream, b"hello from the model API\n");
        }
    });
    denied.set_nonblocking(true).unwrap();
    let script = s.repo.home().join("net-agent.sh");
    std::fs::write(
        &script,
        format!(
            r#"set -u
port=${{HTTPS_PROXY##*:}}
r="$FACTORY_RUN_DIR/net"
ask() {{ bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; printf 'CONNECT 127.0.0.1:$1 HTTP/1.1\r\nHost: x\r\n\r\n' >&3; head -c 300 <&3"; }}
ask {allowed_port} >"$r.allowed" 2>&1
ask {denied_port} >"$r.denied" 2>&1
bash -c "exec 3<>/dev/tcp/127.0.0.1/{allowed_port}" 2>/dev/null && echo direct-succeeded >"$r.direct" || echo direct-failed >"$r.direct"
mkdir -p docs && echo '# n' >docs/n.md
"#
        ),
    )
    .unwrap();
    s.repo.write(
        ".factory/runners.toml",
        format!(
            "[runner.agent]\ncommand = [\"sh\", \"{}\"]\nnetwork = [\"127.0.0.1:{allowed_port}\"]\n",
            script.display()
        ),
    );
    s.repo.commit("Runner");
    let o = run(&s, "Call the API");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let r = report(&o);
    let dir = Path::new(r["log"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_owned();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let got = read("net.allowed");
    assert!(
        got.contains("200 Connection Established") && got.contains("hello from the model API"),
        "{got}"
    );
    let got = read("net.denied");
    assert!(got.contains("403 Forbidden"), "{got}");
    assert_eq!(read("net.direct").trim(), "direct-failed");
    assert!(!connected(&denied), "the denied service was reached");
    let log = read("network.log");
    assert!(
        log.contains(&format!("allowed CONNECT 127.0.0.1:{allowed_port}")),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "refused CONNECT 127.0.0.1:{denied_port}: not in the runner's network allow-list"
        )),
        "{log}"
    );
}

#[test]
fn attack_a_transcript_that_is_a_fifo_does_not_hang_the_run() {
    let s = setup("bubblewrap", "");
    s.repo.write(
        ".factory/runners.toml",
        "[runner.agent]\ncommand = [\"sh\", \"-c\", \"mkdir -p docs $FACTORY_RUN_DIR/sessions && echo x > docs/a.md && mkfifo $FACTORY_RUN_DIR/sessions/s.jsonl\"]\ntranscript = \"{run_dir}/sessions\"\ntranscript-format = \"claude-code\"\n",
    );
    s.repo.commit("Runner");
    let mut child = s
        .repo
        .command(factory_bin())
        .args([
            "run", "--runner", "agent", "--format", "json", "--prompt", "Pipe",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("factory run hung on a FIFO transcript");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(report(&o)["transcript"].is_null());
}

#[test]
fn attack_a_kept_worktree_obeys_nothing_the_agent_planted() {
    let s = setup("bubblewrap", "");
    // The agent points its worktree at a repository of its own, then fails: the worktree is kept.
    s.repo.write(
        ".factory/runners.toml",
        "[runner.agent]\ncommand = [\"sh\", \"-c\", \"mkdir -p $FACTORY_RUN_DIR/evil.git && echo gitdir: $FACTORY_RUN_DIR/evil.git > .git && exit 1\"]\n",
    );
    s.repo.commit("Runner");
    let o = run(&s, "Fail");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = report(&o);
    let kept = r["not_committed"].as_str().unwrap();
    assert!(kept.contains("kept at"), "{kept}");
    let worktree = std::path::PathBuf::from(
        kept.split("kept at ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap(),
    );
    let dotgit = std::fs::read_to_string(worktree.join(".git")).unwrap();
    assert!(
        dotgit.contains("/worktrees/") && !dotgit.contains("evil.git"),
        "{dotgit}"
    );
    // `factory run clean` removes it.
    let o = s
        .repo
        .command(factory_bin())
        .args(["run", "clean"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!worktree.exists());
}
