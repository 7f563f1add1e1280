//! `factory doctor`: a repository's factory setup checked in one command, each problem with its
//! fix. Exit 0 when healthy, 1 when something needs fixing.

use std::process::ExitCode;

use factory_gate::hooks::{self, MARKER};
use factory_git::Repo;
use factory_policy::{Policy, Severity};
use factory_trust::Keyring;

use crate::Env;
use crate::error::CliError;
use crate::policy_source::{self, Origin};

/// One check: what was looked at, and the problem with its fix when there is one.
struct Check {
    what: String,
    problem: Option<(String, String)>,
}

fn ok(what: impl Into<String>) -> Check {
    Check {
        what: what.into(),
        problem: None,
    }
}

fn bad(what: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        what: what.into(),
        problem: Some((problem.into(), fix.into())),
    }
}

fn checks(repo: &Repo, env: &Env) -> Vec<Check> {
    let mut out = Vec::new();
    let config = |key: &str| repo.config_all(key).unwrap_or_default();
    // History.
    out.push(if repo.git_dir().join("shallow").exists() {
        bad(
            "history",
            "the clone is shallow: the gate cannot judge what it lacks",
            "git fetch --unshallow (CI: fetch-depth: 0)",
        )
    } else {
        ok("history: complete")
    });
    // The policy and its keys.
    let source = policy_source::locate(&env.cwd, Some(repo), None);
    let policy = match &source {
        Err(_) => {
            // The policy file cannot be read at all (its diagnostics come from `policy check`).
            out.push(bad(
                "policy",
                ".factory/policy.toml cannot be read",
                "factory policy check",
            ));
            None
        }
        Ok(s) if matches!(s.origin, Origin::Embedded) => {
            out.push(bad(
                "policy",
                "no .factory/policy.toml: the embedded default names no people, so nothing above `auto` can be approved",
                "factory init",
            ));
            None
        }
        Ok(s) => match Policy::parse(&s.name, &s.text) {
            Err(e) => {
                out.push(bad(
                    "policy",
                    format!("{}: {} problem(s)", s.name, e.problems.len()),
                    "factory policy check",
                ));
                None
            }
            Ok(p) => {
                out.push(ok(format!(
                    "policy: {} loads ({} people)",
                    s.name,
                    p.people.len()
                )));
                for w in p
                    .warnings
                    .iter()
                    .filter(|w| w.severity == Severity::Warning)
                {
                    out.push(bad(
                        "tiers",
                        w.message.clone(),
                        w.help
                            .clone()
                            .unwrap_or_else(|| "factory policy check".into()),
                    ));
                }
                Some(p)
            }
        },
    };
    let keyring = match (&policy, &source) {
        (Some(p), Ok(s)) => {
            let files = crate::keys::key_files(s, Some(repo)).unwrap_or_default();
            match Keyring::from_policy(p, &files) {
                Ok(k) => Some(k),
                Err(problems) => {
                    out.push(bad(
                        "keys",
                        problems
                            .iter()
                            .map(|k| k.problem.message.clone())
                            .collect::<Vec<_>>()
                            .join("; "),
                        "factory policy check",
                    ));
                    None
                }
            }
        }
        _ => None,
    };
    // The hook.
    let hook = if repo.workdir().is_some() {
        "pre-push"
    } else {
        "pre-receive"
    };
    let installed = hooks::hooks_dir(repo)
        .ok()
        .and_then(|d| std::fs::read_to_string(d.join(hook)).ok())
        .is_some_and(|t| t.contains(MARKER));
    out.push(if installed {
        ok(format!("hook: {hook} installed"))
    } else {
        bad(
            "hook",
            format!("factory's {hook} hook is not installed"),
            if hook == "pre-push" {
                "factory hooks install"
            } else {
                "factory hooks install --server"
            },
        )
    });
    if repo.workdir().is_none() {
        return out;
    }
    // The remote: notes travel, the default branch is known.
    let remotes = repo.git(&["remote"], None).unwrap_or_default();
    if remotes.lines().any(|r| r == "origin") {
        let pushes = config("remote.origin.push");
        out.push(if pushes.iter().any(|p| p.contains("refs/notes/factory")) {
            ok("notes: pushed with the branch to origin")
        } else {
            bad(
                "notes",
                "a plain `git push` does not send factory's notes to origin",
                "factory notes setup",
            )
        });
        out.push(if repo.resolve_commit("refs/remotes/origin/HEAD").is_ok() {
            ok("origin/HEAD: known")
        } else {
            bad(
                "origin/HEAD",
                "this clone does not know origin's default branch",
                "git remote set-head origin --auto",
            )
        });
    } else {
        out.push(bad(
            "remote",
            "no remote `origin`: pushes are not gated yet",
            "git remote add origin URL && factory notes setup",
        ));
    }
    // The signing key.
    let signing = config("user.signingkey").pop();
    out.push(match (signing, &keyring, &policy) {
        (None, _, _) => bad(
            "signing key",
            "user.signingkey is not set: you cannot sign commits or approvals",
            "git config user.signingkey KEY (and gpg.format ssh for an SSH key)",
        ),
        (Some(key), Some(_), Some(p)) => {
            let named = p
                .people
                .values()
                .flat_map(|person| &person.keys)
                .any(|k| key_matches(k, &key));
            if named {
                ok("signing key: a person's key in the policy")
            } else {
                bad(
                    "signing key",
                    format!("your signing key {key} is no person's key in the policy"),
                    "factory people add NAME --role ROLE --key YOUR_PUBLIC_KEY",
                )
            }
        }
        (Some(_), _, _) => ok("signing key: set"),
    });
    // Runners: their sandbox must be possible here.
    if let Some(work) = repo.workdir()
        && let Ok(text) = std::fs::read_to_string(work.join(".factory/runners.toml"))
    {
        match factory_runner::Config::parse(".factory/runners.toml", &text) {
            Err(e) => out.push(bad(
                "runners",
                e.to_string(),
                "fix .factory/runners.toml (see the book's Running agents chapter)",
            )),
            Ok(config) => {
                for (name, runner) in &config.runners {
                    if runner.kind == "command"
                        && let Err(e) = factory_runner::CommandRunner::from_config(name, runner)
                    {
                        out.push(bad(
                            "runners",
                            e.to_string(),
                            "fix the runner's table in .factory/runners.toml",
                        ));
                    }
                }
                let sandboxed = config
                    .runners
                    .values()
                    .any(|r| r.sandbox.as_deref() != Some("none"));
                let check = factory_runner::sandbox::Sandbox::default().check();
                out.push(match (sandboxed, check) {
                    (false, _) => ok("runners: unsandboxed (sandbox = \"none\")"),
                    (true, Ok(())) => ok(format!(
                        "runners: {} configured; bubblewrap can make their sandbox",
                        config.runners.len()
                    )),
                    (true, Err(e)) => bad(
                        "runners",
                        e.to_string(),
                        "install bubblewrap (apt install bubblewrap), or set sandbox = \"none\" for the runner",
                    ),
                });
            }
        }
    }
    out
}

