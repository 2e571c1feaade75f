//! Running a parsed Containerfile into images in hoist's store.
//!
//! Each stage starts from an image, another stage's result or `scratch`
//! and keeps its state in memory (the image config so far, the history
//! entries of config-only steps). A `RUN` runs in a real hoist container
//! of the image so far, with the same runtime and default security as
//! `hoist run`, and its layer is the container's changes; `COPY` and `ADD`
//! write their layer straight from the files ([`layer`]). Every step that
//! makes an image goes through the [`cache`], so an unchanged rebuild runs
//! no container and writes no layer. Only the last step's image is tagged.

mod archive;
mod cache;
mod config;
mod copy;
mod download;
mod error;
mod export;
mod git;
mod inroot;
mod layer;
mod mounted;
mod mounts;
mod output;
mod parallel;
mod run;
pub mod ssh;
mod ssh_proxy;
mod stage;

use std::collections::BTreeMap;
use std::path::PathBuf;

use hoist_container::{Containers, MonitorLauncher};
use hoist_engine::{Engine, PullOptions, PullPolicy};
use hoist_image::Digest;

pub use error::{BuildError, ChecksumMismatch, Result};
pub use export::{write_output, OutputTarget};
pub use output::Output;

use crate::containerfile;
use crate::ignore::IgnoreRules;

/// What a build needs of the engine: the store, the containers, how to
/// start a container's monitor and containers.conf.
pub struct Builder<'a> {
    pub engine: &'a Engine,
    pub containers: &'a Containers,
    pub launcher: MonitorLauncher,
    pub conf: hoist_config::ContainersConf,
}

/// `hoist build`'s flags, as every front end passes them.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The build context directory.
    pub context: PathBuf,
    /// The Containerfile's text and the name it is reported under.
    pub file_text: String,
    pub file_name: String,
    /// `-t`: names for the result.
    pub tags: Vec<String>,
    /// `--build-arg`.
    pub build_args: BTreeMap<String, String>,
    /// `--from`: the image the first stage starts from, in place of the
    /// one its FROM names.
    pub from: Option<String>,
    /// `--target`.
    pub target: Option<String>,
    /// `--skip-unused-stages=false`: every stage up to the target is
    /// built, not only those it needs (buildah's default skips them).
    pub all_stages: bool,
    /// `--no-cache`: run every step (the results still fill the cache).
    pub no_cache: bool,
    /// `--pull`: when base images are pulled.
    pub pull_policy: PullPolicy,
    pub pull: PullOptions,
    /// `--label`: labels of the result.
    pub labels: Vec<(String, String)>,
    /// `--annotation`: annotations of the manifest of every image the
    /// build commits (buildah sets them at each commit), so the result's.
    pub annotations: BTreeMap<String, String>,
    /// `--omit-history`: every image the build commits has an empty
    /// `history` (the base image's dropped too), as buildah's.
    pub omit_history: bool,
    /// `--format`: the manifest format of every image the build commits.
    pub format: hoist_engine::ManifestFormat,
    /// `--identity-label=false`: the images of the build do not get
    /// buildah's `io.buildah.version` label (by default they do).
    pub omit_identity_label: bool,
    /// `--env`: environment of the result (and of every RUN after it).
    pub env: Vec<String>,
    /// `--unsetenv`: variables taken out of the result's `Env` (after
    /// `--env`; the RUN steps before still had them).
    pub unset_env: Vec<String>,
    /// `--timestamp`: seconds since the epoch for every created time and
    /// file time of new layers (reproducible builds).
    pub timestamp: Option<i64>,
    /// `--network` for every RUN (`none`, `host`, a network name).
    pub network: Option<String>,
    /// What every RUN's container starts from: the runtime and its flags,
    /// capabilities, ulimits, memory limit, `--volume` binds (their
    /// paths in the cache key, not their contents, as buildah's), DNS and
    /// hosts entries the build was given; `interactive` (`--stdin`): the
    /// step reads the build's standard input.
    /// The step then sets its command, environment, user, working
    /// directory, network and mounts.
    pub run_defaults: hoist_container::CreateOptions,
    /// `--ignorefile`: the exclusion rules instead of the context's
    /// `.containerignore`/`.dockerignore`.
    pub ignore_file: Option<PathBuf>,
    /// `--secret id=ID,src=FILE`: files RUN --mount=type=secret reads.
    pub secrets: BTreeMap<String, PathBuf>,
    /// `--ssh`: the agents RUN --mount=type=ssh reaches, by id.
    pub ssh: std::sync::Arc<ssh::SshAgents>,
    /// `-q`: only the image ID is printed (RUN output still shows).
    pub quiet: bool,
    /// `--squash`/`--squash-all`: which layers of the result are merged.
    pub squash: Squash,
    /// `--jobs`: how many stages may build at once (their dependencies
    /// built); 0 and 1 build them one after another.
    pub jobs: usize,
    /// `--platform`: must be this host's (see `check_platforms`).
    pub platform: Option<hoist_image::platform::Platform>,
}

