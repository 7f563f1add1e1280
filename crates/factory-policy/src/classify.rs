//! Classification: which rules fire on a commit, with what evidence, and the resulting tier.

use bstr::{BStr, BString, ByteSlice};
use serde::Serialize;

use crate::glob::Scratch;
use crate::model::{DEFAULT_RULE_ID, LinePatterns, Policy, Rule, TierId};
use factory_change::{CommitFacts, ContentNeed, ContentNeeds, FileChange, LineSide, Lines};

/// Who made a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// An AI agent (recognised by the policy's `[agents]` section).
    Agent,
    /// A person.
    Human,
}

impl Origin {
    /// `agent` or `human`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Agent => "agent",
            Origin::Human => "human",
        }
    }
}

/// Why a rule fired: the rule, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The rule id (or [`DEFAULT_RULE_ID`] for files no rule matched).
    pub rule: String,
    /// The tier the rule gives.
    pub tier: TierId,
    /// The file, for file conditions.
    pub path: Option<BString>,
    /// The line number (in the new file for added lines, in the old file for removed lines).
    pub line: Option<u32>,
    /// Which side `line` is on.
    pub side: Option<LineSide>,
    /// The matched line, trimmed, or a short description for commit conditions.
    pub text: Option<String>,
}

/// The classification of one commit.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The highest tier any rule gives (the policy's default tier for unmatched files).
    pub tier: TierId,
    /// Agent or human.
    pub origin: Origin,
    /// Why the commit is taken to be an agent's.
    pub origin_reason: Option<String>,
    /// The agent's name and version when known (from the trailer, author or co-author).
    pub agent: Option<String>,
    /// Every rule that fired, in rule order.
    pub evidence: Vec<Evidence>,
}

const MAX_TEXT: usize = 160;

fn trimmed(text: &BStr) -> String {
    let s = text.to_str_lossy();
    let s = s.trim();
    if s.len() <= MAX_TEXT {
        return s.to_owned();
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The first of `lines` that one of `patterns` matches in `parts`. A line that differs from
/// the line it replaced on the `other` side only in its comments (a trailing comment edited
/// beside the same code and strings) changed nothing a rule that does not read comments
/// reads, and is passed over — unless the two lines end in different lexer states (a comment
/// opened on that line swallows what follows) or the change moves the state of unchanged
/// lines.
fn first_match<'a>(
    patterns: &LinePatterns,
    lines: &'a Lines,
    other: Option<&Lines>,
    parts: crate::lexer::Parts,
    path: &[u8],
) -> Option<(u32, &'a BStr)> {
    if lines.is_empty() || patterns.surely_absent(lines.text()) {
        return None;
    }
    let candidates: Vec<usize> = patterns
        .matching(lines.text())
        .unwrap_or_else(|| (0..patterns.patterns.len()).collect());
    if candidates.is_empty() {
        return None;
    }
    if parts.is_any() {
        return lines
            .iter()
            .find(|(_, line)| candidates.iter().any(|&i| patterns.is_match(i, line)));
    }
    // Only the parts of each line the rule reads (code, comments, strings, test modules).
    let syntax = crate::lexer::syntax_of(path);
    let other = other.filter(|o| !parts.comments && !lines.shifts_state() && !o.shifts_state());
    let uncommented = crate::lexer::Parts {
        comments: false,
        ..crate::lexer::Parts::ANY
    };
    let same_but_comments = |i: usize, line: &BStr, start| {
        other
            .and_then(|o| o.get(o.counterpart(lines, i)?))
            .is_some_and(|(_, was, was_start)| {
                let view = |l: &BStr, s| {
                    crate::lexer::select(l, syntax.as_ref(), uncommented, s)
                        .trim_end()
                        .to_owned()
                };
                view(was, was_start) == view(line, start)
                    && crate::lexer::end_state(was, syntax.as_ref(), was_start)
                        == crate::lexer::end_state(line, syntax.as_ref(), start)
            })
    };
    lines
        .iter_lexed()
        .enumerate()
        .find(|(i, (_, line, start))| {
            let view = crate::lexer::select(line, syntax.as_ref(), parts, *start);
            candidates
                .iter()
                .any(|&c| patterns.is_match(c, view.as_bytes().as_bstr()))
                && !same_but_comments(*i, line, *start)
        })
        .map(|(_, (n, line, _))| (n, line))
}

/// What the changed lines of one side hold in `parts`, line by line, exactly but for trailing
/// whitespace (indentation and spacing are code: Python blocks, shell tests, string contents),
/// lines with nothing there left out; lazily, so a comparison stops at the first difference.
fn views<'a>(
    lines: &'a Lines,
    syntax: Option<&'a crate::lexer::Syntax>,
    parts: crate::lexer::Parts,
) -> impl Iterator<Item = (u32, String)> + 'a {
    lines.iter_lexed().filter_map(move |(n, line, start)| {
        let view = crate::lexer::select(line, syntax, parts, start);
        let view = view.trim_end();
        (!view.trim_start().is_empty()).then(|| (n, view.to_owned()))
    })
}

