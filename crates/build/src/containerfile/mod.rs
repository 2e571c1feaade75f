//! Parsing Containerfiles: directives, continuations, heredocs, variables,
//! instructions, and the stages they form.
//!
//! [`parse`] turns the text into a [`Containerfile`]; nothing is expanded
//! then, because values depend on `--build-arg` and on each stage's scope.
//! A build then goes:
//! 1. [`Containerfile::global_scope_with`] (build args + platform args) for
//!    the FROM lines; [`Containerfile::stages_for_target`] for the stages
//!    `--target` needs, [`Containerfile::stage_deps`] for which of them can
//!    run in parallel, [`Containerfile::resolve_base`] for each FROM.
//! 2. Per stage a [`StageScope`] from the base image's env; `ARG` goes to
//!    [`StageScope::declare_arg`], `ENV` to [`StageScope::set_env`]; every
//!    [`Word`] of ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME
//!    WORKDIR is expanded with [`Word::expand`] (or
//!    [`Word::expand_words`]) against the scope; `COPY <<EOF` bodies with
//!    [`StageScope::heredoc_content`]; `--from` values with
//!    [`Containerfile::resolve_from`].
//! 3. [`Instruction::original`] is the history's `created_by` text,
//!    [`Instruction::full_text`] (heredoc bodies included) the cache key's.

mod ast;
mod error;
mod expand;
mod lines;
mod mount;
mod parse;
mod scope;
mod stages;
mod words;

pub use ast::*;
pub use error::{ExpandError, ParseError, StageError};
pub use expand::{expand, expand_heredoc, expand_words, Vars};
pub use mount::parse_mount;
pub use scope::{StageScope, PLATFORM_ARGS, PROXY_ARGS};
pub use stages::Base;

/// Parses a Containerfile. `Err` names the line and what was wrong.
pub fn parse(text: &str) -> Result<Containerfile, ParseError> {
    parse::parse_text(text)
}

#[cfg(test)]
mod tests;
