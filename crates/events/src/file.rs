//! The file backend: one JSON line per event, appended under a lock so
//! that concurrent processes never interleave or lose a rotation; rotated
//! as podman 4.3 does (when the next line would reach the size limit, the
//! older half of the file is dropped and a `log-rotation` event recorded).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hoist_fsutil::FileLock;

use crate::event::{Event, EventType, Status};
use crate::{io_err, EventsError, ReadOptions, Result};

/// The events file and its size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLog {
    pub path: PathBuf,
    /// Bytes; 0: never rotate.
    pub max_size: u64,
}

impl FileLog {
    fn lock_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".lock");
        PathBuf::from(p)
    }

    /// Appends `e`, rotating first when the file would reach its limit.
    pub fn write(&self, e: &Event) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
        }
        let lock_path = self.lock_path();
        let _lock = FileLock::exclusive(&lock_path)
            .map_err(|e| EventsError::Lock(lock_path.clone(), e.to_string()))?;
        let line = e.to_json();
        if self.needs_rotation(&line)? {
            self.drop_older_half()?;
            let mut r = Event::new(EventType::System, Status::Rotate);
            r.name = self.path.display().to_string();
            self.append(&r.to_json())?;
        }
        self.append(&line)
    }

    fn needs_rotation(&self, line: &str) -> Result<bool> {
        if self.max_size == 0 {
            return Ok(false);
        }
        let size = match std::fs::metadata(&self.path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err("reading", &self.path)(e)),
        };
        // podman counts the new line's characters, without its newline.
        Ok(size + line.chars().count() as u64 >= self.max_size)
    }

    /// Keeps the lines that start after the middle of the file.
    fn drop_older_half(&self) -> Result<()> {
        let mut f = File::open(&self.path).map_err(io_err("opening", &self.path))?;
        let size = f.metadata().map_err(io_err("reading", &self.path))?.len();
        f.seek(SeekFrom::Start(size / 2))
            .map_err(io_err("reading", &self.path))?;
        let mut reader = BufReader::new(f);
        let mut partial = Vec::new();
        reader
            .read_until(b'\n', &mut partial)
            .map_err(io_err("reading", &self.path))?;
        let mut rest = Vec::new();
        reader
            .read_to_end(&mut rest)
            .map_err(io_err("reading", &self.path))?;
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(format!(".rotate-{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, &rest).map_err(io_err("writing", &tmp))?;
        std::fs::rename(&tmp, &self.path).map_err(io_err("replacing", &self.path))
    }

    fn append(&self, line: &str) -> Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o700)
            .open(&self.path)
            .map_err(io_err("opening", &self.path))?;
        // One write of the whole line: O_APPEND keeps lines whole.
        f.write_all(format!("{line}\n").as_bytes())
            .map_err(io_err("writing", &self.path))
    }

    /// Calls `each` with every event that passes `o`, oldest first; with
    /// `o.stream`, keeps following the file (across rotations) until
    /// `o.until` passes or `each` returns false.
    pub fn read(&self, o: &ReadOptions, each: &mut dyn FnMut(&Event) -> bool) -> Result<()> {
        let mut tail = Tail::default();
        loop {
            let past_until = o.until.is_some_and(|u| chrono::Local::now() > u);
            for line in tail.new_lines(&self.path)? {
                let e = match Event::from_json(&line) {
                    Ok(e) => e,
                    Err(err) => {
                        tracing::warn!(file = %self.path.display(), error = %err, "skipping an unreadable event");
                        continue;
                    }
                };
                if o.wants(&e) && !each(&e) {
                    return Ok(());
                }
            }
            if !o.stream || past_until {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Where a follower of the file stands.
#[derive(Debug, Default)]
struct Tail {
    /// Inode and offset of the complete lines already read.
    at: Option<(u64, u64)>,
    /// After a rotation: skip what was already read, up to the rotation event.
    skip_to_rotation: bool,
}

impl Tail {
    fn new_lines(&mut self, path: &Path) -> Result<Vec<String>> {
        let mut f = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("opening", path)(e)),
        };
        let meta = f.metadata().map_err(io_err("reading", path))?;
        let start = match self.at {
            Some((ino, pos)) if ino == meta.ino() && pos <= meta.len() => pos,
            Some(_) => {
                self.skip_to_rotation = true;
                0
            }
            None => 0,
        };
        f.seek(SeekFrom::Start(start))
            .map_err(io_err("reading", path))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).map_err(io_err("reading", path))?;
        // A line still being written is read next time.
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        self.at = Some((meta.ino(), start + complete as u64));
        let mut lines = Vec::new();
        for line in String::from_utf8_lossy(&bytes[..complete]).lines() {
            if line.trim().is_empty() {
                continue;
            }
            if self.skip_to_rotation {
                if line.contains(r#""Status":"log-rotation""#) {
                    self.skip_to_rotation = false;
                } else {
                    continue;
                }
            }
            lines.push(line.to_string());
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull_line(i: u32) -> String {
        format!(
            r#"{{"Name":"busybox","Status":"pull","Time":"2022-04-06T11:26:42.7236679{i:02}+02:00","Type":"image","Attributes":null}}"#
        )
    }

    #[test]
    fn rotation_keeps_the_newer_half_and_records_itself() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("events.log");
        let old: String = (0..100).map(|i| pull_line(i) + "\n").collect();
        assert_eq!(old.len(), 11300);
        std::fs::write(&path, &old).unwrap();
        let unlimited = FileLog {
            path: path.clone(),
            max_size: 0,
        };
        unlimited
            .write(&Event::volume(Status::Create, "v"))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(&old));
        std::fs::write(&path, &old).unwrap();
        let limited = FileLog {
            path: path.clone(),
            max_size: 5650,
        };
        limited.write(&Event::volume(Status::Remove, "v")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 51);
        assert_eq!(lines[0], pull_line(51));
        let rotation = Event::from_json(lines[49]).unwrap();
        assert_eq!(rotation.status, Status::Rotate);
        assert_eq!(rotation.name, path.display().to_string());
        assert_eq!(Event::from_json(lines[50]).unwrap().status, Status::Remove);
        let mut seen = 0;
        limited
            .read(&ReadOptions::default(), &mut |_| {
                seen += 1;
                true
            })
            .unwrap();
        assert_eq!(seen, 51);
    }

    #[test]
    fn concurrent_writers_keep_every_line_whole_across_rotations() {
        let d = tempfile::tempdir().unwrap();
        let log = FileLog {
            path: d.path().join("events.log"),
            max_size: 4000,
        };
        std::thread::scope(|s| {
            for t in 0..8 {
                let log = log.clone();
                s.spawn(move || {
                    for i in 0..40 {
                        log.write(&Event::volume(Status::Create, &format!("v{t}-{i}")))
                            .unwrap();
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&log.path).unwrap();
        assert!(text.len() <= 4000 + 200, "{} bytes", text.len());
        for line in text.lines() {
            Event::from_json(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        }
        // Rotations kept the newer half each time, never nothing.
        assert!(text.lines().count() > 10);
    }

    #[test]
    fn a_missing_file_reads_as_empty_and_follow_survives_rotation() {
        let d = tempfile::tempdir().unwrap();
        let log = FileLog {
            path: d.path().join("sub/events.log"),
            max_size: 0,
        };
        let mut n = 0;
        log.read(&ReadOptions::default(), &mut |_| {
            n += 1;
            true
        })
        .unwrap();
        assert_eq!(n, 0);
        let mut tail = Tail::default();
        assert!(tail.new_lines(&log.path).unwrap().is_empty());
        for _ in 0..4 {
            log.write(&Event::volume(Status::Create, "a")).unwrap();
        }
        assert_eq!(tail.new_lines(&log.path).unwrap().len(), 4);
        let small = FileLog {
            path: log.path.clone(),
            max_size: 200,
        };
        small.write(&Event::volume(Status::Create, "b")).unwrap();
        let after: Vec<Event> = tail
            .new_lines(&log.path)
            .unwrap()
            .iter()
            .map(|l| Event::from_json(l).unwrap())
            .collect();
        let names: Vec<&str> = after.iter().map(|e| e.status.as_str()).collect();
        assert_eq!(names, ["log-rotation", "create"]);
        assert_eq!(after[1].name, "b");
    }
}
