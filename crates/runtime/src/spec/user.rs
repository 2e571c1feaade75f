//! Resolving `--user` / the image's `User` to ids, as podman does: names are
//! looked up in the image's own /etc/passwd and /etc/group (read with
//! [`crate::safe_read`], so a planted symlink cannot point us at the host's).

use std::path::Path;

use super::SpecError;
use crate::safe_read::read_in_root;

/// The process identity a container runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups: the groups of /etc/group listing the user.
    pub additional_gids: Vec<u32>,
    /// The user's home directory from /etc/passwd, when it has an entry.
    pub home: Option<String>,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

fn read(rootfs: &Path, file: &'static str) -> Result<String, SpecError> {
    read_in_root(rootfs, file)
        .map(Option::unwrap_or_default)
        .map_err(|source| SpecError::RootfsFile {
            rootfs: rootfs.to_path_buf(),
            file,
            source,
        })
}

/// Resolves `spec` (`uid`, `uid:gid`, `name`, `name:group`, empty = root).
///
/// A numeric uid needs no passwd entry (gid 0 then, unless given); a name
/// must exist. Supplementary groups come from /etc/group for users that
/// have a passwd entry and no explicit group.
pub fn resolve_user(rootfs: &Path, spec: &str) -> Result<ResolvedUser, SpecError> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user_part.is_empty() && group_part.is_some() {
        return Err(SpecError::BadUser {
            user: spec.to_string(),
            reason: "the user part before ':' is empty".into(),
        });
    }
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let numeric_uid = user_part.parse::<u32>().ok();
    let numeric_gid = group_part.and_then(|g| g.parse::<u32>().ok());
    // Read for numeric uids too: the entry gives the home and primary group.
    let passwd = parse_passwd(&read(rootfs, "/etc/passwd")?);
    let entry = match numeric_uid {
        Some(uid) => passwd.iter().find(|e| e.uid == uid),
        None => Some(passwd.iter().find(|e| e.name == user_part).ok_or_else(|| {
            SpecError::UnknownUser {
                user: user_part.to_string(),
            }
        })?),
    };
    let uid = numeric_uid.unwrap_or_else(|| entry.expect("found by name").uid);

    let need_groups = numeric_gid.is_none() && (group_part.is_some() || entry.is_some());
    let groups = if need_groups {
        parse_group(&read(rootfs, "/etc/group")?)
    } else {
        Vec::new()
    };
    let gid = match (group_part, numeric_gid) {
        (Some(_), Some(g)) => g,
        (Some(name), None) => {
            if name.is_empty() {
                return Err(SpecError::BadUser {
                    user: spec.to_string(),
                    reason: "the group part after ':' is empty".into(),
                });
            }
            groups
                .iter()
                .find(|g| g.name == name)
                .ok_or_else(|| SpecError::UnknownGroup {
                    group: name.to_string(),
                })?
                .gid
        }
        (None, _) => entry.map_or(0, |e| e.gid),
    };
    let additional_gids = match (entry, group_part) {
        (Some(e), None) => {
            let mut gids: Vec<u32> = groups
                .iter()
                .filter(|g| g.members.contains(&e.name) && g.gid != gid)
                .map(|g| g.gid)
                .collect();
            gids.sort_unstable();
            gids.dedup();
            gids
        }
        _ => Vec::new(),
    };
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home: entry.map(|e| e.home.clone()).filter(|h| !h.is_empty()),
    })
}

/// The gids of `--group-add` values: numbers, or names from the image's
/// /etc/group. `keep-groups` (podman's, for rootless use) adds nothing.
pub fn resolve_groups(rootfs: &Path, names: &[String]) -> Result<Vec<u32>, SpecError> {
    let mut groups = None;
    let mut out = Vec::new();
    for n in names.iter().filter(|n| n.as_str() != "keep-groups") {
        let gid = match n.parse::<u32>() {
            Ok(g) => g,
            Err(_) => {
                if groups.is_none() {
                    groups = Some(parse_group(&read(rootfs, "/etc/group")?));
                }
                groups
                    .as_ref()
                    .and_then(|gs| gs.iter().find(|g| &g.name == n))
                    .ok_or_else(|| SpecError::UnknownGroup { group: n.clone() })?
                    .gid
            }
        };
        out.push(gid);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\n\
             # a comment\n\
             www:x:33:33:www:/var/www:/bin/false\n\
             bad line\n\
             alice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nwww:x:33:\nalice:x:1000:\nwheel:x:10:alice,bob\naudio:x:29:alice\nstaff:x:50:\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn names_and_numbers() {
        let r = rootfs();
        let u = resolve_user(r.path(), "alice").unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1000));
        assert_eq!(u.additional_gids, vec![10, 29]);
        assert_eq!(u.home.as_deref(), Some("/home/alice"));

        let u = resolve_user(r.path(), "www:staff").unwrap();
        assert_eq!((u.uid, u.gid), (33, 50));
        assert!(u.additional_gids.is_empty());

        let u = resolve_user(r.path(), "1000:7").unwrap();
        assert_eq!((u.uid, u.gid), (1000, 7));

        // A uid without an entry: gid 0, no home.
        let u = resolve_user(r.path(), "4242").unwrap();
        assert_eq!((u.uid, u.gid, u.home), (4242, 0, None));

        let u = resolve_user(r.path(), "").unwrap();
        assert_eq!((u.uid, u.gid), (0, 0));
        assert_eq!(u.home.as_deref(), Some("/root"));
    }

    #[test]
    fn unknown_names_fail() {
        let r = rootfs();
        assert!(matches!(
            resolve_user(r.path(), "mallory"),
            Err(SpecError::UnknownUser { .. })
        ));
        assert!(matches!(
            resolve_user(r.path(), "alice:nogroup"),
            Err(SpecError::UnknownGroup { .. })
        ));
        assert!(matches!(
            resolve_user(r.path(), ":10"),
            Err(SpecError::BadUser { .. })
        ));
    }

    #[test]
    fn numeric_user_works_without_passwd() {
        let d = tempfile::tempdir().unwrap();
        let u = resolve_user(d.path(), "5:6").unwrap();
        assert_eq!((u.uid, u.gid), (5, 6));
        assert!(matches!(
            resolve_user(d.path(), "nobody"),
            Err(SpecError::UnknownUser { .. })
        ));
    }

    #[test]
    fn passwd_symlink_to_host_is_not_followed_out() {
        let outside = tempfile::tempdir().unwrap();
        let host_passwd = outside.path().join("passwd");
        std::fs::write(&host_passwd, "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        // Resolved inside the rootfs the absolute link dangles, so "root" is
        // unknown rather than read from the host's file.
        std::os::unix::fs::symlink(&host_passwd, d.path().join("etc/passwd")).unwrap();
        assert!(matches!(
            resolve_user(d.path(), "root"),
            Err(SpecError::UnknownUser { .. })
        ));
    }
}
