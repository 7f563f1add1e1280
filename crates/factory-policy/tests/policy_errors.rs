//! Every kind of policy problem is reported, all at once, at the right line.

use factory_policy::{Policy, PolicyError, Severity};

const HEAD: &str = r#"version = 1
default-tier = "auto"

[[tier]]
name = "auto"
description = "Ships."

[[tier]]
name = "review"
description = "One maintainer."
requires = [{ role = "maintainer" }]

[people.alice]
roles = ["maintainer"]
keys = ["openpgp:712587B639AF20C4199BD3628147534145AF0296"]
"#;

fn errors(text: &str) -> Vec<(usize, String)> {
    let err: PolicyError = Policy::parse("policy.toml", text).expect_err("the policy is invalid");
    err.problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| (p.line().unwrap_or(0), p.message.clone()))
        .collect()
}

fn with(extra: &str) -> String {
    format!("{HEAD}{extra}")
}

#[test]
fn a_valid_policy_loads() {
    let p = Policy::parse(
        "policy.toml",
        &with("\n[[rule]]\nid = \"docs\"\ntier = \"auto\"\npaths = [\"*.md\"]\n"),
    )
    .unwrap();
    assert_eq!(p.tiers.len(), 2);
    assert_eq!(p.rules.len(), 2, "the built-in governance rule comes first");
    assert!(p.rules[0].builtin);
    assert!(p.warnings.is_empty());
}

#[test]
fn unknown_keys_are_named_with_a_suggestion() {
    let err = Policy::parse(
        "p",
        &with("\n[[rule]]\nid = \"x\"\ntier = \"auto\"\npath = [\"a\"]\n"),
    )
    .unwrap_err();
    let p = &err.problems[0];
    assert_eq!(p.message, "unknown key `path` in a rule");
    assert_eq!(p.line(), Some(20));
    assert_eq!(p.help.as_deref(), Some("did you mean `paths`?"));
}

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    let text = with(
        r#"
[[rule]]
id = "docs"
tier = "auto"
paths = ["docs/[a-"]

[[rule]]
id = "docs"
tier = "hard-stop"
added-lines = ['(unclosed']

[[rule]]
id = "factory.mine"
tier = "auto"
merge = true

[[rule]]
id = "empty"
tier = "auto"

[[rule]]
id = "tv"
tier = "review"
trailer-value = "x"
"#,
    );
    assert_eq!(
        errors(&text),
        vec![
            (
                20,
                "bad path pattern `docs/[a-`: unclosed character class; missing ']'".to_owned()
            ),
            (23, "rule id `docs` is used twice".to_owned()),
            (24, "unknown tier `hard-stop`".to_owned()),
            (
                25,
                "bad regular expression in `added-lines`: unclosed group".to_owned()
            ),
            (28, "rule id `factory.mine` is reserved".to_owned()),
            (32, "rule `empty` has no conditions".to_owned()),
            (39, "`trailer-value` without `trailer`".to_owned()),
        ]
    );
}

#[test]
fn a_role_no_one_holds_is_an_error_too_few_holders_a_warning() {
    let text = HEAD.replace(
        r#"requires = [{ role = "maintainer" }]"#,
        r#"requires = [{ role = "maintainr" }, { role = "maintainer", count = 2 }]"#,
    );
    let errs = errors(&text);
    assert_eq!(
        errs,
        vec![(
            11,
            "tier `review` requires role `maintainr`, which no person holds".to_owned()
        )]
    );
    let text = HEAD.replace(
        r#"requires = [{ role = "maintainer" }]"#,
        r#"requires = [{ role = "maintainer", count = 2 }]"#,
    );
    let p = Policy::parse("p", &text).unwrap();
    assert_eq!(
        p.warnings[0].message,
        "tier `review` requires 2 people with role `maintainer`, but only 1 hold it: such changes cannot be approved yet"
    );
}

#[test]
fn without_people_requirements_are_a_warning_not_an_error() {
    let text = HEAD.split("[people.alice]").next().unwrap().to_owned();
    let p = Policy::parse("p", &text).unwrap();
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].message.starts_with("no people are declared"));
}

