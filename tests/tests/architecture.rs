//! The crate graph of the book's design chapter, held: each library depends only on the factory
//! crates below it, nothing depends on the command line, and the pure layers (the change model,
//! the policy, the Shift Log) build and test without git or a repository.

use std::collections::{BTreeMap, BTreeSet};

use factory_tests::workspace_root;

/// Each library and the factory crates it may depend on (normal dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("factory-change", &[]),
    ("factory-policy", &["factory-change"]),
    ("factory-shiftlog", &[]),
    ("factory-git", &["factory-change"]),
    ("factory-trust", &["factory-policy"]),
    ("factory-import", &["factory-policy", "factory-trust"]),
    (
        "factory-gate",
        &[
            "factory-git",
            "factory-policy",
            "factory-shiftlog",
            "factory-trust",
        ],
    ),
    (
        "factory-report",
        &[
            "factory-gate",
            "factory-git",
            "factory-policy",
            "factory-trust",
        ],
    ),
    (
        "factory-runner",
        &[
            "factory-gate",
            "factory-git",
            "factory-policy",
            "factory-shiftlog",
            "factory-trust",
        ],
    ),
];

/// The layers that must know nothing of git: no gix, no git layer, no repository harness.
const PURE: &[&str] = &["factory-change", "factory-policy", "factory-shiftlog"];

/// The dependency names of each table of a crate's manifest (`dependencies`,
/// `dev-dependencies`), read line by line: the workspace writes one `name.workspace = true` or
/// `name = {…}` per line.
fn manifest(krate: &str) -> BTreeMap<String, BTreeSet<String>> {
    let path = workspace_root()
        .join("crates")
        .join(krate)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_owned();
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line
            .split(['=', '.', ' '])
            .next()
            .unwrap_or_default()
            .to_owned();
        tables.entry(current.clone()).or_default().insert(name);
    }
    tables
}

#[test]
fn every_library_depends_only_on_the_layers_below_it() {
    let crates: BTreeSet<String> = std::fs::read_dir(workspace_root().join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    for krate in &crates {
        if krate == "factory-cli" {
            continue;
        }
        let Some(allowed) = allowed.get(krate.as_str()) else {
            panic!("{krate} is not in the crate graph: add it here and to the design chapter");
        };
        let deps = manifest(krate).remove("dependencies").unwrap_or_default();
        let internal: Vec<&String> = deps.iter().filter(|d| d.starts_with("factory-")).collect();
        assert_eq!(
            internal.is_empty(),
            allowed.is_empty(),
            "{krate}'s manifest was read: its factory dependencies are {internal:?}"
        );
        for dep in internal {
            assert!(
                allowed.contains(&dep.as_str()),
                "{krate} depends on {dep}, which the crate graph does not allow"
            );
        }
    }
}

#[test]
fn the_pure_layers_know_no_git() {
    for krate in PURE {
        for (table, deps) in manifest(krate) {
            for forbidden in ["gix", "factory-git", "factory-tests", "factory-gate"] {
                assert!(
                    !deps.contains(forbidden),
                    "{krate} [{table}] names {forbidden}: the pure layers build and test without a repository"
                );
            }
        }
    }
}

#[test]
fn the_graph_has_no_cycle_and_the_design_chapter_draws_it() {
    let design = std::fs::read_to_string(workspace_root().join("book/src/design.md")).unwrap();
    for (krate, deps) in ALLOWED {
        assert!(
            design.contains(krate),
            "the design chapter does not name {krate}"
        );
        // Allowed dependencies point strictly down the list above: no cycle is possible.
        let index = |name: &str| ALLOWED.iter().position(|(k, _)| *k == name).unwrap();
        for dep in *deps {
            assert!(
                index(dep) < index(krate),
                "{krate} → {dep} points up the graph"
            );
        }
    }
}
