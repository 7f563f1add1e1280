//! policy-bot's `.policy.yml`: each approval rule with file conditions becomes a tier and a
//! rule; rules without conditions become the default tier's requirements; teams, users and
//! organisations become roles.

use yaml_rust2::{Yaml, YamlLoader};

use crate::{Raw, Writer, list, q, slug};

/// A policy-bot approval rule, as far as factory can use it.
struct ApprovalRule {
    name: String,
    role: Option<String>,
    count: u32,
    paths: Vec<String>,
    min_lines: Option<u64>,
    conditional: bool,
}

fn strs(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A policy-bot path regular expression as a factory glob, when it is one of the common shapes
/// (anchored literals, `.*`, `[^/]*`); also accepts what is written as a glob already.
fn glob_of(pattern: &str) -> Option<String> {
    // Written as a glob: not a regular expression at all, or one whose only metacharacters are
    // `*` after something other than `.` (as in `dir/*` or `*_test.go`) and literal dots.
    let regex_only = ['^', '$', '\\', '(', ')', '|', '+', '[', ']', '{', '}', '?'];
    let glob_like =
        !pattern.contains(regex_only) && !pattern.contains(".*") && pattern.contains('*');
    if glob_like || regex_syntax::Parser::new().parse(pattern).is_err() {
        return Some(pattern.to_owned());
    }
    let (anchored_start, body) = match pattern.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let (anchored_end, body) = match body.strip_suffix('$') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if ".-_/+()[]{}$^*?|".contains(e) => {
                    if "*?[]".contains(e) {
                        out.push('\\');
                    }
                    out.push(e);
                }
                _ => return None,
            },
            '.' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str("**");
            }
            '[' => {
                let class: String = chars.by_ref().take_while(|c| *c != ']').collect();
                if class != "^/" || chars.next() != Some('*') {
                    return None;
                }
                out.push('*');
            }
            c if c.is_alphanumeric() || "-_/@ ".contains(c) => out.push(c),
            _ => return None,
        }
    }
    if anchored_start && !out.contains('/') {
        // Anchored at the root: a slash-free glob would match at any depth.
        out.insert(0, '/');
    } else if !anchored_start {
        out = if out.contains('/') {
            format!("**/{out}")
        } else {
            format!("*{out}")
        };
    }
    if !anchored_end && !out.ends_with('/') && !out.ends_with("**") {
        out.push('*');
    }
    Some(out.replace("***", "**"))
}

fn requirement(rule: &Yaml, name: &str, lost: &mut Vec<String>) -> (Option<String>, u32) {
    let req = &rule["requires"];
    let count = req["count"].as_i64().unwrap_or(1).max(1) as u32;
    let mut roles: Vec<String> = Vec::new();
    for t in strs(&req["teams"]) {
        roles.push(slug(t.rsplit('/').next().unwrap_or(&t)));
    }
    for u in strs(&req["users"]) {
        roles.push(slug(&u));
    }
    for o in strs(&req["organizations"]) {
        roles.push(slug(&o));
    }
    for key in req.as_hash().into_iter().flat_map(|h| h.keys()) {
        if let Some(k) = key.as_str()
            && !matches!(k, "count" | "teams" | "users" | "organizations")
        {
            lost.push(format!("rule `{name}`: `requires.{k}`"));
        }
    }
    roles.sort();
    roles.dedup();
    if roles.len() > 1 {
        lost.push(format!(
            "rule `{name}`: approvals from any of several teams or users, expressed as one role `{}` that their members must hold",
            roles.join("-or-")
        ));
    }
    ((!roles.is_empty()).then(|| roles.join("-or-")), count)
}

