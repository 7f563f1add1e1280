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
    /// or master) ..HEAD; on the default branch's tip, its last landing. A range of the default
    /// branch's history is judged landing by landing (each first-parent step, with the
    /// statements that covered it).
    #[arg(value_name = "BASE..TIP", conflicts_with_all = ["since", "until", "all_landed"])]
    range: Option<String>,
    /// Judge the landings of the default branch made on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Judge the landings of the default branch made on or before this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// Judge every landing of the default branch, from its first commit.
    #[arg(long)]
    all_landed: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Dry run: also judge the range with this proposed policy (its tiers and rules, and its
    /// people's keys — inline, and `keys/` beside the file — when it names people, else the
    /// base's) and show its decision beside the current one. The exit code stays the current
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
    super::refuse_shallow(&repo)?;
    let default_tip = repo.default_branch_tip();
    let (base, tip, governance) = if args.all_landed || args.since.is_some() || args.until.is_some()
    {
        let tip = landed_tip(&repo)
            .or(default_tip)
            .ok_or_else(no_default_branch)?;
        let day = |d: &Option<String>, end: bool| -> Result<Option<i64>, CliError> {
            d.as_deref()
                .map(|t| {
                    crate::civil::parse_day(t)
                        .map(|days| days * 86_400 + if end { 86_399 } else { 0 })
                        .ok_or_else(|| {
                            CliError::usage(format!("`{t}` is not a date: write YYYY-MM-DD"))
                        })
                })
                .transpose()
        };
        let (base, tip) = factory_report::period(
            &repo,
            tip,
            day(&args.since, false)?,
            day(&args.until, true)?,
        )
        .map_err(|e| CliError::usage(e.to_string()))?;
        (base, tip, base)
    } else {
        match args.range.as_deref().map(RangeSpec::parse) {
            Some(RangeSpec::Range { from, to }) => {
                let base = repo.resolve_commit(&from)?;
                (base, repo.resolve_commit(&to)?, base)
            }
            Some(_) => return Err(CliError::usage("give the range as BASE..TIP")),
            None => {
                let tip = repo.resolve_commit("HEAD")?;
                let base = repo
                    .merge_base_with_default(tip)
                    .ok_or_else(no_default_branch)?;
                let governance = default_tip.unwrap_or(base);
                if base == tip {
                    // On the default branch's tip: its last landing.
                    let parent = repo.parents(tip)?.first().copied().ok_or_else(|| {
                        CliError::usage(
                            "HEAD is the default branch's first commit: there is nothing to audit",
                        )
                    })?;
                    env.ui.err(&format!(
                        "factory: HEAD is the default branch's tip: auditing its last landing {}..{}\n",
                        &parent.to_string()[..12],
                        &tip.to_string()[..12]
                    ));
                    (parent, tip, parent)
                } else {
                    (base, tip, governance)
                }
            }
        }
    };
    if base == tip {
        return Err(CliError::usage(format!(
            "the range {}..{} is empty: there is nothing to audit (give BASE..TIP with TIP ahead of BASE)",
            &base.to_string()[..12],
            &tip.to_string()[..12]
        )));
    }
    // A range of the landed history (the remote's default branch, or on a server the default
    // branch itself) is judged landing by landing.
    let landed = landed_tip(&repo).is_some_and(|d| {
        repo.is_ancestor(tip, d).unwrap_or(false) && repo.is_ancestor(base, tip).unwrap_or(false)
    });
    if landed && args.policy.is_none() {
        return super::audit_landings::run(env, &repo, base, tip, args.format);
    }
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
            let keyring =
                crate::keys::of_proposal(&mut env.ui, &path, &file.display().to_string(), &policy)?;
            let name = match &keyring {
                Some(_) => format!("{} (with its own keys)", file.display()),
                None => format!("{} (with the base's keys)", file.display()),
            };
            Some((
                name,
                factory_gate::decide_proposed(&repo, base, tip, &notes, &policy, keyring.as_ref())
                    .map_err(block)?,
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
                    if c.origin == "agent" {
                        format!("agent ({})", c.agent_origin)
                    } else {
                        c.origin.clone()
                    },
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

/// The tip of the landed history: the remote's default branch as this clone last fetched it;
/// in a bare repository (a server), its own default branch. None in a clone without a remote.
fn landed_tip(repo: &Repo) -> Option<factory_git::ObjectId> {
    [
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/main",
        "refs/remotes/origin/master",
    ]
    .iter()
    .find_map(|r| repo.resolve_commit(r).ok())
    .or_else(|| {
        repo.workdir()
            .is_none()
            .then(|| repo.default_branch_tip())
            .flatten()
    })
}

fn no_default_branch() -> CliError {
    CliError::Config(miette::miette!(
        help = "run `git remote set-head origin --auto` (or fetch the default branch), or give BASE..TIP",
        "no default branch is known here (origin/HEAD, origin/main, origin/master, main, master): the audit has no base"
    ))
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
