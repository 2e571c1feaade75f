//! Container logs. The `k8s-file` driver (podman's default, also used for
//! `json-file`, as podman does) keeps one line per line of output,
//! `<RFC 3339 nano time> <stdout|stderr> <F|P> <text>`, where `P` marks a
//! partial line (output that did not end in a newline yet). `journald`
//! sends each line to the journal with podman's fields; `none` and
//! `passthrough` keep nothing.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, Local};
use serde::{Deserialize, Serialize};

use crate::error::{io_err, ContainerError, Result};
use crate::record::Container;

/// `--log-driver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogDriver {
    #[default]
    K8sFile,
    /// Accepted for docker's sake; written in the k8s-file format.
    JsonFile,
    None,
    /// The container writes to the monitor's own stdout/stderr.
    Passthrough,
    Journald,
}

impl LogDriver {
    pub fn name(self) -> &'static str {
        match self {
            LogDriver::K8sFile => "k8s-file",
            LogDriver::JsonFile => "json-file",
            LogDriver::None => "none",
            LogDriver::Passthrough => "passthrough",
            LogDriver::Journald => "journald",
        }
    }

    /// Whether the output is kept in a file `logs` reads.
    pub fn uses_file(self) -> bool {
        matches!(self, LogDriver::K8sFile | LogDriver::JsonFile)
    }
}

impl FromStr for LogDriver {
    type Err = ContainerError;
    fn from_str(s: &str) -> Result<LogDriver> {
        Ok(match s {
            "k8s-file" | "" => LogDriver::K8sFile,
            "json-file" => LogDriver::JsonFile,
            "none" => LogDriver::None,
            "passthrough" => LogDriver::Passthrough,
            "journald" => LogDriver::Journald,
            _ => {
                return Err(ContainerError::Invalid(
                    "running container create option: invalid log driver: invalid argument".into(),
                ))
            }
        })
    }
}

/// How a container's output is logged (`--log-driver`, `--log-opt`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `None` until containers.conf's `log_driver` fills it in (see
    /// [`LogConfig::apply_conf`]); read it with [`LogConfig::driver`].
    pub driver: Option<LogDriver>,
    /// `--log-opt path=`: the log file instead of `ctr.log` in the
    /// container's directory.
    pub path: Option<PathBuf>,
    /// `--log-opt max-size=` (or containers.conf's `log_size_max`): the
    /// file is emptied when it would grow past this many bytes.
    pub size_max: Option<u64>,
    /// `--log-opt tag=`.
    pub tag: Option<String>,
    /// Other `--log-opt KEY=VALUE`s, kept as given.
    pub options: BTreeMap<String, String>,
}

impl LogConfig {
    /// Reads `--log-driver` and `--log-opt`s as podman does: every option
    /// is `KEY=VALUE`; `driver=` is another way to name the driver.
    pub fn parse(driver: Option<&str>, opts: &[String]) -> Result<LogConfig> {
        let mut c = LogConfig {
            driver: driver.map(str::parse).transpose()?,
            ..LogConfig::default()
        };
        for opt in opts {
            let Some((key, value)) = opt.split_once('=') else {
                return Err(ContainerError::Invalid(format!(
                    "invalid log option {opt:?}"
                )));
            };
            match key.to_ascii_lowercase().as_str() {
                "driver" => c.driver = Some(value.parse()?),
                "path" => c.path = Some(PathBuf::from(value)),
                "max-size" => {
                    let size = parse_decimal_size(value)?;
                    c.size_max = (size > 0).then_some(size);
                }
                "tag" => c.tag = Some(value.to_string()),
                _ => {
                    c.options.insert(key.to_string(), value.to_string());
                }
            }
        }
        Ok(c)
    }

    /// `inspect`'s `HostConfig.LogConfig`; `file` is where a k8s-file
    /// log is (see [`Container::log_path`]).
    pub fn inspect(&self, file: &Path) -> InspectLogConfig {
        let path = if self.driver().uses_file() {
            file.display().to_string()
        } else {
            String::new()
        };
        InspectLogConfig {
            kind: self.driver().name().to_string(),
            config: None,
            path,
            tag: self.tag.clone().unwrap_or_default(),
            size: human_decimal_size(self.size_max.unwrap_or(0)),
        }
    }

