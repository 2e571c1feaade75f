//! The open files of a checkpoint's processes, from CRIU's images:
//! `ids-PID.img` names a process's file table (`files_id`) and its fs
//! (`fs-PID.img`: working and root directory), `fdinfo-FILES_ID.img` maps
//! each descriptor to a file id, and `files.img` describes every file id
//! (a path for regular files, addresses for sockets). Field numbers are
//! those of CRIU's images/*.proto.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::{io_err, CheckpointError, Result};
use crate::stats::{entries, fields, Value};

/// What a descriptor (or the cwd/root) refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Description {
    /// A regular file or directory, by path.
    Reg { path: String },
    /// A TCP, UDP or raw socket.
    Inet {
        protocol: String,
        state: String,
        source: String,
        destination: String,
    },
    /// A UNIX socket, by name (empty when unnamed).
    Unix {
        kind: String,
        state: String,
        name: String,
    },
    /// Anything else, by CRIU's kind (PIPE, EVENTFD, TTY, ...).
    Other { kind: String },
}

/// One open file of a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenFile {
    /// `0`, `1`, ... or `cwd` / `root`.
    pub fd: String,
    #[serde(flatten)]
    pub what: Description,
}

/// The open files of one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessFiles {
    pub pid: u32,
    pub files: Vec<OpenFile>,
}

/// The open files of each process `pids` names, from the CRIU images in
/// `images` (a `checkpoint/` directory).
pub fn open_files(images: &Path, pids: &[u32]) -> Result<Vec<ProcessFiles>> {
    let table = file_table(images)?;
    pids.iter()
        .map(|&pid| {
            let ids = read_ints(images, &format!("ids-{pid}.img"))?;
            let mut files = Vec::new();
            // fs_entry { cwd_id = 1; root_id = 2; }. A process may have
            // none (a thread of a shared fs); a damaged one is an error.
            if let Some(fs) = read_ints_if_present(images, &format!("fs-{pid}.img"))? {
                for (field, label) in [(1, "cwd"), (2, "root")] {
                    if let Some(d) = fs.get(&field).and_then(|id| table.get(id)) {
                        files.push(OpenFile {
                            fd: label.into(),
                            what: d.clone(),
                        });
                    }
                }
            }
            // task_kobj_ids_entry { files_id = 2; }
            if let Some(&files_id) = ids.get(&2) {
                files.extend(descriptors(images, files_id, &table)?);
            }
            Ok(ProcessFiles { pid, files })
        })
        .collect()
}

/// The descriptors of file table `files_id`, in fd order.
fn descriptors(
    images: &Path,
    files_id: u64,
    table: &BTreeMap<u64, Description>,
) -> Result<Vec<OpenFile>> {
    let name = format!("fdinfo-{files_id}.img");
    let path = images.join(&name);
    let data = std::fs::read(&path).map_err(io_err("reading", &path))?;
    parse_descriptors(&data, table).ok_or_else(|| bad_image(images, &name))
}

/// An fdinfo image's descriptors against `table`, in fd order; `None`
/// when the image is damaged.
fn parse_descriptors(data: &[u8], table: &BTreeMap<u64, Description>) -> Option<Vec<OpenFile>> {
    let mut out: Vec<(u64, OpenFile)> = Vec::new();
    for entry in entries(data)? {
        let f = fields(entry)?;
        // fdinfo_entry { id = 1; flags = 2; type = 3; fd = 4; }
        let (id, kind, fd) = (int(&f, 1)?, int(&f, 3)?, int(&f, 4)?);
        let what = table.get(&id).cloned().unwrap_or(Description::Other {
            kind: kind_name(kind).into(),
        });
        out.push((
            fd,
            OpenFile {
                fd: fd.to_string(),
                what,
            },
        ));
    }
    out.sort_by_key(|(fd, _)| *fd);
    Some(out.into_iter().map(|(_, f)| f).collect())
}

/// The descriptors one fdinfo image (`fdinfo-ID.img`) lists, described by
/// a `files.img`: what `open_files` reads for one file table, from bytes
/// (archives are untrusted: this takes any). `None` when either is damaged.
pub fn decode_descriptors(files_img: &[u8], fdinfo_img: &[u8]) -> Option<Vec<OpenFile>> {
    parse_descriptors(fdinfo_img, &parse_file_table(files_img)?)
}

