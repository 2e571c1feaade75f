//! The variables one stage sees while it is built, by Docker's rules:
//! an `ARG` is visible from its declaration on; `ARG name` in a stage takes
//! the `--build-arg` value, else the global ARG's value; `ARG name=default`
//! takes the `--build-arg` value, else its default; ENV (the base image's
//! and the stage's) wins over ARG of the same name.

use super::ast::{ArgDecl, Heredoc};
use super::error::ExpandError;
use super::expand::{expand_heredoc, Vars};

/// Args that are usable without a declaration: the proxy settings, which a
/// `--build-arg` sets for `RUN` without appearing in the image or the
/// cache key.
pub const PROXY_ARGS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Platform args BuildKit and buildah define for every build (global
/// scope; a stage must redeclare them with `ARG NAME` to use them).
pub const PLATFORM_ARGS: [&str; 8] = [
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

/// The ARG and ENV values of a stage being built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageScope {
    /// Declared args with their values, in declaration order.
    args: Vec<(String, Option<String>)>,
    /// Environment: the base image's, then each ENV, in order.
    env: Vec<(String, String)>,
}

impl StageScope {
    /// A stage starting from a base image whose config has `base_env`
    /// (`KEY=value` strings, as in an OCI image config).
    pub fn new(base_env: &[String]) -> Self {
        let env = base_env
            .iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (kv.clone(), String::new()),
            })
            .collect();
        StageScope {
            args: Vec::new(),
            env,
        }
    }

    /// Applies one `ARG` declaration. `build_args` are the `--build-arg`
    /// values, `global` the global scope (from
    /// [`super::Containerfile::global_scope`]).
    pub fn declare_arg(
        &mut self,
        decl: &ArgDecl,
        build_args: &dyn Vars,
        global: &dyn Vars,
    ) -> Result<(), ExpandError> {
        let value = match (build_args.get(&decl.name), &decl.default) {
            (Some(v), _) => Some(v),
            (None, Some(d)) => Some(d.expand(self)?),
            (None, None) => global.get(&decl.name),
        };
        self.args.retain(|(k, _)| k != &decl.name);
        self.args.push((decl.name.clone(), value));
        Ok(())
    }

    /// Applies one `ENV key=value` (value already expanded).
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// The environment as `KEY=value` strings (for the image config and
    /// each RUN).
    pub fn env(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// The declared args that have a value and are not shadowed by ENV:
    /// what a RUN sees in its environment besides ENV, and what buildah
    /// puts in the cache key of a RUN.
    pub fn args_in_effect(&self) -> Vec<(String, String)> {
        self.args
            .iter()
            .filter(|(k, _)| !self.env.iter().any(|(e, _)| e == k))
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect()
    }

    /// The proxy settings ([`PROXY_ARGS`]) in `build_args` that this
    /// stage neither declares with ARG nor sets with ENV: Docker's
    /// predefined args. A RUN sees them without an ARG line, yet they stay
    /// out of its history and cache key, as in Docker: a proxy URL may
    /// carry a password, and another proxy does not change what a step
    /// makes. (Declared, they are ordinary args.)
    pub fn undeclared_proxy_args(&self, build_args: &dyn Vars) -> Vec<(String, String)> {
        PROXY_ARGS
            .iter()
            .filter(|name| !self.args.iter().any(|(k, _)| k == *name))
            .filter(|name| !self.env.iter().any(|(k, _)| k == *name))
            .filter_map(|name| build_args.get(name).map(|v| (name.to_string(), v)))
            .collect()
    }

    /// The body of a `COPY <<EOF` heredoc in this scope: expanded unless
    /// the delimiter was quoted.
    pub fn heredoc_content(&self, heredoc: &Heredoc, escape: char) -> Result<String, ExpandError> {
        if heredoc.expand {
            expand_heredoc(&heredoc.content, escape, self)
        } else {
            Ok(heredoc.content.clone())
        }
    }
}

impl Vars for StageScope {
    fn get(&self, name: &str) -> Option<String> {
        if let Some((_, v)) = self.env.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        self.args
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.clone())
    }
}