    /// The driver in effect (podman's default is k8s-file).
    pub fn driver(&self) -> LogDriver {
        self.driver.unwrap_or_default()
    }

    /// Fills what the flags left unset from containers.conf (`log_driver`,
    /// `log_size_max`) and checks that the driver can work here: journald
    /// needs a journal, as podman's "failed to initialize journal" says.
    pub fn apply_conf(&mut self, conf: &hoist_config::ContainersConf) -> Result<()> {
        if self.driver.is_none() {
            self.driver = Some(conf.containers().log_driver().parse()?);
        }
        if self.size_max.is_none() {
            self.size_max = conf.containers().log_size_max().limit();
        }
        if self.driver() == LogDriver::Journald && !hoist_events::journald::available() {
            return Err(ContainerError::Invalid(format!(
                "failed to initialize journal: {} does not exist: journald is not running here; use --log-driver k8s-file",
                hoist_events::journald::SOCKET
            )));
        }
        Ok(())
    }
}

/// podman's `HostConfig.LogConfig`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectLogConfig {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Config")]
    pub config: Option<BTreeMap<String, String>>,
    #[serde(rename = "Path")]
    pub path: String,
    #[serde(rename = "Tag")]
    pub tag: String,
    #[serde(rename = "Size")]
    pub size: String,
}

/// A size as podman's `--log-opt max-size` reads it: decimal units
/// (`10k` = 10000 bytes), an optional `b`/`B`, fractions allowed.
pub fn parse_decimal_size(s: &str) -> Result<u64> {
    let bad = || {
        ContainerError::Invalid(format!(
            "invalid size: {s:?}: use a number with an optional unit k, m, g, t or p (powers of 1000)"
        ))
    };
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let power = match unit {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return Err(bad()),
    };
    let bytes = value * 1000f64.powi(power);
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// A size as podman shows it: decimal units, four significant digits
/// (`10kB`, `1.536MB`, `0B`).
pub fn human_decimal_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let digits = if value >= 100.0 {
        1
    } else if value >= 10.0 {
        2
    } else {
        3
    };
    let text = format!("{value:.digits$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{}", UNITS[unit])
}

/// Appends a container's output to its log.
#[derive(Debug)]
pub enum LogWriter {
    File {
        file: File,
        size_max: Option<u64>,
    },
    Journald {
        /// The fields every entry carries (CONTAINER_ID, CONTAINER_NAME...).
        fields: BTreeMap<String, String>,
    },
}

impl LogWriter {
    /// A k8s-file log at `path`, without a size limit.
    pub fn open(path: &Path) -> Result<LogWriter> {
        Self::open_file(path, None)
    }

    fn open_file(path: &Path, size_max: Option<u64>) -> Result<LogWriter> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err("opening log", path))?;
        Ok(LogWriter::File { file, size_max })
    }

    /// The log of container `c` as its driver says; `None` when nothing is
    /// kept (`none`, `passthrough`).
    pub fn for_container(c: &Container) -> Result<Option<LogWriter>> {
        let log = &c.config.options.log;
        Ok(match log.driver() {
            LogDriver::K8sFile | LogDriver::JsonFile => {
                Some(Self::open_file(&c.log_path(), log.size_max)?)
            }
            LogDriver::None | LogDriver::Passthrough => None,
            LogDriver::Journald => {
                let mut fields = BTreeMap::new();
                fields.insert("CONTAINER_ID".into(), crate::short_id(c.id()).to_string());
                fields.insert("CONTAINER_ID_FULL".into(), c.id().to_string());
                fields.insert("CONTAINER_NAME".into(), c.name().to_string());
                fields.insert(
                    "SYSLOG_IDENTIFIER".into(),
                    log.tag
                        .clone()
                        .unwrap_or_else(|| crate::short_id(c.id()).to_string()),
                );
                if let Some(tag) = &log.tag {
                    fields.insert("CONTAINER_TAG".into(), tag.clone());
                }
                Some(LogWriter::Journald { fields })
            }
        })
    }

    /// Logs `data` read from `stream` (`stdout` or `stderr`).
    pub fn write(&mut self, stream: &str, data: &[u8]) -> std::io::Result<()> {
        match self {
            LogWriter::File { file, size_max } => {
                let out = k8s_lines(stream, data);
                let Some(max) = *size_max else {
                    return file.write_all(&out);
                };
                // conmon's rule, line by line: a log that would outgrow
                // its limit starts over.
                let mut len = file.metadata()?.len();
                for line in out.split_inclusive(|b| *b == b'\n') {
                    if len > 0 && len + line.len() as u64 > max {
                        file.set_len(0)?;
                        len = 0;
                    }
                    file.write_all(line)?;
                    len += line.len() as u64;
                }
                Ok(())
            }
            LogWriter::Journald { fields } => {
                for chunk in data.split_inclusive(|b| *b == b'\n') {
                    let mut f = fields.clone();
                    let (text, partial) = match chunk.strip_suffix(b"\n") {
                        Some(t) => (t, false),
                        None => (chunk, true),
                    };
                    f.insert(
                        "PRIORITY".into(),
                        if stream == "stderr" { "3" } else { "6" }.into(),
                    );
                    if partial {
                        f.insert("CONTAINER_PARTIAL_MESSAGE".into(), "true".into());
                    }
                    hoist_events::journald::send(&String::from_utf8_lossy(text), &f)
                        .map_err(std::io::Error::other)?;
                }
                Ok(())
            }
        }
    }
}