pub(crate) fn import(name: &str, text: &str) -> Result<Raw, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    let doc = docs.first().ok_or("the file is empty")?;
    let mut lost = vec![
        "policy-bot's and/or tree over rules: factory gives a commit the highest tier of the rules that match it, and a tier's requirements all apply".to_owned(),
    ];
    if !doc["approval_defaults"].is_badvalue() {
        lost.push(
            "approval_defaults (options such as allow_author, allow_contributor): factory never counts the author or requester"
                .into(),
        );
    }
    if !doc["policy"]["disapproval"].is_badvalue() {
        lost.push("policy.disapproval: in factory any person of the policy may sign a reject, which blocks until withdrawn".into());
    }
    let Some(rules) = doc["approval_rules"].as_vec() else {
        return Err("no approval_rules".into());
    };
    let mut out: Vec<ApprovalRule> = Vec::new();
    for r in rules {
        let name = r["name"].as_str().unwrap_or("unnamed").to_owned();
        let (role, count) = requirement(r, &name, &mut lost);
        let mut rule = ApprovalRule {
            name: name.clone(),
            role,
            count,
            paths: Vec::new(),
            min_lines: None,
            conditional: false,
        };
        if let Some(cond) = r["if"].as_hash() {
            for (k, v) in cond {
                let k = k.as_str().unwrap_or_default();
                match k {
                    "changed_files" | "only_changed_files" => {
                        let wanted = strs(&v["paths"]).len();
                        let before = rule.paths.len();
                        if k == "only_changed_files" {
                            lost.push(format!("rule `{name}`: only_changed_files (\"every file matches\") is expressed as \"some file matches\""));
                        }
                        for p in strs(&v["paths"]) {
                            match glob_of(&p) {
                                Some(g) => rule.paths.push(g),
                                None => lost.push(format!("rule `{name}`: path regex `{p}`")),
                            }
                        }
                        if wanted > 0 && rule.paths.len() == before {
                            lost.push(format!(
                                "rule `{name}`: none of its paths can be expressed, so it is left out"
                            ));
                            rule.role = None;
                        }
                        for p in strs(&v["ignore"]) {
                            match glob_of(&p) {
                                Some(g) => rule.paths.push(format!("!{g}")),
                                None => lost.push(format!("rule `{name}`: ignored path regex `{p}`")),
                            }
                        }
                        rule.conditional = true;
                    }
                    "modified_lines" => {
                        let total = v["total"].as_str().map(str::trim).unwrap_or_default();
                        match total.strip_prefix('>').map(|n| n.trim().parse::<u64>()) {
                            Some(Ok(n)) => {
                                rule.min_lines = Some(n + 1);
                                rule.conditional = true;
                            }
                            _ => lost.push(format!("rule `{name}`: modified_lines {total:?}")),
                        }
                    }
                    other => lost.push(format!(
                        "rule `{name}`: the condition `{other}` (factory sees commits, not pull requests)"
                    )),
                }
            }
            if !rule.conditional {
                lost.push(format!(
                    "rule `{name}`: none of its conditions can be expressed, so it is left out"
                ));
                continue;
            }
        }
        if !r["options"].is_badvalue() {
            lost.push(format!("rule `{name}`: options"));
        }
        if rule.role.is_none() {
            if !lost
                .iter()
                .any(|l| l.starts_with(&format!("rule `{name}`: none of")))
            {
                lost.push(format!("rule `{name}`: requires no one, so it is left out"));
            }
            continue;
        }
        out.push(rule);
    }
    // The default tier: the unconditional rules' requirements, one per role (largest count).
    let mut default: Vec<(String, u32)> = Vec::new();
    for r in out.iter().filter(|r| !r.conditional) {
        let role = r.role.clone().unwrap_or_default();
        match default.iter_mut().find(|(x, _)| *x == role) {
            Some(d) => d.1 = d.1.max(r.count),
            None => default.push((role, r.count)),
        }
    }
    let unconditional: Vec<&ApprovalRule> = out.iter().filter(|r| !r.conditional).collect();
    if unconditional.len() > 1 {
        lost.push(format!(
            "rules {} apply to every change; all of them are required in the default tier (an `or` between them is not expressed)",
            unconditional
                .iter()
                .map(|r| format!("`{}`", r.name))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut conditional: Vec<&ApprovalRule> = out.iter().filter(|r| r.conditional).collect();
    conditional.sort_by_key(|r| r.count);
    let mut w = Writer::new(&format!("policy-bot {name}"), &lost);
    w.line("default-tier = \"default\"");
    w.tier(
        "default",
        "Every change (policy-bot rules without conditions).",
        &default,
    );
    let mut tier_names: Vec<String> = vec!["default".into()];
    for r in &conditional {
        let mut tier = slug(&r.name);
        while tier_names.contains(&tier) {
            tier.push_str("-2");
        }
        tier_names.push(tier.clone());
        let mut requires = default.clone();
        let role = r.role.clone().unwrap_or_default();
        match requires.iter_mut().find(|(x, _)| *x == role) {
            Some(d) => d.1 = d.1.max(r.count),
            None => requires.push((role, r.count)),
        }
        w.tier(&tier, &format!("policy-bot rule: {}", r.name), &requires);
    }
    for (r, tier) in conditional.iter().zip(tier_names.iter().skip(1)) {
        w.line("\n[[rule]]");
        w.line(&format!("id = {}", q(tier)));
        w.line(&format!("tier = {}", q(tier)));
        w.line(&format!(
            "description = {}",
            q(&format!("policy-bot rule: {}", r.name))
        ));
        let includes: Vec<String> = r
            .paths
            .iter()
            .filter(|p| !p.starts_with('!'))
            .cloned()
            .collect();
        if !includes.is_empty() || r.min_lines.is_none() {
            let mut paths = if includes.is_empty() {
                vec!["*".to_owned()]
            } else {
                Vec::new()
            };
            paths.extend(r.paths.iter().cloned());
            w.line(&format!("paths = {}", list(&paths)));
        } else if r.paths.iter().any(|p| p.starts_with('!')) {
            let mut paths = vec!["*".to_owned()];
            paths.extend(r.paths.iter().cloned());
            w.line(&format!("paths = {}", list(&paths)));
        }
        if let Some(n) = r.min_lines {
            w.line(&format!("min-lines-changed = {n}"));
        }
    }
    Ok(Raw {
        text: w.finish(),
        keys: Vec::new(),
        lost,
    })
}
