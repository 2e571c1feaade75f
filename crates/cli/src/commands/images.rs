//! `images`, `rmi`, `tag`, `untag`, `inspect`, `image exists`, `image prune`.

use anyhow::Result;
use hoist_engine::{Engine, EngineError, ImageSummary};
use serde_json::{json, Value};

use crate::cli::{ImagesArgs, InspectArgs, PruneArgs, RmiArgs, TagArgs, UntagArgs};
use crate::exit::ExitWith;
use crate::output::{self, human_age, human_size, Format};

pub fn list(engine: &Engine, a: ImagesArgs) -> Result<i32> {
    let mut images = engine.list_images()?;
    if let Some(filter) = &a.image {
        images.retain(|i| i.matches_name(filter));
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
    match Format::parse(a.format.as_deref())? {
        Format::Json => output::print_json(&images)?,
        Format::Template(t) => {
            let rows: Vec<Value> = images.iter().flat_map(|i| rows(i, a.no_trunc)).collect();
            output::print_template(&t, &rows)?;
        }
        Format::Default => {
            let mut header = "REPOSITORY\tTAG".to_string();
            if a.digests {
                header.push_str("\tDIGEST");
            }
            header.push_str("\tIMAGE ID\tCREATED\tSIZE");
            let mut lines = vec![header];
            for r in images.iter().flat_map(|i| rows(i, a.no_trunc)) {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                let mut line = format!("{}\t{}", s("Repository"), s("Tag"));
                if a.digests {
                    line.push_str(&format!("\t{}", s("Digest")));
                }
                line.push_str(&format!("\t{}\t{}\t{}", s("ID"), s("Created"), s("Size")));
                lines.push(line);
            }
            output::print_aligned(&lines);
        }
    }
    Ok(0)
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
            "Created": human_age(age), "CreatedAt": i.created_at, "Size": human_size(i.size),
            "Names": i.names, "Dangling": i.dangling, "Labels": i.labels,
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
        engine.list_images()?.into_iter().map(|i| i.id).collect()
    } else {
        a.images.clone()
    };
    if targets.is_empty() && !a.all {
        anyhow::bail!("image name or ID must be specified (or use --all)");
    }
    let containers = super::container::open(engine.root())?;
    let mut failure: Option<ExitWith> = None;
    for name in &targets {
        // `--all` names images by ID, and removing all of them includes every name.
        match engine.remove_image(name, a.force || a.all, &containers) {
            Ok(report) => {
                for n in &report.untagged {
                    println!("Untagged: {n}");
                }
                for d in &report.deleted {
                    println!("Deleted: {}", d.hex());
                }
            }
            Err(EngineError::ImageNotFound(_)) if a.ignore => {}
            Err(e) => {
                let code = if matches!(e, EngineError::ImageNotFound(_)) {
                    1
                } else {
                    2
                };
                eprintln!("Error: {e}");
                failure = Some(ExitWith {
                    code,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(failure.map_or(0, |f| f.code))
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

pub fn prune(engine: &Engine, a: PruneArgs) -> Result<i32> {
    let containers = super::container::open(engine.root())?;
    for d in engine.prune_images(a.all, &containers)? {
        println!("{}", d.hex());
    }
    Ok(0)
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
