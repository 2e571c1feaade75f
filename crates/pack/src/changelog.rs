//! How often a package is updated, read from the Debian changelog it ships
//! (`/usr/share/doc/<pkg>/changelog.Debian.gz`, or `changelog.gz` for a
//! native package): an entry dated after the distribution's release, or
//! naming a security upload, is one update. A package that needed many
//! stable updates is likely to need the next one too.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::DateTime;

use crate::error::{io, Result};
use crate::resolve::resolve;
use crate::tree::Tree;

/// Changelogs are read up to this many uncompressed bytes; the entries
/// that matter (the newest) come first.
const MAX_CHANGELOG: u64 = 8 << 20;

/// Release dates (UTC midnight) of the distributions whose codename
/// `/etc/os-release` gives.
const RELEASES: &[(&str, &str)] = &[
    ("buster", "2019-07-06"),
    ("bullseye", "2021-08-14"),
    ("bookworm", "2023-06-10"),
    ("trixie", "2025-08-09"),
    ("focal", "2020-04-23"),
    ("jammy", "2022-04-21"),
    ("noble", "2024-04-25"),
];

/// The distribution's codename and release time (seconds since the epoch),
/// from the tree's `/etc/os-release`, when it is one hoist knows.
pub fn release(tree: &Tree) -> Option<(String, i64)> {
    let rel = resolve(tree, Path::new("/etc/os-release"), true)?;
    let text = std::fs::read_to_string(tree.root().join(rel)).ok()?;
    let codename = text.lines().find_map(|l| {
        l.strip_prefix("VERSION_CODENAME=")
            .map(|v| v.trim().trim_matches('"').to_string())
    })?;
    let date = RELEASES.iter().find(|(c, _)| *c == codename)?.1;
    let t = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)?
        .and_utc()
        .timestamp();
    Some((codename, t))
}

/// The changelog a package ships, as a path in the tree.
pub fn changelog_path(tree: &Tree, package: &str) -> Option<PathBuf> {
    for name in ["changelog.Debian.gz", "changelog.gz"] {
        let listed = Path::new("/usr/share/doc").join(package).join(name);
        if let Some(rel) = resolve(tree, &listed, true) {
            if tree.find(&rel).is_some_and(|i| tree.node(i).size() > 0) {
                return Some(rel);
            }
        }
    }
    None
}

/// Counts the updates in the changelog at `rel` (gzip-compressed).
pub fn updates_in_file(tree: &Tree, rel: &Path, release: Option<i64>) -> Result<u32> {
    let path = tree.root().join(rel);
    let file = std::fs::File::open(&path).map_err(io("opening", &path))?;
    let mut text = Vec::new();
    // A corrupt changelog only loses the signal, not the pack.
    if let Err(e) = flate2::read::MultiGzDecoder::new(file)
        .take(MAX_CHANGELOG)
        .read_to_end(&mut text)
    {
        tracing::warn!(path = %path.display(), error = %e, "unreadable changelog: update frequency unknown");
    }
    Ok(count_updates(&String::from_utf8_lossy(&text), release))
}

/// Counts the entries of a Debian changelog dated after `release` or
/// uploaded to a security suite.
pub fn count_updates(text: &str, release: Option<i64>) -> u32 {
    let mut count = 0;
    let mut security = false;
    for line in text.lines() {
        if let Some(dists) = entry_distributions(line) {
            security = dists.split_whitespace().any(|d| d.contains("security"));
        } else if let Some(date) = line.strip_prefix(" -- ").and_then(trailer_date) {
            let after = release.is_some_and(|r| date > r);
            if after || security {
                count += 1;
            }
            security = false;
        }
    }
    count
}

/// The distributions of an entry's first line: `pkg (1.0-1) dist1 dist2; urgency=low`.
fn entry_distributions(line: &str) -> Option<&str> {
    if line.starts_with(char::is_whitespace) || line.is_empty() {
        return None;
    }
    let (_, rest) = line.split_once(") ")?;
    let (dists, _) = rest.split_once(';')?;
    Some(dists)
}

