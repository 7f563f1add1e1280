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

#[test]
fn a_one_person_init_is_guided_to_a_two_person_setup() {
    let repo = TestRepo::new();
    let (key, _) = repo.ssh_key("pat");
    repo.git(&["config", "user.name", "Pat Person"]);
    repo.git(&["config", "user.email", "pat@example.com"]);
    repo.git(&["config", "gpg.format", "ssh"]);
    repo.git(&["config", "user.signingkey", &key.display().to_string()]);
    let run = |args: &[&str]| repo.command(factory_bin()).args(args).output().unwrap();
    let first = success(run(&["init"]), "init");
    assert!(
        first.contains("needs 2 different people") && first.contains("factory people add"),
        "init says the hard stop cannot be met by one person: {first}"
    );
    let check = run(&["policy", "check"]);
    assert!(
        stdout(&check).contains("1 warning")
            && stderr(&check).contains("`pat` holds more than one"),
        "{}{}",
        stdout(&check),
        stderr(&check)
    );
    let policy_path = repo.path().join(".factory/policy.toml");
    let before = std::fs::read_to_string(&policy_path).unwrap();
    // Bad input changes nothing.
    let o = run(&[
        "people",
        "add",
        "quinn",
        "--role",
        "domain-expert",
        "--key",
        "not a key",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("neither an SSH public key"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "people",
        "add",
        "pat",
        "--role",
        "domain-expert",
        "--key",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&policy_path).unwrap(), before);
    // An SSH public key file.
    let (_, quinn) = repo.ssh_key("quinn");
    let quinn_pub = repo.home().join("quinn.pub");
    std::fs::write(&quinn_pub, format!("{quinn}\n")).unwrap();
    let added = success(
        run(&[
            "people",
            "add",
            "quinn",
            "--role",
            "domain-expert",
            "--key",
            &quinn_pub.display().to_string(),
        ]),
        "people add with an SSH key",
    );
    assert!(added.contains("added `quinn` (domain-expert)"), "{added}");
    let check = run(&["policy", "check"]);
    assert!(stdout(&check).contains("0 warnings"), "{}", stderr(&check));
    // An OpenPGP certificate is stored under .factory/keys/.
    let (gnupg, fpr) = repo.gpg_key("rita", "Rita <rita@example.com>", "never", &[]);
    let cert = repo.home().join("rita.asc");
    let exported = repo
        .command("gpg")
        .env("GNUPGHOME", &gnupg)
        .args(["--batch", "--armor", "--export", &fpr])
        .output()
        .unwrap();
    std::fs::write(&cert, &exported.stdout).unwrap();
    success(
        run(&[
            "people",
            "add",
            "rita",
            "--role",
            "maintainer",
            "--key",
            &cert.display().to_string(),
        ]),
        "people add with an OpenPGP certificate",
    );
    assert!(repo.path().join(".factory/keys/rita.asc").is_file());
    let policy = std::fs::read_to_string(&policy_path).unwrap();
    assert!(policy.contains(&format!("openpgp:{fpr}")), "{policy}");
    success(
        run(&["policy", "check"]),
        "the policy loads with rita's key",
    );
}

#[test]
fn hooks_uninstall_puts_back_the_hook_it_chained() {
    let repo = TestRepo::new();
    let hook = repo.path().join(".git/hooks/pre-push");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    let run = |args: &[&str]| repo.command(factory_bin()).args(args).output().unwrap();
    success(run(&["hooks", "install"]), "install");
    assert!(
        std::fs::read_to_string(&hook)
            .unwrap()
            .contains("factory-hook")
    );
    let out = success(run(&["hooks", "uninstall"]), "uninstall");
    assert!(out.contains("is back"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\nexit 0\n"
    );
    let out = success(run(&["hooks", "uninstall"]), "uninstall again");
    assert!(out.contains("is not factory's: left alone"), "{out}");
}
