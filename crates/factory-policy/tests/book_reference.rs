//! The book's policy reference is generated from the key tables the decoder uses, so it cannot
//! drift from the code. Run with `FACTORY_BLESS=1` to rewrite it after changing a key.

use std::path::PathBuf;

const START: &str = "<!-- generated from crates/factory-policy/src/schema.rs: start -->\n";
const END: &str = "<!-- generated from crates/factory-policy/src/schema.rs: end -->\n";

#[test]
fn the_book_policy_reference_matches_the_schema() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../book/src/policy-reference.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find(START).expect("start marker") + START.len();
    let end = text.find(END).expect("end marker");
    let generated = factory_policy::schema::reference_markdown();
    if text[start..end] != generated {
        if std::env::var_os("FACTORY_BLESS").is_some() {
            let updated = format!("{}{generated}{}", &text[..start], &text[end..]);
            std::fs::write(&path, updated).unwrap();
        } else {
            panic!(
                "{} is out of date: run `FACTORY_BLESS=1 cargo test -p factory-policy --test book_reference`",
                path.display()
            );
        }
    }
}

#[test]
fn the_documented_example_policy_is_valid() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../book/src/policy-reference.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let example = text
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the chapter opens with a TOML example");
    let policy = factory_policy::Policy::parse("example", example).unwrap_or_else(|e| {
        panic!(
            "{:?}",
            e.problems
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
        )
    });
    assert!(policy.warnings.is_empty());
}
