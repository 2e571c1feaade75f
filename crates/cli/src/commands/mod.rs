//! One function per command: turn arguments into an engine call and print the result.

mod archive;
mod auth;
pub mod build;
pub mod checkpoint;
pub mod commit;
pub mod container;
pub mod convert;
pub mod events;
pub mod generate;
pub mod generate_selinux;
pub mod healthcheck;
mod images;
mod inspect;
pub mod kube;
pub mod kube_play;
pub mod manifest;
pub mod mount;
mod oci;
pub mod pack;
pub mod pod;
pub mod pod_clone;
pub mod pod_flags;
pub mod pod_logs;
pub mod pod_stats;
pub mod search;
pub mod seccomp;
pub mod secret;
pub mod sign;
mod system;
pub mod system_store;
mod transfer;
mod yaml;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::CommandFactory;
use hoist_engine::{Engine, RegistryOptions};

use crate::cli::{
    Cli, Command, GlobalArgs, ImageCommand, PlatformArgs, RegistryArgs, SystemCommand, TopCommand,
};

/// Runs the command and returns the process exit code.
pub fn run(root: PathBuf, globals: &GlobalArgs, command: TopCommand) -> Result<i32> {
    match command {
        TopCommand::Oci(a) => oci::run(a),
        TopCommand::Engine(c) => run_engine(root, globals, c),
    }
}

fn run_engine(root: PathBuf, globals: &GlobalArgs, command: Command) -> Result<i32> {
    // Not for the runtime commands, nor inside a container (its init).
    if !matches!(command, Command::ContainerInit { .. }) {
        events::install(&root, globals);
    }
    match command {
        Command::Events(a) => events::events(a),
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => {
            transfer::pull(&open(&root)?, a)
        }
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => {
            transfer::push(&open(&root)?, a)
        }
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::list(&open(&root)?, a),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => images::remove(&open(&root)?, a),
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => images::tag(&open(&root)?, a),
        Command::Untag(a) | Command::Image(ImageCommand::Untag(a)) => {
            images::untag(&open(&root)?, a)
        }
        Command::Inspect(a) => inspect::inspect(&root, a),
        Command::Image(ImageCommand::Inspect(a)) => images::inspect(&open(&root)?, a),
        Command::Image(ImageCommand::Exists { image }) => images::exists(&open(&root)?, &image),
        Command::Image(ImageCommand::Prune(a)) => images::prune(&open(&root)?, a),
        Command::Pack(a) => pack::pack(&open(&root)?, a),
        Command::Image(ImageCommand::UpdateCost(a)) => pack::update_cost(&open(&root)?, a),
        Command::Image(ImageCommand::Convert(a)) => convert::convert(&open(&root)?, &root, a),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => archive::save(&open(&root)?, a),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => archive::load(&open(&root)?, a),
        Command::Build(a)
        | Command::Image(ImageCommand::Build(a))
        | Command::Buildx(crate::cli::BuildxCommand::Build(a)) => {
            build::build(&open(&root)?, &root, globals, *a)
        }
        Command::Commit(a) | Command::Image(ImageCommand::Commit(a)) => {
            commit::commit(&open(&root)?, a)
        }
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => {
            commit::import(&open(&root)?, a)
        }
        Command::Export(a) => commit::export(&open(&root)?, a),
        Command::Image(ImageCommand::Tree(a)) => commit::tree(&open(&root)?, a),
        Command::Image(ImageCommand::Sign(a)) => sign::sign(&open(&root)?, a),
        Command::Diff(a) | Command::Image(ImageCommand::Diff(a)) => commit::diff(&open(&root)?, a),
        Command::History(a) | Command::Image(ImageCommand::History(a)) => {
            commit::history(&open(&root)?, a)
        }
        Command::Manifest(c) => manifest::run(&open(&root)?, c),
        Command::Mount(a) => mount::mount(&open(&root)?, a),
        Command::Umount(a) => mount::umount(&open(&root)?, a),
        Command::Image(ImageCommand::Mount(a)) => mount::image_mount(&open(&root)?, a),
        Command::Image(ImageCommand::Umount(a)) => mount::image_umount(&open(&root)?, a),
        Command::Login(a) => auth::login(a),
        Command::Logout(a) => auth::logout(a),
        Command::Info(a) | Command::System(SystemCommand::Info(a)) => {
            system::info(&open(&root)?, globals, a)
        }
        Command::Unshare(_) => anyhow::bail!("please use unshare with rootless"),
        Command::Version(a) => system::version(a),
        Command::System(SystemCommand::Check(a)) => system::check(&open(&root)?, a),
        Command::System(SystemCommand::Df(a)) => system_store::df(&root, a),
        Command::System(SystemCommand::Prune(a)) => system_store::prune(&root, a),
        Command::System(SystemCommand::Reset(a)) => system_store::reset(&root, a),
        Command::Search(a) | Command::Image(ImageCommand::Search(a)) => search::search(a),
        Command::Generate(c) => generate::run(&root, c),
        Command::Kube(c) => kube::run(&root, c),
        Command::Play(crate::cli::PlayCommand::Kube(a)) => kube_play::play(&root, a),
        Command::Run(a) => container::run(&root, globals, a),
        Command::Create(a) => container::create(&root, globals, a),
        Command::Exec(a) => container::exec(&root, a),
        Command::Cp(a) => container::cp(&root, a),
        Command::Top(a) => container::top(&root, a),
        Command::Stats(a) => container::stats(&root, a),
        Command::Start(a) => container::start(&root, a),
        Command::Stop(a) => container::stop(&root, a),
        Command::Kill(a) => container::kill(&root, a),
        Command::Restart(a) => container::restart(&root, a),
        Command::Rm(a) => container::rm(&root, a),
        Command::Ps(a) => container::ps(&root, a),
        Command::Logs(a) => container::logs(&root, a),
        Command::Wait(a) => container::wait(&root, a),
        Command::Pause(a) => container::pause(&root, a),
        Command::Unpause(a) => container::unpause(&root, a),
        Command::Port(a) => container::port(&root, a),
        Command::Init(a) => container::init(&root, a),
        Command::Rename(a) => container::rename(&root, a),
        Command::Attach(a) => container::attach(&root, a),
        Command::Update(a) => container::update(&root, a),
        Command::Container(c) => container::dispatch(&root, globals, c),
        Command::Volume(c) => container::volume(&root, c),
        Command::Network(c) => container::network(&root, c),
        Command::ContainerMonitor(a) => container::monitor(&root, a),
        Command::Secret(c) => secret::dispatch(&root, c),
        Command::Seccomp(c) => seccomp::dispatch(c),
        Command::Checkpoint(c) => checkpoint::dispatch(c),
        Command::Pod(c) => pod::dispatch(&root, c),
        Command::Healthcheck(c) => healthcheck::dispatch(&root, c),
        Command::HealthcheckTimer { id } => healthcheck::timer(&root, &id),
        Command::ContainerInit { command } => Ok(hoist_container::init::run_init(&command)),
        Command::Completion { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                crate::usage::BIN,
                &mut std::io::stdout(),
            );
            Ok(0)
        }
        Command::GenerateMan { dir } => generate_man(&dir),
    }
}

