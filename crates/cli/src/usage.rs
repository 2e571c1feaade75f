//! The command line with podman's conventions (cobra/pflag) on top of clap:
//! podman's help layout and usage lines, its wording and exit code 125 for
//! usage errors, and `--remote` left out of the help when a remote service
//! is named.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, Command, CommandFactory, FromArgMatches};

use crate::cli::Cli;
use crate::exit::ENGINE_ERROR;

/// The name the program goes by in help and messages.
pub const BIN: &str = "hoist";

/// Parses `args` (program name first). On a usage error or a request for
/// help or the version, prints what podman would and returns the exit code.
pub fn parse(args: &[OsString]) -> Result<Cli, i32> {
    let cmd = command(args);
    let parsed = cmd
        .clone()
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m));
    parsed.map_err(|e| report(&cmd, args, e))
}

/// The whole command tree in podman's layout. `--remote` is hidden when
/// the user names a remote service (CONTAINER_HOST, CONTAINER_CONNECTION,
/// --url, --connection), as podman does.
pub fn command(args: &[OsString]) -> Command {
    let mut cmd = Cli::command();
    if remote_named(args) {
        cmd = cmd.mut_arg("remote", |a| a.hide(true));
    }
    podman_layout(cmd, BIN)
}

/// Prints the top-level help and podman's "missing command" error; the exit code.
pub fn missing_command(args: &[OsString]) -> i32 {
    let mut cmd = command(args);
    print_out(&cmd.render_help().to_string());
    eprintln!("Error: missing command '{BIN} COMMAND'");
    ENGINE_ERROR
}

/// Help text to standard output; a reader that went away (`| head`) is no error.
fn print_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn remote_named(args: &[OsString]) -> bool {
    let env_set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    if env_set("CONTAINER_HOST") || env_set("CONTAINER_CONNECTION") {
        return true;
    }
    args.iter().skip(1).any(|a| {
        let a = a.to_string_lossy();
        ["--url", "--connection", "-c"].contains(&a.as_ref())
            || a.starts_with("--url=")
            || a.starts_with("--connection=")
    })
}

/// Usage line `PATH [options] ARG [ARG...]` (or `PATH [command]`) and the
/// Usage:/Options: layout, for `cmd` and every command below it.
fn podman_layout(mut cmd: Command, path: &str) -> Command {
    let has_subcommands = cmd.get_subcommands().any(|s| !s.is_hide_set());
    let template = if has_subcommands {
        "{about-with-newline}\nUsage:\n  {usage}\n\nAvailable Commands:\n{subcommands}\n\nOptions:\n{options}{after-help}"
    } else {
        "{about-with-newline}\nUsage:\n  {usage}\n\nOptions:\n{options}{after-help}"
    };
    let usage = usage_line(&cmd, path, has_subcommands);
    // pflag's rules hold for every command, not only the top one.
    cmd = cmd
        .override_usage(usage)
        .help_template(template)
        .args_override_self(true)
        .allow_negative_numbers(true);
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let sub_path = format!("{path} {name}");
        cmd = cmd.mut_subcommand(&name, |s| podman_layout(s, &sub_path));
    }
    cmd
}

fn usage_line(cmd: &Command, path: &str, has_subcommands: bool) -> String {
    if has_subcommands {
        return if path == BIN {
            format!("{path} [options] [command]")
        } else {
            format!("{path} [command]")
        };
    }
    let mut line = format!("{path} [options]");
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let multiple = matches!(arg.get_action(), ArgAction::Append)
            || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        let mut name = arg
            .get_value_names()
            .and_then(|v| v.first())
            .map(|s| s.to_string())
            .unwrap_or_else(|| arg.get_id().to_string())
            .to_uppercase()
            .replace('-', "_");
        // `IMAGES` names the list; podman's usage names one item: IMAGE [IMAGE...].
        if multiple && name.len() > 3 && name.ends_with('S') {
            name.pop();
        }
        let piece = match (arg.is_required_set(), multiple) {
            (true, false) => name,
            (true, true) => format!("{name} [{name}...]"),
            (false, false) => format!("[{name}]"),
            (false, true) => format!("[{name}...]"),
        };
        line.push(' ');
        line.push_str(&piece);
    }
    line
}

/// The subcommand the arguments reached, and its path (`hoist image ls`).
fn reached<'a>(cmd: &'a Command, args: &[OsString]) -> (&'a Command, String) {
    let mut stack = vec![cmd];
    let mut path = BIN.to_string();
    let mut i = 1;
    while i < args.len() {
        let token = args[i].to_string_lossy();
        if token == "--" {
            break;
        }
        if token.starts_with('-') && token.len() > 1 {
            if !token.contains('=') && option_takes_value(&stack, &token) {
                i += 1;
            }
            i += 1;
            continue;
        }
        let current = stack[stack.len() - 1];
        match current.find_subcommand(token.as_ref()) {
            Some(sub) => {
                path.push(' ');
                path.push_str(sub.get_name());
                stack.push(sub);
            }
            None => break,
        }
        i += 1;
    }
    (stack[stack.len() - 1], path)
}

