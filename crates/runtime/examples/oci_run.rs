//! `oci_run ROOT BUNDLE ID [CMD...]`: runs a bundle with `oci_cli::run`,
//! logging to stderr. Without `BUNDLE/config.json` one is made for
//! `BUNDLE/rootfs` running CMD (default `true`).
use hoist_runtime::{executor, oci_cli, spec};

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let a: Vec<String> = std::env::args().collect();
    let (root, bundle, id) = (
        std::path::Path::new(&a[1]),
        std::path::Path::new(&a[2]),
        &a[3],
    );
    if !bundle.join(executor::CONFIG_FILE).exists() {
        let cmd: Vec<String> = if a.len() > 4 {
            a[4..].to_vec()
        } else {
            vec!["true".into()]
        };
        let opts = spec::SpecOptions {
            rootfs: std::path::absolute(bundle.join("rootfs")).unwrap(),
            args: Some(cmd),
            hostname: Some(id.clone()),
            cgroups_path: Some(spec::default_cgroups_path(id)),
            ..Default::default()
        };
        let s = spec::build_spec(&Default::default(), &opts).unwrap();
        executor::write_bundle_config(bundle, &s).unwrap();
    }
    match oci_cli::run(root, id, bundle, None, None) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(125);
        }
    }
}
