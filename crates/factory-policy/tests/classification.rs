//! Classification semantics, without git.

use factory_policy::{
    CommitFacts, ContentNeed, DEFAULT_RULE_ID, FileChange, FileMode, GOVERNANCE_RULE_ID, LineSide,
    Lines, Origin, Policy, Status, Verdict, parse_trailers,
};

const POLICY: &str = r#"
version = 1
default-tier = "review"

[[tier]]
name = "auto"
description = "a"

[[tier]]
name = "review"
description = "r"

[[tier]]
name = "hard-stop"
description = "h"

[agents]
trailers = ["Agent"]
authors = ['\[bot\]']
co-authors = ['(?i)claude']

[[rule]]
id = "docs"
tier = "auto"
paths = ["*.md"]

[[rule]]
id = "auth"
tier = "hard-stop"
paths = ["src/auth/"]

[[rule]]
id = "route"
tier = "review"
paths = ["*.rs"]
added-lines = ['\.route\(']

[[rule]]
id = "audit-removed"
tier = "hard-stop"
paths = ["*.rs"]
removed-lines = ['audit_log']

[[rule]]
id = "big-src"
tier = "review"
paths = ["src/"]
min-lines-changed = 10

[[rule]]
id = "security-trailer"
tier = "hard-stop"
trailer = "Security"
trailer-value = '^(high|critical)$'

[[rule]]
id = "agent-merge"
tier = "review"
origin = "agent"
merge = true
"#;

fn policy() -> Policy {
    Policy::parse("p", POLICY).unwrap()
}

fn commit(message: &str) -> CommitFacts {
    CommitFacts {
        id: "c".repeat(40),
        parents: 1,
        author: "Pat Person <pat@example.com>".into(),
        trailers: parse_trailers(message),
        message: message.into(),
    }
}

fn modified(path: &str, added: &[&str], removed: &[&str]) -> FileChange {
    let mut f = FileChange::new(path, Status::Modified);
    f.old_mode = Some(FileMode::File);
    f.new_mode = Some(FileMode::File);
    let mut a = Lines::default();
    for (i, l) in added.iter().enumerate() {
        a.push(i as u32 + 10, l.as_bytes());
    }
    let mut r = Lines::default();
    for (i, l) in removed.iter().enumerate() {
        r.push(i as u32 + 20, l.as_bytes());
    }
    f.added_count = Some(added.len() as u32);
    f.removed_count = Some(removed.len() as u32);
    f.added = Some(a);
    f.removed = Some(r);
    f
}

fn classify(p: &Policy, c: &CommitFacts, files: &[FileChange]) -> Verdict {
    p.classifier().classify(c, files)
}

fn rules(v: &Verdict) -> Vec<&str> {
    v.evidence.iter().map(|e| e.rule.as_str()).collect()
}

#[test]
fn the_commit_tier_is_the_highest_rule_and_unmatched_files_get_the_default() {
    let p = policy();
    let v = classify(&p, &commit("docs\n"), &[modified("README.md", &[], &[])]);
    assert_eq!(p.tier_name(v.tier), "auto");
    let v = classify(
        &p,
        &commit("x\n"),
        &[
            modified("README.md", &[], &[]),
            modified("lib/x.py", &[], &[]),
        ],
    );
    assert_eq!(p.tier_name(v.tier), "review");
    assert_eq!(rules(&v), ["docs", DEFAULT_RULE_ID]);
    assert_eq!(v.evidence[1].path.as_ref().unwrap(), "lib/x.py");
    let v = classify(
        &p,
        &commit("x\n"),
        &[
            modified("README.md", &[], &[]),
            modified("src/auth/a.rs", &[], &[]),
        ],
    );
    assert_eq!(p.tier_name(v.tier), "hard-stop");
}

#[test]
fn empty_commits_are_the_lowest_tier() {
    let p = policy();
    let v = classify(&p, &commit("empty\n"), &[]);
    assert_eq!(p.tier_name(v.tier), "auto");
    assert!(v.evidence.is_empty());
}

#[test]
fn content_rules_name_the_line_and_side() {
    let p = policy();
    let v = classify(
        &p,
        &commit("x\n"),
        &[modified(
            "src/api.rs",
            &["fn a() {}", "  .route(\"/x\", h)"],
            &["audit_log(e);"],
        )],
    );
    let route = v.evidence.iter().find(|e| e.rule == "route").unwrap();
    assert_eq!(
        (route.line, route.side, route.text.as_deref()),
        (Some(11), Some(LineSide::Added), Some(".route(\"/x\", h)"))
    );
    let audit = v
        .evidence
        .iter()
        .find(|e| e.rule == "audit-removed")
        .unwrap();
    assert_eq!(
        (audit.line, audit.side),
        (Some(20), Some(LineSide::Removed))
    );
    assert_eq!(p.tier_name(v.tier), "hard-stop");
}

#[test]
fn content_need_is_limited_to_covered_files() {
    let p = policy();
    let mut c = p.classifier();
    assert_eq!(
        c.content_need(&modified("src/api.rs", &[], &[])),
        ContentNeed::Lines
    );
    assert_eq!(
        c.content_need(&modified("src/data.json", &[], &[])),
        ContentNeed::Counts,
        "big-src counts lines under src/"
    );
    assert_eq!(
        c.content_need(&modified("README.md", &[], &[])),
        ContentNeed::None
    );
    let path_only = Policy::parse(
        "p",
        POLICY.split("[[rule]]\nid = \"route\"").next().unwrap(),
    )
    .unwrap();
    assert!(!path_only.has_content_rules());
    assert_eq!(
        path_only
            .classifier()
            .content_need(&modified("src/api.rs", &[], &[])),
        ContentNeed::None
    );
}

