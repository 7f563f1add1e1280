//! Verifying a commit's signature against a keyring.

use openpgp::cert::amalgamation::ValidAmalgamation;
use openpgp::packet::Signature;
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::types::RevocationStatus;
use openpgp::{Packet, PacketPile};
use sequoia_openpgp as openpgp;
use serde::{Deserialize, Serialize};
use ssh_key::{HashAlg, SshSig};

use crate::allowed_signers::AllowedSigners;
use crate::commit::signed_commit;
use crate::keyring::Keyring;

/// The namespace git signs commits in with SSH keys.
pub const GIT_NAMESPACE: &str = "git";

/// What kind of signature a commit carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureKind {
    /// OpenPGP (`-----BEGIN PGP SIGNATURE-----`, or armored as a MESSAGE).
    OpenPgp,
    /// SSH (`-----BEGIN SSH SIGNATURE-----`).
    Ssh,
    /// X.509 / gitsign (`-----BEGIN SIGNED MESSAGE-----`).
    X509,
}

/// The verdict on a commit's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// No signature.
    Unsigned,
    /// A valid signature by a known key.
    Good {
        /// OpenPGP or SSH.
        kind: SignatureKind,
        /// The person of the policy holding the key (None for a key known only from an
        /// allowed_signers file).
        person: Option<String>,
        /// The principal of the allowed_signers entry, when that is how the key is known.
        principal: Option<String>,
        /// The signing key's fingerprint.
        key: String,
        /// The person's roles in the policy.
        roles: Vec<String>,
        /// The agent of the policy (`[agents.NAME]`) holding the key: the commit is that
        /// agent's, verified. `person` is then None and `roles` empty.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<String>,
    },
    /// The signature does not verify (tampered commit or forged signature).
    Bad {
        /// OpenPGP or SSH.
        kind: SignatureKind,
        /// The key it claims.
        key: String,
        /// Why.
        reason: String,
    },
    /// Signed by a key the keyring does not know.
    UnknownKey {
        /// OpenPGP or SSH.
        kind: SignatureKind,
        /// The key it names.
        key: String,
    },
    /// The key was not valid (expired, or not yet valid) when the signature was made.
    Expired {
        /// OpenPGP or SSH.
        kind: SignatureKind,
        /// Whose key.
        person: Option<String>,
        /// The key.
        key: String,
        /// Details.
        reason: String,
    },
    /// The key is revoked (hard revocation: for every signature; soft: from its date).
    Revoked {
        /// OpenPGP.
        kind: SignatureKind,
        /// Whose key.
        person: Option<String>,
        /// The key.
        key: String,
    },
    /// A signature factory does not verify (x509 / gitsign). Never good.
    Unsupported {
        /// The kind.
        kind: SignatureKind,
    },
    /// The signature header holds something that is not a signature.
    Malformed {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// The verdict's name: `good`, `bad`, `unknown-key`, `expired`, `revoked`, `unsupported`,
    /// `malformed`, `unsigned`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Unsigned => "unsigned",
            Verdict::Good { .. } => "good",
            Verdict::Bad { .. } => "bad",
            Verdict::UnknownKey { .. } => "unknown-key",
            Verdict::Expired { .. } => "expired",
            Verdict::Revoked { .. } => "revoked",
            Verdict::Unsupported { .. } => "unsupported",
            Verdict::Malformed { .. } => "malformed",
        }
    }

    /// Whether the signature proves that the named person signed.
    pub fn is_good(&self) -> bool {
        matches!(self, Verdict::Good { .. })
    }
}

/// Verifies the signature of a raw commit object.
pub fn verify_commit(raw: &[u8], keyring: &Keyring, allowed: Option<&AllowedSigners>) -> Verdict {
    let Some(signed) = signed_commit(raw) else {
        return Verdict::Unsigned;
    };
    let sig = signed.signature.trim_start();
    if sig.starts_with("-----BEGIN PGP SIGNATURE-----")
        || sig.starts_with("-----BEGIN PGP MESSAGE-----")
    {
        verify_openpgp(sig, &signed.payload, keyring, Signers::AgentsAndPeople)
    } else if sig.starts_with("-----BEGIN SSH SIGNATURE-----") {
        verify_ssh(
            sig,
            &signed.payload,
            GIT_NAMESPACE,
            signed.committer_time,
            keyring,
            allowed,
            Signers::AgentsAndPeople,
        )
    } else if sig.starts_with("-----BEGIN SIGNED MESSAGE-----") {
        Verdict::Unsupported {
            kind: SignatureKind::X509,
        }
    } else {
        Verdict::Malformed {
            reason: "the signature header holds no armored signature".to_owned(),
        }
    }
}

