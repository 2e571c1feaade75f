//! Runtime values and Go's rules for them: truthiness, type names and the
//! default (`%v`) printing that `{{.X}}` uses.

use serde_json::{Map, Number, Value};

use crate::float;

/// A value during execution. `Missing` is Go's invalid reflect.Value: what a
/// map lookup of an absent key yields, printed as `<no value>`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Missing,
    /// The data passed to `execute`, borrowed rather than cloned.
    Root,
    V(Value),
}

impl Val {
    pub(crate) fn str(s: impl Into<String>) -> Val {
        Val::V(Value::String(s.into()))
    }
    pub(crate) fn int(i: i64) -> Val {
        Val::V(Value::Number(i.into()))
    }
    pub(crate) fn bool(b: bool) -> Val {
        Val::V(Value::Bool(b))
    }
}

/// Go's truth: false, 0, nil and empty strings/slices/maps are false.
/// Objects count as maps here, so an empty object is false (a Go struct
/// would always be true; JSON cannot tell them apart).
pub(crate) fn truth(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
    }
}

/// The Go type podman's data would have, for messages and `%T`.
pub(crate) fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None | Some(Value::Null) => "<nil>",
        Some(Value::Bool(_)) => "bool",
        Some(Value::Number(n)) if is_float(n) => "float64",
        Some(Value::Number(n)) if n.is_u64() && !n.is_i64() => "uint64",
        Some(Value::Number(_)) => "int",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "[]interface {}",
        Some(Value::Object(_)) => "map[string]interface {}",
    }
}

/// Whether a JSON number is a float64 rather than an integer.
pub(crate) fn is_float(n: &Number) -> bool {
    !n.is_i64() && !n.is_u64()
}

/// A number's value as an integer if it is one (or an integral float).
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64)
        }),
        _ => None,
    }
}

/// Go's `%v` printing of a value: strings bare, `[a b]`, `map[k:v]` with
/// sorted keys, `<nil>` for null.
pub(crate) fn print(v: Option<&Value>) -> String {
    let mut out = String::new();
    match v {
        None => out.push_str("<no value>"),
        Some(v) => print_into(&mut out, v),
    }
    out
}

fn print_into(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_into(out, item);
            }
            out.push(']');
        }
        Value::Object(m) if is_struct(m) => {
            out.push('{');
            for (i, item) in m.values().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_into(out, item);
            }
            out.push('}');
        }
        Value::Object(m) => {
            out.push_str("map[");
            for (i, (k, item)) in sorted(m).into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                print_into(out, item);
            }
            out.push(']');
        }
    }
}

/// Whether an object stands for a Go struct rather than a map. podman's
/// structs reach a template as JSON objects keyed by their exported field
/// names (`HostIp`, `HostPort`), its maps keyed by data (`80/tcp`, label
/// keys); JSON itself does not say which an object was, so the keys are
/// the tell. Go prints a struct as `{v1 v2}` (hoist: in key order) and a
/// map as `map[k:v]`.
pub(crate) fn is_struct(m: &Map<String, Value>) -> bool {
    !m.is_empty() && m.keys().all(|k| is_exported_field(k))
}

fn is_exported_field(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// A number as Go prints it: integers exactly, floats as `%v`.
pub(crate) fn number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        float::go_v(n.as_f64().unwrap_or(0.0))
    }
}

/// Map entries in Go's order (sorted keys), independent of serde_json's map type.
pub(crate) fn sorted(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prints_like_go() {
        // Expectations from Go 1.19 text/template over decoded JSON.
        let v = json!({"b": 1, "a": [1, "s"], "c": null});
        assert_eq!(print(Some(&v)), "map[a:[1 s] b:1 c:<nil>]");
        let l = json!([1, 2.5, "x", null, {"k": true}]);
        assert_eq!(print(Some(&l)), "[1 2.5 x <nil> map[k:true]]");
        assert_eq!(print(Some(&json!(1.0))), "1");
        assert_eq!(print(Some(&json!(1e6))), "1e+06");
        assert_eq!(print(Some(&json!(123456789012u64))), "123456789012");
        assert_eq!(print(Some(&Value::Null)), "<nil>");
        assert_eq!(print(None), "<no value>");
    }

    #[test]
    fn truth_follows_go() {
        for falsy in [
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
            json!({}),
            json!(false),
        ] {
            assert!(!truth(Some(&falsy)), "{falsy}");
        }
        for truthy in [
            json!(1),
            json!(-0.5),
            json!("x"),
            json!([0]),
            json!({"a": 0}),
        ] {
            assert!(truth(Some(&truthy)), "{truthy}");
        }
        assert!(!truth(None));
        assert!(!truth(Some(&Value::Null)));
    }

    #[test]
    fn names_types() {
        assert_eq!(type_name(Some(&json!(1))), "int");
        assert_eq!(type_name(Some(&json!(1.5))), "float64");
        assert_eq!(type_name(Some(&json!({}))), "map[string]interface {}");
        assert_eq!(as_int(&json!(3.0)), Some(3));
        assert_eq!(as_int(&json!(3.5)), None);
    }
}
