//! Hostile input never panics the policy decoder: arbitrary text, TOML assembled from the policy
//! language's own keys, and the shipped policies with bytes and lines inserted, deleted and
//! replaced. Every problem points inside the text; every policy that loads classifies.
//!
//! `FACTORY_FUZZ_CASES=N` sets the number of cases per property (default 256).

use bstr::BString;
use factory_policy::{
    CommitFacts, FileChange, FileMode, GOVERNANCE_RULE_ID, Lines, Policy, PolicyError, Problem,
    SHIPPED_POLICIES, Severity, Status, TierId, parse_trailers, schema,
};
use proptest::prelude::*;

#[path = "../../../tests/fuzz/common.rs"]
mod common;
use common::{apply, config, mutations};

// ------------------------------------------------------------------------------------------
// Mutations: insert, delete and replace bytes; duplicate, drop and swap lines.

const TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    "#",
    "\\",
    "\\u",
    "\0",
    "é",
    "🦀",
    "\u{feff}",
    "[[tier]]\n",
    "[[rule]]\n",
    "[people.x]\n",
    "[gate]\n",
    "[agents]\n",
    "[transcripts.redact]\n",
    "version = 1\n",
    "tier = \"auto\"\n",
    "paths = []\n",
    "= [\"**\"]",
    "!",
    "/",
    "*",
    "(",
    "(?",
    "\\p{",
    "{999999}",
    "1e400",
    "-1",
    "0",
    "nan",
    "inf",
];

// ------------------------------------------------------------------------------------------
// TOML built from the policy language's own tables and keys.

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32 & 0xFFFF)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A policy head that loads: three tiers and a person holding the role they require.
const HEAD: &str = r#"version = 1
default-tier = "review"
[[tier]]
name = "auto"
description = "a"
[[tier]]
name = "review"
description = "r"
requires = [{ role = "maintainer" }]
[[tier]]
name = "hard-stop"
description = "h"
requires = [{ role = "maintainer", count = 2 }]
[people.alice]
roles = ["maintainer"]
keys = ["openpgp:712587B639AF20C4199BD3628147534145AF0296"]
"#;

const HEADERS: &[&str] = &[
    "",
    "[[tier]]",
    "[[tier.requires]]",
    "[[rule]]",
    "[people.bob]",
    "[people.\"Not A Handle\"]",
    "[agents]",
    "[transcripts]",
    "[transcripts.redact]",
    "[gate]",
    "[unknown]",
];

/// Values of any type, for any key.
const VALUES: &[&str] = &[
    "1",
    "0",
    "-1",
    "9223372036854775807",
    "true",
    "2.5",
    "8.5",
    "nan",
    "inf",
    "\"auto\"",
    "\"Auto\"",
    "\"\"",
    "\"maintainer\"",
    "\"main\"",
    "\"refs/heads/main\"",
    "\"(unclosed\"",
    "'a{99999}{99999}'",
    "[]",
    "[1]",
    "[\"\"]",
    "[\"a b\"]",
    "[\"docs/[a-\"]",
    "['(unclosed']",
    "[\"teleport\"]",
    "[\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB x\"]",
    "[{ role = \"maintainer\", count = 3 }]",
    "[{ role = \"nobody\" }]",
    "[{ count = 0 }]",
    "{ secret = 's3cr3t[0-9]+' }",
    "{ x = 1 }",
    "1979-05-27T07:32:00Z",
];

/// Values that fit `key`, so that whole rules load and reach the classifier.
fn fitting(key: &str) -> &'static [&'static str] {
    match key {
        "paths" => &[
            "[\"*.md\"]",
            "[\"src/**\", \"!src/gen/\"]",
            "[\"/.factory\"]",
            "[\"docs/\"]",
            "[\"[ab]/*.c\", \"{x,y}\"]",
            "[\"\\\\!a\"]",
        ],
        "added-lines" | "removed-lines" => &[
            "['unsafe']",
            "['(?i)password', '^fn ']",
            "['\\bsecret\\b']",
            "['(?-u)\\xff']",
            "['$']",
            "['a|']",
        ],
        "kinds" => &[
            "[\"add\"]",
            "[\"binary\", \"symlink\"]",
            "[\"rename\", \"copy\", \"mode-change\", \"executable\", \"submodule\", \"delete\", \"modify\"]",
        ],
        "min-files-changed" | "min-lines-changed" => &["1", "2", "10"],
        "origin" => &["\"agent\"", "\"human\""],
        "merge" => &["true", "false"],
        "message" | "trailer-value" => &["'(?i)^fix'", "'.*'", "'x'"],
        "trailer" => &["\"Agent\"", "\"Co-authored-by\""],
        _ => &["\"d\""],
    }
}

fn key_value(keys: Vec<&'static str>) -> impl Strategy<Value = String> {
    prop::sample::select(keys).prop_flat_map(|k| {
        prop_oneof![
            6 => prop::sample::select(fitting(k)).prop_map(str::to_owned),
            1 => prop::sample::select(VALUES).prop_map(str::to_owned),
            1 => any::<String>().prop_map(|s| toml_string(&s)),
        ]
        .prop_map(move |v| format!("{k} = {v}"))
    })
}

