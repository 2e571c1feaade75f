//! Table header names as podman derives them: the Go field name split at
//! camel-case boundaries and upper-cased (`CreatedAt` -> `CREATED AT`,
//! `ID` -> `ID`, `ImageID` -> `IMAGE ID`), unless the command overrides it.

use std::collections::HashMap;

/// Character classes for splitting: lower, upper, digit, other.
fn class(c: char) -> u8 {
    if c.is_lowercase() {
        1
    } else if c.is_uppercase() {
        2
    } else if c.is_numeric() {
        3
    } else {
        4
    }
}

/// Splits a Go identifier into words at class changes; an upper-case run
/// followed by lower case gives its last letter to the next word
/// ("HTTPServer" -> "HTTP", "Server").
pub(crate) fn split_camel(name: &str) -> Vec<String> {
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut last = 0;
    for c in name.chars() {
        let k = class(c);
        match runs.last_mut() {
            Some(run) if k == last => run.push(c),
            _ => runs.push(vec![c]),
        }
        last = k;
    }
    for i in 0..runs.len().saturating_sub(1) {
        let starts_upper = runs[i].first().is_some_and(|c| c.is_uppercase());
        let next_lower = runs[i + 1].first().is_some_and(|c| c.is_lowercase());
        if starts_upper && next_lower {
            if let Some(moved) = runs[i].pop() {
                runs[i + 1].insert(0, moved);
            }
        }
    }
    runs.into_iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.into_iter().collect())
        .collect()
}

/// The header for field `name`: an override (looked up exactly, then
/// ignoring case) or the split, upper-cased field name. Overrides are
/// upper-cased too, as podman does.
pub(crate) fn header_for(name: &str, overrides: &HashMap<&str, &str>) -> String {
    let over = overrides.get(name).or_else(|| {
        overrides
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .min_by_key(|(k, _)| **k)
            .map(|(_, v)| v)
    });
    match over {
        Some(v) => v.to_uppercase(),
        None => split_camel(name).join(" ").to_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_podman() {
        assert_eq!(split_camel("CreatedAt"), vec!["Created", "At"]);
        assert_eq!(split_camel("ID"), vec!["ID"]);
        assert_eq!(split_camel("ImageID"), vec!["Image", "ID"]);
        assert_eq!(split_camel("HTTPServer"), vec!["HTTP", "Server"]);
        assert_eq!(split_camel("Field1"), vec!["Field", "1"]);
        assert_eq!(split_camel("FieldA"), vec!["Field", "A"]);
        assert_eq!(split_camel("Fieldb"), vec!["Fieldb"]);
        assert_eq!(split_camel("fieldC"), vec!["field", "C"]);
        assert_eq!(split_camel(""), Vec::<String>::new());
    }

    #[test]
    fn overrides_win() {
        let mut o = HashMap::new();
        o.insert("ID", "container id");
        assert_eq!(header_for("ID", &o), "CONTAINER ID");
        assert_eq!(header_for("Id", &o), "CONTAINER ID");
        assert_eq!(header_for("CreatedAt", &o), "CREATED AT");
        assert_eq!(header_for("Names", &o), "NAMES");
    }
}
