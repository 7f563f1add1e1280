//! `factory completions SHELL` and `factory man`: generated from the same clap definitions that
//! parse the arguments, so they cannot drift.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::error::CliError;
use crate::{Cli, Env};

#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {
    /// Write `factory.1` and one page per command (`factory-audit.1`, …) into DIR instead of
    /// printing `factory.1`.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub(crate) fn completions(env: &mut Env, args: CompletionsArgs) -> Result<ExitCode, CliError> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "factory", &mut out);
    env.ui.out(&String::from_utf8_lossy(&out))?;
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn render(cmd: clap::Command) -> Result<Vec<u8>, CliError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .map_err(|e| CliError::internal(e.to_string()))?;
    Ok(out)
}

pub(crate) fn man(env: &mut Env, args: ManArgs) -> Result<ExitCode, CliError> {
    let cmd = Cli::command();
    let Some(dir) = args.dir else {
        env.ui.out(&String::from_utf8_lossy(&render(cmd)?))?;
        env.ui.flush()?;
        return Ok(ExitCode::SUCCESS);
    };
    let dir = env.cwd.join(dir);
    let io = |e: std::io::Error| CliError::usage(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(&dir).map_err(io)?;
    let mut written = 0;
    let mut pages = vec![("factory".to_owned(), cmd.clone())];
    // One page per command and subcommand, named like git's (factory-policy-check.1).
    let mut stack: Vec<(String, clap::Command)> = cmd
        .get_subcommands()
        .map(|s| (format!("factory-{}", s.get_name()), s.clone()))
        .collect();
    while let Some((name, sub)) = stack.pop() {
        for s in sub.get_subcommands() {
            stack.push((format!("{name}-{}", s.get_name()), s.clone()));
        }
        pages.push((name, sub));
    }
    for (name, page) in pages {
        let page = page.name(name.clone()).bin_name(name.replace('-', " "));
        std::fs::write(dir.join(format!("{name}.1")), render(page)?).map_err(io)?;
        written += 1;
    }
    env.ui
        .outln(&format!("wrote {written} man pages to {}", dir.display()))?;
    env.ui.flush()?;
    Ok(ExitCode::SUCCESS)
}
