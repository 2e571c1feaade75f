//! `pod create --label-file`: labels read from files, as podman reads them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{PodError, Result};

/// The labels of `files` (in order, later lines winning) overlaid with
/// `given` (`--label`, which wins over every file, as in podman).
pub fn merge_label_files(
    files: &[PathBuf],
    given: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| {
            PodError::Invalid(format!(
                "unable to process labels: open {}: {e}",
                f.display()
            ))
        })?;
        out.extend(parse_label_lines(&text)?);
    }
    out.extend(given);
    Ok(out)
}

/// One label file's `KEY=VALUE` lines. podman trims only leading blanks,
/// skips empty and `#` lines, and drops a line without `=` (unlike an env
/// file, a label has no value to take from the environment); a key with
/// blanks in it is refused rather than guessed at.
fn parse_label_lines(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim_start) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.contains(char::is_whitespace) {
            return Err(PodError::Invalid(format!(
                "unable to process labels: name {key:?} has white spaces, poorly formatted name"
            )));
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_podman_reads_them() {
        let got = parse_label_lines("a=1\n# c\n\n  e=f g \nbare\nd=\nx=y=z\n").unwrap();
        let want = [("a", "1"), ("e", "f g "), ("d", ""), ("x", "y=z")];
        assert_eq!(
            got,
            want.map(|(k, v)| (k.to_string(), v.to_string())).to_vec()
        );
        assert!(parse_label_lines("e =f\n").is_err());
    }

    #[test]
    fn flags_win_over_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("l");
        std::fs::write(&f, "a=file\nb=file\n").unwrap();
        let given = BTreeMap::from([("b".to_string(), "flag".to_string())]);
        let got = merge_label_files(&[f], given).unwrap();
        assert_eq!(got["a"], "file");
        assert_eq!(got["b"], "flag");
        assert!(merge_label_files(&[dir.path().join("none")], BTreeMap::new()).is_err());
    }
}
