//! JSON as podman's `json` template function prints it: Go's encoding/json
//! with HTML escaping off, compact, no trailing newline. It differs from
//! serde_json in float rendering (`1`, not `1.0`), `\u00XX` for control
//! characters, and escaped U+2028/U+2029.

use serde_json::Value;

use crate::float;
use crate::value::sorted;

pub(crate) fn encode(v: Option<&Value>) -> String {
    let mut out = String::new();
    match v {
        None => out.push_str("null"),
        Some(v) => write(&mut out, v),
    }
    out
}

fn write(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                out.push_str(&n.to_string());
            } else {
                out.push_str(&float::json_float(n.as_f64().unwrap_or(0.0)));
            }
        }
        Value::String(s) => string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, item);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, item)) in sorted(m).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, k);
                out.push(':');
                write(out, item);
            }
            out.push('}');
        }
    }
}

fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encodes_like_podman_json_func() {
        // Expectations from Go 1.19 with podman's json func.
        assert_eq!(
            encode(Some(&json!({"b": "<&>", "a": [1, 2]}))),
            r#"{"a":[1,2],"b":"<&>"}"#
        );
        assert_eq!(
            encode(Some(&json!("é\u{2028}\t\u{1}\u{8}\u{c}"))),
            r#""é\u2028\t\u0001\u0008\u000c""#
        );
        assert_eq!(encode(Some(&json!(1.0))), "1");
        assert_eq!(encode(Some(&json!(1e21))), "1e+21");
        assert_eq!(encode(Some(&json!(1e-7))), "1e-7");
        assert_eq!(encode(Some(&Value::Null)), "null");
        assert_eq!(encode(None), "null");
        assert_eq!(encode(Some(&json!([]))), "[]");
    }
}
