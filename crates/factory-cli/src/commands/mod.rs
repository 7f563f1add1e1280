//! One module per command, each with its clap arguments and one `run` function.

pub(crate) mod approve;
pub(crate) mod audit;
pub(crate) mod classify;
mod commits;
pub(crate) mod demo;
pub(crate) mod docs;
pub(crate) mod hook;
mod import;
pub(crate) mod init;
pub(crate) mod log;
pub(crate) mod notes;
pub(crate) mod policy;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod transcript;
pub(crate) mod verify;
pub(crate) mod why;
