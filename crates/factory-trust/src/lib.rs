//! Trust: who signed a commit, and whether the policy lets that count.
//!
//! A human's signature is the only proof that a human approved something. This crate verifies
//! commit signatures in-process — OpenPGP with sequoia-openpgp, SSH with ssh-key — against the
//! people and keys a policy names ([`Keyring`]), judging each signature at the time it was made:
//! a key that expired later still counts for it, a hard-revoked key counts for nothing.
//!
//! It knows no git: [`signed_commit`] splits a raw commit object into its signature and the bytes
//! it signs, exactly as git does.
#![deny(missing_docs)]

mod allowed_signers;
pub mod approval;
pub mod civil;
mod commit;
mod evaluate;
mod keyring;
mod origin;
pub mod seal;
pub mod sign;
mod verify;

pub use allowed_signers::{AllowedSigner, AllowedSigners, ParseError};
pub use approval::sign_openpgp;
pub use commit::{SignedCommit, signed_commit};
pub use evaluate::{
    Evaluation, OverrideRecord, RangeCommit, RangeFacts, StampRecord, StatementStatus, Unmet,
    evaluate,
};
pub use keyring::{KeyProblem, Keyring};
pub use origin::AgentOrigin;
pub use sign::{SignError, Signer};
pub use verify::{SignatureKind, Verdict, judge_now, signature_time, verify_commit};