/// A policy assembled from the language's tables: a head that loads (or none), rules whose keys
/// mostly get values of their type, and other tables with keys and values of any kind.
fn toml_like() -> impl Strategy<Value = String> {
    let rule_keys: Vec<&'static str> = schema::RULE
        .keys
        .iter()
        .map(|k| k.name)
        .filter(|k| !matches!(*k, "id" | "tier"))
        .collect();
    let mut any_keys: Vec<&'static str> = schema::TABLES
        .iter()
        .flat_map(|t| t.keys.iter().map(|k| k.name))
        .collect();
    any_keys.extend([
        "name", "role", "count", "roles", "keys", "secret", "path", "x.y",
    ]);
    let block = prop_oneof![
        3 => prop::collection::vec(key_value(rule_keys), 1..4).prop_map(|l| (None, l)),
        1 => (prop::sample::select(HEADERS), prop::collection::vec(key_value(any_keys), 0..4)).prop_map(|(h, l)| (Some(h), l)),
    ];
    (
        prop::bool::weighted(0.9),
        prop::collection::vec(block, 0..8),
    )
        .prop_map(|(head, blocks)| {
            let mut out = if head { HEAD.to_owned() } else { String::new() };
            for (i, (header, lines)) in blocks.into_iter().enumerate() {
                match header {
                    None => out.push_str(&format!(
                        "[[rule]]\nid = \"r{i}\"\ntier = \"{}\"\n",
                        ["auto", "review", "hard-stop"][i % 3]
                    )),
                    Some(h) => out.push_str(&format!("{h}\n")),
                }
                for l in lines {
                    out.push_str(&l);
                    out.push('\n');
                }
            }
            out
        })
}

// ------------------------------------------------------------------------------------------
// What every outcome must satisfy.

/// The problem's span lies in the text on character boundaries, and its line is one of the text's.
fn check_problem(text: &str, p: &Problem) {
    if let Some(span) = &p.span {
        assert!(
            span.start <= span.end && span.end <= text.len(),
            "span {span:?} outside a text of {} bytes: {}",
            text.len(),
            p.message
        );
        assert!(
            text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
            "span {span:?} splits a character: {}",
            p.message
        );
        let line = p.line().expect("a problem with a span has a line");
        assert!(
            (1..=text.split('\n').count()).contains(&line),
            "line {line} outside the text: {}",
            p.message
        );
    }
    assert_eq!(p.file(), "policy.toml");
}

fn check(text: &str) -> Result<Policy, PolicyError> {
    let result = Policy::parse("policy.toml", text);
    match &result {
        Err(err) => {
            assert!(
                err.errors().next().is_some(),
                "an error without error problems: {err:?}"
            );
            for p in &err.problems {
                check_problem(text, p);
            }
            // The diagnostic renders (miette reads the spans back out of the text).
            let mut out = String::new();
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
                .render_report(&mut out, err)
                .unwrap();
            let _ = err.to_string();
        }
        Ok(policy) => {
            assert!(!policy.tiers.is_empty());
            assert!(policy.default_tier.0 < policy.tiers.len());
            assert_eq!(policy.rules[0].id, GOVERNANCE_RULE_ID);
            assert!(policy.rules.iter().all(|r| r.tier.0 < policy.tiers.len()));
            for w in &policy.warnings {
                assert_eq!(w.severity, Severity::Warning);
                check_problem(text, w);
            }
        }
    }
    result
}

/// A policy that loads classifies any change without panicking, never below the evidence it
/// gives, and always puts a change under `.factory/` at its highest tier.
fn classify_some(policy: &Policy, files: &[FileChange], message: &str, author: &str) {
    let commit = CommitFacts {
        id: "0".repeat(40),
        parents: 1,
        author: author.to_owned(),
        message: message.to_owned(),
        trailers: parse_trailers(message),
    };
    let mut c = policy.classifier();
    for f in files {
        let _ = c.content_need(f);
    }
    let v = c.classify(&commit, files);
    assert!(v.tier.0 < policy.tiers.len());
    assert!(v.evidence.iter().all(|e| e.tier <= v.tier), "{v:?}");
    let _ = policy.origin(&commit);
    let _ = policy.gate.protects(author);

    let governance = FileChange::new(".factory/policy.toml", Status::Modified);
    let v = c.classify(&commit, &[governance]);
    assert_eq!(v.tier, policy.highest_tier());
}

