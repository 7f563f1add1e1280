//! `factory policy import --from codeowners|policy-bot|sequoia-git FILE`: another tool's
//! policy as a factory policy (`factory-import`), with the list of what could not be expressed.

use std::path::PathBuf;
use std::process::ExitCode;

use factory_import::{ImportError, Source};

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
    let source = match args.from {
        From::Codeowners => Source::Codeowners,
        From::PolicyBot => Source::PolicyBot,
        From::SequoiaGit => Source::SequoiaGit,
    };
    let imported = factory_import::import(source, &name, &text).map_err(|e| match e {
        ImportError::Source { .. } => CliError::usage(e.to_string()),
        ImportError::Policy(ref problems) => {
            CliError::internal(format!("{e}:\n{}", render(problems, false)))
        }
        ImportError::Keys(_) => CliError::internal(e.to_string()),
    })?;
    let policy = &imported.policy;
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