/// Whose keys a signature may be made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signers {
    /// Commits: agents' keys (looked up first) and people's.
    AgentsAndPeople,
    /// Statements: people's keys only; an agent key is reported as such, never good.
    People,
}

/// The first (holder, certificate) of `list` with a key one of `issuers` names.
fn holder_of<'a>(
    list: &'a [(String, openpgp::Cert)],
    issuers: &[openpgp::KeyHandle],
) -> Option<(&'a String, &'a openpgp::Cert)> {
    list.iter()
        .find(|(_, cert)| {
            cert.keys()
                .any(|ka| issuers.iter().any(|h| h.aliases(ka.key().key_handle())))
        })
        .map(|(owner, cert)| (owner, cert))
}

/// Verifies an armored OpenPGP signature over `payload` against the keyring, judged at the
/// signature's creation time.
pub(crate) fn verify_openpgp(
    armored: &str,
    payload: &[u8],
    keyring: &Keyring,
    signers: Signers,
) -> Verdict {
    let kind = SignatureKind::OpenPgp;
    let malformed = |reason: String| Verdict::Malformed { reason };
    let pile = match PacketPile::from_bytes(armored.as_bytes()) {
        Ok(p) => p,
        Err(e) => return malformed(format!("not an OpenPGP signature: {e}")),
    };
    let sigs: Vec<&Signature> = pile
        .descendants()
        .filter_map(|p| match p {
            Packet::Signature(s) => Some(s),
            _ => None,
        })
        .collect();
    let Some(sig) = sigs.first() else {
        // A signature sequoia refuses to parse (GitHub's web-flow signatures carry
        // non-minimal MPIs) is never good; name its issuer so that an unknown key reads as one.
        let unparsed = pile.descendants().find_map(|p| match p {
            Packet::Unknown(u) if u.tag() == openpgp::packet::Tag::Signature => Some(u),
            _ => None,
        });
        return match unparsed {
            Some(u) => match issuer_of_unparsed(u.body()) {
                Some(issuer) if !keyring.knows_openpgp(&issuer) => {
                    Verdict::UnknownKey { kind, key: issuer }
                }
                _ => malformed(format!(
                    "the signature packet cannot be parsed: {}",
                    u.error()
                )),
            },
            None => malformed("no signature packet".to_owned()),
        };
    };
    let issuers = sig.get_issuers();
    let Some(first_issuer) = issuers.first() else {
        return malformed("the signature names no issuer".to_owned());
    };
    let Some(t) = sig.signature_creation_time() else {
        return malformed("the signature has no creation time".to_owned());
    };
    let policy = StandardPolicy::new();
    let found = match holder_of(&keyring.agent_certs, &issuers) {
        Some((agent, cert)) => Some((agent.clone(), true, cert)),
        None => holder_of(&keyring.certs, &issuers).map(|(p, c)| (p.clone(), false, c)),
    };
    let found = found.and_then(|(owner, is_agent, cert)| {
        cert.keys()
            .find(|ka| issuers.iter().any(|h| h.aliases(ka.key().key_handle())))
            .map(|ka| (owner, is_agent, cert, ka))
    });
    if let Some((agent, true, _, ka)) = &found
        && signers == Signers::People
    {
        return Verdict::Bad {
            kind,
            key: ka.key().fingerprint().to_hex(),
            reason: format!("signed with the key of agent `{agent}`: agents never approve"),
        };
    }
    let Some((owner, is_agent, cert, ka)) = found else {
        return Verdict::UnknownKey {
            kind,
            key: first_issuer.to_hex(),
        };
    };
    let key = ka.key().fingerprint().to_hex();
    let person = (!is_agent).then(|| owner.clone());
    if let Err(e) = sig.verify_message(ka.key(), payload) {
        return Verdict::Bad {
            kind,
            key,
            reason: format!("{e}"),
        };
    }
    if matches!(
        cert.revocation_status(&policy, t),
        RevocationStatus::Revoked(_)
    ) {
        return Verdict::Revoked {
            kind,
            person: person.clone(),
            key,
        };
    }
    let expired = |reason: String| Verdict::Expired {
        kind,
        person: person.clone(),
        key: key.clone(),
        reason,
    };
    let vc = match cert.with_policy(&policy, t) {
        Ok(vc) => vc,
        Err(e) => {
            return expired(format!(
                "the certificate was not valid when the signature was made: {e}"
            ));
        }
    };
    if let Err(e) = vc.alive() {
        return expired(format!(
            "the certificate was not alive when the signature was made: {e}"
        ));
    }
    let Some(vka) = vc.keys().key_handle(ka.key().key_handle()).next() else {
        return expired("the signing key was not valid when the signature was made".to_owned());
    };
    if matches!(vka.revocation_status(), RevocationStatus::Revoked(_)) {
        return Verdict::Revoked {
            kind,
            person: person.clone(),
            key,
        };
    }
    if let Err(e) = vka.alive() {
        return expired(format!(
            "the signing key was not alive when the signature was made: {e}"
        ));
    }
    if !vka.for_signing() {
        return Verdict::Bad {
            kind,
            key,
            reason: "the key is not a signing key".to_owned(),
        };
    }
    if is_agent {
        return Verdict::Good {
            kind,
            person: None,
            principal: None,
            key,
            roles: Vec::new(),
            agent: Some(owner),
        };
    }
    Verdict::Good {
        kind,
        person: Some(owner.clone()),
        principal: None,
        key,
        roles: keyring.roles(&owner).to_vec(),
        agent: None,
    }
}

