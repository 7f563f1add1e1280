//! The compiled policy: tiers, rules, people and agent recognition.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::classify::Origin;
use crate::glob::PathIndex;
use crate::problem::{PolicyError, Problem};
use factory_change::ChangeKind;

/// Id of the built-in rule that gives every change under `.factory/` the highest tier.
pub const GOVERNANCE_RULE_ID: &str = "factory.governance";
/// Rule id named in the evidence of a changed file that no file rule matched.
pub const DEFAULT_RULE_ID: &str = "factory.default-tier";
/// The paths the governance rule covers (gitignore syntax).
pub(crate) const GOVERNANCE_PATHS: &[&str] = &["/.factory"];

/// Position of a tier in the policy's order: a higher id is a higher risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TierId(pub usize);

/// A risk tier.
#[derive(Debug, Clone, Serialize)]
pub struct Tier {
    /// Unique name, e.g. `hard-stop`.
    pub name: String,
    /// What the tier means.
    pub description: String,
    /// Approvals needed before a change of this tier lands.
    pub requires: Vec<Requirement>,
    /// Validation stamps needed before a change of this tier lands (`{ stamp = "holdback",
    /// min = 0.9 }`).
    pub stamps: Vec<StampRequirement>,
    /// Each requirement must be met by a different person.
    pub distinct_people: bool,
    /// Agents may not produce changes of this tier.
    pub forbid_agent: bool,
}

/// One approval requirement of a tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// The role whose holders can approve.
    pub role: String,
    /// How many different people holding the role must approve.
    pub count: u32,
}

/// A stamp a tier requires: the latest valid stamp of the dimension on the change, by a
/// holder of the role [`VALIDATOR_ROLE`], scores at least `min`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StampRequirement {
    /// The dimension (`holdback`, `reliability`, `security`, …).
    pub dimension: String,
    /// The lowest score that counts, in [0, 1].
    pub min: f64,
}

/// The role whose holders may stamp.
pub const VALIDATOR_ROLE: &str = "validator";

/// The line patterns of one rule side (added or removed lines), checked when the policy is
/// loaded and compiled when first needed: most commands and hooks touch few of a policy's
/// content rules, and compiling them all costs more than judging one commit.
#[derive(Debug, Clone)]
pub(crate) struct LinePatterns {
    /// The patterns as written (valid: the decoder parsed each one, or they are a shipped
    /// policy's, which `shipped_line_patterns_parse_and_compile` checks).
    pub(crate) patterns: Vec<String>,
    /// Literals one of which every match holds (from regex-syntax's literal extraction, see
    /// `decode::required_of`), when the patterns have a finite set of them: text holding none
    /// of them cannot match, which spares compiling the patterns at all. Found when first
    /// needed.
    required: std::sync::OnceLock<Option<Vec<Vec<u8>>>>,
    /// How many texts the literal pre-check has looked at: after a few, compiling the set is
    /// cheaper than scanning for every literal of every file of a long history.
    prechecks: std::sync::Arc<std::sync::atomic::AtomicU32>,
    /// All patterns, multi-line, for a quick pass over a file's joined lines.
    set: std::sync::OnceLock<Option<regex::bytes::RegexSet>>,
    /// Each pattern alone, for the per-line pass that finds the line; each compiled when a
    /// text first matches it in the set.
    each: Vec<std::sync::OnceLock<Option<regex::bytes::Regex>>>,
}

impl LinePatterns {
    pub(crate) fn new(patterns: Vec<String>) -> LinePatterns {
        LinePatterns {
            each: (0..patterns.len())
                .map(|_| std::sync::OnceLock::new())
                .collect(),
            patterns,
            required: std::sync::OnceLock::new(),
            prechecks: Default::default(),
            set: std::sync::OnceLock::new(),
        }
    }

    /// Whether `text` surely holds no match, decided without compiling the patterns: none of
    /// their required literals occurs in it. Once the patterns are compiled, or for long texts,
    /// the compiled set is the faster test and this says false.
    pub(crate) fn surely_absent(&self, text: &[u8]) -> bool {
        use bstr::ByteSlice;
        const SCAN_LIMIT: usize = 64 * 1024;
        const PRECHECKS: u32 = 16;
        if self.set.get().is_some() || text.len() > SCAN_LIMIT {
            return false;
        }
        let required = self
            .required
            .get_or_init(|| crate::decode::required_of(&self.patterns));
        match required {
            Some(literals)
                if self
                    .prechecks
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    < PRECHECKS =>
            {
                // The literals are ASCII lower case (see `decode::required_literals`): the text
                // is searched lowered too, which can only find more.
                let lowered = text.to_ascii_lowercase();
                !literals.iter().any(|l| lowered.find(l).is_some())
            }
            _ => false,
        }
    }

