//! Go's fmt.Sprintf / Sprint / Sprintln over JSON values: verbs, flags,
//! width and precision (also `*` and `%[n]` argument indexes), and Go's
//! in-band error notes such as `%!d(string=x)` and `%!s(MISSING)`.

use serde_json::Value;

use crate::float::{self, Flags};
use crate::value::{self, is_float, sorted, type_name};

/// Widths and precisions above this are refused, as Go does.
const MAX_WIDTH: usize = 1_000_000;

#[derive(Debug, Clone, Copy, Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

type Arg = Option<Value>;

pub(crate) fn sprintf(format: &str, args: &[Arg]) -> String {
    let mut out = String::new();
    let mut argn = 0usize;
    let mut reordered = false;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        // Flags.
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = !spec.minus,
                _ => break,
            }
            chars.next();
        }
        if spec.minus {
            spec.zero = false;
        }
        let mut bad_index = false;
        let mut arg_index = |chars: &mut std::iter::Peekable<std::str::CharIndices>,
                             argn: &mut usize| {
            if chars.peek().map(|p| p.1) != Some('[') {
                return;
            }
            chars.next();
            let mut n = String::new();
            while let Some(&(_, d)) = chars.peek() {
                chars.next();
                if d == ']' {
                    match n.parse::<usize>() {
                        Ok(i) if i >= 1 && i <= args.len() => {
                            *argn = i - 1;
                            reordered = true;
                        }
                        _ => bad_index = true,
                    }
                    return;
                }
                n.push(d);
            }
            bad_index = true;
        };
        arg_index(&mut chars, &mut argn);
        // Width.
        let mut bad_width = false;
        if chars.peek().map(|p| p.1) == Some('*') {
            chars.next();
            match args.get(argn).and_then(|a| a.as_ref()).and_then(int_arg) {
                Some(w) => {
                    if w < 0 {
                        spec.minus = true;
                        spec.zero = false;
                    }
                    let w = w.unsigned_abs() as usize;
                    if w > MAX_WIDTH {
                        bad_width = true;
                    } else {
                        spec.width = Some(w);
                    }
                }
                None => bad_width = true,
            }
            argn += 1;
        } else {
            let n = digits(&mut chars);
            if let Some(n) = n {
                if n > MAX_WIDTH {
                    bad_width = true;
                } else {
                    spec.width = Some(n);
                }
            }
        }
        // Precision.
        let mut bad_prec = false;
        if chars.peek().map(|p| p.1) == Some('.') {
            chars.next();
            arg_index(&mut chars, &mut argn);
            if chars.peek().map(|p| p.1) == Some('*') {
                chars.next();
                match args.get(argn).and_then(|a| a.as_ref()).and_then(int_arg) {
                    Some(p) if (0..=MAX_WIDTH as i64).contains(&p) => spec.prec = Some(p as usize),
                    Some(p) if p < 0 => spec.prec = None,
                    _ => bad_prec = true,
                }
                argn += 1;
            } else {
                let n = digits(&mut chars).unwrap_or(0);
                if n > MAX_WIDTH {
                    bad_prec = true;
                } else {
                    spec.prec = Some(n);
                }
            }
        }
        arg_index(&mut chars, &mut argn);
        if bad_width {
            out.push_str("%!(BADWIDTH)");
        }
        if bad_prec {
            out.push_str("%!(BADPREC)");
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        // For %v, '+' asks for struct field names rather than a sign.
        if verb == 'v' {
            spec.plus = false;
        }
        if bad_index {
            out.push_str(&format!("%!{verb}(BADINDEX)"));
            continue;
        }
        if argn >= args.len() {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        }
        let arg = &args[argn];
        argn += 1;
        out.push_str(&fmt_arg(arg.as_ref(), verb, &spec));
    }
    if !reordered && argn < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[argn..]
            .iter()
            .map(|a| match a {
                None | Some(Value::Null) => "<nil>".to_string(),
                Some(v) => format!("{}={}", type_name(Some(v)), value::print(Some(v))),
            })
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn digits(chars: &mut std::iter::Peekable<std::str::CharIndices>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(&(_, d)) = chars.peek() {
        let Some(v) = d.to_digit(10) else { break };
        chars.next();
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(v as usize));
    }
    n
}

