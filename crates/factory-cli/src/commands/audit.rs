//! `factory audit [RANGE]`: the gate's decision for CI.

use std::process::ExitCode;

use factory_gate::{Decision, Notes, decide};
use factory_git::{RangeSpec, Repo};

use crate::Env;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// `BASE..TIP`. Default: the merge-base of HEAD with the default branch (origin/HEAD, main
    /// or master) ..HEAD.
    #[arg(value_name = "BASE..TIP")]
    range: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Human,
    /// `{decision, reasons, base, tip, tier, commits, evaluation}`.
    Json,
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let (base, tip) = match args.range.as_deref().map(RangeSpec::parse) {
        Some(RangeSpec::Range { from, to }) => {
            (repo.resolve_commit(&from)?, repo.resolve_commit(&to)?)
        }
        Some(_) => return Err(CliError::usage("give the range as BASE..TIP")),
        None => {
            let tip = repo.resolve_commit("HEAD")?;
            let base = repo.merge_base_with_default(tip).ok_or_else(|| {
                CliError::usage("no default branch (origin/HEAD, main, master) to audit against: give BASE..TIP")
            })?;
            (base, tip)
        }
    };
    let block = |e: factory_gate::GateError| {
        CliError::Config(miette::miette!("the gate cannot decide, so it blocks: {e}"))
    };
    let notes = Notes::current(&repo).map_err(block)?;
    let decision: Decision = decide(&repo, base, tip, &notes).map_err(block)?;
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&decision)
                .map_err(|e| CliError::internal(e.to_string()))?;
            env.ui.outln(&text)?;
        }
        Format::Human => {
            for c in &decision.commits {
                env.ui.outln(&format!(
                    "{} {:9} {:5} signature {:11} transcript {:3}  {}",
                    &c.commit[..12],
                    c.tier,
                    c.origin,
                    c.signature,
                    if c.transcript { "yes" } else { "no" },
                    c.summary
                ))?;
            }
            for s in &decision.evaluation.statements {
                env.ui.outln(&format!(
                    "statement by {} as {}: {}",
                    s.approver, s.role, s.reason
                ))?;
            }
            if decision.passes() {
                env.ui.outln(&format!(
                    "pass: {}..{} ({})",
                    &decision.base[..12],
                    &decision.tip[..12],
                    decision.tier
                ))?;
            } else {
                env.ui.outln(&format!(
                    "blocked: {}..{} ({})",
                    &decision.base[..12],
                    &decision.tip[..12],
                    decision.tier
                ))?;
                for r in &decision.reasons {
                    env.ui.outln(&format!("  - {r}"))?;
                }
            }
        }
    }
    env.ui.flush()?;
    Ok(if decision.passes() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
