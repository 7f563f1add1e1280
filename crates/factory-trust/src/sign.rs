//! Signing statements: in-process with a key file (OpenPGP or OpenSSH), or through the signer
//! that git is configured with (`gpg`, `ssh-keygen -Y sign`), the way `git commit -S` signs.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::approval::{APPROVAL_NAMESPACE, StatementSig};

/// Who signs, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// In-process, with the unencrypted secret key in this file (armored OpenPGP, or an OpenSSH
    /// private key).
    KeyFile(PathBuf),
    /// `gpg --detach-sign`, as the given user (`user.signingkey`) or gpg's default key.
    Gpg {
        /// The `--local-user` to sign as.
        local_user: Option<String>,
    },
    /// `ssh-keygen -Y sign` with this key (a private key file, or a public key whose private
    /// half the agent holds).
    SshKeygen {
        /// The `-f` argument.
        key: String,
    },
}

/// Why nothing was signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The key file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The key file holds no key that can sign.
    #[error("{path}: {message}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// git's signing setup cannot sign statements.
    #[error("{0}")]
    Setup(String),
    /// The external signer could not be run or failed.
    #[error("{program} failed: {message}")]
    Tool {
        /// `gpg` or `ssh-keygen`.
        program: &'static str,
        /// Its error output, or why it could not start.
        message: String,
    },
}

impl Signer {
    /// The signer git's configuration names: `gpg.format` (`openpgp` when unset) and
    /// `user.signingkey`.
    pub fn from_git_config(
        format: Option<&str>,
        signing_key: Option<&str>,
    ) -> Result<Signer, SignError> {
        match format.unwrap_or("openpgp") {
            "ssh" => Ok(Signer::SshKeygen {
                key: signing_key
                    .ok_or_else(|| {
                        SignError::Setup("gpg.format is ssh but user.signingkey is not set".into())
                    })?
                    .to_owned(),
            }),
            "openpgp" => Ok(Signer::Gpg {
                local_user: signing_key.map(str::to_owned),
            }),
            other => Err(SignError::Setup(format!(
                "gpg.format `{other}` cannot sign approvals (use openpgp or ssh, or --key)"
            ))),
        }
    }

    /// Signs `bytes` as a statement (SSH signatures in the approval namespace).
    pub fn sign(&self, bytes: &[u8]) -> Result<StatementSig, SignError> {
        match self {
            Signer::KeyFile(path) => sign_with_file(path, bytes),
            Signer::Gpg { local_user } => {
                let mut args = vec!["--batch", "--detach-sign", "--armor"];
                if let Some(k) = local_user.as_deref() {
                    args.extend(["--local-user", k]);
                }
                let tool = |message: String| SignError::Tool {
                    program: "gpg",
                    message,
                };
                let mut child = Command::new("gpg")
                    .args(&args)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| tool(format!("cannot run gpg: {e}")))?;
                if let Some(mut stdin) = child.stdin.take() {
                    stdin.write_all(bytes).map_err(|e| tool(e.to_string()))?;
                }
                let out = child.wait_with_output().map_err(|e| tool(e.to_string()))?;
                if !out.status.success() {
                    return Err(tool(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
                }
                Ok(StatementSig {
                    format: "openpgp".into(),
                    armored: String::from_utf8_lossy(&out.stdout).into_owned(),
                })
            }
            Signer::SshKeygen { key } => {
                let tool = |message: String| SignError::Tool {
                    program: "ssh-keygen",
                    message,
                };
                let dir = tempfile::tempdir().map_err(|e| tool(e.to_string()))?;
                let msg = dir.path().join("statement");
                std::fs::write(&msg, bytes).map_err(|e| tool(e.to_string()))?;
                let out = Command::new("ssh-keygen")
                    .args(["-Y", "sign", "-n", APPROVAL_NAMESPACE, "-f", key])
                    .arg(&msg)
                    .output()
                    .map_err(|e| tool(format!("cannot run ssh-keygen: {e}")))?;
                if !out.status.success() {
                    return Err(tool(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
                }
                let armored = std::fs::read_to_string(msg.with_extension("sig"))
                    .map_err(|e| tool(e.to_string()))?;
                Ok(StatementSig {
                    format: "ssh".into(),
                    armored,
                })
            }
        }
    }
}

fn sign_with_file(path: &std::path::Path, bytes: &[u8]) -> Result<StatementSig, SignError> {
    let text = std::fs::read_to_string(path).map_err(|source| SignError::Read {
        path: path.to_owned(),
        source,
    })?;
    let key = |message: String| SignError::Key {
        path: path.to_owned(),
        message,
    };
    if text.contains("BEGIN OPENSSH PRIVATE KEY") {
        let private = ssh_key::PrivateKey::from_openssh(&text).map_err(|e| key(e.to_string()))?;
        let sig = private
            .sign(APPROVAL_NAMESPACE, ssh_key::HashAlg::Sha512, bytes)
            .map_err(|e| key(format!("cannot sign: {e}")))?;
        let armored = sig
            .to_pem(ssh_key::LineEnding::LF)
            .map_err(|e| key(e.to_string()))?;
        return Ok(StatementSig {
            format: "ssh".into(),
            armored,
        });
    }
    let armored = crate::approval::sign_openpgp(text.as_bytes(), bytes).map_err(key)?;
    Ok(StatementSig {
        format: "openpgp".into(),
        armored,
    })
}