fn int_arg(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) if !is_float(n) => n.as_i64(),
        _ => None,
    }
}

/// Go's fmt.Sprint: spaces only between operands when neither is a string.
pub(crate) fn sprint(args: &[Arg]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Some(Value::String(_)));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        out.push_str(&plain(a.as_ref()));
        prev_string = is_string;
    }
    out
}

/// Go's fmt.Sprintln: always spaces, then a newline.
pub(crate) fn sprintln(args: &[Arg]) -> String {
    let parts: Vec<String> = args.iter().map(|a| plain(a.as_ref())).collect();
    parts.join(" ") + "\n"
}

/// `%v` of a function argument: a missing value is passed to fmt as nil.
fn plain(v: Option<&Value>) -> String {
    value::print(Some(v.unwrap_or(&Value::Null)))
}

fn bad_verb(v: Option<&Value>, verb: char) -> String {
    match v {
        None | Some(Value::Null) => format!("%!{verb}(<nil>)"),
        Some(v) => format!("%!{verb}({}={})", type_name(Some(v)), value::print(Some(v))),
    }
}

fn fmt_arg(v: Option<&Value>, verb: char, spec: &Spec) -> String {
    if verb == 'T' {
        return pad(type_name(v).to_string(), spec, false);
    }
    match v {
        None | Some(Value::Null) => {
            if verb == 'v' {
                pad("<nil>".into(), spec, false)
            } else {
                bad_verb(v, verb)
            }
        }
        Some(v) => fmt_value(v, verb, spec),
    }
}

fn fmt_value(v: &Value, verb: char, spec: &Spec) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => match verb {
            't' | 'v' => pad(b.to_string(), spec, false),
            _ => bad_verb(Some(v), verb),
        },
        Value::Number(n) => {
            if is_float(n) {
                fmt_float(n.as_f64().unwrap_or(0.0), verb, spec)
                    .unwrap_or_else(|| bad_verb(Some(v), verb))
            } else {
                let (neg, abs) = match n.as_i64() {
                    Some(i) => (i < 0, i.unsigned_abs()),
                    None => (false, n.as_u64().unwrap_or(0)),
                };
                fmt_int(neg, abs, verb, spec).unwrap_or_else(|| bad_verb(Some(v), verb))
            }
        }
        Value::String(s) if verb == 'v' && spec.sharp => pad(quote(s, false), spec, false),
        Value::String(s) => fmt_string(s, verb, spec).unwrap_or_else(|| bad_verb(Some(v), verb)),
        Value::Array(items) => {
            if verb == 'v' && spec.sharp {
                let inner: Vec<String> = items.iter().map(go_syntax).collect();
                return format!("[]interface {{}}{{{}}}", inner.join(", "));
            }
            let inner: Vec<String> = items.iter().map(|i| fmt_value(i, verb, spec)).collect();
            format!("[{}]", inner.join(" "))
        }
        Value::Object(m) => {
            if verb == 'v' && spec.sharp {
                return go_syntax(v);
            }
            if value::is_struct(m) {
                let inner: Vec<String> = m.values().map(|i| fmt_value(i, verb, spec)).collect();
                return format!("{{{}}}", inner.join(" "));
            }
            let inner: Vec<String> = sorted(m)
                .into_iter()
                .map(|(k, i)| {
                    format!(
                        "{}:{}",
                        fmt_value(&Value::String(k.clone()), verb, spec),
                        fmt_value(i, verb, spec)
                    )
                })
                .collect();
            format!("map[{}]", inner.join(" "))
        }
    }
}

