//! `info`, `version`, `system check`.

use anyhow::Result;
use hoist_engine::Engine;
use serde_json::json;

use crate::cli::{CheckArgs, FormatArgs};
use crate::exit::ExitWith;
use crate::output::{self, Format};

pub fn info(engine: &Engine, a: FormatArgs) -> Result<i32> {
    let info = engine.info()?;
    print_doc(&info, a.format.as_deref())
}

pub fn version(a: FormatArgs) -> Result<i32> {
    let doc = json!({
        "Client": {
            "Version": env!("CARGO_PKG_VERSION"),
            "OsArch": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        }
    });
    match Format::parse(a.format.as_deref())? {
        Format::Default => {
            println!("Version:      {}", env!("CARGO_PKG_VERSION"));
            println!(
                "OS/Arch:      {}/{}",
                std::env::consts::OS,
                std::env::consts::ARCH
            );
            Ok(0)
        }
        _ => print_doc(&doc, a.format.as_deref()),
    }
}

fn print_doc(doc: &serde_json::Value, format: Option<&str>) -> Result<i32> {
    match Format::parse(format)? {
        Format::Default | Format::Json => output::print_json(doc)?,
        Format::Template(t) => println!("{}", t.render(doc)?),
    }
    Ok(0)
}

pub fn check(engine: &Engine, a: CheckArgs) -> Result<i32> {
    let containers = super::container::open(engine.root())?;
    let report = engine.check(a.repair, &containers)?;
    // Unused blobs and layers are reported, but only damage fails the check.
    let unrepaired = report.unrepaired_damage().count();
    match Format::parse(a.format.as_deref())? {
        Format::Json => {
            let findings: Vec<_> = report
                .findings
                .iter()
                .map(|f| {
                    json!({
                        "problem": f.problem.to_string(),
                        "repaired": f.repaired,
                        "repairable": f.problem.repairable(),
                        "remedy": f.problem.remedy(),
                    })
                })
                .collect();
            output::print_json(&json!({
                "blobs_checked": report.blobs_checked,
                "layers_checked": report.layers_checked,
                "images_checked": report.images_checked,
                "findings": findings,
                "unverifiable_layers": report.unverifiable_layers.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                "unreferenced_bytes": report.unreferenced_bytes(),
                "in_use": report.in_use,
            }))?;
        }
        _ => {
            for f in &report.findings {
                match (f.repaired, f.problem.remedy()) {
                    (true, _) => println!("{} (repaired)", f.problem),
                    (false, Some(remedy)) if a.repair => {
                        println!("{} (could not {remedy}; see the log)", f.problem)
                    }
                    (false, Some(remedy)) => println!("{}; --repair will {remedy}", f.problem),
                    (false, None) => println!("{}", f.problem),
                }
            }
            for d in &report.unverifiable_layers {
                println!(
                    "layer {d} cannot be verified: no record of its files (unpacked by an older hoist) or files this user cannot read; not an error"
                );
            }
            let unused = report.unreferenced_bytes();
            if unused > 0 {
                let verb = if a.repair {
                    "freed"
                } else {
                    "reclaimable with --repair"
                };
                println!(
                    "unused blobs and layers: {} {verb}",
                    hoist_store::human_size(unused)
                );
            }
            if report.in_use > 0 {
                println!(
                    "{} unused object(s) left alone: a running hoist process is using them",
                    report.in_use
                );
            }
            println!(
                "checked {} blobs, {} layers, {} images: {} problem(s), {} left",
                report.blobs_checked,
                report.layers_checked,
                report.images_checked,
                report
                    .findings
                    .iter()
                    .filter(|f| !f.problem.is_unused())
                    .count(),
                unrepaired
            );
        }
    }
    if unrepaired == 0 {
        Ok(0)
    } else {
        let hint = if a.repair {
            "the store has problems --repair cannot fix: remove the affected images and pull them again"
        } else {
            "the store has problems: run `hoist system check --repair`"
        };
        Err(ExitWith {
            code: 125,
            message: hint.into(),
        }
        .into())
    }
}
