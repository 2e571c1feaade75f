//! The journald backend: events sent with the journal's native protocol
//! and podman's fields (`PODMAN_EVENT`, `PODMAN_TYPE`, ...), read back with
//! `journalctl`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::DateTime;

use crate::event::{go_rfc3339_nano, Event, EventType, Status};
use crate::{EventsError, ReadOptions, Result};

/// journald's native socket.
pub const SOCKET: &str = "/run/systemd/journal/socket";

/// Sends one entry of `fields` (plus MESSAGE) to the journal.
pub fn send(message: &str, fields: &BTreeMap<String, String>) -> Result<()> {
    send_to(Path::new(SOCKET), message, fields)
}

/// One entry in the journal's native protocol: `KEY=value` lines, or for
/// a value with a newline the key, a newline, its length (64-bit little
/// endian), the value and a newline.
fn payload(message: &str, fields: &BTreeMap<String, String>) -> Vec<u8> {
    let mut payload = Vec::new();
    let mut field = |k: &str, v: &str| {
        if v.contains('\n') {
            // Binary-safe form: name, newline, 64-bit LE length, data.
            payload.extend_from_slice(k.as_bytes());
            payload.push(b'\n');
            payload.extend_from_slice(&(v.len() as u64).to_le_bytes());
            payload.extend_from_slice(v.as_bytes());
            payload.push(b'\n');
        } else {
            payload.extend_from_slice(format!("{k}={v}\n").as_bytes());
        }
    };
    field("MESSAGE", message);
    if !fields.contains_key("PRIORITY") {
        field("PRIORITY", "6");
    }
    for (k, v) in fields {
        field(k, v);
    }
    payload
}

fn send_to(socket: &Path, message: &str, fields: &BTreeMap<String, String>) -> Result<()> {
    let sock = UnixDatagram::unbound().map_err(|e| EventsError::Journald(e.to_string()))?;
    sock.send_to(&payload(message, fields), socket)
        .map_err(|e| EventsError::Journald(format!("sending to {}: {e}", socket.display())))?;
    Ok(())
}

pub(crate) fn write(e: &Event) -> Result<()> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        m.insert(k.to_string(), v.to_string());
    };
    put("SYSLOG_IDENTIFIER", "podman");
    put("PODMAN_EVENT", e.status.as_str());
    put("PODMAN_TYPE", e.kind.as_str());
    put("PODMAN_TIME", &go_rfc3339_nano(&e.time));
    match e.kind {
        EventType::Image => {
            put("PODMAN_NAME", &e.name);
            put("PODMAN_ID", &e.id);
        }
        EventType::Container | EventType::Pod => {
            put("PODMAN_IMAGE", &e.image);
            put("PODMAN_NAME", &e.name);
            put("PODMAN_ID", &e.id);
            if e.container_exit_code != 0 {
                put("PODMAN_EXIT_CODE", &e.container_exit_code.to_string());
            }
            if let Some(a) = e.attributes.as_ref().filter(|a| !a.is_empty()) {
                put(
                    "PODMAN_LABELS",
                    &serde_json::to_string(a).unwrap_or_default(),
                );
            }
        }
        EventType::Network => {
            put("PODMAN_ID", &e.id);
            put("PODMAN_NETWORK_NAME", &e.network);
        }
        EventType::Volume | EventType::System => put("PODMAN_NAME", &e.name),
    }
    send(&e.human(false), &m)
}

/// One journal entry (`journalctl -o json`) as an event.
fn from_entry(v: &serde_json::Value) -> Option<Event> {
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let kind = serde_json::from_value::<EventType>(v.get("PODMAN_TYPE")?.clone()).ok()?;
    let mut e = Event::new(kind, Status::parse(&s("PODMAN_EVENT")));
    e.time = DateTime::parse_from_rfc3339(&s("PODMAN_TIME")).ok()?;
    e.id = s("PODMAN_ID");
    e.name = s("PODMAN_NAME");
    e.image = s("PODMAN_IMAGE");
    e.network = s("PODMAN_NETWORK_NAME");
    e.container_exit_code = s("PODMAN_EXIT_CODE").parse().unwrap_or(0);
    if matches!(kind, EventType::Container | EventType::Pod) {
        e.attributes = Some(serde_json::from_str(&s("PODMAN_LABELS")).unwrap_or_default());
    }
    Some(e)
}

pub(crate) fn read(o: &ReadOptions, each: &mut dyn FnMut(&Event) -> bool) -> Result<()> {
    let mut cmd = Command::new("journalctl");
    cmd.args(["--output=json", "--no-pager", "SYSLOG_IDENTIFIER=podman"]);
    if o.stream {
        cmd.arg("--follow");
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| EventsError::Journald(format!("running journalctl (package systemd): {e}")))?;
    let out = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        let Some(e) = serde_json::from_str(&line)
            .ok()
            .as_ref()
            .and_then(from_entry)
        else {
            continue;
        };
        if o.until.is_some_and(|u| chrono::Local::now() > u) {
            break;
        }
        if o.wants(&e) && !each(&e) {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}

/// Whether a journal is there to write to.
pub fn available() -> bool {
    Path::new(SOCKET).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_use_the_native_protocol() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("socket");
        let server = UnixDatagram::bind(&path).unwrap();
        let mut fields = BTreeMap::new();
        fields.insert("PODMAN_EVENT".to_string(), "start".to_string());
        fields.insert("TWO".to_string(), "a\nb".to_string());
        send_to(&path, "hello", &fields).unwrap();
        let mut buf = [0u8; 512];
        let n = server.recv(&mut buf).unwrap();
        let mut want = b"MESSAGE=hello\nPRIORITY=6\nPODMAN_EVENT=start\nTWO\n".to_vec();
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(b"a\nb\n");
        assert_eq!(&buf[..n], &want[..]);
        let e = send_to(&d.path().join("none"), "x", &fields).unwrap_err();
        assert!(e.to_string().contains("sending to"), "{e}");
    }

    #[test]
    fn journal_entries_become_events() {
        let entry = serde_json::json!({
            "PODMAN_TYPE": "container",
            "PODMAN_EVENT": "died",
            "PODMAN_TIME": "2024-01-02T03:04:05.5Z",
            "PODMAN_ID": "abc",
            "PODMAN_NAME": "n",
            "PODMAN_IMAGE": "img",
            "PODMAN_EXIT_CODE": "3",
            "PODMAN_LABELS": "{\"a\":\"b\"}",
        });
        let e = from_entry(&entry).unwrap();
        assert_eq!((e.status, e.container_exit_code), (Status::Died, 3));
        assert_eq!(e.attributes.unwrap()["a"], "b");
        assert!(from_entry(&serde_json::json!({"MESSAGE": "other"})).is_none());
    }
}
