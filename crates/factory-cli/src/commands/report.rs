//! `factory report`: what the factory shipped over a range or a period, who approved it and
//! what slipped through (`factory-report`), as JSON, Markdown or one self-contained HTML page.

use std::path::PathBuf;
use std::process::ExitCode;

use factory_gate::Notes;
use factory_git::Repo;
use factory_policy::Policy;
use factory_report::{RangeInfo, ReportError};

use crate::Env;
use crate::civil::parse_day;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// `BASE..TIP`. Default: the whole first-parent history of the branch (its first commit
    /// sets the base), narrowed by --since and --until.
    #[arg(value_name = "BASE..TIP", conflicts_with_all = ["since", "until"])]
    range: Option<String>,
    /// Only changes made on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only changes made on or before this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// The branch to report on. Default: HEAD.
    #[arg(long, value_name = "BRANCH")]
    branch: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Html)]
    format: Format,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
    /// Dry run: also judge the range with this proposed policy (and its people's keys, inline
    /// and in `keys/` beside the file, when it names people) and show what it would have
    /// blocked beside the current policy's result.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One self-contained page with charts (no scripts, styles or fonts from elsewhere).
    Html,
    /// For a wiki or a pull request.
    Markdown,
    /// `factory.report/v1`.
    Json,
}

fn report_error(e: ReportError) -> CliError {
    match e {
        ReportError::Gate(_) => CliError::Config(miette::miette!("{e}")),
        ReportError::Period(_) => CliError::usage(e.to_string()),
        ReportError::Git(_) | ReportError::Output { .. } => CliError::internal(e.to_string()),
    }
}

pub(crate) fn run(env: &mut Env, args: Args) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    super::refuse_shallow(&repo)?;
    let branch = args.branch.clone().unwrap_or_else(|| "HEAD".to_owned());
    let (base, tip) = match args.range.as_deref() {
        Some(r) => match factory_git::RangeSpec::parse(r) {
            factory_git::RangeSpec::Range { from, to } => {
                (repo.resolve_commit(&from)?, repo.resolve_commit(&to)?)
            }
            _ => return Err(CliError::usage("give the range as BASE..TIP")),
        },
        None => {
            let day = |d: &Option<String>, end: bool| -> Result<Option<i64>, CliError> {
                d.as_deref()
                    .map(|t| {
                        parse_day(t)
                            .map(|days| days * 86_400 + if end { 86_399 } else { 0 })
                            .ok_or_else(|| {
                                CliError::usage(format!("`{t}` is not a date: write YYYY-MM-DD"))
                            })
                    })
                    .transpose()
            };
            let tip = repo.resolve_commit(&branch)?;
            factory_report::period(
                &repo,
                tip,
                day(&args.since, false)?,
                day(&args.until, true)?,
            )
            .map_err(report_error)?
        }
    };
    // An empty period is a report of no changes; an empty range is a mistake.
    if base == tip && args.range.is_some() {
        return Err(CliError::usage(format!(
            "the range {}..{} is empty: there is nothing to report",
            &base.to_string()[..12],
            &tip.to_string()[..12]
        )));
    }
    let notes = Notes::current(&repo).map_err(|e| CliError::Config(miette::miette!("{e}")))?;
    let proposed = match &args.policy {
        Some(file) => {
            let path = env.cwd.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
            let name = file.display().to_string();
            let policy = Policy::parse(&name, &text)?;
            let keys = crate::keys::of_proposal(&mut env.ui, &path, &name, &policy)?;
            let name = match &keys {
                Some(_) => format!("{name} (with its own keys)"),
                None => format!("{name} (with the base's keys)"),
            };
            Some((name, policy, keys))
        }
        None => None,
    };
    // Name the branch, not `HEAD`.
    let branch = match (&args.branch, repo.head_branch()) {
        (None, Some(name)) => name.trim_start_matches("refs/heads/").to_owned(),
        (None, None) => "HEAD (detached)".to_owned(),
        (Some(_), _) => branch,
    };
    let top = repo.workdir().unwrap_or_else(|| repo.git_dir().to_owned());
    let range = RangeInfo {
        base: base.to_string(),
        tip: tip.to_string(),
        branch,
        since: args.since.clone(),
        until: args.until.clone(),
        repository: top
            .file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(".git").to_owned())
            .unwrap_or_default(),
        generated: factory_trust::civil::rfc3339(factory_gate::now()),
        policy: repo
            .blob_id_at(tip, ".factory/policy.toml")?
            .map_or_else(|| "none".to_owned(), |id| id.to_string()),
    };
    let report = factory_report::generate(
        &repo,
        &notes,
        base,
        tip,
        range,
        proposed
            .as_ref()
            .map(|(name, p, keys)| (name.as_str(), p, keys.as_ref())),
    )
    .map_err(report_error)?;
    let text = factory_report::render(
        &report,
        match args.format {
            Format::Json => factory_report::Format::Json,
            Format::Markdown => factory_report::Format::Markdown,
            Format::Html => factory_report::Format::Html,
        },
    );
    match &args.out {
        Some(file) => {
            let path = env.cwd.join(file);
            std::fs::write(&path, text)
                .map_err(|e| CliError::usage(format!("cannot write {}: {e}", path.display())))?;
            env.ui.outln(&format!(
                "wrote {} ({} changes, {} commits, {} violation(s))",
                path.display(),
                report.totals.changes,
                report.totals.commits,
                report.violations.len()
            ))?;
        }
        None => env.ui.out(&text)?,
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