#[test]
fn types_versions_tiers_and_syntax() {
    assert_eq!(
        errors("version = 2\ndefault-tier = \"a\"\n[[tier]]\nname = \"a\"\ndescription = \"\"\n")
            [0],
        (1, "unsupported policy version 2".to_owned())
    );
    assert_eq!(
        errors("version = 1\ndefault-tier = \"a\"\n")[0].1,
        "the policy defines no tiers"
    );
    assert_eq!(
        errors("version = 1\ndefault-tier = \"a\"\n[[tier]]\nname = \"a\"\ndescription = 3\n")[0],
        (5, "`description` must be a string, not integer".to_owned())
    );
    assert_eq!(
        errors("version = 1\ndefault-tier = \"a\"\n[[tier]]\nname = \"a\"\nname = \"b\"\n")[0].0,
        5
    );
    assert_eq!(
        errors(&with(
            "\n[[rule]]\nid = \"k\"\ntier = \"auto\"\nkinds = [\"moved\"]\n"
        )),
        vec![(20, "unknown change kind `moved`".to_owned())]
    );
    assert_eq!(
        errors(&with(
            "\n[[rule]]\nid = \"o\"\ntier = \"auto\"\norigin = \"robot\"\n"
        )),
        vec![(20, "unknown origin `robot`".to_owned())]
    );
    assert_eq!(
        errors(&with(
            "\n[[rule]]\nid = \"n\"\ntier = \"auto\"\nmin-files-changed = 0\n"
        )),
        vec![(20, "`min-files-changed` must be at least 1".to_owned())]
    );
}

#[test]
fn keys_must_look_like_keys() {
    let text = HEAD.replace(
        "openpgp:712587B639AF20C4199BD3628147534145AF0296",
        "openpgp:1234",
    );
    assert_eq!(
        errors(&text),
        vec![(
            15,
            "`openpgp:1234` is not a key factory understands".to_owned()
        )]
    );
    let ssh = HEAD.replace(
        "openpgp:712587B639AF20C4199BD3628147534145AF0296",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bob@example.com",
    );
    Policy::parse("p", &ssh).expect("an SSH key line is accepted");
}

#[test]
fn the_rendered_diagnostic_points_at_the_text() {
    let err = Policy::parse(
        "policy.toml",
        &with("\n[[rule]]\nid = \"x\"\ntier = \"reveiw\"\npaths = [\"a\"]\n"),
    )
    .unwrap_err();
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(80)
        .render_report(&mut out, &err.problems[0])
        .unwrap();
    insta::assert_snapshot!(out);
}

/// Big policies are parsed a chunk of rule tables at a time: problems in any chunk still point
/// at their line of the file, and every rule is kept in order with its line.
#[test]
fn a_big_policy_reports_problems_at_the_right_line_in_every_chunk() {
    let mut text = HEAD.to_owned();
    let mut bad_lines = Vec::new();
    for i in 0..2_500 {
        text.push_str(&format!(
            "\n[[rule]]\nid = \"r{i}\"\ntier = \"review\"\npaths = [\"/dir{i}/**\"]\n"
        ));
        if i == 10 || i == 1_700 {
            bad_lines.push(text.lines().count() + 1);
            text.push_str("colour = \"red\"\n");
        }
    }
    text.push_str("\n[gate]\nprotected = [\"main\"]\n");
    let got: Vec<usize> = errors(&text).into_iter().map(|(l, _)| l).collect();
    assert_eq!(got, bad_lines);
    let fixed = text.replace("colour = \"red\"\n", "");
    let p = Policy::parse("policy.toml", &fixed).expect("valid");
    let user: Vec<_> = p.rules.iter().filter(|r| !r.builtin).collect();
    assert_eq!(user.len(), 2_500);
    assert_eq!(user[1_700].id, "r1700");
    assert_eq!(
        fixed.lines().nth(user[1_700].line.unwrap() - 1),
        Some("[[rule]]")
    );
    assert!(p.gate.protects("main") && !p.gate.protects("release/1"));
}
