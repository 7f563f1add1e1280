//! CODEOWNERS: each line's owners become a role, each line a rule giving the tier that needs
//! one approval from that role; the catch-all `*` line becomes the default tier.

use crate::{Raw, Writer, list, q, slug};

/// The role of an owner: a team's slug, a user's login, an address's local part.
fn role_of(owner: &str) -> String {
    let o = owner.trim_start_matches('@');
    let o = o.rsplit('/').next().unwrap_or(o);
    let o = o.split('@').next().unwrap_or(o);
    slug(o)
}

pub(crate) fn import(name: &str, text: &str) -> Result<Raw, String> {
    let mut lost = vec![
        "CODEOWNERS gives a path to the last matching line's owners; factory fires every matching rule and a commit takes the highest tier, so a change touching several owners' paths needs only the highest tier's approval".to_owned(),
        "owners are GitHub/GitLab accounts; factory needs people with signing keys: add [people.NAME] with these roles".to_owned(),
    ];
    // (line number, pattern, role) and the tiers in order of first appearance.
    let mut entries: Vec<(usize, String, String, Vec<String>)> = Vec::new();
    let mut tiers: Vec<(String, Vec<String>)> = Vec::new();
    let mut catch_all: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') || line.starts_with("^[") {
            lost.push(format!(
                "line {n}: GitLab sections (`{line}`) are not expressed"
            ));
            continue;
        }
        let line = line.split(" #").next().unwrap_or(line);
        let mut parts = line.split_whitespace();
        let Some(pattern) = parts.next() else {
            continue;
        };
        let owners: Vec<String> = parts.map(str::to_owned).collect();
        if owners.is_empty() {
            lost.push(format!(
                "line {n}: `{pattern}` has no owners (it removes ownership); factory has no rule for that"
            ));
            continue;
        }
        let mut roles: Vec<String> = owners.iter().map(|o| role_of(o)).collect();
        roles.sort();
        roles.dedup();
        let role = roles.join("-or-");
        if roles.len() > 1 {
            // Any one owner may approve: one role that every member of those teams must hold.
            if !lost.iter().any(|l| l.contains(&format!("`{role}`"))) {
                lost.push(format!(
                    "any one of {} may approve paths of line {n} and others: expressed as the role `{role}`, which members of each of those teams must be given",
                    owners.join(", ")
                ));
            }
        }
        if pattern == "*" || pattern == "/*" || pattern == "**" {
            catch_all = Some(role.clone());
        } else {
            entries.push((n, pattern.to_owned(), role.clone(), owners.clone()));
        }
        if !tiers.iter().any(|(r, _)| *r == role) {
            tiers.push((role, owners));
        }
    }
    if entries.is_empty() && catch_all.is_none() {
        return Err("no CODEOWNERS entries found".into());
    }
    let tier_name = |role: &str| format!("owners-{role}");
    let mut w = Writer::new(&format!("CODEOWNERS {name}"), &lost);
    let default = match &catch_all {
        Some(role) => tier_name(role),
        None => "unowned".to_owned(),
    };
    w.line(&format!("default-tier = {}", q(&default)));
    if catch_all.is_none() {
        w.tier("unowned", "Paths no CODEOWNERS line owns.", &[]);
    }
    // The catch-all owners' tier is the lowest, then the others in order of appearance.
    let mut ordered: Vec<&(String, Vec<String>)> = tiers.iter().collect();
    ordered.sort_by_key(|(r, _)| Some(r) != catch_all.as_ref());
    for (role, owners) in ordered {
        w.tier(
            &tier_name(role),
            &format!("Owned by {}: one of them approves.", owners.join(" ")),
            &[(role.clone(), 1)],
        );
    }
    for (n, pattern, role, owners) in &entries {
        w.line("\n[[rule]]");
        w.line(&format!("id = {}", q(&format!("codeowners-line-{n}"))));
        w.line(&format!("tier = {}", q(&tier_name(role))));
        w.line(&format!(
            "description = {}",
            q(&format!(
                "CODEOWNERS line {n}: {pattern} {}",
                owners.join(" ")
            ))
        ));
        w.line(&format!("paths = {}", list(std::slice::from_ref(pattern))));
    }
    Ok(Raw {
        text: w.finish(),
        keys: Vec::new(),
        lost,
    })
}
