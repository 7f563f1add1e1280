//! The lexer on hostile bytes: for every language it knows, scanning a whole file and walking
//! any of its lines from the recorded state never panics, tells what every byte is (exactly
//! one part per byte) and records one start per line asked for.
//!
//! `FACTORY_FUZZ_CASES=N` sets the number of cases per property (default 256).

use factory_change::lexer::{LineStart, Part, scan, syntax_of, walk};
use proptest::prelude::*;

#[path = "../../../tests/fuzz/common.rs"]
mod common;

const EXTENSIONS: &[&str] = &[
    "rs", "c", "go", "js", "ts", "py", "sh", "sql", "yml", "kt", "java",
];

/// Source-like bytes: the characters that open and close comments and literals, often.
fn source() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        "/*",
        "*/",
        "${",
        "//",
        "#",
        "--",
        "\"",
        "'",
        "`",
        "\"\"\"",
        "'''",
        "r#\"",
        "\"#",
        "\\",
        "\n",
        "\r\n",
        "{",
        "}",
        ";",
        "#[cfg(test)]",
        "mod t {",
        "def f():",
        "é",
        "\u{202e}",
        "x",
        " ",
    ]);
    prop::collection::vec(
        prop_oneof![
            pieces.prop_map(|s| s.as_bytes().to_vec()),
            any::<u8>().prop_map(|b| vec![b]),
        ],
        0..200,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(common::config())]

    #[test]
    fn scanning_and_walking_any_bytes_never_panics(text in source(), ext in prop::sample::select(EXTENSIONS.to_vec())) {
        let syn = syntax_of(format!("f.{ext}").as_bytes()).expect("known language");
        let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
        let starts = scan(&text, &syn, usize::MAX);
        prop_assert!(starts.len() <= lines.len());
        for (line, start) in lines.iter().zip(starts.iter().copied().chain(std::iter::repeat(LineStart::default()))) {
            let mut n = 0;
            walk(line, &syn, start, |_: Part| n += 1);
            prop_assert_eq!(n, line.len());
        }
        // Asking for fewer lines scans fewer.
        prop_assert!(scan(&text, &syn, 2).len() <= 2);
    }
}
