//! The functions a template may call: Go's text/template builtins and the
//! ones podman adds (containers/common pkg/report DefaultFuncs: join, json,
//! lower, pad, split, title, truncate, upper). `and`/`or` are evaluated
//! lazily by the executor; everything else is here.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::compare;
use crate::error::ExecErrorKind;
use crate::escape;
use crate::gojson;
use crate::printf;
use crate::value::{self, as_int, truth, type_name};

const BUILTINS: &[&str] = &[
    "and", "call", "eq", "ge", "gt", "html", "index", "js", "le", "len", "lt", "ne", "not", "or",
    "print", "printf", "println", "slice", "urlquery",
];
const PODMAN: &[&str] = &[
    "join", "json", "lower", "pad", "split", "title", "truncate", "upper",
];

/// Whether `name` is a function; anything else is a parse error, as in Go.
pub(crate) fn is_known(name: &str) -> bool {
    BUILTINS.contains(&name) || PODMAN.contains(&name)
}

type Arg = Option<Value>;
type Out = Result<Option<Value>, ExecErrorKind>;

fn call_err(func: &str, message: impl Into<String>) -> ExecErrorKind {
    ExecErrorKind::Call {
        func: func.to_string(),
        message: message.into(),
    }
}

fn arity(func: &str, args: &[Arg], want: usize) -> Result<(), ExecErrorKind> {
    if args.len() == want {
        Ok(())
    } else {
        Err(ExecErrorKind::ArgCount {
            func: func.into(),
            want: want.to_string(),
            got: args.len(),
        })
    }
}

fn at_least(func: &str, args: &[Arg], want: usize) -> Result<(), ExecErrorKind> {
    if args.len() >= want {
        Ok(())
    } else {
        Err(ExecErrorKind::ArgCount {
            func: func.into(),
            want: format!("at least {want}"),
            got: args.len(),
        })
    }
}

/// A string parameter: Go refuses other types and missing values.
fn string_arg(a: &Arg) -> Result<&str, ExecErrorKind> {
    match a {
        Some(Value::String(s)) => Ok(s),
        None => Err(ExecErrorKind::Other(
            "invalid value; expected string".into(),
        )),
        Some(v) => Err(ExecErrorKind::ArgType {
            expected: "string".into(),
            got: type_name(Some(v)).into(),
        }),
    }
}

/// An int parameter (integral floats accepted, as Go accepts `12.0` literals).
fn int_arg(a: &Arg) -> Result<i64, ExecErrorKind> {
    match a {
        Some(v) => as_int(v).ok_or_else(|| ExecErrorKind::ArgType {
            expected: "int".into(),
            got: type_name(Some(v)).into(),
        }),
        None => Err(ExecErrorKind::Other("invalid value; expected int".into())),
    }
}

fn s(v: impl Into<String>) -> Out {
    Ok(Some(Value::String(v.into())))
}

/// The text the escapers work on: a lone string as is, else Sprint of all.
fn escaper_input(args: &[Arg]) -> String {
    match args {
        [Some(Value::String(s))] => s.clone(),
        _ => printf::sprint(args),
    }
}

