//! Sizes such as `shm_size = "65536k"`: a number (decimals allowed), an
//! optional unit b/k/m/g/t/p, optionally followed by `i` and/or `b`.
//! podman reads most sizes (`shm_size`) with powers of 1024, but
//! `events_logfile_max_size` with powers of 1000 ("1m" = 1000000), so both
//! readings are kept.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A size in bytes, remembering how it was written for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct ByteSize {
    bytes: u64,
    decimal: u64,
    text: String,
}

impl ByteSize {
    /// A size given in bytes (shown as the plain number).
    pub fn from_bytes(bytes: u64) -> Self {
        Self {
            bytes,
            decimal: bytes,
            text: bytes.to_string(),
        }
    }

    /// The size with units as powers of 1024 (k = 1024).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The size with units as powers of 1000 (k = 1000).
    pub fn decimal_bytes(&self) -> u64 {
        self.decimal
    }
}

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "size {text:?} is not <number>[<unit>] with unit b, k, m, g, t or p (powers of 1024), e.g. \"64m\""
            )
        };
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
            return Err(bad());
        }
        let unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_lowercase();
        let unit = unit.strip_suffix('b').unwrap_or(&unit);
        let unit = unit.strip_suffix('i').unwrap_or(unit);
        let power: u32 = match unit {
            "" => 0,
            "k" => 1,
            "m" => 2,
            "g" => 3,
            "t" => 4,
            "p" => 5,
            _ => return Err(bad()),
        };
        if number.matches('.').count() > 1 {
            return Err(bad());
        }
        let scale = |base: u64| -> Result<u64, String> {
            let factor = base.pow(power);
            let too_large = || format!("size {text:?} is too large");
            if number.contains('.') {
                let value: f64 = number.parse().map_err(|_| bad())?;
                let scaled = value * factor as f64;
                if !scaled.is_finite() || scaled >= u64::MAX as f64 {
                    return Err(too_large());
                }
                // Whole bytes, truncating as podman does.
                Ok(scaled as u64)
            } else {
                let value: u64 = number.parse().map_err(|_| too_large())?;
                value.checked_mul(factor).ok_or_else(too_large)
            }
        };
        let bytes = scale(1024)?;
        let decimal = scale(1000)?;
        Ok(Self {
            bytes,
            decimal,
            text: text.to_string(),
        })
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<ByteSize> for String {
    fn from(s: ByteSize) -> String {
        s.text
    }
}

/// A string with units, or a plain integer of bytes (podman reads
/// `events_logfile_max_size = 4750` as bytes).
impl<'de> serde::Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as \"64m\" or a number of bytes")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<ByteSize, E> {
                s.parse::<ByteSize>().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<ByteSize, E> {
                Ok(ByteSize::from_bytes(n))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<ByteSize, E> {
                u64::try_from(n)
                    .map(ByteSize::from_bytes)
                    .map_err(|_| E::custom(format!("size {n} is negative")))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> u64 {
        s.parse::<ByteSize>().unwrap().bytes()
    }

    #[test]
    fn integers_are_bytes() {
        #[derive(serde::Deserialize)]
        struct T {
            size: ByteSize,
        }
        let t: T = toml::from_str("size = 4750").unwrap();
        assert_eq!((t.size.bytes(), t.size.decimal_bytes()), (4750, 4750));
        let t: T = toml::from_str("size = \"1m\"").unwrap();
        assert_eq!(t.size.decimal_bytes(), 1_000_000);
        assert!(toml::from_str::<T>("size = -1").is_err());
    }

    #[test]
    fn units() {
        assert_eq!(b("65536k"), 64 << 20);
        assert_eq!(b("1024"), 1024);
        assert_eq!(b("10b"), 10);
        assert_eq!(b("1m"), 1 << 20);
        assert_eq!(b("1M"), 1 << 20);
        assert_eq!(b("2g"), 2 << 30);
        assert_eq!(b("2GiB"), 2 << 30);
        assert_eq!(b("2gb"), 2 << 30);
        assert_eq!(b("1 t"), 1 << 40);
        assert_eq!(b("1.5k"), 1536);
        assert_eq!("1m".parse::<ByteSize>().unwrap().decimal_bytes(), 1_000_000);
        assert_eq!("1.5k".parse::<ByteSize>().unwrap().decimal_bytes(), 1500);
        assert_eq!("64m".parse::<ByteSize>().unwrap().to_string(), "64m");
    }

    #[test]
    fn rejects() {
        for bad in ["", "k", "10x", "-1", "1.2.3k", ".5k", "1..", "10kk"] {
            let e = bad.parse::<ByteSize>().unwrap_err();
            assert!(e.contains("is not <number>"), "{bad}: {e}");
        }
        let e = "99999999999p".parse::<ByteSize>().unwrap_err();
        assert!(e.contains("too large"), "{e}");
    }
}
