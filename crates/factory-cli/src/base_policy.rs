//! The policy and keys of a given commit (the trusted base of an approval or a gate decision).

use factory_git::{ObjectId, Repo};
use factory_policy::{DEFAULT_POLICY, Policy};
use factory_trust::Keyring;

use crate::error::CliError;
use crate::keys;
use crate::policy_source::{Origin, POLICY_PATH, Source};
use crate::ui::Ui;

/// The policy of `commit`'s tree (the embedded default when it has none), its blob id
/// (`none` for the default) and the keyring of the same tree.
pub(crate) fn at(
    ui: &mut Ui,
    repo: &Repo,
    commit: ObjectId,
) -> Result<(Policy, String, Keyring), CliError> {
    let blob = repo.blob_id_at(commit, POLICY_PATH)?;
    let source = match repo.file_at(commit, POLICY_PATH)? {
        Some(bytes) => Source {
            origin: Origin::Head(commit),
            name: format!("{}:{POLICY_PATH}", &commit.to_string()[..12]),
            text: String::from_utf8(bytes)
                .map_err(|_| CliError::usage(format!("{POLICY_PATH} at {commit} is not UTF-8")))?,
        },
        None => Source {
            origin: Origin::Embedded,
            name: "<embedded default policy>".to_owned(),
            text: DEFAULT_POLICY.text.to_owned(),
        },
    };
    let policy = source.parse()?;
    let keyring = keys::keyring(ui, &source, &policy, Some(repo))?;
    Ok((
        policy,
        blob.map_or_else(|| "none".to_owned(), |b| b.to_string()),
        keyring,
    ))
}
