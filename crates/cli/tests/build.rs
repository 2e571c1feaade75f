//! `hoist build`: Containerfiles into images in hoist's own store, each
//! RUN in a real container of the busybox test image, COPY/ADD straight
//! into layers, multi-stage, the build cache, reproducible `--timestamp`
//! builds and the errors bad input gets. Needs root and the test registry.

mod common;

use std::path::Path;

use hoist_testenv::Hoist;
use serde_json::Value;

/// A build context directory with `files` (path, content) in it.
fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    dir
}

fn build(h: &Hoist, dir: &Path, extra: &[&str]) -> hoist_testenv::hoist::Output {
    let mut args = vec!["build", "--network", "none"];
    args.extend_from_slice(extra);
    args.push(dir.to_str().unwrap());
    h.run(&args)
}

fn run_in(h: &Hoist, image: &str, script: &str) -> String {
    h.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        image,
        "sh",
        "-c",
        script,
    ])
    .ok()
    .stdout
}

fn config(h: &Hoist, image: &str) -> Value {
    common::inspect(h, image)["Config"].clone()
}

#[test]
fn every_instruction_shows_in_the_image_and_its_containers() {
    let (_reg, h, img) = common::setup_with_busybox();
    // A tar archive that ADD unpacks.
    let payload = context(&[("inner/data.txt", "from the archive\n")]);
    let ctx = context(&[
        ("app/main.sh", "echo main $1\n"),
        ("app/notes.md", "ignored by .containerignore\n"),
        ("app/keep.md", "kept by an exception\n"),
        (".containerignore", "app/*.md\n!app/keep.md\n"),
    ]);
    let tar = ctx.path().join("payload.tar.gz");
    let status = std::process::Command::new("tar")
        .args([
            "-czf",
            tar.to_str().unwrap(),
            "-C",
            payload.path().to_str().unwrap(),
            "inner",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(
        ctx.path().join("Containerfile"),
        format!(
            r#"# escape=\
ARG BASE={img}
FROM $BASE
ARG WHO=world
ENV GREETING="hello ${{WHO}}" \
    EMPTY=${{UNSET:-fallback}}
LABEL org.example.title="built by hoist" version=1
WORKDIR /srv/app
COPY app/ ./
COPY --chmod=755 --chown=hoist:hoist app/main.sh /usr/local/bin/main
ADD payload.tar.gz /opt/
COPY <<EOF /etc/motd
motd for $WHO
EOF
RUN echo "$GREETING" > greeting.txt && id -u > built-as.txt
RUN <<EOF
echo heredoc line one > heredoc.txt
echo heredoc line two >> heredoc.txt
EOF
EXPOSE 8080 53/udp
VOLUME /data
USER hoist
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD true
ONBUILD RUN echo triggered
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat greeting.txt"]
"#
        ),
    )
    .unwrap();
    let out = build(
        &h,
        ctx.path(),
        &["-t", "everything", "--build-arg", "WHO=hoist"],
    )
    .ok();
    assert!(
        out.stdout.contains("STEP 1/19: FROM $BASE"),
        "{}",
        out.stdout
    );
    assert!(out
        .stdout
        .contains("Successfully tagged localhost/everything:latest"));
    let id = out.stdout.lines().last().unwrap().to_string();
    assert_eq!(id.len(), 64, "{}", out.stdout);
    let c = config(&h, "everything");
    assert!(
        c["Env"]
            .as_array()
            .unwrap()
            .contains(&"GREETING=hello hoist".into()),
        "{c}"
    );
    assert!(
        c["Env"]
            .as_array()
            .unwrap()
            .contains(&"EMPTY=fallback".into()),
        "{c}"
    );
    assert_eq!(c["Labels"]["org.example.title"], "built by hoist");
    assert_eq!(c["Labels"]["version"], "1");
    assert_eq!(c["WorkingDir"], "/srv/app");
    assert_eq!(c["User"], "hoist");
    assert_eq!(c["StopSignal"], "SIGINT");
    assert!(c["ExposedPorts"].get("8080/tcp").is_some(), "{c}");
    assert!(c["ExposedPorts"].get("53/udp").is_some(), "{c}");
    assert!(c["Volumes"].get("/data").is_some(), "{c}");
    assert_eq!(c["Entrypoint"], serde_json::json!(["/bin/sh", "-c"]));
    assert_eq!(c["Cmd"], serde_json::json!(["cat greeting.txt"]));
    assert_eq!(
        c["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "true"])
    );
    assert_eq!(c["Healthcheck"]["Retries"], 2);
    assert_eq!(c["OnBuild"], serde_json::json!(["RUN echo triggered"]));
    // The default command runs in WORKDIR as USER.
    let ran = h
        .run(&["run", "--rm", "--network", "none", "everything"])
        .ok()
        .stdout;
    assert_eq!(ran, "hello hoist\n");
    let files = h
        .run(&[
            "run", "--rm", "--network", "none", "--user", "root", "everything",
            "cat built-as.txt heredoc.txt /etc/motd /opt/inner/data.txt; ls app 2>/dev/null; ls; stat -c '%a %U %G' /usr/local/bin/main",
        ])
        .ok()
        .stdout;
    assert_eq!(
        files,
        "0\nheredoc line one\nheredoc line two\nmotd for hoist\nfrom the archive\n\
         built-as.txt\ngreeting.txt\nheredoc.txt\nkeep.md\nmain.sh\n755 hoist hoist\n"
    );
    // History: one entry per step, config-only steps as empty layers.
    let history = h
        .run(&[
            "history",
            "--format",
            "{{.CreatedBy}}",
            "--no-trunc",
            "everything",
        ])
        .ok()
        .stdout;
    assert!(
        history.contains("#(nop) LABEL org.example.title"),
        "{history}"
    );
    assert!(
        history.contains("|1 WHO=hoist /bin/sh -c echo \"$GREETING\""),
        "{history}"
    );
    // An image built FROM it runs its ONBUILD trigger first.
    let child = context(&[("Containerfile", "FROM everything\nUSER root\n")]);
    let out = build(&h, child.path(), &["-t", "child"]).ok();
    assert!(out.stdout.contains("triggered"), "{}", out.stdout);
    assert!(config(&h, "child")
        .get("OnBuild")
        .is_none_or(Value::is_null));
    // No build container is left behind.
    assert_eq!(h.run(&["ps", "-a", "-q"]).ok().stdout, "");
}

#[test]
fn stages_build_what_the_target_needs_into_scratch() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "FROM {img} AS tools\n\
             RUN mkdir -p /out && printf '#!/bin/busybox sh\\necho built in a stage\\n' > /out/hello && chmod 755 /out/hello\n\
             FROM {img} AS unused\n\
             RUN echo this stage must not run && exit 3\n\
             FROM scratch AS final\n\
             COPY --from=tools /bin/busybox /bin/busybox\n\
             COPY --from=0 /out/hello /hello\n\
             ENTRYPOINT [\"/hello\"]\n\
             FROM final AS extended\n\
             LABEL stage=extended\n"
        ),
    )]);
    let out = build(&h, ctx.path(), &["--target", "final", "-t", "small"]).ok();
    assert!(!out.stdout.contains("must not run"), "{}", out.stdout);
    let ran = h
        .run(&["run", "--rm", "--network", "none", "small"])
        .ok()
        .stdout;
    assert_eq!(ran, "built in a stage\n");
    // The result holds only the two copied files' layers.
    let inspect = common::inspect(&h, "small");
    assert_eq!(
        inspect["RootFS"]["Layers"].as_array().unwrap().len(),
        2,
        "{inspect}"
    );
    // The last stage by default; FROM an earlier stage keeps its files.
    build(&h, ctx.path(), &["-t", "extended"]).ok();
    assert_eq!(config(&h, "extended")["Labels"]["stage"], "extended");
    assert_eq!(
        h.run(&["run", "--rm", "--network", "none", "extended"])
            .ok()
            .stdout,
        "built in a stage\n"
    );
    let bad = build(&h, ctx.path(), &["--target", "nosuch"]).fails_with(125);
    assert!(bad.stderr.contains("nosuch"), "{}", bad.stderr);
}

#[test]
fn an_unchanged_rebuild_runs_nothing_and_a_changed_file_reruns_from_its_copy() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[
        ("a.txt", "first\n"),
        ("b.txt", "second\n"),
        (
            "Containerfile",
            &format!(
                "FROM {img}\nRUN echo ran-one > /one\nCOPY a.txt /a.txt\nRUN echo ran-two > /two\nCOPY b.txt /b.txt\n"
            ),
        ),
    ]);
    let first = build(&h, ctx.path(), &["-t", "cached"]).ok();
    assert_eq!(
        first.stdout.matches("Using cache").count(),
        0,
        "{}",
        first.stdout
    );
    let id = first.stdout.lines().last().unwrap().to_string();
    let again = build(&h, ctx.path(), &["-t", "cached"]).ok();
    assert_eq!(again.stdout.lines().last().unwrap(), id);
    assert_eq!(
        again.stdout.matches("Using cache").count(),
        4,
        "{}",
        again.stdout
    );
    // Nothing ran: the cached steps started no container.
    let events = h
        .run(&[
            "events",
            "--stream=false",
            "--filter",
            "event=start",
            "--format",
            "{{.ID}}",
        ])
        .ok()
        .stdout;
    assert_eq!(
        events.lines().count(),
        2,
        "two RUN steps, started once: {events}"
    );
    // Editing b.txt reruns from its COPY only.
    std::fs::write(ctx.path().join("b.txt"), "changed\n").unwrap();
    let edited = build(&h, ctx.path(), &["-t", "cached"]).ok();
    assert_eq!(
        edited.stdout.matches("Using cache").count(),
        3,
        "{}",
        edited.stdout
    );
    assert_ne!(edited.stdout.lines().last().unwrap(), id);
    assert_eq!(
        run_in(&h, "cached", "cat /b.txt /two"),
        "changed\nran-two\n"
    );
    // Editing a.txt reruns the RUN after it too.
    std::fs::write(ctx.path().join("a.txt"), "edited\n").unwrap();
    let edited = build(&h, ctx.path(), &["-t", "cached"]).ok();
    assert_eq!(
        edited.stdout.matches("Using cache").count(),
        1,
        "{}",
        edited.stdout
    );
    // --no-cache runs everything again.
    let fresh = build(&h, ctx.path(), &["--no-cache", "-q"]).ok();
    assert_eq!(
        fresh.stdout.lines().count(),
        1,
        "-q prints the ID only: {}",
        fresh.stdout
    );
}

