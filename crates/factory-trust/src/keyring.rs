//! The keys a policy names, loaded and tied to their people.

use std::collections::BTreeMap;

use factory_policy::{Policy, Problem};
use openpgp::Cert;
use openpgp::cert::CertParser;
use openpgp::parse::Parse;
use sequoia_openpgp as openpgp;
use ssh_key::PublicKey;

/// A key of the policy that cannot be used.
#[derive(Debug, Clone)]
pub struct KeyProblem {
    /// The person whose key it is.
    pub person: String,
    /// The key as written.
    pub key: String,
    /// What is wrong, as a diagnostic pointing at the key in the policy.
    pub problem: Problem,
}

/// The people of a policy with their loaded keys.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    /// OpenPGP certificates by the person holding them.
    pub(crate) certs: Vec<(String, Cert)>,
    /// SSH public keys by the person holding them.
    pub(crate) ssh: Vec<(String, PublicKey)>,
    /// Roles by person.
    pub(crate) roles: BTreeMap<String, Vec<String>>,
    /// Names and emails by which a person may be claimed (lower case): handle, display name,
    /// email, SSH key comments, OpenPGP user ids.
    pub(crate) identities: BTreeMap<String, Vec<String>>,
    /// OpenPGP certificates of agents (`[agents.NAME]`), by agent. Consulted for commit
    /// signatures only, before people's: an agent key never counts as a person.
    pub(crate) agent_certs: Vec<(String, Cert)>,
    /// SSH public keys of agents, by agent.
    pub(crate) agent_ssh: Vec<(String, PublicKey)>,
}

/// The lower-cased forms of one name or `Name <email>` text: itself, its name, its email.
fn identity_forms(text: &str, out: &mut Vec<String>) {
    let text = text.trim().to_lowercase();
    if text.is_empty() {
        return;
    }
    if let Some((name, rest)) = text.split_once('<') {
        let email = rest.trim_end_matches('>').trim();
        for f in [name.trim(), email] {
            if !f.is_empty() && !out.iter().any(|o| o == f) {
                out.push(f.to_owned());
            }
        }
    }
    if !out.contains(&text) {
        out.push(text);
    }
}

/// One key of the policy, loaded.
enum Loaded {
    Cert(Box<Cert>),
    Ssh(PublicKey),
}

/// Loads `key` as written in the policy for `owner` (`("person", handle)` or
/// `("agent", name)`): an OpenPGP fingerprint found among `available`, or an SSH public key line.
fn load_key(
    policy: &Policy,
    available: &[Cert],
    (kind, owner): (&str, &String),
    key: &str,
    span: Option<std::ops::Range<usize>>,
) -> Result<Loaded, Box<KeyProblem>> {
    let fail = |message: String, help: &str| {
        Box::new(KeyProblem {
            person: owner.clone(),
            key: key.to_owned(),
            problem: policy.problem(span.clone(), message, "this key", Some(help.to_owned())),
        })
    };
    if let Some(fpr) = key.strip_prefix("openpgp:") {
        let wanted = fpr.to_ascii_uppercase();
        available
            .iter()
            .find(|c| c.keys().any(|k| k.key().fingerprint().to_hex() == wanted))
            .map(|c| Loaded::Cert(Box::new(c.clone())))
            .ok_or_else(|| {
                fail(
                    format!("no certificate under .factory/keys/ has the fingerprint {fpr} of {kind} `{owner}`"),
                    "add the armored certificate (gpg --export --armor FPR) as .factory/keys/NAME.asc",
                )
            })
    } else {
        PublicKey::from_openssh(key).map(Loaded::Ssh).map_err(|e| {
            fail(
                format!("the SSH key of {kind} `{owner}` cannot be read: {e}"),
                "paste the public key line as `ssh-keygen -y` prints it",
            )
        })
    }
}

