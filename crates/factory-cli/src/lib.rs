//! The `factory` command-line tool: argument parsing, the terminal, and the mapping of errors to
//! exit codes. The engines live in the library crates; this crate only drives them.
//!
//! Exit codes: 0 success, 1 the policy blocks, 2 usage or configuration error, 3 internal error.
#![deny(missing_docs)]

mod base_policy;
mod civil;
mod commands;
mod error;
mod keys;
mod policy_source;
mod ui;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::CliError;
use ui::Ui;

/// factory: git as the governance layer of a software factory.
#[derive(Debug, Parser)]
#[command(
    name = "factory",
    version,
    about = "Git as the governance layer of a software factory: classify every change against a risk policy",
    max_term_width = 100
)]
pub struct Cli {
    /// Run as if started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    directory: Option<PathBuf>,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,
    #[command(subcommand)]
    command: Command,
}

/// When to use colours.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Govern this repository: write .factory/policy.toml from a template with you in it,
    /// install the pre-push hook and set up factory's notes (idempotent).
    Init(commands::init::Args),
    /// Classify commits against the risk policy: tier, origin and evidence.
    Classify(commands::classify::Args),
    /// Check or show the policy.
    #[command(subcommand)]
    Policy(commands::policy::Command),
    /// The gate's decision on a range, for CI: exit 0 pass, 1 blocked.
    Audit(commands::audit::Args),
    /// Sign an approval (or a rejection) of BASE..REV in a role, as a note on REV.
    Approve(commands::approve::ApproveArgs),
    /// List the approval statements on a commit with their verdicts.
    Approvals(commands::approve::ListArgs),
    /// Break-glass: sign an override that lets REV land without its approvals.
    Override(commands::approve::OverrideArgs),
    /// As a validator, sign a score of a change on one dimension, with its evidence.
    Stamp(commands::approve::StampArgs),
    /// Holdback scenarios: sealed to the validators, run in CI, signed as a stamp.
    #[command(subcommand)]
    Holdback(commands::holdback::Command),
    /// What git runs: the pre-push and pre-receive hooks of the gate.
    #[command(subcommand)]
    Hook(commands::hook::Command),
    /// Install or remove factory's git hooks.
    #[command(subcommand)]
    Hooks(commands::hook::InstallCommand),
    /// Check this repository's factory setup, each problem with its fix: exit 0 when healthy.
    Doctor,
    /// The people of the policy: add one with their roles and key.
    #[command(subcommand)]
    People(commands::people::Command),
    /// Verify commit signatures (OpenPGP, SSH) against the people and keys of the policy.
    Verify(commands::verify::Args),
    /// Attach agent transcripts to commits, or show them.
    #[command(subcommand)]
    Transcript(commands::transcript::Command),
    /// Keep factory's notes with the commits: setup, sync with a remote, remap after rewrites.
    #[command(subcommand)]
    Notes(commands::notes::Command),
    /// The history with each commit's origin, agent, model, transcript and tier.
    Log(commands::log::Args),
    /// The conversation that led to a line: blame it, then show the prompt and the turns.
    Why(commands::why::Args),
    /// Who wrote each line of a file: an agent (which one, in which session) or a person.
    Blame(commands::blame::Args),
    /// A compliance report of a range or a period: HTML with charts, Markdown or JSON.
    Report(commands::report::Args),
    /// Run agents on tasks, each in its own worktree and branch; commit, attach the transcript,
    /// show the gate's decision.
    Run(commands::run::Args),
    /// Build a demo repository with human and agent commits and classify it.
    Demo(commands::demo::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::docs::CompletionsArgs),
    /// Print the man page, or write one per command with --dir.
    Man(commands::docs::ManArgs),
    /// Inside an agent's sandbox: forward the proxy port to factory's proxy and run the agent.
    #[command(hide = true)]
    SandboxForward(commands::run::ForwardArgs),
}

/// Everything a command gets: the terminal and where it runs.
#[derive(Debug)]
pub(crate) struct Env {
    pub(crate) ui: Ui,
    pub(crate) cwd: PathBuf,
}

