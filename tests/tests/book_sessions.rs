//! The book's terminal sessions are run, and what they show is what the program prints.
//!
//! A ```` ```console ```` block of a chapter is a session: `$ COMMAND` lines run (with `sh`, in
//! order, every block of a chapter in one sandbox), each followed by the output it must print
//! (standard output and error together). In the expected output `[..]` stands for any text
//! within a line and a line `...` for any number of lines; a last line `? N` is the exit status
//! the command must have (0 when there is none). `$ cd DIR` moves the session. The sandbox is
//! hermetic: its own HOME (with a git configuration naming Alice), no system git configuration,
//! UTC, and the `factory` under test first on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

use factory_tests::workspace_root;

struct Step {
    line: usize,
    command: String,
    expected: Vec<String>,
    status: i32,
}

/// The sessions of a chapter, in order.
fn sessions(text: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut inside = false;
    for (n, line) in text.lines().enumerate() {
        if !inside {
            inside = line.trim_end() == "```console";
            continue;
        }
        if line.trim_end() == "```" {
            inside = false;
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                line: n + 1,
                command: command.to_owned(),
                expected: Vec::new(),
                status: 0,
            });
        } else if let Some(step) = steps.last_mut() {
            match line.strip_prefix("? ").map(str::parse::<i32>) {
                Some(Ok(status)) => step.status = status,
                _ => step.expected.push(line.trim_end().to_owned()),
            }
        } else {
            panic!("line {}: a session starts with `$ COMMAND`", n + 1);
        }
    }
    steps
}

/// Whether `line` matches `pattern`, where `[..]` matches any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || line.len() < first.len() + last.len() || !line.ends_with(last) {
        return false;
    }
    let mut rest = &line[first.len()..line.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Whether `lines` match `patterns`, where a pattern `...` matches any number of lines.
fn lines_match(patterns: &[String], lines: &[&str]) -> bool {
    match patterns.split_first() {
        None => lines.is_empty(),
        Some((p, rest)) if p == "..." => {
            (0..=lines.len()).any(|skip| lines_match(rest, &lines[skip..]))
        }
        Some((p, rest)) => {
            !lines.is_empty() && line_matches(p, lines[0]) && lines_match(rest, &lines[1..])
        }
    }
}

fn run_chapter(chapter: &str) -> usize {
    let text = std::fs::read_to_string(workspace_root().join("book/src").join(chapter)).unwrap();
    let steps = sessions(&text);
    let sandbox = tempfile::tempdir().unwrap();
    let home = sandbox.path().join("home");
    let mut cwd = sandbox.path().join("work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::write(
        home.join(".gitconfig"),
        "[user]\n\tname = Alice Maintainer\n\temail = alice@example.com\n[init]\n\tdefaultBranch = main\n",
    )
    .unwrap();
    let factory = PathBuf::from(env!("CARGO_BIN_EXE_factory"));
    let path = format!(
        "{}:{}",
        factory.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for step in &steps {
        if let Some(dir) = step.command.strip_prefix("cd ") {
            cwd = cwd.join(dir.trim());
            assert!(cwd.is_dir(), "{chapter}:{}: no directory {dir}", step.line);
            continue;
        }
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("{} 2>&1", step.command))
            .current_dir(&cwd)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", &home)
            .env("GNUPGHOME", home.join(".gnupg"))
            .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("TZ", "UTC")
            .env("LANG", "C")
            .output()
            .unwrap();
        let printed =
            String::from_utf8_lossy(&out.stdout).replace(&*sandbox_str(sandbox.path()), "/sandbox");
        let lines: Vec<&str> = printed.lines().map(str::trim_end).collect();
        let status = out.status.code().unwrap_or(-1);
        assert!(
            status == step.status && lines_match(&step.expected, &lines),
            "{chapter}:{}: `{}` printed (exit {status}, expected {}):\n{}\n--- the book shows:\n{}",
            step.line,
            step.command,
            step.status,
            lines.join("\n"),
            step.expected.join("\n")
        );
    }
    steps.len()
}

fn sandbox_str(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn the_patterns_of_expected_output() {
    assert!(line_matches(
        "approved [..]..[..] as maintainer",
        "approved 1a..2b as maintainer"
    ));
    assert!(!line_matches(
        "approved [..] as maintainer",
        "rejected 1a as maintainer"
    ));
    let expected = ["a".to_owned(), "...".to_owned(), "z".to_owned()];
    assert!(lines_match(&expected, &["a", "b", "c", "z"]));
    assert!(lines_match(&expected, &["a", "z"]));
    assert!(!lines_match(&expected, &["a", "b"]));
    let steps = sessions("```console\n$ true\nout\n? 1\n```\n");
    assert_eq!((steps.len(), steps[0].status), (1, 1));
    assert_eq!(steps[0].expected, ["out"]);
}

#[test]
fn every_chapter_with_sessions_prints_what_it_shows() {
    let dir = workspace_root().join("book/src");
    let mut chapters: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    chapters.sort();
    let mut ran = 0;
    for chapter in &chapters {
        ran += run_chapter(chapter);
    }
    assert!(ran >= 20, "the book shows sessions: {ran} steps ran");
}
