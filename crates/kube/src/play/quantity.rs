//! Kubernetes resource quantities (`100Mi`, `0.5`, `500m`) as the numbers
//! the engine takes.

use crate::error::{KubeError, Result};

fn bad(what: &str, q: &str) -> KubeError {
    KubeError::Play(format!(
        "{what}: {q:?} is not a Kubernetes quantity (use e.g. 128Mi, 1G or 500m)"
    ))
}

/// Splits `12.5Mi` into `12.5` and `Mi`.
fn split(q: &str) -> (&str, &str) {
    let at = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    // `1e3` is an exponent, not a suffix.
    q.split_at(at)
}

/// The quantity as a plain number (`1Ki` is 1024, `500m` is 0.5).
fn value(what: &str, q: &str) -> Result<f64> {
    let q = q.trim();
    let (num, suffix) = split(q);
    let n: f64 = num.parse().map_err(|_| bad(what, q))?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => {
            let exp: i32 = s[1..].parse().map_err(|_| bad(what, q))?;
            10f64.powi(exp)
        }
        _ => return Err(bad(what, q)),
    };
    let v = n * factor;
    if !v.is_finite() || v < 0.0 {
        return Err(bad(what, q));
    }
    Ok(v)
}

/// A memory quantity in bytes (rounded up, as Kubernetes does).
pub fn bytes(what: &str, q: &str) -> Result<i64> {
    let v = value(what, q)?.ceil();
    if v > i64::MAX as f64 {
        return Err(bad(what, q));
    }
    Ok(v as i64)
}

/// A CPU quantity in CPUs (`500m` is 0.5).
pub fn cpus(what: &str, q: &str) -> Result<f64> {
    value(what, q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(bytes("m", "100Mi").unwrap(), 100 << 20);
        assert_eq!(bytes("m", "1G").unwrap(), 1_000_000_000);
        assert_eq!(bytes("m", "1e3").unwrap(), 1000);
        assert_eq!(bytes("m", "512").unwrap(), 512);
        assert_eq!(cpus("c", "500m").unwrap(), 0.5);
        assert_eq!(cpus("c", "2").unwrap(), 2.0);
        assert!(bytes("m", "lots").is_err());
        assert!(bytes("m", "-1Mi").is_err());
        assert!(cpus("c", "1Q").is_err());
    }
}