/// `%#v`: Go syntax for interface{}-typed data.
fn go_syntax(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".into(),
        Value::String(s) => quote(s, false),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_syntax).collect();
            format!("[]interface {{}}{{{}}}", inner.join(", "))
        }
        Value::Object(m) => {
            let inner: Vec<String> = sorted(m)
                .into_iter()
                .map(|(k, i)| format!("{}:{}", quote(k, false), go_syntax(i)))
                .collect();
            format!("map[string]interface {{}}{{{}}}", inner.join(", "))
        }
        other => value::print(Some(other)),
    }
}

/// Pads to the width: left-aligned with '-', zeros with '0' (after any sign).
fn pad(s: String, spec: &Spec, numeric: bool) -> String {
    let Some(width) = spec.width else { return s };
    let len = s.chars().count();
    if len >= width {
        return s;
    }
    let fill = width - len;
    if spec.minus {
        return s + &" ".repeat(fill);
    }
    if spec.zero {
        if numeric {
            let (sign, rest) = match s.chars().next() {
                Some(c @ ('+' | '-' | ' ')) => (c.to_string(), &s[1..]),
                _ => (String::new(), &s[..]),
            };
            return sign + &"0".repeat(fill) + rest;
        }
        return "0".repeat(fill) + &s;
    }
    " ".repeat(fill) + &s
}

fn fmt_int(neg: bool, abs: u64, verb: char, spec: &Spec) -> Option<String> {
    let digits = match verb {
        'd' | 'v' => abs.to_string(),
        'b' => format!("{abs:b}"),
        'o' | 'O' => format!("{abs:o}"),
        'x' => format!("{abs:x}"),
        'X' => format!("{abs:X}"),
        'c' => {
            let c = char::from_u32(abs as u32)
                .filter(|_| !neg && abs <= u32::MAX as u64)
                .unwrap_or('\u{FFFD}');
            return Some(pad(c.to_string(), spec, false));
        }
        'q' => {
            let c = char::from_u32(abs as u32)
                .filter(|_| !neg && abs <= u32::MAX as u64)
                .unwrap_or('\u{FFFD}');
            let q = quote(&c.to_string(), spec.plus);
            return Some(pad(
                format!(
                    "'{}'",
                    &q[1..q.len() - 1].replace("\\\"", "\"").replace('\'', "\\'")
                ),
                spec,
                false,
            ));
        }
        'U' => {
            let mut s = format!("U+{abs:04X}");
            if spec.sharp {
                if let Some(c) = char::from_u32(abs as u32) {
                    s.push_str(&format!(" '{c}'"));
                }
            }
            return Some(pad(s, spec, false));
        }
        _ => return None,
    };
    let mut digits = digits;
    if let Some(p) = spec.prec {
        if p == 0 && abs == 0 {
            digits.clear();
        } else if digits.len() < p {
            digits = "0".repeat(p - digits.len()) + &digits;
        }
    }
    let prefix = match (verb, spec.sharp) {
        ('x', true) => "0x",
        ('X', true) => "0X",
        ('o', true) if !digits.starts_with('0') => "0",
        ('O', _) => "0o",
        ('b', true) => "0b",
        _ => "",
    };
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let body = format!("{prefix}{digits}");
    // Go ignores the 0 flag when a precision is given for integers.
    let zero_ok = spec.prec.is_none();
    let s = format!("{sign}{body}");
    Some(pad(
        s,
        &Spec {
            zero: spec.zero && zero_ok,
            ..*spec
        },
        true,
    ))
}

fn fmt_float(f: f64, verb: char, spec: &Spec) -> Option<String> {
    let flags = Flags {
        plus: spec.plus,
        space: spec.space,
        sharp: spec.sharp,
        upper: verb.is_ascii_uppercase(),
    };
    let s = match verb {
        'v' | 'g' | 'G' => float::fmt_g(f, spec.prec, flags),
        'e' | 'E' => float::fmt_e(f, spec.prec, flags),
        'f' | 'F' => float::fmt_f(f, spec.prec, flags),
        _ => return None,
    };
    Some(pad(s, spec, f.is_finite()))
}

