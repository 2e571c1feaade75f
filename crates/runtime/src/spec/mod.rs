//! Building the OCI runtime spec (`config.json`) of a container from its
//! image config and the run flags, with podman's defaults.

mod caps;
mod defaults;
mod devices;
mod error;
mod host;
mod mounts;
mod options;
mod process;
mod resources;
mod user;

use std::collections::{BTreeSet, HashMap};

use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::{
    Capabilities, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxNamespace, LinuxNamespaceBuilder,
    LinuxNamespaceType, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};

pub use caps::{capability_set, every_capability, DEFAULT_CAPABILITIES};
pub use defaults::{DEFAULT_NOFILE, DEFAULT_NPROC, DEFAULT_PATH, MASKED_PATHS, READONLY_PATHS};
pub use devices::{host_device, host_devices};
pub use error::SpecError;
pub use host::HostFacts;
pub use options::{
    BlkioKind, BlkioThrottle, DeviceRule, DeviceSpec, MountSpec, NamespaceMode, SeccompChoice,
    SpecOptions, Tuning, Ulimit,
};
pub use process::program_and_path;
pub use resources::CPU_PERIOD_US;
pub use user::{resolve_groups, resolve_user, ResolvedUser};

use crate::seccomp::{default_profile, Profile, Target};

/// The OCI runtime spec version hoist writes.
pub const OCI_VERSION: &str = "1.0.2";

/// The cgroup path hoist uses for container `id` (under the cgroupfs
/// manager: `/sys/fs/cgroup/<controller>/hoist/<id>` on cgroup v1).
pub fn default_cgroups_path(id: &str) -> String {
    format!("/hoist/{id}")
}

/// Builds the spec for `image` and `opts` on this host. See
/// [`build_spec_for_host`].
pub fn build_spec(image: &ImageConfiguration, opts: &SpecOptions) -> Result<Spec, SpecError> {
    build_spec_for_host(image, opts, &HostFacts::current())
}

fn namespace(typ: LinuxNamespaceType, mode: &NamespaceMode) -> Option<LinuxNamespace> {
    let b = LinuxNamespaceBuilder::default().typ(typ);
    match mode {
        NamespaceMode::Host => None,
        NamespaceMode::Private => b.build().ok(),
        NamespaceMode::Path(p) => b.path(p.clone()).build().ok(),
    }
}