/// `data` as k8s-file lines stamped now.
fn k8s_lines(stream: &str, data: &[u8]) -> Vec<u8> {
    let now = Local::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, false);
    let mut out = Vec::with_capacity(data.len() + 64);
    for chunk in data.split_inclusive(|b| *b == b'\n') {
        let (text, tag) = match chunk.strip_suffix(b"\n") {
            Some(t) => (t, "F"),
            None => (chunk, "P"),
        };
        out.extend_from_slice(format!("{now} {stream} {tag} ").as_bytes());
        out.extend_from_slice(text);
        out.push(b'\n');
    }
    out
}

/// One parsed log line.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub time: DateTime<FixedOffset>,
    pub stream: String,
    pub partial: bool,
    pub text: String,
}

impl LogLine {
    pub fn parse(line: &str) -> Option<LogLine> {
        let mut it = line.splitn(4, ' ');
        let time = DateTime::parse_from_rfc3339(it.next()?).ok()?;
        let stream = it.next()?.to_string();
        let partial = it.next()? == "P";
        let text = it.next().unwrap_or("").to_string();
        Some(LogLine {
            time,
            stream,
            partial,
            text,
        })
    }

    /// The output this line stands for (with its newline unless partial).
    pub fn output(&self) -> String {
        if self.partial {
            self.text.clone()
        } else {
            format!("{}\n", self.text)
        }
    }
}

/// What `logs` shows.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Only the last N lines (of each container).
    pub tail: Option<usize>,
    /// Prefix lines with their time.
    pub timestamps: bool,
    /// Only lines at or after this time.
    pub since: Option<DateTime<FixedOffset>>,
    pub until: Option<DateTime<FixedOffset>>,
    /// Keep printing new lines until the containers have exited.
    pub follow: bool,
    /// Print each source's lines in a color of its own (by its place in
    /// the list), so that several containers' lines tell apart.
    pub color: bool,
}

/// The ANSI colors `logs --color` gives the sources, in turn: podman 4.3's
/// order, so that the same containers look the same with either tool.
const COLORS: [&str; 7] = [
    "\x1b[37m", "\x1b[31m", "\x1b[33m", "\x1b[34m", "\x1b[35m", "\x1b[36m", "\x1b[32m",
];

/// Ends a colored line (before its newline, so the terminal's next line
/// starts uncolored).
const COLOR_RESET: &str = "\x1b[0m";

fn keep(l: &LogLine, o: &LogOptions) -> bool {
    o.since.is_none_or(|s| l.time >= s) && o.until.is_none_or(|u| l.time <= u)
}

/// One container's log, as `logs` reads it.
pub struct LogSource<'a> {
    /// Printed before each line (the short id or name when `logs` shows
    /// several containers).
    pub prefix: Option<String>,
    /// The k8s-file log.
    pub path: PathBuf,
    /// With the journald driver: the container's id, whose entries are
    /// read from the journal instead of `path`.
    pub journald: Option<String>,
    /// Whether the container may still write (checked before each read,
    /// so the last lines are printed after it exits).
    pub alive: Box<dyn FnMut() -> bool + 'a>,
}

