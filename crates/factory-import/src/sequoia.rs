//! sequoia-git's `openpgp-policy.toml`: each authorization becomes a person with the OpenPGP
//! certificates of its keyring (stored under `keys/`) and roles for its capabilities; every
//! change must be signed by a committer, and governance changes by a person who may add and
//! retire users — sequoia-git's own rule.

use factory_trust::Keyring;

use crate::{Raw, Writer, list, q, slug};

/// sequoia-git capability → factory role.
const CAPABILITIES: &[(&str, &str)] = &[
    ("sign_commit", "committer"),
    ("sign_tag", "tagger"),
    ("sign_archive", "releaser"),
    ("add_user", "policy-admin"),
    ("retire_user", "policy-admin"),
    ("audit", "auditor"),
];

pub(crate) fn import(name: &str, text: &str) -> Result<Raw, String> {
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let mut lost = Vec::new();
    if let Some(v) = doc.get("version").and_then(toml::Value::as_integer)
        && v != 0
    {
        lost.push(format!("policy version {v} (only version 0 is known)"));
    }
    if let Some(goodlist) = doc.get("commit_goodlist").and_then(toml::Value::as_array)
        && !goodlist.is_empty()
    {
        lost.push(format!(
            "commit_goodlist: {} commit(s) accepted without a valid signature; factory judges every commit of a range",
            goodlist.len()
        ));
    }
    for key in doc.keys() {
        if !matches!(
            key.as_str(),
            "version" | "commit_goodlist" | "authorization"
        ) {
            lost.push(format!("top-level key `{key}`"));
        }
    }
    let auths = doc
        .get("authorization")
        .and_then(toml::Value::as_table)
        .ok_or("no [authorization.NAME] tables")?;
    let mut people = Vec::new();
    let mut keys: Vec<(String, Vec<u8>)> = Vec::new();
    let mut used: Vec<String> = Vec::new();
    for (who, entry) in auths {
        let entry = entry
            .as_table()
            .ok_or_else(|| format!("authorization `{who}` is not a table"))?;
        let display = who.split('<').next().unwrap_or(who).trim().to_owned();
        let email = who
            .split_once('<')
            .and_then(|(_, rest)| rest.split_once('>'))
            .map(|(e, _)| e.to_owned());
        let mut handle = slug(&display);
        let mut n = 2;
        while used.contains(&handle) {
            handle = format!("{}-{n}", slug(&display));
            n += 1;
        }
        used.push(handle.clone());
        let mut roles: Vec<String> = Vec::new();
        for (cap, value) in entry {
            if cap == "keyring" {
                continue;
            }
            match (CAPABILITIES.iter().find(|(c, _)| c == cap), value.as_bool()) {
                (Some((_, role)), Some(true)) => {
                    if !roles.iter().any(|r| r == role) {
                        roles.push((*role).to_owned());
                    }
                }
                (Some(_), Some(false)) => {}
                _ => lost.push(format!("`{cap}` of authorization `{who}`")),
            }
        }
        let keyring = entry
            .get("keyring")
            .and_then(toml::Value::as_str)
            .unwrap_or_default();
        let fingerprints = Keyring::cert_fingerprints(keyring.as_bytes())
            .map_err(|e| format!("the keyring of `{who}` cannot be read: {e}"))?;
        if fingerprints.is_empty() {
            lost.push(format!("`{who}` has no certificate, so no key"));
        } else {
            keys.push((format!("{handle}.asc"), keyring.as_bytes().to_vec()));
        }
        people.push((handle, display, email, roles, fingerprints));
    }
    let held = |role: &str| people.iter().any(|p| p.3.iter().any(|r| r == role));
    let signed: Vec<(String, u32)> = if held("committer") {
        vec![("committer".to_owned(), 1)]
    } else {
        lost.push("no authorization may sign commits: the `signed` tier has no requirement".into());
        Vec::new()
    };
    let governance: Vec<(String, u32)> = if held("policy-admin") {
        vec![("policy-admin".to_owned(), 1)]
    } else {
        lost.push(
            "no authorization may add or retire users: governance changes need a committer".into(),
        );
        signed.clone()
    };
    let mut w = Writer::new(&format!("sequoia-git policy {name}"), &lost);
    w.line("default-tier = \"signed\"");
    w.tier(
        "signed",
        "Every change is signed by a person allowed to commit (sequoia-git: sign_commit); a signed commit approves itself.",
        &signed,
    );
    w.tier(
        "governance",
        "The policy and its keys: a person allowed to add and retire users (sequoia-git: add_user, retire_user).",
        &governance,
    );
    w.line("\n[gate]\nrequire-signed-human-commits = true");
    for (handle, display, email, roles, fingerprints) in &people {
        w.line(&format!("\n[people.{handle}]"));
        w.line(&format!("name = {}", q(display)));
        if let Some(e) = email {
            w.line(&format!("email = {}", q(e)));
        }
        w.line(&format!("roles = {}", list(roles)));
        let k: Vec<String> = fingerprints
            .iter()
            .map(|f| format!("openpgp:{f}"))
            .collect();
        w.line(&format!("keys = {}", list(&k)));
    }
    Ok(Raw {
        text: w.finish(),
        keys,
        lost,
    })
}
