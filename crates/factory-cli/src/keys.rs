//! Loading the keyring that goes with a policy: `.factory/keys/` of the same tree.

use std::path::Path;

use factory_git::Repo;
use factory_policy::Policy;
use factory_trust::Keyring;

use crate::error::{CliError, render};
use crate::policy_source::{Origin, Source};
use crate::ui::Ui;

/// The keys directory beside the policy.
pub(crate) const KEYS_DIR: &str = ".factory/keys";

pub(crate) fn read_dir(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, CliError> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_file() {
            let bytes = std::fs::read(&path)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
            out.push((entry.file_name().to_string_lossy().into_owned(), bytes));
        }
    }
    out.sort();
    Ok(out)
}

/// The key files of the tree the policy came from.
pub(crate) fn key_files(
    source: &Source,
    repo: Option<&Repo>,
) -> Result<Vec<(String, Vec<u8>)>, CliError> {
    match &source.origin {
        Origin::Embedded => Ok(Vec::new()),
        Origin::Override(file) => read_dir(&file.parent().unwrap_or(Path::new(".")).join("keys")),
        Origin::WorkTree => match repo.and_then(Repo::workdir) {
            Some(work) => read_dir(&work.join(KEYS_DIR)),
            None => Ok(Vec::new()),
        },
        Origin::Head(commit) => match repo {
            Some(repo) => Ok(repo.files_in(*commit, KEYS_DIR)?),
            None => Ok(Vec::new()),
        },
    }
}

/// Reports every unusable key as a diagnostic; the error exits with 2.
pub(crate) fn key_problems(
    ui: &mut Ui,
    name: &str,
    problems: &[factory_trust::KeyProblem],
) -> CliError {
    let color = ui.err_color();
    for p in problems {
        ui.err(&render(&p.problem, color));
    }
    CliError::Config(miette::miette!("{name}: {} key problem(s)", problems.len()))
}

/// Loads the keyring of a policy, reporting every unusable key as a diagnostic (exit 2).
pub(crate) fn keyring(
    ui: &mut Ui,
    source: &Source,
    policy: &Policy,
    repo: Option<&Repo>,
) -> Result<Keyring, CliError> {
    let files = key_files(source, repo)?;
    Keyring::from_policy(policy, &files)
        .map_err(|problems| key_problems(ui, &source.name, &problems))
}

/// The keys of a proposed policy (a dry run of `audit --policy` or `report --policy`): its
/// people's, inline and in `keys/` beside the file, when it names people; None (the base's keys)
/// when it names none.
pub(crate) fn of_proposal(
    ui: &mut Ui,
    path: &Path,
    name: &str,
    policy: &Policy,
) -> Result<Option<Keyring>, CliError> {
    if policy.people.is_empty() {
        return Ok(None);
    }
    let dir = path.parent().map(|d| d.join("keys")).unwrap_or_default();
    let files = read_dir(&dir)?;
    Keyring::from_policy(policy, &files)
        .map(Some)
        .map_err(|problems| key_problems(ui, name, &problems))
}