/// The IDs `images ARGS -q --no-trunc` prints.
fn image_ids(h: &Hoist, args: &[&str]) -> Vec<String> {
    let mut all = vec!["images", "-q", "--no-trunc"];
    all.extend_from_slice(args);
    let out = h.run(&all).ok().stdout;
    out.lines().map(str::to_string).collect()
}

#[test]
fn a_builds_steps_are_hidden_intermediate_images_that_rmi_prunes() {
    let (_reg, h, img) = common::setup_with_busybox();
    let before = image_ids(&h, &["-a"]);
    let ctx = context(&[(
        "Containerfile",
        &format!("FROM {img}\nENV A=1\nRUN echo a > /a\nRUN echo b > /b\nLABEL x=y\n"),
    )]);
    build(&h, ctx.path(), &["-t", "steps"]).ok();
    let all = image_ids(&h, &["-a"]);
    let shown = image_ids(&h, &[]);
    assert_eq!(
        shown.len(),
        before.len() + 1,
        "only the tagged result: {shown:?}"
    );
    assert!(
        all.len() >= before.len() + 3,
        "-a lists the steps too: {all:?}"
    );
    // Each step's image names the one it was made on.
    let top = common::inspect(&h, "steps");
    let parent = top["Parent"].as_str().unwrap().to_string();
    assert!(
        all.contains(&format!("sha256:{parent}")),
        "{parent} in {all:?}"
    );
    let json: Value =
        serde_json::from_str(&h.run(&["images", "-a", "--format", "json"]).ok().stdout).unwrap();
    let row = |id: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|i| i["Id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(row(top["Id"].as_str().unwrap())["ParentId"], parent);
    // Steps with children are not dangling: prune leaves them, and the
    // cache still has them.
    assert!(image_ids(&h, &["--filter", "dangling=true"]).is_empty());
    h.run(&["image", "prune", "-f"]).ok();
    assert_eq!(image_ids(&h, &["-a"]), all);
    let again = build(&h, ctx.path(), &["-t", "steps"]).ok();
    assert!(again.stdout.contains("Using cache"), "{}", again.stdout);

    // --no-prune keeps them; the step under the removed image is now
    // dangling, and prune takes the whole chain.
    let removed = h.run(&["rmi", "--no-prune", "steps"]).ok().stdout;
    assert_eq!(removed.matches("Deleted: ").count(), 1, "{removed}");
    assert_eq!(
        image_ids(&h, &["--filter", "dangling=true"]),
        vec![format!("sha256:{parent}")]
    );
    h.run(&["image", "prune", "-f"]).ok();
    assert_eq!(image_ids(&h, &["-a"]), before);

    // rmi takes the steps with it, but never a named image or one a
    // container uses.
    build(&h, ctx.path(), &["-t", "steps"]).ok();
    let parent = common::inspect(&h, "steps")["Parent"]
        .as_str()
        .unwrap()
        .to_string();
    h.run(&["tag", &parent, "kept-step"]).ok();
    let removed = h.run(&["rmi", "steps"]).ok().stdout;
    assert_eq!(removed.matches("Deleted: ").count(), 1, "{removed}");
    h.run(&["untag", "kept-step"]).ok();
    let users_image = common::inspect(&h, &parent)["Parent"]
        .as_str()
        .unwrap()
        .to_string();
    h.run(&["create", "--name", "user", &users_image]).ok();
    let removed = h.run(&["rmi", &parent]).ok().stdout;
    assert_eq!(removed.matches("Deleted: ").count(), 1, "{removed}");
    assert!(image_ids(&h, &["-a"]).contains(&format!("sha256:{users_image}")));
    h.run(&["rm", "user"]).ok();
    h.run(&["image", "prune", "-f"]).ok();
    assert_eq!(image_ids(&h, &["-a"]), before);
}

#[test]
fn the_same_inputs_and_timestamp_give_the_same_image() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[
        ("f.txt", "content\n"),
        (
            "Containerfile",
            &format!("FROM {img}\nCOPY f.txt /f.txt\nRUN echo built > /built-at && mkdir /made-now && touch /made-now/file\nLABEL x=y\n"),
        ),
    ]);
    let ids: Vec<String> = (0..2)
        .map(|_| {
            let out = build(
                &h,
                ctx.path(),
                &["--no-cache", "--timestamp", "1700000000", "-q"],
            )
            .ok();
            out.stdout.lines().last().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids[0], ids[1]);
    let created = common::inspect(&h, &ids[0])["Created"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(created.starts_with("2023-11-14T22:13:20"), "{created}");
    // Without --timestamp each build has its own time.
    let a = build(&h, ctx.path(), &["--no-cache", "-q"]).ok().stdout;
    let b = build(&h, ctx.path(), &["--no-cache", "-q"]).ok().stdout;
    assert_ne!(a, b);
}

#[test]
fn squash_merges_the_new_layers_and_squash_all_every_layer() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[
        ("f.txt", "copied\n"),
        (
            "Containerfile",
            &format!(
                "FROM {img}\n\
                 RUN mkdir -p /d/sub && echo kept > /d/keep && echo old > /d/sub/old\n\
                 RUN rm /etc/group && rm -r /d/sub && echo new > /new\n\
                 COPY f.txt /f.txt\n\
                 LABEL squashed=yes\n"
            ),
        ),
    ]);
    let layers = |name: &str| {
        common::inspect(&h, name)["RootFS"]["Layers"]
            .as_array()
            .unwrap()
            .len()
    };
    let check =
        "cat /d/keep /new /f.txt; test -e /etc/group || test -e /d/sub || echo deletions-kept";
    let want = "kept\nnew\ncopied\ndeletions-kept\n";
    build(&h, ctx.path(), &["-t", "plain"]).ok();
    assert_eq!(layers("plain"), 4);
    // --squash: the base's one layer, then one for the three new ones,
    // which still deletes what they deleted from the base.
    build(&h, ctx.path(), &["--squash", "-t", "new-squashed"]).ok();
    assert_eq!(layers("new-squashed"), 2);
    assert_eq!(run_in(&h, "new-squashed", check), want);
    assert_eq!(config(&h, "new-squashed")["Labels"]["squashed"], "yes");
    // --squash-all: one layer in all.
    build(&h, ctx.path(), &["--squash-all", "-t", "all-squashed"]).ok();
    assert_eq!(layers("all-squashed"), 1);
    assert_eq!(run_in(&h, "all-squashed", check), want);
    assert!(run_in(&h, "all-squashed", "cat /etc/passwd").contains("root:"));
    // The merged layer is as reproducible as the layers it merges.
    let ids: Vec<String> = (0..2)
        .map(|_| {
            let out = build(
                &h,
                ctx.path(),
                &["--no-cache", "--squash", "--timestamp", "1700000000", "-q"],
            )
            .ok();
            out.stdout.lines().last().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids[0], ids[1]);
    let both = build(&h, ctx.path(), &["--squash", "--squash-all"]).fails_with(125);
    assert!(both.stderr.contains("--squash-all"), "{}", both.stderr);
}

#[test]
fn add_downloads_a_url_and_never_unpacks_it() {
    let (_reg, h, img) = common::setup_with_busybox();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("tool.txt"), "fetched over http\n").unwrap();
    // A tar archive: ADD unpacks local ones, never downloaded ones.
    let mut archive = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(3);
    header.set_mode(0o644);
    archive
        .append_data(&mut header, "inner.txt", &b"in\n"[..])
        .unwrap();
    std::fs::write(
        site.path().join("bundle.tar"),
        archive.into_inner().unwrap(),
    )
    .unwrap();
    let server = hoist_testenv::HttpServer::serve(site.path());
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "FROM {img}\nADD {} /opt/\nADD {} /opt/bundle.tar\n",
            server.url("tool.txt"),
            server.url("bundle.tar")
        ),
    )]);
    let first = build(&h, ctx.path(), &["-t", "fetched"]).ok();
    assert_eq!(first.stdout.matches("Using cache").count(), 0);
    // Docker's mode for downloaded files; the archive stays a file.
    assert_eq!(
        run_in(
            &h,
            "fetched",
            "cat /opt/tool.txt; stat -c %a /opt/tool.txt; test -f /opt/bundle.tar && test ! -e /opt/inner.txt && echo kept"
        ),
        "fetched over http\n600\nkept\n"
    );
    // Its time is the server's Last-Modified (the file's, to the second).
    let served = std::fs::metadata(site.path().join("tool.txt"))
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(
        run_in(&h, "fetched", "stat -c %Y /opt/tool.txt").trim(),
        served.to_string()
    );
    // Unchanged downloads (same content, same Last-Modified) hit the cache.
    let again = build(&h, ctx.path(), &["-t", "fetched"]).ok();
    assert_eq!(
        again.stdout.matches("Using cache").count(),
        2,
        "{}",
        again.stdout
    );
    // A changed file is downloaded again and its step reruns.
    std::fs::write(site.path().join("tool.txt"), "changed upstream\n").unwrap();
    let changed = build(&h, ctx.path(), &["-t", "fetched"]).ok();
    assert_eq!(
        changed.stdout.matches("Using cache").count(),
        0,
        "{}",
        changed.stdout
    );
    assert_eq!(
        run_in(&h, "fetched", "cat /opt/tool.txt"),
        "changed upstream\n"
    );
    // A missing file fails the step with the server's answer.
    let bad = context(&[(
        "Containerfile",
        &format!("FROM {img}\nADD {} /opt/\n", server.url("nope.txt")),
    )]);
    let out = build(&h, bad.path(), &["-t", "broken"]).fails_with(125);
    assert!(
        out.stderr.contains("404") && out.stderr.contains("line 2"),
        "{}",
        out.stderr
    );
}