fn file_change() -> impl Strategy<Value = FileChange> {
    let path = prop_oneof![
        prop::sample::select(
            &[
                "src/main.rs",
                "docs/a.md",
                "migrations/1.sql",
                ".factory/keys/a.asc",
                "Cargo.toml",
                ".github/workflows/ci.yml",
                "a/b/../c",
                "/",
                ""
            ][..]
        )
        .prop_map(BString::from),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(BString::from),
    ];
    let status = prop::sample::select(
        &[
            Status::Added,
            Status::Deleted,
            Status::Modified,
            Status::Renamed,
            Status::Copied,
        ][..],
    );
    let mode = prop::option::of(prop::sample::select(
        &[
            FileMode::File,
            FileMode::Executable,
            FileMode::Symlink,
            FileMode::Submodule,
        ][..],
    ));
    let lines = prop::option::of(prop::collection::vec(
        (any::<u32>(), prop::collection::vec(any::<u8>(), 0..60)),
        0..6,
    ));
    (
        path,
        prop::option::of("[a-z/.]{1,20}"),
        status,
        mode.clone(),
        mode,
        any::<bool>(),
        lines.clone(),
        lines,
    )
        .prop_map(
            |(path, old, status, old_mode, new_mode, binary, added, removed)| {
                let pack = |l: Option<Vec<(u32, Vec<u8>)>>| {
                    l.map(|l| {
                        let mut out = Lines::default();
                        for (n, text) in l {
                            out.push(n, &text);
                        }
                        out
                    })
                };
                let mut f = FileChange::new(path, status);
                f.old_path = old.map(BString::from);
                f.old_mode = old_mode;
                f.new_mode = new_mode;
                f.binary = binary;
                f.added_count = added.as_ref().map(|l| l.len() as u32);
                f.removed_count = removed.as_ref().map(|l| l.len() as u32);
                f.added = pack(added);
                f.removed = pack(removed);
                f
            },
        )
}

/// A path component git allows (no `.` or `..`), from a small alphabet so that paths and
/// patterns meet often.
fn component() -> impl Strategy<Value = String> {
    "[ab.]{1,3}".prop_filter("not . or ..", |c| c != "." && c != "..")
}

/// Whether a policy whose only rule has `paths` gives `path` the rule's tier.
fn rule_matches(paths: &[String], path: &str) -> bool {
    let list: Vec<String> = paths.iter().map(|p| toml_string(p)).collect();
    let text = format!(
        "version = 1\ndefault-tier = \"auto\"\n[[tier]]\nname = \"auto\"\ndescription = \"a\"\n[[tier]]\nname = \"hit\"\ndescription = \"h\"\n[[rule]]\nid = \"r\"\ntier = \"hit\"\npaths = [{}]\n",
        list.join(", ")
    );
    let policy = Policy::parse("policy.toml", &text).unwrap_or_else(|e| panic!("{text}\n{e:?}"));
    let files = [FileChange::new(path, Status::Modified)];
    policy
        .classifier()
        .classify(&CommitFacts::default(), &files)
        .tier
        == TierId(1)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = check(&text);
    }

    #[test]
    fn toml_from_the_schema_never_panics(text in toml_like(), files in prop::collection::vec(file_change(), 0..4)) {
        if let Ok(policy) = check(&text) {
            classify_some(&policy, &files, "subject\n\nAgent: x", "A <a@b>");
        }
    }

    #[test]
    fn mutated_shipped_policies_never_panic(
        shipped in prop::sample::select(SHIPPED_POLICIES),
        mutations in mutations(TOKENS),
        files in prop::collection::vec(file_change(), 0..4),
        message in "[ -~\n]{0,80}",
        author in "[ -~]{0,30}",
    ) {
        let text = String::from_utf8_lossy(&apply(shipped.text.as_bytes(), &mutations)).into_owned();
        if let Ok(policy) = check(&text) {
            classify_some(&policy, &files, &message, &author);
        }
    }

    #[test]
    fn literal_paths_match_like_globs(
        lead in any::<bool>(),
        pattern in prop::collection::vec(component(), 1..3),
        suffix in prop::sample::select(&["", "/", "/**"][..]),
        negate in any::<bool>(),
        path in prop::collection::vec(component(), 1..4),
        near in any::<bool>(),
    ) {
        // A literal pattern (matched by lookup) and the same pattern with one letter written as a
        // class (matched as a glob) decide alike.
        let literal = format!("{}{}{suffix}", if lead { "/" } else { "" }, pattern.join("/"));
        let at = literal.find(['a', 'b']);
        prop_assume!(at.is_some());
        let at = at.unwrap();
        let glob = format!("{}[{}]{}", &literal[..at], &literal[at..at + 1], &literal[at + 1..]);
        let list = |p: &str| if negate { vec!["**".to_owned(), format!("!{p}")] } else { vec![p.to_owned()] };
        // Often a path at or below the pattern's, so that both outcomes are common.
        let path = if near { [&pattern[..], &path[1..]].concat().join("/") } else { path.join("/") };
        prop_assert_eq!(rule_matches(&list(&literal), &path), rule_matches(&list(&glob), &path), "{} vs {} on {}", literal, glob, path);
    }

    #[test]
    fn trailers_never_panic(message in any::<String>()) {
        for t in parse_trailers(&message) {
            prop_assert!(!t.key.is_empty());
            prop_assert!(t.key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
    }
}

#[test]
fn every_shipped_policy_loads_unmutated() {
    // Guards the mutation property against a base that never parses.
    for p in SHIPPED_POLICIES {
        check(p.text).unwrap_or_else(|e| panic!("{}: {e:?}", p.name));
    }
}
