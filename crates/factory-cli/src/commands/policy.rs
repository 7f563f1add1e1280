//! `factory policy check [FILE]` and `factory policy show`.

use std::path::PathBuf;
use std::process::ExitCode;

use factory_git::Repo;
use factory_policy::{GOVERNANCE_RULE_ID, Policy, SHIPPED_POLICIES, Severity, shipped};
use serde::Serialize;

use crate::Env;
use crate::error::{CliError, render};
use crate::policy_source::{self, Origin, Source};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Check a policy and report every problem at once. Exit code 2 if it has errors.
    ///
    /// Without FILE: the policy factory would use here (working tree, else HEAD, else the
    /// embedded default).
    Check {
        /// The policy file to check.
        file: Option<PathBuf>,
    },
    /// Print the effective policy: the repository's, or the embedded default if it has none.
    Show {
        /// Show this file instead.
        #[arg(long, value_name = "FILE", conflicts_with = "template")]
        policy: Option<PathBuf>,
        /// Show a policy shipped with factory (`default`, `regulated`, `open-source`).
        #[arg(long, value_name = "NAME")]
        template: Option<String>,
        /// `toml` prints the text as written; `json` prints the validated policy.
        #[arg(long, value_enum, default_value_t = ShowFormat::Toml)]
        format: ShowFormat,
    },
    /// Convert another tool's policy (CODEOWNERS, policy-bot, sequoia-git) into a factory
    /// policy, listing what could not be expressed (on stderr and in the file's header).
    Import(super::import::Args),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ShowFormat {
    /// The policy text.
    Toml,
    /// The validated policy as JSON.
    Json,
}

pub(crate) fn run(env: &mut Env, cmd: Command) -> Result<ExitCode, CliError> {
    match cmd {
        Command::Check { file } => check(env, file),
        Command::Show {
            policy,
            template,
            format,
        } => show(env, policy, template, format),
        Command::Import(args) => super::import::run(env, args),
    }
}

fn locate(env: &Env, file: Option<PathBuf>) -> Result<Source, CliError> {
    let repo = if file.is_none() {
        Repo::discover(&env.cwd).ok()
    } else {
        None
    };
    policy_source::locate(&env.cwd, repo.as_ref(), file.as_deref())
}

fn check(env: &mut Env, file: Option<PathBuf>) -> Result<ExitCode, CliError> {
    let source = locate(env, file)?;
    let color = env.ui.err_color();
    match Policy::parse(&source.name, &source.text) {
        Ok(policy) => {
            for w in &policy.warnings {
                env.ui.err(&render(w, color));
            }
            // The keys the policy names must load from the keys directory of the same tree.
            let repo = Repo::discover(&env.cwd).ok();
            crate::keys::keyring(&mut env.ui, &source, &policy, repo.as_ref())?;
            env.ui.outln(&format!(
                "{}: ok ({} tiers, {} rules, {} people, {} warning{})",
                source.name,
                policy.tiers.len(),
                policy.rules.iter().filter(|r| !r.builtin).count(),
                policy.people.len(),
                policy.warnings.len(),
                if policy.warnings.len() == 1 { "" } else { "s" }
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            for problem in &error.problems {
                env.ui.err(&render(problem, color));
            }
            let errors = error
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .count();
            let warnings = error.problems.len() - errors;
            env.ui.err(&format!(
                "{}: {errors} error{}, {warnings} warning{}\n",
                source.name,
                if errors == 1 { "" } else { "s" },
                if warnings == 1 { "" } else { "s" }
            ));
            Ok(ExitCode::from(2))
        }
    }
}

#[derive(Serialize)]
struct ShowJson<'a> {
    source: &'a str,
    version: u32,
    default_tier: &'a str,
    tiers: &'a [factory_policy::Tier],
    rules: Vec<RuleJson<'a>>,
    agents: &'a factory_policy::Agents,
    people: &'a std::collections::BTreeMap<String, factory_policy::Person>,
}

#[derive(Serialize)]
struct RuleJson<'a> {
    tier: &'a str,
    #[serde(flatten)]
    rule: &'a factory_policy::Rule,
}

fn show(
    env: &mut Env,
    file: Option<PathBuf>,
    template: Option<String>,
    format: ShowFormat,
) -> Result<ExitCode, CliError> {
    let source = match template {
        Some(name) => {
            let Some(p) = shipped(&name) else {
                let names: Vec<_> = SHIPPED_POLICIES.iter().map(|p| p.name).collect();
                return Err(CliError::usage(format!(
                    "no shipped policy named `{name}`; the templates are: {}",
                    names.join(", ")
                )));
            };
            Source {
                origin: Origin::Embedded,
                name: format!("<{} policy>", p.name),
                text: p.text.to_owned(),
            }
        }
        None => locate(env, file)?,
    };
    let policy = source.parse()?;
    match format {
        ShowFormat::Toml => {
            env.ui
                .outln(&format!("# effective policy: {}", source.origin))?;
            env.ui.outln(&format!(
                "# built in, cannot be switched off: rule `{GOVERNANCE_RULE_ID}` gives any change under .factory/ the tier `{}`",
                policy.tier_name(policy.highest_tier())
            ))?;
            env.ui.out(&source.text)?;
            if !source.text.ends_with('\n') {
                env.ui.out("\n")?;
            }
        }
        ShowFormat::Json => {
            let origin = source.origin.to_string();
            let doc = ShowJson {
                source: &origin,
                version: policy.version,
                default_tier: policy.tier_name(policy.default_tier),
                tiers: &policy.tiers,
                rules: policy
                    .rules
                    .iter()
                    .map(|r| RuleJson {
                        tier: policy.tier_name(r.tier),
                        rule: r,
                    })
                    .collect(),
                agents: &policy.agents,
                people: &policy.people,
            };
            let text = serde_json::to_string_pretty(&doc)
                .map_err(|e| CliError::internal(format!("cannot encode JSON: {e}")))?;
            env.ui.outln(&text)?;
        }
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
