//! Entry names as the format compares them.
//!
//! Tar entries may be named `./a/b`, `/a/b`, `a/b/` or `a//b`; the reference
//! implementation treats them all as `a/b` (it cleans the name as an absolute
//! path and drops the leading `/`). The prioritized-file list and the
//! chunk/reg pairing use this cleaned form.

/// The cleaned form of an entry name: no leading `/` or `./`, no trailing
/// `/`, no empty or `.` components, `..` resolved without escaping the root.
/// The root directory cleans to the empty string.
pub(crate) fn clean(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

/// The cleaned name of the directory holding the cleaned name `name`
/// (`""` for top-level entries).
pub(crate) fn parent(name: &str) -> &str {
    match name.rfind('/') {
        Some(i) => &name[..i],
        None => "",
    }
}

/// Why a name from an untrusted TOC cannot be used, if it cannot: a `..`
/// component could make a consumer step outside the layer, and a NUL byte
/// cannot be part of a Linux path.
pub(crate) fn unsafe_reason(name: &str) -> Option<&'static str> {
    if name.contains('\0') {
        return Some("the name contains a NUL byte");
    }
    if name.split('/').any(|c| c == "..") {
        return Some("the name has a `..` component");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning() {
        assert_eq!(clean("./a/b"), "a/b");
        assert_eq!(clean("/a//b/"), "a/b");
        assert_eq!(clean("a/./b/../c"), "a/c");
        assert_eq!(clean("../../etc"), "etc");
        assert_eq!(clean("./"), "");
        assert_eq!(clean("/"), "");
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("a"), "");
    }

    #[test]
    fn unsafe_names() {
        assert!(unsafe_reason("a/../b").is_some());
        assert!(unsafe_reason("..").is_some());
        assert!(unsafe_reason("a\0b").is_some());
        assert!(unsafe_reason("a/..b/c..").is_none());
        assert!(unsafe_reason("./a/b/").is_none());
    }
}
