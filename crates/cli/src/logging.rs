//! The one place a tracing subscriber is installed. `RUST_LOG` wins over `--log-level`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init(level: &str) {
    // libcgroups warns once per cgroup controller the host lacks, on every
    // container operation; that is noise unless asked for explicitly.
    let quiet_runtime = match level {
        "debug" | "trace" => "",
        _ => ",libcgroups=error,libcontainer=error",
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(format!("{level}{quiet_runtime}")))
        .unwrap_or_else(|_| EnvFilter::new(format!("warn{quiet_runtime}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        // Colour codes only for a person at a terminal: a log file or a
        // pipe must get plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