/// Every file id of `files.img` with what it is.
fn file_table(images: &Path) -> Result<BTreeMap<u64, Description>> {
    let path = images.join("files.img");
    let data = std::fs::read(&path).map_err(io_err("reading", &path))?;
    parse_file_table(&data).ok_or_else(|| bad_image(images, "files.img"))
}

/// `files.img`'s file ids with what each is; `None` when damaged.
fn parse_file_table(data: &[u8]) -> Option<BTreeMap<u64, Description>> {
    let mut table = BTreeMap::new();
    for entry in entries(data)? {
        let f = fields(entry)?;
        // file_entry { type = 1; id = 2; reg = 3; isk = 4; usk = 16; }
        let (kind, id) = (int(&f, 1)?, int(&f, 2)?);
        let what = match kind {
            1 => message(&f, 3).map(regular),
            4 => message(&f, 4).map(inet),
            5 => message(&f, 16).map(unix),
            _ => None,
        }
        .transpose()
        .ok()?
        .unwrap_or(Description::Other {
            kind: kind_name(kind).into(),
        });
        table.insert(id, what);
    }
    Some(table)
}

/// reg_file_entry { name = 6; }
fn regular(data: &[u8]) -> std::result::Result<Description, ()> {
    let f = fields(data).ok_or(())?;
    let path = text(&f, 6).ok_or(())?;
    Ok(Description::Reg { path })
}

/// inet_sk_entry { family = 3; type = 4; proto = 5; state = 6;
/// src_port = 7; dst_port = 8; src_addr = 11; dst_addr = 12; }
fn inet(data: &[u8]) -> std::result::Result<Description, ()> {
    let f = fields(data).ok_or(())?;
    let family = int(&f, 3).ok_or(())?;
    let address = |field: u64, port_field: u64| {
        let words: Vec<u32> = repeated_u32(&f, field);
        let port = int(&f, port_field).unwrap_or(0);
        match (family, words.as_slice()) {
            (10, [a, b, c, d]) => {
                let mut bytes = Vec::with_capacity(16);
                for w in [a, b, c, d] {
                    bytes.extend_from_slice(&w.to_le_bytes());
                }
                let octets: [u8; 16] = bytes.try_into().unwrap_or([0; 16]);
                format!("[{}]:{port}", std::net::Ipv6Addr::from(octets))
            }
            (_, [a, ..]) => format!("{}:{port}", std::net::Ipv4Addr::from(a.to_le_bytes())),
            _ if family == 10 => format!("[::]:{port}"),
            _ => format!("0.0.0.0:{port}"),
        }
    };
    let protocol = match int(&f, 5) {
        Some(6) => "TCP",
        Some(17) => "UDP",
        Some(136) => "UDPLITE",
        _ => "RAW",
    };
    Ok(Description::Inet {
        protocol: protocol.into(),
        state: tcp_state(int(&f, 6).unwrap_or(0)).into(),
        source: address(11, 7),
        destination: address(12, 8),
    })
}

/// unix_sk_entry { type = 3; state = 4; name = 11; }
fn unix(data: &[u8]) -> std::result::Result<Description, ()> {
    let f = fields(data).ok_or(())?;
    let kind = match int(&f, 3) {
        Some(1) => "STREAM",
        Some(2) => "DGRAM",
        Some(5) => "SEQPACKET",
        _ => "UNKNOWN",
    };
    let name = f
        .iter()
        .find_map(|(n, v)| match (*n, v) {
            // An abstract name starts with a NUL byte: shown as `@...`.
            (11, Value::Bytes(b)) => Some(match b.split_first() {
                Some((0, rest)) => format!("@{}", String::from_utf8_lossy(rest)),
                _ => String::from_utf8_lossy(b).into_owned(),
            }),
            _ => None,
        })
        .unwrap_or_default();
    Ok(Description::Unix {
        kind: kind.into(),
        state: tcp_state(int(&f, 4).unwrap_or(0)).into(),
        name,
    })
}

