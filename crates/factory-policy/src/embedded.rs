//! The policies shipped in `policies/`, embedded in the binary.

/// A policy shipped with factory.
#[derive(Debug, Clone, Copy)]
pub struct ShippedPolicy {
    /// Template name, e.g. `default`.
    pub name: &'static str,
    /// One line on who it is for.
    pub summary: &'static str,
    /// The TOML text.
    pub text: &'static str,
}

/// The embedded default policy, used when a repository has none.
pub const DEFAULT_POLICY: ShippedPolicy = ShippedPolicy {
    name: "default",
    summary: "docs and tests ship, endpoints/schemas/migrations/dependencies/CI need review, auth/crypto/payments/personal data/secrets are a hard stop",
    text: include_str!("../../../policies/default.toml"),
};

/// Every shipped policy.
pub const SHIPPED_POLICIES: &[ShippedPolicy] = &[
    DEFAULT_POLICY,
    ShippedPolicy {
        name: "regulated",
        summary: "for regulated software: everything outside docs needs review, wider hard-stop, large changes need review",
        text: include_str!("../../../policies/regulated.toml"),
    },
    ShippedPolicy {
        name: "open-source",
        summary: "for open-source projects: code ships with CI, releases, CI and dependency changes need a maintainer",
        text: include_str!("../../../policies/open-source.toml"),
    },
];

/// Finds a shipped policy by name.
pub fn shipped(name: &str) -> Option<&'static ShippedPolicy> {
    SHIPPED_POLICIES.iter().find(|p| p.name == name)
}