    /// Which patterns match somewhere in `text`; None if the set cannot be compiled (a size
    /// limit), which callers treat as a match of every pattern (fail closed).
    pub(crate) fn matching(&self, text: &[u8]) -> Option<Vec<usize>> {
        let set = self.set.get_or_init(|| {
            regex::bytes::RegexSetBuilder::new(&self.patterns)
                .multi_line(true)
                .build()
                .ok()
        });
        set.as_ref().map(|s| s.matches(text).into_iter().collect())
    }

    /// Whether pattern `i` matches `line` (true if it cannot be compiled: fail closed).
    pub(crate) fn is_match(&self, i: usize, line: &[u8]) -> bool {
        let Some((cell, pattern)) = self.each.get(i).zip(self.patterns.get(i)) else {
            return true;
        };
        cell.get_or_init(|| regex::bytes::Regex::new(pattern).ok())
            .as_ref()
            .is_none_or(|re| re.is_match(line))
    }
}

/// A rule: conditions and the tier they give. Conditions are kept as written, for display.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// Stable id.
    pub id: String,
    /// The tier the rule gives.
    #[serde(skip)]
    pub tier: TierId,
    /// Why the rule exists.
    pub description: String,
    /// Path patterns as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Added-line regexes as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added_lines: Vec<String>,
    /// Removed-line regexes as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_lines: Vec<String>,
    /// Regexes for a changed line of either side (added or removed), as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed_lines: Vec<String>,
    /// Which parts of a changed line `added-lines` and `removed-lines` read: code, comments,
    /// string literals (all of them unless `lines-in` says otherwise).
    #[serde(skip_serializing_if = "is_any")]
    pub lines_in: crate::lexer::Parts,
    /// The rule fires on a file only when every changed line lies in these parts (blank lines
    /// aside): `["comments"]` for a comment-only edit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines_only_in: Option<crate::lexer::Parts>,
    /// Change kinds.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "kind_names")]
    pub kinds: Vec<ChangeKind>,
    /// Minimum number of files changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_files_changed: Option<u64>,
    /// Minimum number of lines added plus removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_lines_changed: Option<u64>,
    /// Who must have made the commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// Merges only (`true`) or non-merges only (`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge: Option<bool>,
    /// Commit message regex as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Trailer key that must be present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trailer: Option<String>,
    /// Regex a value of `trailer` must match, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trailer_value: Option<String>,
    /// True for the built-in governance rule.
    pub builtin: bool,
    /// 1-based line of the rule in its policy file (None for built-ins).
    #[serde(skip)]
    pub line: Option<usize>,

    #[serde(skip)]
    pub(crate) path_list: Option<usize>,
    #[serde(skip)]
    pub(crate) added: Option<LinePatterns>,
    #[serde(skip)]
    pub(crate) removed: Option<LinePatterns>,
    #[serde(skip)]
    pub(crate) changed: Option<LinePatterns>,
    #[serde(skip)]
    pub(crate) message_re: Option<regex::Regex>,
    #[serde(skip)]
    pub(crate) trailer_value_re: Option<regex::Regex>,
}

fn kind_names<S: serde::Serializer>(kinds: &[ChangeKind], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(kinds.iter().map(|k| k.name()))
}

impl Rule {
    /// Whether the rule looks at each changed file (paths, lines or kinds).
    pub fn has_file_conditions(&self) -> bool {
        self.path_list.is_some()
            || self.added.is_some()
            || self.removed.is_some()
            || self.changed.is_some()
            || self.lines_only_in.is_some()
            || !self.kinds.is_empty()
    }

    /// Whether the rule needs the added or removed lines of the files it covers.
    pub fn needs_lines(&self) -> bool {
        self.has_line_patterns() || self.lines_only_in.is_some() || self.reads_touched_lines()
    }

    /// Whether the rule reads lines by their parts (code, comments, strings, tests).
    pub fn needs_lexing(&self) -> bool {
        self.needs_lines() && (!self.lines_in.is_any() || self.lines_only_in.is_some())
    }

    /// Whether the rule has `added-lines`, `removed-lines` or `changed-lines`.
    pub fn has_line_patterns(&self) -> bool {
        self.added.is_some() || self.removed.is_some() || self.changed.is_some()
    }

    /// A rule with `lines-in` and no line patterns: it fires on a file only when a changed line
    /// has something in those parts (or the change is not one of lines: a rename, a binary).
    pub fn reads_touched_lines(&self) -> bool {
        !self.has_line_patterns() && !self.lines_in.is_any()
    }
}

