//! `factory holdback add FILE` and `factory holdback run [REV]`: scenarios sealed to the
//! validators, run where the validator's key is, signed as a `holdback` stamp.

use std::path::PathBuf;
use std::process::ExitCode;

use factory_gate::statement;
use factory_git::Repo;
use factory_policy::VALIDATOR_ROLE;
use factory_runner::holdback;
use factory_runner::sandbox::Sandbox;
use factory_trust::seal::Cert;

use crate::Env;
use crate::error::CliError;
use crate::{keys, policy_source};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Seal a scenario file (TOML: name, command, expect-exit, stdout-contains, stdout-lacks,
    /// timeout) to the validators' OpenPGP certificates as .factory/holdback/NAME.asc.
    Add(AddArgs),
    /// Open the scenarios with a validator's secret key, run each N times in a clean sandboxed
    /// checkout of REV, and sign the pass fraction as a `holdback` stamp.
    Run(RunArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct AddArgs {
    /// The scenario file (plain text; keep it out of the repository).
    file: PathBuf,
    /// Seal to this armored certificate instead of every validator's in the policy
    /// (repeatable).
    #[arg(long, value_name = "FILE")]
    recipient: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The revision to check. Default: HEAD.
    #[arg(default_value = "HEAD")]
    rev: String,
    /// The base of the change the stamp covers. Default: as for `approve`.
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// Runs per scenario.
    #[arg(long, default_value_t = 1, value_name = "N")]
    runs: u32,
    /// The validator's unencrypted armored OpenPGP secret key: it opens the scenarios and
    /// signs the stamp.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Where to write the results (the stamp's evidence). Default:
    /// .git/factory/evidence/holdback-REV.json.
    #[arg(long, value_name = "FILE")]
    evidence: Option<PathBuf>,
    /// Where auditors find the evidence (a URL); default: the file's path.
    #[arg(long, value_name = "URL")]
    evidence_url: Option<String>,
    /// Run the scenarios without the bubblewrap sandbox.
    #[arg(long)]
    no_sandbox: bool,
}

pub(crate) fn run(env: &mut Env, cmd: Command) -> Result<ExitCode, CliError> {
    match cmd {
        Command::Add(args) => add(env, args),
        Command::Run(args) => run_scenarios(env, args),
    }
}

fn add(env: &mut Env, args: AddArgs) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let Some(workdir) = repo.workdir() else {
        return Err(CliError::usage(
            "holdback add needs a working tree to write .factory/holdback/ in",
        ));
    };
    let path = env.cwd.join(&args.file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", args.file.display())))?;
    let mut recipients: Vec<Cert> = Vec::new();
    let mut who: Vec<String> = Vec::new();
    if args.recipient.is_empty() {
        let source = policy_source::locate(&env.cwd, Some(&repo), None)?;
        let policy = source.parse()?;
        let keyring = keys::keyring(&mut env.ui, &source, &policy, Some(&repo))?;
        for holder in policy.holders(VALIDATOR_ROLE) {
            let certs = keyring.certs_of(holder);
            if !certs.is_empty() {
                who.push(holder.to_owned());
            }
            recipients.extend(certs.into_iter().cloned());
        }
        if recipients.is_empty() {
            return Err(CliError::usage(format!(
                "no one holding the role `{VALIDATOR_ROLE}` has an OpenPGP certificate to seal to (SSH keys cannot encrypt): add one (`factory people add ci --role {VALIDATOR_ROLE} --key openpgp:FPR` with its certificate under .factory/keys/), or name one with --recipient"
            )));
        }
    } else {
        for file in &args.recipient {
            let bytes = std::fs::read(env.cwd.join(file))
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display())))?;
            let certs = factory_trust::Keyring::certs_from_bytes(&bytes)
                .map_err(|e| CliError::usage(format!("{}: {e}", file.display())))?;
            who.push(file.display().to_string());
            recipients.extend(certs);
        }
    }
    let (scenario, sealed) = holdback::seal(&args.file.display().to_string(), &text, &recipients)
        .map_err(|e| CliError::usage(e.to_string()))?;
    let target = workdir.join(scenario.sealed_path());
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::internal(format!("{}: {e}", dir.display())))?;
    }
    let replaced = target.exists();
    std::fs::write(&target, sealed)
        .map_err(|e| CliError::internal(format!("{}: {e}", target.display())))?;
    env.ui.outln(&format!(
        "{} {} sealed to {} ({} key(s)); commit it — a change under .factory/ needs its sign-off",
        if replaced { "replaced" } else { "wrote" },
        scenario.sealed_path(),
        who.join(", "),
        recipients.len()
    ))?;
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn run_scenarios(env: &mut Env, args: RunArgs) -> Result<ExitCode, CliError> {
    if args.runs == 0 {
        return Err(CliError::usage("--runs must be at least 1"));
    }
    let repo = Repo::discover(&env.cwd)?;
    let tip = repo.resolve_commit(&args.rev)?;
    let base = match &args.base {
        Some(b) => repo.resolve_commit(b)?,
        None => {
            statement::default_base(&repo, tip).map_err(|e| CliError::internal(e.to_string()))?
        }
    };
    // The scenarios of the governing commit, never the judged revision's own.
    let governance = statement::governance(&repo, base);
    let key_path = env.cwd.join(&args.key);
    let secret = std::fs::read(&key_path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", args.key.display())))?;
    let sandbox = Sandbox {
        enabled: !args.no_sandbox,
        ..Sandbox::default()
    };
    let report = holdback::run(&repo, tip, governance, &secret, args.runs, &sandbox).map_err(
        |e| match e {
            holdback::HoldbackError::Git(_) | holdback::HoldbackError::Io { .. } => {
                CliError::internal(e.to_string())
            }
            _ => CliError::usage(e.to_string()),
        },
    )?;
    for s in &report.scenarios {
        env.ui.outln(&format!(
            "scenario {}: {}/{} runs passed",
            s.name, s.passed, s.runs
        ))?;
        for f in &s.failures {
            env.ui.outln(&format!("  {f}"))?;
        }
    }
    let json =
        serde_json::to_string_pretty(&report).map_err(|e| CliError::internal(e.to_string()))?;
    let evidence = match &args.evidence {
        Some(p) => env.cwd.join(p),
        None => repo
            .common_dir()
            .join("factory/evidence")
            .join(format!("holdback-{}.json", &tip.to_string()[..12])),
    };
    if let Some(dir) = evidence.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::internal(format!("{}: {e}", dir.display())))?;
    }
    std::fs::write(&evidence, &json)
        .map_err(|e| CliError::internal(format!("{}: {e}", evidence.display())))?;
    env.ui.outln(&format!(
        "holdback: {}/{} runs of {} scenario(s) from {} passed ({:.2}); evidence {}",
        report.passed,
        report.total,
        report.scenarios.len(),
        &governance.to_string()[..12],
        report.fraction,
        evidence.display()
    ))?;
    let at = args
        .evidence_url
        .clone()
        .unwrap_or_else(|| evidence.display().to_string());
    let stamp = statement::Stamp::new("holdback", report.fraction, json.as_bytes(), &at);
    let base_hex = base.to_string();
    super::approve::write_stamp(
        env,
        &tip.to_string(),
        Some(&base_hex),
        stamp,
        Some(&key_path),
        false,
    )
}
