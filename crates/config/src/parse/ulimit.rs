//! `default_ulimits` entries: `"<name>=<soft>[:<hard>]"`, the form podman
//! (through docker's go-units) accepts; `-1` means unlimited.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The resources a ulimit entry may name (setrlimit(2), without `RLIMIT_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum UlimitResource {
    Core,
    Cpu,
    Data,
    Fsize,
    Locks,
    Memlock,
    Msgqueue,
    Nice,
    Nofile,
    Nproc,
    Rss,
    Rtprio,
    Rttime,
    Sigpending,
    Stack,
}

impl UlimitResource {
    const ALL: [(&'static str, UlimitResource); 15] = [
        ("core", Self::Core),
        ("cpu", Self::Cpu),
        ("data", Self::Data),
        ("fsize", Self::Fsize),
        ("locks", Self::Locks),
        ("memlock", Self::Memlock),
        ("msgqueue", Self::Msgqueue),
        ("nice", Self::Nice),
        ("nofile", Self::Nofile),
        ("nproc", Self::Nproc),
        ("rss", Self::Rss),
        ("rtprio", Self::Rtprio),
        ("rttime", Self::Rttime),
        ("sigpending", Self::Sigpending),
        ("stack", Self::Stack),
    ];

    /// The short name used in containers.conf and on the command line.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, r)| *r == self)
            .map(|(n, _)| *n)
            .unwrap_or("unknown")
    }

    /// The name the OCI runtime spec uses (`process.rlimits[].type`).
    pub fn oci_name(self) -> String {
        format!("RLIMIT_{}", self.name().to_ascii_uppercase())
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
    }
}

/// One limit value: a number, or unlimited (written `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitValue {
    Unlimited,
    Value(u64),
}

impl LimitValue {
    /// The value setrlimit(2) takes (`RLIM_INFINITY` for unlimited).
    pub fn as_rlim(self) -> u64 {
        match self {
            Self::Unlimited => u64::MAX,
            Self::Value(v) => v,
        }
    }
}

impl fmt::Display for LimitValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unlimited => f.write_str("-1"),
            Self::Value(v) => write!(f, "{v}"),
        }
    }
}

/// A parsed `default_ulimits` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Ulimit {
    pub resource: UlimitResource,
    pub soft: LimitValue,
    pub hard: LimitValue,
}

fn parse_limit(entry: &str, which: &str, text: &str) -> Result<LimitValue, String> {
    if text == "-1" {
        return Ok(LimitValue::Unlimited);
    }
    text.parse::<u64>().map(LimitValue::Value).map_err(|_| {
        format!("ulimit {entry:?}: {which} limit {text:?} is not a non-negative integer or -1 (unlimited)")
    })
}

impl FromStr for Ulimit {
    type Err = String;

    fn from_str(entry: &str) -> Result<Self, String> {
        let (name, limits) = entry.split_once('=').ok_or_else(|| {
            format!("ulimit {entry:?} is not of the form <name>=<soft>[:<hard>], e.g. \"nofile=1024:2048\"")
        })?;
        let resource = UlimitResource::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = UlimitResource::ALL.iter().map(|(n, _)| *n).collect();
            format!(
                "ulimit {entry:?}: unknown resource {name:?}; known: {}",
                known.join(", ")
            )
        })?;
        let (soft_text, hard_text) = match limits.split_once(':') {
            Some((s, h)) => (s, Some(h)),
            None => (limits, None),
        };
        let soft = parse_limit(entry, "soft", soft_text)?;
        // A missing hard limit equals the soft one, as in podman.
        let hard = match hard_text {
            Some(h) => parse_limit(entry, "hard", h)?,
            None => soft,
        };
        if let (LimitValue::Value(s), LimitValue::Value(h)) = (soft, hard) {
            if s > h {
                return Err(format!(
                    "ulimit {entry:?}: soft limit {s} is above hard limit {h}"
                ));
            }
        }
        if soft == LimitValue::Unlimited && hard != LimitValue::Unlimited {
            return Err(format!(
                "ulimit {entry:?}: soft limit is unlimited but hard limit {hard} is not"
            ));
        }
        Ok(Self {
            resource,
            soft,
            hard,
        })
    }
}

impl fmt::Display for Ulimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}:{}", self.resource.name(), self.soft, self.hard)
    }
}

impl From<Ulimit> for String {
    fn from(u: Ulimit) -> String {
        u.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_and_hard() {
        let u: Ulimit = "nofile=20000:40000".parse().unwrap();
        assert_eq!(u.resource, UlimitResource::Nofile);
        assert_eq!(u.soft, LimitValue::Value(20000));
        assert_eq!(u.hard, LimitValue::Value(40000));
        assert_eq!(u.resource.oci_name(), "RLIMIT_NOFILE");
        assert_eq!(u.to_string(), "nofile=20000:40000");
    }

    #[test]
    fn hard_defaults_to_soft_and_minus_one_is_unlimited() {
        let u: Ulimit = "nproc=-1".parse().unwrap();
        assert_eq!(u.soft, LimitValue::Unlimited);
        assert_eq!(u.hard, LimitValue::Unlimited);
        assert_eq!(u.hard.as_rlim(), u64::MAX);
        let u: Ulimit = "core=0".parse().unwrap();
        assert_eq!(
            (u.soft, u.hard),
            (LimitValue::Value(0), LimitValue::Value(0))
        );
        let u: Ulimit = "memlock=100:-1".parse().unwrap();
        assert_eq!(
            (u.soft, u.hard),
            (LimitValue::Value(100), LimitValue::Unlimited)
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let e = "nofile".parse::<Ulimit>().unwrap_err();
        assert!(e.contains("<name>=<soft>"), "{e}");
        let e = "files=1:2".parse::<Ulimit>().unwrap_err();
        assert!(e.contains("unknown resource \"files\""), "{e}");
        let e = "nofile=abc:2".parse::<Ulimit>().unwrap_err();
        assert!(e.contains("soft limit \"abc\""), "{e}");
        let e = "nofile=1:-2".parse::<Ulimit>().unwrap_err();
        assert!(e.contains("hard limit \"-2\""), "{e}");
        let e = "nofile=3:2".parse::<Ulimit>().unwrap_err();
        assert!(e.contains("above hard limit 2"), "{e}");
        let e = "nofile=-1:2".parse::<Ulimit>().unwrap_err();
        assert!(e.contains("unlimited"), "{e}");
    }
}

super::deserialize_from_str!(Ulimit, "a ulimit such as \"nofile=1024:2048\"");