/// Whether the added and removed lines hold the same in `parts`, left in place: equal texts,
/// pair by pair, each added line where its removed counterpart was (its new number is its old
/// number shifted by the changed lines before it). Code that moved is a change; a comment
/// edited beside unchanged code is not. None when they do; else the first line that differs.
fn first_difference(
    added: &Lines,
    removed: &Lines,
    syntax: Option<&crate::lexer::Syntax>,
    parts: crate::lexer::Parts,
) -> Option<u32> {
    let (an, rn) = (added.numbers(), removed.numbers());
    let mut a = views(added, syntax, parts);
    let mut r = views(removed, syntax, parts);
    loop {
        match (a.next(), r.next()) {
            (None, None) => return None,
            (Some((n, _)), None) | (None, Some((n, _))) => return Some(n),
            (Some((n, x)), Some((o, y))) => {
                let added_before = an.partition_point(|m| *m < n) as i64;
                let removed_before = rn.partition_point(|m| *m < o) as i64;
                if x != y || i64::from(n) != i64::from(o) + added_before - removed_before {
                    return Some(n);
                }
            }
        }
    }
}

/// Whether the change of `file` lies in `parts`: there is a changed line (blank lines aside),
/// and what the lines hold outside `parts` is the same before and after (nothing, when every
/// changed line lies in `parts`; the same code, when only a trailing comment was edited).
fn only_in(file: &FileChange, parts: crate::lexer::Parts) -> bool {
    let Some(syntax) = crate::lexer::syntax_of(&file.path) else {
        return false;
    };
    let (Some(added), Some(removed)) = (&file.added, &file.removed) else {
        return false;
    };
    let blank = |l: &Lines| l.iter().all(|(_, line)| line.trim().is_empty());
    if (blank(added) && blank(removed))
        || added.shifts_state()
        || removed.shifts_state()
        || toolchain_comment(file)
    {
        return false;
    }
    first_difference(added, removed, Some(&syntax), parts.complement()).is_none()
}

/// A changed comment that is an instruction to the toolchain, never only a comment: an
/// encoding declaration among a file's first two lines (`# -*- coding: … -*-`: under another
/// encoding the same bytes are other code), a `#!` interpreter line, Go's `//go:` and
/// `//line` directives and `//export`, cgo's `#cgo`, JSX's `@jsx` pragmas.
fn toolchain_comment(file: &FileChange) -> bool {
    let ext = file.path.rsplit(|b| *b == b'.').next().unwrap_or(b"");
    let go = ext == b"go";
    let js = matches!(ext, b"js" | b"jsx" | b"ts" | b"tsx" | b"mjs" | b"cjs");
    [&file.added, &file.removed].into_iter().flatten().any(|l| {
        l.iter().any(|(n, line)| {
            let t = line.trim_start();
            (n <= 2 && (line.contains_str("coding:") || line.contains_str("coding=")))
                || (n == 1 && t.starts_with(b"#!"))
                || (go
                    && (t.starts_with(b"//go:")
                        || t.starts_with(b"//line ")
                        || t.starts_with(b"//export ")
                        || line.contains_str("#cgo")))
                || (js && line.contains_str("@jsx"))
        })
    })
}