/// Builds the spec as podman would for `image` and `opts`, given `host`.
///
/// Reads the rootfs's /etc/passwd and /etc/group (user names, home,
/// supplementary groups), so mount the rootfs first; with
/// [`SeccompChoice::Profile`] also the profile file.
pub fn build_spec_for_host(
    image: &ImageConfiguration,
    opts: &SpecOptions,
    host: &HostFacts,
) -> Result<Spec, SpecError> {
    let config = image.config().as_ref();
    let args = process::args(config, opts)?;
    let user_spec = process::user(config, opts);
    let user = resolve_user(&opts.rootfs, &user_spec)?;
    let env = process::env(config, opts, user.home.as_deref());
    let cwd = process::workdir(config, opts)?;

    let cap_names = caps::resolve(
        opts.privileged,
        opts.default_capabilities.as_deref(),
        &opts.cap_add,
        &opts.cap_drop,
        host.cap_bounding,
    )?;
    let all: Capabilities = cap_names.iter().map(|c| caps::to_oci(c)).collect();
    // Root gets its capabilities; another user only those asked for by
    // name (podman), kept across the exec through the ambient set.
    let effective: Capabilities = if user.uid == 0 {
        all.clone()
    } else {
        opts.cap_add
            .iter()
            .filter_map(|c| {
                let up = c.trim().to_ascii_uppercase();
                let bare = up.strip_prefix("CAP_").unwrap_or(&up).to_string();
                cap_names.get(bare.as_str()).map(|n| caps::to_oci(n))
            })
            .collect()
    };
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(all)
        .effective(effective.clone())
        .permitted(effective.clone())
        .ambient(if user.uid == 0 {
            Capabilities::new()
        } else {
            effective
        })
        .inheritable(Capabilities::new())
        .build()?;

    let mut user_b = UserBuilder::default()
        .uid(user.uid)
        .gid(user.gid)
        .umask(opts.umask);
    let mut gids = user.additional_gids.clone();
    for g in resolve_groups(&opts.rootfs, &opts.group_add)? {
        if !gids.contains(&g) {
            gids.push(g);
        }
    }
    if !gids.is_empty() {
        user_b = user_b.additional_gids(gids);
    }
    let process = ProcessBuilder::default()
        .terminal(opts.tty)
        .user(user_b.build()?)
        .args(args)
        .env(env)
        .cwd(cwd)
        .capabilities(capabilities)
        .rlimits(resources::rlimits(opts, host)?)
        .no_new_privileges(opts.no_new_privileges)
        .build()?;
    let mut process = process;
    if let Some(adj) = opts.tuning.oom_score_adj {
        process.set_oom_score_adj(Some(adj));
    }

    let mut namespaces: Vec<LinuxNamespace> = [
        (LinuxNamespaceType::Pid, &opts.pid),
        (LinuxNamespaceType::Network, &opts.network),
        (LinuxNamespaceType::Ipc, &opts.ipc),
        (LinuxNamespaceType::Uts, &opts.uts),
        (LinuxNamespaceType::Mount, &NamespaceMode::Private),
    ]
    .into_iter()
    .filter_map(|(t, m)| namespace(t, m))
    .collect();
    // podman gives a private cgroup namespace on cgroup v2 only, unless
    // asked (`--cgroupns`).
    let cgroupns = match &opts.cgroupns {
        Some(mode) => mode.clone(),
        None if host.cgroup_v2 => NamespaceMode::Private,
        None => NamespaceMode::Host,
    };
    namespaces.extend(namespace(LinuxNamespaceType::Cgroup, &cgroupns));

    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces)
        .resources(resources::resources(opts)?);
    if !opts.devices.is_empty() {
        linux = linux.devices(devices::linux_devices(&opts.devices)?);
    }
    if !opts.sysctls.is_empty() {
        linux = linux.sysctl(
            opts.sysctls
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        );
    }
    if let Some(p) = &opts.cgroups_path {
        linux = linux.cgroups_path(p.clone());
    }
    // Builders start from oci-spec's defaults (its own masked paths, host
    // name "youki"...): every field that matters is set or cleared here.
    linux = if opts.privileged {
        linux.masked_paths(Vec::new()).readonly_paths(Vec::new())
    } else {
        linux
            .masked_paths(
                MASKED_PATHS
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>(),
            )
            .readonly_paths(
                READONLY_PATHS
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>(),
            )
    };
    let profile = match (&opts.seccomp, opts.privileged) {
        (SeccompChoice::Unconfined, _) | (SeccompChoice::Default, true) => None,
        (SeccompChoice::Default, false) => Some(default_profile()),
        (SeccompChoice::Profile(path), _) => Some(Profile::load(path)?),
    };
    if let Some(profile) = profile {
        let target = Target::native(
            cap_names
                .iter()
                .map(|c| caps::full_name(c))
                .collect::<BTreeSet<_>>(),
        );
        linux = linux.seccomp(profile.to_oci(&target)?);
    }

    let mut spec = SpecBuilder::default()
        .version(OCI_VERSION)
        .root(
            RootBuilder::default()
                .path(opts.rootfs.clone())
                .readonly(opts.read_only)
                .build()?,
        )
        .process(process)
        .mounts(mounts::mounts(opts)?)
        .linux(linux.build()?);
    if !opts.annotations.is_empty() {
        spec = spec.annotations(
            opts.annotations
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        );
    }
    let mut spec = spec.build()?;
    // `noNewPrivileges: false` must be absent, not false: libcontainer 0.7
    // takes any value as "set" and then loads the seccomp filter after
    // dropping CAP_SYS_ADMIN without no_new_privs, which the kernel refuses.
    if let Some(p) = spec.process_mut() {
        p.set_no_new_privileges(opts.no_new_privileges.then_some(true));
    }
    spec.set_hostname(
        opts.hostname
            .clone()
            .filter(|_| opts.uts != NamespaceMode::Host),
    );
    if opts.privileged {
        if let Some(linux) = spec.linux_mut() {
            linux.set_masked_paths(None).set_readonly_paths(None);
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests;
