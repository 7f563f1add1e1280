//! End-to-end: `factory init` takes a repository from nothing to governed, idempotently.

use factory_tests::{TestRepo, stderr, stdout, success};

fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

#[test]
fn init_with_an_ssh_signing_key_then_again_then_forced() {
    let repo = TestRepo::new();
    let (key, public) = repo.ssh_key("pat");
    repo.git(&["config", "user.name", "Pat Person"]);
    repo.git(&["config", "user.email", "pat@example.com"]);
    repo.git(&["config", "gpg.format", "ssh"]);
    repo.git(&["config", "user.signingkey", &key.display().to_string()]);
    let first = success(
        repo.command(factory_bin()).arg("init").output().unwrap(),
        "init",
    );
    assert!(
        first.contains("wrote .factory/policy.toml from the `default` template, with you as `pat` (maintainer, validation-architect, domain-expert)"),
        "{first}"
    );
    assert!(
        first.contains("installed") && first.contains("pre-push"),
        "{first}"
    );
    let policy = std::fs::read_to_string(repo.path().join(".factory/policy.toml")).unwrap();
    assert!(
        policy.contains("[people.pat]") && policy.contains(&public),
        "{policy}"
    );
    assert!(policy.contains("name = \"Pat Person\""), "{policy}");
    // The policy is valid, and the notes travel.
    success(
        repo.command(factory_bin())
            .args(["policy", "check"])
            .output()
            .unwrap(),
        "policy check",
    );
    assert!(
        repo.git(&["config", "--get-all", "notes.rewriteRef"])
            .contains("refs/notes/factory/*")
    );

    // Again: nothing changes, nothing is overwritten.
    std::fs::write(
        repo.path().join(".factory/policy.toml"),
        policy.clone() + "# mine\n",
    )
    .unwrap();
    let second = success(
        repo.command(factory_bin()).arg("init").output().unwrap(),
        "init again",
    );
    assert!(second.contains("kept .factory/policy.toml"), "{second}");
    assert!(second.contains("already installed"), "{second}");
    assert!(second.contains("notes refspecs already set up"), "{second}");
    assert!(
        std::fs::read_to_string(repo.path().join(".factory/policy.toml"))
            .unwrap()
            .ends_with("# mine\n")
    );
    // --force writes the template again.
    let forced = success(
        repo.command(factory_bin())
            .args(["init", "--force", "--template", "open-source"])
            .output()
            .unwrap(),
        "init --force",
    );
    assert!(forced.contains("`open-source` template"), "{forced}");
    // The open-source template wants two maintainers for a hard stop: a warning, not a failure.
    assert!(
        forced.contains("note: tier `hard-stop` requires 2 people"),
        "{forced}"
    );

    // A signed commit by pat is recognised under the new policy.
    repo.git(&["add", ".factory"]);
    repo.git(&["commit", "--quiet", "-S", "-m", "Adopt factory"]);
    let verify = success(
        repo.command(factory_bin())
            .args(["verify", "HEAD"])
            .output()
            .unwrap(),
        "verify",
    );
    assert!(
        verify.contains("good") && verify.contains("pat"),
        "{verify}"
    );
}

#[test]
fn init_with_an_openpgp_key_stores_the_certificate() {
    let repo = TestRepo::new();
    let (gnupg, fpr) = repo.gpg_key("pat", "Pat <pat@example.com>", "0", &[]);
    repo.git(&["config", "user.email", "pat@example.com"]);
    repo.git(&["config", "user.signingkey", &fpr]);
    let out = success(
        repo.command(factory_bin())
            .env("GNUPGHOME", &gnupg)
            .args(["init", "--handle", "pat", "--no-hooks"])
            .output()
            .unwrap(),
        "init",
    );
    assert!(out.contains("wrote .factory/keys/pat.asc"), "{out}");
    assert!(!out.contains("pre-push"), "--no-hooks: {out}");
    let policy = std::fs::read_to_string(repo.path().join(".factory/policy.toml")).unwrap();
    assert!(policy.contains(&format!("\"openpgp:{fpr}\"")), "{policy}");
    let cert = std::fs::read_to_string(repo.path().join(".factory/keys/pat.asc")).unwrap();
    assert!(cert.contains("BEGIN PGP PUBLIC KEY BLOCK"));
}

#[test]
fn init_without_a_signing_key_says_so_and_bad_templates_are_refused() {
    let repo = TestRepo::new();
    let o = repo.command(factory_bin()).arg("init").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("note: user.signingkey is not set"),
        "{}",
        stdout(&o)
    );
    let o = repo
        .command(factory_bin())
        .args(["init", "--force", "--template", "nope"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no template `nope`"), "{}", stderr(&o));
}
