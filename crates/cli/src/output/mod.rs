//! Printing command results: tables, `--format json` and Go templates.

pub mod template;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use template::Template;

/// How the user asked for results to be printed.
pub enum Format {
    Default,
    Json,
    Template(Template),
}

impl Format {
    pub fn parse(format: Option<&str>) -> Result<Format> {
        Ok(match format {
            None | Some("") | Some("table") => Format::Default,
            Some("json") => Format::Json,
            Some(t) => Format::Template(Template::parse(t)?),
        })
    }
}

/// A UTC time as Go's `time.Time.String()` prints it, which is what
/// podman's templates show for a time (`2006-01-02 15:04:05.123 +0000
/// UTC`): the fraction without trailing zeros, none when it is zero.
pub fn go_time(t: chrono::DateTime<chrono::Utc>) -> String {
    let nanos = format!("{:09}", t.timestamp_subsec_nanos());
    let fraction = nanos.trim_end_matches('0');
    let dot = if fraction.is_empty() { "" } else { "." };
    format!("{}{dot}{fraction} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S"))
}

/// [`go_time`] of an RFC 3339 time (an image's `created`); the text as it
/// is when it is not one.
pub fn go_time_of(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| go_time(t.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// Prints `rows` as a JSON array.
pub fn print_json<T: Serialize>(rows: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(rows)?);
    Ok(())
}

/// Prints each row through the template, with a header row for `table`
/// templates; an unknown field fails before anything is printed.
pub fn print_template(t: &Template, rows: &[Value]) -> Result<()> {
    match t.render_rows(rows)? {
        template::RenderedRows::Text(text) => print!("{text}"),
        template::RenderedRows::Lines(lines) => print_aligned(&lines),
    }
    Ok(())
}

/// Aligns tab-separated columns like Go's tabwriter (3 spaces of padding).
pub fn print_aligned(lines: &[String]) {
    for line in aligned(lines) {
        println!("{line}");
    }
}

/// [`print_aligned`]'s lines, for callers that print only some of them.
pub fn aligned(lines: &[String]) -> Vec<String> {
    let rows: Vec<Vec<&str>> = lines.iter().map(|l| l.split('\t').collect()).collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter(|r| r.len() > i + 1)
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 < row.len() {
                    line.push_str(&format!("{cell:<width$}   ", width = widths[i]));
                } else {
                    line.push_str(cell);
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// Sizes as podman prints them (decimal units, three significant digits).
pub use hoist_store::human_size;

/// "3 hours ago", as podman's CREATED column: Docker's human durations
/// ("About a minute", "2 weeks"; hours rounded to the nearest).
pub fn human_age(seconds_ago: i64) -> String {
    let s = seconds_ago.max(0);
    let minutes = s / 60;
    let hours = (s + 1800) / 3600;
    let text = match s {
        0 => "Less than a second".to_string(),
        1 => "1 second".to_string(),
        2..=59 => format!("{s} seconds"),
        _ if minutes == 1 => "About a minute".to_string(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".to_string(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", s / 3600 / 24 / 365),
    };
    format!("{text} ago")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages_read_like_podman() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(4_509_681), "4.51 MB");
        assert_eq!(human_size(123_456_789), "123 MB");
        assert_eq!(human_size(1_000), "1 kB");
        assert_eq!(human_age(0), "Less than a second ago");
        assert_eq!(human_age(30), "30 seconds ago");
        assert_eq!(human_age(90), "About a minute ago");
        assert_eq!(human_age(3600), "About an hour ago");
        assert_eq!(human_age(5399), "About an hour ago");
        assert_eq!(human_age(7200), "2 hours ago");
        assert_eq!(human_age(86_400 * 3), "3 days ago");
        assert_eq!(human_age(86_400 * 20), "2 weeks ago");
        assert_eq!(human_age(86_400 * 400), "13 months ago");
        assert_eq!(human_age(86_400 * 800), "2 years ago");
    }

    #[test]
    fn times_print_as_go_prints_them() {
        use chrono::TimeZone;
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 12, 4, 21, 3, 54)
            .unwrap();
        assert_eq!(go_time(t), "2026-12-04 21:03:54 +0000 UTC");
        let t = t + chrono::Duration::nanoseconds(174_103_700);
        assert_eq!(go_time(t), "2026-12-04 21:03:54.1741037 +0000 UTC");
        assert_eq!(
            go_time_of("2026-12-04T22:03:54.5+01:00"),
            "2026-12-04 21:03:54.5 +0000 UTC"
        );
        assert_eq!(go_time_of("not a time"), "not a time");
    }
}
