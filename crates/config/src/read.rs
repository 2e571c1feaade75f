//! Reading one file into a [`ConfFile`]: TOML and type errors carry the
//! file, line and column; keys hoist does not know are logged and skipped,
//! as podman does, since real files carry settings for other tools.

use std::path::Path;

use crate::error::{ConfigError, Location};
use crate::layer::ConfFile;

/// Parses `text`, read from `path`.
pub(crate) fn parse_file(path: &Path, text: &str) -> Result<ConfFile, ConfigError> {
    let parse_error = |e: toml::de::Error| ConfigError::Parse {
        path: path.to_path_buf(),
        location: e.span().map(|span| location(text, span.start)),
        message: e.message().trim_end().to_string(),
    };
    let file: ConfFile = toml::from_str(text).map_err(parse_error)?;
    // The unknown keys are only ever logged, and finding them takes a
    // second parse and a serialization of the typed form: together more
    // than the typed parse of a packaged containers.conf (24 KB, mostly
    // comments), which every command reads.
    if tracing::enabled!(tracing::Level::DEBUG) {
        if let Ok(raw) = toml::from_str::<toml::Table>(text) {
            log_unknown_keys(path, &raw, &file);
        }
    }
    Ok(file)
}

/// Reads and parses the file at `path`.
pub(crate) fn read_file(path: &Path) -> Result<ConfFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_file(path, &text)
}

fn location(text: &str, offset: usize) -> Location {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Location {
        line,
        column: before[line_start..].chars().count() + 1,
    }
}

/// The keys of `raw` that the typed form dropped, found by serializing the
/// typed form back and comparing table keys.
fn log_unknown_keys(path: &Path, raw: &toml::Table, file: &ConfFile) {
    let known = match toml::Table::try_from(file) {
        Ok(known) => known,
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "cannot list unknown containers.conf keys");
            return;
        }
    };
    let mut unknown = Vec::new();
    unknown_keys(raw, &known, "", &mut unknown);
    for key in unknown {
        tracing::debug!(path = %path.display(), key, "ignoring containers.conf key hoist does not use");
    }
}

pub(crate) fn unknown_keys(
    raw: &toml::Table,
    known: &toml::Table,
    prefix: &str,
    out: &mut Vec<String>,
) {
    for (key, value) in raw {
        let dotted = format!("{prefix}{key}");
        match (value, known.get(key)) {
            (_, None) => out.push(dotted),
            (toml::Value::Table(raw_sub), Some(toml::Value::Table(known_sub))) => {
                unknown_keys(raw_sub, known_sub, &format!("{dotted}."), out);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_listed_not_errors() {
        let text = "[containers]\npids_limit = 5\nfuture_key = 1\n[engine]\nruntime = \"runc\"\n[engine.volume_plugins]\nx = \"/s\"\n[engine.runtimes]\nrunc = [\"/r\"]\n[machine]\ncpus = 2\n[service_destinations]\n";
        let path = Path::new("/t.conf");
        let file = parse_file(path, text).unwrap();
        assert_eq!(file.containers.pids_limit, Some(5));
        let raw: toml::Table = toml::from_str(text).unwrap();
        let known = toml::Table::try_from(&file).unwrap();
        let mut unknown = Vec::new();
        unknown_keys(&raw, &known, "", &mut unknown);
        unknown.sort();
        assert_eq!(
            unknown,
            [
                "containers.future_key",
                "engine.volume_plugins",
                "machine",
                "service_destinations"
            ]
        );
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let e = parse_file(
            Path::new("/x/bad.conf"),
            "[containers]\n\npids_limit = = 3\n",
        )
        .unwrap_err();
        let ConfigError::Parse { path, location, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(path, Path::new("/x/bad.conf"));
        assert_eq!(location.unwrap().line, 3);
        let shown = e.to_string();
        assert!(shown.contains("/x/bad.conf at line 3"), "{shown}");
    }

    #[test]
    fn type_error_names_line_and_expectation() {
        let e = parse_file(
            Path::new("/b.conf"),
            "[containers]\nenv_host = false\npids_limit = \"many\"\n",
        )
        .unwrap_err();
        let ConfigError::Parse {
            location, message, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(location.unwrap().line, 3, "{e}");
        assert!(message.contains("expected i64"), "{message}");
    }

    #[test]
    fn bad_typed_value_names_line_and_reason() {
        let text = "[containers]\ndefault_ulimits = [\n  \"nofile=1:2\",\n  \"nofile=x\",\n]\n";
        let e = parse_file(Path::new("/u.conf"), text).unwrap_err();
        let ConfigError::Parse {
            location, message, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(location.unwrap().line, 4, "{e}");
        assert!(message.contains("soft limit \"x\""), "{message}");
    }
}