impl Keyring {
    /// Loads the keys `policy` names. `key_files` are the (name, content) of the armored
    /// certificates under `.factory/keys/` of the same tree as the policy. Every key that
    /// cannot be loaded, and every fingerprint no certificate has, is a problem pointing at the
    /// key in the policy.
    pub fn from_policy(
        policy: &Policy,
        key_files: &[(String, Vec<u8>)],
    ) -> Result<Keyring, Vec<KeyProblem>> {
        let mut available: Vec<Cert> = Vec::new();
        let mut problems = Vec::new();
        for (name, bytes) in key_files {
            match CertParser::from_bytes(bytes) {
                Ok(parser) => {
                    for cert in parser {
                        match cert {
                            Ok(c) => available.push(c),
                            Err(e) => problems.push(KeyProblem {
                                person: String::new(),
                                key: name.clone(),
                                problem: policy.problem(
                                    None,
                                    format!("{name}: not an OpenPGP certificate: {e}"),
                                    "",
                                    None,
                                ),
                            }),
                        }
                    }
                }
                Err(e) => problems.push(KeyProblem {
                    person: String::new(),
                    key: name.clone(),
                    problem: policy.problem(
                        None,
                        format!("{name}: not an OpenPGP certificate: {e}"),
                        "",
                        None,
                    ),
                }),
            }
        }
        let mut ring = Keyring::default();
        for (handle, person) in &policy.people {
            ring.roles.insert(handle.clone(), person.roles.clone());
            let ids = ring.identities.entry(handle.clone()).or_default();
            identity_forms(handle, ids);
            identity_forms(&person.name, ids);
            if let Some(email) = &person.email {
                identity_forms(email, ids);
            }
            for key in &person.keys {
                // An SSH public key line's comment follows its type and base64 body.
                if !key.starts_with("openpgp:") {
                    let comment: Vec<&str> = key.split_whitespace().skip(2).collect();
                    identity_forms(&comment.join(" "), ids);
                }
            }
            for (i, key) in person.keys.iter().enumerate() {
                let span = person.key_spans.get(i).cloned().flatten();
                match load_key(policy, &available, ("person", handle), key, span) {
                    Ok(Loaded::Cert(cert)) => {
                        let ids = ring.identities.entry(handle.clone()).or_default();
                        for uid in cert.userids() {
                            identity_forms(&String::from_utf8_lossy(uid.userid().value()), ids);
                        }
                        ring.certs.push((handle.clone(), *cert));
                    }
                    Ok(Loaded::Ssh(k)) => ring.ssh.push((handle.clone(), k)),
                    Err(p) => problems.push(*p),
                }
            }
        }
        for (agent, principal) in &policy.agents.principals {
            for (i, key) in principal.keys.iter().enumerate() {
                let span = principal.key_spans.get(i).cloned().flatten();
                match load_key(policy, &available, ("agent", agent), key, span) {
                    Ok(Loaded::Cert(cert)) => ring.agent_certs.push((agent.clone(), *cert)),
                    Ok(Loaded::Ssh(k)) => ring.agent_ssh.push((agent.clone(), k)),
                    Err(p) => problems.push(*p),
                }
            }
        }
        if problems.is_empty() {
            Ok(ring)
        } else {
            Err(problems)
        }
    }

    /// A keyring of certificates and SSH keys without people (for verifying with keys given
    /// on the command line).
    pub fn from_parts(certs: Vec<(String, Cert)>, ssh: Vec<(String, PublicKey)>) -> Keyring {
        Keyring {
            certs,
            ssh,
            roles: BTreeMap::new(),
            identities: BTreeMap::new(),
            agent_certs: Vec::new(),
            agent_ssh: Vec::new(),
        }
    }

    /// Every certificate of an armored keyring (for tests and `--keyring`).
    pub fn certs_from_bytes(bytes: &[u8]) -> Result<Vec<Cert>, String> {
        CertParser::from_bytes(bytes)
            .map_err(|e| e.to_string())?
            .map(|c| c.map_err(|e| e.to_string()))
            .collect()
    }

    /// The primary-key fingerprints (upper-case hex) of the certificates in `bytes`.
    pub fn cert_fingerprints(bytes: &[u8]) -> Result<Vec<String>, String> {
        Ok(Self::certs_from_bytes(bytes)?
            .iter()
            .map(|c| c.fingerprint().to_hex())
            .collect())
    }

    /// Whether the keyring names any agent key.
    pub fn has_agent_keys(&self) -> bool {
        !self.agent_certs.is_empty() || !self.agent_ssh.is_empty()
    }