/// The date of a trailer line: ` -- Name <mail>  Sat, 10 Jun 2023 12:00:00 +0200`.
fn trailer_date(trailer: &str) -> Option<i64> {
    let (_, date) = trailer.rsplit_once(">  ")?;
    // Weekdays are often wrong in old entries, and chrono rejects those.
    let date = date.split_once(',').map_or(date, |(_, d)| d);
    let date = date.split_whitespace().collect::<Vec<_>>().join(" ");
    DateTime::parse_from_str(&date, "%d %b %Y %H:%M:%S %z")
        .ok()
        .map(|d| d.timestamp())
}

/// Updates the version string itself counts: Debian's stable updates are
/// versioned `+deb12u3` or `~deb12u3`, the third update for Debian 12.
pub fn updates_in_version(version: &str) -> u32 {
    let Some(pos) = version.rfind("deb") else {
        return 0;
    };
    let rest = &version[pos + 3..];
    let Some((release, update)) = rest.split_once('u') else {
        return 0;
    };
    if release.is_empty() || !release.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let digits: String = update.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{changelog, FakeRoot};

    const BOOKWORM: i64 = 1_686_355_200; // 2023-06-10

    #[test]
    fn counts_entries_after_release_and_security_uploads() {
        let text = changelog(
            "openssl",
            &[
                (
                    "3.0.15-1~deb12u1",
                    "bookworm",
                    "Mon, 4 Nov 2024 10:00:00 +0000",
                ),
                (
                    "3.0.11-1~deb12u2",
                    "bookworm-security",
                    "Fri, 27 Oct 2023 10:00:00 +0000",
                ),
                ("3.0.9-1", "unstable", "Wed, 31 May 2023 10:00:00 +0000"),
                (
                    "1.1.1n-0+deb11u5",
                    "bullseye-security",
                    "Wed, 7 Feb 2023 10:00:00 +0000",
                ),
                (
                    "1.1.1n-0+deb11u4",
                    "bullseye",
                    "Sun, 8 Jan 2023 10:00:00 +0000",
                ),
            ],
        );
        assert_eq!(count_updates(&text, Some(BOOKWORM)), 3);
        // Without a release date only security uploads count.
        assert_eq!(count_updates(&text, None), 2);
        assert_eq!(count_updates("", Some(BOOKWORM)), 0);
    }

    #[test]
    fn dates_with_wrong_weekdays_and_spacing_parse() {
        assert_eq!(
            trailer_date("Jane <j@x.org>  Mon,  10 Jun 2023 00:00:01 +0000"),
            Some(BOOKWORM + 1)
        );
        assert_eq!(trailer_date("Jane <j@x.org>  garbage"), None);
    }

    #[test]
    fn versions_count_stable_updates() {
        assert_eq!(updates_in_version("5.36.0-7+deb12u3"), 3);
        assert_eq!(updates_in_version("3.0.20-1~deb12u2"), 2);
        assert_eq!(updates_in_version("2.36-9+deb12u14"), 14);
        assert_eq!(updates_in_version("2.6.1"), 0);
        assert_eq!(updates_in_version("1.0-1+b2"), 0);
        assert_eq!(updates_in_version("1.0-debian"), 0);
    }

    #[test]
    fn finds_changelogs_through_doc_symlinks_and_reads_the_release() {
        let r = FakeRoot::new();
        r.write(
            "usr/lib/os-release",
            b"PRETTY_NAME=\"Debian\"\nVERSION_CODENAME=bookworm\n",
        );
        r.symlink("etc/os-release", "../usr/lib/os-release");
        r.write_gz(
            "usr/share/doc/gcc-12-base/changelog.Debian.gz",
            &changelog(
                "gcc-12",
                &[(
                    "12.2.0-14+deb12u1",
                    "bookworm",
                    "Sat, 13 Jul 2024 10:00:00 +0000",
                )],
            ),
        );
        r.symlink("usr/share/doc/libgcc-s1", "gcc-12-base");
        r.write_gz("usr/share/doc/native/changelog.gz", "");
        let t = r.scan();
        let (codename, when) = release(&t).unwrap();
        assert_eq!((codename.as_str(), when), ("bookworm", BOOKWORM));
        let p = changelog_path(&t, "libgcc-s1").unwrap();
        assert_eq!(
            p,
            Path::new("usr/share/doc/gcc-12-base/changelog.Debian.gz")
        );
        assert_eq!(updates_in_file(&t, &p, Some(when)).unwrap(), 1);
        assert!(changelog_path(&t, "native").is_some());
        assert!(changelog_path(&t, "missing").is_none());
    }
}
