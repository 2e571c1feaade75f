//! Go's float formatting (`strconv.FormatFloat` with 'e', 'f' and 'g'),
//! built on Rust's exact shortest / fixed-precision digit generation.

/// Decimal digits of |v|: `digits` (no leading zeros, at least one digit) and
/// `dp`, the position of the decimal point, so v = 0.d1d2... × 10^dp.
struct Digits {
    digits: Vec<u8>,
    dp: i32,
}

/// `sig` significant digits, or the shortest round-tripping digits when `None`.
fn digits(v: f64, sig: Option<usize>) -> Digits {
    let v = v.abs();
    let s = match sig {
        Some(n) => format!("{:.*e}", n.max(1) - 1, v),
        None => format!("{v:e}"),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    if digits.iter().all(|&d| d == b'0') {
        return Digits {
            digits: vec![b'0'],
            dp: 1,
        };
    }
    Digits {
        digits,
        dp: exp + 1,
    }
}

fn sign(v: f64, plus: bool, space: bool) -> &'static str {
    if v.is_sign_negative() {
        "-"
    } else if plus {
        "+"
    } else if space {
        " "
    } else {
        ""
    }
}

fn special(v: f64, plus: bool, space: bool) -> Option<String> {
    if v.is_nan() {
        return Some(if plus {
            "+NaN".into()
        } else if space {
            " NaN".into()
        } else {
            "NaN".into()
        });
    }
    if v.is_infinite() {
        return Some(format!("{}Inf", sign(v, plus, space)));
    }
    None
}

/// Sign flags for formatting.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flags {
    pub plus: bool,
    pub space: bool,
    pub sharp: bool,
    pub upper: bool,
}

fn exp_form(neg: &str, d: &Digits, decimals: usize, f: Flags) -> String {
    let mut out = String::from(neg);
    out.push(d.digits[0] as char);
    let rest: Vec<u8> = d.digits[1..].to_vec();
    if decimals > 0 || f.sharp {
        out.push('.');
    }
    for i in 0..decimals {
        out.push(*rest.get(i).unwrap_or(&b'0') as char);
    }
    let exp = if d.digits == [b'0'] { 0 } else { d.dp - 1 };
    out.push(if f.upper { 'E' } else { 'e' });
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
    out
}

fn fixed_form(neg: &str, d: &Digits, decimals: usize, sharp: bool) -> String {
    let mut out = String::from(neg);
    if d.dp <= 0 {
        out.push('0');
    } else {
        for i in 0..d.dp as usize {
            out.push(*d.digits.get(i).unwrap_or(&b'0') as char);
        }
    }
    if decimals > 0 || sharp {
        out.push('.');
    }
    for i in 0..decimals {
        let idx = d.dp + i as i32;
        let c = if idx < 0 {
            b'0'
        } else {
            *d.digits.get(idx as usize).unwrap_or(&b'0')
        };
        out.push(c as char);
    }
    out
}

/// Go's %e / %E with precision `prec` (default 6).
pub(crate) fn fmt_e(v: f64, prec: Option<usize>, f: Flags) -> String {
    if let Some(s) = special(v, f.plus, f.space) {
        return s;
    }
    let neg = sign(v, f.plus, f.space);
    match prec {
        Some(p) => exp_form(neg, &digits(v, Some(p + 1)), p, f),
        None => exp_form(neg, &digits(v, Some(7)), 6, f),
    }
}

/// Go's %f with precision `prec` (default 6).
pub(crate) fn fmt_f(v: f64, prec: Option<usize>, f: Flags) -> String {
    if let Some(s) = special(v, f.plus, f.space) {
        return s;
    }
    let neg = sign(v, f.plus, f.space);
    let p = prec.unwrap_or(6);
    let s = format!("{:.*}", p, v.abs());
    let mut out = String::from(neg);
    out.push_str(&s);
    if f.sharp && p == 0 {
        out.push('.');
    }
    out
}

