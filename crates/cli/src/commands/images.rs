//! `images`, `rmi`, `tag`, `untag`, `inspect`, `image exists`, `image prune`.

use anyhow::Result;
use hoist_engine::{Engine, EngineError, ImageFilter, ImageSummary};
use serde_json::{json, Value};

use crate::cli::{ImagesArgs, InspectArgs, PruneArgs, RmiArgs, TagArgs, UntagArgs};
use crate::exit::ExitWith;
use crate::output::{self, human_age, human_size, Format};

pub fn list(engine: &Engine, a: ImagesArgs) -> Result<i32> {
    let mut filters = a
        .filter
        .iter()
        .map(|f| f.parse::<ImageFilter>())
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(name) = &a.image {
        filters.push(ImageFilter::Reference(name.clone()));
    }
    let mut images = engine.list_images_filtered(&filters)?;
    if !a.all {
        images.retain(|i| !i.intermediate);
    }
    if a.quiet {
        let mut seen = std::collections::HashSet::new();
        for i in &images {
            let id = if a.no_trunc {
                format!("sha256:{}", i.id)
            } else {
                i.id[..12].to_string()
            };
            if seen.insert(id.clone()) {
                println!("{id}");
            }
        }
        return Ok(0);
    }
    let mut rows: Vec<Value> = images.iter().flat_map(|i| rows(i, a.no_trunc)).collect();
    sort_rows(&mut rows, &a.sort);
    match Format::parse(a.format.as_deref())? {
        Format::Json => output::print_json(&images)?,
        Format::Template(t) if t.is_table() => {
            // podman's column names; the rows aligned under them.
            let names = std::collections::HashMap::from([
                ("ID", "IMAGE ID"),
                ("CreatedSince", "CREATED"),
                ("ReadOnly", "R/O"),
            ]);
            let mut lines = vec![t.header_with(&names)];
            for r in &rows {
                lines.push(t.render(r)?);
            }
            let aligned = output::aligned(&lines);
            for line in aligned.iter().skip(usize::from(a.noheading)) {
                println!("{line}");
            }
        }
        Format::Template(t) => output::print_template(&t, &rows)?,
        Format::Default => {
            let mut header = "REPOSITORY\tTAG".to_string();
            if a.digests {
                header.push_str("\tDIGEST");
            }
            header.push_str("\tIMAGE ID\tCREATED\tSIZE");
            let mut lines = vec![header];
            for r in &rows {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                let mut line = format!("{}\t{}", s("Repository"), s("Tag"));
                if a.digests {
                    line.push_str(&format!("\t{}", s("Digest")));
                }
                line.push_str(&format!("\t{}\t{}\t{}", s("ID"), s("Created"), s("Size")));
                lines.push(line);
            }
            let aligned = output::aligned(&lines);
            for line in aligned.iter().skip(usize::from(a.noheading)) {
                println!("{line}");
            }
        }
    }
    Ok(0)
}

/// Orders table rows as `--sort` asks; rows come newest first already.
fn sort_rows(rows: &mut [Value], key: &str) {
    let text = |r: &Value, k: &str| r[k].as_str().unwrap_or_default().to_string();
    match key {
        "id" => rows.sort_by_key(|r| text(r, "ID")),
        "repository" => rows.sort_by_key(|r| (text(r, "Repository"), text(r, "Tag"))),
        "tag" => rows.sort_by_key(|r| text(r, "Tag")),
        "size" => rows.sort_by_key(|r| r["VirtualSize"].as_u64().unwrap_or(0)),
        _ => {}
    }
}

