//! From TOML text to a [`Policy`], collecting every problem with its span.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use toml_edit::{Document, Item, TableLike, Value};

use crate::classify::Origin;
use crate::glob::{PathIndex, PathPattern};
use crate::model::{
    AgentPrincipal, Agents, GOVERNANCE_PATHS, GOVERNANCE_RULE_ID, Gate, LinePatterns, Person,
    Policy, Requirement, Rule, StampRequirement, Tier, TierId, Transcripts, VALIDATOR_ROLE,
};
use crate::problem::{PolicyError, Problems, Severity};
use crate::schema;
use factory_change::ChangeKind;

type Span = Option<Range<usize>>;

/// A value with the span of its text.
struct At<T> {
    value: T,
    span: Span,
}

struct Cx {
    p: Problems,
    /// The text is one of the shipped policies, whose line patterns the test suite parses and
    /// compiles (`model::tests::shipped_line_patterns_parse_and_compile`): they are not parsed
    /// again on every load.
    shipped: bool,
}

fn is_ident(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_handle(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
        })
}

fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

fn regex_message(err: &regex::Error) -> String {
    last_line(&err.to_string())
}

fn syntax_message(err: &regex_syntax::Error) -> String {
    last_line(&err.to_string())
}

/// The last non-empty line of a regex error (the others draw the pattern with a caret).
fn last_line(text: &str) -> String {
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid regular expression");
    last.trim().trim_start_matches("error: ").to_owned()
}

fn valid_key(key: &str) -> bool {
    if let Some(fpr) = key.strip_prefix("openpgp:") {
        return (fpr.len() == 40 || fpr.len() == 64) && fpr.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let mut parts = key.split_whitespace();
    let (Some(kind), Some(data)) = (parts.next(), parts.next()) else {
        return false;
    };
    const SSH_TYPES: &[&str] = &[
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    ];
    SSH_TYPES.contains(&kind)
        && data.len() >= 16
        && data
            .trim_end_matches('=')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

impl Cx {
    fn check_keys(&mut self, table: &dyn TableLike, schema: &schema::Table, what: &str) {
        for (name, _) in table.iter() {
            if schema.keys.iter().any(|k| k.name == name) {
                continue;
            }
            let span = table.key(name).and_then(|k| k.span());
            let help = suggestion(name, schema.keys.iter().map(|k| k.name)).unwrap_or_else(|| {
                let known: Vec<_> = schema
                    .keys
                    .iter()
                    .map(|k| format!("`{}`", k.name))
                    .collect();
                format!("{what} takes: {}", known.join(", "))
            });
            self.p.error_help(
                span,
                format!("unknown key `{name}` in {what}"),
                "unknown key",
                help,
            );
        }
    }

    /// Reports every key line that is no key factory understands.
    fn check_key_lines(&mut self, keys: &[At<String>]) {
        for k in keys {
            if !valid_key(&k.value) {
                self.p.error_help(
                    k.span.clone(),
                    format!("`{}` is not a key factory understands", k.value),
                    "not a key",
                    "write `openpgp:` and a 40- or 64-digit fingerprint, or an SSH public key line such as `ssh-ed25519 AAAA... comment`",
                );
            }
        }
    }

    fn type_error(&mut self, item: &Item, key: &str, expected: &str) {
        self.p.error(
            item.span(),
            format!("`{key}` must be {expected}, not {}", item.type_name()),
            format!("expected {expected}"),
        );
    }

    fn missing(&mut self, table_span: Span, key: &str, what: &str) {
        self.p.error_help(
            table_span,
            format!("{what} has no `{key}`"),
            format!("`{key}` missing here"),
            format!("add `{key} = ...` to {what}"),
        );
    }

    fn string(&mut self, t: &dyn TableLike, key: &str) -> Option<At<String>> {
        let item = t.get(key)?;
        match item.as_str() {
            Some(s) => Some(At {
                value: s.to_owned(),
                span: item.span(),
            }),
            None => {
                self.type_error(item, key, "a string");
                None
            }
        }
    }

    fn boolean(&mut self, t: &dyn TableLike, key: &str) -> Option<bool> {
        let item = t.get(key)?;
        let b = item.as_bool();
        if b.is_none() {
            self.type_error(item, key, "a boolean");
        }
        b
    }

    fn positive(&mut self, t: &dyn TableLike, key: &str) -> Option<At<u64>> {
        let item = t.get(key)?;
        match item.as_integer() {
            Some(n) if n >= 1 => Some(At {
                value: n as u64,
                span: item.span(),
            }),
            Some(_) => {
                self.p.error(
                    item.span(),
                    format!("`{key}` must be at least 1"),
                    "too small",
                );
                None
            }
            None => {
                self.type_error(item, key, "an integer");
                None
            }
        }
    }

    fn strings(&mut self, t: &dyn TableLike, key: &str) -> Option<Vec<At<String>>> {
        let item = t.get(key)?;
        let Some(array) = item.as_array() else {
            self.type_error(item, key, "an array of strings");
            return None;
        };
        let mut out = Vec::new();
        for value in array.iter() {
            match value.as_str() {
                Some(s) => out.push(At {
                    value: s.to_owned(),
                    span: value.span(),
                }),
                None => self.p.error(
                    value.span(),
                    format!("`{key}` must hold only strings, not {}", value.type_name()),
                    "expected a string",
                ),
            }
        }
        Some(out)
    }

    /// The tables of an array of tables, written as `[[x]]` or as an array of inline tables.
    fn tables<'a>(&mut self, item: &'a Item, key: &str) -> Vec<(&'a dyn TableLike, Span)> {
        match item {
            Item::ArrayOfTables(a) => a.iter().map(|t| (t as &dyn TableLike, t.span())).collect(),
            Item::Value(Value::Array(a)) => {
                let mut out = Vec::new();
                for v in a.iter() {
                    match v.as_inline_table() {
                        Some(t) => out.push((t as &dyn TableLike, v.span())),
                        None => self.p.error(
                            v.span(),
                            format!("`{key}` must hold tables, not {}", v.type_name()),
                            "expected a table",
                        ),
                    }
                }
                out
            }
            other => {
                self.type_error(other, key, "an array of tables");
                Vec::new()
            }
        }
    }

    fn regex(&mut self, at: &At<String>, key: &str) -> Option<regex::Regex> {
        match regex::Regex::new(&at.value) {
            Ok(re) => Some(re),
            Err(e) => {
                self.p.error(
                    at.span.clone(),
                    format!("bad regular expression in `{key}`: {}", regex_message(&e)),
                    regex_message(&e),
                );
                None
            }
        }
    }

    /// Checks line patterns without compiling them (they compile when first used).
    fn line_patterns(&mut self, list: &[At<String>], key: &str) -> Option<LinePatterns> {
        if list.is_empty() {
            return None;
        }
        let mut ok = true;
        if !self.shipped {
            for at in list {
                // The syntax as regex::bytes::Regex takes it (Unicode on, UTF-8 not required).
                if let Err(e) = regex_syntax::ParserBuilder::new()
                    .utf8(false)
                    .build()
                    .parse(&at.value)
                {
                    ok = false;
                    let message = syntax_message(&e);
                    self.p.error(
                        at.span.clone(),
                        format!("bad regular expression in `{key}`: {message}"),
                        message,
                    );
                }
            }
        }
        ok.then(|| LinePatterns::new(list.iter().map(|a| a.value.clone()).collect()))
    }
}

/// The literals one of which every match of one of `patterns` holds, lowered (the pre-check
/// lowers the text too: a superset test); None when a pattern has no such set (or does not
/// parse: then it is compiled, and fails closed).
pub(crate) fn required_of(patterns: &[String]) -> Option<Vec<Vec<u8>>> {
    let parse = |p: &str| {
        regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(p)
            .ok()
    };
    let mut all = Vec::new();
    for pattern in patterns {
        let hir = parse(pattern)?;
        let probe = ascii_case_probe(pattern).and_then(|p| parse(&p));
        let lits = required_literals(probe.as_ref().unwrap_or(&hir))?;
        all.extend(lits.into_iter().map(|l| l.to_ascii_lowercase()));
    }
    Some(all)
}

/// Rule tables per chunk when a big policy's `[[rule]]` tables are parsed a chunk at a time.
const RULES_PER_CHUNK: usize = 1000;

/// Whether a line opens a table (`[name]`, `[[name]]`), as opposed to a line of an array value.
fn is_header(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("[[")
        || (t.starts_with('[')
            && t[1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' ')))
}