#[test]
fn add_checksum_verifies_the_download_and_tags_nothing_on_a_mismatch() {
    let (_reg, h, img) = common::setup_with_busybox();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("tool.txt"), "fetched over http\n").unwrap();
    let server = hoist_testenv::HttpServer::serve(site.path());
    let url = server.url("tool.txt");
    let right = hoist_image::digest::Digest::sha256_of(b"fetched over http\n").to_string();
    let wrong = format!("sha256:{}", "0".repeat(64));
    let with = |checksum: &str, source: &str| {
        context(&[
            (
                "Containerfile",
                &format!("FROM {img}\nADD --checksum={checksum} {source} /opt/\n"),
            ),
            ("local.txt", "x\n"),
        ])
    };
    let ok = with(&right, &url);
    build(&h, ok.path(), &["-t", "verified"]).ok();
    assert_eq!(
        run_in(&h, "verified", "cat /opt/tool.txt"),
        "fetched over http\n"
    );
    let bad = with(&wrong, &url);
    let out = build(&h, bad.path(), &["-t", "unverified"]).fails_with(125);
    let said = format!("checksum mismatch for {url}: expected {wrong}, got {right}");
    assert!(
        out.stderr.contains(&said) && out.stderr.contains("line 2"),
        "{}",
        out.stderr
    );
    // As in BuildKit and buildah, only a URL's checksum is verified; a
    // local source or a malformed digest is refused, not ignored.
    let local = with(&right, "local.txt");
    let out = build(&h, local.path(), &["-t", "unverified"]).fails_with(125);
    assert!(
        out.stderr.contains("--checksum verifies http(s) URLs only"),
        "{}",
        out.stderr
    );
    let malformed = with("sha256:abc", &url);
    let out = build(&h, malformed.path(), &["-t", "unverified"]).fails_with(125);
    assert!(
        out.stderr.contains("--checksum=sha256:abc"),
        "{}",
        out.stderr
    );
    h.run(&["image", "exists", "unverified"]).fails_with(1);
}

#[test]
fn copy_exclude_leaves_out_matches_and_parents_keeps_source_paths() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[
        (
            "Containerfile",
            &format!(
                "FROM {img}\n\
                 COPY --exclude=*.md --exclude=tmp docs /docs/\n\
                 COPY --exclude=*.txt hom* /hom/\n\
                 COPY --parents a/b/one.txt a/c /p/\n\
                 COPY --parents */*.cfg /g/\n"
            ),
        ),
        ("docs/guide.md", "x"),
        ("docs/guide.html", "x"),
        ("docs/tmp/scratch", "x"),
        // `*` stops at `/`: a nested .md is not matched by `*.md`.
        ("docs/sub/nested.md", "x"),
        ("home.txt", "x"),
        ("home.bin", "x"),
        ("a/b/one.txt", "x"),
        ("a/b/two.txt", "x"),
        ("a/c/three.txt", "x"),
        ("x/y.cfg", "x"),
        ("z/w.cfg", "x"),
    ]);
    build(&h, ctx.path(), &["-t", "filtered"]).ok();
    assert_eq!(
        run_in(&h, "filtered", "find /docs /hom /p /g -type f | sort"),
        "/docs/guide.html\n/docs/sub/nested.md\n/g/x/y.cfg\n/g/z/w.cfg\n\
         /hom/home.bin\n/p/a/b/one.txt\n/p/a/c/three.txt\n"
    );
    // BuildKit's `/./` pivot is refused, not ignored.
    let pivot = context(&[
        (
            "Containerfile",
            &format!("FROM {img}\nCOPY --parents a/./b/one.txt /p/\n"),
        ),
        ("a/b/one.txt", "x"),
    ]);
    let out = build(&h, pivot.path(), &["-t", "pivoted"]).fails_with(125);
    assert!(
        out.stderr.contains("is not supported by hoist yet") && out.stderr.contains("line 2"),
        "{}",
        out.stderr
    );
}

#[test]
fn run_security_insecure_runs_the_step_privileged() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "FROM {img}\n\
             RUN --security=insecure grep CapEff /proc/self/status > /insecure\n\
             RUN --security=sandbox grep CapEff /proc/self/status > /sandbox\n"
        ),
    )]);
    build(&h, ctx.path(), &["-t", "insecure"]).ok();
    let privileged = h
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--privileged",
            &img,
            "grep",
            "CapEff",
            "/proc/self/status",
        ])
        .ok()
        .stdout;
    let default = run_in(&h, &img, "grep CapEff /proc/self/status");
    assert_ne!(privileged, default);
    assert_eq!(run_in(&h, "insecure", "cat /insecure"), privileged);
    assert_eq!(run_in(&h, "insecure", "cat /sandbox"), default);
}

#[test]
fn private_cache_mounts_give_concurrent_steps_their_own_copy() {
    let (_reg, h, img) = common::setup_with_busybox();
    // Two stages built at once each mark the private cache, then meet in
    // a shared one (each says it is in, then waits for the other), and
    // only then list the private cache: while both hold it, neither may
    // see the other's mark. A bounded wait: a build that runs the stages
    // one after the other fails instead of hanging.
    let step = |me: &str, other: &str| {
        format!(
            "FROM {img} AS {me}\n\
             RUN --mount=type=cache,id=priv,target=/c,sharing=private \\\n\
                 --mount=type=cache,id=meet,target=/meet,sharing=shared \\\n\
             touch /c/{me} /meet/{me}; n=0; \\\n\
             while [ ! -e /meet/{other} ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done; \\\n\
             test -e /meet/{other} && ls /c > /seen\n"
        )
    };
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "{}{}FROM {img}\nCOPY --from=left /seen /left\nCOPY --from=right /seen /right\n",
            step("left", "right"),
            step("right", "left")
        ),
    )]);
    build(&h, ctx.path(), &["--jobs", "2", "-t", "private"]).ok();
    assert_eq!(run_in(&h, "private", "cat /left /right"), "left\nright\n");
}

/// Whether capability `bit` is in a `CapEff:\t<hex>` line.
fn has_cap(capeff_line: &str, bit: u32) -> bool {
    let hex = capeff_line.trim().rsplit('\t').next().unwrap();
    u64::from_str_radix(hex, 16).unwrap() & (1 << bit) != 0
}

#[test]
fn build_flags_reach_the_image_and_its_steps() {
    let (_reg, mut h, img) = common::setup_with_busybox();
    h.env("HOIST_TEST_TOKEN", "s3cret");
    let ctx = context(&[
        (
            "Containerfile",
            &format!(
                "FROM {img}\n\
                 ARG GREETING\n\
                 ARG OTHER\n\
                 COPY *.txt /texts/\n\
                 RUN echo \"$GREETING $OTHER\" > /greeting\n\
                 RUN grep CapEff /proc/self/status > /capeff\n\
                 RUN --mount=type=secret,id=tok test \"$(cat /run/secrets/tok)\" = s3cret && echo ok > /secret\n\
                 SHELL [\"/bin/busybox\", \"env\", \"MARK=changed-shell\", \"/bin/sh\", \"-c\"]\n\
                 RUN echo \"$MARK\" > /shell\n"
            ),
        ),
        ("a.txt", "a\n"),
        ("b.txt", "b\n"),
        ("c.md", "c\n"),
        // Comments and blank lines are skipped; --build-arg wins over it.
        ("args.env", "# defaults\nGREETING=from-file\n\nOTHER=also-from-file\n"),
    ]);
    let iid = ctx.path().join("iid");
    let args_file = ctx.path().join("args.env");
    let flags = |greeting: Option<&str>| {
        let mut f = vec![
            "--build-arg-file".to_string(),
            args_file.to_str().unwrap().to_string(),
            "--iidfile".into(),
            iid.to_str().unwrap().to_string(),
            "--label".into(),
            "built.by=hoist-test".into(),
            "--env".into(),
            "BUILT_ENV=yes".into(),
            "--cap-add".into(),
            "NET_ADMIN".into(),
            "--cap-drop".into(),
            "CHOWN".into(),
            "--secret".into(),
            "id=tok,env=HOIST_TEST_TOKEN".into(),
            "-t".into(),
            "first".into(),
            "-t".into(),
            "second:v2".into(),
        ];
        if let Some(g) = greeting {
            f.extend(["--build-arg".to_string(), format!("GREETING={g}")]);
        }
        f
    };
    let run_build = |greeting: Option<&str>| {
        let f = flags(greeting);
        let f: Vec<&str> = f.iter().map(String::as_str).collect();
        build(&h, ctx.path(), &f).ok()
    };
    run_build(None);
    let id = common::inspect(&h, "first")["Id"]
        .as_str()
        .unwrap()
        .to_string();
    // podman's --iidfile: `sha256:<ID>`, no newline.
    assert_eq!(
        std::fs::read_to_string(&iid).unwrap(),
        format!("sha256:{id}")
    );
    assert_eq!(common::inspect(&h, "second:v2")["Id"], id.as_str());
    let c = config(&h, "first");
    assert_eq!(c["Labels"]["built.by"], "hoist-test");
    assert!(
        c["Env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "BUILT_ENV=yes"),
        "{c}"
    );
    let seen = run_in(
        &h,
        "first",
        "cat /greeting; ls /texts; cat /secret /shell /capeff",
    );
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(
        lines[..5],
        [
            "from-file also-from-file",
            "a.txt",
            "b.txt",
            "ok",
            "changed-shell"
        ],
        "{seen}"
    );
    // CAP_CHOWN is bit 0, CAP_NET_ADMIN bit 12.
    assert!(!has_cap(lines[5], 0) && has_cap(lines[5], 12), "{seen}");
    // Unchanged: the same image. A changed build arg reruns the RUN that
    // uses it.
    run_build(None);
    assert_eq!(common::inspect(&h, "first")["Id"], id.as_str());
    run_build(Some("from-flag"));
    assert_ne!(common::inspect(&h, "first")["Id"], id.as_str());
    assert_eq!(
        run_in(&h, "first", "cat /greeting"),
        "from-flag also-from-file\n"
    );
}

#[test]
fn containerfile_from_stdin_or_preferred_and_build_aliases() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[
        (
            "Containerfile",
            &format!("FROM {img}\nLABEL which=containerfile\n"),
        ),
        (
            "Dockerfile",
            &format!("FROM {img}\nLABEL which=dockerfile\n"),
        ),
    ]);
    let which = |image: &str| config(&h, image)["Labels"]["which"].clone();
    build(&h, ctx.path(), &["-t", "preferred"]).ok();
    assert_eq!(which("preferred"), "containerfile");
    let dir = ctx.path().to_str().unwrap();
    let stdin = format!("FROM {img}\nLABEL which=stdin\n");
    h.run_stdin(&["build", "-f", "-", "-t", "piped", dir], stdin.as_bytes())
        .ok();
    assert_eq!(which("piped"), "stdin");
    for (alias, tag) in [
        (&["image", "build"], "via-image"),
        (&["buildx", "build"], "via-buildx"),
    ] {
        let mut args = alias.to_vec();
        args.extend(["-f", "Dockerfile", "-t", tag, dir]);
        h.run(&args).ok();
        assert_eq!(which(tag), "dockerfile", "{alias:?}");
    }
}

