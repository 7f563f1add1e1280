//! Every kind of secret planted in a transcript is gone from what would be stored, replaced by a
//! marker naming its kind, and counted.

use factory_shiftlog::{Format, RedactionConfig, Redactor, import, marker};

const PRIVATE_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----";

/// (kind, planted secret, text around it)
fn planted() -> Vec<(&'static str, String, String)> {
    let secrets: Vec<(&str, String, String)> = vec![
        ("aws-access-key", "AKIAIOSFODNN7EXAMPLE".into(), "export AWS_ACCESS_KEY_ID={}".into()),
        ("aws-secret-key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(), "aws_secret_access_key = {}".into()),
        ("gcp-api-key", format!("AIza{}", "SyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"), "key={}".into()),
        ("gcp-service-account", "0123456789abcdef0123456789abcdef01234567".into(), "\"private_key_id\": \"{}\"".into()),
        ("azure-storage-key", format!("{}==", "A".repeat(40) + &"b".repeat(46)), "DefaultEndpointsProtocol=https;AccountKey={};EndpointSuffix=core".into()),
        ("azure-client-secret", "Zq8~abcdEFGH1234ijklMNOP5678qrstUVWX".into(), "AZURE_CLIENT_SECRET={}".into()),
        ("github-token", format!("ghp_{}", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"), "token {} in the remote".into()),
        ("gitlab-token", "glpat-Ab3De5Gh7Jk9Mn1Pq3St".into(), "GITLAB={}".into()),
        ("slack-token", "xoxb-1234567890-0987654321-AbCdEfGhIjKl".into(), "slack: {}".into()),
        ("stripe-key", format!("sk_live_{}", "4eC39HqLyjWDarjtT1zdp7dc"), "Stripe.api_key = '{}'".into()),
        ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U".into(), "Authorization: Bearer {}".into()),
        ("private-key", PRIVATE_KEY.into(), "the key:\n{}\nend".into()),
        ("password", "hunter2hunter2".into(), "db_password: \"{}\"".into()),
        ("env-secret", "correct-horse-battery".into(), "DB_PASSWORD=\"{}\"".into()),
        ("high-entropy", "q7Z3xK9mP2vL8nR4tW6yB1cD5fG0hJ".into(), "nonce {} sent".into()),
        ("internal-host", "build-17.corp.example".into(), "ssh {}".into()),
    ];
    secrets
        .into_iter()
        .map(|(kind, secret, around)| {
            let text = around.replace("{}", &secret);
            (kind, secret, text)
        })
        .collect()
}

#[test]
fn no_planted_secret_survives_in_the_stored_note() {
    let cases = planted();
    // One Claude Code session carrying every secret in every kind of field.
    let mut lines = Vec::new();
    for (i, (_, _, text)) in cases.iter().enumerate() {
        let text = serde_json::to_string(text).unwrap();
        let line = match i % 3 {
            0 => format!(
                r#"{{"type":"user","sessionId":"s","parentUuid":null,"timestamp":"t{i}","message":{{"role":"user","content":{text}}}}}"#
            ),
            1 => format!(
                r#"{{"type":"assistant","sessionId":"s","parentUuid":"p","timestamp":"t{i}","message":{{"role":"assistant","content":[{{"type":"thinking","thinking":{text}}},{{"type":"tool_use","id":"c{i}","name":"Bash","input":{{"command":{text}}}}}]}}}}"#
            ),
            _ => format!(
                r#"{{"type":"assistant","sessionId":"s","parentUuid":"p","timestamp":"t{i}","message":{{"role":"assistant","content":[{{"type":"tool_use","id":"w{i}","name":"Write","input":{{"file_path":"a.txt","content":{text}}}}}]}}}}"#
            ),
        };
        lines.push(line);
    }
    let text = lines.join("\n");
    let mut t = import("s.jsonl", &text, Some(Format::ClaudeCode)).unwrap();
    let redactor = Redactor::new(RedactionConfig {
        patterns: vec![(
            "internal-host".into(),
            r"\b[a-z0-9-]+\.corp\.example\b".into(),
        )],
        ..RedactionConfig::default()
    })
    .unwrap();
    redactor.redact(&mut t);
    let stored = serde_json::to_string(&t).unwrap();
    for (kind, secret, _) in &cases {
        let needle = secret.lines().nth(1).unwrap_or(secret);
        assert!(!stored.contains(needle), "{kind} survived: {needle}");
        assert!(stored.contains(&marker(kind)), "no marker for {kind}");
        assert!(
            t.redactions.get(*kind).copied().unwrap_or(0) >= 1,
            "{kind} not counted: {:?}",
            t.redactions
        );
    }
    assert_eq!(
        t.digest,
        t.compute_digest(),
        "the digest is resealed after redaction"
    );
}

#[test]
fn ordinary_text_is_left_alone() {
    let r = Redactor::new(RedactionConfig::default()).unwrap();
    let mut counts = Default::default();
    let text = "commit 4ac9569f0c1e2d3b4a5968778695a4b3c2d1e0f9 fixed src/auth/session_store.rs; see docs/ARCHITECTURE.md and the password field";
    assert_eq!(r.redact_text(text, &mut counts), text);
    assert!(counts.is_empty(), "{counts:?}");
}

#[test]
fn the_entropy_threshold_is_configurable() {
    let token = "q7Z3xK9mP2vL8nR4tW6yB1cD5fG0hJ";
    let mut counts = Default::default();
    let strict = Redactor::new(RedactionConfig {
        entropy_threshold: 3.0,
        ..Default::default()
    })
    .unwrap();
    assert!(
        strict
            .redact_text(token, &mut counts)
            .contains("[REDACTED:high-entropy]")
    );
    let lax = Redactor::new(RedactionConfig {
        entropy_threshold: 6.0,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(lax.redact_text(token, &mut counts), token);
    assert!(
        Redactor::new(RedactionConfig {
            patterns: vec![("x".into(), "(".into())],
            ..Default::default()
        })
        .is_err()
    );
}