/// How agent commits are recognised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Agents {
    /// Trailer keys whose presence marks an agent commit.
    pub trailers: Vec<String>,
    /// Author patterns as written.
    pub authors: Vec<String>,
    /// `Co-authored-by` patterns as written.
    pub co_authors: Vec<String>,
    /// Agent commits must carry a transcript note.
    pub require_transcript: bool,
    /// A commit that claims an agent must be signed by that agent's key, and a commit signed
    /// by an agent key must claim that agent (`require-verified-agents`).
    pub require_verified: bool,
    /// The agents named as principals (`[agents.NAME]`), by name.
    pub principals: std::collections::BTreeMap<String, AgentPrincipal>,
    #[serde(skip)]
    pub(crate) authors_re: Vec<regex::Regex>,
    #[serde(skip)]
    pub(crate) co_authors_re: Vec<regex::Regex>,
}

/// An agent named in the policy (`[agents.NAME]`): the keys `factory run` signs its commits
/// with. Agents hold no roles: an agent key never approves, overrides or counts as a person.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgentPrincipal {
    /// Signing keys as written (`openpgp:FPR` or an SSH public key line).
    pub keys: Vec<String>,
    /// Where each key is written in the policy file, for diagnostics.
    #[serde(skip)]
    pub key_spans: Vec<Option<std::ops::Range<usize>>>,
}

impl Agents {
    /// The principal an `Agent` trailer value (`NAME` or `NAME/VERSION`) names, if the policy
    /// names it.
    pub fn principal_of(&self, claimed: &str) -> Option<&str> {
        let name = claimed
            .split('/')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        self.principals
            .get_key_value(name.as_str())
            .map(|(k, _)| k.as_str())
    }
}

/// How transcripts are stored.
#[derive(Debug, Clone, Serialize)]
pub struct Transcripts {
    /// Largest note factory writes.
    pub max_note_bytes: u64,
    /// Keep thinking blocks.
    pub keep_thinking: bool,
    /// Entropy threshold of the high-entropy redaction.
    pub entropy_threshold: f64,
    /// Extra redaction patterns: (kind, regex).
    pub redact: Vec<(String, String)>,
}

impl Default for Transcripts {
    fn default() -> Self {
        Transcripts {
            max_note_bytes: 16 * 1024 * 1024,
            keep_thinking: true,
            entropy_threshold: 4.0,
            redact: Vec::new(),
        }
    }
}

/// What the gate guards (`[gate]`).
#[derive(Debug, Clone, Serialize)]
pub struct Gate {
    /// Protected branch patterns (names under `refs/heads/`, `*` matches within a segment,
    /// `**` across segments).
    pub protected: Vec<String>,
    /// The role of break-glass overrides.
    pub override_role: String,
    /// Human commits must carry a good signature of a person's key.
    pub require_signed_human_commits: bool,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            protected: vec!["main".into(), "master".into(), "release/*".into()],
            override_role: "override".into(),
            require_signed_human_commits: false,
        }
    }
}

impl Gate {
    /// Whether the branch `name` (without `refs/heads/`) is protected by a pattern.
    pub fn protects(&self, name: &str) -> bool {
        self.protected.iter().any(|p| branch_matches(p, name))
    }
}

/// `*` matches within a path segment, `**` any number of characters.
fn branch_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => {
                let (deep, rest) = match rest.split_first() {
                    Some((b'*', r)) => (true, r),
                    _ => (false, rest),
                };
                (0..=n.len())
                    .take_while(|&i| deep || !n[..i].contains(&b'/'))
                    .any(|i| go(rest, &n[i..]))
            }
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// A person who can approve changes.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// Contact address, informational only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Roles held.
    pub roles: Vec<String>,
    /// Signing keys as written (`openpgp:FPR` or an SSH public key line).
    pub keys: Vec<String>,
    /// Where each key is written in the policy file, for diagnostics.
    #[serde(skip)]
    pub key_spans: Vec<Option<std::ops::Range<usize>>>,
}

/// A loaded, validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Version of the policy language.
    pub version: u32,
    /// Tier for changed files no file rule matches.
    pub default_tier: TierId,
    /// Tiers, lowest risk first.
    pub tiers: Vec<Tier>,
    /// Rules; the built-in governance rule comes first.
    pub rules: Vec<Rule>,
    /// People by handle.
    pub people: BTreeMap<String, Person>,
    /// Agent recognition.
    pub agents: Agents,
    /// Transcript storage.
    pub transcripts: Transcripts,
    /// What the gate guards.
    pub gate: Gate,
    /// Warnings found while loading (the policy is usable).
    pub warnings: Vec<Problem>,
    /// Name of the file the policy came from.
    pub source_name: String,
    /// Text of the policy file.
    pub source_text: String,
    pub(crate) paths: PathIndex,
    /// Whether some rule needs line contents or counts.
    pub(crate) any_content: bool,
}

