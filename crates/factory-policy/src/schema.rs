//! The keys of the policy language, documented once.
//!
//! The decoder refuses any key not listed here, and the book's policy reference is generated from
//! these tables ([`reference_markdown`]), so the documentation cannot drift from the code.

use std::fmt::Write as _;

/// One key of a policy table.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key as written in TOML (kebab-case).
    pub name: &'static str,
    /// Its TOML type, in words.
    pub ty: &'static str,
    /// Whether the key must be present.
    pub required: bool,
    /// The value used when the key is absent.
    pub default: Option<&'static str>,
    /// What the key means.
    pub doc: &'static str,
}

/// One table of the policy language.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// How the table is written, e.g. `[[rule]]`.
    pub header: &'static str,
    /// What the table is for.
    pub doc: &'static str,
    /// Its keys.
    pub keys: &'static [Key],
}

const fn key(
    name: &'static str,
    ty: &'static str,
    required: bool,
    default: Option<&'static str>,
    doc: &'static str,
) -> Key {
    Key {
        name,
        ty,
        required,
        default,
        doc,
    }
}

/// The top level of `.factory/policy.toml`.
pub const TOP: Table = Table {
    header: "(top level)",
    doc: "The file itself.",
    keys: &[
        key(
            "version",
            "integer",
            true,
            None,
            "Version of the policy language. Must be `1`.",
        ),
        key(
            "default-tier",
            "string",
            true,
            None,
            "Tier of a changed file that no file rule matches. Must name a tier.",
        ),
        key(
            "tier",
            "array of tables",
            true,
            None,
            "The tiers, lowest risk first (see `[[tier]]`).",
        ),
        key(
            "rule",
            "array of tables",
            false,
            Some("[]"),
            "The rules (see `[[rule]]`).",
        ),
        key(
            "agents",
            "table",
            false,
            Some("see `[agents]`"),
            "How agent commits are recognised.",
        ),
        key(
            "people",
            "table of tables",
            false,
            Some("{}"),
            "People, their keys and roles (see `[people.NAME]`).",
        ),
        key(
            "transcripts",
            "table",
            false,
            Some("see `[transcripts]`"),
            "How agent transcripts are stored.",
        ),
        key(
            "gate",
            "table",
            false,
            Some("see `[gate]`"),
            "What the pre-push and pre-receive hooks guard.",
        ),
    ],
};

/// `[gate]`.
pub const GATE: Table = Table {
    header: "[gate]",
    doc: "What the gate guards. Updates of protected branches must pass the policy, and such \
          branches cannot be deleted or force-pushed; other branches are review branches and are \
          not gated. Tags cannot be moved or deleted; a new tag must point at a commit of a \
          protected branch or pass the gate against the default branch. `refs/notes/factory/*` \
          only grow: deleting them, rewinding them or removing a note's lines is refused.",
    keys: &[
        key(
            "protected",
            "array of strings",
            false,
            Some("[\"main\", \"master\", \"release/*\"]"),
            "Protected branches, as names under `refs/heads/` with `*` wildcards; the \
             repository's default branch (HEAD) is always protected.",
        ),
        key(
            "override-role",
            "string",
            false,
            Some("\"override\""),
            "The role whose holders may sign a break-glass override (`factory override`).",
        ),
        key(
            "require-signed-human-commits",
            "boolean",
            false,
            Some("false"),
            "Human commits must carry a good signature by a key of a person of the policy.",
        ),
    ],
};

/// `[transcripts]`.
pub const TRANSCRIPTS: Table = Table {
    header: "[transcripts]",
    doc: "How agent transcripts are stored as notes on `refs/notes/factory/transcripts`. Secrets \
          are always redacted before anything is written (cloud keys, tokens, JWTs, private keys, \
          password assignments, high-entropy strings); these keys tune that.",
    keys: &[
        key(
            "max-note-bytes",
            "integer",
            false,
            Some("16777216"),
            "Largest note (all sessions of one commit) factory writes; a larger one is refused.",
        ),
        key(
            "keep-thinking",
            "boolean",
            false,
            Some("true"),
            "Keep the model's reasoning (thinking blocks) in stored transcripts.",
        ),
        key(
            "entropy-threshold",
            "float",
            false,
            Some("4.0"),
            "Shannon entropy (bits per character) from which a long mixed token is redacted.",
        ),
        key(
            "redact",
            "table of strings",
            false,
            Some("{}"),
            "Extra patterns to redact: `{ KIND = 'regex' }`; matches become `[REDACTED:KIND]`.",
        ),
    ],
};