pub(crate) fn call(name: &str, args: Vec<Arg>) -> Out {
    match name {
        "not" => {
            arity(name, &args, 1)?;
            Ok(Some(Value::Bool(!truth(args[0].as_ref()))))
        }
        "len" => {
            arity(name, &args, 1)?;
            let n = match &args[0] {
                Some(Value::String(s)) => s.len(),
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(m)) => m.len(),
                None | Some(Value::Null) => return Err(call_err(name, "len of nil pointer")),
                Some(v) => {
                    return Err(call_err(
                        name,
                        format!("len of type {}", type_name(Some(v))),
                    ))
                }
            };
            Ok(Some(Value::from(n)))
        }
        "index" => {
            at_least(name, &args, 1)?;
            let mut it = args.into_iter();
            let mut cur = it.next().flatten();
            for key in it {
                cur = index(cur, &key).map_err(|m| call_err(name, m))?;
            }
            Ok(cur)
        }
        "slice" => {
            at_least(name, &args, 1)?;
            slice(&args).map_err(|m| call_err(name, m))
        }
        "print" => s(printf::sprint(&args)),
        "println" => s(printf::sprintln(&args)),
        "printf" => {
            at_least(name, &args, 1)?;
            let format = string_arg(&args[0])?;
            s(printf::sprintf(format, &args[1..]))
        }
        "html" => s(escape::html(&escaper_input(&args))),
        "js" => s(escape::js(&escaper_input(&args))),
        "urlquery" => s(escape::urlquery(&escaper_input(&args))),
        "eq" => Ok(Some(Value::Bool(
            compare::eq(&args).map_err(|m| call_err(name, m))?,
        ))),
        "ne" => {
            arity(name, &args, 2)?;
            Ok(Some(Value::Bool(
                !compare::eq(&args).map_err(|m| call_err(name, m))?,
            )))
        }
        "lt" | "le" | "gt" | "ge" => {
            arity(name, &args, 2)?;
            let ord = compare::less_cmp(&args[0], &args[1]).map_err(|m| call_err(name, m))?;
            let b = match name {
                "lt" => ord == Ordering::Less,
                "le" => ord != Ordering::Greater,
                "gt" => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            };
            Ok(Some(Value::Bool(b)))
        }
        "call" => Err(call_err(name, "data holds no functions to call")),
        "json" => {
            arity(name, &args, 1)?;
            s(gojson::encode(args[0].as_ref()))
        }
        "lower" => {
            arity(name, &args, 1)?;
            s(map_case(string_arg(&args[0])?, false))
        }
        "upper" => {
            arity(name, &args, 1)?;
            s(map_case(string_arg(&args[0])?, true))
        }
        "title" => {
            arity(name, &args, 1)?;
            s(title(string_arg(&args[0])?))
        }
        "truncate" => {
            arity(name, &args, 2)?;
            let src = string_arg(&args[0])?;
            let n = int_arg(&args[1])?;
            // podman slices bytes; a negative length would panic there, so refuse it.
            let n =
                usize::try_from(n).map_err(|_| call_err(name, format!("negative length {n}")))?;
            if src.len() < n {
                s(src)
            } else {
                s(String::from_utf8_lossy(&src.as_bytes()[..n]))
            }
        }
        "pad" => {
            arity(name, &args, 3)?;
            let src = string_arg(&args[0])?;
            let (pre, post) = (int_arg(&args[1])?, int_arg(&args[2])?);
            if src.is_empty() {
                return s("");
            }
            // Go's strings.Repeat panics on negative counts (podman reports an
            // error); huge counts are refused rather than allocated.
            let count = |n: i64| {
                usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= 1 << 20)
                    .ok_or_else(|| call_err(name, format!("invalid pad count {n}")))
            };
            let (pre, post) = (count(pre)?, count(post)?);
            s(format!("{}{src}{}", " ".repeat(pre), " ".repeat(post)))
        }
        "join" => {
            arity(name, &args, 2)?;
            let sep = string_arg(&args[1])?;
            let items = match &args[0] {
                Some(Value::Array(items)) => items,
                Some(Value::Null) => return s(""),
                other => {
                    return Err(ExecErrorKind::ArgType {
                        expected: "[]string".into(),
                        got: type_name(other.as_ref()).into(),
                    })
                }
            };
            // Elements other than strings print as %v (Go would need []string).
            let parts: Vec<String> = items.iter().map(|i| value::print(Some(i))).collect();
            s(parts.join(sep))
        }
        "split" => {
            arity(name, &args, 2)?;
            let src = string_arg(&args[0])?;
            let sep = string_arg(&args[1])?;
            let parts: Vec<Value> = if sep.is_empty() {
                src.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                src.split(sep)
                    .map(|p| Value::String(p.to_string()))
                    .collect()
            };
            Ok(Some(Value::Array(parts)))
        }
        _ => Err(ExecErrorKind::Other(format!(
            "function {name:?} not defined"
        ))),
    }
}

/// Go's strings.ToUpper/ToLower map each character to one character
/// (`ß` stays `ß`), unlike Rust's full case mapping.
fn map_case(src: &str, upper: bool) -> String {
    src.chars()
        .map(|c| if upper { upper_char(c) } else { lower_char(c) })
        .collect()
}

