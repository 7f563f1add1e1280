//! Verified versus claimed origin: whether an agent commit is proved to be that agent's.
//!
//! A commit claims an agent by what it says (an `Agent` trailer, an author or co-author the
//! policy's `[agents]` patterns match): anyone can type that. It is proved to be an agent's when
//! it is signed by a key of that agent's `[agents.NAME]` table, which `factory run` holds outside
//! the agent's sandbox. A commit signed by an agent key is that agent's work whatever it says.

use factory_policy::Policy;
use serde::{Deserialize, Serialize};

use crate::verify::Verdict;

/// The origin of a commit as its claims and its signature prove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "origin", rename_all = "kebab-case")]
pub enum AgentOrigin {
    /// Neither claims an agent nor is signed by an agent key.
    Human,
    /// Claims an agent; no agent key signed it.
    Claimed {
        /// What the commit says (`NAME` or `NAME/VERSION`).
        agent: String,
    },
    /// Signed by a key of the agent it claims.
    Verified {
        /// The agent of the policy.
        agent: String,
    },
    /// Claims several different agents (two `Agent` trailers).
    Conflicting {
        /// The agents it names.
        claimed: Vec<String>,
    },
    /// Signed by an agent key, but claims another agent or none.
    Mismatch {
        /// What the commit says, if anything.
        claimed: Option<String>,
        /// The agent whose key signed it.
        signed_by: String,
    },
}

impl AgentOrigin {
    /// Judges a commit: `claimed` is the agent its claims name (None for a human commit by its
    /// claims), `verdict` its signature verdict against a keyring of the same policy.
    pub fn judge(policy: &Policy, claimed: Option<&str>, verdict: &Verdict) -> AgentOrigin {
        let signed_by = match verdict {
            Verdict::Good { agent: Some(a), .. } => Some(a.as_str()),
            _ => None,
        };
        match (claimed, signed_by) {
            (None, None) => AgentOrigin::Human,
            (Some(c), None) => AgentOrigin::Claimed {
                agent: c.to_owned(),
            },
            (c, Some(s)) => {
                if c.and_then(|c| policy.agents.principal_of(c)) == Some(s) {
                    AgentOrigin::Verified {
                        agent: s.to_owned(),
                    }
                } else {
                    AgentOrigin::Mismatch {
                        claimed: c.map(str::to_owned),
                        signed_by: s.to_owned(),
                    }
                }
            }
        }
    }

    /// Whether the commit is an agent's (claimed, verified or signed by an agent key).
    pub fn is_agent(&self) -> bool {
        !matches!(self, AgentOrigin::Human)
    }

    /// A short word for listings: `human`, `claimed`, `verified`, `mismatch`.
    pub fn name(&self) -> &'static str {
        match self {
            AgentOrigin::Human => "human",
            AgentOrigin::Claimed { .. } => "claimed",
            AgentOrigin::Verified { .. } => "verified",
            AgentOrigin::Mismatch { .. } | AgentOrigin::Conflicting { .. } => "mismatch",
        }
    }

    /// Why the commit's origin is not proved, if it is not: what `require-verified-agents`
    /// refuses. None for a human commit and a verified agent commit.
    pub fn unproved(&self, policy: &Policy) -> Option<String> {
        match self {
            AgentOrigin::Human | AgentOrigin::Verified { .. } => None,
            AgentOrigin::Conflicting { claimed } => Some(format!(
                "claims several agents ({}): one commit, one agent",
                claimed.join(", ")
            )),
            AgentOrigin::Mismatch {
                claimed: Some(c),
                signed_by,
            } => Some(format!(
                "claims agent `{c}` but is signed by the key of agent `{signed_by}`"
            )),
            AgentOrigin::Mismatch {
                claimed: None,
                signed_by,
            } => Some(format!(
                "is signed by the key of agent `{signed_by}` but does not say it is that agent's (no `Agent: {signed_by}` trailer)"
            )),
            AgentOrigin::Claimed { agent } => Some(match policy.agents.principal_of(agent) {
                Some(p) => {
                    format!("claims agent `{agent}` but is not signed by a key of `[agents.{p}]`")
                }
                None => {
                    format!("claims agent `{agent}`, which the policy does not name as an agent")
                }
            }),
        }
    }
}