/// Runs git with `args` in `dir` (a fixed identity: the tests' commits).
fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=hoist test",
            "-c",
            "user.email=test@hoist.invalid",
        ])
        .args(args)
        .output()
        .expect("git (apt-get install git)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn add_clones_a_git_repository_at_a_ref_into_the_image() {
    let (_reg, h, img) = common::setup_with_busybox();
    hoist_testenv::require(&["git"]);
    // A repository with a tag v1, a later commit on the default branch
    // and a branch `feature`, served as a bare repository over HTTP.
    let site = tempfile::tempdir().unwrap();
    let work = site.path().join("work");
    std::fs::create_dir_all(work.join("docs")).unwrap();
    git(&work, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(work.join("README"), "one\n").unwrap();
    std::fs::write(work.join("docs/guide.txt"), "guide v1\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "one"]);
    git(&work, &["tag", "v1"]);
    std::fs::write(work.join("README"), "two\n").unwrap();
    git(&work, &["commit", "--quiet", "-am", "two"]);
    git(&work, &["checkout", "--quiet", "-b", "feature"]);
    std::fs::write(work.join("docs/feature.txt"), "only on feature\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "feature"]);
    git(&work, &["checkout", "--quiet", "main"]);
    git(
        site.path(),
        &["clone", "--quiet", "--bare", "work", "r.git"],
    );
    git(&site.path().join("r.git"), &["update-server-info"]);
    let server = hoist_testenv::HttpServer::serve(site.path());
    let repo = server.url("r.git");
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "FROM {img}\n\
             ADD {repo} /head/\n\
             ADD {repo}#v1 /v1/\n\
             ADD {repo}#feature:docs /docs/\n\
             ADD --keep-git-dir=true {repo}#v1 /kept/\n"
        ),
    )]);
    build(&h, ctx.path(), &["-t", "cloned"]).ok();
    assert_eq!(
        run_in(
            &h,
            "cloned",
            "cat /head/README /v1/README /docs/feature.txt /docs/guide.txt; \
             test ! -e /head/.git && test ! -e /docs/README && test -d /kept/.git && echo ok"
        ),
        "two\none\nonly on feature\nguide v1\nok\n"
    );
    // The same commits give the same layers, from the cache, a kept .git
    // too (its clone's own index and logs do not count, its commit does).
    let again = build(&h, ctx.path(), &["-t", "cloned"]).ok();
    assert_eq!(
        again.stdout.matches("Using cache").count(),
        4,
        "{}",
        again.stdout
    );
    assert_eq!(
        run_in(
            &h,
            "cloned",
            "test -f /kept/.git/HEAD && test ! -e /kept/.git/.git && echo kept"
        ),
        "kept\n"
    );
    // A reference the repository lacks fails the step, saying which.
    let bad = context(&[(
        "Containerfile",
        &format!("FROM {img}\nADD {repo}#nosuch /x/\n"),
    )]);
    let out = build(&h, bad.path(), &["-t", "broken"]).fails_with(125);
    assert!(
        out.stderr.contains("no branch, tag or commit nosuch") && out.stderr.contains("line 2"),
        "{}",
        out.stderr
    );
}

#[test]
fn jobs_builds_independent_stages_at_once() {
    let (_reg, h, img) = common::setup_with_busybox();
    // Each of two independent stages marks that it runs, then waits (a
    // bounded while) for the other's mark in a shared cache mount: only
    // stages that build at the same time both get through.
    let meet = |me: &str, other: &str| {
        format!(
            "RUN --mount=type=cache,id=meet,target=/meet,sharing=shared \\\n\
             touch /meet/{me}; i=0; until [ -e /meet/{other} ]; do i=$((i+1)); \\\n\
             [ $i -gt 1200 ] && echo {me} never met {other} && exit 9; sleep 0.05; done; echo {me} > /{me}\n"
        )
    };
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "FROM {img} AS left\n{}FROM {img} AS right\n{}FROM {img}\n\
             COPY --from=left /left /left\nCOPY --from=right /right /right\n",
            meet("left", "right"),
            meet("right", "left")
        ),
    )]);
    // A stage that waited in vain would have failed the build (exit 9).
    build(&h, ctx.path(), &["--jobs", "2", "-t", "met"]).ok();
    assert_eq!(run_in(&h, "met", "cat /left /right"), "left\nright\n");
    // The same image as a build of one stage after another makes: every
    // step of it comes from the cache.
    let again = build(&h, ctx.path(), &["--jobs", "0", "-t", "met"]).ok();
    assert_eq!(
        again.stdout.matches("Using cache").count(),
        4,
        "{}",
        again.stdout
    );
}

#[test]
fn bad_input_says_where_and_tags_nothing() {
    let (_reg, h, img) = common::setup_with_busybox();
    let case = |text: &str, code: i32, needle: &str| {
        let ctx = context(&[("Containerfile", text), ("ok.txt", "x\n")]);
        let out = build(&h, ctx.path(), &["-t", "broken"]).fails_with(code);
        assert!(out.stderr.contains(needle), "{text}: {}", out.stderr);
    };
    case(
        &format!("FROM {img}\nFROBNICATE x\n"),
        125,
        "line 2: unknown instruction",
    );
    // Another architecture's stage is refused before anything runs; the
    // host's, by name or by $BUILDPLATFORM, builds.
    let native = hoist_image::platform::Platform::host().to_string();
    let foreign = if native.starts_with("linux/amd64") {
        "linux/arm64/v8"
    } else {
        "linux/amd64"
    };
    case(
        &format!("FROM --platform={foreign} {img}\nRUN true\n"),
        125,
        &format!("not for {foreign}"),
    );
    case(
        &format!("FROM --platform=nonsense {img}\n"),
        125,
        "invalid platform \"nonsense\"",
    );
    let host = context(&[(
        "Containerfile",
        &format!("FROM --platform=$BUILDPLATFORM {img}\nRUN true\n"),
    )]);
    build(&h, host.path(), &["--platform", &native, "-q"]).ok();
    let out = build(&h, host.path(), &["--platform", foreign]).fails_with(125);
    let said = format!("--platform {foreign}: hoist builds for this host's platform");
    assert!(out.stderr.contains(&said), "{}", out.stderr);
    case(
        &format!("FROM {img}\nRUN <<EOF\necho never ends\n"),
        125,
        "line 2",
    );
    case(
        &format!("FROM {img}\nCOPY ../../etc/passwd /x\n"),
        125,
        "does not exist in the build context",
    );
    case(
        &format!("FROM {img}\nCOPY --from=nosuch /x /x\n"),
        125,
        "nosuch",
    );
    case(
        &format!("FROM {img}\nRUN echo failing; exit 7\n"),
        7,
        "building at STEP \"RUN echo failing; exit 7\": while running runtime: exit status 7",
    );
    case("RUN true\n", 125, "");
    // A step whose container never starts fails the build with 1 (126 and
    // 127 stay the command's own codes).
    case(
        &format!("FROM {img}\nRUN [\"/no/such/program\"]\n"),
        1,
        "/no/such/program",
    );
    case(
        &format!("FROM {img}\nRUN exit 126\n"),
        126,
        "exit status 126",
    );
    let ctx = context(&[("Containerfile", &format!("FROM {img}\nRUN true\n"))]);
    let out = h
        .run(&[
            "--runtime-flag",
            "invalidflag",
            "build",
            "-t",
            "broken",
            ctx.path().to_str().unwrap(),
        ])
        .fails_with(1);
    assert!(out.stderr.contains("invalidflag"), "{}", out.stderr);
    // A symlink in the context that points out of it is resolved inside it.
    let ctx = context(&[("Containerfile", &format!("FROM {img}\nCOPY link /copied\n"))]);
    std::os::unix::fs::symlink("/etc/hostname", ctx.path().join("link")).unwrap();
    let out = build(&h, ctx.path(), &["-t", "broken"]).fails_with(125);
    assert!(
        out.stderr.contains("does not exist in the build context"),
        "{}",
        out.stderr
    );
    // Nothing was tagged and no build container is left.
    h.run(&["image", "exists", "broken"]).fails_with(1);
    assert_eq!(h.run(&["ps", "-a", "-q"]).ok().stdout, "");
}

#[test]
fn podman_runs_what_hoist_built_and_pushed() {
    let (reg, h, img) = common::setup_with_busybox();
    hoist_testenv::require_root_and(&["podman"]);
    let ctx = context(&[
        ("msg.txt", "hello from a hoist build\n"),
        (
            "Containerfile",
            &format!("FROM {img}\nCOPY msg.txt /msg.txt\nCMD [\"cat\", \"/msg.txt\"]\n"),
        ),
    ]);
    build(&h, ctx.path(), &["-t", "pushed"]).ok();
    let target = reg.reference("built/pushed:1");
    h.run(&["push", "pushed", &target]).ok();
    let peer = common::podman::Podman::isolated();
    let podman = |args: &[&str]| peer.out(args);
    podman(&["pull", "--tls-verify=false", &target]);
    let ran = podman(&["run", "--rm", "--network", "none", &target]);
    assert_eq!(ran, "hello from a hoist build");
    podman(&["rmi", "-a", "-f"]);
}

