//! Every rule of every shipped policy has a fixture: changes it must fire on and changes it must
//! not. The fixtures live beside the policies, in `policies/fixtures/NAME.toml`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use factory_policy::{
    CommitFacts, ContentNeed, FileChange, FileMode, Lines, Policy, SHIPPED_POLICIES, Status,
    parse_trailers,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    rule: String,
    #[serde(default)]
    fire: Vec<Change>,
    #[serde(default)]
    quiet: Vec<Change>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Change {
    path: String,
    old_path: Option<String>,
    status: Option<String>,
    old_mode: Option<String>,
    new_mode: Option<String>,
    #[serde(default)]
    binary: bool,
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
    copies: Option<usize>,
    message: Option<String>,
    author: Option<String>,
    parents: Option<usize>,
}

fn mode(name: &str) -> FileMode {
    match name {
        "file" => FileMode::File,
        "executable" => FileMode::Executable,
        "symlink" => FileMode::Symlink,
        "submodule" => FileMode::Submodule,
        other => panic!("unknown mode {other}"),
    }
}

fn lines(list: &[String]) -> Lines {
    let mut l = Lines::default();
    for (i, text) in list.iter().enumerate() {
        l.push(i as u32 + 1, text.as_bytes());
    }
    l
}

fn build(change: &Change) -> (CommitFacts, Vec<FileChange>) {
    let status = match change.status.as_deref().unwrap_or("modified") {
        "added" => Status::Added,
        "deleted" => Status::Deleted,
        "modified" => Status::Modified,
        "renamed" => Status::Renamed,
        "copied" => Status::Copied,
        other => panic!("unknown status {other}"),
    };
    let default_mode = |present: bool| present.then_some(FileMode::File);
    let copies = change.copies.unwrap_or(1);
    let mut files = Vec::new();
    for i in 0..copies {
        let path = if copies == 1 {
            change.path.clone()
        } else {
            format!("{}{i}", change.path)
        };
        let mut f = FileChange::new(path, status);
        f.old_path = change.old_path.clone().map(Into::into);
        f.old_mode = change
            .old_mode
            .as_deref()
            .map(mode)
            .or(default_mode(status != Status::Added));
        f.new_mode = change
            .new_mode
            .as_deref()
            .map(mode)
            .or(default_mode(status != Status::Deleted));
        f.binary = change.binary;
        f.added = Some(lines(&change.added));
        f.removed = Some(lines(&change.removed));
        f.added_count = Some(change.added.len() as u32);
        f.removed_count = Some(change.removed.len() as u32);
        files.push(f);
    }
    let message = change
        .message
        .clone()
        .unwrap_or_else(|| "Change things\n".to_owned());
    let commit = CommitFacts {
        id: "0".repeat(40),
        parents: change.parents.unwrap_or(1),
        author: change
            .author
            .clone()
            .unwrap_or_else(|| "Dana Developer <dana@example.com>".to_owned()),
        trailers: parse_trailers(&message),
        message,
    };
    (commit, files)
}

fn fired(policy: &Policy, change: &Change) -> BTreeSet<String> {
    let (commit, mut files) = build(change);
    let mut classifier = policy.classifier();
    // Drop what the engine did not ask for, as the git layer would never compute it.
    for f in &mut files {
        match classifier.content_need(f) {
            ContentNeed::None => {
                f.added = None;
                f.removed = None;
                f.added_count = None;
                f.removed_count = None;
            }
            ContentNeed::Counts => {
                f.added = None;
                f.removed = None;
            }
            ContentNeed::Lines | ContentNeed::LexedLines => {}
        }
    }
    classifier
        .classify(&commit, &files)
        .evidence
        .into_iter()
        .map(|e| e.rule)
        .collect()
}

#[test]
fn every_shipped_rule_has_fixtures_that_pass() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/fixtures");
    let mut failures = Vec::new();
    for shipped in SHIPPED_POLICIES {
        let policy = Policy::parse(shipped.name, shipped.text).expect("shipped policies load");
        let path = root.join(format!("{}.toml", shipped.name));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let fixture: Fixture =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for rule in &policy.rules {
            let covered = fixture
                .case
                .iter()
                .any(|c| c.rule == rule.id && !c.fire.is_empty() && !c.quiet.is_empty());
            if !covered {
                failures.push(format!(
                    "{}: rule `{}` has no case with both `fire` and `quiet` changes",
                    shipped.name, rule.id
                ));
            }
        }
        for case in &fixture.case {
            if policy.rule(&case.rule).is_none() {
                failures.push(format!(
                    "{}: fixture for unknown rule `{}`",
                    shipped.name, case.rule
                ));
                continue;
            }
            for change in &case.fire {
                let got = fired(&policy, change);
                if !got.contains(&case.rule) {
                    failures.push(format!(
                        "{}: `{}` did not fire on {change:?}; fired: {got:?}",
                        shipped.name, case.rule
                    ));
                }
            }
            for change in &case.quiet {
                let got = fired(&policy, change);
                if got.contains(&case.rule) {
                    failures.push(format!(
                        "{}: `{}` fired on {change:?}",
                        shipped.name, case.rule
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
