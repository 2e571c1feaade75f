//! `/proc/<pid>/mountinfo` lines (proc(5)), read by the runtime (cgroup
//! hierarchies) and the lazy layers (is a FUSE mount still on top?).

/// The fields of one mount that hoist looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// The mounted directory of the source filesystem (field 4).
    pub root: String,
    /// Where it is mounted (field 5), octal escapes undone.
    pub mount_point: String,
    pub fs_type: String,
    /// The filesystem's own options (`rw,memory` for a cgroup v1 hierarchy).
    pub super_options: String,
}

/// Whether `dir` is the root of a file system other than its parent
/// directory's: something (an overlay, a tmpfs) is mounted on it. Two
/// `stat`s instead of reading mountinfo; a bind mount of the parent's own
/// file system does not count.
pub fn has_own_filesystem(dir: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(me), Some(Ok(parent))) = (std::fs::metadata(dir), dir.parent().map(std::fs::metadata))
    else {
        return false;
    };
    me.dev() != parent.dev()
}

/// Every well-formed line of a mountinfo text, in order (later mounts on
/// the same point are on top).
pub fn mount_entries(mountinfo: &str) -> impl Iterator<Item = MountEntry> + '_ {
    mountinfo.lines().filter_map(parse_line)
}

fn parse_line(line: &str) -> Option<MountEntry> {
    let (pre, post) = line.split_once(" - ")?;
    let mut pre = pre.split(' ');
    let root = unescape(pre.nth(3)?);
    let mount_point = unescape(pre.next()?);
    let mut post = post.split(' ');
    let fs_type = post.next()?.to_owned();
    let _source = post.next()?;
    let super_options = post.next()?.to_owned();
    Some(MountEntry {
        root,
        mount_point,
        fs_type,
        super_options,
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space, ...).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if let Some(value) = bytes
                .get(i + 1..i + 4)
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| u8::from_str_radix(d, 8).ok())
            {
                out.push(value);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_and_undoes_escapes() {
        let text = "\
31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
41 40 0:51 / /run/a\\040b ro - fuse.hoist-lazy hoist-lazy ro,user_id=0
not a mountinfo line
";
        let all: Vec<MountEntry> = mount_entries(text).collect();
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[0],
            MountEntry {
                root: "/".into(),
                mount_point: "/sys/fs/cgroup/memory".into(),
                fs_type: "cgroup".into(),
                super_options: "rw,memory".into(),
            }
        );
        assert_eq!(all[1].mount_point, "/run/a b");
        assert_eq!(all[1].fs_type, "fuse.hoist-lazy");
    }

    #[test]
    fn unescapes_octal_only() {
        assert_eq!(unescape("a\\011b\\134c\\9"), "a\tb\\c\\9");
    }
}
