//! YAML text of a JSON value, safe for every YAML reader: keys sorted (as
//! podman prints them), sequences at their key's indentation, and a string
//! left plain only when neither YAML 1.2 nor 1.1 (PyYAML, older Go yaml)
//! could read it as anything but that string. serde_yaml quotes for YAML
//! 1.2 alone, so a timestamp or `yes` would come back as a date or a bool.

use serde_json::Value;

/// The document as YAML, ending in a newline.
pub(crate) fn to_yaml(doc: &Value) -> String {
    let mut out = String::new();
    match doc {
        Value::Object(m) if !m.is_empty() => mapping(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => sequence(a, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn mapping(map: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for (i, key) in keys.into_iter().enumerate() {
        // The first key of a sequence item follows its `- `.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&pad);
        }
        out.push_str(&string(key));
        out.push(':');
        value_after_key(&map[key], indent, out);
    }
}

fn value_after_key(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            mapping(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            sequence(a, indent, out);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn sequence(items: &[Value], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for item in items {
        out.push_str(&pad);
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => mapping(m, indent + 2, out),
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                sequence(a, indent + 2, out);
            }
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// `s` plain when that is unambiguous, else double-quoted (JSON's escapes
/// are YAML's).
fn string(s: &str) -> String {
    if plain_is_safe(s) {
        s.to_string()
    } else {
        quoted(s)
    }
}

/// A double-quoted YAML string; characters YAML does not allow in a
/// document (controls, C1, BOM, non-characters) become escapes.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if printable(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// YAML 1.2's printable characters, less the byte order mark.
fn printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && c != '\u{FEFF}'
}

/// Words YAML 1.1 or 1.2 read as booleans or null.
const RESERVED: &[&str] = &[
    "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~",
];

fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if RESERVED.contains(&s.to_ascii_lowercase().as_str()) {
        return false;
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/_.-=+@:,".contains(c);
    if !(first.is_ascii_alphabetic()
        || first == '/'
        || first.is_ascii_digit() && digit_start_is_safe(s))
    {
        return false;
    }
    // `: ` and a trailing `:` start a mapping; `,` is fine outside flows.
    s.chars().all(allowed) && !s.ends_with(':') && !s.contains(": ")
}

/// No YAML number, date or time has a `/` (image references at an
/// address do), nor a unit after its digits (quantities).
fn digit_start_is_safe(s: &str) -> bool {
    s.contains('/') || quantity(s)
}

/// A Kubernetes quantity (`64Mi`, `1500m`): digits and a unit, which no
/// YAML version reads as a number.
fn quantity(s: &str) -> bool {
    let unit = s.trim_start_matches(|c: char| c.is_ascii_digit());
    [
        "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ]
    .contains(&unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "2026-12-04T22:29:22Z",
            "80",
            "yes",
            "Off",
            "",
            " x",
            "a: b",
            "1e3",
            "-x",
            "#c",
            "a\"b\\",
        ] {
            assert_eq!(string(s), serde_json::to_string(s).unwrap(), "{s}");
        }
        assert_eq!(string("a\u{85}\u{feff}\n"), "\"a\\u0085\\uFEFF\\n\"");
        for s in [
            "top",
            "64Mi",
            "1500m",
            "/bin/sh",
            "127.0.0.1:5000/img:1",
            "io.podman/x",
        ] {
            assert_eq!(string(s), s, "{s}");
        }
    }

    #[test]
    fn layout_is_podmans() {
        let v = serde_json::json!({"spec": {"containers": [{"name": "c", "command": ["top"]}], "caps": {}}, "a": 1});
        assert_eq!(
            to_yaml(&v),
            "a: 1\nspec:\n  caps: {}\n  containers:\n  - command:\n    - top\n    name: c\n"
        );
    }
}
