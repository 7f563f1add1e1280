//! Audits a range of a repository and prints the decision as SARIF 2.1.0, using only factory's
//! libraries — the way a forge integration or a code-scanning upload would embed the gate.
//!
//! ```sh
//! cargo run -p factory-report --example audit_sarif -- /path/to/repo origin/main..HEAD
//! ```
//!
//! Exits 0 when the range may land, 1 when the gate blocks it, 2 when it cannot decide (the
//! gate fails closed: an error is never a pass).

// A program: it prints its result.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::process::ExitCode;

use factory_gate::{GateError, Notes, decide};
use factory_git::{RangeSpec, Repo};

/// The SARIF of `range` (`BASE..TIP`) in the repository at `dir`, and whether it may land.
pub fn audit(dir: &Path, range: &str) -> Result<(serde_json::Value, bool), String> {
    let repo = Repo::discover(dir).map_err(|e| e.to_string())?;
    let RangeSpec::Range { from, to } = RangeSpec::parse(range) else {
        return Err(format!("`{range}` is not a range BASE..TIP"));
    };
    let base = repo.resolve_commit(&from).map_err(|e| e.to_string())?;
    let tip = repo.resolve_commit(&to).map_err(|e| e.to_string())?;
    let notes = Notes::current(&repo).map_err(|e: GateError| e.to_string())?;
    let decision = decide(&repo, base, tip, &notes).map_err(|e| e.to_string())?;
    Ok((
        factory_report::decision::sarif(&decision),
        decision.passes(),
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, range] = args.as_slice() else {
        eprintln!("usage: audit_sarif REPOSITORY BASE..TIP");
        return ExitCode::from(2);
    };
    match audit(Path::new(dir), range) {
        Ok((sarif, passes)) => {
            println!("{sarif:#}");
            ExitCode::from(if passes { 0 } else { 1 })
        }
        Err(e) => {
            eprintln!("audit_sarif: {e}");
            ExitCode::from(2)
        }
    }
}
