//! `save` and `load`, and the same transports as `pull`/`push` names, read
//! and written by real peers.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::podman::Podman;
use common::{images, setup};
use hoist_testenv::{require_root_and, ImageBuilder, Layer};

fn skopeo_inspect(target: &str) -> serde_json::Value {
    let out = Command::new("skopeo")
        .args(["inspect", target])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect {target}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn saved_archives_are_read_by_skopeo_and_podman() {
    let (reg, hoist) = setup();
    require_root_and(&["podman"]);
    let digest = ImageBuilder::multi_layer(2).push(&reg, "save:1");
    let name = reg.reference("save:1");
    hoist.run(&["pull", &name]).ok();
    let dir = hoist.base_dir();

    let oci = dir.join("img.oci.tar");
    hoist
        .run(&[
            "save",
            "--format",
            "oci-archive",
            "-o",
            oci.to_str().unwrap(),
            &name,
        ])
        .ok();
    let info = skopeo_inspect(&format!("oci-archive:{}", oci.display()));
    assert_eq!(
        info["Digest"], digest,
        "oci-archive keeps the manifest digest"
    );
    assert_eq!(info["Layers"].as_array().unwrap().len(), 2);

    let docker = dir.join("img.docker.tar");
    hoist
        .run(&["save", "-o", docker.to_str().unwrap(), &name])
        .ok();
    let info = skopeo_inspect(&format!("docker-archive:{}", docker.display()));
    assert_eq!(info["Layers"].as_array().unwrap().len(), 2);

    let podman = Podman::isolated();
    let out = podman.run(&["load", "-i", docker.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("save:1"),
        "podman loaded the name"
    );
    podman.run(&["load", "-i", oci.to_str().unwrap()]);
}

#[test]
fn loads_what_podman_saves_and_round_trips_its_own_archives() {
    let (reg, hoist) = setup();
    require_root_and(&["podman"]);
    ImageBuilder::single_layer().push(&reg, "load:1");
    let name = reg.reference("load:1");
    let podman = Podman::isolated();
    podman.run(&["pull", "--tls-verify=false", &name]);
    let dir = hoist.base_dir();
    for format in ["docker-archive", "oci-archive"] {
        let file = dir.join(format!("podman-{format}.tar"));
        podman.run(&[
            "save",
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            &name,
        ]);
        let out = hoist.run(&["load", "-i", file.to_str().unwrap()]).ok();
        assert!(out.stdout.contains("Loaded image"), "{out:?}");
        let rows = images(&hoist);
        assert_eq!(rows.len(), 1, "{format}: {rows:?}");
        assert!(
            rows[0]["Names"].to_string().contains("load:1"),
            "{format}: {rows:?}"
        );
        // The loaded image's layers are unpacked and complete.
        hoist.run(&["system", "check"]).ok();
        hoist.run(&["rmi", "-a", "-f"]).ok();
    }

    // hoist's own archives come back as the same image.
    hoist.run(&["pull", &name]).ok();
    let id = images(&hoist)[0]["Id"].clone();
    for format in ["docker-archive", "oci-archive"] {
        let file = dir.join(format!("hoist-{format}.tar"));
        hoist
            .run(&[
                "save",
                "--format",
                format,
                "-o",
                file.to_str().unwrap(),
                &name,
            ])
            .ok();
        hoist.run(&["rmi", "-a", "-f"]).ok();
        hoist.run(&["load", "-i", file.to_str().unwrap()]).ok();
        assert_eq!(images(&hoist)[0]["Id"], id, "{format} keeps the image ID");
    }
}

#[test]
fn pull_and_push_with_local_transports() {
    let (reg, hoist) = setup();
    let dir = hoist.base_dir().join("layout");
    let built = ImageBuilder::multi_layer(2).build_oci_layout(&dir, "v1");
    hoist
        .run(&["pull", &format!("oci:{}:v1", dir.display())])
        .ok();
    let rows = images(&hoist);
    assert_eq!(rows[0]["Digest"], built.digest);

    let out_dir = hoist.base_dir().join("out");
    let name = rows[0]["Names"][0].as_str().unwrap().to_string();
    hoist
        .run(&["push", &name, &format!("oci:{}:copy", out_dir.display())])
        .ok();
    let info = skopeo_inspect(&format!("oci:{}:copy", out_dir.display()));
    assert_eq!(info["Digest"], built.digest);

    // And to a registry from there, then pulled back by skopeo's view.
    hoist
        .run(&["push", &name, &reg.reference("fromoci:1")])
        .ok();
    assert_eq!(reg.inspect("fromoci:1")["Digest"], built.digest);
}

/// The names in a directory, sorted.
fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Whether process `pid` has an archive-in-progress open: a file over
/// 1 MiB beside `out_dir`'s output, unnamed (O_TMPFILE shows as deleted),
/// or in the store's scratch space under `root`.
fn writing_archive(pid: u32, out_dir: &Path, root: &Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        let Ok(target) = std::fs::read_link(fd.path()) else {
            return false;
        };
        let ours = target.starts_with(out_dir)
            || target.starts_with(root.join("tmp"))
            || target.to_string_lossy().ends_with("(deleted)");
        ours && std::fs::metadata(fd.path()).is_ok_and(|m| m.is_file() && m.len() > 1 << 20)
    })
}

/// #11 item 2: a save killed with SIGKILL while it writes must leave nothing
/// beside its output (it left a hidden `.tmpXXXXXX` of the partial archive).
#[test]
fn a_save_killed_mid_way_leaves_nothing_beside_its_output() {
    let (reg, hoist) = setup();
    ImageBuilder::single_layer()
        .layer(
            Layer::new().file("big", hoist_testenv::random_bytes(24 << 20, 1), 0o644),
            "big",
        )
        .push(&reg, "big:1");
    let image = reg.reference("big:1");
    hoist.run(&["pull", "-q", &image]).ok();
    let out_dir = hoist.base_dir().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let target = out_dir.join("big.tar");
    let target = target.to_str().unwrap();
    for format in ["docker-archive", "oci-archive"] {
        let mut child = hoist
            .command(&["save", "-q", "--format", format, "-o", target, &image])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !writing_archive(child.id(), &out_dir, &hoist.root()) {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("{format}: the save ended ({status}) before it was seen writing");
            }
            assert!(
                Instant::now() < deadline,
                "{format}: the save did not start writing within 120 s"
            );
            std::thread::sleep(Duration::from_millis(2)); // polling interval
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert_eq!(
            dir_entries(&out_dir),
            Vec::<String>::new(),
            "{format}: a killed save left files beside its output"
        );
    }
    // A save that completes leaves exactly its output, which loads; the
    // killed saves' scratch space is reclaimed by the store.
    hoist
        .run(&[
            "save",
            "-q",
            "--format",
            "oci-archive",
            "-o",
            target,
            &image,
        ])
        .ok();
    assert_eq!(dir_entries(&out_dir), ["big.tar"]);
    hoist.run(&["rmi", &image]).ok();
    hoist.run(&["load", "-q", "-i", target]).ok();
    common::assert_store_clean(&hoist);
}
