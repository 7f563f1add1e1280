//! Classification precision on the shapes real code has (issue 15): each test commits a change
//! with real git and asks `factory classify` for its tier and evidence under the embedded
//! default policy. Every false alarm and miss found on the labelled corpus
//! (`bench/corpus/`) that a rule now handles has its case here.

use std::process::Output;

use factory_tests::{TestRepo, stderr};

fn classify(repo: &TestRepo) -> serde_json::Value {
    let out: Output = repo
        .command(env!("CARGO_BIN_EXE_factory"))
        .args(["classify", "HEAD", "--format", "json"])
        .output()
        .expect("factory runs");
    assert!(out.status.success(), "classify failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// The tier of HEAD after changing `path` from `before` to `after`.
fn tier_of_change(path: &str, before: &str, after: &str) -> (String, serde_json::Value) {
    let repo = TestRepo::new();
    repo.write(path, before);
    repo.commit("Base");
    repo.write(path, after);
    repo.commit("Change");
    let json = classify(&repo);
    (json["tier"].as_str().unwrap().to_owned(), json)
}

/// Each (path, before, after) change is a hard-stop.
fn assert_all_hard_stop(cases: &[(&str, &str, &str)]) {
    for (path, before, after) in cases {
        let (tier, json) = tier_of_change(path, before, after);
        assert_eq!(tier, "hard-stop", "{path}: {after:?} -> {json}");
    }
}

fn fired(json: &serde_json::Value, rule: &str) -> bool {
    json["commits"][0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["rule"] == rule)
}

const TLS: &str = "pub fn handshake(c: &mut Conn) -> Result<(), Error> {
    c.send_hello()?;
    c.read_hello()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello() {
        assert!(handshake(&mut Conn::new()).is_ok());
    }
}
";

#[test]
fn a_test_module_inside_tls_code_is_a_test() {
    let after = TLS.replace(
        "        assert!(handshake(&mut Conn::new()).is_ok());",
        "        let mut c = Conn::new();\n        assert!(handshake(&mut c).is_ok());\n        assert!(c.done());",
    );
    let (tier, json) = tier_of_change("rustls/src/tls12.rs", TLS, &after);
    assert_eq!(tier, "auto", "{json}");
    assert!(
        fired(&json, "comment-only") && !fired(&json, "security-paths"),
        "{json}"
    );
}

#[test]
fn the_same_edit_outside_the_test_module_is_a_hard_stop() {
    let after = TLS.replace("    c.read_hello()\n", "    c.read_hello_unchecked()\n");
    let (tier, json) = tier_of_change("rustls/src/tls12.rs", TLS, &after);
    assert_eq!(tier, "hard-stop", "{json}");
    assert!(fired(&json, "security-paths"), "{json}");
}

#[test]
fn doc_comments_and_trailing_comments_in_crypto_code_are_auto() {
    let before = "/// Derive the key.\npub const ECH: u16 = 0xfe0d; // draft-ietf-tls-esni-18\n";
    let after = "/// Derives the key.\npub const ECH: u16 = 0xfe0d; // RFC 9849\n";
    let (tier, json) = tier_of_change("src/crypto/ech.rs", before, after);
    assert_eq!(tier, "auto", "{json}");
}

#[test]
fn code_moved_within_tls_code_is_a_change() {
    let before = "static ALLOWED: &[u16] = &[1, 2];\n\nfn a() {}\n\nfn b() {}\n";
    let after = "fn a() {}\n\nfn b() {}\n\nstatic ALLOWED: &[u16] = &[1, 2];\n";
    let (tier, json) = tier_of_change("rustls/src/client/tls13.rs", before, after);
    assert_eq!(
        tier, "hard-stop",
        "moving code is not a comment edit: {json}"
    );
}

#[test]
fn prose_inside_block_comments_and_docstrings_is_not_code() {
    let c_before = "int f(void) { return 0; }\n";
    let c_after = "/*\n  Later: verify_password(user, pw) and\n  check_signature(buf) here.\n*/\nint f(void) { return 0; }\n";
    let (tier, json) = tier_of_change("src/util.c", c_before, c_after);
    assert_eq!(tier, "auto", "a block comment's lines are comments: {json}");

    let py_before = "def f():\n    return 1\n";
    let py_after = "def f():\n    \"\"\"Returns one.\n\n    Not check_password(user) nor bcrypt.\n    \"\"\"\n    return 1\n";
    let (tier, json) = tier_of_change("app/util.py", py_before, py_after);
    assert_ne!(
        tier, "hard-stop",
        "a docstring is a string, not code: {json}"
    );
    assert!(!fired(&json, "auth-code"), "{json}");
}

#[test]
fn deleting_a_permission_check_is_a_hard_stop() {
    let before = "class Filter:\n    def filter(self, request, qs):\n        if not has_object_permission(request.user, qs):\n            return []\n        return qs\n";
    let after = "class Filter:\n    def filter(self, request, qs):\n        return qs\n";
    let (tier, json) = tier_of_change("app/filters.py", before, after);
    assert_eq!(tier, "hard-stop", "{json}");
    let e = json["commits"][0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["rule"] == "auth-code")
        .cloned()
        .unwrap_or_default();
    assert_eq!(e["side"], "removed", "{json}");
    assert_eq!(e["line"], 3, "{json}");
}

#[test]
fn credentials_parsed_in_a_neutral_file_are_a_hard_stop() {
    let before = "exports.auth = function () {\n  return undefined;\n};\n";
    let after = "var basicAuth = require('basic-auth');\nexports.auth = function (req) {\n  var auth = basicAuth(req);\n  return { username: auth.name, password: auth.pass };\n};\n";
    let (tier, json) = tier_of_change("lib/request.js", before, after);
    assert_eq!(tier, "hard-stop", "{json}");
    assert!(
        fired(&json, "auth-libraries") && fired(&json, "auth-code"),
        "{json}"
    );
}

#[test]
fn tls_verification_and_oidc_imports_are_found() {
    let (tier, json) = tier_of_change(
        "http.c",
        "static void setup(CURL *c) {\n}\n",
        "static void setup(CURL *c) {\n\tcurl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0);\n}\n",
    );
    assert_eq!(tier, "hard-stop", "{json}");
    assert!(fired(&json, "crypto-code"), "{json}");
    let (tier, json) = tier_of_change(
        "pkg/providers/all.go",
        "package all\n\nimport (\n\t\"context\"\n)\n",
        "package all\n\nimport (\n\t\"context\"\n\t\"github.com/coreos/go-oidc/v3/oidc\"\n)\n",
    );
    assert_eq!(tier, "hard-stop", "{json}");
    assert!(fired(&json, "auth-libraries"), "{json}");
}

#[test]
fn c_tests_translations_ci_workflows_and_examples_are_not_hard_stops() {
    let repo = TestRepo::new();
    repo.write("README.md", "x\n");
    repo.commit("Base");
    repo.write("reftable/stack_test.c", "int main(void) { return 0; }\n");
    repo.write("po/sv.po", "msgid \"x\"\nmsgstr \"y\"\n");
    repo.commit("Tests and a translation");
    let json = classify(&repo);
    assert_eq!(json["tier"], "auto", "{json}");

    repo.write(
        ".github/workflows/verify-attestation.yaml",
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n",
    );
    repo.write("examples/auth/index.js", "app.use(session());\n");
    repo.commit("A workflow named like verification, an auth example");
    let json = classify(&repo);
    assert_eq!(json["tier"], "review", "{json}");
}

#[test]
fn classify_explain_says_a_path_rule_skipped_a_comment_only_edit() {
    let repo = TestRepo::new();
    repo.write("src/crypto/keys.rs", "/// Derive.\npub fn derive() {}\n");
    repo.commit("Base");
    repo.write(
        "src/crypto/keys.rs",
        "/// Derives the key.\npub fn derive() {}\n",
    );
    repo.commit("Doc");
    let out = repo
        .command(env!("CARGO_BIN_EXE_factory"))
        .args(["classify", "--explain", "HEAD"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("skipped   crypto (hard-stop): the change leaves the parts of lines it reads as they were"),
        "{text}"
    );
}

#[test]
fn docstrings_are_documentation_but_a_string_of_data_laid_out_alike_is_not() {
    let doc_before =
        "def session_key(app):\n    \"\"\"Return the key.\"\"\"\n    return app.secret\n";
    let doc_after = "def session_key(app):\n    \"\"\"Returns the signing key of the session.\"\"\"\n    return app.secret\n";
    let (tier, json) = tier_of_change("app/keys.py", doc_before, doc_after);
    assert_eq!(tier, "auto", "a docstring edit is documentation: {json}");

    // An attacker's way to pass code off as documentation: the edited string is data.
    let data_before = "QUERY = (\n    \"\"\"SELECT name FROM users WHERE id = %s\"\"\"\n)\n";
    let data_after = "QUERY = (\n    \"\"\"SELECT name FROM users WHERE id = %s OR 1=1\"\"\"\n)\n";
    let (tier, json) = tier_of_change("app/queries.py", data_before, data_after);
    assert_ne!(tier, "auto", "a string of data is not a docstring: {json}");
}

#[test]
fn code_inside_a_template_string_is_code() {
    let before = "const url = `https://${host}/?verify=${strict(true)}`;\n";
    let after = "const url = `https://${host}/?verify=${strict(false)}`;\n";
    let (tier, json) = tier_of_change("lib/tls.js", before, after);
    assert_eq!(
        tier, "hard-stop",
        "a changed template expression is a change of code: {json}"
    );
}

/// Changes a red team made to security code that an earlier classifier took for comment
/// edits (auto): each must now reach the hard-stop rule of its file.
#[test]
fn attack_code_passed_off_as_comments_or_whitespace_is_still_code() {
    let cases: &[(&str, &str, &str)] = &[
        // Indentation moves a check into a branch that never runs.
        (
            "src/tls.py",
            "def handle(req, debug):\n    if debug:\n        log(req)\n    verify(req)\n",
            "def handle(req, debug):\n    if debug:\n        log(req)\n        verify(req)\n",
        ),
        // `[ "$a"="$b" ]` tests one non-empty string: always true.
        (
            "scripts/verify.sh",
            "if [ \"$sig\" = \"$expected\" ]; then\n  tar xf pkg.tar\nfi\n",
            "if [ \"$sig\"=\"$expected\" ]; then\n  tar xf pkg.tar\nfi\n",
        ),
        // A backslash at the end of a C line comment swallows the next line.
        (
            "src/tls.c",
            "int check(int ok) {\n  // reject bad certs\n  if (!ok) return -1;\n  return 0;\n}\n",
            "int check(int ok) {\n  // reject bad certs \\\n  if (!ok) return -1;\n  return 0;\n}\n",
        ),
        // Rust block comments nest: an inner `/*` makes the check part of the comment until a
        // `*/` further down.
        (
            "src/tls.rs",
            "fn check(ok: bool) -> Result<(), ()> {\n    /* reject bad certs */\n    if !ok { return Err(()) }\n    // end of check */\n    Ok(())\n}\n",
            "fn check(ok: bool) -> Result<(), ()> {\n    /* reject /* bad certs */\n    if !ok { return Err(()) }\n    // end of check */\n    Ok(())\n}\n",
        ),
        // Java reads \u000a as a line end, comments included.
        (
            "src/Tls.java",
            "class Tls {\n  boolean check(boolean ok) {\n    // reject bad certs\n    return ok;\n  }\n}\n",
            "class Tls {\n  boolean check(boolean ok) {\n    // reject bad certs \\u000a ok = true;\n    return ok;\n  }\n}\n",
        ),
        // `//` inside a regular expression is not a comment.
        (
            "src/tls.js",
            "if (/^https:\\/\\//.test(url)) opts.rejectUnauthorized = true;\n",
            "if (/^https:\\/\\//.test(url)) opts.rejectUnauthorized = false;\n",
        ),
        // Another encoding makes the same bytes other code.
        (
            "src/tls.py",
            "# -*- coding: utf-8 -*-\nok = check()\n",
            "# -*- coding: utf-7 -*-\nok = check()\n",
        ),
        // The algorithm is a string.
        (
            "src/crypto.py",
            "h = hashlib.new(\"sha256\")\n",
            "h = hashlib.new(\"md5\")\n",
        ),
    ];
    assert_all_hard_stop(cases);
}

/// The second red-team round: where the lexer's picture of a language differed from the
/// compiler's.
#[test]
fn attack_round_two_toolchain_readings_are_code() {
    let cases: &[(&str, &str, &str)] = &[
        // GCC splices a backslash followed by blanks, and the trigraph ??/.
        (
            "src/tls.c",
            "int check(int ok) {\n  // note\n  if (!ok) return -1;\n  return 0;\n}\n",
            "int check(int ok) {\n  // note \\ \n  if (!ok) return -1;\n  return 0;\n}\n",
        ),
        (
            "src/tls.c",
            "int check(int ok) {\n  // note\n  if (!ok) return -1;\n  return 0;\n}\n",
            "int check(int ok) {\n  // note ??/\n  if (!ok) return -1;\n  return 0;\n}\n",
        ),
        // `*\` + newline + `/` closes a block comment: the line after is code.
        (
            "src/tls.c",
            "int check(int ok) {\n  /* note */\n  return ok;\n}\n",
            "int check(int ok) {\n  /* note *\\\n/ return 1; /* more\n  */\n  return ok;\n}\n",
        ),
        // Java decodes \u002a/ into */ before it reads comments.
        (
            "src/Verify.java",
            "class Verify {\n  boolean verify(Object c) {\n    /* check the chain */\n    return c != null;\n  }\n}\n",
            "class Verify {\n  boolean verify(Object c) {\n    /* check the chain \\u002a/ if (c == c) return true; /* */\n    return c != null;\n  }\n}\n",
        ),
        // A bare CR does not end a Rust comment: the check joins it.
        (
            "src/tls.rs",
            "fn check(ok: bool) -> bool {\n    // note\n    if !ok { return false; }\n    true\n}\n",
            "fn check(ok: bool) -> bool {\n    // note2\r    if !ok { return false; }\n    true\n}\n",
        ),
        // Go build constraints choose which verifier is compiled.
        (
            "pkg/verify/verify_strict.go",
            "//go:build !insecure\n\npackage verify\n",
            "//go:build insecure\n\npackage verify\n",
        ),
        // The interpreter line.
        (
            "scripts/verify.sh",
            "#!/bin/sh -e\ngpg --verify pkg.sig pkg\ntar xf pkg\n",
            "#!/bin/sh\ngpg --verify pkg.sig pkg\ntar xf pkg\n",
        ),
        // A URL in JSX text is not a comment: the expression after it is code.
        (
            "src/auth/Panel.jsx",
            "const P = () => <p>Docs: https://example.com {isAdmin(user) ? <Admin/> : null}</p>;\n",
            "const P = () => <p>Docs: https://example.com {true ? <Admin/> : null}</p>;\n",
        ),
        // A Kotlin raw string runs over lines: a `/*` inside it opens no comment.
        (
            "src/tls/Check.kt",
            "val help = \"\"\"\nusage /* see docs\n\"\"\"\nfun check(ok: Boolean): Boolean {\n    if (!ok) return false\n    return true\n} // */\n",
            "val help = \"\"\"\nusage /* see docs\n\"\"\"\nfun check(ok: Boolean): Boolean {\n    return true\n} // */\n",
        ),
        // A string after `"algorithms":` is data, not a docstring.
        (
            "app/auth.py",
            "opts = {\n    \"algorithms\":\n        \"\"\"RS256\"\"\"\n}\n",
            "opts = {\n    \"algorithms\":\n        \"\"\"HS256\"\"\"\n}\n",
        ),
    ];
    assert_all_hard_stop(cases);
}

/// The third red-team round, against passing over a line whose code is that of the line it
/// replaced: a string argument changed under a rule that reads only code, a comment opened on
/// the security line that swallows the check after it, code hidden behind a line end C# or
/// PHP knows and C does not. Each must stay a hard-stop, in files whose names say nothing.
#[test]
fn attack_round_three_lines_edited_in_place_are_still_read() {
    let cases: &[(&str, &str, &str)] = &[
        // A string argument is what changed: the role checked.
        (
            "app/views.py",
            "def admin(request):\n    if has_role(request.user, \"admin\"):\n        return ok()\n",
            "def admin(request):\n    if has_role(request.user, \"guest\"):\n        return ok()\n",
        ),
        // The accepted algorithm (RS256 to HS256: key confusion).
        (
            "src/session.js",
            "const claims = jwt.verify(token, key, { algorithms: ['RS256'] });\n",
            "const claims = jwt.verify(token, key, { algorithms: ['HS256'] });\n",
        ),
        // The currency of a payment.
        (
            "app/shop.py",
            "intent = stripe.PaymentIntent.create(amount=5, currency=\"usd\")\n",
            "intent = stripe.PaymentIntent.create(amount=5, currency=\"jpy\")\n",
        ),
        // A block comment opened on the verification line swallows the check below it.
        (
            "src/util.rs",
            "fn check(sig: &[u8], key: &Key) -> Result<(), E> {\n    let ok = verify_signature(sig, key); // constant time\n    if !ok { return Err(E) }\n    Ok(())\n}\n",
            "fn check(sig: &[u8], key: &Key) -> Result<(), E> {\n    let ok = verify_signature(sig, key); /* constant time\n    if !ok { return Err(E) } */\n    Ok(())\n}\n",
        ),
        // PHP ends a `//` comment at `?>`.
        (
            "app/views.php",
            "<?php\n$ok = check_password($user, $pw); // compare\n",
            "<?php\n$ok = check_password($user, $pw); // compare ?><?php $ok = true; // done\n",
        ),
        // C# ends a line at U+2028.
        (
            "src/Helpers.cs",
            "class H {\n  bool Check(byte[] s) {\n    bool ok = Sig.VerifySignature(s); // constant time\n    return ok;\n  }\n}\n",
            "class H {\n  bool Check(byte[] s) {\n    bool ok = Sig.VerifySignature(s); // constant time\u{2028}ok = true;\n    return ok;\n  }\n}\n",
        ),
    ];
    assert_all_hard_stop(cases);
    // What the rule is for still holds: a trailing comment edited beside the same code.
    let (tier, json) = tier_of_change(
        "src/util.rs",
        "fn f() {\n    let k = decrypt(x); // draft-01\n}\n",
        "fn f() {\n    let k = decrypt(x); // RFC 9999\n}\n",
    );
    assert_eq!(tier, "auto", "{json}");
}
