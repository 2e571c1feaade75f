//! `volume` commands as podman's users and scripts know them: flags,
//! output, exit codes and messages, mount options, copy-up, and volumes in
//! containers (podman's system tests, 160-volumes, check the same).

mod common;

use hoist_testenv::Hoist;

use common::{error_line, local_hoist as hoist};

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

fn inspect_field(h: &Hoist, vol: &str, field: &str) -> String {
    let fmt = format!("{{{{.{field}}}}}");
    h.run(&["volume", "inspect", "--format", &fmt, vol])
        .ok()
        .stdout
        .trim()
        .to_string()
}

fn is_mount_point(path: &str) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines().any(|l| l.split(' ').nth(4) == Some(path))
}

#[test]
fn volume_commands_answer_like_podman() {
    let h = hoist();
    // Nothing there: empty listings, and `rm -a` has nothing to do.
    assert_eq!(h.run(&["volume", "ls"]).ok().stdout, "");
    assert_eq!(h.run(&["volume", "list", "--noheading"]).ok().stdout, "");
    assert_eq!(
        h.run(&["volume", "ls", "--format", "json"])
            .ok()
            .stdout
            .trim(),
        "[]"
    );
    h.run(&["volume", "rm", "-a"]).ok();

    for name in ["volume_1_x", "volume_2_x"] {
        assert_eq!(h.run(&["volume", "create", name]).ok().stdout.trim(), name);
    }
    h.run(&[
        "volume", "create", "--label", "l=v1", "-l", "flag", "labelled",
    ])
    .ok();
    let out = h.run(&["volume", "create", "volume_1_x"]).fails_with(125);
    assert!(
        out.stderr
            .contains("volume with name volume_1_x already exists: volume already exists"),
        "{out:?}"
    );
    h.run(&["volume", "create", "--ignore", "volume_1_x"]).ok();

    // Table, headings, filters (name is a regular expression), templates.
    let out = h.run(&["volume", "ls"]).ok();
    assert!(out.stdout.starts_with("DRIVER "), "{out:?}");
    assert!(out.stdout.lines().nth(1).unwrap().starts_with("local "));
    let out = h.run(&["volume", "ls", "--noheading"]).ok();
    assert_eq!(out.stdout.lines().count(), 3, "{out:?}");
    let table = "table {{.Name}} {{.Driver}}";
    let out = h.run(&["volume", "ls", "--format", table]).ok();
    assert!(out.stdout.starts_with("VOLUME NAME "), "{out:?}");
    let out = h
        .run(&["volume", "ls", "--format", table, "--noheading"])
        .ok();
    assert!(out.stdout.starts_with("labelled "), "{out:?}");
    let names = |filters: &[&str]| {
        let mut args = vec!["volume", "ls", "--format", "{{.Name}}"];
        for f in filters {
            args.extend(["--filter", f]);
        }
        h.run(&args).ok().stdout
    };
    assert_eq!(names(&["name=volume_1.+"]), "volume_1_x\n");
    assert_eq!(names(&["name=volume_1*"]), "volume_1_x\nvolume_2_x\n");
    assert_eq!(names(&["label=l=v1"]), "labelled\n");
    assert_eq!(names(&["label=flag", "driver=local"]), "labelled\n");
    assert_eq!(
        names(&["dangling=true", "name=^vol"]),
        "volume_1_x\nvolume_2_x\n"
    );
    assert_eq!(names(&["dangling=false"]), "");
    let out = h
        .run(&["volume", "ls", "--filter", "foo=bar"])
        .fails_with(125);
    assert!(
        out.stderr.contains("\"foo\" is an invalid volume filter"),
        "{out:?}"
    );
    let out = h
        .run(&["volume", "ls", "-q", "--format", "{{.Name}}"])
        .fails_with(125);
    assert!(out
        .stderr
        .contains("quiet and format flags cannot be used together"));

    let out = h.run(&["volume", "ls", "--format", "json"]).ok();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    let l = rows.iter().find(|r| r["Name"] == "labelled").unwrap();
    assert_eq!(l["Driver"], "local");
    assert_eq!(l["Labels"]["l"], "v1");
    assert_eq!(l["NeedsCopyUp"], true);
    assert_eq!(l["NeedsChown"], true);
    assert_eq!(l["MountCount"], 0);
    assert_eq!(inspect_field(&h, "labelled", "Scope"), "local");
    let out = h.run(&["volume", "inspect", "labelled"]).ok();
    assert!(out.stdout.lines().count() >= 10, "inspect is indented JSON");

    // exists, rm: exit 1 for a missing volume (silent with --force).
    h.run(&["volume", "exists", "labelled"]).ok();
    h.run(&["volume", "exists", "bogus"]).fails_with(1);
    let out = h.run(&["volume", "rm", "bogus"]).fails_with(1);
    assert_eq!(
        error_line(&out.stderr),
        "Error: no volume with name \"bogus\" found: no such volume"
    );
    let out = h.run(&["volume", "rm", "--force", "bogus"]).ok();
    assert_eq!(out.stdout, "");
    let out = h
        .run(&["volume", "rm", "-t", "5", "labelled"])
        .fails_with(125);
    assert!(out
        .stderr
        .contains("--force option must be specified to use the --time option"));
    h.run(&["volume", "rm"]).fails_with(125);

    // prune asks unless --force, and lists what it would remove.
    let out = h.run_stdin(&["volume", "prune"], b"N\n").ok();
    let l = lines(&out.stdout);
    assert!(
        l[0].starts_with("WARNING! This will remove all volumes"),
        "{out:?}"
    );
    assert_eq!(&l[1..4], ["labelled", "volume_1_x", "volume_2_x"]);
    assert_eq!(
        h.run(&["volume", "ls", "-q"]).ok().stdout.lines().count(),
        3
    );
    let out = h
        .run(&["volume", "prune", "--force", "--filter", "label=flag"])
        .ok();
    assert_eq!(out.stdout, "labelled\n");
    h.run(&["volume", "prune", "--filter", "name=x"])
        .fails_with(125);
    let out = h.run(&["volume", "rm", "-a"]).ok();
    assert_eq!(out.stdout, "volume_1_x\nvolume_2_x\n");
}

