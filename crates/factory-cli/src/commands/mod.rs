//! One module per command, each with its clap arguments and one `run` function.

pub(crate) mod classify;
pub(crate) mod demo;
pub(crate) mod policy;