fn upper_char(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn lower_char(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// strings.Title: upper-case the first letter of each word.
fn title(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut prev_sep = true;
    for c in src.chars() {
        if prev_sep {
            out.push(upper_char(c));
        } else {
            out.push(c);
        }
        prev_sep = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            c.is_whitespace()
        };
    }
    out
}

/// One step of `index`.
fn index(cur: Option<Value>, key: &Arg) -> Result<Option<Value>, String> {
    match cur {
        None | Some(Value::Null) => Err("index of untyped nil".into()),
        Some(Value::Object(mut m)) => {
            let Some(Value::String(k)) = key else {
                return Err(format!(
                    "value has type {}; should be string",
                    type_name(key.as_ref())
                ));
            };
            Ok(match m.remove(k) {
                Some(v) => Some(v),
                None => zero_of_map(&m),
            })
        }
        Some(Value::Array(mut items)) => {
            let i = index_value(key, items.len())?;
            Ok(Some(items.swap_remove(i)))
        }
        Some(Value::String(st)) => {
            let i = index_value(key, st.len())?;
            Ok(Some(Value::from(st.as_bytes()[i])))
        }
        Some(v) => Err(format!("can't index item of type {}", type_name(Some(&v)))),
    }
}

/// What Go's index returns for an absent key: the element type's zero value.
/// JSON has no element type, so infer it from the other values; podman's
/// label and annotation maps are map[string]string, hence "" when empty.
fn zero_of_map(m: &Map<String, Value>) -> Option<Value> {
    let mut kinds = m.values().map(|v| match v {
        Value::String(_) => 0,
        Value::Number(_) => 1,
        Value::Bool(_) => 2,
        _ => 3,
    });
    let first = kinds.next().unwrap_or(0);
    if kinds.any(|k| k != first) {
        return None;
    }
    match first {
        0 => Some(Value::String(String::new())),
        1 => Some(Value::from(0)),
        2 => Some(Value::Bool(false)),
        _ => None,
    }
}

fn index_value(key: &Arg, len: usize) -> Result<usize, String> {
    let i = match key {
        Some(Value::Number(n)) if !value::is_float(n) => n.as_i64().unwrap_or(i64::MAX),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                type_name(other.as_ref())
            ))
        }
    };
    if i < 0 || i as u64 >= len as u64 {
        return Err(format!("index out of range: {i}"));
    }
    Ok(i as usize)
}

