//! Other tools' policies as factory policies: GitHub/GitLab `CODEOWNERS`, policy-bot's
//! `.policy.yml` and sequoia-git's `openpgp-policy.toml`.
//!
//! An import gives the policy text, the certificate files that belong under `.factory/keys/`,
//! and the list of what the source said that factory cannot express (to be reviewed by hand).
//! What it gives always loads: [`import`] parses the text and its keys before returning them.
#![deny(missing_docs)]

mod codeowners;
mod policybot;
mod sequoia;

use factory_policy::{Policy, PolicyError};
use factory_trust::Keyring;

/// The tools whose policies factory reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// GitHub/GitLab CODEOWNERS: owners become roles, paths review rules.
    Codeowners,
    /// policy-bot's `.policy.yml`: approval rules become tiers, rules and requirements.
    PolicyBot,
    /// sequoia-git's `openpgp-policy.toml`: authorizations become people with their OpenPGP
    /// certificates and roles.
    SequoiaGit,
}

/// An imported policy: its text, certificate files for `keys/`, and what was left out.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The policy, as TOML text with a header naming the source and what was not expressed.
    pub text: String,
    /// Certificate files (name, bytes) that belong in the `keys/` directory beside the policy.
    pub keys: Vec<(String, Vec<u8>)>,
    /// What the source said that the policy does not express.
    pub lost: Vec<String>,
    /// The policy, loaded.
    pub policy: Policy,
}

/// Why an import gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The source is not a valid file of its format.
    #[error("{name}: {message}")]
    Source {
        /// The source's name, as given.
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// The policy written does not load: a defect of the importer.
    #[error("the imported policy does not load (a bug in the importer)")]
    Policy(#[source] PolicyError),
    /// The certificates written do not load.
    #[error("the imported keys do not load: {}", .0.join("; "))]
    Keys(Vec<String>),
}

/// Imports `text` (the file named `name`, used in the policy's header) written for `source`.
pub fn import(source: Source, name: &str, text: &str) -> Result<Imported, ImportError> {
    let raw = match source {
        Source::Codeowners => codeowners::import(name, text),
        Source::PolicyBot => policybot::import(name, text),
        Source::SequoiaGit => sequoia::import(name, text),
    }
    .map_err(|message| ImportError::Source {
        name: name.to_owned(),
        message,
    })?;
    // What factory writes must load, keys included.
    let policy = Policy::parse("imported policy", &raw.text).map_err(ImportError::Policy)?;
    if let Err(problems) = Keyring::from_policy(&policy, &raw.keys) {
        return Err(ImportError::Keys(
            problems.into_iter().map(|p| p.problem.message).collect(),
        ));
    }
    Ok(Imported {
        text: raw.text,
        keys: raw.keys,
        lost: raw.lost,
        policy,
    })
}

/// What an importer gives before it is checked.
pub(crate) struct Raw {
    pub(crate) text: String,
    pub(crate) keys: Vec<(String, Vec<u8>)>,
    pub(crate) lost: Vec<String>,
}

/// Builds policy text.
pub(crate) struct Writer {
    out: String,
}

pub(crate) fn q(s: &str) -> String {
    toml_string(s)
}

/// A TOML string literal (quoted and escaped).
pub fn toml_string(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_owned()
}

/// A TOML array of strings.
pub(crate) fn list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|i| q(i)).collect::<Vec<_>>().join(", ")
    )
}

/// A name usable as a rule id, tier or role: lowercase letters, digits and `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.to_lowercase().chars() {
        let folded = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => "a",
            'æ' => "ae",
            'ç' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'ý' | 'ÿ' => "y",
            'ß' => "ss",
            _ => "",
        };
        if !folded.is_empty() {
            out.push_str(folded);
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() { "x".to_owned() } else { out }
}

impl Writer {
    pub(crate) fn new(source: &str, lost: &[String]) -> Writer {
        let mut out = format!("# Imported from {source} by `factory policy import`.\n");
        if lost.is_empty() {
            out.push_str("# Everything was expressed.\n");
        } else {
            out.push_str("# Not expressed (review these by hand):\n");
            for l in lost {
                out.push_str(&format!("#   - {}\n", l.replace('\n', " ")));
            }
        }
        out.push_str("version = 1\n");
        Writer { out }
    }

    pub(crate) fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

    pub(crate) fn tier(&mut self, name: &str, description: &str, requires: &[(String, u32)]) {
        self.line("\n[[tier]]");
        self.line(&format!("name = {}", q(name)));
        self.line(&format!("description = {}", q(description)));
        if !requires.is_empty() {
            let reqs: Vec<String> = requires
                .iter()
                .map(|(role, count)| {
                    if *count == 1 {
                        format!("{{ role = {} }}", q(role))
                    } else {
                        format!("{{ role = {}, count = {count} }}", q(role))
                    }
                })
                .collect();
            self.line(&format!("requires = [{}]", reqs.join(", ")));
        }
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}
