//! `image sign`, checked by the real verifiers: gpg itself and podman's
//! signature policy.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::setup;
use hoist_testenv::{require, ImageBuilder};

/// A throwaway GnuPG home with one signing key, its agent stopped on drop.
struct GpgKey {
    home: tempfile::TempDir,
    email: String,
}

impl GpgKey {
    fn new(name: &str) -> GpgKey {
        GpgKey::new_with_passphrase(name, "")
    }

    fn new_with_passphrase(name: &str, passphrase: &str) -> GpgKey {
        require(&["gpg", "gpgconf"]);
        // gpg-agent's socket path must stay short: a home under /tmp.
        let home = tempfile::Builder::new()
            .prefix("g")
            .tempdir_in("/tmp")
            .unwrap();
        let email = format!("{name}@example.com");
        let key = GpgKey { home, email };
        key.gpg(&[
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            passphrase,
            "--quick-gen-key",
            &format!("{name} <{}>", key.email),
            "ed25519",
            "sign",
            "never",
        ]);
        key
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    /// Runs gpg in this home; its stdout and stderr, after asserting success.
    fn gpg(&self, args: &[&str]) -> (Vec<u8>, String) {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(self.home())
            .arg("--batch")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "gpg {args:?}: {stderr}");
        (out.stdout, stderr)
    }

    /// Stops the agent, and with it the passphrases it holds.
    fn forget_passphrases(&self) -> bool {
        Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home())
            .args(["--kill", "gpg-agent"])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The public key, exported to `dir/NAME.gpg`.
    fn export_public(&self, dir: &Path) -> PathBuf {
        let path = dir.join(format!("{}.gpg", self.email));
        std::fs::write(&path, self.gpg(&["--export", &self.email]).0).unwrap();
        path
    }
}

impl Drop for GpgKey {
    fn drop(&mut self) {
        // Never a panic in drop: the test's own failure is the news.
        let _ = self.forget_passphrases();
    }
}

/// `hoist image sign --sign-by KEY -d DIR docker://IMAGE`.
fn sign_into(hoist: &hoist_testenv::Hoist, key: &GpgKey, dir: &Path, image: &str) {
    hoist
        .run(&[
            "image",
            "sign",
            "--sign-by",
            &key.email,
            "--directory",
            dir.to_str().unwrap(),
            &format!("docker://{image}"),
        ])
        .ok();
}

/// `hoist pull --signature-policy POLICY REFERENCE`.
fn pull_under(
    hoist: &hoist_testenv::Hoist,
    policy: &str,
    reference: &str,
) -> hoist_testenv::Output {
    hoist.run(&["pull", "--signature-policy", policy, reference])
}

#[test]
fn image_sign_writes_a_gpg_signature_of_the_registry_manifest_under_its_repository() {
    let (reg, mut hoist) = setup();
    let key = GpgKey::new("foo");
    let digest = ImageBuilder::single_layer().push(&reg, "team/app:1");
    let sigs = tempfile::tempdir().unwrap();
    hoist.env("GNUPGHOME", key.home());
    // Twice: the second signature is signature-2.
    for _ in 0..2 {
        sign_into(&hoist, &key, sigs.path(), &reg.reference("team/app:1"));
    }

    let dir = sigs
        .path()
        .join(format!("team/app@{}", digest.replacen(':', "=", 1)));
    for n in [1, 2] {
        let file = dir.join(format!("signature-{n}"));
        let (payload, stderr) = key.gpg(&["--decrypt", file.to_str().unwrap()]);
        assert!(
            stderr.contains(&format!("Good signature from \"foo <{}>\"", key.email)),
            "{stderr}"
        );
        let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(payload["critical"]["type"], "atomic container signature");
        assert_eq!(
            payload["critical"]["image"]["docker-manifest-digest"],
            digest
        );
        assert_eq!(
            payload["critical"]["identity"]["docker-reference"],
            reg.reference("team/app:1")
        );
    }
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        2,
        "nothing else is left"
    );
}

