//! End-to-end: a bare server with factory's pre-receive hook, a clone pushing to it with real
//! `git push`, and the same decisions from the client's pre-push hook and `factory audit`.

use std::path::{Path, PathBuf};
use std::process::Output;

use factory_tests::{TestRepo, stderr, stdout, success, workspace_root};

fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

/// A server (bare, hook installed) and a developer clone whose policy names bob (maintainer),
/// carol (validation architect), dave (domain expert) and olga (override); the clone's base
/// commit is already on the server.
struct World {
    dev: TestRepo,
    server: PathBuf,
    keys: Vec<(&'static str, PathBuf)>,
}

impl World {
    fn new() -> World {
        let dev = TestRepo::new();
        let server = dev.home().join("server.git");
        success(
            dev.command("git")
                .args(["init", "--quiet", "--bare", "--initial-branch=main"])
                .arg(&server)
                .output()
                .unwrap(),
            "git init --bare",
        );
        success(
            dev.command(factory_bin())
                .arg("-C")
                .arg(&server)
                .args(["hooks", "install", "--server"])
                .output()
                .unwrap(),
            "hooks install --server",
        );
        let mut people = String::new();
        let mut keys = Vec::new();
        for (name, role) in [
            ("bob", "maintainer"),
            ("carol", "validation-architect"),
            ("dave", "domain-expert"),
            ("olga", "override"),
        ] {
            let (key, public) = dev.ssh_key(name);
            people.push_str(&format!(
                "\n[people.{name}]\nroles = [\"{role}\"]\nkeys = [\"{public}\"]\n"
            ));
            keys.push((name, key));
        }
        dev.write(
            ".factory/policy.toml",
            factory_policy::DEFAULT_POLICY.text.to_owned() + &people,
        );
        dev.write("README.md", "# shop\n");
        dev.write("src/lib.rs", "pub fn shop() {}\n");
        dev.commit("Base");
        dev.git(&["remote", "add", "origin", &server.display().to_string()]);
        let w = World { dev, server, keys };
        let first = w.push(&["main"]);
        assert!(
            first.status.success(),
            "the first push sets the base: {}",
            stderr(&first)
        );
        w.dev.git(&["fetch", "--quiet", "origin"]);
        w
    }

    fn key(&self, name: &str) -> &Path {
        &self.keys.iter().find(|(n, _)| *n == name).unwrap().1
    }

    fn factory(&self, args: &[&str]) -> Output {
        self.dev.command(factory_bin()).args(args).output().unwrap()
    }

    /// `git push --no-verify origin REFSPECS…` (the server's hook judges; the client's is skipped).
    fn push(&self, refspecs: &[&str]) -> Output {
        self.dev
            .command("git")
            .args(["push", "--no-verify", "--porcelain", "origin"])
            .args(refspecs)
            .output()
            .unwrap()
    }

    /// `git push origin REFSPECS…` with the client's hooks.
    fn push_with_hooks(&self, refspecs: &[&str]) -> Output {
        self.dev
            .command("git")
            .args(["push", "origin"])
            .args(refspecs)
            .output()
            .unwrap()
    }

    fn server_ref(&self, name: &str) -> Option<String> {
        let o = self
            .dev
            .command("git")
            .arg("--git-dir")
            .arg(&self.server)
            .args(["rev-parse", "--verify", "--quiet", name])
            .output()
            .unwrap();
        o.status.success().then(|| stdout(&o).trim().to_owned())
    }

    fn approve(&self, who: &str, role: &str) {
        let key = self.key(who).display().to_string();
        success(
            self.factory(&["approve", "--role", role, "--key", &key]),
            "factory approve",
        );
    }

    /// A statement written whatever factory says of it (`--force`), as an attacker would.
    fn approve_anyway(&self, who: &str, role: &str) {
        let key = self.key(who).display().to_string();
        success(
            self.factory(&["approve", "--role", role, "--key", &key, "--force"]),
            "factory approve --force",
        );
    }

    fn agent_commit(&self, path: &str, content: &str, subject: &str) -> String {
        self.dev.write(path, content);
        self.dev.commit(&format!(
            "{subject}\n\nAgent: claude-code/2.0\nRequested-By: erin\n"
        ))
    }

    fn attach_transcript(&self) {
        let transcript =
            workspace_root().join("crates/factory-shiftlog/tests/fixtures/claude.jsonl");
        success(
            self.factory(&["transcript", "attach", &transcript.display().to_string()]),
            "transcript attach",
        );
    }