#[test]
fn volume_options_export_import_and_mount() {
    let h = hoist();
    let out = h
        .run(&[
            "volume",
            "create",
            "-o",
            "type=bind",
            "-o",
            "device=/bogus",
            "b",
        ])
        .fails_with(125);
    assert_eq!(
        error_line(&out.stderr),
        "Error: invalid volume option device for driver 'local': stat /bogus: no such file or directory"
    );
    let out = h
        .run(&["volume", "create", "-o", "foo=bar", "f"])
        .fails_with(125);
    assert!(out
        .stderr
        .contains("invalid mount option foo for driver 'local': invalid argument"));
    h.run(&["volume", "create", "--driver", "nope", "d"])
        .fails_with(125);

    // A tmpfs volume is mounted while somebody holds it.
    h.run(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "t",
    ])
    .ok();
    assert_eq!(inspect_field(&h, "t", "Options.type"), "tmpfs");
    let mnt = h
        .run(&["volume", "mount", "t"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert!(mnt.ends_with("/volumes/t/_data"), "{mnt}");
    assert!(is_mount_point(&mnt), "{mnt} is mounted");
    h.run(&["volume", "mount", "t"]).ok();
    assert_eq!(inspect_field(&h, "t", "MountCount"), "2");
    h.run(&["volume", "unmount", "t"]).ok();
    assert!(is_mount_point(&mnt));
    h.run(&["volume", "unmount", "t"]).ok();
    assert!(!is_mount_point(&mnt), "the last unmount unmounts");
    assert_eq!(inspect_field(&h, "t", "MountCount"), "0");

    // export | import between two plain volumes.
    h.run(&["volume", "create", "src"]).ok();
    h.run(&["volume", "create", "dst"]).ok();
    let src = h
        .run(&["volume", "mount", "src"])
        .ok()
        .stdout
        .trim()
        .to_string();
    std::fs::create_dir(format!("{src}/sub")).unwrap();
    std::fs::write(format!("{src}/sub/test"), "hello\n").unwrap();
    let tar = h.base_dir().join("vol.tar");
    h.run(&[
        "volume",
        "export",
        "src",
        &format!("--output={}", tar.display()),
    ])
    .ok();
    let tar_bytes = std::fs::read(&tar).unwrap();
    h.run_stdin(&["volume", "import", "dst", "-"], &tar_bytes)
        .ok();
    let dst = inspect_field(&h, "dst", "Mountpoint");
    assert_eq!(
        std::fs::read_to_string(format!("{dst}/sub/test")).unwrap(),
        "hello\n"
    );
    let out = h.run(&["volume", "export", "bogus"]).fails_with(125);
    assert!(out.stderr.contains("no such volume bogus"), "{out:?}");

    // A bind volume shows its device's content.
    let dir = h.base_dir().join("bound");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("myfile"), "x").unwrap();
    let device = format!("device={}", dir.display());
    h.run(&["volume", "create", "-o", "type=bind", "-o", &device, "bv"])
        .ok();
    let mnt = h
        .run(&["volume", "mount", "bv"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert!(std::path::Path::new(&mnt).join("myfile").exists());
    h.run(&["volume", "unmount", "bv"]).ok();
    h.run(&["volume", "rm", "-a", "-f"]).ok();
}

#[test]
fn volumes_in_containers() {
    let (_reg, h, img) = common::setup_with_busybox();
    let run = |args: &[&str]| {
        let mut a = vec!["run", "--rm", "--network", "none"];
        a.extend_from_slice(args);
        h.run(&a)
    };

    // Two mounts on one destination are refused; the same mount twice is fine.
    let d1 = h.base_dir().join("d1");
    let d2 = h.base_dir().join("d2");
    std::fs::create_dir(&d1).unwrap();
    std::fs::create_dir(&d2).unwrap();
    let (d1, d2) = (d1.display().to_string(), d2.display().to_string());
    run(&[
        "-v",
        &format!("{d1}:/v"),
        "-v",
        &format!("{d1}:/v"),
        &img,
        "true",
    ])
    .ok();
    let out = run(&[
        "-v",
        &format!("{d1}:/v"),
        "-v",
        &format!("{d2}:/v"),
        &img,
        "true",
    ])
    .fails_with(125);
    assert_eq!(
        error_line(&out.stderr),
        "Error: /v: duplicate mount destination"
    );
    let out = run(&["-v", "vol2:/vol2", "--tmpfs", "/vol2", &img, "true"]).fails_with(125);
    assert_eq!(
        error_line(&out.stderr),
        "Error: /vol2: duplicate mount destination"
    );
    run(&["--tmpfs", "/t", "--tmpfs", "/t", &img, "true"]).ok();

    // Copy-up: a new volume takes the image's content at its destination
    // on first use; an empty or missing destination leaves it waiting.
    h.run(&["volume", "create", "cu"]).ok();
    run(&["-v", "cu:/nothing-here", &img, "true"]).ok();
    assert_eq!(inspect_field(&h, "cu", "NeedsCopyUp"), "true");
    assert_eq!(inspect_field(&h, "cu", "NeedsChown"), "false");
    run(&["-v", "cu:/etc", &img, "ls", "/etc/passwd"]).ok();
    assert_eq!(inspect_field(&h, "cu", "NeedsCopyUp"), "false");
    let mp = inspect_field(&h, "cu", "Mountpoint");
    assert!(std::path::Path::new(&mp).join("passwd").exists());

    // Executables in a volume run, unless it is mounted noexec.
    let script = std::path::Path::new(&mp).join("script");
    std::fs::write(&script, "#!/bin/sh\necho got here\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(&["-v", "cu:/vol", &img, "/vol/script"]).ok();
    assert_eq!(out.stdout.trim(), "got here");
    let out = run(&["-v", "cu:/vol:noexec", &img, "/vol/script"]);
    assert!(!out.success(), "{out:?}");

    // A tmpfs volume is a tmpfs in the container.
    h.run(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "tv",
    ])
    .ok();
    let out = run(&["-v", "tv:/vol", &img, "stat", "-f", "-c", "%T", "/vol"]).ok();
    assert_eq!(out.stdout.trim(), "tmpfs");
    let tv = inspect_field(&h, "tv", "Mountpoint");
    assert!(!is_mount_point(&tv), "unmounted when the container is gone");

    // A bind volume shows its host directory, whose owner stays.
    let dir = h.base_dir().join("bound");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("myfile"), "x").unwrap();
    let device = format!("device={}", dir.display());
    h.run(&["volume", "create", "-o", "type=bind", "-o", &device, "bv"])
        .ok();
    let out = run(&[
        "--user",
        "1000",
        "-v",
        "bv:/vol",
        &img,
        "stat",
        "-c",
        "%u:%s",
        "/vol/myfile",
    ])
    .ok();
    assert_eq!(out.stdout.trim(), "0:1");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&dir).unwrap().uid(), 0);

    // In use: rm exits 2 naming the container; --force removes it too;
    // prune keeps it.
    let cid = h
        .run(&[
            "run",
            "-d",
            "--network",
            "none",
            "-v",
            "myvol:/myvol",
            &img,
            "top",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    let out = h.run(&["volume", "rm", "myvol"]).fails_with(2);
    assert_eq!(
        error_line(&out.stderr),
        format!("Error: volume myvol is being used by the following container(s): {cid}: volume is being used")
    );
    let out = h.run(&["volume", "prune", "--force"]).ok();
    assert!(!out.stdout.contains("myvol"), "{out:?}");
    assert!(out.stdout.contains("tv"), "{out:?}");
    h.run(&["volume", "rm", "myvol", "--force", "-t", "0"]).ok();
    h.run(&["container", "exists", &cid]).fails_with(1);
    h.run(&["volume", "exists", "myvol"]).fails_with(1);
}

/// `stat -f -c %T /vdata` in a container of `img` (named `iv` unless `rm`).
fn stat_vdata(h: &Hoist, img: &str, mode: Option<&str>, rm: bool) -> hoist_testenv::Output {
    let mut a = vec!["run", "--network", "none"];
    if rm {
        a.push("--rm");
    } else {
        a.extend(["--name", "iv"]);
    }
    if let Some(m) = mode {
        a.extend(["--image-volume", m]);
    }
    a.extend([img, "stat", "-f", "-c", "%T", "/vdata"]);
    h.run(&a)
}

#[test]
fn image_volumes_follow_image_volume_mode() {
    let (reg, mut h, _img) = common::setup_with_busybox();
    hoist_testenv::ImageBuilder::single_layer()
        .volume("/vdata")
        .push(&reg, "withvol:1");
    let img = reg.reference("withvol:1");
    let out = stat_vdata(&h, &img, Some("tmpfs"), true).ok();
    assert_eq!(out.stdout.trim(), "tmpfs");
    let out = stat_vdata(&h, &img, Some("ignore"), true).fails_with(1);
    assert!(out.stderr.contains("/vdata"), "{out:?}");
    // bind (the default): an anonymous volume, which rm -v removes.
    let out = stat_vdata(&h, &img, None, false).ok();
    assert_ne!(out.stdout.trim(), "tmpfs");
    let vols = h.run(&["volume", "ls", "-q"]).ok().stdout;
    assert_eq!(vols.trim().len(), 64, "one anonymous volume: {vols}");
    h.run(&["rm", "-v", "iv"]).ok();
    assert_eq!(h.run(&["volume", "ls", "-q"]).ok().stdout, "");
    let out = stat_vdata(&h, &img, Some("foo"), true).fails_with(125);
    assert!(out
        .stderr
        .contains("invalid image volume mode \"foo\" required value: bind, tmpfs, ignore"));

    // containers.conf's image_volume_mode, which the flag overrides.
    let conf = h.base_dir().join("containers.conf");
    std::fs::write(&conf, "[engine]\nimage_volume_mode = \"tmpfs\"\n").unwrap();
    h.env("CONTAINERS_CONF", &conf);
    let out = stat_vdata(&h, &img, None, true).ok();
    assert_eq!(out.stdout.trim(), "tmpfs");
    let out = stat_vdata(&h, &img, Some("bind"), true).ok();
    assert_ne!(out.stdout.trim(), "tmpfs");
}