    /// Whether some certificate has a key with this fingerprint or key id (hex).
    pub fn knows_openpgp(&self, id: &str) -> bool {
        self.certs.iter().chain(&self.agent_certs).any(|(_, c)| {
            c.keys().any(|k| {
                let fpr = k.key().fingerprint().to_hex();
                fpr == id || fpr.ends_with(id)
            })
        })
    }

    /// The OpenPGP certificates of a person.
    pub fn certs_of(&self, person: &str) -> Vec<&Cert> {
        self.certs
            .iter()
            .filter(|(p, _)| p == person)
            .map(|(_, c)| c)
            .collect()
    }

    /// The roles of a person.
    pub fn roles(&self, person: &str) -> &[String] {
        self.roles.get(person).map_or(&[], Vec::as_slice)
    }
}

impl Keyring {
    /// Whether the key with this fingerprint (hex) is valid at `time` (seconds since the
    /// epoch): not expired, not revoked, its certificate alive. SSH keys of the policy carry no
    /// validity period and are always valid; a key the keyring does not hold is not.
    pub fn valid_at(&self, key: &str, time: i64) -> Result<(), String> {
        use openpgp::cert::amalgamation::ValidAmalgamation as _;
        use openpgp::types::RevocationStatus;
        if self
            .ssh
            .iter()
            .any(|(_, k)| k.fingerprint(ssh_key::HashAlg::Sha256).to_string() == key)
        {
            return Ok(());
        }
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(time.max(0) as u64);
        let policy = openpgp::policy::StandardPolicy::new();
        let wanted = key.to_ascii_uppercase();
        let Some((cert, handle)) = self.certs.iter().find_map(|(_, c)| {
            c.keys()
                .find(|k| k.key().fingerprint().to_hex() == wanted)
                .map(|k| (c, k.key().key_handle()))
        }) else {
            return Err(format!("the key {key} is no key of the policy"));
        };
        let vc = cert
            .with_policy(&policy, t)
            .map_err(|e| format!("the certificate is not valid now: {e}"))?;
        vc.alive()
            .map_err(|e| format!("the certificate is not alive now: {e}"))?;
        if matches!(vc.revocation_status(), RevocationStatus::Revoked(_)) {
            return Err("the certificate is revoked".to_owned());
        }
        let vka = vc
            .keys()
            .key_handle(handle)
            .next()
            .ok_or_else(|| "the signing key is not valid now".to_owned())?;
        if matches!(vka.revocation_status(), RevocationStatus::Revoked(_)) {
            return Err("the signing key is revoked".to_owned());
        }
        vka.alive()
            .map_err(|e| format!("the signing key is not alive now: {e}"))?;
        Ok(())
    }

    /// Whether `person` holds at least one key valid at `time`.
    pub fn person_valid_at(&self, person: &str, time: i64) -> bool {
        self.ssh.iter().any(|(p, _)| p == person)
            || self.certs.iter().any(|(p, c)| {
                p == person
                    && c.keys()
                        .any(|k| self.valid_at(&k.key().fingerprint().to_hex(), time).is_ok())
            })
    }

    /// The people of the keyring whom a claimed identity names: a `Requested-By` value, or a
    /// commit's author or committer (`Name <email>`). A claim names a person when its whole
    /// text, its name or its email (or the email's local part) equals, ignoring case, the
    /// person's handle, display name or email, or a name or email of one of the person's keys
    /// (an SSH key's comment, an OpenPGP user id). Claims only ever take away.
    pub fn people_claimed_by(&self, claim: &str) -> Vec<String> {
        let mut forms = Vec::new();
        identity_forms(claim, &mut forms);
        // The local part of an e-mail names a handle too (`bob@anywhere` names bob).
        let locals: Vec<String> = forms
            .iter()
            .filter_map(|f| f.split_once('@'))
            .map(|(local, _)| local.to_owned())
            .filter(|l| !l.is_empty() && !l.contains(' '))
            .collect();
        forms.extend(locals);
        self.identities
            .iter()
            .filter(|(_, ids)| ids.iter().any(|id| forms.contains(id)))
            .map(|(p, _)| p.clone())
            .collect()
    }
}