#[test]
fn run_mounts_bind_cache_tmpfs_and_secrets_leave_no_trace() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[
        ("src/input.txt", "bound input\n"),
        (
            "Containerfile",
            &format!(
                "FROM {img}\n\
                 RUN --mount=type=bind,source=src,target=/mnt/src cat /mnt/src/input.txt > /from-bind\n\
                 RUN --mount=type=cache,target=/var/cache/demo echo run >> /var/cache/demo/log && wc -l < /var/cache/demo/log > /cache-lines\n\
                 RUN --mount=type=tmpfs,target=/scratch echo temp > /scratch/t && cat /scratch/t > /from-tmpfs\n\
                 RUN --mount=type=secret,id=token,required=true cat /run/secrets/token | wc -c > /secret-size\n\
                 RUN --mount=type=secret,id=token,env=TOKEN echo \"$TOKEN\" | md5sum > /secret-env\n\
                 RUN --mount=type=secret,id=token stat -c '%a %u %g' /run/secrets/token > /secret-perm\n\
                 RUN --mount=type=secret,id=token,target=/s,uid=1000,gid=1001,mode=0440 stat -c '%a %u %g' /s >> /secret-perm\n"
            ),
        ),
    ]);
    let secret = ctx.path().join("../token-file");
    let secret = secret.to_str().unwrap().to_string();
    std::fs::write(&secret, "s3cr3t\n").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let secret_flag = format!("id=token,src={secret}");
    build(&h, ctx.path(), &["-t", "mounted", "--secret", &secret_flag]).ok();
    // BuildKit's owner and mode for a secret (root's, 0400) or the
    // mount's own, never the host file's (0644 here), which stays as it is.
    assert_eq!(
        run_in(&h, "mounted", "cat /secret-perm; test -e /s || echo no /s"),
        "400 0 0\n440 1000 1001\nno /s\n"
    );
    let host_mode = std::fs::metadata(&secret).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&host_mode) & 0o7777,
        0o644
    );
    assert_eq!(
        run_in(
            &h,
            "mounted",
            "cat /from-bind /cache-lines /from-tmpfs /secret-size /secret-env; \
             for f in /scratch /var/cache/demo /mnt/src /run/secrets/token; do test -e $f || echo no $f; done"
        ),
        "bound input\n1\ntemp\n7\nf6d4a1c395feece4ed3793e348683f72  -\nno /scratch\nno /var/cache/demo\nno /mnt/src\nno /run/secrets/token\n"
    );
    // The cache directory outlives the build; --no-cache reruns and sees it.
    build(
        &h,
        ctx.path(),
        &["--no-cache", "-t", "mounted", "--secret", &secret_flag],
    )
    .ok();
    assert_eq!(run_in(&h, "mounted", "cat /cache-lines"), "2\n");
    // A changed bound file reruns its step.
    std::fs::write(ctx.path().join("src/input.txt"), "changed input\n").unwrap();
    let out = build(&h, ctx.path(), &["-t", "mounted", "--secret", &secret_flag]).ok();
    assert_eq!(
        out.stdout.matches("Using cache").count(),
        0,
        "{}",
        out.stdout
    );
    assert_eq!(run_in(&h, "mounted", "cat /from-bind"), "changed input\n");
    // The secret is in no layer, no history and no config.
    let history = h.run(&["history", "--no-trunc", "mounted"]).ok().stdout;
    let inspect = h.run(&["image", "inspect", "mounted"]).ok().stdout;
    assert!(!history.contains("s3cr3t") && !inspect.contains("s3cr3t"));
    // A required secret that was not given stops the build.
    let out = build(&h, ctx.path(), &["--no-cache"]).fails_with(125);
    assert!(out.stderr.contains("--secret id=token"), "{}", out.stderr);
    std::fs::remove_file(&secret).unwrap();
}

#[test]
fn proxy_build_args_reach_run_without_an_arg_line_or_a_trace() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[(
        "Containerfile",
        &format!("FROM {img}\nRUN echo \"$HTTP_PROXY $no_proxy\" > /seen\n"),
    )]);
    let proxied = |proxy: &str| {
        let http = format!("HTTP_PROXY={proxy}");
        build(
            &h,
            ctx.path(),
            &[
                "-t",
                "proxied",
                "--build-arg",
                &http,
                "--build-arg",
                "no_proxy=localhost",
            ],
        )
        .ok()
        .stdout
    };
    proxied("http://user:pw@proxy.invalid:3128");
    assert_eq!(
        run_in(&h, "proxied", "cat /seen"),
        "http://user:pw@proxy.invalid:3128 localhost\n"
    );
    // Docker's predefined args: in no history, no config...
    let history = h.run(&["history", "--no-trunc", "proxied"]).ok().stdout;
    let inspect = h.run(&["image", "inspect", "proxied"]).ok().stdout;
    assert!(
        !history.contains("proxy.invalid") && !inspect.contains("proxy.invalid"),
        "{history}\n{inspect}"
    );
    // ...and no cache key: another proxy makes the same image.
    let again = proxied("http://other.invalid:8080");
    assert_eq!(again.matches("Using cache").count(), 1, "{again}");
}

/// Behaviours podman's own 070-build tests check, one by one.
#[test]
fn podman_build_conventions() {
    let (_reg, h, img) = common::setup_with_busybox();
    // `build -`: the Containerfile on stdin, no context; the last step's
    // image is announced by COMMIT, IDs in 11 digits.
    let out = h
        .run_stdin(
            &["build", "-t", "fromstdin", "-"],
            format!("FROM {img}\nRUN echo from-stdin\n").as_bytes(),
        )
        .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[2], "from-stdin", "{}", out.stdout);
    assert_eq!(lines[3], "COMMIT fromstdin", "{}", out.stdout);
    assert!(
        lines[4].starts_with("--> ") && lines[4].len() == 15,
        "{}",
        out.stdout
    );
    // --layers=false and BUILDAH_LAYERS=false never use the cache.
    let again = h
        .run_stdin(
            &["build", "--layers=false", "-"],
            format!("FROM {img}\nRUN echo from-stdin\n").as_bytes(),
        )
        .ok();
    assert!(!again.stdout.contains("Using cache"), "{}", again.stdout);
    // -f names a file in the context; a missing one is named.
    let ctx = context(&[("Containerfile1", &format!("FROM {img}\n")), (".keep", "")]);
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = h.command(&[
        "build",
        "-f",
        "Containerfile1",
        ctx.path().to_str().unwrap(),
    ]);
    assert!(cmd.current_dir(cwd.path()).status().unwrap().success());
    let out = build(&h, ctx.path(), &["-f", "Containerfile2"]).fails_with(125);
    assert!(
        out.stderr
            .contains("Containerfile2: no such file or directory"),
        "{}",
        out.stderr
    );
    let empty = tempfile::tempdir().unwrap();
    let out = build(&h, empty.path(), &[]).fails_with(125);
    assert!(
        out.stderr.contains("Dockerfile: no such file or directory"),
        "{}",
        out.stderr
    );
    // --ignorefile, with Docker's rule for exceptions inside excluded
    // directories: only one spelled as a path inside reopens it.
    let ctx = context(&[
        ("test1", "x"),
        ("test2", "x"),
        ("sub1/a1", "x"),
        ("sub1/a3", "x"),
        ("sub2/a1", "x"),
        ("Containerfile", &format!("FROM {img}\nCOPY ./ /c/\n")),
    ]);
    let rules = ctx.path().join("../rules");
    std::fs::write(&rules, "test*\n!test2*\nsub1\nsub2\n!*/a1*\n!sub1/a3*\n").unwrap();
    build(
        &h,
        ctx.path(),
        &["-t", "ignored", "--ignorefile", rules.to_str().unwrap()],
    )
    .ok();
    let found = run_in(&h, "ignored", "cd /c && find . -type f | sort");
    assert_eq!(found, "./Containerfile\n./sub1/a1\n./sub1/a3\n./test2\n");
    std::fs::remove_file(&rules).unwrap();
    // --ulimit and --security-opt reach every RUN, and are part of its
    // cache key; --logfile takes all the output.
    let ctx = context(&[(
        "Containerfile",
        &format!("FROM {img}\nRUN grep Seccomp: /proc/self/status | tr -d ' \\t'\nRUN grep 'Max open files' /proc/self/limits | awk '{{print $4\":\"$5}}'\n"),
    )]);
    let out = build(&h, ctx.path(), &["--ulimit", "nofile=101:102"]).ok();
    assert!(
        out.stdout.contains("Seccomp:2") && out.stdout.contains("101:102"),
        "{}",
        out.stdout
    );
    let log = ctx.path().join("../build.log");
    build(
        &h,
        ctx.path(),
        &[
            "--security-opt",
            "seccomp=unconfined",
            "--logfile",
            log.to_str().unwrap(),
        ],
    )
    .ok();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("Seccomp:0") && logged.contains("COMMIT"),
        "{logged}"
    );
    std::fs::remove_file(&log).unwrap();
    // --pull-never: podman's wording for a base image that is not here.
    let ctx = context(&[(
        "Containerfile",
        "FROM quay.io/libpod/nosuchimage:nosuchtag\n",
    )]);
    let out = build(&h, ctx.path(), &["--pull-never"]).fails_with(125);
    assert!(
        out.stderr.contains("Error: creating build container: "),
        "{}",
        out.stderr
    );
    // COPY keeps hard links; ADD unpacks xz archives.
    let ctx = context(&[
        ("d/a", "linked\n"),
        (
            "Containerfile",
            &format!("FROM {img}\nCOPY d /d\nADD x.tar.xz /x/\n"),
        ),
    ]);
    std::fs::hard_link(ctx.path().join("d/a"), ctx.path().join("d/b")).unwrap();
    let status = std::process::Command::new("tar")
        .args(["-cJf", "x.tar.xz", "d"])
        .current_dir(ctx.path())
        .status()
        .unwrap();
    assert!(status.success());
    build(&h, ctx.path(), &["-t", "links"]).ok();
    let inodes = run_in(
        &h,
        "links",
        "stat -c %i /d/a /d/b | uniq | wc -l; cat /x/d/b",
    );
    assert_eq!(inodes, "1\nlinked\n");
}

#[test]
fn annotation_goes_on_the_manifest_cached_or_squashed() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[(
        "Containerfile",
        &format!("FROM {img}\nRUN echo one > /one\nRUN echo two > /two\nLABEL done=yes\n"),
    )]);
    let annotations = |name: &str| common::inspect(&h, name)["Annotations"].clone();
    build(&h, ctx.path(), &["-t", "plain"]).ok();
    assert!(
        annotations("plain").get("org.example.kind").is_none(),
        "{}",
        annotations("plain")
    );
    // The same steps with annotations: the cache of the plain build has
    // no image with them, so they are not lost to it.
    let flags = [
        "--annotation",
        "org.example.kind=demo",
        "--annotation",
        "org.example.empty",
    ];
    let mut args = flags.to_vec();
    args.extend(["-t", "annotated"]);
    build(&h, ctx.path(), &args).ok();
    let want = serde_json::json!({"org.example.kind": "demo", "org.example.empty": ""});
    assert_eq!(annotations("annotated"), want);
    assert_eq!(config(&h, "annotated")["Labels"]["done"], "yes");
    // A rebuild from the cache keeps them, and so does a squash.
    let out = build(&h, ctx.path(), &args).ok();
    assert!(out.stdout.contains("Using cache"), "{}", out.stdout);
    assert_eq!(annotations("annotated"), want);
    let mut args = flags.to_vec();
    args.extend(["--squash-all", "-t", "annotated-squashed"]);
    build(&h, ctx.path(), &args).ok();
    assert_eq!(annotations("annotated-squashed"), want);
}

