//! The infra container's image. Like podman, hoist builds
//! `localhost/podman-pause:<version>-<built>` on first use from the host's
//! catatonit (Debian package `catatonit`): one layer holding `/catatonit`,
//! entrypoint `/catatonit -P` (wait for signals, reap children). It is made
//! with [`Engine::create_image`], the function `import` uses.

use std::path::{Path, PathBuf};

use hoist_engine::{Engine, NewImage};
use serde_json::json;

use crate::error::{io_err, PodError, Result};

/// Where catatonit may be installed (Debian's first, then podman's).
const CATATONIT: &[&str] = &[
    "/usr/bin/catatonit",
    "/usr/libexec/podman/catatonit",
    "/usr/local/bin/catatonit",
];

/// The name of the local pause image, as podman spells it.
pub fn pause_image_name() -> String {
    let v = hoist_engine::version_info();
    format!(
        "localhost/podman-pause:{}-{}",
        v["Version"].as_str().unwrap_or("0"),
        v["Built"].as_i64().unwrap_or(0)
    )
}

fn catatonit() -> Result<PathBuf> {
    CATATONIT
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            PodError::Invalid(
                "building the pod's pause image: catatonit not found (install the Debian package \"catatonit\") or give --infra-image".into(),
            )
        })
}

/// The pause image, built now when it is not stored yet; returns its name.
pub fn ensure_pause_image(engine: &Engine) -> Result<String> {
    let name = pause_image_name();
    if engine.image_exists(&name)? {
        return Ok(name);
    }
    let bin = catatonit()?;
    let dir =
        tempfile::tempdir().map_err(io_err("creating a temporary directory", Path::new("/tmp")))?;
    let layer = dir.path().join("layer.tar");
    write_layer(&bin, &layer)?;
    let mut run_config = serde_json::Map::new();
    run_config.insert("Entrypoint".into(), json!(["/catatonit", "-P"]));
    let new = NewImage {
        name: Some(name.clone()),
        run_config,
        created_by: format!("hoist pod: {} as /catatonit", bin.display()),
        ..Default::default()
    };
    engine.create_image(&layer, &new)?;
    Ok(name)
}

/// A tar holding `bin` as `/catatonit`, mode 0755.
fn write_layer(bin: &Path, out: &Path) -> Result<()> {
    let file = std::fs::File::create(out).map_err(io_err("creating", out))?;
    let mut tar = tar::Builder::new(file);
    let data = std::fs::read(bin).map_err(io_err("reading", bin))?;
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, "catatonit", data.as_slice())
        .and_then(|_| tar.finish())
        .map_err(io_err("writing", out))
}