/// `[[tier]]`.
pub const TIER: Table = Table {
    header: "[[tier]]",
    doc: "A risk tier. Tiers are ordered: the first is the lowest risk, the last the highest. \
          A commit's tier is the highest tier any rule gives it.",
    keys: &[
        key(
            "name",
            "string",
            true,
            None,
            "Unique name: lowercase letters, digits and `-`.",
        ),
        key(
            "description",
            "string",
            true,
            None,
            "What the tier means, shown to reviewers.",
        ),
        key(
            "requires",
            "array of tables",
            false,
            Some("[]"),
            "Approvals needed before a change of this tier lands (see `requires`).",
        ),
        key(
            "distinct-people",
            "boolean",
            false,
            Some("true"),
            "Each requirement must be met by a different person.",
        ),
        key(
            "forbid-agent",
            "boolean",
            false,
            Some("false"),
            "Agents may not produce changes of this tier at all.",
        ),
    ],
};

/// An item of a tier's `requires` array.
pub const REQUIREMENT: Table = Table {
    header: "requires = [{ ... }]",
    doc: "One requirement of a tier: approvals by holders of a role (`role`, `count`), or a \
          validation stamp (`stamp`, `min`).",
    keys: &[
        key(
            "role",
            "string",
            false,
            None,
            "The role whose holders can approve; some person must hold it. Required unless \
             `stamp` is given.",
        ),
        key(
            "count",
            "integer",
            false,
            Some("1"),
            "How many different people holding the role must approve.",
        ),
        key(
            "stamp",
            "string",
            false,
            None,
            "A dimension (`holdback`, `reliability`, `security`, …): the change needs a valid \
             stamp of it by a holder of the role `validator` (`factory stamp`, `factory \
             holdback run`); the latest such stamp counts.",
        ),
        key(
            "min",
            "number",
            false,
            Some("1.0"),
            "The lowest score of the stamp that counts, in [0, 1].",
        ),
    ],
};

/// `[[rule]]`.
pub const RULE: Table = Table {
    header: "[[rule]]",
    doc: "A rule gives a tier to the changes it matches. All conditions a rule states must hold. \
          File conditions (`paths`, `added-lines`, `removed-lines`, `kinds`) are checked per \
          changed file; commit conditions (`origin`, `merge`, `message`, `trailer`, \
          `trailer-value`) and sizes (`min-files-changed`, `min-lines-changed`, counted over the \
          files that meet the file conditions) are checked per commit. A rule must state at least \
          one condition.",
    keys: &[
        key(
            "id",
            "string",
            true,
            None,
            "Stable, unique id: lowercase letters, digits and `-`. Named in every verdict.",
        ),
        key(
            "tier",
            "string",
            true,
            None,
            "The tier the rule gives. Must name a tier.",
        ),
        key(
            "description",
            "string",
            false,
            Some("\"\""),
            "Why the rule exists.",
        ),
        key(
            "paths",
            "array of strings",
            false,
            None,
            "gitignore-style patterns; `!pattern` excludes, the last matching pattern decides. \
             A rename or copy matches on its old or its new path. With content conditions, \
             limits them to these files.",
        ),
        key(
            "added-lines",
            "array of strings",
            false,
            None,
            "Regular expressions; the rule fires on an added line matching any of them. The \
             evidence names the line number in the new file.",
        ),
        key(
            "removed-lines",
            "array of strings",
            false,
            None,
            "Regular expressions; the rule fires on a removed line matching any of them. The \
             evidence names the line number in the old file.",
        ),
        key(
            "changed-lines",
            "array of strings",
            false,
            None,
            "Regular expressions; the rule fires on an added or a removed line matching any of \
             them: adding a check and deleting one are both changes to it.",
        ),
        key(
            "lines-in",
            "array of strings",
            false,
            Some("[\"any\"]"),
            "Which parts of a changed line the line patterns read: any of `code`, `comments` (and \
             doc comments), `strings` (the contents of string literals), `tests` (lines of a test \
             module inside a production file: Rust's `#[cfg(test)]` items), or `any` (the line as \
             written). Told apart per language by the file's extension, reading the whole file \
             (block comments, multi-line strings and raw strings carry over lines): Rust, C and \
             C++, Go, Java, Kotlin, C#, Swift, PHP, JavaScript and TypeScript, Python, Ruby, \
             shell, SQL, YAML, TOML; in other files a line is all code. On a rule of `paths` \
             without line patterns, the rule fires on a file only when its change reaches these \
             parts: `[\"code\"]` lets an edit of comments, strings or a test module alone pass \
             (a rename, a binary file or a change of mode still fires).",
        ),
        key(
            "lines-only-in",
            "array of strings",
            false,
            None,
            "The rule fires on a file only when its change lies in these parts of lines (`code`, \
             `comments`, `strings`, `tests`): every changed line lies in them, blank lines aside, \
             or what the lines hold outside them is the same before and after (a comment edited \
             at the end of an unchanged line of code). `[\"comments\"]` matches an edit of \
             comments alone. A file of a language factory does not know never matches.",
        ),
        key(
            "kinds",
            "array of strings",
            false,
            None,
            "Change kinds, any of: `add`, `modify`, `delete`, `rename`, `copy`, `mode-change`, \
             `executable` (the executable bit is gained), `binary`, `submodule`, `symlink`.",
        ),
        key(
            "min-files-changed",
            "integer",
            false,
            None,
            "The commit changes at least this many files (meeting the file conditions).",
        ),
        key(
            "min-lines-changed",
            "integer",
            false,
            None,
            "The commit adds plus removes at least this many lines (in files meeting the file \
             conditions).",
        ),
        key(
            "origin",
            "string",
            false,
            None,
            "`agent` or `human`: who made the commit.",
        ),
        key(
            "merge",
            "boolean",
            false,
            None,
            "`true`: only merges; `false`: only non-merges.",
        ),
        key(
            "message",
            "string",
            false,
            None,
            "Regular expression the commit message must match.",
        ),
        key(
            "trailer",
            "string",
            false,
            None,
            "A trailer key the commit message must carry.",
        ),
        key(
            "trailer-value",
            "string",
            false,
            None,
            "Regular expression some value of `trailer` must match (needs `trailer`).",
        ),
    ],
};