impl<'a> LogSource<'a> {
    /// The log of container `c`; an error for drivers that keep none, in
    /// podman's words.
    pub fn of(
        c: &Container,
        prefix: Option<String>,
        follow: bool,
        alive: Box<dyn FnMut() -> bool + 'a>,
    ) -> Result<LogSource<'a>> {
        let driver = c.config.options.log.driver();
        if !driver.uses_file() && driver != LogDriver::Journald {
            return Err(ContainerError::Invalid(format!(
                "this container is using the '{}' log driver, cannot read logs: this container is not logging output",
                driver.name()
            )));
        }
        let journald = driver == LogDriver::Journald;
        // podman follows the journal through its journald event backend.
        if journald && follow {
            let events = hoist_events::backend().map_or("none", |b| b.name());
            if events != "journald" {
                return Err(ContainerError::Invalid(format!(
                    "using --follow with the journald --log-driver but without the journald --events-backend ({events}) is not supported"
                )));
            }
        }
        Ok(LogSource {
            prefix,
            path: c.log_path(),
            journald: journald.then(|| c.id().to_string()),
            alive,
        })
    }
}

/// The journal entries of container `id` after `cursor` (which moves on).
fn journal_lines(id: &str, cursor: &mut Option<String>) -> Result<Vec<LogLine>> {
    let mut cmd = std::process::Command::new("journalctl");
    cmd.args(["--output=json", "--no-pager", "--all"])
        .arg(format!("CONTAINER_ID_FULL={id}"));
    if let Some(c) = cursor.as_deref() {
        cmd.arg(format!("--after-cursor={c}"));
    }
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(io_err(
            "running journalctl (package systemd) to read the log of",
            id,
        ))?;
    let mut lines = Vec::new();
    for entry in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(entry) else {
            continue;
        };
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("");
        if let Some(c) = v.get("__CURSOR").and_then(|x| x.as_str()) {
            *cursor = Some(c.to_string());
        }
        // journald keeps non-UTF-8 messages as arrays of bytes.
        let text = match v.get("MESSAGE") {
            Some(serde_json::Value::Array(bytes)) => {
                let b: Vec<u8> = bytes
                    .iter()
                    .filter_map(|x| x.as_u64())
                    .map(|x| x as u8)
                    .collect();
                String::from_utf8_lossy(&b).into_owned()
            }
            _ => field("MESSAGE").to_string(),
        };
        let Some(time) = field("__REALTIME_TIMESTAMP")
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
        else {
            continue;
        };
        lines.push(LogLine {
            time: time.with_timezone(&Local).fixed_offset(),
            stream: if field("PRIORITY") == "3" {
                "stderr"
            } else {
                "stdout"
            }
            .into(),
            partial: field("CONTAINER_PARTIAL_MESSAGE") == "true",
            text,
        });
    }
    Ok(lines)
}

/// A follower of one log file: the complete lines not read yet.
struct Reader {
    file: Option<File>,
    pos: u64,
    /// Where a journal reader stands.
    cursor: Option<String>,
}

