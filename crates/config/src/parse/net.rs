//! Network values: `default_subnet` and `default_subnet_pools`.

use std::fmt;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// A CIDR subnet such as `10.88.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Subnet(pub IpNet);

impl FromStr for Subnet {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        text.parse::<IpNet>()
            .map(Self)
            .map_err(|_| format!("subnet {text:?} is not a CIDR prefix such as \"10.88.0.0/16\""))
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Subnet> for String {
    fn from(s: Subnet) -> String {
        s.to_string()
    }
}

/// One `default_subnet_pools` entry: subnets of `size` bits carved from `base`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetPool {
    pub base: Subnet,
    pub size: u8,
}

super::deserialize_from_str!(Subnet, "a CIDR subnet such as \"10.88.0.0/16\"");
