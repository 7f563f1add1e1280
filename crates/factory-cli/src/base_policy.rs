//! The policy and keys of a given commit (the trusted base of an approval), with diagnostics.

use factory_gate::GateError;
use factory_git::{ObjectId, Repo};
use factory_policy::Policy;
use factory_trust::Keyring;

use crate::error::CliError;
use crate::ui::Ui;

/// The policy of `commit`'s tree (the embedded default when it has none), its blob id
/// (`none` for the default) and the keyring of the same tree, as the gate reads them.
pub(crate) fn at(
    ui: &mut Ui,
    repo: &Repo,
    commit: ObjectId,
) -> Result<(Policy, String, Keyring), CliError> {
    factory_gate::base_policy(repo, commit).map_err(|e| gate_error(ui, commit, e))
}

/// A gate error met reading the policy and keys of `commit`, with the policy's diagnostics.
pub(crate) fn gate_error(ui: &mut Ui, commit: ObjectId, e: GateError) -> CliError {
    match e {
        GateError::Policy(problems) => problems.into(),
        GateError::Keys(problems) => crate::keys::key_problems(
            ui,
            &format!("the policy of {}", &commit.to_string()[..12]),
            &problems,
        ),
        other => CliError::usage(other.to_string()),
    }
}
