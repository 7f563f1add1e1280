//! `factory audit [RANGE]`: the gate's decision for CI.

use std::process::ExitCode;

use factory_gate::{Decision, Notes, Options};
use factory_git::{RangeSpec, Repo};
use factory_report::decision::{junit, markdown, sarif};

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
    /// Dry run: also judge the range with this proposed policy (its tiers and rules; the base's
    /// keys) and show its decision beside the current one. The exit code stays the current
    /// policy's.
    #[arg(long, value_name = "FILE")]
    policy: Option<std::path::PathBuf>,
    /// Do not read or write the audit cache (under the git directory, keyed by commit and the
    /// base's .factory/ tree).
    #[arg(long)]
    no_cache: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Human,
    /// `{decision, reasons, base, tip, tier, commits, evaluation, waived, note_problems}`.
    Json,
    /// SARIF 2.1.0: one result per blocking reason at the file:line of its evidence.
    Sarif,
    /// JUnit XML: one test case per commit, plus the range's approvals.
    Junit,
    /// Markdown, for a CI job summary.
    Markdown,
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    // The policy and keys: BASE's for an explicit range; without one, the default branch's tip
    // (one source of governance, as the server judges), so that a branch forked from an old
    // commit is not judged by the old commit's policy.
    let (base, tip, governance) = match args.range.as_deref().map(RangeSpec::parse) {
        Some(RangeSpec::Range { from, to }) => {
            let base = repo.resolve_commit(&from)?;
            (base, repo.resolve_commit(&to)?, base)
        }
        Some(_) => return Err(CliError::usage("give the range as BASE..TIP")),
        None => {
            let tip = repo.resolve_commit("HEAD")?;
            let base = repo.merge_base_with_default(tip).ok_or_else(|| {
                CliError::usage("no default branch (origin/HEAD, main, master) to audit against: give BASE..TIP")
            })?;
            let governance = repo.default_branch_tip().unwrap_or(base);
            (base, tip, governance)
        }
    };
    let block = |e: factory_gate::GateError| {
        CliError::Config(miette::miette!("the gate cannot decide, so it blocks: {e}"))
    };
    let notes = Notes::current(&repo).map_err(block)?;
    let bar = progress_bar();
    let tick = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let decision: Decision = factory_gate::decide_under(
        &repo,
        governance,
        base,
        tip,
        &notes,
        &Options {
            cache: !args.no_cache,
            progress: Some(&tick),
            // A range already on the default branch is landed history, judged at signing time;
            // anything else is a decision made now.
            now: (repo.merge_base_with_default(tip) != Some(tip)).then(factory_gate::now),
            extra: Vec::new(),
        },
    )
    .map_err(block)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let proposed = match &args.policy {
        Some(file) => {
            let path = env.cwd.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
            let policy = factory_policy::Policy::parse(&file.display().to_string(), &text)?;
            Some((
                file.display().to_string(),
                factory_gate::decide_proposed(&repo, base, tip, &notes, &policy).map_err(block)?,
            ))
        }
        None => None,
    };
    match args.format {
        Format::Json => {
            let text = match &proposed {
                None => serde_json::to_string_pretty(&decision),
                Some((file, p)) => serde_json::to_string_pretty(&serde_json::json!({
                    "current": decision,
                    "proposed": { "policy": file, "decision": p },
                })),
            }
            .map_err(|e| CliError::internal(e.to_string()))?;
            env.ui.outln(&text)?;
        }
        Format::Sarif => {
            let text = serde_json::to_string_pretty(&sarif(&decision))
                .map_err(|e| CliError::internal(e.to_string()))?;
            env.ui.outln(&text)?;
        }
        Format::Junit => env.ui.out(&junit(&decision))?,
        Format::Markdown => env.ui.out(&markdown(&decision))?,
        Format::Human => {
            for c in &decision.commits {
                env.ui.outln(&format!(
                    "{} {:9} {:5} signature {:11} transcript {:3}  {}",
                    &c.commit[..12],
                    c.tier,
                    c.origin,
                    c.signature,
                    if c.transcript { "yes" } else { "no" },
                    super::plain(&c.summary)
                ))?;
            }
            for s in &decision.evaluation.statements {
                env.ui.outln(&format!(
                    "statement by {} as {}: {}",
                    super::plain(&s.approver),
                    super::plain(&s.role),
                    super::plain(&s.reason)
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
                    env.ui
                        .outln(&format!("  - {}", super::plain(&r.to_string())))?;
                }
            }
            for o in &decision.evaluation.overrides {
                env.ui.outln(&format!(
                    "override by {} at {}: {}",
                    o.person, o.time, o.reason
                ))?;
            }
            for w in &decision.waived {
                env.ui.outln(&format!("  waived: {w}"))?;
            }
            for p in &decision.note_problems {
                env.ui.outln(&format!("  note: {}", super::plain(p)))?;
            }
            if let Some((file, p)) = &proposed {
                env.ui.outln(&format!(
                    "with the proposed policy {file}: {} ({})",
                    if p.passes() { "pass" } else { "blocked" },
                    p.tier
                ))?;
                for r in &p.reasons {
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

/// A progress bar on stderr, on a terminal only.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("auditing {bar:40} {pos}/{len} commits ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}
