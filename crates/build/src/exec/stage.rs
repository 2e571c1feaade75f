//! One stage of a build: its state (the image so far, the config, the
//! history of config-only steps, the ARG/ENV scope) and the instructions
//! that change it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use hoist_engine::{ContainerImage, NewImage, PullPolicy};
use serde_json::{json, Map, Value};

use super::cache::{Cache, Key};
use super::config;
use super::error::{BuildError, Result};
use super::output::Output;
use super::{BuildOptions, Builder};
use crate::containerfile::{Base, Containerfile, Instruction, InstructionKind, StageScope, Word};
use crate::ignore::IgnoreRules;

/// What every stage of one build shares.
pub(crate) struct BuildContext<'a> {
    pub builder: &'a Builder<'a>,
    pub options: &'a BuildOptions,
    pub file: &'a Containerfile,
    pub global: &'a BTreeMap<String, String>,
    pub ignore: &'a IgnoreRules,
    pub cache: Cache,
    pub multi_stage: bool,
}

/// A stage being built.
pub(crate) struct StageState {
    pub index: usize,
    /// The image holding every layer so far (ID hex); `None` before a
    /// `FROM scratch` stage has any.
    pub image: Option<String>,
    /// The image config's `config` object as it stands.
    pub config: Map<String, Value>,
    /// `created_by` of the config-only steps since `image`.
    pub pending: Vec<String>,
    /// The config differs from `image`'s.
    pub dirty: bool,
    pub scope: StageScope,
    pub shell: Vec<String>,
    pub author: Option<String>,
    /// CMD was set in this stage (ENTRYPOINT then keeps it).
    pub cmd_set: bool,
    /// The base image's ONBUILD triggers, still to run.
    pub triggers: Vec<String>,
    /// `--unsetenv` names, once the final stage's steps are done.
    pub unset_env: Vec<String>,
}

/// Builds stage `index` from `base`; the ID (hex) of its image.
/// `results` has the images of the stages built before it.
/// `position` is its place (from 1) among the stages this build makes.
pub(crate) fn run_stage(
    ctx: &BuildContext<'_>,
    index: usize,
    position: usize,
    base: Base,
    results: &BTreeMap<usize, String>,
    is_last: bool,
    out: &mut Output,
) -> Result<String> {
    let stage = &ctx.file.stages[index];
    let total = stage.instructions.len() + 1;
    let position = ctx.multi_stage.then_some((position, ctx.file.stages.len()));
    out.step(position, 1, total, &stage.from.original);
    let mut st = StageState::start(ctx, index, &base, results)?;
    for trigger in onbuild_triggers(ctx, &st)? {
        st.apply(ctx, &trigger, results, out)
            .map_err(|e| at_step(ctx, &trigger, e))?;
    }
    for (i, ins) in stage.instructions.iter().enumerate() {
        out.step(position, i + 2, total, &ins.original);
        out.final_step = is_last && i + 1 == stage.instructions.len();
        st.apply(ctx, ins, results, out)
            .map_err(|e| at_step(ctx, ins, e))?;
    }
    if is_last {
        for (k, v) in &ctx.options.labels {
            config::set_in(&mut st.config, "Labels", k, json!(v));
            st.dirty = true;
        }
        for e in &ctx.options.env {
            let (k, v) = e.split_once('=').unwrap_or((e, ""));
            config::set_env(&mut st.config, k, v);
            st.dirty = true;
        }
        // Out of the config, and out of the base image's Env, which every
        // commit merges this config into.
        for k in &ctx.options.unset_env {
            st.dirty |= config::unset_env(&mut st.config, k);
        }
        st.unset_env = ctx.options.unset_env.clone();
    }
    st.finish(ctx, out)
}

/// The ONBUILD triggers of the base image, parsed: they run right after
/// FROM, as Docker runs them.
fn onbuild_triggers(ctx: &BuildContext<'_>, st: &StageState) -> Result<Vec<Instruction>> {
    let triggers = &st.triggers;
    if triggers.is_empty() {
        return Ok(Vec::new());
    }
    let text = format!("FROM scratch\n{}\n", triggers.join("\n"));
    let parsed = crate::containerfile::parse(&text).map_err(|source| BuildError::Parse {
        file: format!("{} (ONBUILD of the base image)", ctx.options.file_name),
        source,
    })?;
    Ok(parsed
        .stages
        .into_iter()
        .flat_map(|s| s.instructions)
        .collect())
}