/// `[agents]`.
pub const AGENTS: Table = Table {
    header: "[agents]",
    doc: "How agent commits are recognised. A commit is an agent's when it carries one of the \
          trailers, or its author matches one of the patterns, or one of its `Co-authored-by` \
          trailers matches one of the co-author patterns; otherwise it is a human's.",
    keys: &[
        key(
            "trailers",
            "array of strings",
            false,
            Some("[\"Agent\"]"),
            "Trailer keys whose presence marks an agent commit.",
        ),
        key(
            "authors",
            "array of strings",
            false,
            Some("[]"),
            "Regular expressions matched against the author as `Name <email>`.",
        ),
        key(
            "co-authors",
            "array of strings",
            false,
            Some("[]"),
            "Regular expressions matched against `Co-authored-by` trailer values.",
        ),
        key(
            "require-transcript",
            "boolean",
            false,
            Some("false"),
            "Agent commits must carry a transcript note (enforced by the gate).",
        ),
        key(
            "require-verified-agents",
            "boolean",
            false,
            Some("false"),
            "A commit that claims an agent (`Agent: NAME`) must be signed by a key of \
             `[agents.NAME]`, and a commit signed by an agent key must claim that agent; \
             anything else is refused by the gate.",
        ),
    ],
};

/// `[agents.NAME]`.
pub const AGENT: Table = Table {
    header: "[agents.NAME]",
    doc: "An agent as a principal: the keys `factory run` signs that agent's commits with. \
          NAME is what its commits' `Agent` trailer says before any `/VERSION`. Agents hold no \
          roles: a commit or statement signed by an agent key never approves, overrides or \
          counts as a person, and a key may not be both an agent's and a person's.",
    keys: &[key(
        "keys",
        "array of strings",
        true,
        None,
        "Signing keys: `openpgp:FINGERPRINT` (certificate under `.factory/keys/`) or an SSH \
         public key line.",
    )],
};

/// `[people.NAME]`.
pub const PERSON: Table = Table {
    header: "[people.NAME]",
    doc: "A person who can approve changes. NAME is the person's stable handle \
          (lowercase letters, digits, `-`, `_`, `.`).",
    keys: &[
        key("name", "string", false, Some("NAME"), "Display name."),
        key(
            "email",
            "string",
            false,
            None,
            "Contact address (informational: identity comes from keys).",
        ),
        key(
            "roles",
            "array of strings",
            false,
            Some("[]"),
            "Roles the person holds, e.g. `maintainer`, `validation-architect`.",
        ),
        key(
            "keys",
            "array of strings",
            false,
            Some("[]"),
            "Signing keys: `openpgp:FINGERPRINT` (certificate under `.factory/keys/`) or an SSH \
             public key line such as `ssh-ed25519 AAAA... comment`.",
        ),
    ],
};

/// Every table, in the order of the reference.
pub const TABLES: &[Table] = &[
    TOP,
    TIER,
    REQUIREMENT,
    RULE,
    AGENTS,
    AGENT,
    PERSON,
    TRANSCRIPTS,
    GATE,
];

/// The policy reference in Markdown, as the book shows it.
pub fn reference_markdown() -> String {
    let mut out = String::new();
    for table in TABLES {
        let _ = writeln!(out, "## `{}`\n\n{}\n", table.header, table.doc);
        out.push_str("| key | type | required | default | meaning |\n|---|---|---|---|---|\n");
        for k in table.keys {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                k.name,
                k.ty,
                if k.required { "yes" } else { "no" },
                k.default.unwrap_or("—"),
                k.doc.replace('|', "\\|")
            );
        }
        out.push('\n');
    }
    out
}