/// Verifies an armored SSH signature over `payload` in `namespace` against the keyring (and
/// an allowed_signers file, judged at `time`).
pub(crate) fn verify_ssh(
    armored: &str,
    payload: &[u8],
    namespace: &str,
    time: Option<i64>,
    keyring: &Keyring,
    allowed: Option<&AllowedSigners>,
    signers: Signers,
) -> Verdict {
    let kind = SignatureKind::Ssh;
    let sig = match SshSig::from_pem(armored.as_bytes()) {
        Ok(s) => s,
        Err(e) => {
            return Verdict::Malformed {
                reason: format!("not an SSH signature: {e}"),
            };
        }
    };
    let key_data = sig.public_key();
    let fingerprint = ssh_key::PublicKey::from(key_data.clone())
        .fingerprint(HashAlg::Sha256)
        .to_string();
    if sig.namespace() != namespace {
        return Verdict::Bad {
            kind,
            key: fingerprint,
            reason: format!(
                "signed in namespace `{}`, not `{namespace}`",
                sig.namespace()
            ),
        };
    }
    if let Some((agent, key)) = keyring
        .agent_ssh
        .iter()
        .find(|(_, k)| k.key_data() == key_data)
    {
        if signers == Signers::People {
            return Verdict::Bad {
                kind,
                key: fingerprint,
                reason: format!("signed with the key of agent `{agent}`: agents never approve"),
            };
        }
        return match key.verify(namespace, payload, &sig) {
            Ok(()) => Verdict::Good {
                kind,
                person: None,
                principal: None,
                key: fingerprint,
                roles: Vec::new(),
                agent: Some(agent.clone()),
            },
            Err(e) => Verdict::Bad {
                kind,
                key: fingerprint,
                reason: e.to_string(),
            },
        };
    }
    if let Some((person, key)) = keyring.ssh.iter().find(|(_, k)| k.key_data() == key_data) {
        return match key.verify(namespace, payload, &sig) {
            Ok(()) => Verdict::Good {
                kind,
                person: Some(person.clone()),
                principal: None,
                key: fingerprint,
                roles: keyring.roles(person).to_vec(),
                agent: None,
            },
            Err(e) => Verdict::Bad {
                kind,
                key: fingerprint,
                reason: e.to_string(),
            },
        };
    }
    if let Some(allowed) = allowed {
        if let Some(entry) = allowed.allowing(key_data, namespace, time, None).next() {
            return match entry.key.verify(namespace, payload, &sig) {
                Ok(()) => Verdict::Good {
                    kind,
                    person: None,
                    principal: entry.principals.first().cloned(),
                    key: fingerprint,
                    roles: Vec::new(),
                    agent: None,
                },
                Err(e) => Verdict::Bad {
                    kind,
                    key: fingerprint,
                    reason: e.to_string(),
                },
            };
        }
        if allowed
            .allowing(key_data, namespace, None, None)
            .next()
            .is_some()
        {
            return Verdict::Expired {
                kind,
                person: None,
                key: fingerprint,
                reason: "outside the key's valid-after / valid-before in allowed_signers"
                    .to_owned(),
            };
        }
    }
    Verdict::UnknownKey {
        kind,
        key: fingerprint,
    }
}