impl StageState {
    fn start(
        ctx: &BuildContext<'_>,
        index: usize,
        base: &Base,
        results: &BTreeMap<usize, String>,
    ) -> Result<StageState> {
        let (image, mut config, author) = match base {
            Base::Scratch => (None, Map::new(), None),
            Base::Stage(i) => {
                let picked = image_named(ctx, &results[i], PullPolicy::Never)?;
                let (config, author) = config_of(&picked);
                (Some(picked.record.id.hex().to_string()), config, author)
            }
            Base::Image(name) => {
                let picked =
                    image_named(ctx, name, ctx.options.pull_policy).map_err(|e| match e {
                        BuildError::Engine(e) => BuildError::Base(e),
                        other => other,
                    })?;
                let (config, author) = config_of(&picked);
                (Some(picked.record.id.hex().to_string()), config, author)
            }
        };
        // The base's triggers run in this stage and are not inherited.
        // (Null, not removed: the image is made over its base's config.)
        let triggers: Vec<String> = config
            .insert("OnBuild".into(), Value::Null)
            .and_then(|v| v.as_array().cloned())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        // The stage's image differs from its base already: triggers to
        // drop, or a label to add (a stage that adds nothing else still
        // gets it, as buildah's).
        let mut dirty = !triggers.is_empty();
        if !ctx.options.omit_identity_label {
            dirty |= config::set_identity_label(&mut config);
        }
        let shell = config
            .get("Shell")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .filter(|s: &Vec<String>| !s.is_empty())
            .unwrap_or_else(config::default_shell);
        let scope = StageScope::new(&config::env_of(&config));
        Ok(StageState {
            index,
            image,
            config,
            pending: Vec::new(),
            dirty,
            scope,
            shell,
            author,
            cmd_set: false,
            triggers,
            unset_env: Vec::new(),
        })
    }

    /// Carries out one instruction.
    fn apply(
        &mut self,
        ctx: &BuildContext<'_>,
        ins: &Instruction,
        results: &BTreeMap<usize, String>,
        out: &mut Output,
    ) -> Result<()> {
        match &ins.kind {
            InstructionKind::Run(r) => {
                return super::run::run_step(ctx, self, ins, r, results, out)
            }
            InstructionKind::Copy(c) => {
                return super::copy::copy_step(ctx, self, ins, c, false, results, out)
            }
            InstructionKind::Add(c) => {
                return super::copy::copy_step(ctx, self, ins, c, true, results, out)
            }
            InstructionKind::Workdir(_) => {
                self.apply_config(ctx, ins)?;
                self.pending.push(nop(ins));
                self.dirty = true;
                return super::copy::ensure_workdir(ctx, self, ins, out);
            }
            InstructionKind::Arg(decls) => {
                for d in decls {
                    self.scope
                        .declare_arg(d, &ctx.options.build_args, ctx.global)
                        .map_err(|source| expand_err(ctx, ins, source))?;
                }
                return Ok(());
            }
            InstructionKind::From(_) => unreachable!("FROM only starts a stage"),
            _ => self.apply_config(ctx, ins)?,
        }
        self.pending.push(nop(ins));
        self.dirty = true;
        Ok(())
    }

