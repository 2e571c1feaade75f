//! What to record into where: the `io.containers.trace-syscall` annotation
//! that podman's oci-seccomp-bpf-hook reads, `of:OUT.json[;if:IN.json]`.

use std::path::{Path, PathBuf};

use crate::TraceError;

/// The annotation that asks for a recording.
pub const TRACE_ANNOTATION: &str = "io.containers.trace-syscall";

/// A parsed recording request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRequest {
    /// Where the profile goes (`of:`).
    pub output: PathBuf,
    /// A profile whose rules the recorded calls are added to (`if:`).
    pub input: Option<PathBuf>,
}

impl RecordRequest {
    /// Parses `of:OUT[;if:IN]` (the parts in any order).
    pub fn parse(value: &str) -> Result<RecordRequest, TraceError> {
        let bad = |why: &str| TraceError::Request {
            value: value.to_string(),
            why: why.to_string(),
        };
        let (mut output, mut input) = (None, None);
        for part in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (slot, path) = if let Some(p) = part.strip_prefix("of:") {
                (&mut output, p)
            } else if let Some(p) = part.strip_prefix("if:") {
                (&mut input, p)
            } else {
                return Err(bad(&format!("unknown part {part:?}")));
            };
            if path.is_empty() {
                return Err(bad(&format!("{part:?} names no file")));
            }
            if slot.replace(PathBuf::from(path)).is_some() {
                return Err(bad(&format!("{} given twice", &part[..3])));
            }
        }
        let output = output.ok_or_else(|| bad("no output file (of:)"))?;
        Ok(RecordRequest { output, input })
    }

    /// The request with relative paths made absolute against `dir` (the
    /// directory of the command that asked, not the monitor's).
    pub fn absolute(self, dir: &Path) -> RecordRequest {
        let abs = |p: PathBuf| if p.is_absolute() { p } else { dir.join(p) };
        RecordRequest {
            output: abs(self.output),
            input: self.input.map(abs),
        }
    }

    /// The annotation value for this request.
    pub fn to_annotation(&self) -> String {
        let mut v = format!("of:{}", self.output.display());
        if let Some(i) = &self.input {
            v.push_str(&format!(";if:{}", i.display()));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_output_and_optional_input_in_any_order() {
        let r = RecordRequest::parse("of:/tmp/o.json").unwrap();
        assert_eq!(r.output, PathBuf::from("/tmp/o.json"));
        assert_eq!(r.input, None);
        let r = RecordRequest::parse("if:/i.json;of:/o.json").unwrap();
        assert_eq!(r.input, Some(PathBuf::from("/i.json")));
        assert_eq!(r.to_annotation(), "of:/o.json;if:/i.json");
    }

    #[test]
    fn rejects_missing_output_unknown_parts_and_repeats() {
        for v in ["", "if:/i.json", "of:", "of:/a;of:/b", "out:/a", "of:/a;x"] {
            assert!(RecordRequest::parse(v).is_err(), "{v}");
        }
    }

    #[test]
    fn relative_paths_are_made_absolute() {
        let r = RecordRequest::parse("of:o.json;if:/i.json")
            .unwrap()
            .absolute(Path::new("/work"));
        assert_eq!(r.output, PathBuf::from("/work/o.json"));
        assert_eq!(r.input, Some(PathBuf::from("/i.json")));
    }
}
