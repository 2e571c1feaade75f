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
mod suggest;
mod usage;

use std::ffi::OsString;

fn main() {
    quiet_on_closed_stdout();
    let args: Vec<OsString> = std::env::args_os().collect();
    std::process::exit(run(&args));
}

/// The exit status of a process that SIGPIPE ended, as a shell reports it.
const EXIT_SIGPIPE: i32 = 128 + rustix::process::Signal::PIPE.as_raw();

/// A reader that goes away early (`hoist images | head -1`) ends hoist
/// quietly, as SIGPIPE ends podman there, instead of with the panic that
/// `println!` raises on a closed stdout. Other panics keep their report.
fn quiet_on_closed_stdout() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(EXIT_SIGPIPE);
        }
        report(info);
    }));
}

/// The levels podman's --log-level takes, and what each means here.
const LOG_LEVELS: &[(&str, &str)] = &[
    ("trace", "trace"),
    ("debug", "debug"),
    ("info", "info"),
    ("warn", "warn"),
    ("warning", "warn"),
    ("error", "error"),
    ("fatal", "error"),
    ("panic", "error"),
];

/// The tracing filter for `--log-level LEVEL[,TARGET=LEVEL...]`: one of
/// podman's levels, optionally followed by per-target directives (hoist
/// starts its container monitors that way). None for an unknown level.
fn log_filter(given: &str) -> Option<String> {
    let (head, rest) = match given.split_once(',') {
        Some((head, rest)) => (head, Some(rest)),
        None => (given, None),
    };
    let (_, level) = LOG_LEVELS.iter().find(|(name, _)| *name == head)?;
    Some(match rest {
        Some(rest) => format!("{level},{rest}"),
        None => level.to_string(),
    })
}

fn run(args: &[OsString]) -> i32 {
    let cli = match usage::parse(args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    if cli.version {
        println!("{} version {}", usage::BIN, env!("CARGO_PKG_VERSION"));
        return 0;
    }
    // As podman: a bad level is exit 1, before anything else happens.
    let level = match (&cli.log_level, cli.debug) {
        (Some(_), true) => {
            eprintln!("Setting --log-level and --debug is not allowed");
            return 1;
        }
        (None, true) => "debug".to_string(),
        (None, false) => "warn".to_string(),
        (Some(given), false) => match log_filter(given) {
            Some(filter) => filter,
            None => {
                let names: Vec<&str> = LOG_LEVELS.iter().map(|(n, _)| *n).collect();
                eprintln!(
                    "Log Level \"{given}\" is not supported, choose from: {}",
                    names.join(", ")
                );
                return 1;
            }
        },
    };
    let level = level.as_str();
    logging::init(level);
    tracing::info!("{} filtering at log level {level}", usage::BIN);
    tracing::debug!(root = %cli.root.display(), "using the store");
    tracing::trace!(arguments = ?args, "command line");
    if cli.globals.config.is_some() {
        tracing::warn!("The --config flag is ignored by hoist: it exists for docker compatibility");
    }
    let Some(command) = cli.command else {
        return usage::missing_command(args);
    };
    if let Some(flag) = cli.globals.remote_request() {
        eprintln!(
            "Error: {flag}: hoist has no remote mode; it runs containers on this machine only: run the command without {flag}"
        );
        return exit::ENGINE_ERROR;
    }
    if cli.globals.noout {
        if let Err(e) = exit::discard_stdout() {
            eprintln!("Error: --noout: {e}");
            return exit::ENGINE_ERROR;
        }
    }
    match commands::run(cli.root, &cli.globals, command) {
        Ok(code) => code,
        Err(err) => exit::report(&err),
    }
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn log_levels_are_podmans_with_optional_target_directives() {
        assert_eq!(log_filter("warning").as_deref(), Some("warn"));
        assert_eq!(log_filter("panic").as_deref(), Some("error"));
        assert_eq!(
            log_filter("debug,libcgroups=error").as_deref(),
            Some("debug,libcgroups=error")
        );
        assert_eq!(log_filter("telepathic"), None);
        assert_eq!(log_filter("telepathic,x=debug"), None);
        assert_eq!(log_filter(""), None);
    }
}
