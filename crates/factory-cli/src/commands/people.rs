//! `factory people add NAME --role ROLE --key KEY`: a person of the policy, with their key.

use std::process::ExitCode;

use factory_git::Repo;
use factory_policy::{NewPerson, Policy, Severity, add_person};
use factory_trust::Keyring;

use crate::Env;
use crate::error::{CliError, render};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Add a person to .factory/policy.toml with their roles and signing key.
    ///
    /// KEY is an SSH public key (`ssh-ed25519 AAAA… comment`, or a `.pub` file) or an
    /// armored OpenPGP certificate file, which is stored as .factory/keys/NAME.asc. The policy
    /// is checked before it is written; the tiers it still cannot satisfy are named. Commit the
    /// change: it is a hard-stop change once the repository is governed.
    Add {
        /// The person's handle (`[people.NAME]`).
        name: String,
        /// A role they hold (repeat for several).
        #[arg(long = "role", value_name = "ROLE", required = true)]
        roles: Vec<String>,
        /// Their public key: SSH key text, a `.pub` file, or an armored OpenPGP certificate.
        #[arg(long, value_name = "KEY")]
        key: String,
        /// Their display name.
        #[arg(long = "full-name", value_name = "TEXT")]
        full_name: Option<String>,
        /// Their email address.
        #[arg(long, value_name = "ADDRESS")]
        email: Option<String>,
    },
}

pub(crate) fn run(env: &mut Env, cmd: Command) -> Result<ExitCode, CliError> {
    let Command::Add {
        name,
        roles,
        key,
        full_name,
        email,
    } = cmd;
    let repo = Repo::discover(&env.cwd)?;
    let work = repo
        .workdir()
        .ok_or_else(|| CliError::usage("factory people edits the policy of a working tree"))?;
    let path = work.join(".factory/policy.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::usage(format!(
            "cannot read {}: {e} (run `factory init` first)",
            path.display()
        ))
    })?;
    // The key: literal SSH text, or a file holding an SSH key or an OpenPGP certificate.
    let file = env.cwd.join(&key);
    let (policy_key, certificate) = if file.is_file() {
        let bytes = std::fs::read(&file)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display())))?;
        let text = String::from_utf8_lossy(&bytes);
        if text.contains("BEGIN PGP PUBLIC KEY BLOCK") {
            let fingerprints = Keyring::cert_fingerprints(&bytes)
                .map_err(|e| CliError::usage(format!("{}: {e}", file.display())))?;
            let fpr = fingerprints.first().ok_or_else(|| {
                CliError::usage(format!("{} holds no certificate", file.display()))
            })?;
            (format!("openpgp:{fpr}"), Some(bytes))
        } else {
            (
                ssh_key(text.lines().next().unwrap_or_default(), &key)?,
                None,
            )
        }
    } else {
        (ssh_key(&key, &key)?, None)
    };
    let person = NewPerson {
        handle: name.clone(),
        name: full_name,
        email,
        roles: roles.clone(),
        keys: vec![policy_key],
    };
    let edited = add_person(&text, &person).map_err(|e| CliError::usage(e.to_string()))?;
    let policy = Policy::parse(".factory/policy.toml", &edited)?;
    // The keys must load with the new one.
    let keys_dir = work.join(".factory/keys");
    let mut key_files: Vec<(String, Vec<u8>)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&keys_dir) {
        for e in entries.flatten() {
            if let Ok(bytes) = std::fs::read(e.path()) {
                key_files.push((e.file_name().to_string_lossy().into_owned(), bytes));
            }
        }
    }
    let cert_name = format!("{name}.asc");
    if let Some(cert) = &certificate {
        key_files.push((cert_name.clone(), cert.clone()));
    }
    if let Err(problems) = Keyring::from_policy(&policy, &key_files) {
        return Err(CliError::usage(format!(
            "the key does not load: {}",
            problems
                .iter()
                .map(|p| p.problem.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    let io = |e: std::io::Error| CliError::usage(format!("{}: {e}", path.display()));
    if let Some(cert) = &certificate {
        std::fs::create_dir_all(&keys_dir).map_err(io)?;
        std::fs::write(keys_dir.join(&cert_name), cert).map_err(io)?;
    }
    std::fs::write(&path, &edited).map_err(io)?;
    env.ui.outln(&format!(
        "added `{name}` ({}) to .factory/policy.toml{}",
        roles.join(", "),
        if certificate.is_some() {
            format!(", certificate in .factory/keys/{cert_name}")
        } else {
            String::new()
        }
    ))?;
    let color = env.ui.err_color();
    for w in policy
        .warnings
        .iter()
        .filter(|w| w.severity == Severity::Warning)
    {
        env.ui.err(&render(w, color));
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// An SSH public key line, checked.
fn ssh_key(line: &str, given: &str) -> Result<String, CliError> {
    let line = line.trim();
    ssh_key::PublicKey::from_openssh(line)
        .map(|_| line.to_owned())
        .map_err(|e| {
            CliError::usage(format!(
                "`{given}` is neither an SSH public key nor a key file: {e}"
            ))
        })
}