/// Go's %g / %v: shortest representation when `prec` is `None`.
pub(crate) fn fmt_g(v: f64, prec: Option<usize>, f: Flags) -> String {
    if let Some(s) = special(v, f.plus, f.space) {
        return s;
    }
    let neg = sign(v, f.plus, f.space);
    let shortest = prec.is_none();
    let p = prec.map(|p| p.max(1));
    let mut d = digits(v, p);
    if !f.sharp {
        while d.digits.len() > 1 && d.digits.last() == Some(&b'0') {
            d.digits.pop();
        }
    }
    let nd = d.digits.len() as i32;
    let mut eprec = p.map_or(nd, |p| p as i32);
    if eprec > nd && nd >= d.dp {
        eprec = nd;
    }
    if shortest {
        eprec = 6;
    }
    let exp = d.dp - 1;
    if exp < -4 || exp >= eprec {
        let decimals = if f.sharp {
            (p.unwrap_or(6) as i32 - 1).max(0) as usize
        } else {
            (nd - 1).max(0) as usize
        };
        exp_form(neg, &d, decimals, f)
    } else {
        let decimals = if f.sharp {
            (p.unwrap_or(6) as i32 - d.dp).max(0) as usize
        } else {
            (nd - d.dp).max(0) as usize
        };
        fixed_form(neg, &d, decimals, f.sharp)
    }
}

/// Go's `%v` for a float64.
pub(crate) fn go_v(v: f64) -> String {
    fmt_g(v, None, Flags::default())
}

/// encoding/json's float64 rendering: plain decimal unless the exponent is
/// below -6 or at least 21, then a compact exponent ("1e-7", "1e+21").
pub(crate) fn json_float(v: f64) -> String {
    if !v.is_finite() {
        // encoding/json refuses these; podman's json func then prints nothing.
        return String::new();
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let d = digits(v, None);
        let neg = if v < 0.0 { "-" } else { "" };
        let s = exp_form(neg, &d, d.digits.len() - 1, Flags::default());
        // Go trims "e-07" to "e-7".
        if let Some(i) = s.find('e') {
            let (m, e) = s.split_at(i);
            let sign = &e[1..2];
            let num = e[2..].trim_start_matches('0');
            return format!("{m}e{sign}{num}");
        }
        return s;
    }
    let d = digits(v, None);
    let neg = if v.is_sign_negative() { "-" } else { "" };
    let decimals = (d.digits.len() as i32 - d.dp).max(0) as usize;
    fixed_form(neg, &d, decimals, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go_v() {
        // Expectations from Go 1.19 fmt.Sprint.
        assert_eq!(go_v(1.0), "1");
        assert_eq!(go_v(1.5), "1.5");
        assert_eq!(go_v(1e6), "1e+06");
        assert_eq!(go_v(100000.0), "100000");
        assert_eq!(go_v(1e-5), "1e-05");
        assert_eq!(go_v(0.0001), "0.0001");
        assert_eq!(go_v(1e21), "1e+21");
        assert_eq!(go_v(-0.0), "-0");
        assert_eq!(go_v(1234567.0), "1.234567e+06");
        assert_eq!(go_v(f64::INFINITY), "+Inf".trim_start_matches('+'));
    }

    #[test]
    fn matches_go_verbs() {
        let f = Flags::default();
        assert_eq!(fmt_e(1234567.0, None, f), "1.234567e+06");
        assert_eq!(fmt_e(1234.5678, Some(4), f), "1.2346e+03");
        assert_eq!(fmt_g(0.0000123, None, f), "1.23e-05");
        assert_eq!(fmt_g(0.000012345, Some(3), f), "1.23e-05");
        assert_eq!(fmt_g(3.14169, Some(2), f), "3.1");
        assert_eq!(fmt_f(3.14169, Some(2), f), "3.14");
        assert_eq!(fmt_f(1.0, None, f), "1.000000");
        let up = Flags { upper: true, ..f };
        assert_eq!(fmt_g(1234567.0, None, up), "1.234567E+06");
        assert_eq!(fmt_g(100.0, Some(2), f), "1e+02");
    }

    #[test]
    fn matches_encoding_json() {
        assert_eq!(json_float(1.0), "1");
        assert_eq!(json_float(1e21), "1e+21");
        assert_eq!(json_float(1e-7), "1e-7");
        assert_eq!(json_float(0.5), "0.5");
        assert_eq!(json_float(123456789.0), "123456789");
    }
}
