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
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < row.len() {
                line.push_str(&format!("{cell:<width$}   ", width = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        println!("{}", line.trim_end());
    }
}

/// Sizes as podman prints them (decimal units, three significant digits).
pub use hoist_store::human_size;

/// "3 hours ago", as podman's CREATED column.
pub fn human_age(seconds_ago: i64) -> String {
    let s = seconds_ago.max(0);
    let (n, unit) = match s {
        0..=59 => return "Less than a minute ago".to_string(),
        60..=3599 => (s / 60, "minute"),
        3600..=86_399 => (s / 3600, "hour"),
        86_400..=604_799 => (s / 86_400, "day"),
        604_800..=2_591_999 => (s / 604_800, "week"),
        2_592_000..=31_535_999 => (s / 2_592_000, "month"),
        _ => (s / 31_536_000, "year"),
    };
    if n == 1 {
        format!("{} {unit} ago", if unit == "hour" { "An" } else { "A" })
    } else {
        format!("{n} {unit}s ago")
    }
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
        assert_eq!(human_age(30), "Less than a minute ago");
        assert_eq!(human_age(3600), "An hour ago");
        assert_eq!(human_age(7200), "2 hours ago");
        assert_eq!(human_age(86_400 * 3), "3 days ago");
    }
}
