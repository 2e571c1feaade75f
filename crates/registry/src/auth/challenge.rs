//! Parsing `WWW-Authenticate` challenges (RFC 7235) as registries send them:
//! `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`
//! or `Basic realm="Registry"`; one header may carry several challenges.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    Basic,
    Bearer,
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: Scheme,
    /// Parameter names are lower-cased (they are case-insensitive); values are unquoted.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }

    /// An RFC 7230 token (letters, digits and `!#$%&'*+-.^_|~` and backquote).
    fn token(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:".contains(&c) {
                self.pos += 1;
            } else {
                break;
            }
        }
        String::from_utf8_lossy(&self.s[start..self.pos]).into_owned()
    }

    fn quoted(&mut self) -> String {
        // Called with the cursor on the opening quote.
        self.pos += 1;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.pos += 1;
                    }
                }
                _ => out.push(c),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Tries to read `name = value`; leaves the cursor untouched if the next
    /// item is not a parameter (it is then the next challenge's scheme).
    fn param(&mut self) -> Option<(String, String)> {
        let save = self.pos;
        let name = self.token();
        self.skip_ws();
        if name.is_empty() || self.peek() != Some(b'=') {
            self.pos = save;
            return None;
        }
        self.pos += 1;
        self.skip_ws();
        let value = if self.peek() == Some(b'"') {
            self.quoted()
        } else {
            self.token()
        };
        Some((name.to_ascii_lowercase(), value))
    }
}

/// Parses every challenge in one `WWW-Authenticate` header value.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut cur = Cursor {
        s: header.as_bytes(),
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        cur.skip_ws_and_commas();
        let scheme = cur.token();
        if scheme.is_empty() {
            // End of input, or garbage we cannot make sense of.
            break;
        }
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "basic" => Scheme::Basic,
            "bearer" => Scheme::Bearer,
            _ => Scheme::Other(scheme),
        };
        let mut params = BTreeMap::new();
        loop {
            cur.skip_ws();
            match cur.param() {
                Some((k, v)) => {
                    params.insert(k, v);
                }
                None => break,
            }
            cur.skip_ws();
            if cur.peek() == Some(b',') {
                cur.pos += 1;
            } else {
                break;
            }
        }
        out.push(Challenge { scheme, params });
    }
    out
}

/// Parses all `WWW-Authenticate` headers of a response.
pub fn from_headers(headers: &reqwest::header::HeaderMap) -> Vec<Challenge> {
    headers
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_challenges)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_hub_bearer_challenge() {
        let c = parse_challenges(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push",error="insufficient_scope""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, Scheme::Bearer);
        assert_eq!(c[0].realm(), Some("https://auth.docker.io/token"));
        assert_eq!(c[0].param("service"), Some("registry.docker.io"));
        assert_eq!(
            c[0].param("scope"),
            Some("repository:library/busybox:pull,push")
        );
        assert_eq!(c[0].param("error"), Some("insufficient_scope"));
    }

    #[test]
    fn parses_basic_and_case_and_spacing() {
        let c = parse_challenges(r#"basic REALM = "Registry \"Realm\"" "#);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, Scheme::Basic);
        assert_eq!(c[0].realm(), Some(r#"Registry "Realm""#));
    }

    #[test]
    fn parses_several_challenges_in_one_header() {
        let c = parse_challenges(
            r#"Basic realm="a", Bearer realm="https://t/token", service=reg ,Negotiate"#,
        );
        assert_eq!(c.len(), 3, "{c:?}");
        assert_eq!(c[0].scheme, Scheme::Basic);
        assert_eq!(c[1].scheme, Scheme::Bearer);
        assert_eq!(c[1].param("service"), Some("reg"));
        assert_eq!(c[2].scheme, Scheme::Other("Negotiate".into()));
        assert!(c[2].params.is_empty());
    }

    #[test]
    fn tolerates_garbage() {
        assert!(parse_challenges("").is_empty());
        assert!(parse_challenges("   ,, ").is_empty());
        let c = parse_challenges(r#"Bearer realm="unterminated"#);
        assert_eq!(c[0].realm(), Some("unterminated"));
    }
}
