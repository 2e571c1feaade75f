//! Typed forms of containers.conf values, each checked when a file is read
//! so that a bad value is reported with its file and line.

/// Deserializes a type from a TOML string through its `FromStr`, raising
/// the error inside the value's own deserializer so that it carries the
/// position of that very string (not of the enclosing array).
macro_rules! deserialize_from_str {
    ($ty:ty, $what:literal) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$ty, E> {
                        s.parse::<$ty>().map_err(E::custom)
                    }
                }
                d.deserialize_str(Visitor)
            }
        }
    };
}
pub(crate) use deserialize_from_str;

mod device;
mod enums;
mod env;
mod keyvalue;
mod net;
mod size;
mod ulimit;
mod umask;

pub use device::DeviceSpec;
pub use enums::{EventsLogger, LogSizeMax, OomScoreAdj, PullPolicy, LOG_SIZE_MIN};
pub use env::EnvEntry;
pub use keyvalue::KeyValue;
pub use net::{Subnet, SubnetPool};
pub use size::ByteSize;
pub use ulimit::{LimitValue, Ulimit, UlimitResource};
pub use umask::Umask;