/// For a rule with `lines-in` and no line patterns: the first changed line whose content in
/// `parts` differs between the two sides — None when the change leaves those parts as they
/// were (only comments, strings or test-module lines changed). A change that is not one of
/// lines (a rename, a mode change, a binary file, content not read) is `Some(0)`: such a rule
/// never lets it pass.
fn touches(file: &FileChange, parts: crate::lexer::Parts) -> Option<u32> {
    let syntax = crate::lexer::syntax_of(&file.path);
    let (Some(added), Some(removed)) = (&file.added, &file.removed) else {
        return Some(0);
    };
    if file.binary || (added.is_empty() && removed.is_empty()) {
        return Some(0);
    }
    if added.shifts_state() || removed.shifts_state() || toolchain_comment(file) {
        // The unchanged lines after the change read differently: they changed too.
        return added
            .numbers()
            .first()
            .or(removed.numbers().first())
            .copied();
    }
    first_difference(added, removed, syntax.as_ref(), parts)
}

/// A policy with per-thread scratch space; one per worker thread.
#[derive(Debug)]
pub struct Classifier<'p> {
    policy: &'p Policy,
    scratch: Scratch,
    matched: Vec<bool>,
    one: Vec<bool>,
}

impl Policy {
    /// A classifier for this policy. Create one per thread and reuse it across commits.
    pub fn classifier(&self) -> Classifier<'_> {
        Classifier {
            policy: self,
            scratch: Scratch::default(),
            matched: Vec::new(),
            one: Vec::new(),
        }
    }

    /// Decides whether a commit is an agent's, why, and which agent.
    pub fn origin(&self, commit: &CommitFacts) -> (Origin, Option<String>, Option<String>) {
        let agents = &self.agents;
        for key in &agents.trailers {
            if let Some(value) = commit.trailer_values(key).next() {
                return (
                    Origin::Agent,
                    Some(format!("trailer `{key}: {value}`")),
                    Some(value.to_owned()).filter(|v| !v.is_empty()),
                );
            }
        }
        for (re, raw) in agents.authors_re.iter().zip(&agents.authors) {
            if re.is_match(&commit.author) {
                let name = commit.author.split(" <").next().unwrap_or("").to_owned();
                return (
                    Origin::Agent,
                    Some(format!("author matches `{raw}`")),
                    Some(name),
                );
            }
        }
        for value in commit.trailer_values("Co-authored-by") {
            for (re, raw) in agents.co_authors_re.iter().zip(&agents.co_authors) {
                if re.is_match(value) {
                    let name = value.split(" <").next().unwrap_or(value).to_owned();
                    return (
                        Origin::Agent,
                        Some(format!("co-author `{value}` matches `{raw}`")),
                        Some(name),
                    );
                }
            }
        }
        (Origin::Human, None, None)
    }
}

impl ContentNeeds for Classifier<'_> {
    fn content_need(&mut self, file: &FileChange) -> ContentNeed {
        Classifier::content_need(self, file)
    }
}

