//! `umask = "0022"`: an octal file-mode creation mask.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A validated umask (at most 0o7777).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Umask(u32);

impl Umask {
    pub const fn new_unchecked(bits: u32) -> Self {
        Self(bits)
    }

    pub fn bits(self) -> u32 {
        self.0
    }
}

impl FromStr for Umask {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let digits = text.strip_prefix("0o").unwrap_or(text);
        // Up to four significant digits; a leading 0 may come on top ("07777").
        let significant = digits.strip_prefix('0').unwrap_or(digits);
        if digits.is_empty()
            || significant.len() > 4
            || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
        {
            return Err(format!(
                "umask {text:?} is not an octal mode of at most four digits 0-7, e.g. \"0022\""
            ));
        }
        let bits = u32::from_str_radix(digits, 8).map_err(|e| format!("umask {text:?}: {e}"))?;
        if bits > 0o7777 {
            return Err(format!("umask {text:?} is above 07777"));
        }
        Ok(Self(bits))
    }
}

impl fmt::Display for Umask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

impl From<Umask> for String {
    fn from(u: Umask) -> String {
        u.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal() {
        assert_eq!("0022".parse::<Umask>().unwrap().bits(), 0o022);
        assert_eq!("022".parse::<Umask>().unwrap().bits(), 0o022);
        assert_eq!("7".parse::<Umask>().unwrap().bits(), 0o7);
        assert_eq!("0777".parse::<Umask>().unwrap().bits(), 0o777);
        assert_eq!("07777".parse::<Umask>().unwrap().bits(), 0o7777);
        assert_eq!("0022".parse::<Umask>().unwrap().to_string(), "0022");
    }

    #[test]
    fn rejects() {
        for bad in ["", "0089", "abc", "-022", "17777", "0x22"] {
            let e = bad.parse::<Umask>().unwrap_err();
            assert!(e.contains("umask"), "{bad}: {e}");
        }
    }
}

super::deserialize_from_str!(Umask, "an octal umask such as \"0022\"");