#[test]
fn sizes_count_only_files_the_rule_covers() {
    let p = policy();
    let nine: Vec<&str> = vec!["x"; 9];
    let v = classify(
        &p,
        &commit("x\n"),
        &[
            modified("src/a.txt", &nine, &[]),
            modified("other/b.txt", &nine, &[]),
        ],
    );
    assert!(!rules(&v).contains(&"big-src"));
    let v = classify(
        &p,
        &commit("x\n"),
        &[
            modified("src/a.txt", &nine, &[]),
            modified("src/b.txt", &["y"], &[]),
        ],
    );
    assert!(rules(&v).contains(&"big-src"));
}

#[test]
fn trailers_and_commit_predicates() {
    let p = policy();
    let file = [modified("README.md", &[], &[])];
    let v = classify(&p, &commit("Fix\n\nSecurity: critical\n"), &file);
    assert_eq!(p.tier_name(v.tier), "hard-stop");
    let e = v
        .evidence
        .iter()
        .find(|e| e.rule == "security-trailer")
        .unwrap();
    assert!(e.path.is_none());
    let v = classify(&p, &commit("Fix\n\nSecurity: low\n"), &file);
    assert_eq!(p.tier_name(v.tier), "auto");
    let mut merge = commit("Merge\n\nAgent: codex/1\n");
    merge.parents = 2;
    assert!(rules(&classify(&p, &merge, &[])).contains(&"agent-merge"));
    merge.message = "Merge\n".into();
    merge.trailers.clear();
    assert!(!rules(&classify(&p, &merge, &[])).contains(&"agent-merge"));
}

#[test]
fn agents_are_recognised_by_trailer_author_or_co_author() {
    let p = policy();
    let (o, why, agent) = p.origin(&commit("x\n\nAgent: claude-code/2.0\n"));
    assert_eq!(
        (o, why.as_deref(), agent.as_deref()),
        (
            Origin::Agent,
            Some("trailer `Agent: claude-code/2.0`"),
            Some("claude-code/2.0")
        )
    );
    let mut c = commit("x\n");
    c.author = "renovate[bot] <bot@example.com>".into();
    assert_eq!(p.origin(&c).0, Origin::Agent);
    let (o, _, agent) = p.origin(&commit(
        "x\n\nCo-authored-by: Claude <noreply@anthropic.com>\n",
    ));
    assert_eq!((o, agent.as_deref()), (Origin::Agent, Some("Claude")));
    assert_eq!(
        p.origin(&commit("x\n\nAgent: in the subject line does not count\n"))
            .0,
        Origin::Agent
    );
    assert_eq!(p.origin(&commit("Agent: subject only\n")).0, Origin::Human);
}

#[test]
fn governance_is_built_in_and_cannot_be_lowered_or_redefined() {
    let p = policy();
    let v = classify(
        &p,
        &commit("x\n"),
        &[modified(".factory/README.md", &[], &[])],
    );
    assert_eq!(
        p.tier_name(v.tier),
        "hard-stop",
        "docs says auto, governance wins"
    );
    assert!(rules(&v).contains(&GOVERNANCE_RULE_ID));
    let mut renamed = FileChange::new("policy.toml", Status::Renamed);
    renamed.old_path = Some(".factory/policy.toml".into());
    let v = classify(&p, &commit("x\n"), &[renamed]);
    assert_eq!(
        p.tier_name(v.tier),
        "hard-stop",
        "moving the policy away is a governance change"
    );
    let redefined = format!(
        "{POLICY}\n[[rule]]\nid = \"{GOVERNANCE_RULE_ID}\"\ntier = \"auto\"\npaths = [\".factory/\"]\n"
    );
    let err = Policy::parse("p", &redefined).unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|e| e.message.contains("is reserved"))
    );
}

#[test]
fn the_literal_pre_check_never_hides_a_match() {
    // Case-insensitive words, alternations, optional prefixes and anchors: the pre-check
    // (required literals, before any compilation) must agree with the regexes.
    let text = format!(
        "{POLICY}\n[[rule]]\nid = \"pw\"\ntier = \"hard-stop\"\npaths = [\"*.py\"]\nadded-lines = ['(?i)\\b(verify|check)_password\\b', '^\\s*(re_)?path\\s*\\(', 'import (ring|rustls)']\n"
    );
    let p = Policy::parse("p", &text).unwrap();
    let fires = |line: &str| {
        rules(&classify(
            &p,
            &commit("m"),
            &[modified("a.py", &[line], &[])],
        ))
        .contains(&"pw")
    };
    assert!(fires("    ok = VERIFY_Password(user)"));
    assert!(fires("check_password(x)"));
    assert!(fires("  re_path(r'^x')"));
    assert!(fires("path('y')"));
    assert!(fires("import rustls"));
    assert!(!fires("verify_passwords_later()"));
    assert!(!fires("import tokio"));
    assert!(!fires("nothing here"));
    // A fresh policy whose first file has no required literal, then a matching one: the
    // pre-check must not stick.
    let p = Policy::parse("p", &text).unwrap();
    let v = classify(
        &p,
        &commit("m"),
        &[
            modified("b.py", &["x = 1"], &[]),
            modified("c.py", &["Check_Password()"], &[]),
        ],
    );
    assert!(rules(&v).contains(&"pw"), "{v:?}");
}
