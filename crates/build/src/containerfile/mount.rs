//! `RUN --mount=type=...,key=value,...` into a typed [`Mount`].

use super::ast::{CacheMount, CacheSharing, Mount, MountKind, SecretMount};

/// Parses one `--mount` value; `Err` says what was wrong.
pub fn parse_mount(raw: &str) -> Result<Mount, String> {
    let fields = split_csv(raw)?;
    let mut kind_name = "bind".to_string();
    // The type decides which keys are valid, so read it first.
    for f in &fields {
        if let Some(v) = f.strip_prefix("type=") {
            kind_name = v.to_ascii_lowercase();
        }
    }
    let mut mount = Mount {
        kind: match kind_name.as_str() {
            "bind" => MountKind::Bind,
            "cache" => MountKind::Cache(CacheMount::default()),
            "tmpfs" => MountKind::Tmpfs { size: None },
            "secret" => MountKind::Secret(SecretMount::default()),
            "ssh" => MountKind::Ssh(SecretMount::default()),
            other => {
                return Err(format!(
                    "unsupported mount type {other:?}: use bind, cache, tmpfs, secret or ssh"
                ))
            }
        },
        target: None,
        source: None,
        from: None,
        readonly: None,
        raw: raw.to_string(),
    };
    for f in &fields {
        let (key, value) = match f.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.to_string())),
            None => (f.trim().to_ascii_lowercase(), None),
        };
        apply(&mut mount, &key, value)?;
    }
    if let MountKind::Secret(s) = &mount.kind {
        if mount.target.is_none() && s.id.is_none() && s.env.is_none() {
            return Err("a secret mount needs id= or target=".into());
        }
    }
    if mount.target.is_none()
        && matches!(
            mount.kind,
            MountKind::Bind | MountKind::Cache(_) | MountKind::Tmpfs { .. }
        )
    {
        return Err("mount needs target= (where to mount it in the container)".into());
    }
    Ok(mount)
}

fn apply(m: &mut Mount, key: &str, value: Option<String>) -> Result<(), String> {
    let need = |v: Option<String>| {
        v.ok_or_else(|| format!("mount option {key} needs a value ({key}=...)"))
    };
    match key {
        "type" => {}
        "target" | "dst" | "destination" => m.target = Some(need(value)?),
        "source" | "src" => m.source = Some(need(value)?),
        "from" => m.from = Some(need(value)?),
        "readonly" | "ro" => m.readonly = Some(parse_bool(key, value)?),
        "readwrite" | "rw" => m.readonly = Some(!parse_bool(key, value)?),
        _ => return apply_typed(&mut m.kind, key, value),
    }
    Ok(())
}

fn apply_typed(kind: &mut MountKind, key: &str, value: Option<String>) -> Result<(), String> {
    let need = |v: Option<String>| {
        v.ok_or_else(|| format!("mount option {key} needs a value ({key}=...)"))
    };
    match (kind, key) {
        (MountKind::Cache(c), "id") => c.id = Some(need(value)?),
        (MountKind::Cache(c), "sharing") => {
            c.sharing = match need(value)?.to_ascii_lowercase().as_str() {
                "shared" => CacheSharing::Shared,
                "private" => CacheSharing::Private,
                "locked" => CacheSharing::Locked,
                other => {
                    return Err(format!(
                        "unsupported sharing {other:?}: use shared, private or locked"
                    ))
                }
            }
        }
        (MountKind::Cache(c), "mode") => c.mode = Some(parse_octal(&need(value)?)?),
        (MountKind::Cache(c), "uid") => c.uid = Some(parse_u32(key, &need(value)?)?),
        (MountKind::Cache(c), "gid") => c.gid = Some(parse_u32(key, &need(value)?)?),
        (MountKind::Tmpfs { size }, "size") => *size = Some(parse_size(&need(value)?)?),
        (MountKind::Secret(s) | MountKind::Ssh(s), "id") => s.id = Some(need(value)?),
        (MountKind::Secret(s), "env") => s.env = Some(need(value)?),
        (MountKind::Secret(s) | MountKind::Ssh(s), "required") => {
            s.required = parse_bool(key, value)?
        }
        (MountKind::Secret(s) | MountKind::Ssh(s), "mode") => {
            s.mode = Some(parse_octal(&need(value)?)?)
        }
        (MountKind::Secret(s) | MountKind::Ssh(s), "uid") => {
            s.uid = Some(parse_u32(key, &need(value)?)?)
        }
        (MountKind::Secret(s) | MountKind::Ssh(s), "gid") => {
            s.gid = Some(parse_u32(key, &need(value)?)?)
        }
        _ => return Err(format!("unexpected key {key:?} for this mount type")),
    }
    Ok(())
}

/// Comma-separated fields; double quotes protect commas (CSV, as Docker).
fn split_csv(raw: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in raw.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quote in mount options".into());
    }
    out.push(cur);
    Ok(out.into_iter().filter(|f| !f.trim().is_empty()).collect())
}

fn parse_bool(key: &str, value: Option<String>) -> Result<bool, String> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(v) => Err(format!("invalid value {v:?} for {key}: use true or false")),
    }
}

fn parse_u32(key: &str, v: &str) -> Result<u32, String> {
    v.parse()
        .map_err(|_| format!("invalid {key} {v:?}: a number is needed"))
}

fn parse_octal(v: &str) -> Result<u32, String> {
    u32::from_str_radix(v, 8).map_err(|_| format!("invalid mode {v:?}: an octal number is needed"))
}

fn parse_size(v: &str) -> Result<u64, String> {
    let lower = v.to_ascii_lowercase();
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let (num, mult) = match lower.chars().last() {
        Some('k') => (&lower[..lower.len() - 1], 1u64 << 10),
        Some('m') => (&lower[..lower.len() - 1], 1 << 20),
        Some('g') => (&lower[..lower.len() - 1], 1 << 30),
        _ => (lower, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| {
            format!("invalid size {v:?}: use a number of bytes, optionally with k, m or g")
        })
}
