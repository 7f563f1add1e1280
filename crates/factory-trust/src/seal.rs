//! Sealed files: OpenPGP encryption to the validators' certificates, so that agents and their
//! worktrees only ever see ciphertext (holdback scenarios), and decryption in memory with a
//! validator's secret key.

use std::io::{Read, Write};

pub use openpgp::Cert;
use openpgp::crypto::{KeyPair, SessionKey};
use openpgp::packet::{PKESK, SKESK};
use openpgp::parse::Parse;
use openpgp::parse::stream::{
    DecryptionHelper, DecryptorBuilder, MessageStructure, VerificationHelper,
};
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message};
use openpgp::types::{KeyFlags, SymmetricAlgorithm};
use sequoia_openpgp as openpgp;

/// Why a file could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// A certificate has no key that can encrypt.
    #[error("the certificate {0} has no valid encryption key")]
    NoEncryptionKey(String),
    /// No recipient was given.
    #[error("no certificate to encrypt to")]
    NoRecipient,
    /// The secret key cannot be used.
    #[error("the secret key cannot be used: {0}")]
    Key(String),
    /// The ciphertext is not for this key, or is damaged.
    #[error("cannot decrypt: {0}")]
    Decrypt(String),
    /// Sequoia failed.
    #[error("{0}")]
    OpenPgp(String),
}

/// Encrypts `plaintext` to every certificate (at-rest and for-transport encryption keys that
/// are alive and not revoked); the armored message.
pub fn seal(recipients: &[Cert], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    if recipients.is_empty() {
        return Err(SealError::NoRecipient);
    }
    let policy = StandardPolicy::new();
    let mode = KeyFlags::empty()
        .set_storage_encryption()
        .set_transport_encryption();
    let mut keys = Vec::new();
    for cert in recipients {
        let before = keys.len();
        keys.extend(
            cert.keys()
                .with_policy(&policy, None)
                .supported()
                .alive()
                .revoked(false)
                .key_flags(&mode),
        );
        if keys.len() == before {
            return Err(SealError::NoEncryptionKey(cert.fingerprint().to_hex()));
        }
    }
    let e = |e: anyhow_like::Error| SealError::OpenPgp(e.to_string());
    let mut out = Vec::new();
    {
        let message = Message::new(&mut out);
        let message = Armorer::new(message).build().map_err(e)?;
        let message = Encryptor::for_recipients(message, keys)
            .build()
            .map_err(e)?;
        let mut w = LiteralWriter::new(message).build().map_err(e)?;
        w.write_all(plaintext)
            .map_err(|e| SealError::OpenPgp(e.to_string()))?;
        w.finalize().map_err(e)?;
    }
    Ok(out)
}

/// The error type sequoia's fallible calls return.
mod anyhow_like {
    pub(super) type Error = sequoia_openpgp::anyhow::Error;
}

struct Helper {
    keys: Vec<(openpgp::KeyHandle, KeyPair)>,
}

impl VerificationHelper for Helper {
    fn get_certs(&mut self, _ids: &[openpgp::KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(Vec::new())
    }
    fn check(&mut self, _structure: MessageStructure) -> openpgp::Result<()> {
        Ok(())
    }
}

impl DecryptionHelper for Helper {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        _skesks: &[SKESK],
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<Cert>> {
        for pkesk in pkesks {
            let Some(recipient) = pkesk.recipient() else {
                continue;
            };
            for (handle, pair) in self.keys.iter_mut() {
                if handle.aliases(recipient.clone())
                    && pkesk
                        .decrypt(pair, sym_algo)
                        .map(|(algo, key)| decrypt(algo, &key))
                        .unwrap_or(false)
                {
                    return Ok(None);
                }
            }
        }
        Err(openpgp::anyhow::anyhow!(
            "the message is not encrypted to this key"
        ))
    }
}

/// Decrypts an armored or binary message with the unencrypted secret key `secret_key`
/// (armored OpenPGP), in memory.
pub fn open(secret_key: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, SealError> {
    let cert = Cert::from_bytes(secret_key).map_err(|e| SealError::Key(e.to_string()))?;
    let policy = StandardPolicy::new();
    let mut keys = Vec::new();
    for ka in cert
        .keys()
        .unencrypted_secret()
        .with_policy(&policy, None)
        .supported()
        .for_storage_encryption()
        .for_transport_encryption()
    {
        let pair = ka
            .key()
            .clone()
            .into_keypair()
            .map_err(|e| SealError::Key(e.to_string()))?;
        keys.push((ka.key().key_handle(), pair));
    }
    if keys.is_empty() {
        return Err(SealError::Key(
            "it holds no unencrypted secret encryption key".to_owned(),
        ));
    }
    let mut decryptor = DecryptorBuilder::from_bytes(ciphertext)
        .map_err(|e| SealError::Decrypt(e.to_string()))?
        .with_policy(&policy, None, Helper { keys })
        .map_err(|e| SealError::Decrypt(e.to_string()))?;
    let mut out = Vec::new();
    decryptor
        .read_to_end(&mut out)
        .map_err(|e| SealError::Decrypt(e.to_string()))?;
    Ok(out)
}