    /// Pushes main and factory's notes; asserts the verdict and what the server's main is after.
    #[track_caller]
    fn push_main(&self, lands: bool, why: &str) -> String {
        let before = self.server_ref("refs/heads/main");
        let tip = self.dev.git(&["rev-parse", "HEAD"]).trim().to_owned();
        let o = self.push(&["main", "refs/notes/factory/*:refs/notes/factory/*"]);
        let text = stderr(&o) + &stdout(&o);
        assert_eq!(o.status.success(), lands, "{why}:\n{text}");
        let after = self.server_ref("refs/heads/main");
        if lands {
            assert_eq!(after.as_deref(), Some(tip.as_str()), "{why}");
        } else {
            assert_eq!(
                after, before,
                "{why}: a refused push leaves the server unchanged"
            );
        }
        text
    }
}

#[test]
fn a_docs_only_agent_commit_with_a_transcript_lands() {
    let w = World::new();
    w.agent_commit("docs/guide.md", "# Guide\n", "Write the guide");
    // Without its transcript the policy (require-transcript) refuses it.
    let text = w.push_main(false, "an agent commit without a transcript");
    assert!(text.contains("without a transcript"), "{text}");
    w.attach_transcript();
    let text = w.push_main(true, "docs with a transcript");
    assert!(
        text.contains("refs/heads/main") && text.contains("pass (gated, tier auto"),
        "{text}"
    );
    // The transcript went along with the branch.
    assert!(w.server_ref("refs/notes/factory/transcripts").is_some());
}

#[test]
fn an_endpoint_needs_an_approval_pushed_with_it() {
    let w = World::new();
    w.endpoint_commit();
    let text = w.push_main(false, "an endpoint without approval");
    assert!(
        text.contains("needs 1 approval(s) by `maintainer`")
            && text.contains("can be given by: bob"),
        "{text}"
    );
    assert!(
        text.contains("factory: hint: approve with `factory approve --role ROLE`"),
        "{text}"
    );
    // A review branch is not gated: the agent can push it for review.
    let review = w.push(&["main:refs/heads/agent/orders"]);
    assert!(review.status.success(), "{}", stderr(&review));
    // bob approves; the approval travels in the same push as the branch.
    w.approve("bob", "maintainer");
    let text = w.push_main(true, "approved in the same push");
    assert!(text.contains("pass (gated, tier review"), "{text}");
}

#[test]
fn a_hard_stop_change_needs_both_roles() {
    let w = World::new();
    w.agent_commit(
        "src/auth/login.rs",
        "pub fn login() -> bool { verify_password() }\n",
        "Rework login",
    );
    w.attach_transcript();
    w.approve("carol", "validation-architect");
    let text = w.push_main(false, "one of two roles");
    assert!(text.contains("`domain-expert` (0 counted)"), "{text}");
    w.approve("dave", "domain-expert");
    w.push_main(true, "both roles signed");
}

#[test]
fn a_range_that_weakens_the_policy_is_judged_by_the_old_one() {
    let w = World::new();
    let weaker = std::fs::read_to_string(w.dev.path().join(".factory/policy.toml"))
        .unwrap()
        .replace("default-tier = \"review\"", "default-tier = \"auto\"")
        .replace("requires = [{ role = \"maintainer\", count = 1 }]", "");
    w.dev.write(".factory/policy.toml", weaker);
    w.dev.write("src/api.rs", "fn f() {}\n");
    w.dev.commit("Relax the policy");
    let text = w.push_main(false, "a policy change");
    assert!(text.contains("tier hard-stop"), "{text}");
    // bob's approval as maintainer is not enough for the governance rule's hard stop.
    w.approve("bob", "maintainer");
    w.push_main(false, "a policy change approved by a maintainer only");
}

#[test]
fn a_forged_approval_is_refused() {
    let w = World::new();
    w.agent_commit(
        "src/api.rs",
        "r.route(\"/admin\", get(admin))\n",
        "Add admin",
    );
    w.attach_transcript();
    w.approve("bob", "maintainer");
    // Tamper with the signed statement: claim another role, keep bob's signature.
    let tip = w.dev.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let note = w
        .dev
        .git(&["notes", "--ref", "factory/approvals", "show", &tip]);
    let forged = note.replace("\"comment\":\"\"", "\"comment\":\"lgtm\"");
    assert_ne!(forged, note);
    w.dev.git(&[
        "notes",
        "--ref",
        "factory/approvals",
        "add",
        "-f",
        "-m",
        forged.trim(),
        &tip,
    ]);
    let text = w.push_main(false, "a forged approval");
    assert!(
        text.contains("needs 1 approval(s) by `maintainer`"),
        "{text}"
    );
}

#[test]
fn force_pushes_deletions_and_notes_rewrites_are_refused() {
    let w = World::new();
    w.agent_commit("docs/a.md", "a\n", "Doc a");
    w.attach_transcript();
    w.push_main(true, "docs");
    let main = w.server_ref("refs/heads/main").unwrap();
    // Force push main back to its parent.
    let o = w.push(&["+HEAD~1:main"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("a force push"), "{}", stderr(&o));
    assert_eq!(w.server_ref("refs/heads/main").unwrap(), main);
    // Delete main.
    let o = w.push(&[":main"]);
    assert!(
        !o.status.success() && stderr(&o).contains("deleting it is refused"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.server_ref("refs/heads/main").unwrap(), main);
    // Delete the transcripts notes ref.
    let notes = w.server_ref("refs/notes/factory/transcripts").unwrap();
    let o = w.push(&[":refs/notes/factory/transcripts"]);
    assert!(
        !o.status.success() && stderr(&o).contains("notes only grow"),
        "{}",
        stderr(&o)
    );
    // Rewrite it: a new notes history that drops the note.
    w.dev
        .git(&["update-ref", "-d", "refs/notes/factory/transcripts"]);
    w.dev.git(&[
        "notes",
        "--ref",
        "factory/transcripts",
        "add",
        "-m",
        "{}",
        "HEAD~1",
    ]);
    let o = w.push(&["+refs/notes/factory/transcripts:refs/notes/factory/transcripts"]);
    assert!(
        !o.status.success() && stderr(&o).contains("rewriting"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        w.server_ref("refs/notes/factory/transcripts").unwrap(),
        notes
    );
    // Tags: a new tag on gated history is fine, moving it is not.
    let o = w.push(&["HEAD:refs/tags/v1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = w.push(&["+HEAD~1:refs/tags/v1"]);
    assert!(
        !o.status.success() && stderr(&o).contains("tags never move"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_break_glass_override_lands_and_is_reported() {
    let w = World::new();
    w.agent_commit(
        "src/billing/charge.rs",
        "fn charge() {}\n",
        "Hotfix billing",
    );
    w.attach_transcript();
    w.push_main(false, "hard stop without approvals");
    let key = w.key("olga").display().to_string();
    // bob holds no override role.
    let bob = w.key("bob").display().to_string();
    let o = w.factory(&["override", "--reason", "outage", "--key", &bob]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    success(
        w.factory(&[
            "override",
            "--reason",
            "checkout is down (INC-7)",
            "--key",
            &key,
        ]),
        "override",
    );
    let text = w.push_main(true, "overridden");
    assert!(
        text.contains("override by olga") && text.contains("INC-7"),
        "{text}"
    );
    let audit = w.factory(&["audit", "HEAD~1..HEAD"]);
    assert_eq!(audit.status.code(), Some(0), "{}", stderr(&audit));
    assert!(
        stdout(&audit).contains("checkout is down (INC-7)"),
        "{}",
        stdout(&audit)
    );
}

#[test]
fn pre_push_and_audit_agree_with_the_server() {
    let w = World::new();
    success(w.factory(&["hooks", "install"]), "hooks install");
    // An existing hook stays: the second install keeps it chained, and it still runs.
    let hooks = w.dev.path().join(".git/hooks");
    w.endpoint_commit();
    let base = w.dev.git(&["rev-parse", "origin/main"]).trim().to_owned();
    let range = format!("{base}..HEAD");
    let audit = w.factory(&["audit", &range, "--format", "json"]);
    assert_eq!(audit.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(j["decision"], "blocked");
    let push = w.push_with_hooks(&["main"]);
    assert!(!push.status.success());
    let text = stderr(&push) + &stdout(&push);
    assert!(
        text.contains("stopped before it is sent") && text.contains("`maintainer`"),
        "{text}"
    );
    assert_eq!(w.server_ref("refs/heads/main").unwrap(), base);
    w.approve("bob", "maintainer");
    let audit = w.factory(&["audit", &range]);
    assert_eq!(audit.status.code(), Some(0), "{}", stdout(&audit));
    let push = w.push_with_hooks(&["main", "refs/notes/factory/*:refs/notes/factory/*"]);
    assert!(push.status.success(), "{}", stderr(&push));
    assert!(hooks.join("pre-push").exists());
}

#[test]
fn hooks_install_chains_an_existing_hook_and_is_idempotent() {
    let w = World::new();
    let hooks = w.dev.path().join(".git/hooks");
    let mark = w.dev.home().join("chained-ran");
    std::fs::write(
        hooks.join("pre-push"),
        format!("#!/bin/sh\ncat > '{}'\nexit 0\n", mark.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            hooks.join("pre-push"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    let first = success(w.factory(&["hooks", "install"]), "install");
    assert!(first.contains("previous hook runs first"), "{first}");
    let second = success(w.factory(&["hooks", "install"]), "install again");
    assert!(second.contains("already installed"), "{second}");
    w.agent_commit("docs/x.md", "x\n", "Doc x");
    w.attach_transcript();
    let push = w.push_with_hooks(&["main", "refs/notes/factory/*:refs/notes/factory/*"]);
    assert!(push.status.success(), "{}", stderr(&push));
    let seen = std::fs::read_to_string(&mark).unwrap();
    assert!(
        seen.contains("refs/heads/main"),
        "the chained hook got git's input: {seen}"
    );
    // A failing chained hook stops the push.
    std::fs::write(
        hooks.join("pre-push.factory-chained"),
        "#!/bin/sh\nexit 7\n",
    )
    .unwrap();
    w.agent_commit("docs/y.md", "y\n", "Doc y");
    w.attach_transcript();
    let push = w.push_with_hooks(&["main"]);
    assert!(!push.status.success());
}

#[test]
fn malformed_hook_input_is_refused_with_a_precise_message() {
    let w = World::new();
    let mut child = w
        .dev
        .command(factory_bin())
        .arg("-C")
        .arg(&w.server)
        .args(["hook", "pre-receive"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"not-an-id 0000000000000000000000000000000000000000 refs/heads/main\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("line 1 is malformed: `not-an-id` is not an object id"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_new_protected_branch_is_judged_against_the_default_branch() {
    let w = World::new();
    // The server's HEAD names a branch that does not exist: main still serves as the base.
    w.dev
        .command("git")
        .arg("--git-dir")
        .arg(&w.server)
        .args(["symbolic-ref", "HEAD", "refs/heads/master"])
        .output()
        .unwrap();
    w.endpoint_commit();
    let o = w.push(&[
        "HEAD:refs/heads/release/1",
        "refs/notes/factory/*:refs/notes/factory/*",
    ]);
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("needs 1 approval(s) by `maintainer`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.server_ref("refs/heads/release/1"), None);
    // A review branch with the same commit is not gated.
    let o = w.push(&["HEAD:refs/heads/agent/orders"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn notes_cannot_lose_lines_or_notes_even_by_fast_forward() {
    let w = World::new();
    w.agent_commit("src/api.rs", "r.route(\"/a\", get(a))\n", "Add a");
    w.attach_transcript();
    w.approve("bob", "maintainer");
    w.push_main(true, "approved");
    let approvals = w.server_ref("refs/notes/factory/approvals").unwrap();
    let tip = w.dev.git(&["rev-parse", "HEAD"]).trim().to_owned();
    // A new notes commit on top of the old one (a fast-forward) that empties bob's note.
    w.dev.git(&[
        "notes",
        "--ref",
        "factory/approvals",
        "add",
        "-f",
        "-m",
        "{}",
        &tip,
    ]);
    let o = w.push(&["refs/notes/factory/approvals:refs/notes/factory/approvals"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("lines of the note of") && stderr(&o).contains("only grow"),
        "{}",
        stderr(&o)
    );
    // One that removes the note altogether.
    w.dev
        .git(&["notes", "--ref", "factory/approvals", "remove", &tip]);
    let o = w.push(&["refs/notes/factory/approvals:refs/notes/factory/approvals"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("are removed or changed"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        w.server_ref("refs/notes/factory/approvals").unwrap(),
        approvals
    );
}

#[test]
fn a_malformed_note_line_pushed_with_the_branch_is_refused() {
    let w = World::new();
    w.agent_commit("docs/a.md", "a\n", "Doc a");
    w.attach_transcript();
    let tip = w.dev.git(&["rev-parse", "HEAD"]).trim().to_owned();
    w.dev.git(&[
        "notes",
        "--ref",
        "factory/approvals",
        "add",
        "-m",
        "{not a statement",
        &tip,
    ]);
    let text = w.push_main(false, "a malformed approvals note");
    assert!(
        text.contains("line 1 of the note of") && text.contains("is not a valid statement"),
        "{text}"
    );
    assert!(w.server_ref("refs/notes/factory/approvals").is_none());
}

#[test]
fn pre_push_ignores_remote_branches_it_has_not_fetched_unless_it_needs_them() {
    let w = World::new();
    success(w.factory(&["hooks", "install"]), "hooks install");
    // Someone else's branch on the server, whose commit this clone has never seen.
    let server = |args: &[&str]| {
        success(
            w.dev
                .command("git")
                .arg("--git-dir")
                .arg(&w.server)
                .args(args)
                .output()
                .unwrap(),
            "server git",
        )
    };
    let other = server(&["commit-tree", "main^{tree}", "-p", "main", "-m", "theirs"]);
    server(&["update-ref", "refs/heads/their-topic", other.trim()]);
    w.agent_commit("docs/b.md", "b\n", "Doc b");
    w.attach_transcript();
    let o = w.push_with_hooks(&["main", "refs/notes/factory/*:refs/notes/factory/*"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The default branch moved on without us: that one is needed, so the push stops.
    let ahead = server(&["commit-tree", "main^{tree}", "-p", "main", "-m", "ahead"]);
    server(&["update-ref", "refs/heads/main", ahead.trim()]);
    w.agent_commit("docs/c.md", "c\n", "Doc c");
    let o = w.push_with_hooks(&["main"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("this clone does not have"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_base_whose_policy_does_not_load_is_refused_and_blocks_everything() {
    let dev = TestRepo::new();
    let server = dev.home().join("server.git");
    let git_server = |args: &[&str]| {
        success(
            dev.command("git")
                .arg("--git-dir")
                .arg(&server)
                .args(args)
                .output()
                .unwrap(),
            "server git",
        )
    };
    dev.git(&[
        "init",
        "--quiet",
        "--bare",
        "--initial-branch=main",
        &server.display().to_string(),
    ]);
    success(
        dev.command(factory_bin())
            .arg("-C")
            .arg(&server)
            .args(["hooks", "install", "--server"])
            .output()
            .unwrap(),
        "hooks install --server",
    );
    dev.write(
        ".factory/policy.toml",
        "version = 1\ndefault-tier = \"nope\"\n",
    );
    dev.commit("A broken policy");
    dev.git(&["remote", "add", "origin", &server.display().to_string()]);
    let o = dev
        .command("git")
        .args(["push", "--no-verify", "origin", "main"])
        .output()
        .unwrap();
    assert!(!o.status.success(), "a broken base is not accepted");
    assert!(
        stderr(&o).contains("its policy does not load"),
        "{}",
        stderr(&o)
    );
    // Had it got there some other way, every push is blocked with the reason.
    let broken = dev.git(&["rev-parse", "main"]);
    git_server(&[
        "fetch",
        "--quiet",
        &dev.path().display().to_string(),
        "main",
    ]);
    git_server(&["update-ref", "refs/heads/main", broken.trim()]);
    dev.write("docs/x.md", "x\n");
    dev.commit("Docs");
    let o = dev
        .command("git")
        .args([
            "push",
            "--no-verify",
            "origin",
            "main",
            "main:refs/heads/review",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot read the default branch's policy, so it blocks"),
        "{}",
        stderr(&o)
    );
    assert_eq!(git_server(&["rev-parse", "main"]), broken);
}

// ---- Attacks on the gate (issue 12): each tries to get a push past the server's hook. ----

impl World {
    /// Lands a hard-stop change (src/auth/session.rs) approved by carol and dave; returns the
    /// commit before it (the old state) and the landed tip.
    fn land_a_security_fix(&self) -> (String, String) {
        let old = self.dev.git(&["rev-parse", "HEAD"]).trim().to_owned();
        self.agent_commit(
            "src/auth/session.rs",
            "pub fn expire() -> u64 { 900 }\n",
            "Expire sessions after 15 minutes",
        );
        self.attach_transcript();
        self.approve("carol", "validation-architect");
        self.approve("dave", "domain-expert");
        let tip = self.push_main(true, "the approved security fix");
        assert!(tip.contains("tier hard-stop"), "{tip}");
        (old, self.dev.git(&["rev-parse", "HEAD"]).trim().to_owned())
    }

    /// A merge commit with these parents and the tree of `tree_of`, made with plumbing; HEAD
    /// moves to it.
    fn merge_commit(&self, parents: &[&str], tree_of: &str, message: &str) -> String {
        let tree = self.dev.git(&["rev-parse", &format!("{tree_of}^{{tree}}")]);
        let mut args = vec!["commit-tree", tree.trim()];
        for p in parents {
            args.extend(["-p", p]);
        }
        args.extend(["-m", message]);
        let merge = self.dev.git(&args).trim().to_owned();
        self.dev.git(&["reset", "--quiet", "--hard", &merge]);
        merge
    }

    /// `factory approve` (or reject, withdraw) by `who` at a given time.
    fn statement_at(&self, who: &str, args: &[&str], time: &str) -> Output {
        let key = self.key(who).display().to_string();
        self.dev
            .command(factory_bin())
            .env("GIT_COMMITTER_DATE", time)
            .arg("approve")
            .args(args)
            // An attacker writes the statement whatever factory says of it.
            .args(["--key", &key, "--force"])
            .output()
            .unwrap()
    }
}

#[test]
fn attack_a_merge_of_an_old_commit_cannot_bring_back_old_content() {
    let w = World::new();
    let (old, fixed) = w.land_a_security_fix();
    // A merge whose second parent is the old commit, resolved to the old tree: the fix is
    // silently reverted. Judged by what it brings to its first parent: the auth file goes.
    w.merge_commit(&[&fixed, &old], &old, "Merge branch 'docs'");
    let text = w.push_main(false, "a merge resolved to an old parent's content");
    assert!(
        text.contains("tier hard-stop") && text.contains("`validation-architect`"),
        "{text}"
    );
    // The same with the parents swapped: the tip's first-parent chain misses the base, and the
    // net change base -> tip is judged.
    w.dev.git(&["reset", "--quiet", "--hard", &fixed]);
    w.merge_commit(&[&old, &fixed], &old, "Merge main into docs");
    let text = w.push_main(false, "a merge whose first parent is older than the base");
    assert!(text.contains("tier hard-stop"), "{text}");
    // factory audit for CI says the same.
    let range = format!("{fixed}..HEAD");
    let o = w.factory(&["audit", &range]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    // An octopus merge of two old commits, resolved to the oldest tree.
    w.dev.git(&["reset", "--quiet", "--hard", &fixed]);
    let side_tree = w.dev.git(&["rev-parse", &format!("{old}^{{tree}}")]);
    let older = w
        .dev
        .git(&["commit-tree", side_tree.trim(), "-p", &old, "-m", "side"])
        .trim()
        .to_owned();
    w.merge_commit(&[&fixed, &old, &older], &old, "Octopus");
    w.push_main(false, "an octopus merge resolved to old content");
    // The legitimate counterpart: a clean merge of a docs branch lands.
    w.dev.git(&["reset", "--quiet", "--hard", &fixed]);
    w.dev.git(&["checkout", "--quiet", "-b", "docs", &old]);
    w.agent_commit("docs/guide.md", "# Guide\n", "Write the guide");
    w.attach_transcript();
    w.dev.git(&["checkout", "--quiet", "main"]);
    w.dev.git(&[
        "merge",
        "--quiet",
        "--no-ff",
        "--no-edit",
        "docs",
        "-m",
        "Merge docs",
    ]);
    w.attach_transcript();
    let text = w.push_main(true, "a clean merge of a docs branch");
    assert!(text.contains("tier auto"), "{text}");
}

#[test]
fn attack_an_old_policy_cannot_come_back_through_a_new_branch() {
    let w = World::new();
    let old = w.dev.git(&["rev-parse", "HEAD"]).trim().to_owned();
    // Remove bob from the policy (a governance change: carol and dave sign it off).
    let policy = std::fs::read_to_string(w.dev.path().join(".factory/policy.toml")).unwrap();
    let start = policy.find("\n[people.bob]").unwrap();
    let end = start + 1 + policy[start + 1..].find("\n[people.").unwrap();
    let policy = format!("{}{}", &policy[..start], &policy[end..]).replace(
        "roles = [\"domain-expert\"]",
        "roles = [\"domain-expert\", \"maintainer\"]",
    );
    w.dev.write(".factory/policy.toml", policy);
    w.dev.commit("Remove bob");
    w.approve("carol", "validation-architect");
    w.approve("dave", "domain-expert");
    w.push_main(true, "bob removed, signed off");
    // A release branch at the old commit (which still names bob) is just history.
    let o = w.push(&[&format!("{old}:refs/heads/release/old")]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Work on it that bob approves under the old policy does not count: every protected ref
    // is judged by the default branch's policy and keys.
    w.dev
        .git(&["checkout", "--quiet", "-b", "release-old", &old]);
    w.agent_commit(
        "src/api.rs",
        "fn routes(r: Router) -> Router { r.route(\"/x\", get(x)) }\n",
        "Add x",
    );
    w.attach_transcript();
    // factory approve itself signs under the default branch's policy, which has no bob; a
    // statement under the old policy is what an attacker would craft: without the remote's
    // default branch, approve falls back to the base's policy.
    let o = w.statement_at(
        "bob",
        &["--role", "maintainer", "--base", &old],
        "2026-01-05T11:00:00Z",
    );
    assert!(
        !o.status.success() && stderr(&o).contains("no person's key"),
        "{}",
        stderr(&o)
    );
    w.dev.git(&["update-ref", "-d", "refs/remotes/origin/main"]);
    let o = w.statement_at(
        "bob",
        &["--role", "maintainer", "--base", &old],
        "2026-01-05T11:00:00Z",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    w.dev.git(&["fetch", "--quiet", "origin"]);
    let before = w.server_ref("refs/heads/release/old");
    let o = w.push(&[
        "HEAD:refs/heads/release/old",
        "refs/notes/factory/*:refs/notes/factory/*",
    ]);
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("needs 1 approval(s) by `maintainer`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.server_ref("refs/heads/release/old"), before);
    // The legitimate counterpart: dave, a maintainer under today's policy, approves under it.
    let main = w.server_ref("refs/heads/main").unwrap();
    let o = w.statement_at(
        "dave",
        &["--role", "maintainer", "--base", &old],
        "2026-01-05T11:00:00Z",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(w.server_ref("refs/heads/main").unwrap(), main);
    let o = w.push(&[
        "HEAD:refs/heads/release/old",
        "refs/notes/factory/*:refs/notes/factory/*",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn attack_a_notes_tree_that_maps_one_object_twice_is_refused() {
    let w = World::new();
    w.agent_commit("src/api.rs", "r.route(\"/a\", get(a))\n", "Add a");
    w.attach_transcript();
    let tip = w.dev.git(&["rev-parse", "HEAD"]).trim().to_owned();
    // bob rejects; the reject is pushed.
    let o = w.statement_at(
        "bob",
        &["--role", "maintainer", "--reject"],
        "2026-01-05T11:00:00Z",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = w.push(&["refs/notes/factory/*:refs/notes/factory/*"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let notes = w.server_ref("refs/notes/factory/approvals").unwrap();
    // A new notes commit whose tree keeps the reject and adds a fanned-out entry for the same
    // commit holding nothing: a reader that takes the fanned-out one loses the reject.
    let flat = w
        .dev
        .git(&["rev-parse", &format!("refs/notes/factory/approvals:{tip}")])
        .trim()
        .to_owned();
    let empty = w
        .dev
        .command("git")
        .args(["hash-object", "-w", "--stdin"])
        .output()
        .unwrap();
    let empty = stdout(&empty).trim().to_owned();
    let sub = mktree(&w, &format!("100644 blob {empty}\t{}\n", &tip[2..]));
    let tree = mktree(
        &w,
        &format!(
            "100644 blob {flat}\t{tip}\n040000 tree {sub}\t{}\n",
            &tip[..2]
        ),
    );
    let commit = w
        .dev
        .git(&["commit-tree", &tree, "-p", &notes, "-m", "shadow"])
        .trim()
        .to_owned();
    w.dev
        .git(&["update-ref", "refs/notes/factory/approvals", &commit]);
    let o = w.push(&["refs/notes/factory/approvals:refs/notes/factory/approvals"]);
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("maps") && stderr(&o).contains("2 times"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.server_ref("refs/notes/factory/approvals").unwrap(), notes);
    // Locally the ambiguous tree is an error wherever factory reads it (fail closed).
    let o = w.factory(&["audit", "origin/main..HEAD"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    let o = w.factory(&["approvals"]);
    assert!(!o.status.success());
}

fn mktree(w: &World, listing: &str) -> String {
    use std::io::Write as _;
    let mut child = w
        .dev
        .command("git")
        .args(["mktree"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(listing.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    stdout(&out).trim().to_owned()
}

#[test]
fn attack_poisoned_notes_are_refused_and_a_reject_can_be_withdrawn() {
    let w = World::new();
    w.agent_commit("src/api.rs", "r.route(\"/a\", get(a))\n", "Add a");
    w.attach_transcript();
    let tip = w.dev.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let o = w.push(&[
        "HEAD:refs/heads/agent/a",
        "refs/notes/factory/*:refs/notes/factory/*",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let transcripts = w.server_ref("refs/notes/factory/transcripts");
    // A notes-only push that poisons the approvals note of the pending commit.
    w.dev.git(&[
        "notes",
        "--ref",
        "factory/approvals",
        "add",
        "-m",
        "garbage{",
        &tip,
    ]);
    let o = w.push(&["refs/notes/factory/approvals:refs/notes/factory/approvals"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("line 1 of the note of")
            && stderr(&o).contains("not a valid statement"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.server_ref("refs/notes/factory/approvals"), None);
    // The same for a transcript line.
    w.dev.git(&[
        "notes",
        "--ref",
        "factory/transcripts",
        "append",
        "-m",
        "{\"schema\":1}",
        &tip,
    ]);
    let o = w.push(&["refs/notes/factory/transcripts:refs/notes/factory/transcripts"]);
    assert!(
        !o.status.success() && stderr(&o).contains("not a valid transcript"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.server_ref("refs/notes/factory/transcripts"), transcripts);
    w.dev
        .git(&["notes", "--ref", "factory/approvals", "remove", &tip]);
    w.dev.git(&[
        "fetch",
        "--quiet",
        "origin",
        "+refs/notes/factory/transcripts:refs/notes/factory/transcripts",
    ]);
    // bob rejects, then withdraws the reject and approves: it lands.
    let o = w.statement_at(
        "bob",
        &["--role", "maintainer", "--reject"],
        "2026-01-05T11:00:00Z",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = w.push_main(false, "an outstanding reject");
    assert!(text.contains("bob rejected the change"), "{text}");
    let o = w.statement_at("bob", &["--withdraw"], "2026-01-05T12:00:00Z");
    assert!(o.status.success(), "{}", stderr(&o));
    let text = w.push_main(false, "withdrawn, but not approved yet");
    assert!(!text.contains("bob rejected"), "{text}");
    let o = w.statement_at("bob", &["--role", "maintainer"], "2026-01-05T13:00:00Z");
    assert!(o.status.success(), "{}", stderr(&o));
    w.push_main(true, "the reject withdrawn and the change approved");
}

#[test]
fn attack_claimed_identities_only_take_away() {
    for requested in [
        "Requested-By: bob@example.com",
        "Requested-By: erin\nRequested-By: bob",
        "Requested-By: BOB",
    ] {
        let w = World::new();
        w.dev.write("src/api.rs", "r.route(\"/a\", get(a))\n");
        w.dev
            .commit(&format!("Add a\n\nAgent: claude-code/2.0\n{requested}\n"));
        w.attach_transcript();
        w.approve_anyway("bob", "maintainer");
        let text = w.push_main(false, requested);
        assert!(
            text.contains("cannot approve") || text.contains("no one in the base policy"),
            "{requested}: {text}"
        );
    }
    // An unsigned commit authored by bob, or relabelled as an agent's, is not approved by bob.
    for message in [
        "Add b\n",
        "Add b\n\nAgent: claude-code/2.0\nRequested-By: erin\n",
    ] {
        let w = World::new();
        w.dev.write("src/api.rs", "r.route(\"/b\", get(b))\n");
        w.dev.git(&["add", "-A"]);
        let o = w
            .dev
            .command("git")
            .env("GIT_AUTHOR_NAME", "bob")
            .env("GIT_AUTHOR_EMAIL", "bob@example.com")
            .args(["commit", "--quiet", "-a", "-m", message])
            .output()
            .unwrap();
        success(o, "git commit as bob");
        w.attach_transcript();
        w.approve_anyway("bob", "maintainer");
        w.push_main(false, "bob approving bob's own commit");
    }
}

#[test]
fn attack_the_server_hook_ignores_the_pushers_environment() {
    let w = World::new();
    w.agent_commit("docs/a.md", "a\n", "Doc a without a transcript");
    let before = w.server_ref("refs/heads/main");
    let bin = w.dev.home().join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("factory"), "#!/bin/sh\nexit 0\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("factory"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = w
        .dev
        .command("git")
        .env("FACTORY", "/bin/true")
        .env("PATH", &path)
        .args(["push", "--no-verify", "origin", "main"])
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("without a transcript"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.server_ref("refs/heads/main"), before);
}

#[test]
fn attack_backdated_signatures_and_expired_keys_do_not_count() {
    let w = World::new();
    // gina's key was made in 2019 and expired a year later.
    let (gnupg, fpr) = w.dev.gpg_key(
        "gina",
        "Gina <gina@example.com>",
        "1y",
        &["--faked-system-time", "20190101T000000!"],
    );
    let real_gpg = stdout(
        &std::process::Command::new("sh")
            .args(["-c", "command -v gpg"])
            .output()
            .unwrap(),
    )
    .trim()
    .to_owned();
    // A gpg that signs with the clock set back to 2019, while the key was valid.
    let fakebin = w.dev.home().join("gpg-2019");
    std::fs::create_dir_all(&fakebin).unwrap();
    std::fs::write(
        fakebin.join("gpg"),
        format!("#!/bin/sh\nexec {real_gpg} --faked-system-time 20190601T000000! \"$@\"\n"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(fakebin.join("gpg"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    let cert = w
        .dev
        .command("gpg")
        .env("GNUPGHOME", &gnupg)
        .args(["--batch", "--armor", "--export", &fpr])
        .output()
        .unwrap();
    w.dev.write(".factory/keys/gina.asc", cert.stdout);
    let policy = std::fs::read_to_string(w.dev.path().join(".factory/policy.toml")).unwrap();
    w.dev.write(
        ".factory/policy.toml",
        format!("{policy}\n[people.gina]\nroles = [\"maintainer\"]\nkeys = [\"openpgp:{fpr}\"]\n"),
    );
    w.dev.commit("Add gina");
    w.approve("carol", "validation-architect");
    w.approve("dave", "domain-expert");
    w.push_main(true, "gina added, signed off");
    w.dev.git(&["config", "user.signingkey", &fpr]);
    let path = format!(
        "{}:{}",
        fakebin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // An approval signed today with the clock set back to when the key was valid.
    w.agent_commit("src/api.rs", "r.route(\"/a\", get(a))\n", "Add a");
    w.attach_transcript();
    let o = w
        .dev
        .command(factory_bin())
        .env("GNUPGHOME", &gnupg)
        .env("PATH", &path)
        .env("GIT_COMMITTER_DATE", "2026-01-05T11:00:00Z")
        .args(["approve", "--role", "maintainer"])
        .output()
        .unwrap();
    // factory says so before writing anything...
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("would not count"), "{}", stderr(&o));
    // ...and the statement written anyway counts for nothing.
    let o = w
        .dev
        .command(factory_bin())
        .env("GNUPGHOME", &gnupg)
        .env("PATH", &path)
        .env("GIT_COMMITTER_DATE", "2026-01-05T11:00:00Z")
        .args(["approve", "--role", "maintainer", "--force"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = w.push_main(
        false,
        "an approval by a key that expired in 2020, backdated",
    );
    assert!(
        text.contains("needs 1 approval(s) by `maintainer`"),
        "{text}"
    );
    assert!(
        text.contains("can be given by: bob") && !text.contains("gina"),
        "an expired person is not offered: {text}"
    );
    // A commit signed the same way does not approve itself.
    w.dev.git(&["reset", "--quiet", "--hard", "origin/main"]);
    w.dev.write("src/api.rs", "r.route(\"/b\", get(b))\n");
    w.dev.git(&["add", "-A"]);
    let gpg_program = fakebin.join("gpg").display().to_string();
    let o = w
        .dev
        .command("git")
        .env("GNUPGHOME", &gnupg)
        .args(["-c", &format!("gpg.program={gpg_program}")])
        .args(["commit", "--quiet", "-S", "-m", "Add b"])
        .output()
        .unwrap();
    success(o, "a backdated signed commit");
    let text = w.push_main(false, "a commit signed by an expired key, backdated");
    assert!(
        text.contains("needs 1 approval(s) by `maintainer`"),
        "{text}"
    );
    // The legitimate counterpart: bob, whose key is valid, approves.
    w.approve("bob", "maintainer");
    w.push_main(true, "approved by a valid key");
}

#[test]
fn attack_a_nul_byte_or_bare_cr_does_not_hide_content_from_the_rules() {
    let w = World::new();
    // A private key in a docs file is a hard stop; a NUL byte that makes the file "binary"
    // does not hide it.
    w.agent_commit(
        "docs/deploy.yml",
        "key: |\n  -----BEGIN OPENSSH PRIVATE KEY-----\n  b3BlbnNzaC1rZXktdjEAAAAA\n  -----END OPENSSH PRIVATE KEY-----\n#\0\n",
        "Deploy notes",
    );
    w.attach_transcript();
    let text = w.push_main(false, "a secret in a file with a NUL byte");
    assert!(text.contains("tier hard-stop"), "{text}");
    // A bare CR starts a new line for Python: a `^`-anchored crypto rule still sees the import.
    w.dev.git(&["reset", "--quiet", "--hard", "origin/main"]);
    w.agent_commit(
        "src/c.py",
        "x = 1\rfrom cryptography.hazmat.primitives import hashes\n",
        "Hash things",
    );
    w.attach_transcript();
    let text = w.push_main(false, "a crypto import after a bare CR");
    assert!(text.contains("tier hard-stop"), "{text}");
    // The legitimate counterpart: a real binary file in docs lands as documentation.
    w.dev.git(&["reset", "--quiet", "--hard", "origin/main"]);
    w.agent_commit(
        "docs/logo.png",
        "\u{89}PNG\r\n\u{1a}\n\0\0\0\rIHDR",
        "Add the logo",
    );
    w.attach_transcript();
    let text = w.push_main(true, "a binary image in docs");
    assert!(text.contains("tier auto"), "{text}");
}

#[test]
fn attack_a_notes_entry_in_upper_case_hex_is_refused() {
    let w = World::new();
    w.agent_commit("docs/a.md", "a\n", "Doc a");
    w.attach_transcript();
    w.push_main(true, "docs");
    let tip = w.dev.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let notes = w.server_ref("refs/notes/factory/transcripts").unwrap();
    let blob = w
        .dev
        .git(&[
            "rev-parse",
            &format!("refs/notes/factory/transcripts:{tip}"),
        ])
        .trim()
        .to_owned();
    let tree = mktree(
        &w,
        &format!(
            "100644 blob {blob}\t{tip}\n100644 blob {blob}\t{}\n",
            tip.to_uppercase()
        ),
    );
    let commit = w
        .dev
        .git(&["commit-tree", &tree, "-p", &notes, "-m", "junk"])
        .trim()
        .to_owned();
    w.dev
        .git(&["update-ref", "refs/notes/factory/transcripts", &commit]);
    let o = w.push(&["refs/notes/factory/transcripts:refs/notes/factory/transcripts"]);
    assert!(
        !o.status.success() && stderr(&o).contains("is not a note"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        w.server_ref("refs/notes/factory/transcripts").unwrap(),
        notes
    );
}

#[test]
fn attack_removing_the_policy_cannot_lock_the_repository() {
    let w = World::new();
    w.dev.git(&["rm", "-r", "--quiet", ".factory"]);
    w.dev.commit("Drop the policy");
    w.approve("carol", "validation-architect");
    w.approve("dave", "domain-expert");
    let text = w.push_main(false, "a governed repository dropping its policy");
    assert!(text.contains("names no people"), "{text}");
    // A policy that does not load (its maintainer removed, the tier still requiring one) would
    // block every later push: refused too, however well signed off.
    w.dev.git(&["reset", "--quiet", "--hard", "origin/main"]);
    let policy = std::fs::read_to_string(w.dev.path().join(".factory/policy.toml")).unwrap();
    let start = policy.find("\n[people.bob]").unwrap();
    let end = start + 1 + policy[start + 1..].find("\n[people.").unwrap();
    w.dev.write(
        ".factory/policy.toml",
        format!("{}{}", &policy[..start], &policy[end..]),
    );
    w.dev.commit("Remove the only maintainer");
    w.approve("carol", "validation-architect");
    w.approve("dave", "domain-expert");
    let text = w.push_main(false, "a policy that does not load");
    assert!(text.contains("its policy does not load"), "{text}");
    // A branch differing from main only by case is refused too.
    w.dev.git(&["reset", "--quiet", "--hard", "origin/main"]);
    w.agent_commit("src/auth/a.rs", "pub fn a() {}\n", "Auth a");
    w.attach_transcript();
    let o = w.push(&["HEAD:refs/heads/Main"]);
    assert!(
        !o.status.success() && stderr(&o).contains("only by case"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.server_ref("refs/heads/Main"), None);
}

#[test]
fn attack_a_transcript_attached_after_the_approval_voids_it() {
    let w = World::new();
    w.agent_commit("src/api.rs", "r.route(\"/a\", get(a))\n", "Add a");
    w.attach_transcript();
    w.approve("bob", "maintainer");
    // Another session attached after bob approved: bob never saw it.
    let other = workspace_root().join("crates/factory-shiftlog/tests/fixtures/codex.jsonl");
    success(
        w.factory(&["transcript", "attach", &other.display().to_string()]),
        "attach a second transcript",
    );
    let text = w.push_main(false, "an approval that did not see every transcript");
    assert!(
        text.contains("needs 1 approval(s) by `maintainer`"),
        "{text}"
    );
    // bob approves again, having seen both: it lands.
    let o = w.statement_at("bob", &["--role", "maintainer"], "2026-01-05T11:00:00Z");
    assert!(o.status.success(), "{}", stderr(&o));
    w.push_main(true, "approved again after the second transcript");
}

#[test]
fn attack_a_statement_dated_in_the_future_does_not_count() {
    let w = World::new();
    w.agent_commit("src/api.rs", "r.route(\"/a\", get(a))\n", "Add a");
    w.attach_transcript();
    // Dated years ahead, it would outlive any later withdrawal.
    let o = w.statement_at("bob", &["--role", "maintainer"], "2099-01-01T00:00:00Z");
    assert!(o.status.success(), "{}", stderr(&o));
    let text = w.push_main(false, "an approval dated in the future");
    assert!(
        text.contains("needs 1 approval(s) by `maintainer`"),
        "{text}"
    );
    let o = w.statement_at("bob", &["--role", "maintainer"], "2026-01-05T11:00:00Z");
    assert!(o.status.success(), "{}", stderr(&o));
    w.push_main(true, "an approval dated now");
}

/// Real workflows: an approval covers a change, wherever and however that change lands.
impl World {
    /// An agent's commit adding the orders endpoint at src/api.rs, with its transcript.
    fn endpoint_commit(&self) -> String {
        let tip = self.agent_commit(
            "src/api.rs",
            "fn routes(r: Router) -> Router { r.route(\"/orders\", get(list)) }\n",
            "Add the orders endpoint",
        );
        self.attach_transcript();
        tip
    }

    /// A topic branch from main with an agent's endpoint and its transcript; returns its tip.
    fn topic_with_an_endpoint(&self) -> String {
        self.dev.git(&["switch", "--quiet", "-c", "topic", "main"]);
        self.endpoint_commit()
    }

    /// An agent's documentation change landed on main (with its transcript): main moves.
    fn main_moves(&self, path: &str) {
        self.dev.git(&["switch", "--quiet", "main"]);
        self.agent_commit(path, "# Notes\n", "Write some notes");
        self.attach_transcript();
        self.push_main(true, "an unrelated docs change lands first");
    }
}

#[test]
fn an_approval_survives_main_moving_and_a_rebase() {
    let w = World::new();
    let topic = w.topic_with_an_endpoint();
    w.approve("bob", "maintainer");
    w.main_moves("docs/notes.md");
    // Rebase the approved branch onto the new main; its transcript follows by patch id.
    w.dev.git(&["switch", "--quiet", "topic"]);
    w.dev.git(&["rebase", "--quiet", "main"]);
    assert_ne!(w.dev.git(&["rev-parse", "HEAD"]).trim(), topic);
    success(
        w.factory(&["notes", "remap", "main..topic"]),
        "notes remap after the rebase",
    );
    w.dev.git(&["switch", "--quiet", "main"]);
    w.dev.git(&["merge", "--quiet", "--ff-only", "topic"]);
    let text = w.push_main(true, "the same change, rebased onto a newer main");
    assert!(text.contains("pass (gated, tier review"), "{text}");
}

#[test]
fn an_approval_stops_counting_when_the_content_differs() {
    let w = World::new();
    w.topic_with_an_endpoint();
    w.approve("bob", "maintainer");
    // One more line after the approval: another change.
    w.agent_commit(
        "src/api.rs",
        "fn routes(r: Router) -> Router { r.route(\"/orders\", get(list)).route(\"/admin\", get(admin)) }\n",
        "Add the admin endpoint",
    );
    w.attach_transcript();
    w.dev.git(&["switch", "--quiet", "main"]);
    w.dev.git(&["merge", "--quiet", "--ff-only", "topic"]);
    let text = w.push_main(false, "an approval of other content");
    assert!(
        text.contains("needs 1 approval(s) by `maintainer`"),
        "{text}"
    );
}

#[test]
fn a_no_ff_merge_of_an_approved_branch_needs_no_second_approval() {
    let w = World::new();
    w.topic_with_an_endpoint();
    w.approve("bob", "maintainer");
    w.dev.git(&["switch", "--quiet", "main"]);
    w.dev.git(&[
        "merge",
        "--quiet",
        "--no-ff",
        "-m",
        "Merge the orders endpoint",
        "topic",
    ]);
    let text = w.push_main(true, "a --no-ff merge of the approved branch");
    assert!(text.contains("pass (gated, tier review"), "{text}");
}

#[test]
fn a_squash_merge_of_an_approved_branch_lands_on_its_approval() {
    let w = World::new();
    w.topic_with_an_endpoint();
    w.approve("bob", "maintainer");
    // The branch went to the server for review, as on a forge.
    let review = w.push(&["topic:refs/heads/review/topic"]);
    assert!(review.status.success(), "{}", stderr(&review));
    // What a forge's squash merge does: one new commit with the branch's net change.
    w.dev.git(&["switch", "--quiet", "main"]);
    w.dev.git(&["merge", "--quiet", "--squash", "topic"]);
    let squash = w.dev.commit("Add the orders endpoint (#12)");
    // The squash carries agent work: it is judged as the agent's, so it needs the session...
    let text = w.push_main(false, "a squash of agent work without its transcript");
    assert!(
        text.contains(&format!(
            "{} is an agent commit without a transcript",
            &squash[..12]
        )),
        "{text}"
    );
    // ...which `factory notes remap` carries over from the squashed branch.
    let remapped = success(w.factory(&["notes", "remap", "HEAD~1..HEAD"]), "remap");
    assert!(remapped.contains("1 session(s)"), "{remapped}");
    let text = w.push_main(true, "a squash of the approved branch");
    assert!(text.contains("pass (gated, tier review"), "{text}");
    let audit = w.factory(&["audit", "HEAD~1..HEAD", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(doc["landings"][0]["commits"][0]["origin"], "agent", "{doc}");
}

#[test]
fn attack_a_squash_cannot_launder_a_requesters_own_approval() {
    let w = World::new();
    // bob asks an agent for an endpoint and approves it himself (written with --force)...
    w.dev.git(&["switch", "--quiet", "-c", "topic", "main"]);
    w.dev.write(
        "src/api.rs",
        "fn routes(r: Router) -> Router { r.route(\"/orders\", get(list)) }\n",
    );
    w.dev
        .commit("Add the orders endpoint\n\nAgent: claude-code/2.0\nRequested-By: bob\n");
    w.attach_transcript();
    w.approve_anyway("bob", "maintainer");
    let review = w.push(&["topic:refs/heads/review/topic"]);
    assert!(review.status.success(), "{}", stderr(&review));
    // ...then someone else squashes it: bob's claim on the change goes with it.
    w.dev.git(&["switch", "--quiet", "main"]);
    w.dev.git(&["merge", "--quiet", "--squash", "topic"]);
    w.dev.commit("Add the orders endpoint (#14)");
    success(w.factory(&["notes", "remap", "HEAD~1..HEAD"]), "remap");
    let text = w.push_main(false, "a squash of bob's own request approved by bob");
    assert!(
        text.contains("needs 1 approval(s) by `maintainer` (0 counted)"),
        "{text}"
    );
}

#[test]
fn attack_an_approval_copied_onto_another_change_counts_for_nothing() {
    let w = World::new();
    let topic = w.topic_with_an_endpoint();
    w.approve("bob", "maintainer");
    let line = w.dev.git(&[
        "notes",
        "--ref",
        "refs/notes/factory/approvals",
        "show",
        &topic,
    ]);
    // Another endpoint on main, with bob's statement copied onto its note.
    w.dev.git(&["switch", "--quiet", "main"]);
    let other = w.agent_commit(
        "src/api.rs",
        "fn routes(r: Router) -> Router { r.route(\"/admin\", get(admin)) }\n",
        "Add the admin endpoint",
    );
    w.attach_transcript();
    w.dev.git(&[
        "notes",
        "--ref",
        "refs/notes/factory/approvals",
        "add",
        "-f",
        "-m",
        line.trim(),
        &other,
    ]);
    let text = w.push_main(false, "a statement copied onto another change");
    assert!(
        text.contains("needs 1 approval(s) by `maintainer` (0 counted)"),
        "{text}"
    );
}

#[test]
fn approve_refuses_to_write_a_statement_that_will_not_count() {
    let w = World::new();
    // bob asked for this change: his approval of it cannot count.
    w.dev.write(
        "src/api.rs",
        "fn routes(r: Router) -> Router { r.route(\"/orders\", get(list)) }\n",
    );
    let tip = w
        .dev
        .commit("Add the orders endpoint\n\nAgent: claude-code/2.0\nRequested-By: bob\n");
    let key = w.key("bob").display().to_string();
    let o = w.factory(&["approve", "--role", "maintainer", "--key", &key]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the approval would not count")
            && stderr(&o).contains("authored or requested"),
        "{}",
        stderr(&o)
    );
    let note = w
        .dev
        .command("git")
        .args([
            "notes",
            "--ref",
            "refs/notes/factory/approvals",
            "show",
            &tip,
        ])
        .output()
        .unwrap();
    assert!(!note.status.success(), "nothing was written");
    // --force writes it anyway, and it still counts for nothing.
    success(
        w.factory(&["approve", "--role", "maintainer", "--key", &key, "--force"]),
        "approve --force",
    );
    w.attach_transcript();
    let text = w.push_main(false, "the requester's own approval");
    assert!(
        text.contains("needs 1 approval(s) by `maintainer`"),
        "{text}"
    );
}

#[test]
fn an_audit_of_landed_history_judges_each_landing_with_its_statements() {
    let w = World::new();
    let start = w.server_ref("refs/heads/main").unwrap();
    // Three landings: a docs change, an approved endpoint (rebased after main moved), and an
    // approved endpoint squashed.
    let _ = w.topic_with_an_endpoint();
    w.approve("bob", "maintainer");
    w.main_moves("docs/notes.md");
    w.dev.git(&["switch", "--quiet", "topic"]);
    w.dev.git(&["rebase", "--quiet", "main"]);
    success(w.factory(&["notes", "remap", "main..topic"]), "remap");
    w.dev.git(&["switch", "--quiet", "main"]);
    w.dev.git(&["merge", "--quiet", "--ff-only", "topic"]);
    w.push_main(true, "the rebased endpoint");
    w.dev.git(&["switch", "--quiet", "-c", "topic2", "main"]);
    w.agent_commit(
        "src/admin.rs",
        "fn admin(r: Router) -> Router { r.route(\"/admin\", get(admin)) }\n",
        "Add the admin endpoint",
    );
    w.attach_transcript();
    w.approve("bob", "maintainer");
    let review = w.push(&["topic2:refs/heads/review/topic2"]);
    assert!(review.status.success(), "{}", stderr(&review));
    w.dev.git(&["switch", "--quiet", "main"]);
    w.dev.git(&["merge", "--quiet", "--squash", "topic2"]);
    w.dev.commit("Add the admin endpoint (#13)");
    success(w.factory(&["notes", "remap", "HEAD~1..HEAD"]), "remap");
    w.push_main(true, "the squashed endpoint");
    w.dev.git(&["fetch", "--quiet", "origin"]);

    let range = format!("{start}..origin/main");
    let o = w.factory(&["audit", &range]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(
        text.contains("pass: 3 landing(s)") && text.contains("approve by bob as maintainer"),
        "{text}"
    );
    let o = w.factory(&["audit", "--all-landed", "--format", "json"]);
    assert!(o.status.success(), "{}", stdout(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["decision"], "pass");
    assert_eq!(doc["landings"].as_array().unwrap().len(), 3);

    // A landing no one approved (it went around the gate) is found and blocks the audit.
    w.dev.git(&["switch", "--quiet", "--detach", "origin/main"]);
    let sneaked = w.agent_commit(
        "src/billing_api.rs",
        "fn more(r: Router) -> Router { r.route(\"/more\", get(more)) }\n",
        "Add another endpoint",
    );
    w.dev
        .git(&["update-ref", "refs/remotes/origin/main", &sneaked]);
    let o = w.factory(&["audit", &range]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("blocked: 4 landing(s)") && stdout(&o).contains("needs 1 approval"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn an_audit_never_passes_silently() {
    let w = World::new();
    // An empty range.
    let o = w.factory(&["audit", "HEAD..HEAD"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("is empty"), "{}", stderr(&o));
    // No default branch known: a clone whose remote has no HEAD and whose branch is not main.
    let lone = TestRepo::new();
    lone.write("README.md", "# x\n");
    lone.commit("First");
    lone.git(&["branch", "-m", "trunk"]);
    let o = lone
        .command(factory_bin())
        .args(["audit"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("set-head"), "{}", stderr(&o));
    // A shallow clone, as CI checks out by default.
    let shallow = w.dev.home().join("shallow");
    success(
        w.dev
            .command("git")
            .args(["clone", "--quiet", "--depth", "1"])
            .arg(format!("file://{}", w.server.display()))
            .arg(&shallow)
            .output()
            .unwrap(),
        "git clone --depth 1",
    );
    for args in [
        &["audit"][..],
        &["classify"],
        &["report", "--format", "json"],
    ] {
        let o = w
            .dev
            .command(factory_bin())
            .arg("-C")
            .arg(&shallow)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        assert!(
            stderr(&o).contains("shallow") && stderr(&o).contains("fetch-depth: 0"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn doctor_names_each_problem_with_its_fix_then_says_healthy() {
    let w = World::new();
    let o = w.factory(&["doctor"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    for fix in [
        "fix: factory hooks install",
        "fix: factory notes setup",
        "fix: git remote set-head origin --auto",
        "fix: git config user.signingkey",
    ] {
        assert!(text.contains(fix), "{fix}: {text}");
    }
    // A policy that does not load is named, with the command that shows why.
    let policy = w.dev.path().join(".factory/policy.toml");
    let good = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(&policy, "version = 1\n[[tier]]\nname = 3\n").unwrap();
    let o = w.factory(&["doctor"]);
    assert!(
        stdout(&o).contains("problem  policy") && stdout(&o).contains("fix: factory policy check"),
        "{}",
        stdout(&o)
    );
    std::fs::write(&policy, good).unwrap();
    success(w.factory(&["hooks", "install"]), "hooks install");
    success(w.factory(&["notes", "setup"]), "notes setup");
    w.dev.git(&["remote", "set-head", "origin", "--auto"]);
    w.dev.git(&["config", "gpg.format", "ssh"]);
    let bob = w.key("bob").display().to_string();
    w.dev.git(&["config", "user.signingkey", &bob]);
    let o = w.factory(&["doctor"]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).ends_with("healthy\n"), "{}", stdout(&o));
    // A key that is no person's is named.
    let (stranger, _) = w.dev.ssh_key("stranger");
    w.dev
        .git(&["config", "user.signingkey", &stranger.display().to_string()]);
    let o = w.factory(&["doctor"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("is no person's key in the policy"),
        "{}",
        stdout(&o)
    );
}

/// A smart-HTTP front for the world's server: `git http-backend` run as a CGI by Python's HTTP
/// server on 127.0.0.1, so pushes reach the pre-receive hook the way they do on a real host.
struct HttpServer {
    child: std::process::Child,
    url: String,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl World {
    fn serve_over_http(&self) -> HttpServer {
        let root = self.dev.home().to_owned();
        let cgi = root.join("www/cgi-bin");
        std::fs::create_dir_all(&cgi).unwrap();
        std::fs::write(cgi.join("git"), "#!/bin/sh\nexec git http-backend\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(cgi.join("git"), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        std::fs::write(
            root.join("serve.py"),
            "import http.server, sys, os\nos.chdir(sys.argv[1])\nclass H(http.server.CGIHTTPRequestHandler):\n    cgi_directories = ['/cgi-bin']\n    have_fork = False\n    def log_message(self, *a): pass\ns = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\nprint(s.server_address[1], flush=True)\ns.serve_forever()\n",
        )
        .unwrap();
        success(
            self.dev
                .command("git")
                .arg("--git-dir")
                .arg(&self.server)
                .args(["config", "http.receivepack", "true"])
                .output()
                .unwrap(),
            "http.receivepack",
        );
        let mut child = self
            .dev
            .command("python3")
            .arg("-W")
            .arg("ignore")
            .arg(root.join("serve.py"))
            .arg(root.join("www"))
            .env("GIT_PROJECT_ROOT", &root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 serves smart HTTP");
        let mut port = String::new();
        use std::io::BufRead as _;
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        HttpServer {
            child,
            url: format!("http://127.0.0.1:{}/cgi-bin/git/server.git", port.trim()),
        }
    }
}

#[test]
fn a_push_over_smart_http_is_judged_by_the_server_hook() {
    let w = World::new();
    let http = w.serve_over_http();
    w.dev.git(&["remote", "set-url", "origin", &http.url]);
    w.endpoint_commit();
    let text = w.push_main(false, "an endpoint without approval, over HTTP");
    assert!(
        text.contains("remote: factory: refs/heads/main")
            && text.contains("needs 1 approval(s) by `maintainer`"),
        "{text}"
    );
    w.approve("bob", "maintainer");
    let text = w.push_main(true, "approved, over HTTP");
    assert!(text.contains("pass (gated, tier review"), "{text}");
}

#[test]
fn pre_push_stops_a_push_that_leaves_its_approval_behind() {
    let w = World::new();
    success(w.factory(&["hooks", "install"]), "hooks install");
    w.endpoint_commit();
    w.approve("bob", "maintainer");
    let before = w.server_ref("refs/heads/main");
    // The branch alone: the server would not see the approval, so the client stops it first.
    let o = w.push_with_hooks(&["main"]);
    let text = stderr(&o) + &stdout(&o);
    assert!(!o.status.success(), "{text}");
    assert!(
        text.contains("the push is stopped before it is sent")
            && text.contains("needs 1 approval(s) by `maintainer` (0 counted)"),
        "{text}"
    );
    assert_eq!(w.server_ref("refs/heads/main"), before);
    // With the notes it lands.
    let o = w.push_with_hooks(&["main", "refs/notes/factory/*:refs/notes/factory/*"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Removing the policy around the gate does not make the history that follows "before
/// adoption": the removal itself is a landing judged by the policy it removes, and blocks.
#[test]
fn attack_removing_the_policy_in_history_does_not_make_later_landings_ungoverned() {
    let w = World::new();
    let start = w.server_ref("refs/heads/main").unwrap();
    w.dev.git(&["rm", "--quiet", "-r", ".factory"]);
    w.dev.commit("Drop the policy");
    w.endpoint_commit();
    w.dev.git(&["checkout", &start, "--", ".factory"]);
    w.dev.commit("Bring the policy back");
    // As if it had landed around the hooks.
    let tip = w.dev.git(&["rev-parse", "HEAD"]).trim().to_owned();
    w.dev.git(&["update-ref", "refs/remotes/origin/main", &tip]);
    let o = w.factory(&["audit", "--all-landed"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    let removal = text
        .lines()
        .find(|l| l.ends_with("Drop the policy"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(removal.starts_with("blocked"), "{text}");
}
