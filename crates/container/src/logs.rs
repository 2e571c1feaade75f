//! podman's `k8s-file` log format: one line per line of output,
//! `<RFC 3339 nano time> <stdout|stderr> <F|P> <text>`, where `P` marks a
//! partial line (output that did not end in a newline yet).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use chrono::{DateTime, FixedOffset, Local};

use crate::error::{io_err, Result};

/// Appends a container's output to its log.
#[derive(Debug)]
pub struct LogWriter {
    file: File,
}

impl LogWriter {
    pub fn open(path: &Path) -> Result<LogWriter> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err("opening log", path))?;
        Ok(LogWriter { file })
    }

    /// Logs `data` read from `stream` (`stdout` or `stderr`).
    pub fn write(&mut self, stream: &str, data: &[u8]) -> std::io::Result<()> {
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
        self.file.write_all(&out)
    }
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
    /// Only the last N lines.
    pub tail: Option<usize>,
    /// Prefix lines with their time.
    pub timestamps: bool,
    /// Only lines at or after this time.
    pub since: Option<DateTime<FixedOffset>>,
    pub until: Option<DateTime<FixedOffset>>,
}

fn keep(l: &LogLine, o: &LogOptions) -> bool {
    o.since.is_none_or(|s| l.time >= s) && o.until.is_none_or(|u| l.time <= u)
}

/// Writes one line as `logs` prints it to the matching stream.
fn emit(
    l: &LogLine,
    o: &LogOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let mut text = String::new();
    if o.timestamps {
        text.push_str(&l.time.to_rfc3339_opts(chrono::SecondsFormat::Nanos, false));
        text.push(' ');
    }
    text.push_str(&l.output());
    if l.stream == "stderr" {
        err.write_all(text.as_bytes())
    } else {
        out.write_all(text.as_bytes())
    }
}

/// Prints the log at `path`; with `follow`, keeps printing new lines for as
/// long as `alive()` says the container may still write. Returns when done.
pub fn print_log(
    path: &Path,
    o: &LogOptions,
    follow: bool,
    alive: &mut dyn FnMut() -> bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !follow => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(io_err("opening log", path))?;
            File::open(path).map_err(io_err("opening log", path))?
        }
        Err(e) => return Err(io_err("opening log", path)(e)),
    };
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(io_err("reading log", path))?;
    // Only complete lines; a half-written last line is read again later.
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    let lines: Vec<LogLine> = text[..complete]
        .lines()
        .filter_map(LogLine::parse)
        .filter(|l| keep(l, o))
        .collect();
    let skip = o.tail.map_or(0, |t| lines.len().saturating_sub(t));
    for l in &lines[skip..] {
        emit(l, o, out, err).map_err(io_err("writing", "stdout"))?;
    }
    out.flush().ok();
    if !follow {
        return Ok(());
    }
    let mut pos = complete as u64;
    file.seek(SeekFrom::Start(pos))
        .map_err(io_err("reading log", path))?;
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    loop {
        // Checked before reading so the final lines are printed after exit.
        let running = alive();
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(io_err("reading log", path))?;
            if n == 0 || !line.ends_with('\n') {
                reader
                    .seek(SeekFrom::Start(pos))
                    .map_err(io_err("reading log", path))?;
                break;
            }
            pos += n as u64;
            if let Some(l) = LogLine::parse(line.trim_end_matches('\n')) {
                if keep(&l, o) {
                    emit(&l, o, out, err).map_err(io_err("writing", "stdout"))?;
                }
            }
        }
        out.flush().ok();
        err.flush().ok();
        if !running {
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
        let (mut out, mut err) = (Vec::new(), Vec::new());
        print_log(
            &p,
            &LogOptions::default(),
            false,
            &mut || false,
            &mut out,
            &mut err,
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "one\ntwo\npart");
        assert_eq!(String::from_utf8(err).unwrap(), "oops\n");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let o = LogOptions {
            tail: Some(2),
            ..Default::default()
        };
        print_log(&p, &o, false, &mut || false, &mut out, &mut err).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "part");
        let o = LogOptions {
            since: parse_time("1h").map(|t| t + chrono::Duration::hours(2)),
            ..Default::default()
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        print_log(&p, &o, false, &mut || false, &mut out, &mut err).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn times() {
        assert!(parse_time("2024-01-02T03:04:05Z").is_some());
        assert!(parse_time("10m").unwrap() < Local::now().fixed_offset());
        assert!(parse_time("2024-01-02").is_some());
        assert!(parse_time("soon").is_none());
    }
}