fn fmt_string(s: &str, verb: char, spec: &Spec) -> Option<String> {
    let truncated = |s: &str| match spec.prec {
        Some(p) => s.chars().take(p).collect::<String>(),
        None => s.to_string(),
    };
    Some(match verb {
        's' | 'v' => pad(truncated(s), spec, false),
        'q' => {
            let t = truncated(s);
            if spec.sharp && !t.contains('`') && t.chars().all(|c| c == '\t' || !c.is_control()) {
                pad(format!("`{t}`"), spec, false)
            } else {
                pad(quote(&t, spec.plus), spec, false)
            }
        }
        'x' | 'X' => {
            let bytes = s.as_bytes();
            let bytes = match spec.prec {
                Some(p) => &bytes[..p.min(bytes.len())],
                None => bytes,
            };
            let parts: Vec<String> = bytes
                .iter()
                .map(|b| {
                    let h = if verb == 'x' {
                        format!("{b:02x}")
                    } else {
                        format!("{b:02X}")
                    };
                    if spec.sharp {
                        format!("{}{h}", if verb == 'x' { "0x" } else { "0X" })
                    } else {
                        h
                    }
                })
                .collect();
            let joined = if spec.space {
                parts.join(" ")
            } else if spec.sharp {
                // Go prefixes only once without the space flag.
                let raw: String = parts.iter().map(|p| p[2..].to_string()).collect();
                if raw.is_empty() {
                    raw
                } else {
                    format!("{}{raw}", if verb == 'x' { "0x" } else { "0X" })
                }
            } else {
                parts.concat()
            };
            pad(joined, spec, false)
        }
        _ => return None,
    })
}

