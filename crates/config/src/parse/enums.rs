//! Closed sets of words and range-checked numbers.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `events_logger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventsLogger {
    Journald,
    File,
    None,
}

/// `pull_policy`: podman accepts these words case-insensitively; an empty
/// string means `missing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum PullPolicy {
    Always,
    Missing,
    Never,
    Newer,
}

impl std::str::FromStr for PullPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(Self::Always),
            "missing" | "" => Ok(Self::Missing),
            "never" => Ok(Self::Never),
            "newer" => Ok(Self::Newer),
            _ => Err(format!(
                "pull policy {s:?} is not one of always, missing, never, newer"
            )),
        }
    }
}

impl fmt::Display for PullPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Always => "always",
            Self::Missing => "missing",
            Self::Never => "never",
            Self::Newer => "newer",
        })
    }
}

impl From<PullPolicy> for String {
    fn from(p: PullPolicy) -> String {
        p.to_string()
    }
}

/// conmon's read buffer: a positive `log_size_max` below it is refused.
pub const LOG_SIZE_MIN: i64 = 8192;

/// `log_size_max`: negative means no limit, else at least 8192 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct LogSizeMax(i64);

impl LogSizeMax {
    pub const UNLIMITED: Self = Self(-1);

    /// The limit in bytes, `None` when unlimited.
    pub fn limit(self) -> Option<u64> {
        u64::try_from(self.0).ok()
    }
}

impl TryFrom<i64> for LogSizeMax {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        if (0..LOG_SIZE_MIN).contains(&v) {
            return Err(format!(
                "log_size_max {v} must be negative (no limit) or at least {LOG_SIZE_MIN}"
            ));
        }
        Ok(Self(v))
    }
}

impl From<LogSizeMax> for i64 {
    fn from(v: LogSizeMax) -> i64 {
        v.0
    }
}

/// `oom_score_adj`: -1000 to 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct OomScoreAdj(i32);

impl OomScoreAdj {
    pub fn value(self) -> i32 {
        self.0
    }
}

impl TryFrom<i64> for OomScoreAdj {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        i32::try_from(v)
            .ok()
            .filter(|v| (-1000..=1000).contains(v))
            .map(Self)
            .ok_or_else(|| format!("oom_score_adj {v} is outside -1000..1000"))
    }
}

impl From<OomScoreAdj> for i64 {
    fn from(v: OomScoreAdj) -> i64 {
        i64::from(v.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_words() {
        assert_eq!("Always".parse::<PullPolicy>().unwrap(), PullPolicy::Always);
        assert_eq!("".parse::<PullPolicy>().unwrap(), PullPolicy::Missing);
        assert!("sometimes"
            .parse::<PullPolicy>()
            .unwrap_err()
            .contains("sometimes"));
    }

    #[test]
    fn log_size_and_oom_ranges() {
        assert_eq!(LogSizeMax::try_from(-1).unwrap().limit(), None);
        assert_eq!(LogSizeMax::try_from(8192).unwrap().limit(), Some(8192));
        assert!(LogSizeMax::try_from(100)
            .unwrap_err()
            .contains("at least 8192"));
        assert_eq!(OomScoreAdj::try_from(-1000).unwrap().value(), -1000);
        assert!(OomScoreAdj::try_from(1001).is_err());
    }
}

super::deserialize_from_str!(PullPolicy, "one of always, missing, never, newer");