#[test]
fn omit_history_leaves_the_image_history_empty() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[(
        "Containerfile",
        &format!("FROM {img}\nENV A=1\nRUN echo made > /made\nLABEL done=yes\n"),
    )]);
    let history = |name: &str| common::inspect(&h, name)["History"].clone();
    build(&h, ctx.path(), &["-t", "with-history"]).ok();
    assert!(
        history("with-history")
            .as_array()
            .is_some_and(|h| h.len() >= 3),
        "{}",
        history("with-history")
    );
    // The same steps, cached above, are made again without history.
    build(&h, ctx.path(), &["--omit-history", "-t", "no-history"]).ok();
    assert_eq!(history("no-history"), serde_json::json!([]));
    assert_eq!(run_in(&h, "no-history", "cat /made"), "made\n");
    assert_eq!(config(&h, "no-history")["Labels"]["done"], "yes");
    let steps = h.run(&["history", "--no-trunc", "no-history"]).ok().stdout;
    assert!(!steps.contains("echo made"), "{steps}");
}

/// The memory limit a container sees in its cgroup (v1 or v2), in bytes.
const READ_MEMORY_LIMIT: &str = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null \
     || cat /sys/fs/cgroup/memory.max";

#[test]
fn memory_limits_every_run() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[(
        "Containerfile",
        &format!("FROM {img}\nRUN ({READ_MEMORY_LIMIT}) > /limit\n"),
    )]);
    build(&h, ctx.path(), &["--memory", "96m", "-t", "limited"]).ok();
    assert_eq!(run_in(&h, "limited", "cat /limit"), "100663296\n");
    // -m, a cached step of another limit is not reused.
    build(&h, ctx.path(), &["-m", "64m", "-t", "limited"]).ok();
    assert_eq!(run_in(&h, "limited", "cat /limit"), "67108864\n");
    let out = build(&h, ctx.path(), &["--memory", "lots"]).fails_with(125);
    assert!(out.stderr.contains("invalid --memory"), "{}", out.stderr);
}

#[test]
fn volume_binds_host_directories_into_every_run_and_not_the_image() {
    let (_reg, h, img) = common::setup_with_busybox();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("input.txt"), "from the host\n").unwrap();
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "FROM {img}\n\
             RUN cat /mnt/vol/input.txt > /copied && echo written > /mnt/vol/output.txt\n\
             RUN mkdir -p /deep/a && echo x > /deep/a/f\n\
             RUN ls /deep/b/c > /seen-deep\n"
        ),
    )]);
    let vol = format!("{}:/mnt/vol", host.path().display());
    let deep = format!("{}:/deep/b/c:ro", host.path().display());
    build(
        &h,
        ctx.path(),
        &["-v", &vol, "--volume", &deep, "-t", "bound"],
    )
    .ok();
    assert_eq!(run_in(&h, "bound", "cat /copied"), "from the host\n");
    // Each RUN had both binds; the read-only one saw the first's output.
    assert_eq!(
        run_in(&h, "bound", "cat /seen-deep"),
        "input.txt\noutput.txt\n"
    );
    // The written file is on the host, and neither it nor the mount
    // points (nor the directories made on the way to them) are in the
    // image; a directory the image has stays.
    assert_eq!(
        std::fs::read_to_string(host.path().join("output.txt")).unwrap(),
        "written\n"
    );
    assert_eq!(
        run_in(
            &h,
            "bound",
            "for f in /mnt/vol /deep/b; do test -e $f && echo leaked $f; done; ls /deep"
        ),
        "a\n"
    );
    let out = build(&h, ctx.path(), &["-v", "relative:/x"]).fails_with(125);
    assert!(out.stderr.contains("--volume"), "{}", out.stderr);
}

#[test]
fn format_docker_makes_a_schema2_image_that_podman_pulls() {
    let (reg, h, img) = common::setup_with_busybox();
    hoist_testenv::require_root_and(&["podman"]);
    const DOCKER: &str = "application/vnd.docker.distribution.manifest.v2+json";
    let ctx = context(&[
        ("msg.txt", "docker format\n"),
        (
            "Containerfile",
            &format!(
                "FROM {img}\nCOPY msg.txt /msg.txt\nRUN echo ran > /ran\nCMD [\"cat\", \"/msg.txt\"]\n"
            ),
        ),
    ]);
    let manifest_type = |name: &str| common::inspect(&h, name)["ManifestType"].clone();
    build(&h, ctx.path(), &["-t", "as-oci"]).ok();
    assert_eq!(
        manifest_type("as-oci"),
        "application/vnd.oci.image.manifest.v1+json"
    );
    // The same steps, cached above as OCI images, are made again.
    build(&h, ctx.path(), &["--format", "docker", "-t", "as-docker"]).ok();
    assert_eq!(manifest_type("as-docker"), DOCKER);
    assert_eq!(
        run_in(&h, "as-docker", "cat /msg.txt /ran"),
        "docker format\nran\n"
    );
    build(
        &h,
        ctx.path(),
        &[
            "--format",
            "docker",
            "--squash-all",
            "-t",
            "squashed-docker",
        ],
    )
    .ok();
    assert_eq!(manifest_type("squashed-docker"), DOCKER);
    // A registry and podman take it as what it says it is.
    let target = reg.reference("built/docker:1");
    h.run(&["push", "as-docker", &target]).ok();
    let peer = common::podman::Podman::isolated();
    let podman = |args: &[&str]| peer.out(args);
    podman(&["pull", "--tls-verify=false", &target]);
    let seen = podman(&["image", "inspect", "--format", "{{.ManifestType}}", &target]);
    assert_eq!(seen, DOCKER);
    let ran = podman(&["run", "--rm", "--network", "none", &target]);
    assert_eq!(ran, "docker format");
    podman(&["rmi", "-a", "-f"]);
}

#[test]
fn a_run_heredoc_with_a_shebang_runs_as_a_script_file() {
    let (_reg, h, img) = common::setup_with_busybox();
    // The body is a file run directly: its interpreter line's argument
    // (-e) applies, $0 is the file, and the shell does not see the body as
    // a command line (`#!` lines would be comments to it).
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "FROM {img}\n\
             RUN <<EOT\n\
             #!/bin/sh -e\n\
             echo \"$0 $#\" > /ran\n\
             false\n\
             echo not reached >> /ran\n\
             EOT\n"
        ),
    )]);
    let out = build(&h, ctx.path(), &["-t", "script"]);
    // `sh -e` stops at `false`: the step fails with its code, nothing tagged.
    assert_eq!(out.code(), Some(1), "{out:?}");
    h.run(&["image", "exists", "script"]).fails_with(1);
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "FROM {img}\n\
             RUN <<EOT\n\
             #!/bin/sh -e\n\
             echo \"$0 $#\" > /ran\n\
             EOT\n\
             RUN <<EOT\n\
             echo by the shell > /shell\n\
             EOT\n"
        ),
    )]);
    build(&h, ctx.path(), &["-t", "script"]).ok();
    assert_eq!(
        run_in(&h, "script", "cat /ran /shell"),
        "/dev/pipes/EOT 0\nby the shell\n"
    );
    // The script's mount point is in the container's own /dev, not the image.
    assert_eq!(
        run_in(&h, "script", "test -e /dev/pipes || echo gone"),
        "gone\n"
    );
    let again = build(&h, ctx.path(), &["-t", "script"]).ok();
    assert_eq!(again.stdout.matches("Using cache").count(), 2, "{again:?}");
}

#[test]
fn pull_policies_choose_between_the_local_base_and_the_registrys() {
    let (reg, h, img) = common::setup_with_busybox();
    let base = reg.reference("pulltest:1");
    // The registry's base, v1 (no /version), then not kept locally.
    h.run(&["tag", &img, &base]).ok();
    h.run(&["push", "-q", &base]).ok();
    h.run(&["rmi", &base]).ok();
    let ctx = context(&[(
        "Containerfile",
        &format!("FROM {base}\nRUN cat /version 2>/dev/null > /seen; true\n"),
    )]);
    // never: no local base is an error; missing: pulls it.
    build(&h, ctx.path(), &["--pull=never", "-t", "p"]).fails_with(125);
    build(&h, ctx.path(), &["--pull=missing", "-t", "p"]).ok();
    assert_eq!(run_in(&h, "p", "cat /seen"), "");
    // The registry's base becomes v2; the local one stays v1.
    h.run(&[
        "run",
        "--name",
        "v2",
        "--network",
        "none",
        &img,
        "sh",
        "-c",
        "echo v2 > /version",
    ])
    .ok();
    let v2 = reg.reference("pulltest:v2");
    h.run(&["commit", "-q", "v2", &v2]).ok();
    h.run(&["push", "-q", &v2, &base]).ok();
    h.run(&["rm", "v2"]).ok();
    // missing and never keep the local v1 base (the step comes from the cache).
    build(&h, ctx.path(), &["--pull=missing", "-t", "p"]).ok();
    assert_eq!(run_in(&h, "p", "cat /seen"), "");
    build(&h, ctx.path(), &["--pull=never", "-t", "p"]).ok();
    assert_eq!(run_in(&h, "p", "cat /seen"), "");
    // newer and always take the registry's v2.
    build(&h, ctx.path(), &["--pull=newer", "-t", "p"]).ok();
    assert_eq!(run_in(&h, "p", "cat /seen"), "v2\n");
    h.run(&["tag", &img, &base]).ok();
    build(&h, ctx.path(), &["--pull=always", "-t", "p"]).ok();
    assert_eq!(run_in(&h, "p", "cat /seen"), "v2\n");
}

