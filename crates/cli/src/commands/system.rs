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
        Format::Template(t) => println!("{}", t.render(doc)),
    }
    Ok(0)
}

pub fn check(engine: &Engine, a: CheckArgs) -> Result<i32> {
    let report = engine.check(a.repair)?;
    let unrepaired = report.findings.iter().filter(|f| !f.repaired).count();
    match Format::parse(a.format.as_deref())? {
        Format::Json => {
            let findings: Vec<_> = report
                .findings
                .iter()
                .map(|f| json!({"problem": f.problem.to_string(), "repaired": f.repaired}))
                .collect();
            output::print_json(&json!({
                "blobs_checked": report.blobs_checked,
                "layers_checked": report.layers_checked,
                "images_checked": report.images_checked,
                "findings": findings,
            }))?;
        }
        _ => {
            for f in &report.findings {
                let state = if f.repaired { " (repaired)" } else { "" };
                println!("{}{state}", f.problem);
            }
            println!(
                "checked {} blobs, {} layers, {} images: {} problem(s), {} left",
                report.blobs_checked,
                report.layers_checked,
                report.images_checked,
                report.findings.len(),
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