    /// The instructions that only change the config.
    fn apply_config(&mut self, ctx: &BuildContext<'_>, ins: &Instruction) -> Result<()> {
        let ex = |w: &Word, scope: &StageScope| {
            w.expand(scope)
                .map_err(|source| expand_err(ctx, ins, source))
        };
        match &ins.kind {
            InstructionKind::Env(kvs) => {
                // Every value sees the scope from before this ENV.
                let values = kvs
                    .iter()
                    .map(|kv| Ok((ex(&kv.key, &self.scope)?, ex(&kv.value, &self.scope)?)))
                    .collect::<Result<Vec<_>>>()?;
                for (k, v) in values {
                    self.scope.set_env(&k, &v);
                    config::set_env(&mut self.config, &k, &v);
                }
            }
            InstructionKind::Label(kvs) => {
                for kv in kvs {
                    let (k, v) = (ex(&kv.key, &self.scope)?, ex(&kv.value, &self.scope)?);
                    config::set_in(&mut self.config, "Labels", &k, json!(v));
                }
            }
            InstructionKind::Workdir(w) => {
                let dir = ex(w, &self.scope)?;
                let dir = self.absolute(&dir);
                self.config.insert("WorkingDir".into(), json!(dir));
            }
            InstructionKind::User(w) => {
                let user = ex(w, &self.scope)?;
                self.config.insert("User".into(), json!(user));
            }
            InstructionKind::Expose(words) => {
                for w in words {
                    let ports = w
                        .expand_words(&self.scope)
                        .map_err(|source| expand_err(ctx, ins, source))?;
                    for p in ports {
                        config::set_in(
                            &mut self.config,
                            "ExposedPorts",
                            &config::port_key(&p),
                            json!({}),
                        );
                    }
                }
            }
            InstructionKind::Volume(words) => {
                for w in words {
                    let path = ex(w, &self.scope)?;
                    config::set_in(&mut self.config, "Volumes", &path, json!({}));
                }
            }
            InstructionKind::Shell(shell) => {
                self.shell = shell.clone();
                self.config.insert("Shell".into(), json!(shell));
            }
            InstructionKind::Cmd(c) => {
                self.config
                    .insert("Cmd".into(), json!(config::argv(c, &self.shell)));
                self.cmd_set = true;
            }
            InstructionKind::Entrypoint(c) => {
                self.config
                    .insert("Entrypoint".into(), json!(config::argv(c, &self.shell)));
                // An inherited CMD does not go with a new ENTRYPOINT.
                if !self.cmd_set {
                    self.config.insert("Cmd".into(), Value::Null);
                }
            }
            InstructionKind::Stopsignal(w) => {
                let sig = ex(w, &self.scope)?;
                self.config.insert("StopSignal".into(), json!(sig));
            }
            InstructionKind::Healthcheck(h) => {
                self.config
                    .insert("Healthcheck".into(), config::healthcheck(h));
            }
            InstructionKind::Onbuild(o) => {
                let mut list = self
                    .config
                    .get("OnBuild")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                list.push(json!(o.expression));
                self.config.insert("OnBuild".into(), Value::Array(list));
            }
            InstructionKind::Maintainer(who) => self.author = Some(who.clone()),
            _ => unreachable!("not a config instruction"),
        }
        Ok(())
    }

    /// A path in the image, relative ones below WORKDIR; a trailing `/`
    /// is kept (it means "a directory" to COPY).
    pub fn absolute(&self, path: &str) -> String {
        if path.starts_with('/') {
            return path.to_string();
        }
        let wd = config::str_of(&self.config, "WorkingDir").unwrap_or("/");
        format!("{}/{path}", wd.trim_end_matches('/'))
    }

    /// The key of a step that makes an image: what it starts from and the
    /// step itself.
    pub fn key(&self, created_by: &str) -> Key {
        Key::default()
            .with(self.image.clone().unwrap_or_else(|| "scratch".into()))
            .with(serde_json::to_string(&self.config).unwrap_or_default())
            .with(self.pending.join("\n"))
            .with(self.author.clone().unwrap_or_default())
            .with(created_by)
    }

    /// Makes the step's image (with `layer`, or config-only) unless the
    /// cache has it; it becomes the stage's image so far.
    pub fn commit(
        &mut self,
        ctx: &BuildContext<'_>,
        layer: Option<&Path>,
        created_by: String,
        key: Key,
        out: &mut Output,
    ) -> Result<()> {
        let engine = ctx.builder.engine;
        if let Some(id) = ctx.cache.lookup(engine, &key) {
            out.say(&format!("--> Using cache {id}"));
            self.settle(id);
            return Ok(());
        }
        let new = NewImage {
            base: self.image.clone(),
            run_config: self.config.clone(),
            created_by,
            author: self.author.clone(),
            empty_history: std::mem::take(&mut self.pending),
            created: ctx.options.timestamp.map(rfc3339),
            annotations: ctx.options.annotations.clone(),
            omit_history: ctx.options.omit_history,
            format: ctx.options.format,
            unset_env: self.unset_env.clone(),
            ..NewImage::default()
        };
        let id = engine.create_image_with(layer, &new)?;
        let id = id.hex().to_string();
        ctx.cache.record(&key, &id);
        out.made(&id);
        self.settle(id);
        Ok(())
    }