#[test]
fn maintainer_sets_the_author_and_dockerignore_applies_without_containerignore() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[
        (
            "Containerfile",
            &format!("FROM {img}\nMAINTAINER Ada <ada@example.org>\nCOPY . /ctx/\n"),
        ),
        (".dockerignore", "secret.txt\n*.log\n!keep.log\n"),
        ("secret.txt", "no\n"),
        ("a.log", "no\n"),
        ("keep.log", "yes\n"),
        ("main.c", "int main(void) { return 0; }\n"),
    ]);
    build(&h, ctx.path(), &["-t", "authored"]).ok();
    let author = h
        .run(&["image", "inspect", "-f", "{{.Author}}", "authored"])
        .ok()
        .stdout;
    assert_eq!(author, "Ada <ada@example.org>\n");
    let listed = run_in(&h, "authored", "ls /ctx");
    assert_eq!(listed, "Containerfile\nkeep.log\nmain.c\n");
}

#[test]
fn resource_flags_shape_every_run() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "FROM {img}\n\
             RUN df -k /dev/shm | awk 'NR==2{{print $2}}' > /shm\n\
             RUN test -c /dev/extra-full && echo device > /device\n\
             RUN cd /sys/fs/cgroup && cat cpu/cpu.shares cpu/cpu.cfs_period_us cpu/cpu.cfs_quota_us \
                 cpuset/cpuset.cpus cpuset/cpuset.mems memory/memory.memsw.limit_in_bytes > /cgroup\n"
        ),
    )]);
    build(
        &h,
        ctx.path(),
        &[
            "--shm-size",
            "128m",
            "--device",
            "/dev/full:/dev/extra-full",
            "-c",
            "512",
            "--cpu-period",
            "50000",
            "--cpu-quota",
            "25000",
            "--cpuset-cpus",
            "0",
            "--cpuset-mems",
            "0",
            "--memory",
            "64m",
            "--memory-swap",
            "128m",
            "-t",
            "shaped",
        ],
    )
    .ok();
    assert_eq!(
        run_in(&h, "shaped", "cat /shm /device /cgroup"),
        "131072\ndevice\n512\n50000\n25000\n0\n0\n134217728\n"
    );
    let out = build(&h, ctx.path(), &["--shm-size", "lots"]).fails_with(125);
    assert!(out.stderr.contains("invalid --shm-size"), "{}", out.stderr);
    let out = build(&h, ctx.path(), &["--memory-swap", "x"]).fails_with(125);
    assert!(
        out.stderr.contains("invalid --memory-swap"),
        "{}",
        out.stderr
    );
    let out = build(&h, ctx.path(), &["--device", "/dev/no-such-device"]).fails_with(125);
    assert!(out.stderr.contains("/dev/no-such-device"), "{}", out.stderr);
}

#[test]
fn cgroup_parent_places_every_run_below_it() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[(
        "Containerfile",
        &format!("FROM {img}\nRUN cat /proc/self/cgroup > /cgroup\n"),
    )]);
    build(
        &h,
        ctx.path(),
        &[
            "--cgroupns",
            "host",
            "--cgroup-parent",
            "/buildparent",
            "-t",
            "parented",
        ],
    )
    .ok();
    let cg = run_in(&h, "parented", "cat /cgroup");
    assert!(cg.contains("/buildparent/hoist-"), "{cg}");
    let out = build(&h, ctx.path(), &["--cgroup-parent", "a/../../b"]).fails_with(125);
    assert!(
        out.stderr.contains("invalid --cgroup-parent"),
        "{}",
        out.stderr
    );
    let out = build(&h, ctx.path(), &["--cgroupns", "sideways"]).fails_with(125);
    assert!(out.stderr.contains("invalid --cgroupns"), "{}", out.stderr);
    hoist_testenv::leftovers::remove_cgroup_parent("/buildparent");
}

#[test]
fn namespace_flags_let_every_run_share_the_hosts() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "FROM {img}\n\
             RUN cat /proc/1/comm > /pid1 && hostname > /hostname && readlink /proc/self/ns/ipc > /ipc\n"
        ),
    )]);
    let host_ipc = std::fs::read_link("/proc/self/ns/ipc").unwrap();
    let expected = format!(
        "{}{}{}\n",
        std::fs::read_to_string("/proc/1/comm").unwrap(),
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_ipc.display()
    );
    build(
        &h,
        ctx.path(),
        &[
            "--pid", "host", "--uts", "host", "--ipc", "host", "-t", "shared",
        ],
    )
    .ok();
    assert_eq!(run_in(&h, "shared", "cat /pid1 /hostname /ipc"), expected);
    // buildah's bare path: the namespace at that path is joined.
    build(
        &h,
        ctx.path(),
        &["--ipc", "/proc/self/ns/ipc", "-t", "joined"],
    )
    .ok();
    assert_eq!(
        run_in(&h, "joined", "cat /ipc"),
        format!("{}\n", host_ipc.display())
    );
    // Without the flags every RUN has its own.
    build(&h, ctx.path(), &["-t", "private"]).ok();
    assert_ne!(run_in(&h, "private", "cat /pid1 /hostname /ipc"), expected);
    let out = build(&h, ctx.path(), &["--pid", "bogus"]).fails_with(125);
    assert!(out.stderr.contains("invalid --pid"), "{}", out.stderr);
}

#[test]
fn no_hosts_leaves_run_the_images_own_etc_hosts() {
    let (_reg, h, img) = common::setup_with_busybox();
    let hosts = "127.0.0.1 localhost\n10.9.8.7 from-the-image\n";
    let ctx = context(&[
        (
            "Containerfile",
            &format!("FROM {img}\nCOPY hosts /etc/hosts\nRUN cat /etc/hosts > /seen\n"),
        ),
        ("hosts", hosts),
    ]);
    build(&h, ctx.path(), &["--no-hosts", "-t", "own-hosts"]).ok();
    assert_eq!(run_in(&h, "own-hosts", "cat /seen"), hosts);
    // Without it the RUN sees the hosts file hoist writes.
    build(&h, ctx.path(), &["-t", "written-hosts"]).ok();
    assert_ne!(run_in(&h, "written-hosts", "cat /seen"), hosts);
    let out = build(&h, ctx.path(), &["--no-hosts", "--add-host", "x:10.0.0.1"]).fails_with(125);
    assert!(out.stderr.contains("--no-hosts"), "{}", out.stderr);
}

#[test]
fn unsetenv_takes_variables_out_of_the_final_image() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[(
        "Containerfile",
        &format!("FROM {img}\nENV KEEP=1 DROP=2 ALSO=3\nRUN echo \"$DROP\" > /seen\n"),
    )]);
    build(
        &h,
        ctx.path(),
        &[
            "--unsetenv",
            "DROP",
            "--unsetenv",
            "ALSO,PATH",
            "-t",
            "unset",
        ],
    )
    .ok();
    let env: Vec<String> = config(&h, "unset")["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    assert!(env.contains(&"KEEP=1".to_string()), "{env:?}");
    assert!(
        !env.iter()
            .any(|e| e.starts_with("DROP=") || e.starts_with("ALSO=") || e.starts_with("PATH=")),
        "{env:?}"
    );
    // The RUN before still had it.
    assert_eq!(
        h.run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "unset",
            "/bin/cat",
            "/seen"
        ])
        .ok()
        .stdout,
        "2\n"
    );
}

#[test]
fn from_replaces_the_first_stages_base_image() {
    let (_reg, h, img) = common::setup_with_busybox();
    let base = context(&[(
        "Containerfile",
        &format!("FROM {img}\nRUN echo marked > /marker\n"),
    )]);
    build(&h, base.path(), &["-t", "marked-base"]).ok();
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "FROM {img} AS first\n\
             RUN cat /marker > /seen\n\
             FROM {img}\n\
             COPY --from=first /seen /seen\n\
             RUN test ! -e /marker && echo plain > /second\n"
        ),
    )]);
    let out = build(&h, ctx.path(), &["--from", "marked-base", "-t", "from"]).ok();
    assert!(out.stdout.contains("FROM marked-base AS first"), "{out:?}");
    assert_eq!(run_in(&h, "from", "cat /seen /second"), "marked\nplain\n");
    // Without it the first stage has no /marker.
    build(&h, ctx.path(), &[]).fails_with(1);
}

#[test]
fn os_arch_and_variant_choose_the_platform_as_platform_does() {
    let (_reg, h, img) = common::setup_with_busybox();
    let host = hoist_image::platform::Platform::host();
    let ctx = context(&[("Containerfile", &format!("FROM {img}\nRUN true\n"))]);
    build(
        &h,
        ctx.path(),
        &[
            "--os",
            &host.os,
            "--arch",
            &host.architecture,
            "-t",
            "native",
        ],
    )
    .ok();
    let image = common::inspect(&h, "native");
    assert_eq!(image["Os"], host.os.as_str());
    assert_eq!(image["Architecture"], host.architecture.as_str());
    let foreign = if host.architecture == "amd64" {
        "arm64"
    } else {
        "amd64"
    };
    let out = build(&h, ctx.path(), &["--arch", foreign, "-t", "foreign"]).fails_with(125);
    let said = format!("--platform linux/{foreign}: hoist builds for this host's platform");
    assert!(out.stderr.contains(&said), "{}", out.stderr);
    // --arch over --platform.
    let out = build(
        &h,
        ctx.path(),
        &["--platform", &host.to_string(), "--arch", foreign],
    )
    .fails_with(125);
    assert!(out.stderr.contains(&said), "{}", out.stderr);
    let out = build(&h, ctx.path(), &["--os", "windows"]).fails_with(125);
    assert!(out.stderr.contains("not for windows/"), "{}", out.stderr);
    h.run(&["image", "exists", "foreign"]).fails_with(1);
}

#[test]
fn stdin_reaches_every_run() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[("Containerfile", &format!("FROM {img}\nRUN cat > /got\n"))]);
    let dir = ctx.path().to_str().unwrap();
    let args = ["build", "--network", "none", "--stdin", "-t", "fed", dir];
    h.run_stdin(&args, b"hi\n").ok();
    assert_eq!(run_in(&h, "fed", "cat /got"), "hi\n");
    // Without it the RUN reads nothing.
    let args = ["build", "--network", "none", "-t", "unfed", dir];
    h.run_stdin(&args, b"hi\n").ok();
    assert_eq!(run_in(&h, "unfed", "cat /got"), "");
}

