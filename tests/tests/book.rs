//! Every policy and command example in the book is checked against the code: TOML blocks that
//! are policies load, `factory …` command lines in shell and YAML blocks parse, and the tests
//! the threat model names exist.

use std::path::PathBuf;

use factory_tests::workspace_root;

fn chapters() -> Vec<(String, String)> {
    let dir = workspace_root().join("book/src");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 10, "the book has its chapters");
    out
}

/// The fenced blocks of a chapter: (language, first line number, text).
fn blocks(text: &str) -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match (&mut current, fence) {
            (None, true) => {
                let lang = line.trim_start().trim_start_matches('`').trim().to_owned();
                current = Some((lang, i + 2, String::new()));
            }
            (Some(_), true) => out.push(current.take().unwrap()),
            (Some((_, _, body)), false) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, false) => {}
        }
    }
    out
}

/// Splits a shell command line into words (quotes, no expansion), up to a comment, pipe,
/// redirection or `&&`.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '#' | '|' | '>' | ';' | '&') if !in_word || c != '#' => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

#[test]
fn policies_in_the_book_load() {
    let mut checked = 0;
    for (file, text) in chapters() {
        for (lang, line, body) in blocks(&text) {
            if lang == "toml" && body.contains("[runner.") {
                if let Err(e) = factory_runner::Config::parse(&format!("{file}:{line}"), &body) {
                    panic!("{file}:{line}: the runners.toml example does not load: {e}");
                }
                checked += 1;
            }
            if lang == "toml" && body.contains("version = 1") {
                if let Err(e) = factory_policy::Policy::parse(&format!("{file}:{line}"), &body) {
                    panic!("{file}:{line}: the policy example does not load: {e:?}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 1, "the book shows at least one whole policy");
}

#[test]
fn commands_in_the_book_parse() {
    let mut checked = 0;
    for (file, text) in chapters() {
        if file == "cli-reference.md" {
            continue;
        }
        for (lang, line, body) in blocks(&text) {
            if !matches!(lang.as_str(), "sh" | "bash" | "yaml") {
                continue;
            }
            for (n, l) in body.lines().enumerate() {
                let l = l.trim();
                let command = if lang == "yaml" {
                    ["run: ", "entry: ", "- "]
                        .iter()
                        .find_map(|p| l.strip_prefix(p))
                        .filter(|c| c.starts_with("factory "))
                } else {
                    Some(l.strip_prefix("$ ").unwrap_or(l)).filter(|c| c.starts_with("factory "))
                };
                let Some(command) = command else { continue };
                let args = words(command);
                if let Err(e) = factory_cli::check_arguments(&args) {
                    panic!("{file}:{}: `{command}` does not parse:\n{e}", line + n);
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} commands found");
}

#[test]
fn the_tests_the_threat_model_names_exist() {
    let text = std::fs::read_to_string(workspace_root().join("book/src/threat-model.md")).unwrap();
    let mut sources: Vec<PathBuf> = Vec::new();
    for dir in [
        "tests/tests",
        "crates/factory-trust/tests",
        "crates/factory-policy/tests",
        "crates/factory-shiftlog/tests",
    ] {
        for e in std::fs::read_dir(workspace_root().join(dir))
            .unwrap()
            .flatten()
        {
            if e.path().extension().is_some_and(|x| x == "rs") {
                sources.push(e.path());
            }
        }
    }
    let mut checked = 0;
    for cell in text.split('`') {
        let Some((file, test)) = cell.split_once("::") else {
            continue;
        };
        // `factory_gate::decide` and the like name code, not tests.
        if file.starts_with("factory_")
            || !file.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            || !test
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        {
            continue;
        }
        let Some(path) = sources
            .iter()
            .find(|p| p.file_stem().is_some_and(|s| s == file))
        else {
            panic!("threat model: no test file `{file}.rs`");
        };
        let source = std::fs::read_to_string(path).unwrap();
        assert!(
            source.contains(&format!("#[test]\nfn {test}()")),
            "threat model: `{file}::{test}` is not a test in {}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} tests named");
}