/// The kernel's socket states (TCP's names; UNIX sockets use a few).
fn tcp_state(state: u64) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// CRIU's fd_types.
fn kind_name(kind: u64) -> &'static str {
    match kind {
        1 => "REG",
        2 => "PIPE",
        3 => "FIFO",
        4 => "INETSK",
        5 => "UNIXSK",
        6 => "EVENTFD",
        7 => "EVENTPOLL",
        8 => "INOTIFY",
        9 => "SIGNALFD",
        10 => "PACKETSK",
        11 => "TTY",
        12 => "FANOTIFY",
        13 => "NETLINKSK",
        14 => "NS",
        15 => "TUNF",
        16 => "EXT",
        17 => "TIMERFD",
        18 => "MEMFD",
        19 => "BPFMAP",
        20 => "PIDFD",
        _ => "UNKNOWN",
    }
}

/// The integer fields of the one message of image `name`, by number.
fn read_ints(images: &Path, name: &str) -> Result<BTreeMap<u64, u64>> {
    let path = images.join(name);
    let data = std::fs::read(&path).map_err(io_err("reading", &path))?;
    let entry = entries(&data)
        .and_then(|e| e.into_iter().next())
        .ok_or_else(|| bad_image(images, name))?;
    let f = fields(entry).ok_or_else(|| bad_image(images, name))?;
    Ok(f.into_iter()
        .filter_map(|(n, v)| match v {
            Value::Int(i) => Some((n, i)),
            Value::Bytes(_) => None,
        })
        .rev()
        .collect())
}

/// [`read_ints`] of image `name`, or `None` when the images have none.
fn read_ints_if_present(images: &Path, name: &str) -> Result<Option<BTreeMap<u64, u64>>> {
    if !images.join(name).exists() {
        return Ok(None);
    }
    read_ints(images, name).map(Some)
}

/// The first integer field `number` of a decoded message.
fn int(f: &[(u64, Value<'_>)], number: u64) -> Option<u64> {
    f.iter().find_map(|(n, v)| match v {
        Value::Int(i) if *n == number => Some(*i),
        _ => None,
    })
}

fn message<'a>(f: &[(u64, Value<'a>)], number: u64) -> Option<&'a [u8]> {
    f.iter().find_map(|(n, v)| match v {
        Value::Bytes(b) if *n == number => Some(*b),
        _ => None,
    })
}