fn open(root: &std::path::Path) -> Result<Engine> {
    Engine::open(root).with_context(|| format!("opening the store at {}", root.display()))
}

/// Registry flags as the engine wants them.
fn registry_options(a: &RegistryArgs) -> Result<RegistryOptions> {
    let creds = match &a.creds {
        None => None,
        Some(c) => {
            let (user, pass) = c.split_once(':').unwrap_or((c.as_str(), ""));
            if user.is_empty() {
                anyhow::bail!("--creds must be USER[:PASSWORD], got an empty user name");
            }
            Some((user.to_string(), pass.to_string()))
        }
    };
    Ok(RegistryOptions {
        tls_verify: a.tls_verify,
        authfile: a.authfile.clone(),
        cert_dir: a.cert_dir.clone(),
        creds,
        ..RegistryOptions::default()
    })
}

/// `--platform`, or `--os/--arch/--variant` over the host's platform.
fn platform(a: &PlatformArgs) -> Result<hoist_image::platform::Platform> {
    let mut p = match &a.platform {
        Some(s) => s.parse()?,
        None => hoist_image::platform::Platform::host(),
    };
    if let Some(os) = &a.os {
        p.os = os.clone();
    }
    if let Some(arch) = &a.arch {
        p.architecture = arch.clone();
        p.variant = None;
    }
    if let Some(v) = &a.variant {
        p.variant = Some(v.clone());
    }
    Ok(p)
}

fn generate_man(dir: &PathBuf) -> Result<i32> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let cmd = crate::usage::whole_tree();
    write_man(dir, &cmd, "hoist")?;
    Ok(0)
}

fn write_man(dir: &std::path::Path, cmd: &clap::Command, name: &str) -> Result<()> {
    let page = clap_mangen::Man::new(cmd.clone().name(name.to_owned()).bin_name(name.to_owned()));
    let mut buf = Vec::new();
    page.render(&mut buf)?;
    std::fs::write(dir.join(format!("{name}.1")), buf)?;
    // clap's own `help` command has no page (cobra's is not a command).
    let pages = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help");
    for sub in pages {
        write_man(dir, sub, &format!("{name}-{}", sub.get_name()))?;
    }
    Ok(())
}