/// Byte ranges of runs of `[[rule]]` tables (with their sub-tables), at most
/// [`RULES_PER_CHUNK`] rules each, for policies big enough that holding the spanned document of
/// the whole file costs hundreds of megabytes; None (parse the whole file at once) for small
/// policies and for text a line scan cannot split safely (multi-line strings).
fn rule_chunks(text: &str) -> Option<Vec<(usize, usize)>> {
    if text.contains("\'\'\'") || text.contains("\"\"\"") {
        return None;
    }
    let mut out = Vec::new();
    let mut run: Option<(usize, usize)> = None; // (start, rules)
    let mut total = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if is_header(line) {
            let t = line.trim();
            let t = t.split('#').next().unwrap_or("").trim_end();
            let rule = t == "[[rule]]";
            let sub = t.starts_with("[rule.") || t.starts_with("[[rule.");
            if rule {
                total += 1;
            }
            match (&mut run, rule, sub) {
                (_, false, true) => {}
                (Some((_, n)), true, _) if *n < RULES_PER_CHUNK => *n += 1,
                (Some((start, _)), true, _) => {
                    out.push((*start, pos));
                    run = Some((pos, 1));
                }
                (None, true, _) => run = Some((pos, 1)),
                (Some((start, _)), false, _) => {
                    out.push((*start, pos));
                    run = None;
                }
                (None, false, _) => {}
            }
        }
        pos += line.len();
    }
    if let Some((start, _)) = run {
        out.push((start, text.len()));
    }
    (total > RULES_PER_CHUNK).then_some(out)
}

