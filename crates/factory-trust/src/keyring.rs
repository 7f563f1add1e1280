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
            for (i, key) in person.keys.iter().enumerate() {
                let span = person.key_spans.get(i).cloned().flatten();
                let fail = |message: String, help: &str| KeyProblem {
                    person: handle.clone(),
                    key: key.clone(),
                    problem: policy.problem(
                        span.clone(),
                        message,
                        "this key",
                        Some(help.to_owned()),
                    ),
                };
                if let Some(fpr) = key.strip_prefix("openpgp:") {
                    let wanted = fpr.to_ascii_uppercase();
                    let found = available
                        .iter()
                        .find(|c| c.keys().any(|k| k.key().fingerprint().to_hex() == wanted));
                    match found {
                        Some(cert) => ring.certs.push((handle.clone(), cert.clone())),
                        None => problems.push(fail(
                            format!("no certificate under .factory/keys/ has the fingerprint {fpr} of person `{handle}`"),
                            "add the armored certificate (gpg --export --armor FPR) as .factory/keys/NAME.asc",
                        )),
                    }
                } else {
                    match PublicKey::from_openssh(key) {
                        Ok(k) => ring.ssh.push((handle.clone(), k)),
                        Err(e) => problems.push(fail(
                            format!("the SSH key of person `{handle}` cannot be read: {e}"),
                            "paste the public key line as `ssh-keygen -y` prints it",
                        )),
                    }
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

    /// Whether some certificate has a key with this fingerprint or key id (hex).
    pub fn knows_openpgp(&self, id: &str) -> bool {
        self.certs.iter().any(|(_, c)| {
            c.keys().any(|k| {
                let fpr = k.key().fingerprint().to_hex();
                fpr == id || fpr.ends_with(id)
            })
        })
    }

    /// The roles of a person.
    pub fn roles(&self, person: &str) -> &[String] {
        self.roles.get(person).map_or(&[], Vec::as_slice)
    }
}
