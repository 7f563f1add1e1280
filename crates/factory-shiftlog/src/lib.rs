//! Shift Log: the conversations that produced agent commits, kept with the commits.
//!
//! This crate knows no git. It reads agent transcripts in their native formats ([`import()`],
//! with [`Format::detect`]), normalises them into one schema ([`Transcript`], version
//! [`SCHEMA`]), removes secrets before anything is stored ([`Redactor`]), and renders them for
//! reviewers ([`render`]).
#![deny(missing_docs)]

mod detect;
pub mod import;
pub mod note;
mod redact;
pub mod render;
mod schema;

pub use detect::Format;
pub use import::{ImportError, import, import_path, import_sessions};
pub use redact::{RedactionConfig, Redactor, marker};
pub use schema::{
    Agent, Edit, Message, OUTPUT_SUMMARY_BYTES, Role, SCHEMA, Source, ToolCall, Transcript, Usage,
};