pub(crate) fn decode(name: &str, text: &str) -> Result<Policy, PolicyError> {
    let mut cx = Cx {
        p: Problems::new(name, text),
        shipped: crate::embedded::SHIPPED_POLICIES
            .iter()
            .any(|p| p.text == text),
    };
    // A big policy's rule tables are parsed a chunk at a time; the rest of the file is parsed
    // with them blanked out (newlines kept, so spans and lines stay those of the file).
    let chunks = rule_chunks(text).unwrap_or_default();
    let rest: std::borrow::Cow<'_, str> = if chunks.is_empty() {
        std::borrow::Cow::Borrowed(text)
    } else {
        let mut bytes = text.as_bytes().to_vec();
        for &(a, b) in &chunks {
            for c in &mut bytes[a..b] {
                if *c != b'\n' {
                    *c = b' ';
                }
            }
        }
        std::borrow::Cow::Owned(String::from_utf8(bytes).unwrap_or_default())
    };
    let doc = match Document::parse(rest.as_ref()) {
        Ok(doc) => doc,
        Err(e) => {
            cx.p.error(
                e.span(),
                format!("not valid TOML: {}", e.message().trim()),
                "here",
            );
            return Err(PolicyError {
                file: name.to_owned(),
                problems: cx.p.list,
            });
        }
    };
    let root = doc.as_table();
    cx.check_keys(root, &schema::TOP, "the policy");

    let mut version = 0;
    match root.get("version") {
        None => cx.p.error_help(
            Some(0..0),
            "the policy has no `version`",
            "version missing",
            "start the file with `version = 1`",
        ),
        Some(item) => match item.as_integer() {
            Some(1) => version = 1,
            Some(n) => cx.p.error_help(
                item.span(),
                format!("unsupported policy version {n}"),
                "unsupported",
                "this factory understands `version = 1`",
            ),
            None => cx.type_error(item, "version", "an integer"),
        },
    }

    // Tiers.
    let mut tiers: Vec<Tier> = Vec::new();
    let mut tier_spans: Vec<Vec<(String, Span)>> = Vec::new();
    let mut stamp_spans: Vec<(String, Span)> = Vec::new();
    match root.get("tier") {
        None => cx.p.error_help(
            Some(0..0),
            "the policy defines no tiers",
            "no `[[tier]]`",
            "add tiers lowest risk first, e.g. `[[tier]]\\nname = \"auto\"\\ndescription = \"...\"`",
        ),
        Some(item) => {
            for (t, span) in cx.tables(item, "tier") {
                cx.check_keys(t, &schema::TIER, "a tier");
                let tier_name = cx.string(t, "name");
                let description = cx.string(t, "description");
                if description.is_none() && t.get("description").is_none() {
                    cx.missing(span.clone(), "description", "a tier");
                }
                let mut requires = Vec::new();
                let mut stamps = Vec::new();
                let mut role_spans = Vec::new();
                if let Some(item) = t.get("requires") {
                    for (r, rspan) in cx.tables(item, "requires") {
                        cx.check_keys(r, &schema::REQUIREMENT, "a requirement");
                        if let Some(dimension) = cx.string(r, "stamp") {
                            if r.get("role").is_some() || r.get("count").is_some() {
                                cx.p.error_help(
                                    rspan.clone(),
                                    "a requirement is either a stamp or approvals by a role, not both",
                                    "stamp and role",
                                    "write `{ stamp = \"holdback\", min = 0.9 }` and `{ role = \"maintainer\" }` as two requirements",
                                );
                            }
                            let min = match r.get("min") {
                                None => 1.0,
                                Some(item) => match item
                                    .as_float()
                                    .or_else(|| item.as_integer().map(|i| i as f64))
                                {
                                    Some(f) if (0.0..=1.0).contains(&f) => f,
                                    Some(_) => {
                                        cx.p.error(
                                            item.span(),
                                            "`min` must be between 0 and 1",
                                            "out of range",
                                        );
                                        1.0
                                    }
                                    None => {
                                        cx.type_error(item, "min", "a number");
                                        1.0
                                    }
                                },
                            };
                            if dimension.value.trim().is_empty() {
                                cx.p.error(dimension.span.clone(), "a stamp requirement names no dimension", "empty");
                            }
                            if !stamp_spans.iter().any(|(n, _)| *n == dimension.value) {
                                stamp_spans.push((dimension.value.clone(), dimension.span.clone()));
                            }
                            stamps.push(StampRequirement {
                                dimension: dimension.value,
                                min,
                            });
                            continue;
                        }
                        if r.get("min").is_some() {
                            cx.p.error_help(
                                rspan.clone(),
                                "`min` belongs to a stamp requirement",
                                "no stamp",
                                "add `stamp = \"DIMENSION\"`, or remove `min`",
                            );
                        }
                        let count = cx.positive(r, "count").map_or(1, |c| c.value);
                        match cx.string(r, "role") {
                            Some(role) => {
                                role_spans.push((role.value.clone(), role.span.clone()));
                                requires.push(Requirement {
                                    role: role.value,
                                    count: u32::try_from(count).unwrap_or(u32::MAX),
                                });
                            }
                            None if r.get("role").is_none() => {
                                cx.missing(rspan, "role", "a requirement")
                            }
                            None => {}
                        }
                    }
                }
                let distinct_people = cx.boolean(t, "distinct-people").unwrap_or(true);
                let forbid_agent = cx.boolean(t, "forbid-agent").unwrap_or(false);
                let Some(tier_name) = tier_name else {
                    if t.get("name").is_none() {
                        cx.missing(span, "name", "a tier");
                    }
                    continue;
                };
                if !is_ident(&tier_name.value) {
                    cx.p.error(
                        tier_name.span.clone(),
                        format!("tier name `{}` is not an identifier", tier_name.value),
                        "use lowercase letters, digits and `-`",
                    );
                } else if tiers.iter().any(|x| x.name == tier_name.value) {
                    cx.p.error(
                        tier_name.span.clone(),
                        format!("tier `{}` is defined twice", tier_name.value),
                        "duplicate tier",
                    );
                    continue;
                }
                tiers.push(Tier {
                    name: tier_name.value,
                    description: description.map(|d| d.value).unwrap_or_default(),
                    requires,
                    stamps,
                    distinct_people,
                    forbid_agent,
                });
                tier_spans.push(role_spans);
            }
        }
    }
    let tier_names: Vec<&str> = tiers.iter().map(|t| t.name.as_str()).collect();
    let resolve_tier = |cx: &mut Cx, at: &At<String>| -> Option<TierId> {
        let found = tier_names.iter().position(|n| *n == at.value).map(TierId);
        if found.is_none() && !tier_names.is_empty() {
            let help = suggestion(&at.value, tier_names.iter().copied())
                .unwrap_or_else(|| format!("the tiers are: {}", tier_names.join(", ")));
            cx.p.error_help(
                at.span.clone(),
                format!("unknown tier `{}`", at.value),
                "no such tier",
                help,
            );
        }
        found
    };

    let default_tier = match cx.string(root, "default-tier") {
        Some(at) => resolve_tier(&mut cx, &at),
        None => {
            if root.get("default-tier").is_none() {
                cx.p.error_help(
                    Some(0..0),
                    "the policy has no `default-tier`",
                    "default-tier missing",
                    "add `default-tier = \"...\"` naming the tier of changes no rule matches",
                );
            }
            None
        }
    };

    // People.
    let mut people = BTreeMap::new();
    if let Some(item) = root.get("people") {
        match item.as_table_like() {
            None => cx.type_error(item, "people", "a table of people"),
            Some(table) => {
                for (handle, pitem) in table.iter() {
                    let hspan = table.key(handle).and_then(|k| k.span());
                    if !is_handle(handle) {
                        cx.p.error(
                            hspan.clone(),
                            format!("person handle `{handle}` is not valid"),
                            "use lowercase letters, digits, `-`, `_` and `.`",
                        );
                    }
                    let Some(p) = pitem.as_table_like() else {
                        cx.type_error(pitem, handle, "a table");
                        continue;
                    };
                    cx.check_keys(p, &schema::PERSON, &format!("person `{handle}`"));
                    let display = cx
                        .string(p, "name")
                        .map_or_else(|| handle.to_owned(), |n| n.value);
                    let email = cx.string(p, "email").map(|e| e.value);
                    let roles = cx.strings(p, "roles").unwrap_or_default();
                    for r in &roles {
                        if r.value.is_empty() || r.value.contains(char::is_whitespace) {
                            cx.p.error(
                                r.span.clone(),
                                format!("role `{}` is not valid", r.value),
                                "roles are single words",
                            );
                        }
                    }
                    let keys = cx.strings(p, "keys").unwrap_or_default();
                    cx.check_key_lines(&keys);
                    people.insert(
                        handle.to_owned(),
                        Person {
                            name: display,
                            email,
                            roles: roles.into_iter().map(|r| r.value).collect(),
                            key_spans: keys.iter().map(|k| k.span.clone()).collect(),
                            keys: keys.into_iter().map(|k| k.value).collect(),
                        },
                    );
                }
            }
        }
    }

    // Requirements against people.
    let mut holders: HashMap<&str, u32> = HashMap::new();
    for p in people.values() {
        let unique: HashSet<&str> = p.roles.iter().map(String::as_str).collect();
        for r in unique {
            *holders.entry(r).or_default() += 1;
        }
    }
    let mut warned_empty = false;
    for (tier, spans) in tiers.iter().zip(&tier_spans) {
        for (req, (_, span)) in tier.requires.iter().zip(spans) {
            let held = holders.get(req.role.as_str()).copied().unwrap_or(0);
            if people.is_empty() {
                if !warned_empty {
                    warned_empty = true;
                    cx.p.push(
                        Severity::Warning,
                        span.clone(),
                        format!("no people are declared, so tier `{}` (and any other tier with requirements) cannot be approved yet", tier.name),
                        "no one holds this role",
                        Some("add `[people.HANDLE]` tables with `roles` and `keys`".into()),
                    );
                }
            } else if held == 0 {
                let help = suggestion(&req.role, holders.keys().copied()).unwrap_or_else(|| {
                    format!(
                        "give the role to someone: `roles = [\"{}\"]` under `[people.HANDLE]`",
                        req.role
                    )
                });
                cx.p.error_help(
                    span.clone(),
                    format!(
                        "tier `{}` requires role `{}`, which no person holds",
                        tier.name, req.role
                    ),
                    "no one holds this role",
                    help,
                );
            } else if held < req.count {
                // A warning, not an error: a growing team may adopt a policy before it has
                // enough people; until then the gate blocks such changes (fail closed).
                cx.p.push(
                    Severity::Warning,
                    span.clone(),
                    format!(
                        "tier `{}` requires {} people with role `{}`, but only {held} hold it: such changes cannot be approved yet",
                        tier.name, req.count, req.role
                    ),
                    "not enough holders",
                    Some(format!("add people with `roles = [\"{}\"]`", req.role)),
                );
            }
        }
    }

    // Stamps need validators.
    if !stamp_spans.is_empty()
        && !people
            .values()
            .any(|p: &Person| p.roles.iter().any(|r| r == VALIDATOR_ROLE))
    {
        let (dimension, span) = stamp_spans[0].clone();
        cx.p.push(
            Severity::Warning,
            span,
            format!(
                "a tier requires a `{dimension}` stamp, but no one holds the role `{VALIDATOR_ROLE}`: such changes cannot land yet"
            ),
            "no validator",
            Some(format!(
                "add a validator (a person, or a CI key): `factory people add ci --role {VALIDATOR_ROLE} --key KEY`"
            )),
        );
    }

    // Distinct people: each slot of the tier needs a different person. Enough holders per role
    // is not enough when one person holds several of the tier's roles.
    for (tier, spans) in tiers.iter().zip(&tier_spans) {
        let slots: Vec<&str> = tier
            .requires
            .iter()
            .flat_map(|r| std::iter::repeat_n(r.role.as_str(), r.count as usize))
            .collect();
        let enough_per_role = tier
            .requires
            .iter()
            .all(|r| holders.get(r.role.as_str()).copied().unwrap_or(0) >= r.count);
        if !tier.distinct_people || slots.len() < 2 || !enough_per_role {
            continue;
        }
        let fillable = distinct_fill(&slots, &people);
        if fillable < slots.len() {
            let shared: Vec<String> = people
                .iter()
                .filter(|(_, p)| {
                    tier.requires
                        .iter()
                        .filter(|r| p.roles.contains(&r.role))
                        .count()
                        > 1
                })
                .map(|(h, _)| format!("`{h}`"))
                .collect();
            let roles: Vec<&str> = tier.requires.iter().map(|r| r.role.as_str()).collect();
            cx.p.push(
                Severity::Warning,
                spans.first().map(|(_, s)| s.clone()).unwrap_or_default(),
                format!(
                    "tier `{}` needs {} different people ({}), but the people of the policy can fill only {fillable}: {} hold{} more than one of its roles, and one person counts once",
                    tier.name,
                    slots.len(),
                    roles.join(", "),
                    shared.join(", "),
                    if shared.len() == 1 { "s" } else { "" }
                ),
                "cannot be met by distinct people",
                Some(format!(
                    "add a second person for one of the roles: `factory people add NAME --role {} --key KEY`",
                    roles.last().copied().unwrap_or_default()
                )),
            );
        }
    }

    // Agents.
    let mut agent_key_spans: Vec<(String, At<String>)> = Vec::new();
    let mut agents = Agents {
        trailers: vec!["Agent".to_owned()],
        ..Agents::default()
    };
    if let Some(item) = root.get("agents") {
        match item.as_table_like() {
            None => cx.type_error(item, "agents", "a table"),
            Some(a) => {
                // `[agents.NAME]` subtables are principals; every other key is a setting.
                for (name, value) in a.iter() {
                    if schema::AGENTS.keys.iter().any(|k| k.name == name) || !value.is_table_like()
                    {
                        continue;
                    }
                    let span = a.key(name).and_then(|k| k.span());
                    if !is_handle(name) {
                        cx.p.error(
                            span.clone(),
                            format!("agent name `{name}` is not valid"),
                            "use lowercase letters, digits, `-`, `_` and `.`",
                        );
                    }
                    let t = value.as_table_like().expect("checked above");
                    cx.check_keys(t, &schema::AGENT, &format!("agent `{name}`"));
                    let keys = cx.strings(t, "keys").unwrap_or_default();
                    if keys.is_empty() {
                        cx.p.error_help(
                            span.clone(),
                            format!("agent `{name}` names no key"),
                            "no keys",
                            "add `keys = [\"ssh-ed25519 AAAA... agent\"]`: the key `factory run` signs this agent's commits with",
                        );
                    }
                    cx.check_key_lines(&keys);
                    agent_key_spans.extend(keys.iter().map(|k| {
                        (
                            name.to_owned(),
                            At {
                                value: k.value.clone(),
                                span: k.span.clone(),
                            },
                        )
                    }));
                    agents.principals.insert(
                        name.to_owned(),
                        AgentPrincipal {
                            key_spans: keys.iter().map(|k| k.span.clone()).collect(),
                            keys: keys.into_iter().map(|k| k.value).collect(),
                        },
                    );
                }
                let unknown: Vec<(String, Option<std::ops::Range<usize>>)> = a
                    .iter()
                    .filter(|(name, v)| {
                        !schema::AGENTS.keys.iter().any(|k| k.name == *name) && !v.is_table_like()
                    })
                    .map(|(name, _)| (name.to_owned(), a.key(name).and_then(|k| k.span())))
                    .collect();
                for (name, span) in unknown {
                    let help = suggestion(&name, schema::AGENTS.keys.iter().map(|k| k.name))
                        .unwrap_or_else(|| {
                            "`[agents]` takes `trailers`, `authors`, `co-authors`, `require-transcript`, `require-verified-agents`, and `[agents.NAME]` tables of agents".to_owned()
                        });
                    cx.p.error_help(
                        span,
                        format!("unknown key `{name}` in `[agents]`"),
                        "unknown key",
                        help,
                    );
                }
                if let Some(t) = cx.strings(a, "trailers") {
                    agents.trailers = t.into_iter().map(|t| t.value).collect();
                }
                for (key, raw, compiled) in [
                    ("authors", &mut agents.authors, &mut agents.authors_re),
                    (
                        "co-authors",
                        &mut agents.co_authors,
                        &mut agents.co_authors_re,
                    ),
                ] {
                    for at in cx.strings(a, key).unwrap_or_default() {
                        if let Some(re) = cx.regex(&at, key) {
                            compiled.push(re);
                        }
                        raw.push(at.value);
                    }
                }
                agents.require_transcript = cx.boolean(a, "require-transcript").unwrap_or(false);
                agents.require_verified = cx.boolean(a, "require-verified-agents").unwrap_or(false);
                if agents.require_verified && agents.principals.is_empty() {
                    let span = a.key("require-verified-agents").and_then(|k| k.span());
                    cx.p.push(
                        Severity::Warning,
                        span,
                        "`require-verified-agents` is on but no agent is named: every agent commit will be refused".to_owned(),
                        "no `[agents.NAME]`",
                        Some("add `[agents.NAME]` with the agent's signing key".to_owned()),
                    );
                }
            }
        }
    }

    // An agent is never a person: no shared name, no shared key.
    let key_id = |k: &str| -> String {
        match k.strip_prefix("openpgp:") {
            Some(f) => format!("openpgp:{}", f.to_ascii_uppercase()),
            None => k.split_whitespace().take(2).collect::<Vec<_>>().join(" "),
        }
    };
    for (agent, key) in &agent_key_spans {
        if people.contains_key(agent) {
            cx.p.error_help(
                key.span.clone(),
                format!("agent `{agent}` has the name of a person"),
                "agent",
                "agents and people are different principals: give the agent another name",
            );
        }
        let id = key_id(&key.value);
        for (handle, person) in &people {
            if person.keys.iter().any(|k| key_id(k) == id) {
                cx.p.error_help(
                    key.span.clone(),
                    format!("this key of agent `{agent}` is also a key of person `{handle}`"),
                    "shared key",
                    "an agent key never counts as a person: give the agent a key of its own",
                );
            }
        }
    }

    // Transcripts.
    let mut transcripts = Transcripts::default();
    if let Some(item) = root.get("transcripts") {
        match item.as_table_like() {
            None => cx.type_error(item, "transcripts", "a table"),
            Some(tt) => {
                cx.check_keys(tt, &schema::TRANSCRIPTS, "`[transcripts]`");
                if let Some(n) = cx.positive(tt, "max-note-bytes") {
                    transcripts.max_note_bytes = n.value;
                }
                if let Some(b) = cx.boolean(tt, "keep-thinking") {
                    transcripts.keep_thinking = b;
                }
                if let Some(item) = tt.get("entropy-threshold") {
                    match item
                        .as_float()
                        .or_else(|| item.as_integer().map(|i| i as f64))
                    {
                        Some(f) if f > 0.0 && f <= 8.0 => transcripts.entropy_threshold = f,
                        Some(_) => cx.p.error(
                            item.span(),
                            "`entropy-threshold` must be between 0 and 8 bits per character",
                            "out of range",
                        ),
                        None => cx.type_error(item, "entropy-threshold", "a number"),
                    }
                }
                if let Some(item) = tt.get("redact") {
                    match item.as_table_like() {
                        None => cx.type_error(item, "redact", "a table of `KIND = 'regex'`"),
                        Some(r) => {
                            for (kind, pitem) in r.iter() {
                                let Some(pattern) = pitem.as_str() else {
                                    cx.type_error(pitem, kind, "a regular expression string");
                                    continue;
                                };
                                let at = At {
                                    value: pattern.to_owned(),
                                    span: pitem.span(),
                                };
                                if cx.regex(&at, "redact").is_some() {
                                    transcripts
                                        .redact
                                        .push((kind.to_owned(), pattern.to_owned()));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // Gate.
    let mut gate = Gate::default();
    if let Some(item) = root.get("gate") {
        match item.as_table_like() {
            None => cx.type_error(item, "gate", "a table"),
            Some(g) => {
                cx.check_keys(g, &schema::GATE, "`[gate]`");
                if let Some(list) = cx.strings(g, "protected") {
                    for at in &list {
                        let bad = at.value.is_empty()
                            || at.value.starts_with("refs/")
                            || at.value.starts_with('/')
                            || at.value.contains("..")
                            || at.value.contains(char::is_whitespace);
                        if bad {
                            cx.p.error(
                                at.span.clone(),
                                format!(
                                    "`{}` is not a branch pattern: write names under refs/heads/, such as `main` or `release/*`",
                                    at.value
                                ),
                                "not a branch pattern",
                            );
                        }
                    }
                    gate.protected = list.into_iter().map(|a| a.value).collect();
                }
                if let Some(role) = cx.string(g, "override-role") {
                    gate.override_role = role.value;
                }
                if let Some(b) = cx.boolean(g, "require-signed-human-commits") {
                    gate.require_signed_human_commits = b;
                }
            }
        }
    }

    // Rules.
    let mut rules = Vec::new();
    let mut path_lists: Vec<Vec<PathPattern>> = Vec::new();
    let highest = TierId(tiers.len().saturating_sub(1));
    path_lists.push(
        GOVERNANCE_PATHS
            .iter()
            .map(|p| PathPattern::compile(p).expect("built-in patterns compile"))
            .collect(),
    );
    rules.push(Rule {
        id: GOVERNANCE_RULE_ID.to_owned(),
        tier: highest,
        description: "Built in: a change to the policy, keys or other governance files under .factory/ needs the highest tier.".to_owned(),
        paths: GOVERNANCE_PATHS.iter().map(|p| (*p).to_owned()).collect(),
        added_lines: Vec::new(),
        removed_lines: Vec::new(),
        changed_lines: Vec::new(),
        lines_in: crate::lexer::Parts::ANY,
        lines_only_in: None,
        kinds: Vec::new(),
        min_files_changed: None,
        min_lines_changed: None,
        origin: None,
        merge: None,
        message: None,
        trailer: None,
        trailer_value: None,
        builtin: true,
        line: None,
        path_list: Some(0),
        added: None,
        removed: None,
        changed: None,
        message_re: None,
        trailer_value_re: None,
    });
    // Line numbers by binary search: scanning the text once per rule is quadratic.
    let newlines: Vec<usize> = text
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let mut ids: HashSet<String> = HashSet::new();
    let chunk_count = chunks.len();
    for chunk in std::iter::once(None).chain(chunks.iter().map(Some)) {
        let parsed;
        let (item, base) = match chunk {
            None => match root.get("rule") {
                Some(item) => (item, 0),
                None => continue,
            },
            Some(&(a, b)) => {
                parsed = match Document::parse(&text[a..b]) {
                    Ok(d) => d,
                    Err(e) => {
                        cx.p.offset = a;
                        cx.p.error(
                            e.span(),
                            format!("not valid TOML: {}", e.message().trim()),
                            "here",
                        );
                        cx.p.offset = 0;
                        continue;
                    }
                };
                match parsed.as_table().get("rule") {
                    Some(item) => (item, a),
                    None => continue,
                }
            }
        };
        cx.p.offset = base;
        if rules.capacity() < chunk_count * RULES_PER_CHUNK {
            rules.reserve_exact(chunk_count * RULES_PER_CHUNK);
        }
        for (t, span) in cx.tables(item, "rule") {
            cx.check_keys(t, &schema::RULE, "a rule");
            let line = span
                .as_ref()
                .map(|s| newlines.partition_point(|&nl| nl < s.start + base) + 1);
            let id = cx.string(t, "id");
            let what = id
                .as_ref()
                .map_or_else(|| "a rule".to_owned(), |i| format!("rule `{}`", i.value));
            if let Some(id) = &id {
                if id.value.starts_with("factory.") || id.value == GOVERNANCE_RULE_ID {
                    cx.p.error_help(id.span.clone(), format!("rule id `{}` is reserved", id.value), "reserved id", "ids starting with `factory.` belong to built-in rules, which cannot be redefined or switched off");
                } else if !is_ident(&id.value) {
                    cx.p.error(
                        id.span.clone(),
                        format!("rule id `{}` is not an identifier", id.value),
                        "use lowercase letters, digits and `-`",
                    );
                } else if !ids.insert(id.value.clone()) {
                    cx.p.error_help(
                        id.span.clone(),
                        format!("rule id `{}` is used twice", id.value),
                        "duplicate rule id",
                        "rule ids are stable names in every verdict: give each rule its own",
                    );
                }
            } else if t.get("id").is_none() {
                cx.missing(span.clone(), "id", "a rule");
            }
            let tier = match cx.string(t, "tier") {
                Some(at) => resolve_tier(&mut cx, &at),
                None => {
                    if t.get("tier").is_none() {
                        cx.missing(span.clone(), "tier", &what);
                    }
                    None
                }
            };
            let description = cx
                .string(t, "description")
                .map(|d| d.value)
                .unwrap_or_default();

            let paths = cx.strings(t, "paths");
            let mut path_list = None;
            if let Some(paths) = &paths {
                if paths.is_empty() {
                    cx.p.error(
                        t.get("paths").and_then(|i| i.span()),
                        "`paths` is empty",
                        "empty list",
                    );
                }
                let mut compiled = Vec::new();
                for at in paths {
                    match PathPattern::compile(&at.value) {
                        Ok(p) => compiled.push(p),
                        Err(why) => cx.p.error_help(at.span.clone(), format!("bad path pattern `{}`: {why}", at.value), why, "patterns use .gitignore syntax: `*`, `?`, `[abc]`, `**`, a leading `!` to exclude"),
                    }
                }
                if compiled.len() == paths.len() && !compiled.is_empty() {
                    path_list = Some(path_lists.len());
                    path_lists.push(compiled);
                }
            }
            let added_raw = cx.strings(t, "added-lines");
            let removed_raw = cx.strings(t, "removed-lines");
            let changed_raw = cx.strings(t, "changed-lines");
            let added = added_raw
                .as_deref()
                .and_then(|l| cx.line_patterns(l, "added-lines"));
            let removed = removed_raw
                .as_deref()
                .and_then(|l| cx.line_patterns(l, "removed-lines"));
            let changed = changed_raw
                .as_deref()
                .and_then(|l| cx.line_patterns(l, "changed-lines"));
            for (key, raw) in [
                ("added-lines", &added_raw),
                ("removed-lines", &removed_raw),
                ("changed-lines", &changed_raw),
            ] {
                if raw.as_ref().is_some_and(Vec::is_empty) {
                    cx.p.error(
                        t.get(key).and_then(|i| i.span()),
                        format!("`{key}` is empty"),
                        "empty list",
                    );
                }
            }
            let mut outer_lines_in = crate::lexer::Parts::ANY;
            let mut lines_only_in = None;
            for (key, target) in [("lines-in", 0), ("lines-only-in", 1)] {
                let Some(parts) = cx.strings(t, key) else {
                    continue;
                };
                let mut lines_in = crate::lexer::Parts::default();
                for at in parts {
                    match at.value.as_str() {
                        "code" => lines_in.code = true,
                        "comments" => lines_in.comments = true,
                        "strings" => lines_in.strings = true,
                        "tests" => lines_in.tests = true,
                        "any" => lines_in = crate::lexer::Parts::ANY,
                        other => {
                            let help =
                                suggestion(other, ["code", "comments", "strings", "tests", "any"])
                                    .unwrap_or_else(|| {
                                        "parts are: code, comments, strings, tests, any".to_owned()
                                    });
                            cx.p.error_help(
                                at.span.clone(),
                                format!("unknown part of a line `{other}`"),
                                "unknown part",
                                help,
                            );
                        }
                    }
                }
                if target == 0 {
                    outer_lines_in = lines_in;
                } else {
                    lines_only_in = Some(lines_in);
                }
            }
            let lines_in = outer_lines_in;
            let mut kinds = Vec::new();
            for at in cx.strings(t, "kinds").unwrap_or_default() {
                match ChangeKind::from_name(&at.value) {
                    Some(k) => kinds.push(k),
                    None => {
                        let names = ChangeKind::ALL.iter().map(|(_, n)| *n);
                        let help = suggestion(&at.value, names.clone()).unwrap_or_else(|| {
                            format!("kinds are: {}", names.collect::<Vec<_>>().join(", "))
                        });
                        cx.p.error_help(
                            at.span.clone(),
                            format!("unknown change kind `{}`", at.value),
                            "unknown kind",
                            help,
                        );
                    }
                }
            }
            let min_files_changed = cx.positive(t, "min-files-changed").map(|a| a.value);
            let min_lines_changed = cx.positive(t, "min-lines-changed").map(|a| a.value);
            let origin = cx
                .string(t, "origin")
                .and_then(|at| match at.value.as_str() {
                    "agent" => Some(Origin::Agent),
                    "human" => Some(Origin::Human),
                    _ => {
                        cx.p.error_help(
                            at.span.clone(),
                            format!("unknown origin `{}`", at.value),
                            "unknown origin",
                            "write `agent` or `human`",
                        );
                        None
                    }
                });
            let merge = cx.boolean(t, "merge");
            let message = cx.string(t, "message");
            let message_re = message.as_ref().and_then(|m| cx.regex(m, "message"));
            let trailer = cx.string(t, "trailer");
            let trailer_value = cx.string(t, "trailer-value");
            let trailer_value_re = trailer_value
                .as_ref()
                .and_then(|m| cx.regex(m, "trailer-value"));
            if let (Some(tv), None) = (&trailer_value, &trailer) {
                cx.p.error_help(
                    tv.span.clone(),
                    "`trailer-value` without `trailer`",
                    "which trailer?",
                    "add `trailer = \"KEY\"` naming the trailer whose value must match",
                );
            }
            let conditions = t
                .iter()
                .filter(|(k, _)| !matches!(*k, "id" | "tier" | "description"))
                .count();
            if conditions == 0 {
                cx.p.error_help(span.clone(), format!("{what} has no conditions"), "matches nothing in particular", "give the rule `paths`, `added-lines`, `kinds`, a size or a commit condition; to set the tier of unmatched changes use `default-tier`");
            }
            let (Some(id), Some(tier)) = (id, tier) else {
                continue;
            };
            rules.push(Rule {
                id: id.value,
                tier,
                description,
                paths: paths
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| a.value)
                    .collect(),
                added_lines: added_raw
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| a.value)
                    .collect(),
                removed_lines: removed_raw
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| a.value)
                    .collect(),
                changed_lines: changed_raw
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| a.value)
                    .collect(),
                lines_in,
                lines_only_in,
                kinds,
                min_files_changed,
                min_lines_changed,
                origin,
                merge,
                message: message.map(|m| m.value),
                trailer: trailer.map(|m| m.value),
                trailer_value: trailer_value.map(|m| m.value),
                builtin: false,
                line,
                path_list,
                added,
                removed,
                changed,
                message_re,
                trailer_value_re,
            });
        }
        cx.p.offset = 0;
    }

    drop(doc);
    drop(rest);
    let paths = match PathIndex::build(path_lists) {
        Ok(index) => Some(index),
        Err(e) => {
            cx.p.error(
                None,
                format!("path patterns could not be combined: {e}"),
                "",
            );
            None
        }
    };
    cx.p.list
        .sort_by_key(|p| p.span.as_ref().map_or(usize::MAX, |s| s.start));
    if cx.p.has_errors() || tiers.is_empty() {
        if !cx.p.has_errors() {
            cx.p.error(None, "the policy defines no tiers", "");
        }
        return Err(PolicyError {
            file: name.to_owned(),
            problems: cx.p.list,
        });
    }
    let (Some(default_tier), Some(paths)) = (default_tier, paths) else {
        return Err(PolicyError {
            file: name.to_owned(),
            problems: cx.p.list,
        });
    };
    let any_content = rules
        .iter()
        .any(|r| r.needs_lines() || r.min_lines_changed.is_some());
    Ok(Policy {
        version,
        default_tier,
        tiers,
        rules,
        people,
        agents,
        transcripts,
        gate,
        warnings: cx.p.list,
        source_name: name.to_owned(),
        source_text: text.to_owned(),
        paths,
        any_content,
    })
}

/// How many of `slots` (roles) different people can fill at once: a maximum matching of
/// people to slots by augmenting paths.
fn distinct_fill(slots: &[&str], people: &BTreeMap<String, Person>) -> usize {
    let holders: Vec<&Person> = people.values().collect();
    let mut owner: Vec<Option<usize>> = vec![None; slots.len()];
    fn augment(
        person: usize,
        slots: &[&str],
        holders: &[&Person],
        owner: &mut [Option<usize>],
        seen: &mut [bool],
    ) -> bool {
        for s in 0..slots.len() {
            if seen[s] || !holders[person].roles.iter().any(|r| r == slots[s]) {
                continue;
            }
            seen[s] = true;
            let free = match owner[s] {
                None => true,
                Some(other) => augment(other, slots, holders, owner, seen),
            };
            if free {
                owner[s] = Some(person);
                return true;
            }
        }
        false
    }
    (0..holders.len())
        .filter(|&p| {
            augment(
                p,
                slots,
                &holders,
                &mut owner,
                &mut vec![false; slots.len()],
            )
        })
        .count()
}

/// Literals one of which every match of `hir` contains: its prefixes when they are a finite
/// set of three bytes or more each, else those of the part of its top-level sequence (or the
/// prefixes) with the longest shortest literal (in
/// `^\s*(use|import)\b.*\b(ring|openssl)\b` every match holds `ring` or `openssl`, though it
/// starts with spaces). None when no part has such a set.
fn required_literals(hir: &regex_syntax::hir::Hir) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::HirKind;
    let extract = |h: &regex_syntax::hir::Hir| -> Option<Vec<Vec<u8>>> {
        let seq = regex_syntax::hir::literal::Extractor::new()
            .limit_total(64)
            .extract(h);
        let lits = seq.literals()?;
        (!lits.is_empty() && lits.iter().all(|l| !l.as_bytes().is_empty()))
            .then(|| lits.iter().map(|l| l.as_bytes().to_vec()).collect())
    };
    let shortest = |lits: &Vec<Vec<u8>>| lits.iter().map(Vec::len).min().unwrap_or(0);
    let whole = extract(hir);
    // Literals of three bytes or more are taken as they are; shorter ones (`@`, or the
    // whitespace a `^\s*` opens with) occur in almost any text, and a part of the pattern may
    // require better ones.
    if let Some(lits) = whole.as_ref().filter(|l| shortest(l) >= 3) {
        return Some(lits.clone());
    }
    let mut h = hir;
    while let HirKind::Capture(c) = h.kind() {
        h = &c.sub;
    }
    let HirKind::Concat(parts) = h.kind() else {
        return whole;
    };
    parts
        .iter()
        .filter_map(extract)
        .chain(whole)
        .max_by_key(shortest)
}

/// For a pattern that opens with an ASCII case-insensitive flag group (`(?i-u)`), the same
/// pattern case-sensitive: its required literals, lowered, find in lowered text whatever the
/// pattern can match, where the case-insensitive pattern itself yields too many case variants
/// to extract. None for any other pattern (Unicode case folding maps `K` to the Kelvin sign and
/// `s` to the long s, which lowering ASCII would miss).
fn ascii_case_probe(pattern: &str) -> Option<String> {
    let rest = pattern.strip_prefix("(?")?;
    let end = rest.find(')')?;
    let (flags, body) = (&rest[..end], &rest[end + 1..]);
    if flags.contains(':') || body.contains("(?") {
        return None;
    }
    let (set, clear) = flags.split_once('-').unwrap_or((flags, ""));
    if !set.contains('i') || !clear.contains('u') || set.contains('u') {
        return None;
    }
    let set: String = set.chars().filter(|c| *c != 'i').collect();
    Some(format!("(?{set}-{clear}){body}"))
}
