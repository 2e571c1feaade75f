//! Seccomp profiles in the containers/common JSON format (the one
//! `--security-opt seccomp=FILE` reads): made from recorded calls, merged
//! into an input profile, written atomically, compared.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::TraceError;

const ALLOW: &str = "SCMP_ACT_ALLOW";
/// The architectures of a recorded x86_64 profile, as podman's hook writes.
const ARCHES: [&str; 3] = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

/// The names of the recorder's counter slots (see
/// [`crate::names::name_of_slot`]); numbers the tables do not know are
/// left out (no profile parser would accept a made-up name).
pub fn names_of<'a>(slots: impl IntoIterator<Item = &'a u32>) -> BTreeSet<String> {
    slots
        .into_iter()
        .filter_map(|&slot| crate::names::name_of_slot(slot))
        .map(String::from)
        .collect()
}

/// A profile that allows exactly `names` and fails every other call with
/// EPERM (errno 1).
pub fn from_names(names: &BTreeSet<String>) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ARCHES,
        "syscalls": [allow_rule(names)],
    })
}

fn allow_rule(names: &BTreeSet<String>) -> Value {
    json!({
        "names": names,
        "action": ALLOW,
        "args": [],
        "comment": "",
        "includes": {},
        "excludes": {},
    })
}

/// `input` with `names` allowed too: the calls it does not already allow
/// unconditionally are added to its first unconditional allow rule (or a
/// new one); everything else in it is kept as it was.
pub fn merge(mut input: Value, names: &BTreeSet<String>) -> Result<Value, String> {
    let missing: BTreeSet<String> = names.difference(&allowed(&input)).cloned().collect();
    let obj = input
        .as_object_mut()
        .ok_or("the profile is not a JSON object")?;
    let rules = obj
        .entry("syscalls")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or("its \"syscalls\" is not a list")?;
    if missing.is_empty() {
        return Ok(input);
    }
    match rules.iter_mut().find_map(|r| unconditional_allow(r)) {
        Some(existing) => {
            let all: BTreeSet<String> = existing
                .iter()
                .filter_map(|n| n.as_str().map(String::from))
                .chain(missing)
                .collect();
            *existing = all.into_iter().map(Value::String).collect();
        }
        None => rules.push(allow_rule(&missing)),
    }
    Ok(input)
}

/// The names list of `rule` if it allows its calls whatever their
/// arguments, architecture or capabilities.
fn unconditional_allow(rule: &mut Value) -> Option<&mut Vec<Value>> {
    let r = rule.as_object_mut()?;
    let empty = |r: &Map<String, Value>, k: &str| match r.get(k) {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.values().all(|v| match v {
            Value::Array(a) => a.is_empty(),
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            _ => false,
        }),
        _ => false,
    };
    if r.get("action")?.as_str()? != ALLOW
        || !empty(r, "args")
        || !empty(r, "includes")
        || !empty(r, "excludes")
    {
        return None;
    }
    r.get_mut("names")?.as_array_mut()
}

/// The calls `profile` allows unconditionally (`name` rules too).
pub fn allowed(profile: &Value) -> BTreeSet<String> {
    let mut rules = profile
        .get("syscalls")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = BTreeSet::new();
    for rule in &mut rules {
        let single = rule.get("name").and_then(Value::as_str).map(String::from);
        if let Some(obj) = rule.as_object_mut() {
            // The old single-name form counts as a names list of one.
            if let Some(n) = single {
                obj.entry("names")
                    .or_insert_with(|| Value::Array(vec![Value::String(n)]));
            }
        }
        if let Some(names) = unconditional_allow(rule) {
            out.extend(names.iter().filter_map(|n| n.as_str().map(String::from)));
        }
    }
    out
}

/// Reads and parses a JSON profile.
pub fn read(path: &Path) -> Result<Value, TraceError> {
    let err = |why: String| TraceError::Profile {
        what: "reading",
        path: path.to_path_buf(),
        why,
    };
    let text = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    serde_json::from_slice(&text).map_err(|e| err(format!("not valid JSON: {e}")))
}

/// Writes `profile` to `path` atomically: a reader never sees half a
/// profile. Not synced: it is written again at the container's next exit,
/// and the syncs would cost every recorded run milliseconds.
pub fn write(path: &Path, profile: &Value) -> Result<(), TraceError> {
    let mut text = serde_json::to_vec_pretty(profile).expect("a JSON value serializes");
    text.push(b'\n');
    hoist_fsutil::write_file_unsynced(path, &text, 0o644).map_err(|e| TraceError::Profile {
        what: "writing",
        path: path.to_path_buf(),
        why: e.source.to_string(),
    })
}

/// The calls only `a` allows and those only `b` allows.
pub fn diff(a: &Value, b: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let (a, b) = (allowed(a), allowed(b));
    (
        a.difference(&b).cloned().collect(),
        b.difference(&a).cloned().collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn recorded_profile_has_podmans_shape() {
        let p = from_names(&set(&["write", "read"]));
        assert_eq!(p["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(p["defaultErrnoRet"], 1);
        assert_eq!(p["architectures"][2], "SCMP_ARCH_X32");
        assert_eq!(p["syscalls"][0]["names"], json!(["read", "write"]));
        assert_eq!(p["syscalls"][0]["action"], ALLOW);
    }

    #[test]
    fn merge_adds_only_missing_calls_and_keeps_conditional_rules() {
        let input = json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {"names": ["personality"], "action": ALLOW, "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                {"names": ["read", "close"], "action": ALLOW},
            ]
        });
        let out = merge(input, &set(&["read", "write", "personality"])).unwrap();
        assert_eq!(
            out["syscalls"][1]["names"],
            json!(["close", "personality", "read", "write"])
        );
        assert_eq!(out["syscalls"][0]["names"], json!(["personality"]));
        assert_eq!(
            allowed(&out),
            set(&["close", "personality", "read", "write"])
        );
    }

    #[test]
    fn merge_into_a_profile_without_allow_rules_appends_one() {
        let out = merge(json!({"defaultAction": "SCMP_ACT_ALLOW"}), &set(&["read"])).unwrap();
        assert_eq!(out["syscalls"][0]["names"], json!(["read"]));
        assert!(merge(json!([1]), &set(&["read"])).is_err());
    }

    #[test]
    fn diff_lists_each_sides_own_calls() {
        let a = from_names(&set(&["read", "write", "getcpu"]));
        let b = json!({"syscalls": [{"name": "read", "action": ALLOW}, {"names": ["mount"], "action": ALLOW}]});
        assert_eq!(diff(&a, &b), (set(&["getcpu", "write"]), set(&["mount"])));
    }

    #[test]
    fn write_replaces_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, "old").unwrap();
        write(&path, &from_names(&set(&["read"]))).unwrap();
        assert_eq!(allowed(&read(&path).unwrap()), set(&["read"]));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
