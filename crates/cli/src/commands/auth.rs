//! `login` and `logout`, sharing podman's auth.json.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result};
use hoist_engine::auth;

use super::registry_options;
use crate::cli::{LoginArgs, LogoutArgs};
use crate::exit::ExitWith;

pub fn login(a: LoginArgs) -> Result<i32> {
    let opts = registry_options(&a.registry_args)?;
    if a.get_login {
        return match auth::stored_user(&a.registry, &opts)? {
            Some(user) => {
                println!("{user}");
                Ok(0)
            }
            None => Err(ExitWith {
                code: 125,
                message: format!("not logged into {}", a.registry),
            }
            .into()),
        };
    }
    let username = match a.username {
        Some(u) => u,
        None => prompt("Username: ")?,
    };
    let password = if a.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        match a.password {
            Some(p) => p,
            None => prompt("Password: ")?,
        }
    };
    let used = auth::login(&a.registry, &username, &password, &opts)?;
    if a.verbose {
        // podman's line, two spaces and all.
        println!("Used:  {}", used.display());
    }
    println!("Login Succeeded!");
    Ok(0)
}

fn prompt(label: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("no terminal to ask for credentials: pass --username and --password-stdin");
    }
    eprint!("{label}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end().to_string())
}

pub fn logout(a: LogoutArgs) -> Result<i32> {
    if a.all {
        auth::logout_all(a.authfile.as_deref())?;
        println!("Removed login credentials for all registries");
        return Ok(0);
    }
    let Some(registry) = a.registry else {
        anyhow::bail!("name the registry to log out of, or use --all");
    };
    if auth::logout(&registry, a.authfile.as_deref())? {
        println!("Removed login credentials for {registry}");
        Ok(0)
    } else {
        Err(ExitWith {
            code: 125,
            message: format!("not logged into {registry}"),
        }
        .into())
    }
}
