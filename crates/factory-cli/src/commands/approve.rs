//! `factory approve [REV]` and `factory approvals [REV]`: signed approval statements.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use factory_gate::statement::{self, StatementError};
use factory_git::Repo;
use factory_trust::approval::{Kind, SignatureCheck};
use factory_trust::{SignError, Signer};

use crate::Env;
use crate::base_policy;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub(crate) struct ApproveArgs {
    /// The tip to approve. Default: HEAD.
    #[arg(default_value = "HEAD")]
    rev: String,
    /// The base: the statement covers BASE..REV, judged by BASE's policy. Default: the
    /// merge-base with origin/HEAD, main or master (REV's parent when REV is on it).
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// The role you approve in (one the base policy gives you).
    #[arg(long, value_name = "ROLE", required_unless_present = "withdraw")]
    role: Option<String>,
    /// Record an objection instead: an outstanding reject blocks.
    #[arg(long, conflicts_with = "withdraw")]
    reject: bool,
    /// Withdraw your own earlier approvals and rejects of REV (a signed statement; a withdrawn
    /// reject stops blocking). Approve again afterwards to count again.
    #[arg(long)]
    withdraw: bool,
    /// A comment kept in the statement.
    #[arg(long, value_name = "TEXT", default_value = "")]
    comment: String,
    /// Sign in-process with this key (an unencrypted OpenPGP secret key, or an OpenSSH Ed25519
    /// private key) instead of your git signing setup (gpg.format, user.signingkey).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Write the statement even when the gate would not count it (by default factory judges
    /// the range with it first, and writes nothing when it would count for nothing).
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct StampArgs {
    /// The tip to stamp. Default: HEAD.
    #[arg(default_value = "HEAD")]
    rev: String,
    /// The base: the stamp covers the change BASE..REV. Default: as for `approve`.
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// What the score measures: `holdback`, `quality`, `reliability`, `security`, …
    #[arg(long, value_name = "NAME")]
    dimension: String,
    /// The score, from 0 to 1.
    #[arg(long, value_name = "SCORE")]
    score: f64,
    /// The file the score rests on (a log, a results file): its SHA-256 goes in the stamp.
    #[arg(long, value_name = "FILE")]
    evidence: PathBuf,
    /// Where the evidence is kept for auditors (a URL); default: the file's path as given.
    #[arg(long, value_name = "URL")]
    evidence_url: Option<String>,
    /// Sign in-process with this key instead of your git signing setup (as for `approve`).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Write the stamp even when the gate would not count it.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    /// The commit whose statements to list. Default: HEAD.
    #[arg(default_value = "HEAD")]
    rev: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One line per statement.
    Human,
    /// A JSON array.
    Json,
}

/// "Now" as RFC 3339 UTC; GIT_COMMITTER_DATE (in that form) wins, for reproducible statements.
fn now() -> String {
    if let Ok(d) = std::env::var("GIT_COMMITTER_DATE")
        && d.len() == 20
        && d.ends_with('Z')
        && d.as_bytes()[10] == b'T'
    {
        return d;
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    crate::civil::rfc3339(secs)
}

/// The signer: `--key FILE`, or git's signing setup.
fn signer(repo: &Repo, key: Option<&Path>) -> Result<Signer, CliError> {
    if let Some(file) = key {
        return Ok(Signer::KeyFile(file.to_owned()));
    }
    let config = |key: &str| -> Result<Option<String>, CliError> {
        Ok(repo
            .config_all(key)
            .map_err(|e| CliError::internal(e.to_string()))?
            .pop())
    };
    Signer::from_git_config(
        config("gpg.format")?.as_deref(),
        config("user.signingkey")?.as_deref(),
    )
    .map_err(|e| CliError::usage(e.to_string()))
}

pub(crate) fn approve(env: &mut Env, args: ApproveArgs) -> Result<ExitCode, CliError> {
    let kind = if args.withdraw {
        Kind::Withdraw
    } else if args.reject {
        Kind::Reject
    } else {
        Kind::Approve
    };
    let role = match (&args.role, kind) {
        (Some(r), _) => r.clone(),
        (None, _) => "any".to_owned(),
    };
    write_statement(
        env,
        Draft {
            rev: &args.rev,
            base: args.base.as_deref(),
            role: Some(&role),
            kind,
            comment: &args.comment,
            reason: "",
            key: args.key.as_deref(),
            force: args.force,
            stamp: None,
        },
    )
}

#[derive(Debug, clap::Args)]
pub(crate) struct OverrideArgs {
    /// The tip to let land. Default: HEAD.
    #[arg(default_value = "HEAD")]
    rev: String,
    /// Why the requirements are waived (kept in the statement and shown by every audit and
    /// report).
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// The base: the override covers BASE..REV. Default as for `factory approve`.
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// Sign in-process with this key instead of your git signing setup (as for `approve`).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Write the override even when the gate would not count it.
    #[arg(long)]
    force: bool,
}

pub(crate) fn override_(env: &mut Env, args: OverrideArgs) -> Result<ExitCode, CliError> {
    if args.reason.trim().is_empty() {
        return Err(CliError::usage("an override needs a reason: --reason TEXT"));
    }
    write_statement(
        env,
        Draft {
            rev: &args.rev,
            base: args.base.as_deref(),
            role: None,
            kind: Kind::Override,
            comment: "",
            reason: &args.reason,
            key: args.key.as_deref(),
            force: args.force,
            stamp: None,
        },
    )
}

/// What a statement says before it is signed.
struct Draft<'a> {
    rev: &'a str,
    base: Option<&'a str>,
    /// None: the base policy's override role.
    role: Option<&'a str>,
    kind: Kind,
    comment: &'a str,
    reason: &'a str,
    key: Option<&'a Path>,
    force: bool,
    stamp: Option<statement::Stamp>,
}

/// `factory stamp`: a validator's signed score of a change on one dimension.
pub(crate) fn stamp(env: &mut Env, args: StampArgs) -> Result<ExitCode, CliError> {
    if !(0.0..=1.0).contains(&args.score) || args.score.is_nan() {
        return Err(CliError::usage(format!(
            "--score must be between 0 and 1, not {}",
            args.score
        )));
    }
    if args.dimension.trim().is_empty() {
        return Err(CliError::usage("--dimension names nothing"));
    }
    let path = env.cwd.join(&args.evidence);
    let bytes = std::fs::read(&path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", args.evidence.display())))?;
    let at = args
        .evidence_url
        .clone()
        .unwrap_or_else(|| args.evidence.display().to_string());
    let stamp = statement::Stamp::new(&args.dimension, args.score, &bytes, &at);
    write_stamp(
        env,
        &args.rev,
        args.base.as_deref(),
        stamp,
        args.key.as_deref(),
        args.force,
    )
}

/// Signs and writes a stamp of `rev` (as `factory stamp` does).
pub(crate) fn write_stamp(
    env: &mut Env,
    rev: &str,
    base: Option<&str>,
    stamp: statement::Stamp,
    key: Option<&Path>,
    force: bool,
) -> Result<ExitCode, CliError> {
    write_statement(
        env,
        Draft {
            rev,
            base,
            role: Some(factory_policy::VALIDATOR_ROLE),
            kind: Kind::Stamp,
            comment: "",
            reason: "",
            key,
            force,
            stamp: Some(stamp),
        },
    )
}

fn write_statement(env: &mut Env, draft: Draft<'_>) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let tip = repo.resolve_commit(draft.rev)?;
    let base = draft.base.map(|b| repo.resolve_commit(b)).transpose()?;
    let signer = signer(&repo, draft.key)?;
    let request = statement::Request {
        tip,
        base,
        role: draft.role.map(str::to_owned),
        kind: draft.kind,
        comment: draft.comment.to_owned(),
        reason: draft.reason.to_owned(),
        time: now(),
        force: draft.force,
        stamp: draft.stamp.clone(),
    };
    let made = match statement::make(&repo, &request, &signer) {
        Err(e @ StatementError::WouldNotCount { .. }) => {
            env.ui.err(&super::plain(&format!(
                "factory: {e}; nothing was written (--force writes it anyway)"
            )));
            env.ui.err("\n");
            env.ui.flush()?;
            return Ok(ExitCode::from(1));
        }
        other => other,
    }
    .map_err(|e| match e {
        StatementError::Gate(e) => base_policy::gate_error(&mut env.ui, tip, e),
        StatementError::Sign(SignError::Tool { .. } | SignError::Setup(_))
        | StatementError::Sign(SignError::Key { .. } | SignError::Read { .. })
        | StatementError::UnknownKey { .. }
        | StatementError::KeyInvalid { .. }
        | StatementError::NoRole { .. } => CliError::usage(e.to_string()),
        StatementError::BadSignature(_) | StatementError::WouldNotCount { .. } => {
            CliError::internal(e.to_string())
        }
    })?;
    for (line, problem) in &made.malformed {
        env.ui.err(&format!(
            "factory: warning: line {line} of the approvals note of {tip} is malformed and counts for nothing: {problem}"
        ));
    }
    let verb = match draft.kind {
        Kind::Approve => "approved",
        Kind::Reject => "rejected",
        Kind::Override => "overrode the gate for",
        Kind::Withdraw => "withdrew your statements on",
        Kind::Stamp => "stamped",
    };
    let st = &made.statement;
    if draft.kind == Kind::Stamp {
        env.ui.outln(&format!(
            "stamped {}..{}: {} {} as {} ({}), evidence {}",
            &made.base.to_string()[..12],
            &tip.to_string()[..12],
            st.dimension,
            st.stamp_score().unwrap_or(0.0),
            st.role,
            st.approver,
            st.evidence.as_ref().map_or("", |e| e.digest.as_str())
        ))?;
        env.ui.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    env.ui.outln(&format!(
        "{verb} {}..{} as {} ({}), {} transcript(s) seen",
        &made.base.to_string()[..12],
        &tip.to_string()[..12],
        st.role,
        st.approver,
        st.transcripts.len()
    ))?;
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn list(env: &mut Env, args: ListArgs) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let tip = repo.resolve_commit(&args.rev)?;
    let (listed, malformed) =
        statement::list(&repo, tip).map_err(|e| base_policy::gate_error(&mut env.ui, tip, e))?;
    // A malformed line counts for nothing, as for the gate: it is named, the rest are listed.
    for (line, problem) in malformed {
        env.ui.err(&super::plain(&format!(
            "factory: warning: line {line} of the approvals note of {tip} is malformed and counts for nothing: {problem}"
        )));
        env.ui.err("\n");
    }
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&listed)
                .map_err(|e| CliError::internal(e.to_string()))?;
            env.ui.outln(&text)?;
        }
        Format::Human => {
            if listed.is_empty() {
                env.ui.outln(&format!(
                    "no approval statements on {}",
                    &tip.to_string()[..12]
                ))?;
            }
            for l in &listed {
                let verdict = match (&l.check, &l.problem) {
                    (SignatureCheck::Good { .. }, None) => "valid".to_owned(),
                    (_, Some(p)) => format!("invalid: {p}"),
                    (SignatureCheck::Bad { reason }, None) => {
                        format!("invalid: bad signature ({reason})")
                    }
                    (SignatureCheck::UnknownKey { key }, None) => {
                        format!("invalid: unknown key {key}")
                    }
                    (SignatureCheck::Invalid { reason, .. }, None) => format!("invalid: {reason}"),
                };
                let kind = l.statement.kind.as_str();
                let reason = if l.statement.kind == Kind::Stamp {
                    format!(
                        " ({} {}, evidence {})",
                        l.statement.dimension,
                        l.statement.stamp_score().unwrap_or(0.0),
                        l.statement
                            .evidence
                            .as_ref()
                            .map_or("", |e| e.digest.as_str())
                    )
                } else if l.statement.reason.is_empty() {
                    String::new()
                } else {
                    format!(" (reason: {})", l.statement.reason)
                };
                // Every field but the signature's verdict comes from the note: untrusted.
                let line = format!(
                    "{kind} {} as {} base {} at {}: {verdict}{reason}",
                    l.statement.approver,
                    l.statement.role,
                    l.statement.base.chars().take(12).collect::<String>(),
                    l.statement.time
                );
                env.ui.outln(&super::plain(&line))?;
            }
        }
    }
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
