//! `info`, `version`, `system check`.

use anyhow::Result;
use hoist_engine::{Engine, InfoOptions};
use serde_json::{json, Value};

use crate::cli::{CheckArgs, FormatArgs, GlobalArgs};
use crate::exit::ExitWith;
use crate::output::{self, Format};

/// `info`: YAML by default, as podman; JSON or a template on request.
pub fn info(engine: &Engine, globals: &GlobalArgs, a: FormatArgs) -> Result<i32> {
    let opts = InfoOptions {
        run_root: globals.runroot.clone(),
        volume_path: globals.volumepath.clone(),
        graph_driver: globals.storage_driver.clone(),
        graph_options: globals.storage_opt.clone(),
        // The backend in effect: the flag, containers.conf or the default.
        events_backend: hoist_events::backend()
            .map(|b| b.name().to_string())
            .or_else(|| globals.events_backend.clone()),
        cgroup_manager: globals.cgroup_manager.clone(),
        // containers.conf's log_driver, what new containers get.
        log_driver: hoist_config::ContainersConf::load()
            .ok()
            .map(|c| c.containers().log_driver().to_string()),
    };
    let mut doc = engine.info(&opts)?;
    super::checkpoint::add_criu_info(&mut doc);
    // podman renders an explicitly empty --format as an empty template.
    if a.format.as_deref() == Some("") {
        return Ok(0);
    }
    match Format::parse(a.format.as_deref())? {
        Format::Default => print!("{}", super::yaml::to_yaml(&doc)),
        Format::Json => output::print_json(&doc)?,
        Format::Template(t) => println!("{}", t.render(&info_template_doc(doc))?),
    }
    Ok(0)
}

/// Templates name podman's Go fields; the one whose JSON key differs by
/// more than case gets its Go name too.
fn info_template_doc(mut doc: Value) -> Value {
    if let Some(host) = doc.get_mut("host").and_then(Value::as_object_mut) {
        if let Some(v) = host.get("cgroupVersion").cloned() {
            host.insert("cgroupsVersion".into(), v);
        }
    }
    doc
}

/// `version`: podman's `Client:` block, or its JSON / template.
pub fn version(a: FormatArgs) -> Result<i32> {
    let client = hoist_engine::version_info();
    match Format::parse(a.format.as_deref())? {
        Format::Default => {
            let field = |k: &str| match &client[k] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            println!("Client:       hoist");
            println!("Version:      {}", field("Version"));
            println!("API Version:  {}", field("APIVersion"));
            println!("Go Version:   {}", field("GoVersion"));
            let commit = field("GitCommit");
            if !commit.is_empty() {
                println!("Git Commit:   {commit}");
            }
            println!("Built:        {}", field("BuiltTime"));
            println!("OS/Arch:      {}", field("OsArch"));
        }
        Format::Json => output::print_json(&json!({ "Client": client }))?,
        // There is no separate server: podman's local templates see the
        // client's facts under `.Server` as well.
        Format::Template(t) => println!(
            "{}",
            t.render(&json!({ "Client": client.clone(), "Server": client }))?
        ),
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