/// The table rows of one image: one per name, or a `<none>` row when it has none.
fn rows(i: &ImageSummary, no_trunc: bool) -> Vec<Value> {
    let age = chrono::Utc::now().timestamp() - i.created;
    let id = if no_trunc {
        format!("sha256:{}", i.id)
    } else {
        i.id[..12].to_string()
    };
    let base = |repo: &str, tag: &str| {
        json!({
            "Repository": repo, "Tag": tag, "ID": id, "Id": id, "Digest": i.digest,
            "Created": human_age(age), "CreatedAt": output::go_time_of(&i.created_at), "Size": human_size(i.size),
            "VirtualSize": i.virtual_size, "SharedSize": i.shared_size,
            "Names": i.names, "Dangling": i.dangling, "Labels": i.labels,
            "History": i.history.join(", "), "ReadOnly": i.read_only,
            "Containers": i.containers, "Digests": i.digests,
            "CreatedSince": human_age(age), "CreatedTime": i.created_at,
        })
    };
    if i.repo_tags.is_empty() {
        return vec![base("<none>", "<none>")];
    }
    i.repo_tags
        .iter()
        .map(|name| {
            let (repo, tag) = split_repo_tag(name);
            base(repo, tag)
        })
        .collect()
}

fn split_repo_tag(name: &str) -> (&str, &str) {
    match name.rfind(':') {
        Some(i) if !name[i + 1..].contains('/') => (&name[..i], &name[i + 1..]),
        _ => (name, "<none>"),
    }
}

pub fn remove(engine: &Engine, a: RmiArgs) -> Result<i32> {
    let targets: Vec<String> = if a.all {
        // Oldest first, the order podman's store keeps them in.
        let mut all = engine.list_images()?;
        all.sort_by_key(|i| i.created);
        all.into_iter().map(|i| i.id).collect()
    } else {
        a.images.clone()
    };
    if targets.is_empty() && !a.all {
        anyhow::bail!("image name or ID must be specified (or use --all)");
    }
    let containers = super::container::open(engine.root())?;
    let mut errors: Vec<EngineError> = Vec::new();
    // podman prints every untagged name, then every deleted image.
    let (mut untagged, mut deleted) = (Vec::new(), Vec::new());
    // `--all` names images by ID, and removing all of them includes every name.
    let removal = Removal {
        force: a.force || a.all,
        remove_users: a.force,
        prune_parents: !a.no_prune,
    };
    for name in &targets {
        match remove_one(engine, &containers, name, &removal) {
            Ok(report) => {
                untagged.extend(report.untagged.iter().map(|n| format!("Untagged: {n}")));
                deleted.extend(
                    report
                        .deleted
                        .iter()
                        .map(|d| format!("Deleted: {}", d.hex())),
                );
            }
            // podman: --force also means "a missing image is fine"; with
            // --all, an image pruned as an earlier one's parent is gone.
            Err(EngineError::ImageNotFound(_)) if a.ignore || a.force || a.all => {}
            Err(e) => errors.push(e),
        }
    }
    for line in untagged.iter().chain(&deleted) {
        println!("{line}");
    }
    if errors.is_empty() {
        return Ok(0);
    }
    // podman's exit codes: 1 when images were missing, 2 for any other failure.
    let code = if errors
        .iter()
        .all(|e| matches!(e, EngineError::ImageNotFound(_)))
    {
        1
    } else {
        2
    };
    let message = match errors.as_slice() {
        [one] => one.to_string(),
        many => {
            let list: Vec<String> = many.iter().map(|e| format!("\t* {e}")).collect();
            format!("{} errors occurred:\n{}", many.len(), list.join("\n"))
        }
    };
    Err(ExitWith { code, message }.into())
}

/// How `rmi` removes each image.
struct Removal {
    /// Even an image with several names.
    force: bool,
    /// First the containers made from it (podman's `rmi --force`).
    remove_users: bool,
    /// Also its unnamed parents nothing else needs (not `--no-prune`).
    prune_parents: bool,
}

