//! Redaction measured on a corpus: planted secrets of many kinds must all go (recall 100 %),
//! and look-alikes that are ordinary text must stay (false positives at most 1 %). The figures
//! are printed for BENCHMARKS.md (`cargo test -p factory-shiftlog --test redaction_corpus --
//! --nocapture`).

use std::collections::BTreeMap;

use factory_shiftlog::{RedactionConfig, Redactor};

/// (kind, text holding one secret, the secret itself).
fn secrets() -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    let mut add =
        |kind: &'static str, text: String, secret: &str| out.push((kind, text, secret.to_owned()));
    for (i, key) in [
        "AKIAIOSFODNN7EXAMPLE",
        "AKIAJ3MZ7Q2W5RT8YU1P",
        "ASIAQ4X7D2N9K5L3P8M6",
    ]
    .iter()
    .enumerate()
    {
        add(
            "aws-access-key",
            format!("export AWS_ACCESS_KEY_ID={key} # {i}"),
            key,
        );
    }
    for secret in [
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "Zq8xN2vB7mK4pL9rT3wY6uE1sD5fG0hJ/aQcVbNm",
    ] {
        add(
            "aws-secret-key",
            format!("aws_secret_access_key = {secret}"),
            secret,
        );
    }
    for tok in [
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "gho_9f8E7d6C5b4A3z2Y1x0W9v8U7t6S5r4Q3p2O",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP",
    ] {
        add(
            "github-token",
            format!("git clone https://x:{tok}@github.com/o/r"),
            tok,
        );
    }
    for tok in ["glpat-x8Y9z0A1b2C3d4E5f6G7", "glpat-Qw3Er4Ty5Ui6Op7As8Df9"] {
        add("gitlab-token", format!("GITLAB_TOKEN is {tok} for CI"), tok);
    }
    for tok in [
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxp-987654321098-9876543210987-ZyXwVuTsRqPoNmLkJiHgFeDc",
    ] {
        add("slack-token", format!("slack: {tok}"), tok);
    }
    for tok in [
        "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "npm_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2",
    ] {
        add(
            "npm-token",
            format!("//registry.npmjs.org/:_authToken={tok}"),
            tok,
        );
    }
    let pypi = "pypi-AgEIcHlwaS5vcmcCJGE0YjVjNmQ3LWU4ZjktNGEwYi1iYzFkLWUyZjNhNGI1YzZkNwACKlsz";
    add("pypi-token", format!("password = {pypi}"), pypi);
    for jwt in [
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIn0.Xq7bM2nV9cT4rY8uW1eA6sD3fG5hJ0kL",
    ] {
        add("jwt", format!("token {jwt} expires soon"), jwt);
    }
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----";
    add("private-key", format!("cat id_ed25519:\n{key}\n"), key);
    let rsa = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq98uK0z8x4TgQ\n-----END RSA PRIVATE KEY-----";
    add("private-key", rsa.to_owned(), rsa);
    for (url, pw) in [
        (
            "postgres://admin:S3cr3tP4ss@db.internal:5432/shop",
            "S3cr3tP4ss",
        ),
        (
            "https://deploy:hunter2hunter2@git.example.com/repo.git",
            "hunter2hunter2",
        ),
        ("mysql://root:Tr0ub4dor&3@localhost/app", "Tr0ub4dor&3"),
        ("redis://default:9Kq2vX7mLp@cache:6379", "9Kq2vX7mLp"),
    ] {
        add("url-credentials", format!("connect to {url}"), pw);
    }
    for (cmd, pw) in [
        (
            "curl -u admin:S3cr3tP4ss https://api.example.com",
            "S3cr3tP4ss",
        ),
        (
            "curl --user ci:Pa55w0rd-2026 https://ci.example.com",
            "Pa55w0rd-2026",
        ),
    ] {
        add("basic-auth", cmd.to_owned(), pw);
    }
    for tok in [
        "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34",
        "AbCdEf123456GhIjKl789012MnOpQr",
    ] {
        add(
            "authorization-header",
            format!("-H 'Authorization: Bearer {tok}'"),
            tok,
        );
    }
    add(
        "authorization-header",
        "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l".to_owned(),
        "YWxhZGRpbjpvcGVuc2VzYW1l",
    );
    for (line, secret) in [
        (
            "DATABASE_PASSWORD=correct-horse-battery",
            "correct-horse-battery",
        ),
        (
            "export STRIPE_SECRET_KEY=rk_prod_51HqLyjWDarjtT1",
            "rk_prod_51HqLyjWDarjtT1",
        ),
        (
            "SENTRY_AUTH_TOKEN=sntrys_eyJpYXQiOjE3MDAw",
            "sntrys_eyJpYXQiOjE3MDAw",
        ),
        ("API_KEY=\"q9w8e7r6t5y4\"", "q9w8e7r6t5y4"),
    ] {
        add("env-secret", format!("{line}\n"), secret);
    }
    for hex in [
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ] {
        add("hex-key", format!("signing_key: {hex}"), hex);
    }
    for tok in [
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "rk_test_51HqLyjWDarjtT1zdp7dcXyZ",
    ] {
        add("stripe-key", format!("stripe key {tok}"), tok);
    }
    add(
        "gcp-api-key",
        "key=AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI".to_owned(),
        "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI",
    );
    add(
        "password",
        "password: \"Zx9!vQ2#pL7m\"".to_owned(),
        "Zx9!vQ2#pL7m",
    );
    add(
        "password",
        "const secret = \"hunter2hunter2\";".to_owned(),
        "hunter2hunter2",
    );
    add(
        "password",
        "db.connect(user, password=\"Spr1ngT1me.2026\")".to_owned(),
        "Spr1ngT1me.2026",
    );
    let hook = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";
    add("slack-token", format!("webhook: {hook}"), hook);
    let azure =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    add(
        "azure-storage-key",
        format!(
            "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey={azure};EndpointSuffix=core.windows.net"
        ),
        azure,
    );
    out
}

