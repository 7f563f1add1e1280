//! factory's allowed_signers parser decides as `ssh-keygen -Y verify` does on the same inputs.

use std::path::Path;
use std::process::{Command, Stdio};

use factory_trust::AllowedSigners;
use ssh_key::{PublicKey, SshSig};

fn ssh_keygen(home: &Path, args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new("ssh-keygen")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .current_dir(home)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh-keygen runs");
    if let Some(data) = stdin {
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// 2026-01-05 12:00 UTC, the time both sides judge at.
const AT: i64 = 1_767_614_400;

#[test]
fn decisions_match_ssh_keygen() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let out = ssh_keygen(
        home,
        &[
            "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", "alice",
        ],
        None,
    );
    assert!(out.status.success());
    let public = std::fs::read_to_string(home.join("alice.pub")).unwrap();
    let public = public.trim();
    let data = b"tree 1234\n\nthe payload\n";
    std::fs::write(home.join("payload"), data).unwrap();
    let out = ssh_keygen(
        home,
        &["-Y", "sign", "-n", "git", "-f", "alice", "payload"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sig_text = std::fs::read_to_string(home.join("payload.sig")).unwrap();
    let sig = SshSig::from_pem(sig_text.as_bytes()).unwrap();
    let key = PublicKey::from_openssh(public).unwrap();

    let cases = [
        format!("alice@example.com {public}"),
        format!("*@example.com {public}"),
        format!("bob@example.com {public}"),
        format!("alice@example.com namespaces=\"git\" {public}"),
        format!("alice@example.com namespaces=\"file,email\" {public}"),
        format!("alice@example.com valid-after=\"20260101\" {public}"),
        format!("alice@example.com valid-after=\"20260201\" {public}"),
        format!("alice@example.com valid-before=\"20251231\" {public}"),
        format!(
            "alice@example.com,carol@example.com valid-after=\"20250101\",valid-before=\"20270101\" {public}"
        ),
        format!("alice@example.com cert-authority {public}"),
        format!("# a comment\n\nalice@example.com {public} trailing comment"),
    ];
    for (i, allowed) in cases.iter().enumerate() {
        let file = format!("allowed{i}");
        std::fs::write(home.join(&file), allowed).unwrap();
        let theirs = ssh_keygen(
            home,
            &[
                "-Y",
                "verify",
                "-f",
                &file,
                "-I",
                "alice@example.com",
                "-n",
                "git",
                "-s",
                "payload.sig",
                "-Overify-time=20260105120000",
            ],
            Some(data),
        )
        .status
        .success();
        let parsed = AllowedSigners::parse(allowed).unwrap();
        let ours = parsed
            .allowing(key.key_data(), "git", Some(AT), Some("alice@example.com"))
            .any(|e| e.key.verify("git", data, &sig).is_ok());
        assert_eq!(ours, theirs, "case {i}: {allowed}");
    }
}

#[test]
fn malformed_lines_are_named() {
    let err = AllowedSigners::parse("alice@example.com\n").unwrap_err();
    assert_eq!(err.line, 1);
    let err =
        AllowedSigners::parse("# ok\na valid-before=\"yesterday\" ssh-ed25519 AAAA\n").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.contains("valid-before"), "{err}");
}