#[test]
fn image_sign_refuses_what_it_cannot_sign_and_writes_nothing() {
    let (reg, mut hoist) = setup();
    let key = GpgKey::new("bar");
    ImageBuilder::single_layer().push(&reg, "app:1");
    let sigs = tempfile::tempdir().unwrap();
    let dir = sigs.path().to_str().unwrap();
    hoist.env("GNUPGHOME", key.home());
    let image = format!("docker://{}", reg.reference("app:1"));

    let out = hoist
        .run(&["image", "sign", "-d", dir, &image])
        .fails_with(125);
    assert!(out.stderr.contains("please provide an identity"), "{out:?}");
    let out = hoist
        .run(&[
            "image",
            "sign",
            "--sign-by",
            &key.email,
            "-d",
            dir,
            &reg.reference("app:1"),
        ])
        .fails_with(125);
    assert!(
        out.stderr.contains("docker://"),
        "a transport is required: {out:?}"
    );
    let out = hoist
        .run(&[
            "image",
            "sign",
            "--sign-by",
            &key.email,
            "-d",
            "/nonexistent",
            &image,
        ])
        .fails_with(125);
    assert!(out.stderr.contains("/nonexistent"), "{out:?}");
    let out = hoist
        .run(&[
            "image",
            "sign",
            "--sign-by",
            "nobody@example.com",
            "-d",
            dir,
            &image,
        ])
        .fails_with(125);
    assert!(
        out.stderr.contains("nobody@example.com"),
        "names the key: {out:?}"
    );
    let out = hoist
        .run(&[
            "image",
            "sign",
            "--all",
            "--sign-by",
            &key.email,
            "-d",
            dir,
            &image,
        ])
        .fails_with(125);
    assert!(
        out.stderr.contains("not a multi-architecture image"),
        "{out:?}"
    );
    let missing = format!("docker://{}", reg.reference("app:nosuchtag"));
    hoist
        .run(&[
            "image",
            "sign",
            "--sign-by",
            &key.email,
            "-d",
            dir,
            &missing,
        ])
        .fails_with(125);
    assert_eq!(
        std::fs::read_dir(sigs.path()).unwrap().count(),
        0,
        "no signature and no directory is left behind"
    );
}

/// `HOME/.config/containers/registries.d` giving `scope` the `keys`
/// (lookaside, lookaside-staging) with their URLs.
fn registries_d(home: &Path, scope: &str, keys: &[(&str, String)]) {
    let dir = home.join(".config/containers/registries.d");
    std::fs::create_dir_all(&dir).unwrap();
    let mut yaml = format!("docker:\n  {scope}:\n");
    for (k, url) in keys {
        yaml.push_str(&format!("    {k}: {url}\n"));
    }
    std::fs::write(dir.join("test.yaml"), yaml).unwrap();
}

/// podman's pull of `image` into a store of its own, with `HOME` (and so
/// its registries.d) at `home`, checked against `policy`.
fn podman_pull(home: &Path, policy: &Path, image: &str) -> std::process::Output {
    let store = tempfile::tempdir().unwrap();
    let out = Command::new("podman")
        .env("HOME", home)
        .arg("--root")
        .arg(store.path().join("root"))
        .arg("--runroot")
        .arg(store.path().join("run"))
        .args(["pull", "--tls-verify=false", "--signature-policy"])
        .arg(policy)
        .arg(image)
        .output()
        .unwrap();
    // podman's overlay driver bind-mounts `root/overlay` on itself.
    hoist_testenv::hoist::unmount_below(store.path());
    out
}

/// A `file://` URL of `dir`.
fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

#[test]
fn podman_accepts_what_hoist_signed_and_only_with_the_signers_key() {
    let (reg, mut hoist) = setup();
    require(&["podman"]);
    let key = GpgKey::new("signer");
    let stranger = GpgKey::new("stranger");
    ImageBuilder::single_layer().push(&reg, "signed/app:1");
    let work = tempfile::tempdir().unwrap();
    let sigs = work.path().join("sigs");
    std::fs::create_dir(&sigs).unwrap();
    hoist.env("GNUPGHOME", key.home());
    sign_into(&hoist, &key, &sigs, &reg.reference("signed/app:1"));

    // podman reads the lookaside from $HOME's registries.d.
    let home = work.path().join("home");
    registries_d(&home, reg.addr(), &[("lookaside", file_url(&sigs))]);
    let podman_pull = |policy: &Path| podman_pull(&home, policy, &reg.reference("signed/app:1"));
    let good = podman_pull(&policy_requiring(
        work.path(),
        "trusted",
        &[reg.addr().to_string()],
        &key,
    ));
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );

    let bad = podman_pull(&policy_requiring(
        work.path(),
        "other",
        &[reg.addr().to_string()],
        &stranger,
    ));
    assert!(
        !bad.status.success(),
        "a stranger's key must not vouch for it"
    );
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("Source image rejected"), "{stderr}");
}

