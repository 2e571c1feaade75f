//! `hoist-testenv`: the test harness for shell scripts and benchmarks (a thin layer over
//! the `hoist_testenv` library). Run `hoist-testenv --help`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use hoist_testenv::{free_port, Compression, ImageBuilder, Layer, Registry};

#[derive(Debug, Parser)]
#[command(
    name = "hoist-testenv",
    version,
    about = "hoist's test harness for scripts: a local docker-registry and busybox test images"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Start Debian's docker-registry in the background on 127.0.0.1:PORT (plain HTTP, no
    /// auth, deletes enabled) with its storage in DIR; wait until it answers, print its pid.
    Registry {
        /// TCP port on 127.0.0.1 (see `free-port`).
        #[arg(long)]
        port: u16,
        /// Directory for config.yml, storage/, registry.log and registry.pid.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Stop the registry that `registry --dir DIR` started (SIGTERM, then SIGKILL).
    /// Succeeds when none is running, so cleanup traps can call it unconditionally.
    RegistryStop {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Build a busybox test image and push it with skopeo to an insecure (plain-HTTP)
    /// registry; print the pushed manifest digest.
    PushImage {
        /// Registry address HOST:PORT.
        #[arg(long)]
        registry: String,
        /// Repository and tag inside the registry, e.g. `bench/big:1`.
        reference: String,
        /// Number of busybox test layers (see ImageBuilder::multi_layer), before any
        /// --from-dir layers.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        layers: u64,
        /// Layer compression: gzip, zstd or none.
        #[arg(long, default_value = "gzip")]
        compression: Compression,
        /// Add one layer holding a copy of this host directory (regular files, dirs and
        /// symlinks) at the same path in the image. Repeatable.
        #[arg(long = "from-dir", value_name = "DIR")]
        from_dirs: Vec<PathBuf>,
    },
    /// Print a TCP port on 127.0.0.1 that is free right now.
    FreePort,
}

fn main() {
    // Failures in the library are panics with a full explanation; show just that text.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("unknown error");
        eprintln!("hoist-testenv: error: {msg}");
    }));

    match Cli::parse().command {
        Cmd::Registry { port, dir } => {
            let reg = Registry::spawn_detached(port, &dir);
            eprintln!(
                "hoist-testenv: registry listening on {} (storage and log in {})",
                reg.addr,
                reg.dir.display()
            );
            println!("{}", reg.pid);
        }
        Cmd::RegistryStop { dir } => match Registry::stop_detached(&dir) {
            Some(pid) => eprintln!("hoist-testenv: stopped registry pid {pid}"),
            None => eprintln!(
                "hoist-testenv: no registry from {} was running",
                dir.display()
            ),
        },
        Cmd::PushImage {
            registry,
            reference,
            layers,
            compression,
            from_dirs,
        } => {
            let layers = usize::try_from(layers).expect("layer count fits in usize");
            let mut builder = ImageBuilder::multi_layer(layers).with_layer_compression(compression);
            for dir in &from_dirs {
                eprintln!(
                    "hoist-testenv: adding a layer with a copy of {}",
                    dir.display()
                );
                builder = builder.layer(
                    Layer::copy_of_host_dir(dir),
                    &format!("copy of host directory {}", dir.display()),
                );
            }
            let digest = builder.push_insecure(&registry, &reference);
            eprintln!(
                "hoist-testenv: pushed {registry}/{reference} ({} layers, {})",
                builder.layer_count(),
                compression.name()
            );
            println!("{digest}");
        }
        Cmd::FreePort => println!("{}", free_port()),
    }
}