#[test]
fn rm_and_force_rm_are_what_hoist_does_and_false_is_refused() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ok = context(&[("Containerfile", &format!("FROM {img}\nRUN true\n"))]);
    let failing = context(&[("Containerfile", &format!("FROM {img}\nRUN exit 3\n"))]);
    build(&h, ok.path(), &["--rm", "--force-rm", "-t", "removed"]).ok();
    assert_eq!(h.run(&["ps", "-a", "-q"]).ok().stdout, "");
    build(&h, failing.path(), &["--rm=true", "--force-rm=true"]).fails_with(3);
    assert_eq!(h.run(&["ps", "-a", "-q"]).ok().stdout, "");
    for (flag, said) in [
        ("--rm=false", "--rm=false: hoist does not keep"),
        ("--force-rm=false", "--force-rm=false: hoist removes"),
        ("--rm=maybe", "invalid --rm \"maybe\""),
    ] {
        let out = build(&h, ok.path(), &[flag]).fails_with(125);
        assert!(out.stderr.contains(said), "{flag}: {}", out.stderr);
    }
}

#[test]
fn skip_unused_stages_false_builds_every_stage_up_to_the_target() {
    let (_reg, h, img) = common::setup_with_busybox();
    let marks = tempfile::tempdir().unwrap();
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "FROM {img} AS unused\n\
             RUN touch /marks/unused\n\
             FROM {img} AS target\n\
             RUN touch /marks/target\n\
             FROM {img} AS after\n\
             RUN touch /marks/after\n"
        ),
    )]);
    let vol = format!("{}:/marks", marks.path().display());
    let ran = |flags: &[&str]| {
        for f in std::fs::read_dir(marks.path()).unwrap() {
            std::fs::remove_file(f.unwrap().path()).unwrap();
        }
        let mut args = vec!["--no-cache", "-v", &vol, "--target", "target"];
        args.extend_from_slice(flags);
        build(&h, ctx.path(), &args).ok();
        let mut names: Vec<String> = std::fs::read_dir(marks.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(ran(&[]), ["target"]);
    assert_eq!(ran(&["--skip-unused-stages"]), ["target"]);
    assert_eq!(ran(&["--skip-unused-stages=false"]), ["target", "unused"]);
}

#[test]
fn isolation_hooks_dir_and_compression_flags_say_what_hoist_does() {
    let (_reg, mut h, img) = common::setup_with_busybox();
    let ctx = context(&[("Containerfile", &format!("FROM {img}\nRUN echo x > /x\n"))]);
    let hooks = tempfile::tempdir().unwrap();
    let hooks_dir = hooks.path().to_str().unwrap();
    build(
        &h,
        ctx.path(),
        &[
            "--isolation",
            "oci",
            "-D",
            "--disable-compression=false",
            "--compress",
            "--hooks-dir",
            hooks_dir,
            "-t",
            "accepted",
        ],
    )
    .ok();
    assert_eq!(run_in(&h, "accepted", "cat /x"), "x\n");
    for isolation in ["chroot", "rootless"] {
        let out = build(&h, ctx.path(), &["--isolation", isolation]).fails_with(125);
        assert!(
            out.stderr.contains(&format!(
                "--isolation {isolation}: hoist runs every RUN in an OCI container"
            )),
            "{}",
            out.stderr
        );
    }
    let out = build(&h, ctx.path(), &["--isolation", "vm"]).fails_with(125);
    assert!(out.stderr.contains("invalid --isolation"), "{}", out.stderr);
    // buildah's variable sets the default.
    h.env("BUILDAH_ISOLATION", "chroot");
    build(&h, ctx.path(), &[]).fails_with(125);
    build(&h, ctx.path(), &["--isolation", "oci"]).ok();
    h.env_remove("BUILDAH_ISOLATION");
    std::fs::write(hooks.path().join("hook.json"), "{}").unwrap();
    let out = build(&h, ctx.path(), &["--hooks-dir", hooks_dir]).fails_with(125);
    assert!(
        out.stderr.contains("hoist does not run OCI hooks"),
        "{}",
        out.stderr
    );
}

#[test]
fn runtime_flag_reaches_every_runs_runtime() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[("Containerfile", &format!("FROM {img}\nRUN echo ran\n"))]);
    let out = build(&h, ctx.path(), &["--runtime-flag", "invalidflag"]).fails_with(1);
    assert!(out.stderr.contains("--invalidflag"), "{}", out.stderr);
    // One the built-in runtime takes.
    let out = build(
        &h,
        ctx.path(),
        &["--runtime-flag", "debug", "-t", "flagged"],
    )
    .ok();
    assert!(out.stdout.contains("ran"), "{out:?}");
}

/// A registry that answers every request with 503; counts the requests.
fn unavailable_registry() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = requests.clone();
    std::thread::spawn(move || {
        for mut sock in listener.incoming().flatten() {
            let mut head = [0u8; 4096];
            let n = sock.read(&mut head).unwrap_or(0);
            // TLS handshakes (hoist tries HTTPS first) are not requests.
            if head[..n].starts_with(b"GET ") {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            let _ = sock.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (addr, requests)
}

#[test]
fn retry_and_retry_delay_govern_base_image_pulls() {
    let (_reg, h, _img) = common::setup_with_busybox();
    let (addr, requests) = unavailable_registry();
    let ctx = context(&[("Containerfile", &format!("FROM {addr}/base:1\nRUN true\n"))]);
    let attempt = |flags: &[&str]| {
        requests.store(0, std::sync::atomic::Ordering::SeqCst);
        let mut args = vec!["--tls-verify=false"];
        args.extend_from_slice(flags);
        let out = build(&h, ctx.path(), &args);
        assert!(!out.success(), "{out:?}");
        requests.load(std::sync::atomic::Ordering::SeqCst)
    };
    // Each request the pull makes is sent once, then three times. (That
    // the delay reaches the client's policy is the engine's unit test.)
    let once = attempt(&["--retry", "0"]);
    let thrice = attempt(&["--retry", "2", "--retry-delay", "100ms"]);
    assert!(once >= 1, "{once}");
    assert_eq!(thrice, 3 * once);
    let out = build(&h, ctx.path(), &["--retry-delay", "soon"]).fails_with(125);
    assert!(
        out.stderr.contains("invalid --retry-delay"),
        "{}",
        out.stderr
    );
}

/// The members of a tar archive and the content of `file` in it.
fn tar_members(bytes: &[u8], file: &str) -> (Vec<String>, String) {
    use std::io::Read;
    let mut names = Vec::new();
    let mut content = String::new();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if name.trim_start_matches("./") == file {
            entry.read_to_string(&mut content).unwrap();
        }
        names.push(name);
    }
    (names, content)
}

#[test]
fn output_writes_the_images_files_to_a_directory_or_a_tar() {
    use std::os::unix::fs::PermissionsExt;
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[(
        "Containerfile",
        &format!(
            "FROM {img}\nRUN mkdir /made && echo content > /made/file && chmod 750 /made && echo ran-the-step\n"
        ),
    )]);
    let out_dir = tempfile::tempdir().unwrap();
    for (spec, dir) in [
        (
            format!("type=local,dest={}/local", out_dir.path().display()),
            "local",
        ),
        (format!("{}/bare", out_dir.path().display()), "bare"),
    ] {
        build(&h, ctx.path(), &["-o", &spec, "-t", "exported"]).ok();
        let root = out_dir.path().join(dir);
        assert_eq!(
            std::fs::read_to_string(root.join("made/file")).unwrap(),
            "content\n"
        );
        let mode = std::fs::metadata(root.join("made"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o750);
        assert!(root.join("bin/busybox").is_file());
    }
    // The image is made as well, and not left mounted.
    assert_eq!(run_in(&h, "exported", "cat /made/file"), "content\n");
    assert_eq!(h.run(&["image", "mount"]).ok().stdout, "");
    let tar = out_dir.path().join("root.tar");
    let spec = format!("type=tar,dest={}", tar.display());
    build(&h, ctx.path(), &["--output", &spec]).ok();
    let (names, content) = tar_members(&std::fs::read(&tar).unwrap(), "made/file");
    assert_eq!(content, "content\n");
    assert!(
        names.iter().any(|n| n.ends_with("bin/busybox")),
        "{names:?}"
    );
    // To standard output: the archive alone, the build's output (RUN's
    // included) on standard error.
    for spec in ["-", "type=tar,dest=-"] {
        let out = build(&h, ctx.path(), &["--no-cache", "-o", spec]).ok();
        let (_, content) = tar_members(&out.stdout_bytes, "made/file");
        assert_eq!(content, "content\n");
        assert!(out.stderr.contains("ran-the-step"), "{}", out.stderr);
        assert!(out.stderr.contains("STEP 2/2"), "{}", out.stderr);
    }
    for bad in ["type=oci,dest=x", "type=tar", "type=local,dest=-"] {
        let out = build(&h, ctx.path(), &["-o", bad]).fails_with(125);
        assert!(out.stderr.contains("invalid --output"), "{}", out.stderr);
    }
}

#[test]
fn identity_label_marks_built_images_unless_turned_off() {
    let (_reg, h, img) = common::setup_with_busybox();
    let ctx = context(&[(
        "Containerfile",
        &format!("FROM {img} AS first\nRUN true\nFROM first\n"),
    )]);
    build(&h, ctx.path(), &["-t", "labelled"]).ok();
    assert_eq!(
        config(&h, "labelled")["Labels"]["io.buildah.version"],
        "1.28.2"
    );
    for flag in ["--identity-label=false", "--identity-label=0"] {
        build(&h, ctx.path(), &[flag, "-t", "unlabelled"]).ok();
        let labels = &config(&h, "unlabelled")["Labels"];
        assert!(labels.get("io.buildah.version").is_none(), "{labels}");
    }
    // A build that adds nothing but the label still makes an image.
    let bare = context(&[(
        "Containerfile",
        &format!(
            "FROM {img}
"
        ),
    )]);
    build(&h, bare.path(), &["-t", "bare"]).ok();
    assert_ne!(
        common::inspect(&h, "bare")["Id"],
        common::inspect(&h, &img)["Id"]
    );
    assert_eq!(config(&h, "bare")["Labels"]["io.buildah.version"], "1.28.2");
    build(&h, ctx.path(), &["--identity-label=maybe"]).fails_with(125);
}