fn remove_one(
    engine: &Engine,
    containers: &hoist_container::Containers,
    name: &str,
    how: &Removal,
) -> Result<hoist_engine::RemoveReport, EngineError> {
    let remove = || engine.remove_image_pruning(name, how.force, how.prune_parents, containers);
    match remove() {
        Err(EngineError::ImageInUse {
            containers: ids, ..
        }) if how.remove_users => {
            for id in &ids {
                // An infra container goes with its pod, as podman's `rmi -f`.
                let removed = containers.load(id).and_then(|c| {
                    if c.config.options.infra {
                        return hoist_pod::remove_by_infra(containers, &c)
                            .map(|_| ())
                            .map_err(|e| match e {
                                hoist_pod::PodError::Container(e) => *e,
                                e => hoist_container::ContainerError::Invalid(e.to_string()),
                            });
                    }
                    hoist_container::lifecycle::remove(containers, &c, true)
                });
                // Gone already, with its pod.
                if let Err(e) = removed.or_else(|e| match e {
                    hoist_container::ContainerError::NotFound(_) => Ok(()),
                    e => Err(e),
                }) {
                    return Err(EngineError::Containers(format!(
                        "removing container {id}: {e}"
                    )));
                }
            }
            remove()
        }
        other => other,
    }
}

pub fn tag(engine: &Engine, a: TagArgs) -> Result<i32> {
    engine.tag(&a.image, &a.names)?;
    Ok(0)
}

pub fn untag(engine: &Engine, a: UntagArgs) -> Result<i32> {
    engine.untag(&a.image, &a.names)?;
    Ok(0)
}

pub fn inspect(engine: &Engine, a: InspectArgs) -> Result<i32> {
    let mut docs = Vec::new();
    for name in &a.images {
        docs.push(engine.inspect_image(name)?);
    }
    match Format::parse(a.format.as_deref())? {
        Format::Default | Format::Json => output::print_json(&docs)?,
        Format::Template(t) => {
            for d in &docs {
                println!("{}", t.render(d)?);
            }
        }
    }
    Ok(0)
}

pub fn exists(engine: &Engine, image: &str) -> Result<i32> {
    Ok(if engine.image_exists(image)? { 0 } else { 1 })
}

/// `image prune`: asks first unless --force; prints the removed IDs.
pub fn prune(engine: &Engine, a: PruneArgs) -> Result<i32> {
    let filters = a
        .filter
        .iter()
        .map(|f| prune_filter(f))
        .collect::<Result<Vec<_>>>()?;
    if !a.force {
        println!(
            "{}",
            if a.all {
                "WARNING! This command removes all images without at least one container associated with them."
            } else {
                "WARNING! This command removes all dangling images."
            }
        );
        if !super::container::volume::confirm("Are you sure you want to continue? [y/N] ")? {
            return Ok(0);
        }
    }
    let containers = super::container::open(engine.root())?;
    // The filters pick what may go; every other image is kept.
    let chosen: std::collections::HashSet<String> = engine
        .list_images_filtered(&filters)?
        .into_iter()
        .map(|i| i.id)
        .collect();
    let keep = engine
        .list_images()?
        .into_iter()
        .map(|i| i.id)
        .filter(|id| !chosen.contains(id))
        .collect();
    for d in engine.prune_images_except(a.all, &containers, &keep)? {
        println!("{}", d.hex());
    }
    Ok(0)
}

/// One `image prune --filter`: podman's label, label! and until.
fn prune_filter(text: &str) -> Result<ImageFilter> {
    let (key, value) = text.split_once('=').unwrap_or((text, ""));
    match key {
        "until" => {
            let t = hoist_container::logs::parse_time(value).ok_or_else(|| {
                anyhow::anyhow!("invalid until filter {value:?}: use a time (RFC 3339, Unix seconds) or a duration like 24h")
            })?;
            Ok(ImageFilter::Until(
                t.timestamp_nanos_opt().unwrap_or(i64::MAX) as i128,
            ))
        }
        "label" | "label!" => Ok(text.parse()?),
        _ => anyhow::bail!(
            "invalid image prune filter {key:?}: use label=KEY[=VALUE], label!=KEY[=VALUE] or until=TIME"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::split_repo_tag;

    #[test]
    fn splits_names_with_ports() {
        assert_eq!(
            split_repo_tag("127.0.0.1:5000/a:v1"),
            ("127.0.0.1:5000/a", "v1")
        );
        assert_eq!(
            split_repo_tag("127.0.0.1:5000/a"),
            ("127.0.0.1:5000/a", "<none>")
        );
    }
}
