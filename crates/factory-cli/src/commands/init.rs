//! `factory init`: a governed repository in one command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use factory_git::Repo;
use factory_policy::{Policy, SHIPPED_POLICIES, shipped};
use factory_trust::Keyring;

use crate::Env;
use crate::error::{CliError, render};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The policy to start from: `default`, `regulated` or `open-source` (see `factory policy
    /// show --template NAME`).
    #[arg(long, value_name = "NAME", default_value = "default")]
    template: String,
    /// Replace an existing .factory/policy.toml.
    #[arg(long)]
    force: bool,
    /// Your handle in the policy. Default: from user.email (the part before `@`), else user.name.
    #[arg(long, value_name = "HANDLE")]
    handle: Option<String>,
    /// Do not install the pre-push hook.
    #[arg(long)]
    no_hooks: bool,
}

fn git_err(e: impl std::fmt::Display) -> CliError {
    CliError::internal(e.to_string())
}

fn config(repo: &Repo, key: &str) -> Result<Option<String>, CliError> {
    Ok(repo.config_all(key).map_err(git_err)?.pop())
}

use factory_import::{slug as handle_from, toml_string};

/// The signing key in the git configuration, as a policy key; for OpenPGP also the armored
/// certificate to store under .factory/keys/. None, with the reason, when there is none.
fn signing_key(
    repo: &Repo,
    work: &Path,
) -> Result<Result<(String, Option<String>), String>, CliError> {
    let format = config(repo, "gpg.format")?.unwrap_or_else(|| "openpgp".into());
    let Some(key) = config(repo, "user.signingkey")? else {
        return Ok(Err(
            "user.signingkey is not set, so no key was added: set it (and gpg.format), then run `factory init --force`".into(),
        ));
    };
    match format.as_str() {
        "ssh" => {
            if let Some(literal) = key.strip_prefix("key::") {
                return Ok(Ok((literal.trim().to_owned(), None)));
            }
            let path = match key.strip_prefix("~/") {
                Some(rest) => std::env::var_os("HOME")
                    .map(|h| PathBuf::from(h).join(rest))
                    .unwrap_or_else(|| PathBuf::from(&key)),
                None => work.join(&key),
            };
            let public = if path.extension().is_some_and(|e| e == "pub") {
                path.clone()
            } else {
                PathBuf::from(format!("{}.pub", path.display()))
            };
            match std::fs::read_to_string(&public) {
                Ok(text)
                    if text.trim_start().starts_with("ssh-")
                        || text.trim_start().starts_with("ecdsa-") =>
                {
                    Ok(Ok((
                        text.lines().next().unwrap_or("").trim().to_owned(),
                        None,
                    )))
                }
                _ => Ok(Err(format!(
                    "cannot read the SSH public key {} (from user.signingkey): no key was added",
                    public.display()
                ))),
            }
        }
        "openpgp" => {
            let run = |args: &[&str]| -> Option<String> {
                let out = std::process::Command::new("gpg")
                    .arg("--batch")
                    .args(args)
                    .output()
                    .ok()?;
                out.status
                    .success()
                    .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
            };
            let Some(fpr) = run(&["--with-colons", "--fingerprint", &key]).and_then(|l| {
                l.lines()
                    .find(|l| l.starts_with("fpr:"))
                    .and_then(|l| l.split(':').nth(9))
                    .map(str::to_owned)
            }) else {
                return Ok(Err(format!(
                    "gpg does not know the key {key} of user.signingkey: no key was added"
                )));
            };
            match run(&["--armor", "--export", &fpr]) {
                Some(armored) if armored.contains("BEGIN PGP PUBLIC KEY BLOCK") => {
                    Ok(Ok((format!("openpgp:{fpr}"), Some(armored))))
                }
                _ => Ok(Err(format!(
                    "gpg cannot export the key {fpr}: no key was added"
                ))),
            }
        }
        other => Ok(Err(format!(
            "gpg.format `{other}` is not supported for approvals (openpgp or ssh): no key was added"
        ))),
    }
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let Some(work) = repo.workdir() else {
        return Err(CliError::usage(
            "factory init sets up a clone; on a server, run `factory hooks install --server`",
        ));
    };
    let Some(template) = shipped(&args.template) else {
        let names: Vec<&str> = SHIPPED_POLICIES.iter().map(|p| p.name).collect();
        return Err(CliError::usage(format!(
            "no template `{}`: choose one of {}",
            args.template,
            names.join(", ")
        )));
    };
    let policy_path = work.join(".factory/policy.toml");
    let mut done = Vec::new();
    let mut notes = Vec::new();
    if policy_path.exists() && !args.force {
        done.push("kept .factory/policy.toml (--force replaces it)".to_owned());
    } else {
        let name = config(&repo, "user.name")?;
        let email = config(&repo, "user.email")?;
        let handle = match &args.handle {
            Some(h) => h.clone(),
            None => handle_from(
                email
                    .as_deref()
                    .and_then(|e| e.split('@').next())
                    .or(name.as_deref())
                    .unwrap_or("me"),
            ),
        };
        let template_policy = Policy::parse(template.name, template.text).map_err(|e| {
            CliError::internal(format!("the shipped template does not load: {e:?}"))
        })?;
        let mut roles: Vec<String> = Vec::new();
        for tier in &template_policy.tiers {
            for r in &tier.requires {
                if !roles.contains(&r.role) {
                    roles.push(r.role.clone());
                }
            }
        }
        let (keys, certificate) = match signing_key(&repo, &work)? {
            Ok((key, cert)) => (vec![key], cert),
            Err(why) => {
                notes.push(why);
                (Vec::new(), None)
            }
        };
        let mut text = template.text.trim_end().to_owned();
        text.push_str(
            "\n\n# You, added by `factory init`. Give roles to more people as the team grows.\n",
        );
        text.push_str(&format!("[people.{handle}]\n"));
        if let Some(n) = &name {
            text.push_str(&format!("name = {}\n", toml_string(n)));
        }
        if let Some(e) = &email {
            text.push_str(&format!("email = {}\n", toml_string(e)));
        }
        let list = |items: &[String]| {
            items
                .iter()
                .map(|i| toml_string(i))
                .collect::<Vec<_>>()
                .join(", ")
        };
        text.push_str(&format!("roles = [{}]\n", list(&roles)));
        text.push_str(&format!("keys = [{}]\n", list(&keys)));
        // Check before writing anything.
        let policy = Policy::parse(".factory/policy.toml", &text).map_err(|e| {
            CliError::Config(miette::miette!(
                "the policy factory init would write is invalid:\n{}",
                render(&e, false)
            ))
        })?;
        let key_files: Vec<(String, Vec<u8>)> = certificate
            .iter()
            .map(|c| (format!("{handle}.asc"), c.clone().into_bytes()))
            .collect();
        if let Err(problems) = Keyring::from_policy(&policy, &key_files) {
            return Err(CliError::Config(miette::miette!(
                "the key from your git configuration cannot be used: {}",
                problems
                    .iter()
                    .map(|p| p.problem.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        let io = |e: std::io::Error| CliError::internal(format!("{}: {e}", work.display()));
        std::fs::create_dir_all(work.join(".factory/keys")).map_err(io)?;
        for (file, bytes) in &key_files {
            std::fs::write(work.join(".factory/keys").join(file), bytes).map_err(io)?;
            done.push(format!("wrote .factory/keys/{file}"));
        }
        let unchanged = std::fs::read_to_string(&policy_path).is_ok_and(|t| t == text);
        if unchanged {
            done.push(".factory/policy.toml is up to date".to_owned());
        } else {
            std::fs::write(&policy_path, &text).map_err(io)?;
            done.push(format!(
                "wrote .factory/policy.toml from the `{}` template, with you as `{handle}` ({})",
                template.name,
                if roles.is_empty() {
                    "no roles".to_owned()
                } else {
                    roles.join(", ")
                }
            ));
        }
        for w in &policy.warnings {
            notes.push(match &w.help {
                Some(help) => format!("{}; {help}", w.message),
                None => w.message.clone(),
            });
        }
    }
    if !args.no_hooks {
        done.push(super::hook::install_hook(&repo, "pre-push")?);
    }
    let no_remotes = repo
        .git(&["remote"], None)
        .map_err(git_err)?
        .trim()
        .is_empty();
    if no_remotes {
        notes.push("no remote yet: after `git remote add`, run `factory notes setup` so that notes travel with pushes".into());
    }
    let changes = super::notes::setup_config(&repo, None)?;
    if changes.is_empty() {
        done.push("notes refspecs already set up".to_owned());
    } else {
        done.push(format!(
            "set up factory's notes ({} git config change(s))",
            changes.len()
        ));
    }
    for d in &done {
        env.ui.outln(d)?;
    }
    for n in &notes {
        env.ui.outln(&format!("note: {n}"))?;
    }
    env.ui
        .outln("next: git add .factory && git commit -S -m \"Adopt factory\", then push")?;
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