    fn settle(&mut self, id: String) {
        self.image = Some(id);
        self.pending.clear();
        self.dirty = false;
    }

    /// The stage's image: the last one made, or a config-only one for
    /// what came after it.
    fn finish(mut self, ctx: &BuildContext<'_>, out: &mut Output) -> Result<String> {
        if self.dirty || self.image.is_none() {
            let created_by = self
                .pending
                .pop()
                .unwrap_or_else(|| "/bin/sh -c #(nop) LABEL (from build flags)".into());
            let key = self.key(&created_by).with("stage end");
            self.commit(ctx, None, created_by, key, out)?;
        }
        Ok(self.image.expect("committed above"))
    }
}

/// The history text of a config-only step.
pub(crate) fn nop(ins: &Instruction) -> String {
    format!("/bin/sh -c #(nop) {}", ins.original)
}

pub(crate) fn expand_err(
    ctx: &BuildContext<'_>,
    ins: &Instruction,
    source: crate::containerfile::ExpandError,
) -> BuildError {
    BuildError::Expand {
        file: ctx.options.file_name.clone(),
        line: ins.line,
        source,
    }
}

/// A file error of a step (a full disk, an unreadable source) says which
/// step it was; errors that already name their step are kept as they are.
fn at_step(ctx: &BuildContext<'_>, ins: &Instruction, e: BuildError) -> BuildError {
    match e {
        BuildError::Io { .. } => step_err(ctx, ins, e.to_string()),
        other => other,
    }
}

/// A step error at `ins`.
pub(crate) fn step_err(
    ctx: &BuildContext<'_>,
    ins: &Instruction,
    message: impl Into<String>,
) -> BuildError {
    BuildError::Step {
        file: ctx.options.file_name.clone(),
        line: ins.line,
        step: ins.original.clone(),
        message: message.into(),
    }
}

/// An image by name or ID, pulled as `policy` says.
pub(crate) fn image_named(
    ctx: &BuildContext<'_>,
    name: &str,
    policy: PullPolicy,
) -> Result<ContainerImage> {
    let progress: Arc<dyn hoist_engine::progress::Progress> =
        Arc::new(hoist_engine::progress::Silent);
    Ok(ctx
        .builder
        .engine
        .image_for_container(name, policy, &ctx.options.pull, &progress)?)
}

/// The image a `--from` value (COPY --from, RUN --mount from=) names,
/// from stage `st`: an earlier stage's result (never pulled) or an image
/// (pulled per `--pull`); `scratch` has no files: `scratch_error` says so.
pub(crate) fn from_image(
    ctx: &BuildContext<'_>,
    st: &StageState,
    ins: &Instruction,
    value: &str,
    results: &BTreeMap<usize, String>,
    scratch_error: &str,
) -> Result<ContainerImage> {
    let base = ctx
        .file
        .resolve_from(value, st.index, ins.line)
        .map_err(|source| BuildError::Stage {
            file: ctx.options.file_name.clone(),
            source,
        })?;
    match base {
        Base::Stage(i) => image_named(ctx, &results[&i], PullPolicy::Never),
        Base::Image(name) => image_named(ctx, &name, ctx.options.pull_policy),
        Base::Scratch => Err(step_err(ctx, ins, scratch_error)),
    }
}

/// The `config` object and author of an image.
fn config_of(image: &ContainerImage) -> (Map<String, Value>, Option<String>) {
    let full: Value = serde_json::from_slice(&image.config).unwrap_or(Value::Null);
    let config = full
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let author = full
        .get("author")
        .and_then(Value::as_str)
        .map(str::to_string);
    (config, author)
}

/// Seconds since the epoch as RFC 3339 (UTC).
pub(crate) fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