/// Runs factory with these arguments (the first is the program name) and returns the exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let choice = match cli.color {
        ColorWhen::Auto => None,
        ColorWhen::Always => Some(anstream::ColorChoice::Always),
        ColorWhen::Never => Some(anstream::ColorChoice::Never),
    };
    let mut env = Env {
        ui: Ui::new(choice),
        cwd: PathBuf::new(),
    };
    let result = std::env::current_dir()
        .map_err(|e| CliError::internal(format!("cannot read the current directory: {e}")))
        .map(|cwd| match &cli.directory {
            Some(dir) => cwd.join(dir),
            None => cwd,
        })
        .and_then(|cwd| {
            env.cwd = cwd;
            match cli.command {
                Command::Init(args) => commands::init::run(&mut env, args),
                Command::Classify(args) => commands::classify::run(&mut env, args),
                Command::Policy(cmd) => commands::policy::run(&mut env, cmd),
                Command::Audit(args) => commands::audit::run(&mut env, args),
                Command::Approve(args) => commands::approve::approve(&mut env, args),
                Command::Approvals(args) => commands::approve::list(&mut env, args),
                Command::Override(args) => commands::approve::override_(&mut env, args),
                Command::Stamp(args) => commands::approve::stamp(&mut env, args),
                Command::Holdback(cmd) => commands::holdback::run(&mut env, cmd),
                Command::Hook(cmd) => commands::hook::run(&mut env, cmd),
                Command::Hooks(cmd) => commands::hook::install(&mut env, cmd),
                Command::People(cmd) => commands::people::run(&mut env, cmd),
                Command::Doctor => commands::doctor::run(&mut env),
                Command::Verify(args) => commands::verify::run(&mut env, args),
                Command::Transcript(cmd) => commands::transcript::run(&mut env, cmd),
                Command::Log(args) => commands::log::run(&mut env, args),
                Command::Notes(cmd) => commands::notes::run(&mut env, cmd),
                Command::Why(args) => commands::why::run(&mut env, args),
                Command::Blame(args) => commands::blame::run(&mut env, args),
                Command::Run(args) => commands::run::run(&mut env, args),
                Command::Report(args) => commands::report::run(&mut env, args),
                Command::Demo(args) => commands::demo::run(&mut env, args),
                Command::Completions(args) => commands::docs::completions(&mut env, args),
                Command::Man(args) => commands::docs::man(&mut env, args),
                Command::SandboxForward(args) => commands::run::forward(args),
            }
        });
    match result {
        Ok(code) => code,
        Err(err) => err.report(&mut env.ui),
    }
}

/// The book's command-line reference (`book/src/cli-reference.md`), generated from the clap
/// definitions that parse the arguments; a test fails when the book drifts from it.
pub fn cli_reference_markdown() -> String {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: &str, out: &mut String) {
        let mut cmd = cmd.clone().term_width(100).bin_name(path.to_owned());
        let help = cmd.render_long_help().to_string();
        out.push_str(&format!(
            "## `{path}`\n\n```text\n{}\n```\n\n",
            help.trim_end()
        ));
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            walk(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }
    let mut out = String::from(
        "# Command-line reference\n\n<!-- Generated from factory's argument definitions by `FACTORY_BLESS=1 cargo test -p factory-cli --test cli`; do not edit. -->\n\nEvery command with its arguments, as `factory COMMAND --help` prints them. Exit codes: 0 success,\n1 the policy blocks, 2 usage or configuration error, 3 internal error.\n\n",
    );
    let mut cli = Cli::command();
    cli.build();
    walk(&cli, "factory", &mut out);
    out
}

/// Whether `factory ARGS…` parses (for checking the commands shown in the book); the error is
/// clap's message.
pub fn check_arguments<I, T>(args: I) -> Result<(), String>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::try_parse_from(args)
        .map(|_| ())
        .map_err(|e| e.to_string())
}
