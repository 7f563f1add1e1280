//! The `audit_sarif` example, driven on a real repository: what it prints is the SARIF of the
//! gate's decision.

#[allow(dead_code)]
#[path = "../examples/audit_sarif.rs"]
mod audit_sarif;

use factory_tests::TestRepo;

#[test]
fn the_library_example_audits_a_range_as_sarif() {
    let repo = TestRepo::new();
    repo.write("README.md", "# demo\n");
    repo.commit("Initial commit");
    let base = repo.git(&["rev-parse", "HEAD"]);
    repo.write(
        "src/auth/login.rs",
        "pub fn check_password(p: &str) -> bool { !p.is_empty() }\n",
    );
    repo.commit("Add a login check");
    let (sarif, passes) =
        audit_sarif::audit(&repo.path(), &format!("{}..HEAD", base.trim())).unwrap();
    assert!(!passes, "an unapproved hard-stop change may not land");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let located = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/auth/login.rs"
        })
        .unwrap_or_else(|| panic!("no result at the auth file: {sarif:#}"));
    assert_eq!(located["level"], "error");
    assert_eq!(sarif["runs"][0]["properties"]["decision"], "blocked");

    let err = audit_sarif::audit(&repo.path(), "HEAD").unwrap_err();
    assert!(err.contains("not a range"), "{err}");
}
