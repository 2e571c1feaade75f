//! `RUN`: the command in a real hoist container of the image so far (the
//! same runtime and default security as `hoist run`), its changes as the
//! step's layer. The container is removed whatever happens.

use std::collections::BTreeMap;
use std::io::BufWriter;

use hoist_container::snapshot::{self, ImageMounts};
use hoist_container::{lifecycle, Containers, CreateOptions, CreateRequest};
use hoist_engine::PullPolicy;

use super::config;
use super::error::{io_err, BuildError, Result};
use super::output::Output;
use super::stage::{step_err, BuildContext, StageState};
use crate::containerfile::{Command, Instruction, Run};

/// Runs one `RUN` step (or takes its image from the cache).
pub(crate) fn run_step(
    ctx: &BuildContext<'_>,
    st: &mut StageState,
    ins: &Instruction,
    r: &Run,
    results: &BTreeMap<usize, String>,
    out: &mut Output,
) -> Result<()> {
    let Some(image) = st.image.clone() else {
        return Err(step_err(
            ctx,
            ins,
            "this stage starts FROM scratch and has no files yet: there is nothing to run (COPY a program in first)",
        ));
    };
    let mut argv = config::argv(&r.command, &st.shell);
    let args: Vec<String> = st
        .scope
        .args_in_effect()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let created_by = history_text(&r.command, &st.shell, &args);
    let network = r.network.clone().or_else(|| ctx.options.network.clone());
    let image_mounts = ImageMounts::new(ctx.builder.engine.root());
    let mut mounts = super::mounts::prepare(ctx, st, ins, &r.mounts, results, &image_mounts)?;
    // `RUN <<EOF` starting with `#!`: the body runs as a file, by the
    // interpreter it names, not by the shell.
    if let Some(h) = r.script() {
        argv = vec![mounts.script(ctx, &h.name, &h.content)?];
    }
    let mut key = st
        .key(&created_by)
        .with(ins.full_text())
        .with(network.clone().unwrap_or_default())
        // The runtime, security options, ulimits, DNS: what it ran under.
        .with(serde_json::to_string(&ctx.options.run_defaults).unwrap_or_default());
    for part in &mounts.key {
        key = key.with(part.clone());
    }
    if ctx.cache.lookup(ctx.builder.engine, &key).is_some() {
        return st.commit(ctx, None, created_by, key, out);
    }
    let mut env = config::env_of(&st.config);
    env.extend(args);
    // Given but not declared, proxy args reach the command only: they are
    // in neither `created_by` nor the key above.
    let proxies = st.scope.undeclared_proxy_args(&ctx.options.build_args);
    env.extend(proxies.into_iter().map(|(k, v)| format!("{k}={v}")));
    env.extend(mounts.env.iter().cloned());
    let mut options: CreateOptions = ctx.options.run_defaults.clone();
    options.command = Some(argv);
    options.entrypoint = Some(Vec::new());
    options.env = env;
    options.user = config::str_of(&st.config, "User").map(str::to_string);
    options.workdir = config::str_of(&st.config, "WorkingDir").map(str::to_string);
    options.networks = network.into_iter().collect();
    // `--security=insecure` runs the step privileged, as BuildKit does (it
    // is in the instruction text, so in the cache key); `sandbox` is the
    // default.
    if r.security.as_deref() == Some("insecure") {
        options.privileged = true;
    }
    options.mounts.extend(mounts.mounts.iter().cloned());
    // `--volume`s and the step's own mounts: their mount points are no
    // change of the step's.
    let mount_points: Vec<String> = options
        .mounts
        .iter()
        .map(|m| m.destination().to_string())
        .collect();
    let cs = ctx.builder.containers;
    let made = hoist_container::create(
        ctx.builder.engine,
        cs,
        CreateRequest {
            image: image.clone(),
            options,
            pull_policy: PullPolicy::Never,
            conf: ctx.builder.conf.clone(),
            ..CreateRequest::default()
        },
    )?;
    let _remove = RemoveOnDrop {
        cs,
        id: made.id.clone(),
    };
    let launcher = &ctx.builder.launcher;
    let mut code = if ctx.options.run_defaults.interactive {
        launcher.run_to_exit_reading_stdin(cs, &made.id)?
    } else {
        launcher.run_to_exit(cs, &made.id)?
    };
    // A RUN whose container never started (the runtime refused it) fails
    // the build with 1, as buildah's does when its runtime exits 1; `run`'s
    // 126/127 are for the command a user asked for, not a build step's.
    if code != 0 && cs.load(&made.id)?.state.started_at.is_none() {
        code = 1;
    }
    if code != 0 {
        return Err(BuildError::RunFailed {
            file: ctx.options.file_name.clone(),
            line: ins.line,
            step: ins.original.clone(),
            code,
        });
    }
    let scratch = ctx
        .builder
        .engine
        .store()
        .temp_dir()
        .map_err(hoist_engine::EngineError::from)?;
    let layer = scratch.path().join("layer.tar");
    let file = std::fs::File::create(&layer).map_err(io_err("creating", layer.as_path()))?;
    let ran = cs.load(&made.id)?;
    snapshot::drop_mount_points(&ran, mount_points.iter().map(String::as_str))?;
    snapshot::write_changes(&ran, BufWriter::new(file))?;
    if let Some(ts) = ctx.options.timestamp {
        super::layer::restamp(&layer, ts.max(0) as u64)?;
    }
    // The layer is in the store before the container goes.
    st.commit(ctx, Some(&layer), created_by, key, out)
}

/// The history's `created_by` of a RUN, as buildah writes it: the args in
/// effect first (`|2 A=1 B=2 `), then the command.
fn history_text(cmd: &Command, shell: &[String], args: &[String]) -> String {
    let command = match cmd {
        Command::Exec(v) => v.join(" "),
        Command::Shell(text) => format!("{} {text}", shell.join(" ")),
    };
    if args.is_empty() {
        command
    } else {
        format!("|{} {} {command}", args.len(), args.join(" "))
    }
}

/// Removes the step's container when the step ends, however it ends.
struct RemoveOnDrop<'a> {
    cs: &'a Containers,
    id: String,
}

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        if let Ok(c) = self.cs.load(&self.id) {
            let _ = lifecycle::remove(self.cs, &c, true);
        }
    }
}