/// Whether the option `token` (`--name` or `-x`) of the command or one
/// of its parents takes a value in the next argument.
fn option_takes_value(stack: &[&Command], token: &str) -> bool {
    let found = stack.iter().rev().find_map(|c| {
        c.get_arguments().find(|a| match token.strip_prefix("--") {
            Some(long) => a.get_long() == Some(long),
            None => token.len() == 2 && a.get_short() == token.chars().nth(1),
        })
    });
    found.is_some_and(|a| a.get_action().takes_values())
}

fn context(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => Some(v.join(", ")),
        other => Some(other.to_string()),
    }
}

/// Prints a clap outcome as podman does and returns the exit code.
fn report(cmd: &Command, args: &[OsString], err: clap::Error) -> i32 {
    // An unknown flag belongs to the command reached before it (`hoist --foo
    // version` is the top level's error).
    let upto = match (err.kind(), context(&err, ContextKind::InvalidArg)) {
        (ErrorKind::UnknownArgument, Some(bad)) => args
            .iter()
            .position(|a| {
                let a = a.to_string_lossy();
                a == bad || a.starts_with(&format!("{bad}="))
            })
            .unwrap_or(args.len()),
        _ => args.len(),
    };
    let (reached, path) = reached(cmd, &args[..upto]);
    let see = format!("See '{path} --help'");
    let message = match err.kind() {
        ErrorKind::DisplayHelp => {
            print_out(&err.render().to_string());
            return 0;
        }
        ErrorKind::DisplayVersion => {
            print_out(&format!("{BIN} version {}\n", env!("CARGO_PKG_VERSION")));
            return 0;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            print_out(&reached.clone().render_help().to_string());
            format!("missing command '{path} COMMAND'")
        }
        ErrorKind::InvalidSubcommand => {
            let name = context(&err, ContextKind::InvalidSubcommand).unwrap_or_default();
            format!(
                "unrecognized command `{path} {name}`\nTry '{path} --help' for more information"
            )
        }
        ErrorKind::UnknownArgument => {
            let arg = context(&err, ContextKind::InvalidArg).unwrap_or_default();
            if let Some(long) = arg.strip_prefix("--") {
                let name = long.split('=').next().unwrap_or(long);
                format!("unknown flag: --{name}\n{see}")
            } else if arg.starts_with('-') && arg.len() > 1 {
                let c = arg.chars().nth(1).unwrap_or('-');
                format!("unknown shorthand flag: '{c}' in {arg}\n{see}")
            } else {
                let accepted = reached
                    .get_positionals()
                    .filter(|a| !a.is_hide_set())
                    .count();
                if accepted == 0 {
                    format!("`{path}` takes no arguments")
                } else {
                    format!("`{path}` accepts at most {accepted} arg(s), received more: {arg}")
                }
            }
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = context(&err, ContextKind::InvalidArg).unwrap_or_default();
            let missing = missing.replace(['<', '>'], "").replace("...", "");
            format!("`{path}` requires at least one more argument: {missing}\n{see}")
        }
        ErrorKind::InvalidValue
            if context(&err, ContextKind::InvalidValue).is_some_and(|v| v.is_empty()) =>
        {
            let arg = context(&err, ContextKind::InvalidArg).unwrap_or_default();
            let flag = arg.split([' ', '=']).next().unwrap_or(&arg).to_string();
            format!("flag needs an argument: {flag}\n{see}")
        }
        ErrorKind::InvalidValue => {
            let arg = context(&err, ContextKind::InvalidArg).unwrap_or_default();
            let flag = arg.split([' ', '=']).next().unwrap_or(&arg).to_string();
            let value = context(&err, ContextKind::InvalidValue).unwrap_or_default();
            let valid = context(&err, ContextKind::ValidValue)
                .map(|v| format!(": must be one of: {v}"))
                .unwrap_or_default();
            format!("invalid argument \"{value}\" for \"{flag}\" flag{valid}\n{see}")
        }
        _ => {
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or("invalid command line");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            format!("{first}\n{see}")
        }
    };
    eprintln!("Error: {message}");
    ENGINE_ERROR
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn usage_lines_name_options_then_upper_case_arguments() {
        let cmd = command(&args(&["hoist"]));
        let pull = cmd.find_subcommand("pull").unwrap();
        assert_eq!(
            pull.clone().render_usage().to_string().trim_end(),
            "Usage: hoist pull [options] IMAGE [IMAGE...]"
        );
        let image = cmd.find_subcommand("image").unwrap();
        assert!(image
            .clone()
            .render_usage()
            .to_string()
            .ends_with("hoist image [command]"));
    }

    #[test]
    fn the_reached_path_skips_option_values() {
        let cmd = command(&args(&["hoist"]));
        let a = args(&["hoist", "--log-level", "info", "image", "ls", "--bogus"]);
        assert_eq!(reached(&cmd, &a).1, "hoist image ls");
        let a = args(&["hoist", "--root=/x", "version", "extra"]);
        assert_eq!(reached(&cmd, &a).1, "hoist version");
    }

    #[test]
    fn remote_is_hidden_when_a_service_is_named() {
        let hidden = |a: &[&str]| {
            command(&args(a))
                .get_arguments()
                .find(|x| x.get_id() == "remote")
                .unwrap()
                .is_hide_set()
        };
        assert!(!hidden(&["hoist", "--help"]));
        assert!(hidden(&["hoist", "--url", "x", "--help"]));
        assert!(hidden(&["hoist", "--connection=x", "--help"]));
    }
}
