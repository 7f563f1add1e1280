//! `factory approve [REV]` and `factory approvals [REV]`: signed approval statements.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use factory_git::{APPROVALS_REF, ObjectId, RangeSpec, Repo};
use factory_trust::approval::{
    self, APPROVAL_NAMESPACE, Kind, SignatureCheck, Statement, StatementSig, check_signature,
};
use serde::Serialize;

use super::transcript::transcripts_of;
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

fn git_err(e: impl std::fmt::Display) -> CliError {
    CliError::internal(e.to_string())
}

/// The merge-base with the default branch, or REV's parent when REV is on that branch.
fn default_base(repo: &Repo, tip: ObjectId) -> Result<ObjectId, CliError> {
    match repo.merge_base_with_default(tip) {
        Some(base) if base != tip => Ok(base),
        _ => repo.resolve_commit(&format!("{tip}^")).or(Ok(tip)),
    }
}

/// The commit whose policy and keys a statement is made and checked under. One source of
/// governance: the server judges every protected ref by its default branch's policy and keys,
/// so that is the remote's default branch as this clone last fetched it, or `base` when there
/// is no remote default branch here.
fn governance(repo: &Repo, base: ObjectId) -> ObjectId {
    [
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/main",
        "refs/remotes/origin/master",
    ]
    .iter()
    .find_map(|r| repo.resolve_commit(r).ok())
    .unwrap_or(base)
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

/// Signs `bytes`, returning the signature.
fn sign(repo: &Repo, key: Option<&Path>, bytes: &[u8]) -> Result<StatementSig, CliError> {
    if let Some(file) = key {
        let text = std::fs::read_to_string(file)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display())))?;
        if text.contains("BEGIN OPENSSH PRIVATE KEY") {
            let private = ssh_key::PrivateKey::from_openssh(&text)
                .map_err(|e| CliError::usage(format!("{}: {e}", file.display())))?;
            let sig = private
                .sign(APPROVAL_NAMESPACE, ssh_key::HashAlg::Sha512, bytes)
                .map_err(|e| {
                    CliError::usage(format!("cannot sign with {}: {e}", file.display()))
                })?;
            let armored = sig.to_pem(ssh_key::LineEnding::LF).map_err(git_err)?;
            return Ok(StatementSig {
                format: "ssh".into(),
                armored,
            });
        }
        let armored = factory_trust::sign_openpgp(text.as_bytes(), bytes)
            .map_err(|e| CliError::usage(format!("{}: {e}", file.display())))?;
        return Ok(StatementSig {
            format: "openpgp".into(),
            armored,
        });
    }
    let format = repo
        .config_all("gpg.format")
        .map_err(git_err)?
        .pop()
        .unwrap_or_else(|| "openpgp".into());
    let signing_key = repo.config_all("user.signingkey").map_err(git_err)?.pop();
    match format.as_str() {
        "ssh" => {
            let key = signing_key.ok_or_else(|| {
                CliError::usage("gpg.format is ssh but user.signingkey is not set")
            })?;
            let dir = tempfile::tempdir().map_err(git_err)?;
            let msg = dir.path().join("statement");
            std::fs::write(&msg, bytes).map_err(git_err)?;
            let out = std::process::Command::new("ssh-keygen")
                .args(["-Y", "sign", "-n", APPROVAL_NAMESPACE, "-f", &key])
                .arg(&msg)
                .output()
                .map_err(|e| CliError::usage(format!("cannot run ssh-keygen: {e}")))?;
            if !out.status.success() {
                return Err(CliError::usage(format!(
                    "ssh-keygen -Y sign failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            let armored = std::fs::read_to_string(msg.with_extension("sig")).map_err(git_err)?;
            Ok(StatementSig {
                format: "ssh".into(),
                armored,
            })
        }
        "openpgp" => {
            let mut args = vec!["--batch", "--detach-sign", "--armor"];
            if let Some(k) = signing_key.as_deref() {
                args.extend(["--local-user", k]);
            }
            use std::io::Write;
            let mut child = std::process::Command::new("gpg")
                .args(&args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| CliError::usage(format!("cannot run gpg: {e}")))?;
            child
                .stdin
                .take()
                .expect("piped")
                .write_all(bytes)
                .map_err(git_err)?;
            let out = child.wait_with_output().map_err(git_err)?;
            if !out.status.success() {
                return Err(CliError::usage(format!(
                    "gpg --detach-sign failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            Ok(StatementSig {
                format: "openpgp".into(),
                armored: String::from_utf8_lossy(&out.stdout).into_owned(),
            })
        }
        other => Err(CliError::usage(format!(
            "gpg.format `{other}` cannot sign approvals (use openpgp or ssh, or --key)"
        ))),
    }
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
}

fn write_statement(env: &mut Env, draft: Draft<'_>) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let tip = repo.resolve_commit(draft.rev)?;
    let base = match draft.base {
        Some(b) => repo.resolve_commit(b)?,
        None => default_base(&repo, tip)?,
    };
    let governance = governance(&repo, base);
    let (policy, policy_blob, keyring) = base_policy::at(&mut env.ui, &repo, governance)?;
    let role = draft
        .role
        .map_or_else(|| policy.gate.override_role.clone(), str::to_owned);
    let mut transcripts = Vec::new();
    let range = if base == tip {
        vec![tip]
    } else {
        repo.commits(&RangeSpec::Range {
            from: base.to_string(),
            to: tip.to_string(),
        })?
    };
    for c in &range {
        transcripts.extend(transcripts_of(&repo, *c)?.into_iter().map(|t| t.digest));
    }
    transcripts.sort();
    transcripts.dedup();
    let mut statement = Statement {
        v: 1,
        kind: draft.kind,
        commit: tip.to_string(),
        tree: repo.tree_of(tip)?.to_string(),
        base: base.to_string(),
        role: role.clone(),
        policy: policy_blob,
        time: now(),
        approver: String::new(),
        transcripts,
        comment: draft.comment.to_owned(),
        reason: draft.reason.to_owned(),
        sig: None,
    };
    // Who is signing? Sign once to find the key's person in the base policy, then for real.
    let probe = sign(&repo, draft.key, &statement.canonical_bytes())?;
    statement.sig = Some(probe);
    let person = match check_signature(&statement, &keyring) {
        SignatureCheck::Good { person, .. } => person,
        SignatureCheck::UnknownKey { key } => {
            return Err(CliError::usage(format!(
                "your signing key {key} is no person's key in the policy of {} (the remote's default branch, or the base)",
                &governance.to_string()[..12]
            )));
        }
        SignatureCheck::Invalid { person, reason } => {
            return Err(CliError::usage(format!(
                "the key of `{person}` cannot sign now: {reason}"
            )));
        }
        SignatureCheck::Bad { reason } => {
            return Err(CliError::internal(format!(
                "the signature does not verify: {reason}"
            )));
        }
    };
    if draft.kind != Kind::Withdraw
        && !policy
            .people
            .get(&person)
            .is_some_and(|p| p.roles.contains(&role))
    {
        return Err(CliError::usage(format!(
            "`{person}` does not hold the role `{role}` in the base policy"
        )));
    }
    statement.approver = person.clone();
    statement.sig = None;
    statement.sig = Some(sign(&repo, draft.key, &statement.canonical_bytes())?);
    let existing = repo
        .read_note(APPROVALS_REF, tip)
        .map_err(|e| CliError::internal(crate::error::chain(&e)))?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    // Malformed lines already there count for nothing; they do not stop a new statement.
    let (_, malformed) = approval::parse_note_lenient(&existing);
    for (line, problem) in malformed {
        env.ui.err(&format!(
            "factory: warning: line {line} of the approvals note of {tip} is malformed and counts for nothing: {problem}"
        ));
    }
    let note = approval::append_to_note(&existing, &statement);
    repo.write_note(
        APPROVALS_REF,
        tip,
        note.as_bytes(),
        &format!("factory: {} statement", draft.kind.as_str()),
    )
    .map_err(|e| CliError::internal(crate::error::chain(&e)))?;
    let verb = match draft.kind {
        Kind::Approve => "approved",
        Kind::Reject => "rejected",
        Kind::Override => "overrode the gate for",
        Kind::Withdraw => "withdrew your statements on",
    };
    env.ui.outln(&format!(
        "{verb} {}..{} as {role} ({person}), {} transcript(s) seen",
        &base.to_string()[..12],
        &tip.to_string()[..12],
        statement.transcripts.len()
    ))?;
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct Listed {
    #[serde(flatten)]
    statement: Statement,
    #[serde(flatten)]
    check: SignatureCheck,
    /// Why the statement does not bind this commit, if it does not.
    problem: Option<String>,
}

pub(crate) fn list(env: &mut Env, args: ListArgs) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let tip = repo.resolve_commit(&args.rev)?;
    let note = repo
        .read_note(APPROVALS_REF, tip)
        .map_err(|e| CliError::internal(crate::error::chain(&e)))?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    // A malformed line counts for nothing, as for the gate: it is named, the rest are listed.
    let (statements, malformed) = approval::parse_note_lenient(&note);
    for (line, problem) in malformed {
        env.ui.err(&super::plain(&format!(
            "factory: warning: line {line} of the approvals note of {tip} is malformed and counts for nothing: {problem}"
        )));
        env.ui.err("\n");
    }
    let tree = repo.tree_of(tip)?.to_string();
    let mut bases: std::collections::HashMap<ObjectId, (String, factory_trust::Keyring)> =
        Default::default();
    let mut listed = Vec::new();
    for s in statements {
        let base = ObjectId::from_hex(s.base.as_bytes()).ok();
        let (check, problem) = match base {
            None => (
                SignatureCheck::Bad {
                    reason: "the base is not a commit id".into(),
                },
                Some("bad base".to_owned()),
            ),
            Some(base) => {
                // Statements usually share a base: load its policy and keys once.
                let (blob, keyring) = match bases.entry(base) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let (_, blob, keyring) =
                            base_policy::at(&mut env.ui, &repo, governance(&repo, base))?;
                        e.insert((blob, keyring))
                    }
                };
                let check = check_signature(&s, keyring);
                let problem = if s.commit != tip {
                    Some(format!(
                        "made for {}, not this commit (replayed)",
                        &s.commit[..12.min(s.commit.len())]
                    ))
                } else if s.tree != tree {
                    Some("the tree does not match".to_owned())
                } else if s.policy != *blob {
                    Some(
                        "made under another policy than the default branch's (or the base's)"
                            .to_owned(),
                    )
                } else if matches!(&check, SignatureCheck::Good { person, .. } if *person != s.approver)
                {
                    Some("signed by someone other than the named approver".to_owned())
                } else {
                    None
                };
                (check, problem)
            }
        };
        listed.push(Listed {
            statement: s,
            check,
            problem,
        });
    }
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&listed).map_err(git_err)?;
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
                let reason = if l.statement.reason.is_empty() {
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
