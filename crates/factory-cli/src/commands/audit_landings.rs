//! `factory audit` over the default branch's history: each landing (first-parent step) judged
//! with the policy of its base and the statements that covered its change.

use std::process::ExitCode;

use factory_gate::{Decision, Notes, decide_history};
use factory_git::{ObjectId, Repo};
use factory_report::decision::{junit_all, landing_verdict, markdown_all, sarif_all, tip_summary};

use super::audit::Format;
use crate::Env;
use crate::error::CliError;

pub(crate) fn run(
    env: &mut Env,
    repo: &Repo,
    base: ObjectId,
    tip: ObjectId,
    format: Format,
) -> Result<ExitCode, CliError> {
    let block = |e: factory_gate::GateError| {
        CliError::Config(miette::miette!("the gate cannot decide, so it blocks: {e}"))
    };
    let notes = Notes::current(repo).map_err(block)?;
    let landings: Vec<Decision> =
        decide_history(repo, base, tip, &notes, None, None).map_err(block)?;
    let blocked = landings.iter().filter(|d| !d.passes()).count();
    match format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&serde_json::json!({
                "decision": if blocked == 0 { "pass" } else { "blocked" },
                "base": base.to_string(),
                "tip": tip.to_string(),
                "landings": landings,
            }))
            .map_err(|e| CliError::internal(e.to_string()))?;
            env.ui.outln(&text)?;
        }
        Format::Sarif => {
            let text = serde_json::to_string_pretty(&sarif_all(&landings))
                .map_err(|e| CliError::internal(e.to_string()))?;
            env.ui.outln(&text)?;
        }
        Format::Junit => env.ui.out(&junit_all(&landings))?,
        Format::Markdown => env.ui.out(&markdown_all(&landings))?,
        Format::Human => {
            for d in &landings {
                let summary = tip_summary(d);
                env.ui.outln(&format!(
                    "{:10} {}..{} {:9} {}",
                    landing_verdict(d),
                    &d.base[..12],
                    &d.tip[..12],
                    d.tier,
                    super::plain(summary)
                ))?;
                for r in &d.reasons {
                    env.ui
                        .outln(&format!("  - {}", super::plain(&r.to_string())))?;
                }
                for st in d.evaluation.statements.iter().filter(|s| s.counts) {
                    env.ui.outln(&format!(
                        "  {} by {} as {}",
                        st.kind.as_str(),
                        super::plain(&st.approver),
                        super::plain(&st.role)
                    ))?;
                }
                for o in &d.evaluation.overrides {
                    env.ui.outln(&format!(
                        "  override by {} at {}: {}",
                        super::plain(&o.person),
                        o.time,
                        super::plain(&o.reason)
                    ))?;
                }
            }
            let ungoverned = landings.iter().filter(|d| !d.governed).count();
            env.ui.outln(&format!(
                "{}: {} landing(s) of {}..{}, {blocked} blocked, {ungoverned} before factory was adopted",
                if blocked == 0 { "pass" } else { "blocked" },
                landings.len(),
                &base.to_string()[..12],
                &tip.to_string()[..12],
            ))?;
        }
    }
    env.ui.flush()?;
    Ok(if blocked == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
