//! The hermetic test harness shared by factory's integration and end-to-end tests.
//!
//! Every git process runs with a cleared environment: its own HOME, no global or system git
//! configuration, fixed author and committer identities and dates, the C locale and UTC. Fixture
//! repositories are built by the committed scripts in `tests/fixtures/` with the real `git`.
#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// The directory of the fixture scripts.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The root of the workspace (for tests that read the book or the shipped policies).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Clears `cmd`'s environment and sets the hermetic one, with `home` as HOME.
pub fn hermetic<'a>(cmd: &'a mut Command, home: &Path) -> &'a mut Command {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-05T10:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-05T10:00:00Z")
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
}

/// A temporary git repository.
#[derive(Debug)]
pub struct TestRepo {
    dir: TempDir,
}

fn check(output: Output, what: &str) -> Output {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

impl TestRepo {
    /// An empty repository on branch `main`.
    pub fn new() -> TestRepo {
        let repo = TestRepo {
            dir: tempfile::Builder::new()
                .prefix("factory-test-")
                .tempdir()
                .expect("temporary directory"),
        };
        std::fs::create_dir(repo.path()).expect("work tree");
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo
    }

    /// A repository built by the fixture script `tests/fixtures/NAME.sh`.
    pub fn from_script(name: &str) -> TestRepo {
        let repo = TestRepo::new();
        let script = fixtures_dir().join(format!("{name}.sh"));
        let mut cmd = Command::new("bash");
        cmd.arg(&script).current_dir(repo.path());
        hermetic(&mut cmd, repo.home()).env("FIXTURES", fixtures_dir());
        check(
            cmd.output().expect("bash runs"),
            &format!("fixture script {name}.sh"),
        );
        repo
    }

    /// The work tree.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// The HOME of every process run here.
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// A hermetic command running in the work tree.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.path());
        hermetic(&mut cmd, self.home());
        cmd
    }

    /// Runs git and returns its stdout; panics with git's stderr if it fails.
    pub fn git(&self, args: &[&str]) -> String {
        let output = check(
            self.command("git").args(args).output().expect("git runs"),
            &format!("git {}", args.join(" ")),
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The full id of the newest commit whose subject is `subject`.
    pub fn commit_by_subject(&self, subject: &str) -> String {
        let log = self.git(&["log", "--all", "--format=%H %s"]);
        log.lines()
            .find_map(|l| {
                l.split_once(' ')
                    .filter(|(_, s)| *s == subject)
                    .map(|(id, _)| id.to_owned())
            })
            .unwrap_or_else(|| panic!("no commit with subject {subject:?} in:\n{log}"))
    }

    /// Writes a file in the work tree, creating directories.
    pub fn write(&self, path: &str, content: impl AsRef<[u8]>) {
        let file = self.path().join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("directories");
        std::fs::write(file, content).expect("write");
    }

    /// Stages everything and commits with `message` (empty commits allowed).
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "--allow-empty", "--message", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }
}

impl Default for TestRepo {
    fn default() -> Self {
        TestRepo::new()
    }
}

/// The text a process wrote to stdout, after checking that it succeeded.
pub fn success(output: Output, what: &str) -> String {
    String::from_utf8_lossy(&check(output, what).stdout).into_owned()
}

impl TestRepo {
    /// Makes an Ed25519 SSH key pair `NAME`, `NAME.pub` in HOME; returns the private key's path
    /// and the public key line.
    pub fn ssh_key(&self, name: &str) -> (PathBuf, String) {
        let key = self.home().join(name);
        success(
            self.command("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
                .arg(&key)
                .output()
                .expect("ssh-keygen runs"),
            "ssh-keygen",
        );
        let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
        (key, public.trim().to_owned())
    }

    /// Makes an Ed25519 OpenPGP signing key for `uid` in a new GNUPGHOME named `name` under
    /// HOME (`expire` as gpg takes it, `0` for never, `extra` before the command); returns the
    /// GNUPGHOME and the key's fingerprint.
    pub fn gpg_key(
        &self,
        name: &str,
        uid: &str,
        expire: &str,
        extra: &[&str],
    ) -> (PathBuf, String) {
        let home = self.home().join(format!("gnupg-{name}"));
        std::fs::create_dir_all(&home).expect("GNUPGHOME");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        }
        let gpg = |args: &[&str]| {
            success(
                self.command("gpg")
                    .env("GNUPGHOME", &home)
                    .arg("--batch")
                    .args(args)
                    .output()
                    .expect("gpg runs"),
                &format!("gpg {args:?}"),
            )
        };
        let mut args: Vec<&str> = extra.to_vec();
        args.extend([
            "--passphrase",
            "",
            "--quick-gen-key",
            uid,
            "ed25519",
            "sign",
            expire,
        ]);
        gpg(&args);
        let listing = gpg(&["--with-colons", "--list-keys", uid]);
        let fpr = listing
            .lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .expect("a fingerprint")
            .to_owned();
        (home, fpr)
    }
}

/// What a process wrote to stdout, lossily decoded.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What a process wrote to stderr, lossily decoded.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