fn text(f: &[(u64, Value<'_>)], number: u64) -> Option<String> {
    message(f, number).map(|b| String::from_utf8_lossy(b).into_owned())
}

/// A repeated uint32 field, packed (one bytes field) or not (one field
/// per element).
fn repeated_u32(f: &[(u64, Value<'_>)], number: u64) -> Vec<u32> {
    let mut out = Vec::new();
    for (n, v) in f {
        if *n != number {
            continue;
        }
        match v {
            Value::Int(i) => out.push(*i as u32),
            Value::Bytes(b) => out.extend(packed_varints(b)),
        }
    }
    out
}

fn packed_varints(mut b: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let (mut value, mut shift, mut used) = (0u64, 0, 0);
        for byte in b {
            used += 1;
            value |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 || shift > 63 {
                break;
            }
        }
        out.push(value as u32);
        b = &b[used..];
    }
    out
}

fn bad_image(images: &Path, name: &str) -> CheckpointError {
    CheckpointError::BadArchive {
        path: images.join(name),
        reason: format!("{name} is not a CRIU image of the kind its name says"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::build::{bytes, image, int as field};

    fn write(dir: &Path, name: &str, messages: &[Vec<u8>]) {
        std::fs::write(dir.join(name), image(messages)).unwrap();
    }

    fn msg(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn descriptors_cwd_and_sockets_are_read_from_the_images() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "ids-1.img",
            &[msg(&[field(1, 1), field(2, 7), field(3, 1)])],
        );
        write(d, "fs-1.img", &[msg(&[field(1, 10), field(2, 11)])]);
        let reg = |id: u64, name: &str| {
            msg(&[
                field(1, 1),
                field(2, id),
                bytes(3, &msg(&[field(1, id), bytes(6, name.as_bytes())])),
            ])
        };
        // A listening TCP socket on 0.0.0.0:8080 and an established one.
        let listen = msg(&[
            field(1, 4),
            field(2, 20),
            bytes(
                4,
                &msg(&[
                    field(3, 2),
                    field(4, 1),
                    field(5, 6),
                    field(6, 10),
                    field(7, 8080),
                    field(8, 0),
                    field(11, 0),
                    field(12, 0),
                ]),
            ),
        ]);
        let peer = u32::from_le_bytes([10, 88, 0, 5]) as u64;
        let connected = msg(&[
            field(1, 4),
            field(2, 21),
            bytes(
                4,
                &msg(&[
                    field(3, 2),
                    field(5, 6),
                    field(6, 1),
                    field(7, 40000),
                    field(8, 80),
                    field(11, peer),
                    field(12, peer),
                ]),
            ),
        ]);
        let abstract_unix = msg(&[
            field(1, 5),
            field(2, 22),
            bytes(16, &msg(&[field(3, 1), field(4, 10), bytes(11, b"\0bus")])),
        ]);
        let pipe = msg(&[field(1, 2), field(2, 23)]);
        write(
            d,
            "files.img",
            &[
                reg(10, "/srv"),
                reg(11, "/"),
                reg(12, "/etc/hostname"),
                listen,
                connected,
                abstract_unix,
                pipe,
            ],
        );
        let fd = |id: u64, kind: u64, fd: u64| {
            msg(&[field(1, id), field(2, 0), field(3, kind), field(4, fd)])
        };
        write(
            d,
            "fdinfo-7.img",
            &[
                fd(20, 4, 5),
                fd(12, 1, 3),
                fd(21, 4, 6),
                fd(22, 5, 7),
                fd(23, 2, 1),
            ],
        );
        let got = open_files(d, &[1]).unwrap();
        let files = &got[0].files;
        let summary: Vec<String> = files
            .iter()
            .map(|f| format!("{} {}", f.fd, serde_json::to_string(&f.what).unwrap()))
            .collect();
        assert_eq!(
            summary,
            [
                r#"cwd {"type":"reg","path":"/srv"}"#,
                r#"root {"type":"reg","path":"/"}"#,
                r#"1 {"type":"other","kind":"PIPE"}"#,
                r#"3 {"type":"reg","path":"/etc/hostname"}"#,
                r#"5 {"type":"inet","protocol":"TCP","state":"LISTEN","source":"0.0.0.0:8080","destination":"0.0.0.0:0"}"#,
                r#"6 {"type":"inet","protocol":"TCP","state":"ESTABLISHED","source":"10.88.0.5:40000","destination":"10.88.0.5:80"}"#,
                r#"7 {"type":"unix","kind":"STREAM","state":"LISTEN","name":"@bus"}"#,
            ]
        );
    }

    #[test]
    fn a_damaged_image_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("files.img"),
            b"\0\0\0\0\0\0\0\0\xff\xff\xff\x7f",
        )
        .unwrap();
        let err = open_files(dir.path(), &[1]).unwrap_err().to_string();
        assert!(err.contains("files.img"), "{err}");
    }

    #[test]
    fn a_damaged_fs_image_is_an_error_and_a_missing_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "files.img", &[]);
        write(d, "ids-1.img", &[msg(&[field(1, 1)])]);
        let got = open_files(d, &[1]).unwrap();
        assert!(got[0].files.is_empty(), "{got:?}");
        std::fs::write(d.join("fs-1.img"), b"\0\0\0\0\0\0\0\0\xff\xff\xff\x7f").unwrap();
        let err = open_files(d, &[1]).unwrap_err().to_string();
        assert!(err.contains("fs-1.img"), "{err}");
    }

    #[test]
    fn decoding_from_bytes_matches_the_images_and_refuses_damage() {
        let files = image(&[msg(&[
            field(1, 1),
            field(2, 3),
            bytes(3, &msg(&[field(1, 3), bytes(6, b"/etc/hosts")])),
        ])]);
        let fdinfo = image(&[
            msg(&[field(1, 3), field(3, 1), field(4, 5)]),
            msg(&[field(1, 9), field(3, 2), field(4, 0)]),
        ]);
        let got = decode_descriptors(&files, &fdinfo).unwrap();
        let shown: Vec<_> = got.iter().map(|f| (f.fd.as_str(), &f.what)).collect();
        assert_eq!(
            shown,
            [
                (
                    "0",
                    &Description::Other {
                        kind: "PIPE".into()
                    }
                ),
                (
                    "5",
                    &Description::Reg {
                        path: "/etc/hosts".into()
                    }
                ),
            ]
        );
        let damaged = b"\0\0\0\0\0\0\0\0\xff\xff\xff\x7f";
        assert_eq!(decode_descriptors(damaged, &fdinfo), None);
        assert_eq!(decode_descriptors(&files, damaged), None);
    }
}
