//! Secrets as podman 4.3 has them: `secret create|ls|inspect|rm|exists`
//! with podman's output and messages, and `run --secret` as a file
//! (default /run/secrets/NAME, target=, mode=) or a variable (type=env),
//! the data never in the container's record or `inspect`. Needs root and
//! the test registry.

mod common;

#[test]
fn secret_commands() {
    let (_reg, mut h) = common::setup();
    let file = h.base_dir().join("sec.txt");
    std::fs::write(&file, "s3cr3t").unwrap();
    let id = h
        .run(&[
            "secret",
            "create",
            "-l",
            "a=b",
            "mysec",
            file.to_str().unwrap(),
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(id.len(), 25, "{id}");
    let err = h
        .run(&["secret", "create", "mysec", file.to_str().unwrap()])
        .fails_with(125);
    assert!(
        err.stderr.contains("mysec: secret name in use"),
        "{}",
        err.stderr
    );
    h.run_stdin(&["secret", "create", "fromstdin", "-"], b"abc")
        .ok();

    let doc: serde_json::Value =
        serde_json::from_str(&h.run(&["secret", "inspect", "mysec"]).ok().stdout).unwrap();
    let s = &doc[0];
    assert_eq!(s["ID"], id.as_str());
    assert_eq!(s["Spec"]["Name"], "mysec");
    assert_eq!(s["Spec"]["Driver"]["Name"], "file");
    assert_eq!(s["Spec"]["Labels"]["a"], "b");
    assert!(s["Spec"]["Driver"]["Options"]["path"].is_string());
    assert!(!h
        .run(&["secret", "inspect", "mysec"])
        .ok()
        .stdout
        .contains("s3cr3t"));
    let out = h
        .run(&[
            "secret",
            "inspect",
            "--format",
            "{{.Spec.Name}} {{.ID}}",
            "mysec",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), format!("mysec {id}"));
    let pretty = h
        .run(&["secret", "inspect", "--pretty", "mysec"])
        .ok()
        .stdout;
    assert!(
        pretty.starts_with(&format!(
            "ID:              {id}\nName:              mysec\n"
        )),
        "{pretty}"
    );
    // --env: the data is the named variable's value.
    h.env("SECRET_VALUE", "from-env");
    let env_id = h
        .run(&["secret", "create", "--env", "envsec", "SECRET_VALUE"])
        .ok()
        .stdout;
    let stored = h.root().join("secrets/filedriver").join(env_id.trim());
    assert_eq!(std::fs::read_to_string(stored).unwrap(), "from-env");
    h.run(&["secret", "rm", "envsec"]).ok();
    let err = h.run(&["secret", "inspect", "nope"]).fails_with(125);
    assert!(
        err.stderr
            .contains("inspecting secret: no secret with name or id \"nope\": no such secret"),
        "{}",
        err.stderr
    );

    let ls = h.run(&["secret", "ls"]).ok().stdout;
    let mut lines = ls.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "NAME", "DRIVER", "CREATED", "UPDATED"]);
    assert_eq!(lines.count(), 2);
    let names = h
        .run(&[
            "secret",
            "ls",
            "--noheading",
            "--filter",
            "name=mys",
            "--format",
            "{{.Name}}",
        ])
        .ok();
    assert_eq!(names.stdout.trim(), "mysec");
    h.run(&["secret", "exists", "mysec"]).ok();
    h.run(&["secret", "exists", "nope"]).fails_with(1);

    // The data file is private.
    use std::os::unix::fs::PermissionsExt;
    let data = h.root().join("secrets/filedriver").join(&id);
    assert_eq!(
        std::fs::metadata(data).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let rm = h.run(&["secret", "rm", "mysec"]).ok();
    assert_eq!(rm.stdout.trim(), id);
    let err = h.run(&["secret", "rm", "mysec"]).fails_with(125);
    assert!(err.stderr.contains("no such secret"), "{}", err.stderr);
    h.run(&["secret", "rm", "--all"]).ok();
    assert_eq!(h.run(&["secret", "ls", "-q"]).ok().stdout, "");
}

#[test]
fn run_with_secrets() {
    let (_reg, h, img) = common::setup_with_busybox();
    h.run_stdin(&["secret", "create", "tok", "-"], b"hush").ok();
    let out = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--secret",
            "tok",
            &img,
            "cat",
            "/run/secrets/tok",
        ])
        .ok();
    assert_eq!(out.stdout, "hush");
    let out = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--secret",
            "tok,target=other,mode=400",
            &img,
            "stat",
            "-c",
            "%a %n",
            "/run/secrets/other",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "400 /run/secrets/other");
    h.run(&[
        "run",
        "--name",
        "envsec",
        "--network",
        "none",
        "--secret",
        "tok,type=env,target=TOKEN",
        &img,
        "sh",
        "-c",
        "echo $TOKEN",
    ])
    .ok();
    assert_eq!(h.run(&["logs", "envsec"]).ok().stdout.trim(), "hush");
    // Neither the record nor inspect holds the data; inspect lists the
    // secrets given as files, as podman does.
    let doc = h.run(&["inspect", "envsec"]).ok().stdout;
    assert!(!doc.contains("hush"), "{doc}");
    h.run(&[
        "create",
        "--name",
        "filesec",
        "--secret",
        "tok,uid=1,mode=400",
        &img,
    ])
    .ok();
    let doc: serde_json::Value =
        serde_json::from_str(&h.run(&["inspect", "filesec"]).ok().stdout).unwrap();
    let listed = &doc[0]["Config"]["Secrets"][0];
    assert_eq!(listed["Name"], "tok");
    assert_eq!(listed["ID"].as_str().unwrap().len(), 25);
    assert_eq!(
        (listed["UID"].as_u64(), listed["Mode"].as_u64()),
        (Some(1), Some(0o400))
    );
    h.run(&["rm", "filesec"]).ok();
    let err = h
        .run(&["create", "--secret", "tok,type=foo", &img])
        .fails_with(125);
    assert_eq!(
        err.stderr.trim(),
        "Error: type foo is invalid: parsing secret"
    );
    let err = h
        .run(&["create", "--secret", "missing", &img])
        .fails_with(125);
    assert!(err.stderr.contains("no such secret"), "{}", err.stderr);
    h.run(&["rm", "-f", "envsec"]).ok();
}