impl Reader {
    fn lines(&mut self, path: &Path, create: bool) -> Result<Vec<LogLine>> {
        if self.file.is_none() {
            if create {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(io_err("opening log", path))?;
            }
            match File::open(path) {
                Ok(f) => self.file = Some(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(io_err("opening log", path)(e)),
            }
        }
        let file = self.file.as_mut().expect("opened above");
        // A log emptied at its size limit is read again from its start.
        let len = file.metadata().map_err(io_err("reading log", path))?.len();
        if len < self.pos {
            self.pos = 0;
        }
        file.seek(SeekFrom::Start(self.pos))
            .map_err(io_err("reading log", path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(io_err("reading log", path))?;
        // Only complete lines; a half-written last line is read again later.
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        self.pos += complete as u64;
        Ok(String::from_utf8_lossy(&bytes[..complete])
            .lines()
            .filter_map(LogLine::parse)
            .collect())
    }
}

/// Writes one line as `logs` prints it to the matching stream.
fn emit(
    prefix: Option<&str>,
    color: Option<&str>,
    l: &LogLine,
    o: &LogOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let mut text = String::from(color.unwrap_or_default());
    if let Some(p) = prefix {
        text.push_str(p);
        text.push(' ');
    }
    if o.timestamps {
        // podman prints all nine digits (and Z for UTC).
        text.push_str(&l.time.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
        text.push(' ');
    }
    text.push_str(&l.output());
    if color.is_some() {
        let newline = text.ends_with('\n');
        if newline {
            text.pop();
        }
        text.push_str(COLOR_RESET);
        if newline {
            text.push('\n');
        }
    }
    if l.stream == "stderr" {
        err.write_all(text.as_bytes())
    } else {
        out.write_all(text.as_bytes())
    }
}

/// Prints the logs of `sources`, lines of all of them in time order; with
/// `o.follow`, keeps printing new lines until every container has exited.
pub fn print_logs(
    sources: Vec<LogSource<'_>>,
    o: &LogOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    // Each source's color is fixed by its place in `sources`, before
    // sources that end are dropped from `live`.
    let mut live: Vec<(LogSource<'_>, Reader, Option<&str>)> = sources
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let r = Reader {
                file: None,
                pos: 0,
                cursor: None,
            };
            (s, r, o.color.then_some(COLORS[i % COLORS.len()]))
        })
        .collect();
    let mut first = true;
    loop {
        let mut batch: Vec<(DateTime<FixedOffset>, usize, LogLine)> = Vec::new();
        let mut running = Vec::with_capacity(live.len());
        for (i, (src, reader, _)) in live.iter_mut().enumerate() {
            running.push(o.follow && (src.alive)());
            let read = match &src.journald {
                Some(id) => journal_lines(id, &mut reader.cursor)?,
                None => reader.lines(&src.path, o.follow)?,
            };
            let lines: Vec<LogLine> = read.into_iter().filter(|l| keep(l, o)).collect();
            let skip = match (first, o.tail) {
                (true, Some(t)) => lines.len().saturating_sub(t),
                _ => 0,
            };
            batch.extend(lines.into_iter().skip(skip).map(|l| (l.time, i, l)));
        }
        first = false;
        batch.sort_by_key(|(t, i, _)| (*t, *i));
        for (_, i, l) in &batch {
            let (src, _, color) = &live[*i];
            emit(src.prefix.as_deref(), *color, l, o, out, err)
                .map_err(io_err("writing", "stdout"))?;
        }
        out.flush().ok();
        err.flush().ok();
        let mut keep_running = running.into_iter();
        live.retain(|_| keep_running.next().unwrap_or(false));
        // Nothing later than --until will be shown: following ends there.
        let past_until = o.until.is_some_and(|u| Local::now() > u);
        if live.is_empty() || past_until {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Parses `--since`/`--until`: RFC 3339, `YYYY-MM-DD`, a Unix time, or a
/// duration before now (`10s`, `5m`, `2h`).
pub fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    let now = Local::now().fixed_offset();
    if let Ok(secs) = s.parse::<i64>() {
        return DateTime::from_timestamp(secs, 0).map(|t| t.fixed_offset());
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => {
            let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
            return d
                .and_hms_opt(0, 0, 0)?
                .and_local_timezone(Local)
                .single()
                .map(|t| t.fixed_offset());
        }
    };
    Some(now - chrono::Duration::seconds(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(paths: &[(&Path, Option<&str>)], o: &LogOptions) -> (String, String) {
        let sources = paths
            .iter()
            .map(|(p, prefix)| LogSource {
                prefix: prefix.map(String::from),
                path: p.to_path_buf(),
                journald: None,
                alive: Box::new(|| false),
            })
            .collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        print_logs(sources, o, &mut out, &mut err).unwrap();
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn writes_and_reads_k8s_file_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ctr.log");
        let mut w = LogWriter::open(&p).unwrap();
        w.write("stdout", b"one\ntwo\npart").unwrap();
        w.write("stderr", b"oops\n").unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<LogLine> = text.lines().map(|l| LogLine::parse(l).unwrap()).collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0].stream, "stdout");
        assert!(!lines[0].partial);
        assert!(lines[2].partial);
        assert!(text.lines().nth(2).unwrap().contains(" stdout P part"));
        let all = LogOptions::default();
        assert_eq!(
            print(&[(&p, None)], &all),
            ("one\ntwo\npart".into(), "oops\n".into())
        );
        let o = LogOptions {
            tail: Some(2),
            ..Default::default()
        };
        assert_eq!(print(&[(&p, None)], &o).0, "part");
        let o = LogOptions {
            since: parse_time("1h").map(|t| t + chrono::Duration::hours(2)),
            ..Default::default()
        };
        assert_eq!(print(&[(&p, None)], &o), (String::new(), String::new()));
    }

    #[test]
    fn several_logs_merge_in_time_order_with_prefixes() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a.log"), d.path().join("b.log"));
        std::fs::write(
            &a,
            "2024-01-01T00:00:01Z stdout F a\n2024-01-01T00:00:04Z stdout F d\n",
        )
        .unwrap();
        std::fs::write(
            &b,
            "2024-01-01T00:00:02Z stdout F b\n2024-01-01T00:00:03Z stdout F c\n",
        )
        .unwrap();
        let o = LogOptions {
            timestamps: true,
            ..Default::default()
        };
        let (out, _) = print(&[(&a, Some("aaa")), (&b, Some("bbb"))], &o);
        assert_eq!(
            out,
            "aaa 2024-01-01T00:00:01.000000000Z a\nbbb 2024-01-01T00:00:02.000000000Z b\nbbb 2024-01-01T00:00:03.000000000Z c\naaa 2024-01-01T00:00:04.000000000Z d\n"
        );
        let o = LogOptions {
            tail: Some(1),
            ..Default::default()
        };
        assert_eq!(
            print(&[(&a, Some("x")), (&b, Some("y"))], &o).0,
            "y c\nx d\n"
        );
        // --color: each source its color, reset before the newline.
        let o = LogOptions {
            tail: Some(1),
            color: true,
            ..Default::default()
        };
        assert_eq!(
            print(&[(&a, Some("x")), (&b, Some("y"))], &o).0,
            "\x1b[31my c\x1b[0m\n\x1b[37mx d\x1b[0m\n"
        );
    }

    #[test]
    fn log_options_and_size_limit() {
        let c = LogConfig::parse(
            Some("json-file"),
            &["max-size=1k".into(), "tag=t".into(), "x=y".into()],
        )
        .unwrap();
        assert_eq!(c.driver(), LogDriver::JsonFile);
        let mut none = LogConfig::default();
        none.apply_conf(&hoist_config::ContainersConf::defaults())
            .unwrap();
        assert_eq!((none.driver(), none.size_max), (LogDriver::K8sFile, None));
        assert_eq!(c.size_max, Some(1000));
        let shown = c.inspect(Path::new("/x.log"));
        assert_eq!(
            (shown.size.as_str(), shown.path.as_str()),
            ("1kB", "/x.log")
        );
        assert_eq!(human_decimal_size(0), "0B");
        assert_eq!(human_decimal_size(1_536_000), "1.536MB");
        assert_eq!(human_decimal_size(10_000), "10kB");
        assert_eq!(parse_decimal_size("1.5m").unwrap(), 1_500_000);
        assert_eq!(parse_decimal_size("10KB").unwrap(), 10_000);
        assert!(parse_decimal_size("10q").is_err());
        assert_eq!(c.tag.as_deref(), Some("t"));
        assert_eq!(c.options.get("x").map(String::as_str), Some("y"));
        let e = LogConfig::parse(None, &["bogus".into()]).unwrap_err();
        assert_eq!(e.to_string(), r#"invalid log option "bogus""#);
        assert!(LogConfig::parse(Some("syslog"), &[])
            .unwrap_err()
            .to_string()
            .contains("invalid log driver"));
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ctr.log");
        let mut w = LogWriter::open_file(&p, Some(200)).unwrap();
        for i in 0..10 {
            w.write("stdout", format!("line {i}\n").as_bytes()).unwrap();
        }
        let len = std::fs::metadata(&p).unwrap().len();
        assert!(len <= 200, "{len}");
        assert!(std::fs::read_to_string(&p)
            .unwrap()
            .ends_with(" stdout F line 9\n"));
    }

    #[test]
    fn times() {
        assert!(parse_time("2024-01-02T03:04:05Z").is_some());
        assert!(parse_time("10m").unwrap() < Local::now().fixed_offset());
        assert!(parse_time("2024-01-02").is_some());
        assert!(parse_time("soon").is_none());
    }
}