impl Policy {
    /// Parses and validates a policy; `name` is used in diagnostics.
    ///
    /// Every problem is reported at once in the error; warnings of a usable policy are kept in
    /// [`Policy::warnings`].
    pub fn parse(name: &str, text: &str) -> Result<Policy, PolicyError> {
        crate::decode::decode(name, text)
    }

    /// The tier with this id.
    pub fn tier(&self, id: TierId) -> &Tier {
        &self.tiers[id.0]
    }

    /// The name of the tier with this id.
    pub fn tier_name(&self, id: TierId) -> &str {
        &self.tiers[id.0].name
    }

    /// The highest tier.
    pub fn highest_tier(&self) -> TierId {
        TierId(self.tiers.len() - 1)
    }

    /// The lowest tier.
    pub fn lowest_tier(&self) -> TierId {
        TierId(0)
    }

    /// Finds a tier by name.
    pub fn tier_by_name(&self, name: &str) -> Option<TierId> {
        self.tiers.iter().position(|t| t.name == name).map(TierId)
    }

    /// Finds a rule by id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The handles of the people holding `role`.
    pub fn holders(&self, role: &str) -> impl Iterator<Item = &str> {
        self.people
            .iter()
            .filter(move |(_, p)| p.roles.iter().any(|r| r == role))
            .map(|(h, _)| h.as_str())
    }

    /// A problem at `span` of this policy's file (for checks made outside this crate, such as
    /// loading the keys the policy names).
    pub fn problem(
        &self,
        span: Option<std::ops::Range<usize>>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) -> Problem {
        let mut p = crate::problem::Problems::new(&self.source_name, &self.source_text);
        p.push(crate::problem::Severity::Error, span, message, label, help);
        p.list.remove(0)
    }

    /// Whether any rule reads file content (line regexes or line counts).
    pub fn has_content_rules(&self) -> bool {
        self.any_content
    }

    /// Whether any rule asks for renames or copies, so the git layer should detect them.
    pub fn wants_rename_detection(&self) -> bool {
        self.any_content
            || self.rules.iter().any(|r| {
                r.kinds
                    .iter()
                    .any(|k| matches!(k, ChangeKind::Rename | ChangeKind::Copy))
            })
    }

    /// Whether any rule asks for copies (a costlier search than renames).
    pub fn wants_copy_detection(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.kinds.contains(&ChangeKind::Copy))
    }

    /// Whether any rule asks about binary content, which needs blobs to be read.
    pub fn wants_binary_detection(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.kinds.contains(&ChangeKind::Binary))
    }
}

fn is_any(parts: &crate::lexer::Parts) -> bool {
    parts.is_any()
}

#[cfg(test)]
mod tests {
    use super::branch_matches;

    #[test]
    fn branch_patterns() {
        assert!(branch_matches("main", "main"));
        assert!(!branch_matches("main", "main2"));
        assert!(branch_matches("release/*", "release/1.0"));
        assert!(!branch_matches("release/*", "release/1.0/hotfix"));
        assert!(branch_matches("release/**", "release/1.0/hotfix"));
        assert!(!branch_matches("release/*", "releases/1.0"));
        assert!(branch_matches("*", "feature"));
        assert!(!branch_matches("*", "feature/x"));
    }

    /// The shipped policies' line patterns are not parsed when they load (decode trusts
    /// them): this is the check that makes that safe, and that each has its literals.
    #[test]
    fn shipped_line_patterns_parse_and_compile() {
        for shipped in crate::embedded::SHIPPED_POLICIES {
            let policy = crate::Policy::parse(shipped.name, shipped.text).unwrap();
            for rule in &policy.rules {
                for side in [&rule.added, &rule.removed, &rule.changed]
                    .into_iter()
                    .flatten()
                {
                    for (i, p) in side.patterns.iter().enumerate() {
                        assert!(
                            regex_syntax::ParserBuilder::new()
                                .utf8(false)
                                .build()
                                .parse(p)
                                .is_ok(),
                            "{}: {} `{p}`",
                            shipped.name,
                            rule.id
                        );
                        assert!(side.each[i].get().is_none(), "compiled only when needed");
                        assert!(regex::bytes::Regex::new(p).is_ok(), "{} `{p}`", rule.id);
                    }
                    assert!(
                        side.matching(b"").is_some(),
                        "{}: the set compiles",
                        rule.id
                    );
                }
            }
        }
    }
}
