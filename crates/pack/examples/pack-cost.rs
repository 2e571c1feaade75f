//! Update costs without a store, for planning experiments and for the
//! baselines of `bench/pack.sh`: packs OLD and NEW (layers are only
//! hashed, never kept) and prints what a client holding OLD downloads to
//! get NEW, next to the per-file ideal.
//!
//! cargo run --release -p hoist-pack --example pack-cost -- \
//!     [--layers N | --per-component] [--prior] [--sde T] [-v] OLD NEW
//!
//! Prints one JSON object: bytes and layers downloaded, the ideal (a
//! hardlinked file's content once), the ideal counting each name, and the
//! ideal counting files whose modification time changed.

use std::collections::HashSet;
use std::path::PathBuf;

use hoist_pack::plan::one_per_component;
use hoist_pack::{analyze, ideal, write_layer, Analysis, PlannedLayer, PriorLayout, WriteOptions};

fn main() {
    let mut layers = 64usize;
    let mut per_component = false;
    let mut prior = false;
    let mut sde = None;
    let mut verbose = false;
    let mut roots = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--layers" => {
                layers = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--layers N")
            }
            "--per-component" => per_component = true,
            "--prior" => prior = true,
            "-v" => verbose = true,
            "--sde" => sde = args.next().and_then(|v| v.parse().ok()),
            _ => roots.push(PathBuf::from(a)),
        }
    }
    assert_eq!(roots.len(), 2, "usage: pack-cost [options] OLD NEW");
    let opts = WriteOptions {
        source_date_epoch: sde,
        level: 6,
    };
    let old = analyze(&roots[0], layers).expect("analyzing OLD");
    let new = analyze(&roots[1], layers).expect("analyzing NEW");
    let plan_of = |a: &Analysis, p: Option<&PriorLayout>| {
        if per_component {
            one_per_component(&a.components)
        } else {
            a.plan(layers, p)
        }
    };
    let old_layers = pack(&old, &plan_of(&old, None), &opts);
    let prior_layout = PriorLayout {
        layers: old_layers.iter().map(|l| l.2.clone()).collect(),
    };
    let new_layers = pack(&new, &plan_of(&new, prior.then_some(&prior_layout)), &opts);
    let have: HashSet<&String> = old_layers.iter().map(|l| &l.0).collect();
    let (mut bytes, mut count) = (0, 0);
    for (digest, size, ids) in &new_layers {
        if !have.contains(digest) {
            bytes += size;
            count += 1;
            if verbose {
                eprintln!("changed {size:>10} {}", ids.join(","));
            }
        }
    }
    let base = ideal::IdealOptions::default();
    let ideal = ideal::ideal_update(&old.tree, &new.tree, &base).expect("ideal");
    let per_path = ideal::IdealOptions {
        links_once: false,
        ..base
    };
    let per_path = ideal::ideal_update(&old.tree, &new.tree, &per_path).expect("ideal");
    let times = ideal::IdealOptions {
        mtimes: true,
        ..base
    };
    let times = ideal::ideal_update(&old.tree, &new.tree, &times).expect("ideal");
    println!(
        "{{\"bytes\": {bytes}, \"layers\": {count}, \"old_layers\": {}, \"new_layers\": {}, \
         \"ideal\": {}, \"ideal_content\": {}, \"ideal_entries\": {}, \"ideal_per_path\": {}, \
         \"ideal_with_mtimes\": {}}}",
        old_layers.len(),
        new_layers.len(),
        ideal.bytes,
        ideal.content_bytes,
        ideal.entries,
        per_path.bytes,
        times.bytes
    );
}

/// (digest, compressed size, component ids) of each layer.
fn pack(
    a: &Analysis,
    plan: &[PlannedLayer],
    opts: &WriteOptions,
) -> Vec<(String, u64, Vec<String>)> {
    plan.iter()
        .map(|l| {
            let w =
                write_layer(&a.tree, &a.layer_nodes(l), opts, std::io::sink()).expect("writing");
            (w.digest.to_string(), w.size, a.layer_ids(l))
        })
        .collect()
}