/// Which layers of the result a build merges into one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Squash {
    /// Every step that changes files keeps its layer.
    #[default]
    No,
    /// `--squash`: the layers this build made go into one; the final
    /// stage's base image keeps its layers.
    New,
    /// `--squash-all`: the whole image is one layer.
    All,
}

/// Builds the image `o` describes and returns its ID; announcements go to
/// `out`.
pub fn build(b: &Builder<'_>, o: &BuildOptions, out: &mut Output) -> Result<Digest> {
    let mut file = containerfile::parse(&o.file_text).map_err(|source| BuildError::Parse {
        file: o.file_name.clone(),
        source,
    })?;
    if file.stages.is_empty() {
        return Err(BuildError::NoStages);
    }
    if let Some(image) = &o.from {
        replace_first_from(&mut file, image);
    }
    let stage_err = |source| BuildError::Stage {
        file: o.file_name.clone(),
        source,
    };
    let global = file
        .global_scope_with(&o.build_args, &platform_args())
        .map_err(stage_err)?;
    let mut wanted = file
        .stages_for_target(o.target.as_deref(), &global)
        .map_err(stage_err)?;
    if o.all_stages {
        let target = *wanted.last().expect("a target stage");
        wanted = (0..=target).collect();
    }
    check_platforms(&file, &wanted, &global, o)?;
    let ignore = match &o.ignore_file {
        Some(f) => IgnoreRules::from_file(f),
        None => IgnoreRules::load(&o.context),
    }
    .map_err(|e| BuildError::Step {
        file: o.file_name.clone(),
        line: 0,
        step: "reading .containerignore".into(),
        message: e.to_string(),
    })?;
    let ctx = stage::BuildContext {
        builder: b,
        options: o,
        file: &file,
        global: &global,
        ignore: &ignore,
        cache: cache::Cache::new(b.engine.root(), !o.no_cache).salted(commit_salt(o)),
        multi_stage: wanted.len() > 1,
    };
    let last = *wanted.last().expect("a target stage");
    let results = if o.jobs <= 1 || wanted.len() == 1 {
        let mut results: BTreeMap<usize, String> = BTreeMap::new();
        for (position, &index) in wanted.iter().enumerate() {
            let base = file.resolve_base(index, &global).map_err(stage_err)?;
            let image = stage::run_stage(
                &ctx,
                index,
                position + 1,
                base,
                &results,
                index == last,
                out,
            )?;
            results.insert(index, image);
        }
        results
    } else {
        let deps = wanted
            .iter()
            .map(|&i| Ok((i, file.stage_deps_for_scheduling(i, &global)?)))
            .collect::<std::result::Result<BTreeMap<_, _>, _>>()
            .map_err(stage_err)?;
        parallel::run_stages(&ctx, &wanted, &deps, o.jobs, out)?
    };
    let last_base = file.resolve_base(last, &global).map_err(stage_err)?;
    let result = squashed(b.engine, &results, last, last_base, o.squash)?;
    let id: Digest =
        format!("sha256:{result}")
            .parse()
            .map_err(|e: hoist_image::digest::DigestError| {
                BuildError::Engine(hoist_engine::EngineError::Invalid(e.to_string()))
            })?;
    name_result(b.engine, &id, o, out)?;
    Ok(id)
}

/// `--from`: the first stage starts from `image` instead of what its FROM
/// names (its `--platform` and `AS` name stay).
fn replace_first_from(file: &mut containerfile::Containerfile, image: &str) {
    let stage = &mut file.stages[0];
    let containerfile::InstructionKind::From(from) = &mut stage.from.kind else {
        unreachable!("a stage starts with FROM");
    };
    // Quoted: the name is taken as given, never expanded.
    from.image = containerfile::Word::new(format!("'{image}'"), from.image.escape);
    stage.from.original = match &from.alias {
        Some(alias) => format!("FROM {image} AS {alias}"),
        None => format!("FROM {image}"),
    };
}