/// strconv.Quote (or QuoteToASCII when `ascii`).
pub(crate) fn quote(s: &str, ascii: bool) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (ascii && !c.is_ascii())
                || c.is_control()
                || c == '\u{2028}'
                || c == '\u{2029}'
                || c == '\u{FEFF}' =>
            {
                let u = c as u32;
                if u <= 0xFFFF {
                    out.push_str(&format!("\\u{u:04x}"));
                } else {
                    out.push_str(&format!("\\U{u:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(f: &str, args: Vec<Value>) -> String {
        let args: Vec<Arg> = args.into_iter().map(Some).collect();
        sprintf(f, &args)
    }

    #[test]
    fn verbs_match_go() {
        // Expectations from Go 1.19 fmt.Sprintf.
        assert_eq!(
            p(
                "%v %s %d %5.2f %-6s| %q %x %X %t %e %g %G %08.3f %+d %o %b %c %U",
                vec![
                    json!("hé"),
                    json!("hé"),
                    json!(42),
                    json!(3.14169),
                    json!("hé"),
                    json!("hé"),
                    json!("hé"),
                    json!("hé"),
                    json!(true),
                    json!(1234567.0),
                    json!(0.0000123),
                    json!(1234567.0),
                    json!(3.14169),
                    json!(42),
                    json!(42),
                    json!(42),
                    json!(65),
                    json!(65)
                ]
            ),
            "hé hé 42  3.14 hé    | \"hé\" 68c3a9 68C3A9 true 1.234567e+06 1.23e-05 1.234567E+06 0003.142 +42 52 101010 A U+0041"
        );
        assert_eq!(p("%-10s|", vec![json!("abc")]), "abc       |");
        assert_eq!(p("%10s|", vec![json!("abc")]), "       abc|");
        assert_eq!(p("%.2s", vec![json!("abcdef")]), "ab");
        assert_eq!(
            p("%05d|%-5d|%5d", vec![json!(-42), json!(7), json!(7)]),
            "-0042|7    |    7"
        );
        assert_eq!(
            p("%6.2v|%.3v", vec![json!(3.14169), json!("hello")]),
            "   3.1|hel"
        );
        assert_eq!(
            p(
                "%10.4e|%-10.3g|",
                vec![json!(1234.5678), json!(0.000012345)]
            ),
            "1.2346e+03|1.23e-05  |"
        );
        assert_eq!(
            p("%#x %#o %x", vec![json!(255), json!(8), json!(-255)]),
            "0xff 010 -ff"
        );
        assert_eq!(p("%%|%v", vec![json!(1)]), "%|1");
        assert_eq!(p("%+v|%+d", vec![json!(5), json!(5)]), "5|+5");
    }

    #[test]
    fn collections_and_types() {
        let m = json!({"x": 1, "y": "s"});
        let l = json!(["a", "bc"]);
        assert_eq!(p("%v", vec![m.clone()]), "map[x:1 y:s]");
        assert_eq!(
            p("%d", vec![m.clone()]),
            "map[%!d(string=x):1 %!d(string=y):%!d(string=s)]"
        );
        assert_eq!(p("%s", vec![l.clone()]), "[a bc]");
        assert_eq!(p("%5s|", vec![l.clone()]), "[    a    bc]|");
        assert_eq!(p("%q", vec![l.clone()]), r#"["a" "bc"]"#);
        assert_eq!(p("%x", vec![l.clone()]), "[61 6263]");
        assert_eq!(p("%#v", vec![json!("hello")]), r#""hello""#);
        assert_eq!(
            p("%#v", vec![json!({"x": 1})]),
            r#"map[string]interface {}{"x":1}"#
        );
        assert_eq!(p("%#v", vec![json!([1, "a"])]), r#"[]interface {}{1, "a"}"#);
        assert_eq!(
            p(
                "%T %T %T %T",
                vec![json!("a"), json!(1), json!(2.5), json!({})]
            ),
            "string int float64 map[string]interface {}"
        );
        assert_eq!(sprintf("%T", &[None]), "<nil>");
    }

    #[test]
    fn errors_in_band_like_go() {
        assert_eq!(p("%s", vec![json!(42)]), "%!s(int=42)");
        assert_eq!(p("%d", vec![json!("ab")]), "%!d(string=ab)");
        assert_eq!(p("%s %s", vec![json!("ab")]), "ab %!s(MISSING)");
        assert_eq!(p("%s", vec![json!("ab"), json!(42)]), "ab%!(EXTRA int=42)");
        assert_eq!(sprintf("%d", &[Some(Value::Null)]), "%!d(<nil>)");
        assert_eq!(p("%d", vec![json!(1000.0)]), "%!d(float64=1000)");
        assert_eq!(p("%!", vec![]), "%!!(MISSING)");
        assert_eq!(p("%z", vec![json!(1)]), "%!z(int=1)");
        assert_eq!(p("%", vec![]), "%!(NOVERB)");
        assert_eq!(p("%[2]s %[1]s", vec![json!("a"), json!("b")]), "b a");
        assert_eq!(
            p("%*d|%-*d", vec![json!(4), json!(7), json!(3), json!(8)]),
            "   7|8  "
        );
        assert_eq!(p("%.*f", vec![json!(2), json!(3.14169)]), "3.14");
        // Huge widths are refused instead of allocating.
        assert!(p("%9999999d", vec![json!(1)]).len() < 100);
    }

    #[test]
    fn sprint_spacing() {
        let args: Vec<Arg> = vec![
            Some(json!(1)),
            Some(json!(2)),
            Some(json!("a")),
            Some(json!("b")),
            Some(json!(3)),
            Some(Value::Null),
        ];
        assert_eq!(sprint(&args), "1 2ab3 <nil>");
        assert_eq!(
            sprintln(&[Some(json!(1)), Some(json!("a")), Some(json!(2))]),
            "1 a 2\n"
        );
    }
}
