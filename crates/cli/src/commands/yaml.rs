//! YAML text of a JSON document, the way podman prints `info`: keys in
//! order, two-space indentation, sequences at their key's indentation,
//! strings quoted only where plain YAML would read them differently.

use serde_json::Value;

/// The document as YAML, ending in a newline.
pub fn to_yaml(doc: &Value) -> String {
    let mut out = String::new();
    match doc {
        Value::Object(map) if !map.is_empty() => mapping(map, 0, &mut out),
        Value::Array(items) if !items.is_empty() => sequence(items, 0, &mut out),
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
    for key in keys {
        let value = &map[key];
        out.push_str(&format!("{pad}{}:", string(key)));
        entry(value, indent, out);
    }
}

/// What follows `key:` (or `- `), at the key's indentation.
fn entry(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            mapping(m, indent + 2, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            sequence(items, indent, out);
        }
        Value::String(s) if s.contains('\n') => {
            out.push_str(" |-\n");
            let pad = " ".repeat(indent + 2);
            for line in s.lines() {
                out.push_str(&format!("{pad}{line}\n"));
            }
        }
        other => out.push_str(&format!(" {}\n", scalar(other))),
    }
}

fn sequence(items: &[Value], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for item in items {
        match item {
            Value::Object(m) if !m.is_empty() => {
                // The first key goes on the dash's line, the rest below it.
                let mut nested = String::new();
                mapping(m, indent + 2, &mut nested);
                out.push_str(&format!("{pad}- {}", &nested[indent + 2..]));
            }
            other => {
                out.push_str(&format!("{pad}-"));
                entry(other, indent + 2, out);
            }
        }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// A string plain when YAML reads it back as the same string, else quoted.
fn string(s: &str) -> String {
    let reserved = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
    ];
    let lower = s.to_ascii_lowercase();
    let numeric = s.parse::<f64>().is_ok() || s.starts_with("0x");
    if s.is_empty() || reserved.contains(&lower.as_str()) || numeric {
        return format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    }
    let special_start = s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c) || c == ' ');
    if special_start
        || s.ends_with([' ', ':'])
        || s.contains(": ")
        || s.contains(" #")
        || s.contains('\t')
    {
        return format!("'{}'", s.replace('\'', "''"));
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nesting_sequences_and_empty_collections() {
        let doc = json!({
            "store": {"graphRoot": "/var/lib/hoist", "graphOptions": {}, "imageStore": {"number": 1}},
            "host": {"cgroupControllers": ["cpu", "memory"], "rootless": false},
            "plugins": {"log": []},
        });
        assert_eq!(
            to_yaml(&doc),
            "host:\n  cgroupControllers:\n  - cpu\n  - memory\n  rootless: false\n\
             plugins:\n  log: []\n\
             store:\n  graphOptions: {}\n  graphRoot: /var/lib/hoist\n  imageStore:\n    number: 1\n"
        );
    }

    #[test]
    fn strings_are_quoted_only_when_needed() {
        assert_eq!(string("12"), "\"12\"");
        assert_eq!(string(""), "\"\"");
        assert_eq!(string("true"), "\"true\"");
        assert_eq!(
            string("conmon version 2.1.6, commit: unknown"),
            "'conmon version 2.1.6, commit: unknown'"
        );
        assert_eq!(string("it's: here"), "'it''s: here'");
        assert_eq!(string("linux/amd64"), "linux/amd64");
        assert_eq!(string("Backing Filesystem"), "Backing Filesystem");
    }

    #[test]
    fn multi_line_strings_are_blocks_and_mappings_in_sequences_start_on_the_dash() {
        // "y" is YAML 1.1's yes: quoted as a key too.
        let doc = json!({"v": "a\nb", "l": [{"x": 1, "y": 2}]});
        assert_eq!(to_yaml(&doc), "l:\n- x: 1\n  \"y\": 2\nv: |-\n  a\n  b\n");
    }
}