impl Classifier<'_> {
    fn match_paths(&mut self, file: &FileChange) {
        let index = &self.policy.paths;
        index.matching(&file.path, &mut self.scratch, &mut self.matched);
        if let Some(old) = &file.old_path {
            index.matching(old, &mut self.scratch, &mut self.one);
            for (m, o) in self.matched.iter_mut().zip(&self.one) {
                *m |= *o;
            }
        }
    }

    fn covers(&self, rule: &Rule, file: &FileChange) -> bool {
        rule.path_list.is_none_or(|l| self.matched[l])
            && (rule.kinds.is_empty() || rule.kinds.iter().any(|k| file.is_kind(*k)))
    }

    /// How much content of this file the rules need. A rename or copy is judged on both paths.
    pub fn content_need(&mut self, file: &FileChange) -> ContentNeed {
        if !self.policy.any_content {
            return ContentNeed::None;
        }
        self.match_paths(file);
        let mut need = ContentNeed::None;
        for rule in &self.policy.rules {
            if rule.path_list.is_some_and(|l| !self.matched[l]) {
                continue;
            }
            if rule.needs_lines() {
                // Reading lines by their parts needs the whole file lexed; `any` does not.
                if rule.needs_lexing() {
                    return ContentNeed::LexedLines;
                }
                need = ContentNeed::Lines;
                continue;
            }
            if rule.min_lines_changed.is_some() {
                need = need.max(ContentNeed::Counts);
            }
        }
        need
    }

    fn commit_conditions_hold(&self, rule: &Rule, commit: &CommitFacts, origin: Origin) -> bool {
        rule.origin.is_none_or(|o| o == origin)
            && rule.merge.is_none_or(|m| m == (commit.parents > 1))
            && rule
                .message_re
                .as_ref()
                .is_none_or(|re| re.is_match(&commit.message))
            && rule.trailer.as_ref().is_none_or(|key| {
                let mut values = commit.trailer_values(key).peekable();
                match &rule.trailer_value_re {
                    None => values.peek().is_some(),
                    Some(re) => values.any(|v| re.is_match(v)),
                }
            })
    }

    /// Classifies one commit. `files` must carry lines (or counts) wherever
    /// [`Classifier::content_need`] asked for them.
    pub fn classify(&mut self, commit: &CommitFacts, files: &[FileChange]) -> Verdict {
        let policy = self.policy;
        let (origin, origin_reason, agent) = policy.origin(commit);
        let commit_ok: Vec<bool> = policy
            .rules
            .iter()
            .map(|r| self.commit_conditions_hold(r, commit, origin))
            .collect();

        struct Acc {
            files: u64,
            lines: u64,
            evidence: Vec<Evidence>,
            covered: Vec<usize>,
        }
        let mut acc: Vec<Acc> = policy
            .rules
            .iter()
            .map(|_| Acc {
                files: 0,
                lines: 0,
                evidence: Vec::new(),
                covered: Vec::new(),
            })
            .collect();

        for (fi, file) in files.iter().enumerate() {
            self.match_paths(file);
            for (ri, rule) in policy.rules.iter().enumerate() {
                if !commit_ok[ri] || !rule.has_file_conditions() || !self.covers(rule, file) {
                    continue;
                }
                if let Some(parts) = rule.lines_only_in
                    && !only_in(file, parts)
                {
                    continue;
                }
                if rule.reads_touched_lines() && touches(file, rule.lines_in).is_none() {
                    continue;
                }
                let mut hit: Option<(u32, LineSide, String)> = None;
                if let Some(p) = &rule.added {
                    match file.added.as_ref().and_then(|l| {
                        first_match(p, l, file.removed.as_ref(), rule.lines_in, &file.path)
                    }) {
                        Some((n, text)) => hit = Some((n, LineSide::Added, trimmed(text))),
                        None => continue,
                    }
                }
                if let Some(p) = &rule.removed {
                    match file.removed.as_ref().and_then(|l| {
                        first_match(p, l, file.added.as_ref(), rule.lines_in, &file.path)
                    }) {
                        Some((n, text)) => {
                            hit = hit.or(Some((n, LineSide::Removed, trimmed(text))));
                        }
                        None => continue,
                    }
                }
                if let Some(p) = &rule.changed {
                    let on = |lines: &Option<Lines>, other: &Option<Lines>, side| {
                        lines
                            .as_ref()
                            .and_then(|l| {
                                first_match(p, l, other.as_ref(), rule.lines_in, &file.path)
                            })
                            .map(|(n, text)| (n, side, trimmed(text)))
                    };
                    match on(&file.added, &file.removed, LineSide::Added)
                        .or_else(|| on(&file.removed, &file.added, LineSide::Removed))
                    {
                        Some(found) => hit = hit.or(Some(found)),
                        None => continue,
                    }
                }
                let a = &mut acc[ri];
                a.files += 1;
                a.lines += file.lines_changed().unwrap_or(0);
                a.covered.push(fi);
                let (line, side, text) = match hit {
                    Some((n, side, text)) => (Some(n), Some(side), Some(text)),
                    None => (None, None, None),
                };
                a.evidence.push(Evidence {
                    rule: rule.id.clone(),
                    tier: rule.tier,
                    path: Some(file.path.clone()),
                    line,
                    side,
                    text,
                });
            }
        }

        let mut evidence = Vec::new();
        let mut covered = vec![false; files.len()];
        let mut tier: Option<TierId> = None;
        for (ri, rule) in policy.rules.iter().enumerate() {
            if !commit_ok[ri] {
                continue;
            }
            let a = &mut acc[ri];
            if !rule.has_file_conditions() {
                a.files = files.len() as u64;
                a.lines = files.iter().filter_map(FileChange::lines_changed).sum();
            }
            let sized = rule.min_files_changed.is_none_or(|n| a.files >= n)
                && rule.min_lines_changed.is_none_or(|n| a.lines >= n);
            let fired = sized && (!rule.has_file_conditions() || a.files > 0);
            if !fired {
                continue;
            }
            tier = tier.max(Some(rule.tier));
            for &fi in &a.covered {
                covered[fi] = true;
            }
            if rule.has_file_conditions() {
                evidence.append(&mut a.evidence);
            } else {
                evidence.push(Evidence {
                    rule: rule.id.clone(),
                    tier: rule.tier,
                    path: None,
                    line: None,
                    side: None,
                    text: Some(commit_description(rule, a.files, a.lines)),
                });
            }
        }
        let unmatched: Vec<usize> = (0..files.len()).filter(|&i| !covered[i]).collect();
        if let Some(&first) = unmatched.first() {
            tier = tier.max(Some(policy.default_tier));
            let text = match unmatched.len() {
                1 => "no rule matches this file".to_owned(),
                n => format!("no rule matches this file and {} more", n - 1),
            };
            evidence.push(Evidence {
                rule: DEFAULT_RULE_ID.to_owned(),
                tier: policy.default_tier,
                path: Some(files[first].path.clone()),
                line: None,
                side: None,
                text: Some(text),
            });
        }
        Verdict {
            tier: tier.unwrap_or(policy.lowest_tier()),
            origin,
            origin_reason,
            agent,
            evidence,
        }
    }
}