/// Whether a policy key is the git signing key (an SSH public key file or text, or an OpenPGP
/// fingerprint or its suffix).
fn key_matches(policy_key: &str, signing: &str) -> bool {
    if let Some(fpr) = policy_key.strip_prefix("openpgp:") {
        let wanted = signing.trim_end_matches('!').to_ascii_uppercase();
        return !wanted.is_empty() && fpr.to_ascii_uppercase().ends_with(&wanted);
    }
    // user.signingkey names the private key or the public one (git reads `.pub` beside it).
    let text = std::fs::read_to_string(format!("{signing}.pub"))
        .or_else(|_| std::fs::read_to_string(signing))
        .unwrap_or_else(|_| signing.trim_start_matches("key::").to_owned());
    let blob = |k: &str| k.split_whitespace().nth(1).map(str::to_owned);
    blob(text.lines().next().unwrap_or_default()).is_some_and(|b| blob(policy_key) == Some(b))
}

pub(crate) fn run(env: &mut Env) -> Result<ExitCode, CliError> {
    let repo = Repo::discover(&env.cwd)?;
    let list = checks(&repo, env);
    let problems = list.iter().filter(|c| c.problem.is_some()).count();
    for c in &list {
        match &c.problem {
            None => env.ui.outln(&format!("ok       {}", c.what))?,
            Some((problem, fix)) => {
                env.ui
                    .outln(&format!("problem  {}: {}", c.what, super::plain(problem)))?;
                env.ui.outln(&format!("         fix: {fix}"))?;
            }
        }
    }
    env.ui.outln(&if problems == 0 {
        "healthy".to_owned()
    } else {
        format!("{problems} problem(s) to fix")
    })?;
    env.ui.flush()?;
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