/// A policy in `work/name` that requires `key`'s signature (its public
/// key exported next to it) for each of `scopes` and rejects every other
/// image.
fn policy_requiring(work: &Path, name: &str, scopes: &[String], key: &GpgKey) -> PathBuf {
    let dir = work.join(name);
    std::fs::create_dir(&dir).unwrap();
    let signed_by = serde_json::json!([{
        "type": "signedBy", "keyType": "GPGKeys", "keyPath": key.export_public(&dir),
    }]);
    let docker: serde_json::Map<String, serde_json::Value> = scopes
        .iter()
        .map(|s| (s.clone(), signed_by.clone()))
        .collect();
    let policy = serde_json::json!({
        "default": [{"type": "reject"}],
        "transports": {"docker": docker},
    });
    let path = dir.join("policy.json");
    std::fs::write(&path, policy.to_string()).unwrap();
    path
}

#[test]
fn pull_checks_podmans_signatures_against_the_signature_policy() {
    let (reg, hoist) = setup();
    require(&["podman"]);
    let key = GpgKey::new("signer");
    let stranger = GpgKey::new("stranger");
    let signed_digest = ImageBuilder::single_layer().push(&reg, "signed/app:1");
    let other_digest = ImageBuilder::multi_layer(2).push(&reg, "unsigned/app:1");
    ImageBuilder::single_layer().push(&reg, "elsewhere/app:1");
    let work = tempfile::tempdir().unwrap();
    let sigs = work.path().join("sigs");
    std::fs::create_dir(&sigs).unwrap();

    // podman signs, with the registries.conf that makes the test registry plain HTTP.
    let signed = Command::new("podman")
        .env("GNUPGHOME", key.home())
        .env("CONTAINERS_REGISTRIES_CONF", hoist.registries_conf_path())
        .args(["image", "sign", "--sign-by", &key.email, "-d"])
        .arg(&sigs)
        .arg(format!("docker://{}", reg.reference("signed/app:1")))
        .output()
        .unwrap();
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    registries_d(
        &hoist.base_dir().join("home"),
        reg.addr(),
        &[("lookaside", file_url(&sigs))],
    );

    let scopes = [reg.reference("signed"), reg.reference("unsigned")];
    let policy = policy_requiring(work.path(), "trusted", &scopes, &key);
    let policy = policy.to_str().unwrap();
    let pull = |name: &str, policy: &str| pull_under(&hoist, policy, &reg.reference(name));

    pull("signed/app:1", policy).ok();
    let refused = [
        (
            "unsigned/app:1",
            "A signature was required, but no signature exists",
        ),
        ("elsewhere/app:1", "is rejected by policy"),
    ];
    for (name, why) in refused {
        let out = pull(name, policy).fails_with(125);
        assert!(out.stderr.contains("Source image rejected"), "{out:?}");
        assert!(out.stderr.contains(why), "{name}: {out:?}");
    }

    // The signed image's signature, put where the other image's would be,
    // vouches for another digest and another name: refused.
    let copied = sigs.join(format!(
        "unsigned/app@{}",
        other_digest.replacen(':', "=", 1)
    ));
    std::fs::create_dir_all(&copied).unwrap();
    std::fs::copy(
        sigs.join(format!(
            "signed/app@{}/signature-1",
            signed_digest.replacen(':', "=", 1)
        )),
        copied.join("signature-1"),
    )
    .unwrap();
    let out = pull("unsigned/app:1", policy).fails_with(125);
    assert!(out.stderr.contains("Source image rejected"), "{out:?}");

    // The same signature, trusted under a stranger's key: refused.
    let strangers = policy_requiring(work.path(), "other", &scopes, &stranger);
    hoist.run(&["rmi", &reg.reference("signed/app:1")]).ok();
    let out = pull("signed/app:1", strangers.to_str().unwrap()).fails_with(125);
    assert!(out.stderr.contains("Source image rejected"), "{out:?}");

    let names: Vec<String> = common::images(&hoist)
        .iter()
        .flat_map(|i| i["Names"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n.as_str().map(String::from))
        .collect();
    assert!(names.is_empty(), "no refused image is stored: {names:?}");
    hoist.run(&["system", "check"]).ok();
}

#[test]
fn pull_reads_signatures_from_a_web_server_lookaside() {
    let (reg, mut hoist) = setup();
    let key = GpgKey::new("web");
    ImageBuilder::single_layer().push(&reg, "web/app:1");
    ImageBuilder::multi_layer(2).push(&reg, "web/app:2");
    let work = tempfile::tempdir().unwrap();
    let sigs = work.path().join("sigs");
    std::fs::create_dir(&sigs).unwrap();
    hoist.env("GNUPGHOME", key.home());
    sign_into(&hoist, &key, &sigs, &reg.reference("web/app:1"));
    let server = hoist_testenv::HttpServer::serve(&sigs);
    registries_d(
        &hoist.base_dir().join("home"),
        reg.addr(),
        &[("lookaside", server.url(""))],
    );
    let policy = policy_requiring(work.path(), "trusted", &[reg.addr().to_string()], &key);
    let policy = policy.to_str().unwrap();

    pull_under(&hoist, policy, &reg.reference("web/app:1")).ok();
    let out = pull_under(&hoist, policy, &reg.reference("web/app:2")).fails_with(125);
    assert!(
        out.stderr.contains("no signature exists"),
        "a 404 is no signature: {out:?}"
    );
}

#[test]
fn push_sign_by_signs_images_and_lists_into_the_staging_lookaside() {
    let (reg, mut hoist) = setup();
    require(&["podman"]);
    let key = GpgKey::new("pusher");
    // A key with a passphrase, unlocked from --sign-passphrase-file.
    let locked = GpgKey::new_with_passphrase("locked", "s3cret");
    let work = tempfile::tempdir().unwrap();
    let sigs = work.path().join("sigs");
    std::fs::create_dir(&sigs).unwrap();
    let home = hoist.base_dir().join("home");
    registries_d(
        &home,
        reg.addr(),
        &[
            ("lookaside", file_url(&sigs)),
            ("lookaside-staging", file_url(&sigs)),
        ],
    );
    ImageBuilder::single_layer().push(&reg, "src/app:1");
    hoist.run(&["pull", &reg.reference("src/app:1")]).ok();

    hoist.env("GNUPGHOME", key.home());
    let pushed = hoist
        .run(&[
            "push",
            "--sign-by",
            &key.email,
            &reg.reference("src/app:1"),
            &reg.reference("dst/app:1"),
        ])
        .ok();
    let digest = pushed.stdout.trim().to_string();
    let sig_dir = sigs.join(format!("dst/app@{}", digest.replacen(':', "=", 1)));
    assert!(sig_dir.join("signature-1").is_file(), "{pushed:?}");

    // The list, signed by the key with a passphrase.
    hoist.env("GNUPGHOME", locked.home());
    hoist
        .run(&["manifest", "create", "lst", &reg.reference("src/app:1")])
        .ok();
    let pass = work.path().join("pass");
    std::fs::write(&pass, "s3cret\n").unwrap();
    let pushed = hoist
        .run(&[
            "manifest",
            "push",
            "--sign-by",
            &locked.email,
            "--sign-passphrase-file",
            pass.to_str().unwrap(),
            "lst",
            &reg.reference("dst/list:1"),
        ])
        .ok();
    assert!(pushed.success(), "{pushed:?}");

    // Each verifies under its key's policy, through hoist's and podman's pulls.
    let image_policy = policy_requiring(work.path(), "trusted", &[reg.reference("dst/app")], &key);
    pull_under(
        &hoist,
        image_policy.to_str().unwrap(),
        &reg.reference("dst/app:1"),
    )
    .ok();
    let podman = podman_pull(&home, &image_policy, &reg.reference("dst/app:1"));
    assert!(
        podman.status.success(),
        "{}",
        String::from_utf8_lossy(&podman.stderr)
    );

    let list_policy = policy_requiring(work.path(), "lists", &[reg.reference("dst/list")], &locked);
    pull_under(
        &hoist,
        list_policy.to_str().unwrap(),
        &reg.reference("dst/list:1"),
    )
    .ok();

    // A push to a directory cannot be signed, and says so before writing.
    let out_dir = work.path().join("dir");
    let out = hoist
        .run(&[
            "push",
            "--sign-by",
            &key.email,
            &reg.reference("src/app:1"),
            &format!("dir:{}", out_dir.display()),
        ])
        .fails_with(125);
    assert!(
        out.stderr
            .contains("only images pushed to a registry can be signed"),
        "{out:?}"
    );
    assert!(!out_dir.exists());
}
