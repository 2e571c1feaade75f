//! Putting processes that the runtime did not start into a container's
//! cgroup: the tree CRIU restores. CRIU would put it back into the cgroup
//! it was dumped from, which for a copy (`restore -n`, `--pod`) belongs to
//! another container. Instead the caller joins the new container's cgroup
//! for the time of the restore, so that everything CRIU forks starts (and
//! is charged) there, goes back to its own cgroups, and then applies the
//! container's limits, as a start does after its join.

use std::path::{Path, PathBuf};

use libcgroups::common::{
    create_cgroup_manager, AnyCgroupManager, CgroupConfig, CgroupManager, ControllerOpt,
};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxResources, Spec};

/// What went wrong with a container's cgroup.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("{op} cgroup {path}: {message}")]
    Manager {
        op: &'static str,
        path: String,
        message: String,
    },
    #[error("moving this process back into {}: {source}", file.display())]
    Rejoin {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The cgroups this process is in, one `cgroup.procs` file per mounted
/// hierarchy, so that it can come back after joining a container's.
#[derive(Debug)]
pub struct Membership {
    procs_files: Vec<PathBuf>,
}

impl Membership {
    /// This process's cgroups now.
    pub fn of_self() -> Membership {
        let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        Membership {
            procs_files: procs_files(&text, Path::new("/sys/fs/cgroup"), |p| p.exists()),
        }
    }

    /// Moves this process (all its threads) back where it was.
    pub fn rejoin(&self) -> Result<(), CgroupError> {
        let pid = std::process::id().to_string();
        for file in &self.procs_files {
            std::fs::write(file, &pid).map_err(|source| CgroupError::Rejoin {
                file: file.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// The `cgroup.procs` file of each hierarchy in `/proc/self/cgroup` text:
/// v1 lines `ID:CONTROLLERS:PATH` (mounted at `base/CONTROLLERS`, or
/// `base/NAME` for `name=NAME`), the v2 line `0::PATH` at `base` itself
/// or at `base/unified` beside v1.
pub(crate) fn procs_files(
    proc_cgroup: &str,
    base: &Path,
    exists: impl Fn(&Path) -> bool,
) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let path = path.trim_start_matches('/');
        let mounts: Vec<PathBuf> = if controllers.is_empty() {
            vec![base.to_path_buf(), base.join("unified")]
        } else {
            vec![base.join(controllers.trim_start_matches("name="))]
        };
        if let Some(file) = mounts
            .into_iter()
            .map(|m| m.join(path).join("cgroup.procs"))
            .find(|f| exists(f))
        {
            files.push(file);
        }
    }
    files
}

/// The manager of the cgroup `spec` names, or `None` for a container made
/// without one (`--cgroups=disabled`): it stays in the caller's cgroups.
fn manager(spec: &Spec, id: &str) -> Result<Option<(AnyCgroupManager, String)>, CgroupError> {
    let Some(path) = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone()) else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    let manager = create_cgroup_manager(CgroupConfig {
        cgroup_path: path,
        systemd_cgroup: false,
        container_name: id.to_string(),
    })
    .map_err(|e| CgroupError::Manager {
        op: "opening",
        path: shown.clone(),
        message: e.to_string(),
    })?;
    Ok(Some((manager, shown)))
}

/// Moves this process into the cgroup `spec` names (creating it), with no
/// limits applied yet: a process it forks from now on starts there.
/// Without a cgroup in `spec` there is nothing to join.
pub fn join(spec: &Spec, id: &str) -> Result<(), CgroupError> {
    let Some((manager, path)) = manager(spec, id)? else {
        return Ok(());
    };
    let me = Pid::from_raw(std::process::id() as i32);
    manager.add_task(me).map_err(|e| CgroupError::Manager {
        op: "joining",
        path,
        message: e.to_string(),
    })
}

/// Applies the limits of `spec` (`linux.resources`) to its cgroup.
pub fn apply_limits(spec: &Spec, id: &str) -> Result<(), CgroupError> {
    let Some((manager, path)) = manager(spec, id)? else {
        return Ok(());
    };
    let none = LinuxResources::default();
    let resources = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .unwrap_or(&none);
    let opt = ControllerOpt {
        resources,
        disable_oom_killer: resources
            .memory()
            .as_ref()
            .and_then(|m| m.disable_oom_killer())
            .unwrap_or(false),
        oom_score_adj: None,
        freezer_state: None,
    };
    manager.apply(&opt).map_err(|e| CgroupError::Manager {
        op: "setting the limits of",
        path,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_hierarchy_gives_its_procs_file() {
        let text = "12:pids:/user.slice\n\
                    4:cpu,cpuacct:/\n\
                    1:name=systemd:/user.slice/session-1.scope\n\
                    0::/user.slice/session-1.scope\n";
        let base = Path::new("/cg");
        let files = procs_files(text, base, |p| !p.starts_with("/cg/user.slice"));
        assert_eq!(
            files,
            [
                "/cg/pids/user.slice/cgroup.procs",
                "/cg/cpu,cpuacct/cgroup.procs",
                "/cg/systemd/user.slice/session-1.scope/cgroup.procs",
                "/cg/unified/user.slice/session-1.scope/cgroup.procs",
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn unmounted_hierarchies_and_junk_lines_are_left_out() {
        let files = procs_files("bad line\n3:memory:/x\n", Path::new("/cg"), |_| false);
        assert!(files.is_empty());
    }

    #[test]
    fn a_spec_without_a_cgroup_leaves_the_caller_where_it_is() {
        use oci_spec::runtime::{
            LinuxBuilder, LinuxMemoryBuilder, LinuxResourcesBuilder, SpecBuilder,
        };
        let memory = LinuxMemoryBuilder::default()
            .limit(64 << 20)
            .build()
            .unwrap();
        let resources = LinuxResourcesBuilder::default()
            .memory(memory)
            .build()
            .unwrap();
        let linux = LinuxBuilder::default()
            .resources(resources)
            .build()
            .unwrap();
        let spec = SpecBuilder::default().linux(linux).build().unwrap();
        assert!(spec.linux().as_ref().unwrap().cgroups_path().is_none());
        let before = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        join(&spec, "no-cgroup").unwrap();
        apply_limits(&spec, "no-cgroup").unwrap();
        assert_eq!(
            std::fs::read_to_string("/proc/self/cgroup").unwrap(),
            before
        );
    }
}
