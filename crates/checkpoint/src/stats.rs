//! CRIU's statistics images (`stats-dump`, `stats-restore`) and podman's
//! `--print-stats` JSON.
//!
//! The images are tiny protobuf messages (CRIU's stats.proto); only their
//! varint fields are read, by number, which needs no generated code.

use std::path::Path;

use serde::Serialize;

/// What `--print-stats` shows per container (podman's field names).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CriuStats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freezing_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frozen_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memdump_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memwrite_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_scanned: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_written: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_compared: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_skipped_cow: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forking_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_restored: Option<u64>,
}

impl CriuStats {
    /// Reads `stats-dump` (or `stats-restore`); `None` when it is missing
    /// or not a stats image.
    pub fn read(path: &Path) -> Option<CriuStats> {
        CriuStats::parse(&std::fs::read(path).ok()?)
    }

    /// Parses a stats image's bytes (untrusted: from an archive).
    pub fn parse(data: &[u8]) -> Option<CriuStats> {
        let entry = first_entry(data)?;
        let mut s = CriuStats::default();
        // stats_entry { dump = 1; restore = 2; }
        for (field, value) in fields(entry)? {
            match (field, value) {
                (1, Value::Bytes(d)) => {
                    for (f, v) in fields(d)? {
                        let Value::Int(v) = v else { continue };
                        match f {
                            1 => s.freezing_time = Some(v),
                            2 => s.frozen_time = Some(v),
                            3 => s.memdump_time = Some(v),
                            4 => s.memwrite_time = Some(v),
                            5 => s.pages_scanned = Some(v),
                            7 => s.pages_written = Some(v),
                            _ => {}
                        }
                    }
                }
                (2, Value::Bytes(r)) => {
                    for (f, v) in fields(r)? {
                        let Value::Int(v) = v else { continue };
                        match f {
                            1 => s.pages_compared = Some(v),
                            2 => s.pages_skipped_cow = Some(v),
                            3 => s.forking_time = Some(v),
                            4 => s.restore_time = Some(v),
                            5 => s.pages_restored = Some(v),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        Some(s)
    }
}

/// CRIU's machine type of the dumped tree (core_entry.mtype: 1 x86_64,
/// 3 aarch64, 4 ppc64, 5 s390, 8 riscv64...), from a `core-PID.img`.
pub fn core_machine(path: &Path) -> Option<u64> {
    parse_core_machine(&std::fs::read(path).ok()?)
}

/// [`core_machine`] of a `core-PID.img`'s bytes (untrusted).
pub fn parse_core_machine(data: &[u8]) -> Option<u64> {
    let entry = first_entry(data)?;
    fields(entry)?.into_iter().find_map(|(f, v)| match (f, v) {
        (1, Value::Int(m)) => Some(m),
        _ => None,
    })
}

/// CRIU's mtype for the architecture hoist was built for.
pub fn host_machine() -> u64 {
    match std::env::consts::ARCH {
        "x86_64" => 1,
        "arm" => 2,
        "aarch64" => 3,
        "powerpc64" => 4,
        "s390x" => 5,
        "mips64" => 6,
        "loongarch64" => 7,
        "riscv64" => 8,
        _ => 0,
    }
}

/// The first message of a CRIU image: two magic numbers, then each entry
/// as a little-endian u32 size and the message.
fn first_entry(data: &[u8]) -> Option<&[u8]> {
    let size = u32::from_le_bytes(data.get(8..12)?.try_into().ok()?) as usize;
    data.get(12..12usize.checked_add(size)?)
}

/// Every message of a CRIU image; `None` if one is cut short.
pub(crate) fn entries(data: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut pos = 8;
    while pos < data.len() {
        let size = u32::from_le_bytes(data.get(pos..pos + 4)?.try_into().ok()?) as usize;
        let start = pos + 4;
        let end = start.checked_add(size)?;
        out.push(data.get(start..end)?);
        pos = end;
    }
    Some(out)
}

pub(crate) enum Value<'a> {
    Int(u64),
    Bytes(&'a [u8]),
}

fn varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// A message's fields, in order; `None` if it is malformed.
pub(crate) fn fields(data: &[u8]) -> Option<Vec<(u64, Value<'_>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let key = varint(data, &mut pos)?;
        let (field, wire) = (key >> 3, key & 7);
        let value = match wire {
            0 => Value::Int(varint(data, &mut pos)?),
            1 => {
                pos = pos.checked_add(8)?;
                continue;
            }
            2 => {
                let len = usize::try_from(varint(data, &mut pos)?).ok()?;
                let end = pos.checked_add(len)?;
                let v = data.get(pos..end)?;
                pos = end;
                Value::Bytes(v)
            }
            5 => {
                pos = pos.checked_add(4)?;
                continue;
            }
            _ => return None,
        };
        out.push((field, value));
    }
    (pos == data.len()).then_some(out)
}

/// Writing CRIU images, for the tests of what reads them.
#[cfg(test)]
pub(crate) mod build {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// A varint field.
    pub(crate) fn int(field: u64, v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        varint(field << 3, &mut out);
        varint(v, &mut out);
        out
    }

    /// A length-delimited field (bytes, string or message).
    pub(crate) fn bytes(field: u64, b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        varint((field << 3) | 2, &mut out);
        varint(b.len() as u64, &mut out);
        out.extend_from_slice(b);
        out
    }

    /// An image: two magics, then each message after its size.
    pub(crate) fn image(messages: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0u8; 8];
        for m in messages {
            out.extend_from_slice(&(m.len() as u32).to_le_bytes());
            out.extend_from_slice(m);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dump_stats() {
        // magic, magic, size, stats_entry { dump { 1: 5, 2: 300, 7: 2 } }
        let dump = [0x08, 5, 0x10, 0xac, 0x02, 0x38, 2];
        let mut entry = vec![0x0a, dump.len() as u8];
        entry.extend_from_slice(&dump);
        let mut img = vec![0u8; 8];
        img.extend_from_slice(&(entry.len() as u32).to_le_bytes());
        img.extend_from_slice(&entry);
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("stats-dump");
        std::fs::write(&p, img).unwrap();
        let s = CriuStats::read(&p).unwrap();
        assert_eq!(s.freezing_time, Some(5));
        assert_eq!(s.frozen_time, Some(300));
        assert_eq!(s.pages_written, Some(2));
        assert!(CriuStats::read(&d.path().join("none")).is_none());
    }

    #[test]
    fn malformed_images_are_none() {
        assert!(first_entry(&[0; 11]).is_none());
        assert!(fields(&[0x0a, 0x7f]).is_none());
    }
}
