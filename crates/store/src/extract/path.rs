//! Lexical checks on entry names and link targets, done before touching the
//! filesystem. They decide what a layer may *say*; `fsops` makes sure that
//! whatever the filesystem already holds (symlinks) cannot lead outside.

/// An entry name split into its components, relative to the layer root
/// (leading slashes dropped), never `..`, without `.` or empty components.
/// Empty means the layer root itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RelPath {
    comps: Vec<Vec<u8>>,
}

impl RelPath {
    /// Validates a raw tar name. The error is the reason it is hostile.
    pub(crate) fn parse(raw: &[u8]) -> Result<RelPath, &'static str> {
        if raw.contains(&0) {
            return Err("contains a NUL byte");
        }
        // A leading `/` names the layer root, as GNU tar reads it when it
        // strips leading slashes (umoci's `insert ... /` writes `/` and
        // `/etc/x`; podman accepts them): the name stays inside the root.
        let mut comps = Vec::new();
        for comp in raw.split(|b| *b == b'/') {
            match comp {
                b"" | b"." => {}
                b".." => return Err("contains a `..` component"),
                c => comps.push(c.to_vec()),
            }
        }
        Ok(RelPath { comps })
    }

    pub(crate) fn is_root(&self) -> bool {
        self.comps.is_empty()
    }

    /// The last component; `None` for the root.
    pub(crate) fn name(&self) -> Option<&[u8]> {
        self.comps.last().map(Vec::as_slice)
    }

    /// The components of the parent directory.
    pub(crate) fn parent(&self) -> &[Vec<u8>] {
        &self.comps[..self.comps.len().saturating_sub(1)]
    }

    #[cfg(test)]
    pub(crate) fn components(&self) -> &[Vec<u8>] {
        &self.comps
    }

    pub(crate) fn depth(&self) -> usize {
        self.comps.len()
    }

    /// The path relative to the layer root, for `*at` calls (`.` for the root).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        join(&self.comps)
    }
}

/// Joins components with `/`; `.` for none.
pub(crate) fn join(comps: &[Vec<u8>]) -> Vec<u8> {
    if comps.is_empty() {
        return b".".to_vec();
    }
    comps.join(&b'/')
}

/// Whether a relative symlink `target`, placed in a directory `parent_depth`
/// levels below the layer root, climbs above the root when read lexically.
pub(crate) fn symlink_escapes(parent_depth: usize, target: &[u8]) -> bool {
    let mut depth = parent_depth as i64;
    for comp in target.split(|b| *b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_harmless_names() {
        let p = RelPath::parse(b"./usr//bin/./sh").unwrap();
        assert_eq!(
            p.components(),
            &[b"usr".to_vec(), b"bin".to_vec(), b"sh".to_vec()]
        );
        assert_eq!(p.name(), Some(&b"sh"[..]));
        assert_eq!(p.parent().len(), 2);
        assert_eq!(p.to_bytes(), b"usr/bin/sh");
        assert!(RelPath::parse(b"./").unwrap().is_root());
        assert_eq!(RelPath::parse(b"").unwrap().to_bytes(), b".");
        assert!(
            RelPath::parse(b"a..b/..c").is_ok(),
            "dots inside names are fine"
        );
    }

    #[test]
    fn leading_slashes_name_the_layer_root() {
        assert!(RelPath::parse(b"/").unwrap().is_root());
        assert!(RelPath::parse(b"//./").unwrap().is_root());
        assert_eq!(RelPath::parse(b"/etc/x").unwrap().to_bytes(), b"etc/x");
        assert_eq!(RelPath::parse(b"./etc/x").unwrap().to_bytes(), b"etc/x");
        assert!(RelPath::parse(b"/../etc/x").is_err(), "`..` still refused");
    }

    #[test]
    fn rejects_hostile_names() {
        for bad in [
            &b"../x"[..],
            b"a/../../x",
            b"/../etc/passwd",
            b"a/..",
            b"a\0b",
        ] {
            assert!(
                RelPath::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn symlink_escape_is_lexical() {
        assert!(!symlink_escapes(1, b"../lib/x"));
        assert!(symlink_escapes(1, b"../../x"));
        assert!(symlink_escapes(0, b"../../.."));
        assert!(symlink_escapes(0, b"a/../../b"));
        assert!(!symlink_escapes(0, b"a/b/../c"));
        assert!(!symlink_escapes(2, b"./../.."));
    }
}
