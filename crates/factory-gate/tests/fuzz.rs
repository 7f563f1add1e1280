//! Hostile hook input never panics the gate's line parsers: arbitrary lines, lines of the right
//! shape with any fields, and well-formed lines, which parse to exactly what they say.
//!
//! `FACTORY_FUZZ_CASES=N` sets the number of cases per property (default 256).

use factory_gate::{Reason, RefUpdate};
use proptest::prelude::*;

#[path = "../../../tests/fuzz/common.rs"]
mod common;
use common::config;

/// An object id as git writes it (sometimes the null id, sometimes upper case).
fn oid() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("0".repeat(40)),
        4 => "[0-9a-f]{40}",
        1 => "[0-9a-fA-F]{40}",
    ]
}

/// A field: an object id, a ref name, or anything without a space.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        oid(),
        "refs/[a-zA-Z0-9/._-]{0,20}",
        "[0-9a-fA-FxX]{0,70}",
        "[^ ]{0,20}",
        Just("refs/heads/a\tb".to_owned()),
        Just("refs/heads/main\r".to_owned()),
        Just("0".repeat(64)),
        Just("é".repeat(20)),
    ]
}

/// What every parsed update satisfies.
fn check(line: &str, fields: usize, result: &Result<RefUpdate, String>) {
    if let Ok(u) = result {
        assert_eq!(line.split(' ').count(), fields, "{line:?}");
        assert!(
            u.name.starts_with("refs/") && !u.name.contains(char::is_whitespace),
            "{u:?}"
        );
        for id in [u.old, u.new].into_iter().flatten() {
            assert!(!id.is_null());
            assert!(
                line.contains(&id.to_string())
                    || line.to_ascii_lowercase().contains(&id.to_string())
            );
        }
    }
}

fn expected_id(hex: &str) -> Option<String> {
    let hex = hex.to_ascii_lowercase();
    (hex != "0".repeat(40)).then_some(hex)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_lines_never_panic(line in prop_oneof![any::<String>(), prop::collection::vec(field(), 0..6).prop_map(|f| f.join(" "))]) {
        check(&line, 3, &RefUpdate::from_receive_line(&line));
        check(&line, 4, &RefUpdate::from_push_line(&line));
    }

    #[test]
    fn well_formed_lines_parse_to_what_they_say(old in oid(), new in oid(), name in "refs/[a-zA-Z0-9/._-]{0,30}", local in "[^ ]{0,20}") {
        let u = RefUpdate::from_receive_line(&format!("{old} {new} {name}")).unwrap();
        prop_assert_eq!(&u.name, &name);
        prop_assert_eq!(u.old.map(|id| id.to_string()), expected_id(&old));
        prop_assert_eq!(u.new.map(|id| id.to_string()), expected_id(&new));
        prop_assert_eq!(RefUpdate::from_push_line(&format!("{local} {new} {name} {old}")), Ok(u));
    }

    #[test]
    fn pre_push_and_pre_receive_agree(old in field(), new in field(), name in field(), local in field()) {
        // The same update, as each hook is handed it.
        prop_assert_eq!(
            RefUpdate::from_push_line(&format!("{local} {new} {name} {old}")),
            RefUpdate::from_receive_line(&format!("{old} {new} {name}"))
        );
    }

    #[test]
    fn reasons_display_any_commit_text(commit in any::<String>(), text in any::<String>()) {
        // Commits are ids today; the fields are public, and Display must not split a character.
        for r in [
            Reason::Unmet { commit: commit.clone(), tier: text.clone(), what: text.clone(), could: vec![text.clone()] },
            Reason::MissingTranscript { commit: commit.clone() },
            Reason::UnsignedHumanCommit { commit: commit.clone(), signature: text.clone() },
            Reason::Rejected { person: text.clone() },
        ] {
            let _ = r.to_string();
        }
    }
}
