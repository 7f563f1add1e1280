//! factory's policy language and the classification of change sets.
//!
//! This crate is pure: it knows nothing of git. The git layer hands it [`CommitFacts`] and
//! [`FileChange`]s (asking [`Classifier::content_need`] first, so that it computes added and removed
//! lines only for files some content rule can match) and gets a [`Verdict`] back: the commit's
//! tier, its origin (agent or human) and the [`Evidence`] of every rule that fired.
//!
//! A policy is TOML (`.factory/policy.toml`); [`Policy::parse`] reports every problem at once as
//! [`Problem`]s that carry the span of the offending text, ready for miette.
#![deny(missing_docs)]

mod classify;
mod decode;
mod edit;
mod embedded;
mod glob;
mod lexer;
mod model;
mod problem;
pub mod schema;

pub use classify::{Classifier, Evidence, Origin, Outcome, Trace, Verdict};
pub use edit::{EditError, NewPerson, add_person};
pub use embedded::{DEFAULT_POLICY, SHIPPED_POLICIES, ShippedPolicy, shipped};
pub use factory_change::{
    ChangeKind, CommitFacts, ContentNeed, ContentNeeds, FileChange, FileMode, LineSide, Lines,
    Status, Trailer, parse_trailers,
};
pub use lexer::Parts;
pub use model::{
    AgentPrincipal, Agents, DEFAULT_RULE_ID, GOVERNANCE_RULE_ID, Gate, Person, Policy, Requirement,
    Rule, StampRequirement, Tier, TierId, Transcripts, VALIDATOR_ROLE,
};
pub use problem::{PolicyError, Problem, Severity};