fn slice(args: &[Arg]) -> Result<Option<Value>, String> {
    let (item, idx) = args.split_first().ok_or("missing argument")?;
    let len = match item {
        Some(Value::String(s)) => {
            if idx.len() > 2 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Some(Value::Array(a)) => {
            if idx.len() > 3 {
                return Err(format!("too many slice indexes: {}", idx.len()));
            }
            a.len()
        }
        None | Some(Value::Null) => return Err("slice of untyped nil".into()),
        Some(v) => return Err(format!("can't slice item of type {}", type_name(Some(v)))),
    };
    let mut bounds = Vec::new();
    for k in idx {
        let i = match k {
            Some(Value::Number(n)) if !value::is_float(n) => n.as_i64().unwrap_or(i64::MAX),
            other => {
                return Err(format!(
                    "cannot index slice/array with type {}",
                    type_name(other.as_ref())
                ))
            }
        };
        if i < 0 || i as u64 > len as u64 {
            return Err(format!("index out of range: {i}"));
        }
        bounds.push(i as usize);
    }
    let lo = bounds.first().copied().unwrap_or(0);
    let hi = bounds.get(1).copied().unwrap_or(len);
    if lo > hi {
        return Err(format!("invalid slice index: {lo} > {hi}"));
    }
    if let Some(&cap) = bounds.get(2) {
        if hi > cap {
            return Err(format!("invalid slice index: {hi} > {cap}"));
        }
    }
    Ok(Some(match item {
        Some(Value::String(s)) => {
            Value::String(String::from_utf8_lossy(&s.as_bytes()[lo..hi]).into_owned())
        }
        Some(Value::Array(a)) => Value::Array(a[lo..hi].to_vec()),
        _ => Value::Null,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(name: &str, args: Vec<Value>) -> Out {
        call(name, args.into_iter().map(Some).collect())
    }

    fn ok(name: &str, args: Vec<Value>) -> Value {
        c(name, args).unwrap().unwrap()
    }

    #[test]
    fn podman_functions() {
        // Expectations from Go 1.19 with podman's DefaultFuncs.
        assert_eq!(ok("upper", vec![json!("HeLLo")]), json!("HELLO"));
        assert_eq!(ok("lower", vec![json!("HeLLo")]), json!("hello"));
        assert_eq!(ok("upper", vec![json!("straße")]), json!("STRAßE"));
        assert_eq!(ok("title", vec![json!("élan vital")]), json!("Élan Vital"));
        assert!(c("pad", vec![json!("a"), json!(-1), json!(2)]).is_err());
        assert_eq!(
            ok("title", vec![json!("hello wor-ld foo_bar 1st")]),
            json!("Hello Wor-Ld Foo_bar 1st")
        );
        assert_eq!(ok("truncate", vec![json!("HeLLo"), json!(3)]), json!("HeL"));
        assert_eq!(
            ok("truncate", vec![json!("HeLLo"), json!(30)]),
            json!("HeLLo")
        );
        assert_eq!(
            ok("join", vec![json!(["x", "y"]), json!(",")]),
            json!("x,y")
        );
        assert_eq!(
            ok("split", vec![json!("a,b,c"), json!(",")]),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            ok("pad", vec![json!("HeLLo"), json!(2), json!(1)]),
            json!("  HeLLo ")
        );
        assert_eq!(ok("pad", vec![json!(""), json!(2), json!(1)]), json!(""));
        assert_eq!(ok("json", vec![json!({"a": [1]})]), json!(r#"{"a":[1]}"#));
        assert!(matches!(
            c("upper", vec![json!(1)]),
            Err(ExecErrorKind::ArgType { .. })
        ));
        assert!(matches!(
            c("upper", vec![]),
            Err(ExecErrorKind::ArgCount { .. })
        ));
        assert!(c("truncate", vec![json!("x"), json!(-1)]).is_err());
        assert!(call("upper", vec![None]).is_err());
    }

    #[test]
    fn builtins() {
        assert_eq!(ok("len", vec![json!("hello")]), json!(5));
        assert_eq!(ok("len", vec![json!([1, 2, 3])]), json!(3));
        assert_eq!(ok("len", vec![json!({"x": 1})]), json!(1));
        assert!(
            matches!(c("len", vec![json!(3)]), Err(ExecErrorKind::Call { message, .. }) if message == "len of type int")
        );
        assert_eq!(
            ok(
                "index",
                vec![
                    json!({"a": [0, {"b": "deep"}]}),
                    json!("a"),
                    json!(1),
                    json!("b")
                ]
            ),
            json!("deep")
        );
        assert_eq!(ok("index", vec![json!("hello"), json!(0)]), json!(104));
        assert!(
            matches!(c("index", vec![json!([1]), json!(5)]), Err(ExecErrorKind::Call { message, .. }) if message == "index out of range: 5")
        );
        assert!(c("index", vec![json!(3), json!(1)]).is_err());
        // Absent keys give the map's element zero value ("" for string maps).
        assert_eq!(ok("index", vec![json!({"a": "x"}), json!("zz")]), json!(""));
        assert_eq!(ok("index", vec![json!({}), json!("zz")]), json!(""));
        assert_eq!(
            c("index", vec![json!({"a": "x", "b": 1}), json!("zz")]),
            Ok(None)
        );
        assert_eq!(
            ok("slice", vec![json!("hello"), json!(1), json!(3)]),
            json!("el")
        );
        assert_eq!(ok("slice", vec![json!([1, 2, 3]), json!(1)]), json!([2, 3]));
        assert!(
            matches!(c("slice", vec![json!("hello"), json!(3), json!(1)]), Err(ExecErrorKind::Call { message, .. }) if message == "invalid slice index: 3 > 1")
        );
        assert_eq!(ok("not", vec![json!([])]), json!(true));
        assert_eq!(
            ok("printf", vec![json!("%d-%d"), json!(4), json!(3)]),
            json!("4-3")
        );
        assert_eq!(ok("print", vec![json!(1), json!(2)]), json!("1 2"));
        assert_eq!(ok("html", vec![json!("<")]), json!("&lt;"));
        assert_eq!(ok("urlquery", vec![json!("a b")]), json!("a+b"));
        assert_eq!(ok("js", vec![json!("'")]), json!("\\'"));
        assert_eq!(ok("ne", vec![json!(1), json!(2)]), json!(true));
        assert_eq!(ok("ge", vec![json!(1.5), json!(1.5)]), json!(true));
        assert_eq!(ok("gt", vec![json!("b"), json!("a")]), json!(true));
        assert!(c("lt", vec![json!(1), json!(1.5)]).is_err());
        assert!(is_known("truncate") && is_known("printf") && !is_known("nosuch"));
    }
}
