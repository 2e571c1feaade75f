//! `healthcheck run`, the `--health-*` flags of `run` and `create`, and
//! the hidden `healthcheck-timer` a container's monitor starts; the
//! behaviour is hoist-container's `health`.

use std::path::Path;

use anyhow::Result;
use clap::{Args, Subcommand};
use hoist_container::health::{HealthRequest, OnFailure};

/// The healthcheck flags of `run` and `create` (flattened into their arguments).
#[derive(Debug, Args, Clone)]
pub struct HealthFlags {
    /// Set a healthcheck command for the container ('none' disables the image's).
    #[arg(long, value_name = "COMMAND")]
    pub health_cmd: Option<String>,
    /// Time between healthchecks (disable: no timer, checks only run on request) (default "30s").
    #[arg(long, value_name = "INTERVAL", allow_hyphen_values = true)]
    pub health_interval: Option<String>,
    /// Action once the container turns unhealthy: none, kill, restart or stop (default "none").
    #[arg(long, value_name = "ACTION")]
    pub health_on_failure: Option<String>,
    /// Failures in a row before the container is unhealthy (default 3).
    #[arg(long, value_name = "N")]
    pub health_retries: Option<u32>,
    /// Time the container needs to start, during which failures do not count (default "0s").
    #[arg(long, value_name = "PERIOD", allow_hyphen_values = true)]
    pub health_start_period: Option<String>,
    /// Time a check may take before it counts as failed (default "30s").
    #[arg(long, value_name = "TIMEOUT", allow_hyphen_values = true)]
    pub health_timeout: Option<String>,
    /// Disable healthchecks on the container (the image's too).
    #[arg(long)]
    pub no_healthcheck: bool,
}

impl HealthFlags {
    /// Puts the flags into a new container's options.
    pub fn apply(&self, o: &mut hoist_container::CreateOptions) -> Result<()> {
        if self.no_healthcheck && self.health_cmd.is_some() {
            anyhow::bail!("cannot specify both --no-healthcheck and --health-cmd");
        }
        o.health_request = Some(HealthRequest {
            cmd: self.health_cmd.clone(),
            interval: self.health_interval.clone(),
            retries: self.health_retries,
            start_period: self.health_start_period.clone(),
            timeout: self.health_timeout.clone(),
            disabled: self.no_healthcheck,
        });
        if let Some(action) = &self.health_on_failure {
            o.health_on_failure = action.parse::<OnFailure>()?;
        }
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum HealthcheckCommand {
    /// Run a container's health check now and print its result.
    Run(HealthcheckRunArgs),
}

#[derive(Debug, Args)]
pub struct HealthcheckRunArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub fn dispatch(root: &Path, cmd: HealthcheckCommand) -> Result<i32> {
    match cmd {
        HealthcheckCommand::Run(a) => run(root, &a.container),
    }
}

/// Exit 0 when healthy; 1, printing the status, when not.
fn run(root: &Path, name: &str) -> Result<i32> {
    let cs = crate::commands::container::open(root)?;
    let c = cs.get(name)?;
    let outcome = hoist_container::health::run_check(&cs, &c)?;
    if outcome.healthy() {
        return Ok(0);
    }
    println!("{}", hoist_container::health::UNHEALTHY);
    Ok(1)
}

/// `healthcheck-timer ID`: the checks every interval (see
/// hoist_container::health::run_timer).
pub fn timer(root: &Path, id: &str) -> Result<i32> {
    Ok(hoist_container::health::run_timer(root, id)?)
}