fn commit_description(rule: &Rule, files: u64, lines: u64) -> String {
    let mut parts = Vec::new();
    if let Some(o) = rule.origin {
        parts.push(format!("{} commit", o.as_str()));
    }
    if let Some(m) = rule.merge {
        parts.push(if m { "merge" } else { "not a merge" }.to_owned());
    }
    if let Some(m) = &rule.message {
        parts.push(format!("message matches `{m}`"));
    }
    if let Some(t) = &rule.trailer {
        parts.push(match &rule.trailer_value {
            Some(v) => format!("trailer `{t}` matches `{v}`"),
            None => format!("trailer `{t}` present"),
        });
    }
    if rule.min_files_changed.is_some() {
        parts.push(format!("{files} files changed"));
    }
    if rule.min_lines_changed.is_some() {
        parts.push(format!("{lines} lines changed"));
    }
    parts.join(", ")
}

/// Why a rule did or did not fire on one file (see [`Classifier::explain`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum Outcome {
    /// It fired, at this line when a line rule fired.
    Fired {
        /// The line, for a line rule.
        line: Option<u32>,
        /// Its text.
        text: Option<String>,
    },
    /// The file is not in the rule's `paths`.
    OutOfScope,
    /// The file is in the rule's `paths` but a `!` pattern excludes it.
    Excluded {
        /// The excluding pattern.
        pattern: String,
    },
    /// The file is not of the rule's `kinds`.
    OtherKind,
    /// No changed line matched.
    NoLine,
    /// A rule of paths that reads only some parts of lines (`lines-in`): no changed line has
    /// anything in them (a comment-only edit, say, or one inside a test module).
    NoLineInParts,
    /// A changed line matched, but only in a part of the line the rule does not read (a
    /// comment or a string).
    OutsideParts {
        /// The line.
        line: u32,
    },
    /// A changed line matched, but it differs from the line it replaced only in its comments
    /// (the code and strings the rule reads are as they were).
    CommentEdit {
        /// The line.
        line: u32,
    },
}