/// Ordinary text that looks like secrets and must survive.
fn look_alikes() -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..40 {
        out.push(format!(
            "/mnt/c/Users/USER/src/work2026010{}/crates/factory-cli/src/Main{i}.rs",
            i % 10
        ));
        out.push(format!(
            "/home/dev/Projects/ShopService{i}/target/debug/deps/libserde-9f8E7d{i:02}.rlib"
        ));
    }
    for i in 0..30 {
        out.push(format!(
            "https://img.shields.io/badge/Coverage-9{}%25-brightgreen?style=flat&logo=Rust{i}",
            i % 10
        ));
        out.push(format!(
            "https://github.com/OwnerName{i}/RepoName/blob/4f1c2a9e0b7dAbC{i}/src/Lib.rs#L1{i}"
        ));
    }
    for i in 0..40u64 {
        // Commit ids and UUIDs.
        out.push(format!(
            "{:040x}",
            0x9f86d081884c7d659a2feaa0c55ad015u128 ^ u128::from(i)
        ));
        out.push(format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            0x3fa85f64 + i,
            0x5717 + i,
            0x562 + i,
            0xb3c + i,
            0x2c963f66afa6u64 + i
        ));
    }
    for i in 0..20 {
        out.push(format!(
            "\"integrity\": \"sha512-Kq5sNclPz7QV2+lfQIod8ZV0B0L7bcd/D7NjsxDa42b0XOtwbvNpYk0J0FX3P2g7U1FhX{i}Q==\""
        ));
        out.push(format!(
            "![screenshot](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk{i}YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==)"
        ));
    }
    for i in 0..10 {
        out.push(format!(
            "the password field is validated in src/auth/Password{i}Validator.ts"
        ));
        out.push(format!(
            "set the API key in the settings page (Settings > Keys > Rotate{i})"
        ));
    }
    // Shapes real sessions showed being wiped (found in public sessions, 2026-12-02): shell
    // dates, type annotations, references to where a secret lives, placeholders, relative
    // paths and a project's directory names, search URLs, agents' own ids.
    for i in 0..4 {
        out.push(format!(
            "stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ) && echo run{i}"
        ));
        out.push(format!(
            "async function verifyToken{i}(token: string, secret: string): Promise<AuthUser> {{"
        ));
        out.push(format!(
            "const apiKey{i} = process.env.GOOGLE_MAPS_SERVER_KEY;"
        ));
        out.push(format!(
            "const password = credentials{i}.password as string"
        ));
        out.push(format!("R2_ACCOUNT_ID{i}=your_r2_account_id"));
        out.push(format!("VITE_EMAILJS_PUBLIC_KEY{i}=your_public_key"));
        out.push(format!(
            "curl \"https://api.example.com/v{i}/search?api_key=$API_KEY_21ST\""
        ));
        out.push(format!(
            "Source: /Users/ayush/.claude/projects/-Users-ayush-Desktop{i}/63e8a331-1e7c-4d2f-9b1a-2f3e4d5c6b7a.jsonl"
        ));
        out.push(format!(
            "\tmodified:   Test2/Migrations/2022040412345{i}_InitialCreate.cs"
        ));
        out.push(format!(
            "run `opencode export ses_1164def0cffeO39qX3bHPu7Hq{i}` to see it"
        ));
        out.push(format!(
            "[results](/search?q=cursor+IDE+global+cursorignore+exclude+file+override+202{i}&sca_esv=deb0b5a04aa924a5)"
        ));
        out.push(format!(
            "mapboxgl.accessToken = process.env.NEXT_PUBLIC_MAPBOX_TOKEN{i} || ''"
        ));
    }
    out
}

#[test]
fn planted_secrets_all_go_and_look_alikes_stay() {
    let r = Redactor::new(RedactionConfig::default()).unwrap();
    let planted = secrets();
    let kinds: std::collections::BTreeSet<&str> = planted.iter().map(|(k, _, _)| *k).collect();
    assert!(
        planted.len() >= 40 && kinds.len() >= 15,
        "{} secrets of {} kinds",
        planted.len(),
        kinds.len()
    );
    let mut missed = Vec::new();
    for (kind, text, secret) in &planted {
        let mut counts = BTreeMap::new();
        let out = r.redact_text(text, &mut counts);
        if out.contains(secret.as_str()) {
            missed.push(format!("{kind}: {out}"));
        }
    }
    let alikes = look_alikes();
    assert!(alikes.len() >= 200, "{} look-alikes", alikes.len());
    let mut wiped = Vec::new();
    for text in &alikes {
        let mut counts = BTreeMap::new();
        let out = r.redact_text(text, &mut counts);
        if out != *text {
            wiped.push(format!("{text} -> {out}"));
        }
    }
    let recall = 100.0 * (planted.len() - missed.len()) as f64 / planted.len() as f64;
    let fp = 100.0 * wiped.len() as f64 / alikes.len() as f64;
    #[allow(clippy::print_stdout, reason = "the figures for BENCHMARKS.md")]
    {
        println!(
            "redaction: {} secrets of {} kinds, recall {recall:.1} %; {} look-alikes, false positives {fp:.1} %",
            planted.len(),
            kinds.len(),
            alikes.len()
        );
    }
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
    assert!(
        fp <= 1.0,
        "wiped {} of {}:\n{}",
        wiped.len(),
        alikes.len(),
        wiped.join("\n")
    );
}
