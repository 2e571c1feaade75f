//! Taking over a process tree that libcontainer did not create: a
//! container restored by CRIU (`container restore`) is then exec'd into,
//! signalled and deleted like any other.

use std::path::Path;

use libcontainer::config::YoukiConfig;
use libcontainer::container::{Container, ContainerStatus};
use oci_spec::runtime::Spec;

use super::InProcessRuntime;
use crate::executor::check_id;
use crate::executor::error::{io_err, RuntimeError};

impl InProcessRuntime {
    /// Records the running tree of init `pid` as container `id` of
    /// `bundle`, whose cgroup is the one `spec` names.
    pub fn adopt(
        &self,
        id: &str,
        bundle: &Path,
        spec: &Spec,
        pid: i32,
    ) -> Result<(), RuntimeError> {
        check_id(id)?;
        let dir = self.container_dir(id);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
        let config = YoukiConfig::from_spec(spec, id).map_err(|e| RuntimeError::Io {
            op: "recording the cgroup of",
            path: dir.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        config.save(&dir).map_err(|e| RuntimeError::Io {
            op: "writing the runtime config in",
            path: dir.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let container = Container::new(id, ContainerStatus::Running, Some(pid), bundle, &dir)
            .map_err(|e| self.err("adopting", id, e))?;
        container.save().map_err(|e| self.err("adopting", id, e))
    }
}
