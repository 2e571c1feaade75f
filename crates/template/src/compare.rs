//! Go's comparison builtins (eq, ne, lt, le, gt, ge) over JSON values.

use std::cmp::Ordering;

use serde_json::Value;

use crate::value::is_float;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    String,
    Nil,
    Other,
}

fn kind(v: Option<&Value>) -> Kind {
    match v {
        None | Some(Value::Null) => Kind::Nil,
        Some(Value::Bool(_)) => Kind::Bool,
        Some(Value::Number(n)) if is_float(n) => Kind::Float,
        Some(Value::Number(_)) => Kind::Int,
        Some(Value::String(_)) => Kind::String,
        Some(_) => Kind::Other,
    }
}

const INCOMPATIBLE: &str = "incompatible types for comparison";

/// `eq a b c...`: true if a equals any of the others.
pub(crate) fn eq(args: &[Option<Value>]) -> Result<bool, String> {
    let Some((first, rest)) = args.split_first() else {
        return Err("missing argument for comparison".into());
    };
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = kind(first.as_ref());
    if k1 == Kind::Other {
        return Err("non-comparable type".into());
    }
    for other in rest {
        let k2 = kind(other.as_ref());
        if k2 == Kind::Other {
            return Err("non-comparable type".into());
        }
        let equal = match (k1, k2) {
            (Kind::Nil, Kind::Nil) => true,
            (Kind::Nil, _) | (_, Kind::Nil) => false,
            (a, b) if a != b => return Err(INCOMPATIBLE.into()),
            _ => order(first.as_ref(), other.as_ref())? == Ordering::Equal,
        };
        if equal {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Ordering for lt/le/gt/ge: ints, floats and strings only, same kind.
pub(crate) fn less_cmp(a: &Option<Value>, b: &Option<Value>) -> Result<Ordering, String> {
    let (k1, k2) = (kind(a.as_ref()), kind(b.as_ref()));
    if !matches!(k1, Kind::Int | Kind::Float | Kind::String)
        || !matches!(k2, Kind::Int | Kind::Float | Kind::String)
    {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err(INCOMPATIBLE.into());
    }
    order(a.as_ref(), b.as_ref())
}

fn order(a: Option<&Value>, b: Option<&Value>) -> Result<Ordering, String> {
    Ok(match (a, b) {
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x.cmp(&y)
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x.cmp(&y)
            } else if x.is_i64() && y.is_u64() {
                // A negative int is below any uint64 too large for i64.
                Ordering::Less
            } else if x.is_u64() && y.is_i64() {
                Ordering::Greater
            } else {
                let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                x.partial_cmp(&y).ok_or("cannot compare NaN")?
            }
        }
        _ => return Err(INCOMPATIBLE.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(v: Value) -> Option<Value> {
        Some(v)
    }

    #[test]
    fn eq_is_go_like() {
        assert_eq!(eq(&[s(json!(1)), s(json!(1)), s(json!(2))]), Ok(true));
        assert_eq!(eq(&[s(json!("a")), s(json!("b")), s(json!("a"))]), Ok(true));
        assert_eq!(eq(&[s(json!("a")), s(json!("b"))]), Ok(false));
        assert_eq!(eq(&[s(json!(1.5)), s(json!(1))]), Err(INCOMPATIBLE.into()));
        assert!(eq(&[s(json!({})), s(json!(1))]).is_err());
        assert!(eq(&[s(json!(1))]).is_err());
        assert_eq!(eq(&[s(Value::Null), None]), Ok(true));
        assert_eq!(eq(&[s(json!(-1)), s(json!(u64::MAX))]), Ok(false));
    }

    #[test]
    fn ordering_is_go_like() {
        assert_eq!(less_cmp(&s(json!(1)), &s(json!(2))), Ok(Ordering::Less));
        assert_eq!(
            less_cmp(&s(json!("b")), &s(json!("a"))),
            Ok(Ordering::Greater)
        );
        assert_eq!(
            less_cmp(&s(json!(1.5)), &s(json!(1.5))),
            Ok(Ordering::Equal)
        );
        assert!(less_cmp(&s(json!(1)), &s(json!(1.5))).is_err());
        assert!(less_cmp(&s(json!(true)), &s(json!(false))).is_err());
    }
}
