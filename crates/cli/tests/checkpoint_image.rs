//! `container checkpoint --create-image` and `container restore IMAGE`
//! with real CRIU: a running counter checkpointed into an image, pushed
//! to a real registry, pulled into another root and restored there by
//! name, where it counts on from where it was. Needs root, CRIU 4.x (see
//! scripts/install-criu.sh) and the test registry.

mod common;

use common::criu::{counted, require_criu, wait_counted};

/// Counts in a variable (process memory) and prints each value.
const COUNTER: &str = "i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done";

#[test]
fn a_checkpoint_image_travels_through_a_registry_and_restores_by_name() {
    require_criu();
    let (reg, hoist, image) = common::setup_with_busybox();
    hoist
        .run(&["run", "-d", "--name", "count", &image, "sh", "-c", COUNTER])
        .ok();
    wait_counted(&hoist, "count", 3);
    let out = hoist
        .run(&[
            "container",
            "checkpoint",
            "--create-image",
            "count-checkpoint",
            "count",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "count");
    let last = *counted(&hoist, "count").last().unwrap();
    // podman's annotations say what the image holds.
    let inspected = common::inspect(&hoist, "count-checkpoint");
    let annotations = &inspected["Annotations"];
    assert_eq!(
        annotations["io.podman.annotations.checkpoint.name"], "count",
        "{inspected}"
    );
    assert_eq!(
        annotations["io.podman.annotations.checkpoint.rawImageName"],
        image.as_str()
    );
    assert_eq!(
        inspected["RootFS"]["Layers"].as_array().unwrap().len(),
        1,
        "{inspected}"
    );
    // Restored by name in the same root, as a new container.
    let out = hoist
        .run(&["container", "restore", "-n", "again", "count-checkpoint"])
        .ok();
    let again = out.stdout.trim().to_string();
    assert_eq!(again.len(), 64, "{}", out.stdout);
    wait_counted(&hoist, "again", 3);
    let first = counted(&hoist, "again")[0];
    assert!(
        first > last,
        "the restored copy started over: {first} after {last}"
    );
    hoist.run(&["rm", "-f", "-t", "0", "again"]).ok();

    // Through the registry into another root: pushed, pulled, restored.
    let remote = reg.reference("checkpoints/count:1");
    hoist
        .run(&["push", "--tls-verify=false", "count-checkpoint", &remote])
        .ok();
    let other = common::hoist_for(&reg);
    other.run(&["pull", &image]).ok();
    other.run(&["pull", "--tls-verify=false", &remote]).ok();
    other.run(&["container", "restore", &remote]).ok();
    wait_counted(&other, "count", 3);
    let first = counted(&other, "count")[0];
    assert!(
        first > last,
        "the migrated container started over: {first} after {last}"
    );
    let state = other
        .run(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.Restored}}",
            "count",
        ])
        .ok();
    assert_eq!(state.stdout.trim(), "running true");

    // An ordinary image is not a checkpoint: restore says there is no
    // such container.
    let plain = other.run(&["container", "restore", &image]).fails_with(125);
    assert!(
        plain.stderr.contains("no such container"),
        "{}",
        plain.stderr
    );
    // Only one container per checkpoint image.
    hoist
        .run(&["run", "-d", "--name", "second", &image, "sleep", "1000"])
        .ok();
    let two = hoist
        .run(&[
            "container",
            "checkpoint",
            "--create-image",
            "both",
            "count",
            "second",
        ])
        .fails_with(125);
    assert!(
        two.stderr.contains("exactly one container"),
        "{}",
        two.stderr
    );
    other.run(&["rm", "-fa", "-t", "0"]).ok();
    hoist.run(&["rm", "-fa", "-t", "0"]).ok();
}