/// What every image of the build is committed with besides its steps
/// (`--annotation`, `--omit-history`, `--format`): the same steps with
/// other values make other images, so they must not share cache entries.
fn commit_salt(o: &BuildOptions) -> String {
    let docker = o.format == hoist_engine::ManifestFormat::Docker;
    if o.annotations.is_empty() && !o.omit_history && !docker {
        return String::new();
    }
    serde_json::json!({
        "annotations": o.annotations,
        "omit_history": o.omit_history,
        "docker": docker,
    })
    .to_string()
}

/// The final stage's image (ID hex), its layers merged as `squash` says.
fn squashed(
    engine: &Engine,
    results: &BTreeMap<usize, String>,
    last: usize,
    last_base: containerfile::Base,
    squash: Squash,
) -> Result<String> {
    use containerfile::Base;
    let keep = match squash {
        Squash::No => return Ok(results[&last].clone()),
        Squash::All => 0,
        Squash::New => match last_base {
            Base::Scratch => 0,
            Base::Stage(i) => engine.layer_count(&results[&i])?,
            Base::Image(name) => engine.layer_count(&name)?,
        },
    };
    let id = hoist_container::squash::squash_image(engine, &results[&last], keep)?;
    Ok(id.hex().to_string())
}

/// Tags the result and announces it as podman does.
fn name_result(engine: &Engine, id: &Digest, o: &BuildOptions, out: &mut Output) -> Result<()> {
    match o.tags.first() {
        Some(first) => out.say(&format!("COMMIT {first}")),
        None => out.say("COMMIT"),
    }
    out.say(&format!("--> {}", output::short(id.hex())));
    if !o.tags.is_empty() {
        engine.tag(id.hex(), &o.tags)?;
        for t in &o.tags {
            out.say(&format!(
                "Successfully tagged {}",
                hoist_engine::local_name(t)?
            ));
        }
    }
    out.result(id.hex());
    Ok(())
}

/// `--platform` and each wanted stage's `FROM --platform`: this host's
/// platform, the one hoist builds for (a RUN of another architecture
/// needs an emulator hoist does not drive); anything else is refused
/// before a step runs.
fn check_platforms(
    file: &containerfile::Containerfile,
    wanted: &[usize],
    global: &dyn crate::containerfile::Vars,
    o: &BuildOptions,
) -> Result<()> {
    let host = hoist_image::platform::Platform::host();
    let refuse = |asked: &str| {
        format!(
            "hoist builds for this host's platform, {host}, and not for {asked}: build on a {asked} host, or leave the platform out"
        )
    };
    if let Some(p) = &o.platform {
        if !host.matches(p) {
            return Err(BuildError::Invalid(format!(
                "--platform {p}: {}",
                refuse(&p.to_string())
            )));
        }
    }
    for &index in wanted {
        let from = &file.stages[index].from;
        let Some(word) = &file.stages[index].from_args().platform else {
            continue;
        };
        let step_err = |message: String| BuildError::Step {
            file: o.file_name.clone(),
            line: from.line,
            step: from.original.clone(),
            message,
        };
        let asked = word.expand(global).map_err(|e| step_err(e.to_string()))?;
        let platform: hoist_image::platform::Platform = asked
            .parse()
            .map_err(|e: hoist_image::platform::PlatformError| step_err(e.to_string()))?;
        if !host.matches(&platform) {
            return Err(step_err(refuse(&asked)));
        }
    }
    Ok(())
}

/// The platform args every build defines (`TARGETARCH`, ...): this host's.
fn platform_args() -> BTreeMap<String, String> {
    let p = hoist_image::platform::Platform::host();
    let platform = match &p.variant {
        Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
        None => format!("{}/{}", p.os, p.architecture),
    };
    let variant = p.variant.clone().unwrap_or_default();
    [
        ("TARGETPLATFORM", platform.clone()),
        ("TARGETOS", p.os.clone()),
        ("TARGETARCH", p.architecture.clone()),
        ("TARGETVARIANT", variant.clone()),
        ("BUILDPLATFORM", platform),
        ("BUILDOS", p.os.clone()),
        ("BUILDARCH", p.architecture.clone()),
        ("BUILDVARIANT", variant),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
