//! `build --jobs N`: stages whose dependencies are built run at once, in
//! waves of at most N. Each stage announces
//! its own steps, so lines of two stages may interleave (as with buildah's
//! `--jobs`); the images are the ones a build of one stage after another
//! makes, and so is the cache.

use std::collections::BTreeMap;

use super::error::{BuildError, Result};
use super::output::Output;
use super::stage::{self, BuildContext};

/// Builds the `wanted` stages (file order, the target last), each after
/// the stages `deps` names; the image (ID hex) of each.
pub(crate) fn run_stages(
    ctx: &BuildContext<'_>,
    wanted: &[usize],
    deps: &BTreeMap<usize, Vec<usize>>,
    jobs: usize,
    out: &mut Output,
) -> Result<BTreeMap<usize, String>> {
    let last = *wanted.last().expect("a target stage");
    let position: BTreeMap<usize, usize> = wanted
        .iter()
        .enumerate()
        .map(|(p, &i)| (i, p + 1))
        .collect();
    let mut results: BTreeMap<usize, String> = BTreeMap::new();
    let mut pending: Vec<usize> = wanted.to_vec();
    while !pending.is_empty() {
        // Dependencies outside the build (a variable --from that names no
        // stage it needs) do not hold a stage back.
        let ready: Vec<usize> = pending
            .iter()
            .copied()
            .filter(|i| {
                deps[i]
                    .iter()
                    .all(|d| results.contains_key(d) || !position.contains_key(d))
            })
            .collect();
        // Stages only depend on earlier ones, so the first pending stage
        // is always ready.
        let wave = &ready[..jobs.clamp(1, ready.len())];
        let built = run_wave(ctx, wave, &position, last, &results, out)?;
        pending.retain(|i| !wave.contains(i));
        results.extend(built);
    }
    Ok(results)
}

/// Builds the stages of `wave` at once; the first failure is returned once
/// every stage of the wave has ended (each removes its own containers).
fn run_wave(
    ctx: &BuildContext<'_>,
    wave: &[usize],
    position: &BTreeMap<usize, usize>,
    last: usize,
    results: &BTreeMap<usize, String>,
    out: &mut Output,
) -> Result<Vec<(usize, String)>> {
    if let [only] = wave {
        let image = build_one(ctx, *only, position[only], last, results, out)?;
        return Ok(vec![(*only, image)]);
    }
    let outcomes: Vec<(usize, Result<String>)> = std::thread::scope(|s| {
        let threads: Vec<_> = wave
            .iter()
            .map(|&i| {
                let mut own = out.for_another_stage();
                let at = position[&i];
                (
                    i,
                    s.spawn(move || build_one(ctx, i, at, last, results, &mut own)),
                )
            })
            .collect();
        threads
            .into_iter()
            .map(|(i, t)| (i, t.join().expect("a stage thread does not panic")))
            .collect()
    });
    let mut built = Vec::new();
    let mut first_error: Option<BuildError> = None;
    for (i, outcome) in outcomes {
        match outcome {
            Ok(image) => built.push((i, image)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(built),
    }
}

fn build_one(
    ctx: &BuildContext<'_>,
    index: usize,
    position: usize,
    last: usize,
    results: &BTreeMap<usize, String>,
    out: &mut Output,
) -> Result<String> {
    let base = ctx
        .file
        .resolve_base(index, ctx.global)
        .map_err(|source| BuildError::Stage {
            file: ctx.options.file_name.clone(),
            source,
        })?;
    stage::run_stage(ctx, index, position, base, results, index == last, out)
}
