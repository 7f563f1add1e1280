//! `factory policy import --from codeowners|policy-bot|sequoia-git FILE`: another tool's
//! policy as a factory policy, with the list of what could not be expressed.

mod codeowners;
mod policybot;
mod sequoia;

use std::path::PathBuf;
use std::process::ExitCode;

use factory_policy::Policy;
use factory_trust::Keyring;

use crate::Env;
use crate::error::{CliError, render};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum From {
    /// GitHub/GitLab CODEOWNERS: owners become roles, paths review rules.
    Codeowners,
    /// policy-bot's `.policy.yml`: approval rules become tiers, rules and requirements.
    PolicyBot,
    /// sequoia-git's `openpgp-policy.toml`: authorizations become people with their OpenPGP
    /// certificates and roles.
    SequoiaGit,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The format of FILE.
    #[arg(long, value_enum)]
    from: From,
    /// The file to import.
    file: PathBuf,
    /// Write the policy to OUT (certificates go to `keys/` beside it) instead of printing it.
    /// An existing file is not replaced without --force.
    #[arg(long, short = 'o', value_name = "OUT")]
    out: Option<PathBuf>,
    /// Replace OUT if it exists.
    #[arg(long)]
    force: bool,
}

/// An imported policy: its text, certificate files for `keys/`, and what was left out.
pub(crate) struct Imported {
    pub(crate) text: String,
    pub(crate) keys: Vec<(String, Vec<u8>)>,
    pub(crate) lost: Vec<String>,
}

/// Builds policy text.
pub(crate) struct Writer {
    out: String,
}

/// A TOML string literal.
pub(crate) fn q(s: &str) -> String {
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
pub(crate) fn slug(text: &str) -> String {
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

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    let path = env.cwd.join(&args.file);
    let bytes = std::fs::read(&path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::usage(format!("{} is not UTF-8 text", path.display())))?;
    // Named as given (the header of the policy must not carry this machine's paths).
    let name = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let imported = match args.from {
        From::Codeowners => codeowners::import(&name, &text),
        From::PolicyBot => policybot::import(&name, &text),
        From::SequoiaGit => sequoia::import(&name, &text),
    }
    .map_err(|e| CliError::usage(format!("{name}: {e}")))?;
    // What factory writes must load, keys included.
    let policy = Policy::parse("imported policy", &imported.text).map_err(|e| {
        CliError::internal(format!(
            "the imported policy does not load (a bug in the importer):\n{}",
            render(&e, false)
        ))
    })?;
    if let Err(problems) = Keyring::from_policy(&policy, &imported.keys) {
        return Err(CliError::internal(format!(
            "the imported keys do not load: {}",
            problems
                .iter()
                .map(|p| p.problem.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    match &args.out {
        None => {
            env.ui.out(&imported.text)?;
            if !imported.keys.is_empty() {
                env.ui.err(&format!(
                    "note: {} certificate file(s) belong under .factory/keys/: use -o .factory/policy.toml to write them\n",
                    imported.keys.len()
                ));
            }
        }
        Some(out) => {
            let out = env.cwd.join(out);
            if out.exists() && !args.force {
                return Err(CliError::usage(format!(
                    "{} exists: pass --force to replace it",
                    out.display()
                )));
            }
            let io = |e: std::io::Error| CliError::usage(format!("{}: {e}", out.display()));
            let dir = out.parent().map(PathBuf::from).unwrap_or_default();
            std::fs::create_dir_all(&dir).map_err(io)?;
            std::fs::write(&out, &imported.text).map_err(io)?;
            for (file, bytes) in &imported.keys {
                std::fs::create_dir_all(dir.join("keys")).map_err(io)?;
                std::fs::write(dir.join("keys").join(file), bytes).map_err(io)?;
            }
            env.ui.outln(&format!(
                "wrote {} ({} tier(s), {} rule(s), {} people, {} certificate file(s))",
                out.display(),
                policy.tiers.len(),
                policy.rules.len() - 1,
                policy.people.len(),
                imported.keys.len()
            ))?;
        }
    }
    for l in &imported.lost {
        env.ui.err(&format!("not expressed: {l}\n"));
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
