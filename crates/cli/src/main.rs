//! `hoist`: the command line. Parses arguments, sets up logging, runs one
//! command and turns its outcome into podman's exit codes. Everything else
//! lives in the library crates.

mod cli;
mod commands;
mod container_args;
mod exit;
mod logging;
mod oci_args;
mod output;
mod progress;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    logging::init(&cli.log_level);
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(err) => exit::report(&err),
    };
    std::process::exit(code);
}