/// The issuer (fingerprint, else key id, in hex) of a version 4 signature packet body, read
/// without interpreting the rest of the packet.
fn issuer_of_unparsed(body: &[u8]) -> Option<String> {
    if body.first() != Some(&4) {
        return None;
    }
    let mut at = 4;
    let mut found: Option<String> = None;
    for _ in 0..2 {
        let len = u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]) as usize;
        at += 2;
        let area = body.get(at..at + len)?;
        at += len;
        let mut i = 0;
        while i < area.len() {
            let (sub_len, skip) = match area[i] {
                n @ 0..=191 => (n as usize, 1),
                n @ 192..=254 => (
                    (((n as usize) - 192) << 8) + *area.get(i + 1)? as usize + 192,
                    2,
                ),
                255 => (
                    u32::from_be_bytes(area.get(i + 1..i + 5)?.try_into().ok()?) as usize,
                    5,
                ),
            };
            let sub = area.get(i + skip..i + skip + sub_len)?;
            let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
            match sub.first().map(|t| t & 0x7f) {
                Some(33) if sub.len() > 2 => return Some(hex(&sub[2..])),
                Some(16) if sub.len() == 9 => found = Some(hex(&sub[1..])),
                _ => {}
            }
            i += skip + sub_len;
        }
    }
    found
}

/// The creation time of an armored OpenPGP signature (seconds since the epoch), if it parses.
pub(crate) fn openpgp_signature_time(armored: &str) -> Option<i64> {
    let pile = PacketPile::from_bytes(armored.as_bytes()).ok()?;
    pile.descendants().find_map(|p| match p {
        Packet::Signature(s) => s
            .signature_creation_time()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64),
        _ => None,
    })
}

/// When the OpenPGP signature of a raw commit says it was made (seconds since the epoch).
pub fn signature_time(raw: &[u8]) -> Option<i64> {
    signed_commit(raw).and_then(|s| openpgp_signature_time(&s.signature))
}

/// A verdict as it stands for a decision made at `now` (a push, or an audit of changes not yet
/// landed): a good signature counts only if its key is still valid at `now`, and never when
/// it is dated (`signed_at`) before the commit it signs (`committed_at`): a signer chooses the
/// time it writes, and a backdated signature would let an expired key sign today. Other
/// verdicts are returned as they are.
pub fn judge_now(
    verdict: Verdict,
    signed_at: Option<i64>,
    committed_at: i64,
    keyring: &Keyring,
    now: i64,
) -> Verdict {
    let Verdict::Good {
        kind, person, key, ..
    } = &verdict
    else {
        return verdict;
    };
    if let Some(signed_at) = signed_at
        && signed_at < committed_at
    {
        return Verdict::Bad {
            kind: *kind,
            key: key.clone(),
            reason: format!(
                "the signature is dated {signed_at}, before the commit it signs ({committed_at}): backdated"
            ),
        };
    }
    if let Err(reason) = keyring.valid_at(key, now) {
        return Verdict::Expired {
            kind: *kind,
            person: person.clone(),
            key: key.clone(),
            reason,
        };
    }
    verdict
}
