//! The one place a tracing subscriber is installed. `RUST_LOG` wins over `--log-level`.

use std::fmt;
use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
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
        .event_format(PodmanFormat)
        .init();
}

/// podman's log line (logrus text): `time="..." level=info msg="..." key=value`,
/// which scripts written for podman look for.
struct PodmanFormat;

impl<S, N> FormatEvent<S, N> for PodmanFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = match *event.metadata().level() {
            Level::TRACE => "trace",
            Level::DEBUG => "debug",
            Level::INFO => "info",
            Level::WARN => "warning",
            Level::ERROR => "error",
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let time = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        write!(
            writer,
            "time=\"{time}\" level={level} msg={:?}",
            fields.message
        )?;
        for (key, value) in &fields.others {
            if value.is_empty() || value.contains([' ', '"', '=']) {
                write!(writer, " {key}={value:?}")?;
            } else {
                write!(writer, " {key}={value}")?;
            }
        }
        writeln!(writer)
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record(field, format!("{value:?}"));
    }
}

impl Fields {
    fn record(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.others.push((field.name(), value));
        }
    }
}