/// One rule's outcome on one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Trace {
    /// The rule.
    pub rule: String,
    /// Its tier.
    pub tier: TierId,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Classifier<'_> {
    /// For one file, every rule with file conditions and why it fired or not: out of its paths,
    /// excluded by a `!` pattern (named), of another kind, no matching line, or a match only in
    /// a comment or string the rule does not read. Commit conditions are not traced.
    pub fn explain(&mut self, file: &FileChange) -> Vec<Trace> {
        self.match_paths(file);
        let policy = self.policy;
        let mut out = Vec::new();
        for rule in &policy.rules {
            if !rule.has_file_conditions() {
                continue;
            }
            let outcome = if rule.path_list.is_some_and(|l| !self.matched[l]) {
                match excluding_pattern(&rule.paths, &file.path) {
                    Some(pattern) => Outcome::Excluded { pattern },
                    None => Outcome::OutOfScope,
                }
            } else if !rule.kinds.is_empty() && !rule.kinds.iter().any(|k| file.is_kind(*k)) {
                Outcome::OtherKind
            } else if rule
                .lines_only_in
                .is_some_and(|parts| !only_in(file, parts))
            {
                Outcome::NoLine
            } else if rule.reads_touched_lines() && touches(file, rule.lines_in).is_none() {
                Outcome::NoLineInParts
            } else if !rule.has_line_patterns() {
                Outcome::Fired {
                    line: None,
                    text: None,
                }
            } else {
                let sides = [
                    (&rule.added, &file.added, &file.removed),
                    (&rule.removed, &file.removed, &file.added),
                    (&rule.changed, &file.added, &file.removed),
                    (&rule.changed, &file.removed, &file.added),
                ];
                let mut outcome = Outcome::NoLine;
                for (patterns, lines, other) in sides {
                    let (Some(p), Some(lines)) = (patterns, lines) else {
                        continue;
                    };
                    if let Some((n, text)) =
                        first_match(p, lines, other.as_ref(), rule.lines_in, &file.path)
                    {
                        outcome = Outcome::Fired {
                            line: Some(n),
                            text: Some(trimmed(text)),
                        };
                        break;
                    }
                    if let Some((n, _)) = first_match(p, lines, None, rule.lines_in, &file.path) {
                        outcome = Outcome::CommentEdit { line: n };
                    } else if let Some((n, _)) =
                        first_match(p, lines, None, crate::lexer::Parts::ANY, &file.path)
                        && !matches!(outcome, Outcome::CommentEdit { .. })
                    {
                        outcome = Outcome::OutsideParts { line: n };
                    }
                }
                outcome
            };
            out.push(Trace {
                rule: rule.id.clone(),
                tier: rule.tier,
                outcome,
            });
        }
        out
    }
}

/// The `!` pattern of `paths` that decides `path` out, if one does (the last matching pattern
/// decides, as in `.gitignore`).
fn excluding_pattern(paths: &[String], path: &[u8]) -> Option<String> {
    // The last matching pattern decides; a `!` pattern only excludes what a pattern before it
    // took in.
    let mut last: Option<&String> = None;
    let mut taken = false;
    for p in paths {
        let body = p.strip_prefix('!').unwrap_or(p);
        let Ok(pattern) = crate::glob::PathPattern::compile(body) else {
            continue;
        };
        let Ok(index) = crate::glob::PathIndex::build(vec![vec![pattern]]) else {
            continue;
        };
        let mut hit = Vec::new();
        index.matching(path, &mut Scratch::default(), &mut hit);
        if hit.first() == Some(&true) {
            if p.starts_with('!') {
                if taken {
                    last = Some(p);
                }
            } else {
                taken = true;
                last = Some(p);
            }
        }
    }
    last.filter(|p| p.starts_with('!')).cloned()
}
