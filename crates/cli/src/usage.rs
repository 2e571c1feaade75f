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

/// The name usage lines show: the one the program was invoked by (hoist
/// installed as `podman` says `podman pull ...`, as podman's help does),
/// else [`BIN`].
fn program(args: &[OsString]) -> String {
    args.first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .unwrap_or(BIN)
        .to_string()
}

/// Parses `args` (program name first). On a usage error or a request for
/// help or the version, prints what podman would and returns the exit code.
pub fn parse(args: &[OsString]) -> Result<Cli, i32> {
    let mut cmd = command(args);
    if let Some(code) = help_of_help(&cmd, args) {
        return Err(code);
    }
    // Parsing in place spares a copy of the whole tree on every start.
    let matches = cmd
        .try_get_matches_from_mut(args)
        .map_err(|e| report(&cmd, args, e))?;
    if let Some(conflict) = latest_conflict(&cmd, &matches) {
        eprintln!("Error: {conflict}");
        return Err(ENGINE_ERROR);
    }
    let cli = Cli::from_arg_matches(&matches).map_err(|e| report(&cmd, args, e))?;
    // The tree is built once per process and needed no more: freeing its
    // thousands of allocations one by one costs every command more than
    // leaving them to the process's end.
    std::mem::forget(cmd);
    std::mem::forget(matches);
    Ok(cli)
}

/// `hoist help --help`: the `help` command's own help (clap has none).
fn help_of_help(cmd: &Command, args: &[OsString]) -> Option<i32> {
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // The first word that is neither a global option nor its value.
    let mut i = 0;
    while i < words.len() && words[i].starts_with('-') && words[i] != "--" {
        if !words[i].contains('=') && option_takes_value(&[cmd], &words[i]) {
            i += 1;
        }
        i += 1;
    }
    if words.get(i).map(String::as_str) != Some("help")
        || !matches!(words.get(i + 1).map(String::as_str), Some("--help" | "-h"))
    {
        return None;
    }
    let name = program(args);
    print_out(&format!(
        "Help about any command\n\nUsage:\n  {name} help [command]\n\nExamples:\n  {name} help image ls\n"
    ));
    Some(0)
}

/// podman's rule for every command with `--latest`: it names the one
/// container, so it goes with neither names nor `--all`.
fn latest_conflict(cmd: &Command, matches: &clap::ArgMatches) -> Option<String> {
    let (mut cmd, mut m) = (cmd, matches);
    while let Some((name, sub)) = m.subcommand() {
        cmd = cmd.find_subcommand(name)?;
        m = sub;
    }
    let given = |id: &str| {
        cmd.get_arguments().any(|a| a.get_id() == id)
            && m.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
    };
    if !given("latest") {
        return None;
    }
    // `exec -l CMD ARGS`: with --latest every argument is the command's.
    if cmd.get_positionals().any(|a| a.get_id() == "command") && !given("all") {
        return None;
    }
    // `port -l PORT`: with --latest the argument is the port.
    if cmd.get_name() == "port" && !given("all") {
        return None;
    }
    if given("all") {
        return Some("--all and --latest cannot be used together".into());
    }
    // podman names what was given: containers (or pods), else arguments.
    let named = cmd.get_positionals().find(|a| given(a.get_id().as_str()))?;
    let what = match named.get_id().as_str() {
        id if id.starts_with("container") => "containers",
        id if id.starts_with("pod") => "pods",
        _ => "arguments",
    };
    Some(format!("--latest and {what} cannot be used together"))
}

/// The command tree with podman's layout and parsing rules on the
/// commands `args` reach (`hoist image ls` lays out the top level, `image`
/// and `image ls`, or those `help image ls` names): only they are parsed
/// or shown, and laying out all of them would cost every start of hoist
/// (the monitor's too) milliseconds. `--remote` is hidden when the user
/// names a remote service (CONTAINER_HOST, CONTAINER_CONNECTION, --url,
/// --connection), as podman does.
pub fn command(args: &[OsString]) -> Command {
    let mut cmd = Cli::command();
    if remote_named(args) {
        cmd = cmd.mut_arg("remote", |a| a.hide(true));
    }
    let name = program(args);
    let cmd = list_oci_before_run(cmd);
    let (cmd, path) = build_path(cmd, args);
    podman_layout(cmd, &name, &name, &path)
}

/// The tree with the commands `args` reach built, one level at a time,
/// and no other. Commands are deferred (`#[command(defer = true)]` on
/// their enums): making the arguments of hoist's two hundred commands
/// cost every start about 1.5 ms of CPU and 500 page faults. `oci` is
/// made at once (see [`crate::cli::TopCommand`]). The next command is
/// found among the names of the one built last, skipping the options of
/// those built. Returns the tree and the names on the path.
fn build_path(cmd: Command, args: &[OsString]) -> (Command, Vec<String>) {
    // A command is built after its parent, which hands it the global
    // options when it is built.
    let mut cmd = built(parse_rules(cmd, true));
    for depth in 0.. {
        let path = path_words(&cmd, args);
        if path.len() <= depth {
            return (at_path(cmd, &path, with_children_described), path);
        }
        cmd = build_at(cmd, &path[..=depth]);
    }
    unreachable!("the path ends")
}

/// `oci`, declared apart from the deferred commands (see
/// [`crate::cli::TopCommand`]), keeps its place in the list of commands:
/// after `system`, before `run` (the list is sorted by order, then name).
fn list_oci_before_run(cmd: Command) -> Command {
    match cmd.find_subcommand("run").map(Command::get_display_order) {
        Some(order) => cmd.mut_subcommand("oci", |oci| oci.display_order(order)),
        None => cmd,
    }
}

/// `cmd` with `f` applied to the command `path` names below it.
fn at_path(cmd: Command, path: &[String], f: fn(Command) -> Command) -> Command {
    match path.split_first() {
        None => f(cmd),
        Some((name, rest)) => cmd.mut_subcommand(name, |sub| at_path(sub, rest, f)),
    }
}

/// Builds the command `path` names below `cmd`, with the settings that
/// must be in place before clap builds a command (see [`parse_rules`]).
fn build_at(cmd: Command, path: &[String]) -> Command {
    let Some((name, rest)) = path.split_first() else {
        return cmd;
    };
    if rest.is_empty() {
        cmd.mut_subcommand(name, |sub| built(parse_rules(sub, false)))
    } else {
        cmd.mut_subcommand(name, |sub| build_at(sub, rest))
    }
}

/// `cmd` built: its arguments made and its parent's global options
/// added. Rendering the usage builds the command itself, not the
/// commands below it. The description its parent's variant gave it
/// stays: the deferred arguments (their structs' doc comments) would
/// replace it, where built at once they come first and are replaced.
fn built(mut cmd: Command) -> Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    let _ = cmd.render_usage();
    match (about, long_about) {
        (Some(about), Some(long)) => cmd.about(about).long_about(long),
        (Some(about), None) => cmd.about(about).long_about(None::<&str>),
        (None, _) => cmd,
    }
}

/// A group (`hoist image`) lists its commands with their descriptions;
/// those without one of their own take it from their arguments, so the
/// last command reached has them built, for the help or the error that
/// lists them.
fn with_children_described(cmd: Command) -> Command {
    map_subcommands(cmd, |sub| match sub.get_about() {
        Some(_) => sub,
        None => built(parse_rules(sub, false)),
    })
}

/// `cmd` with `f` applied to each of its commands.
fn map_subcommands(mut cmd: Command, f: impl Fn(Command) -> Command) -> Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, &f);
    }
    cmd
}

/// Every command built, as an invocation of it would build it (the
/// manual pages show each command's options, global ones included).
pub fn whole_tree() -> Command {
    fn build_below(cmd: Command) -> Command {
        map_subcommands(cmd, |sub| build_below(built(parse_rules(sub, false))))
    }
    build_below(built(parse_rules(Cli::command(), true)))
}

/// pflag's parsing rules and cobra's `help` (a command of the top level
/// only), which clap applies to a command's arguments when it builds it.
fn parse_rules(cmd: Command, is_top: bool) -> Command {
    cmd.disable_help_subcommand(!is_top)
        .args_override_self(true)
        .allow_negative_numbers(true)
}

/// The subcommand names `args` walk down from the top (aliases resolved);
/// after `help`, the names it is asked about.
fn path_words(cmd: &Command, args: &[OsString]) -> Vec<String> {
    walk(cmd, args, true)
        .iter()
        .skip(1)
        .map(|c| c.get_name().to_string())
        .collect()
}

/// The commands `args` go through, from `cmd` down, skipping options and
/// their values; `through_help`: a leading `help` is passed over, as it
/// shows the command named after it.
fn walk<'a>(cmd: &'a Command, args: &[OsString], through_help: bool) -> Vec<&'a Command> {
    let mut stack = vec![cmd];
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
        i += 1;
        if through_help && stack.len() == 1 && token == "help" {
            continue;
        }
        match stack[stack.len() - 1].find_subcommand(token.as_ref()) {
            Some(sub) => stack.push(sub),
            None => break,
        }
    }
    stack
}

/// Prints the top-level help and podman's "missing command" error; the exit code.
pub fn missing_command(args: &[OsString]) -> i32 {
    let mut cmd = command(args);
    print_out(&cmd.render_help().to_string());
    eprintln!("Error: missing command '{} COMMAND'", program(args));
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
/// Usage:/Options: layout, for `cmd` and the commands below it that
/// `below` names one after the other.
fn podman_layout(mut cmd: Command, path: &str, top: &str, below: &[String]) -> Command {
    let has_subcommands = cmd.get_subcommands().any(|s| !s.is_hide_set());
    let template = if has_subcommands {
        "{about-with-newline}\nUsage:\n  {usage}\n\nAvailable Commands:\n{subcommands}\n\nOptions:\n{options}{after-help}"
    } else {
        "{about-with-newline}\nUsage:\n  {usage}\n\nOptions:\n{options}{after-help}"
    };
    let is_top = path == top;
    let usage = usage_line(&cmd, path, is_top, has_subcommands);
    // pflag's rules hold for every command, not only the top one.
    // cobra never wraps: one line per command and option (scripts read
    // the command list of `help` line by line).
    cmd = parse_rules(cmd, is_top)
        .override_usage(usage)
        .help_template(template)
        .term_width(0);
    if let Some((name, rest)) = below.split_first() {
        let sub_path = format!("{path} {name}");
        cmd = cmd.mut_subcommand(name, |s| podman_layout(s, &sub_path, top, rest));
    }
    cmd
}

fn usage_line(cmd: &Command, path: &str, is_top: bool, has_subcommands: bool) -> String {
    if has_subcommands {
        return if is_top {
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
        // A name in braces is an alternative of lists, written out whole
        // (`{CONTAINER...|POD...}`).
        if name.starts_with('{') {
            line.push(' ');
            line.push_str(&name);
            continue;
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
    let stack = walk(cmd, args, false);
    let mut path = program(args);
    for sub in &stack[1..] {
        path.push(' ');
        path.push_str(sub.get_name());
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

/// Commands whose arguments podman counts as a whole (cobra's ExactArgs
/// and RangeArgs): their usage errors say how many they take and got.
const COUNTED: &[&str] = &[
    "cp",
    "container cp",
    "rename",
    "container rename",
    "update",
    "container update",
    "container clone",
];

/// podman's `accepts N arg(s), received M` (or `accepts between N and M
/// arg(s), received K`) for the [`COUNTED`] commands; `None` for others.
fn counted_args(top: &Command, reached: &Command, path: &str, args: &[OsString]) -> Option<String> {
    let sub = path.split_once(' ')?.1;
    if !COUNTED.contains(&sub) {
        return None;
    }
    let positionals: Vec<_> = reached
        .get_positionals()
        .filter(|a| !a.is_hide_set())
        .collect();
    let min = positionals.iter().filter(|a| a.is_required_set()).count();
    let max = positionals.len();
    // The words that are neither options, option values nor the command path.
    let mut words: usize = 0;
    let mut i = 1;
    let mut only_words = false;
    while i < args.len() {
        let token = args[i].to_string_lossy();
        if !only_words && token == "--" {
            only_words = true;
        } else if !only_words && token.starts_with('-') && token.len() > 1 {
            if !token.contains('=') && option_takes_value(&[top, reached], &token) {
                i += 1;
            }
        } else {
            words += 1;
        }
        i += 1;
    }
    let received = words.saturating_sub(sub.split(' ').count());
    Some(if min == max {
        format!("accepts {max} arg(s), received {received}")
    } else {
        format!("accepts between {min} and {max} arg(s), received {received}")
    })
}

/// The short name of `flag` (`--user`) when the last word typed, the one
/// left without its value, is that short name or ends a cluster with it.
fn typed_short(cmd: &Command, flag: &str, args: &[OsString]) -> Option<char> {
    let long = flag.strip_prefix("--")?;
    let short = cmd
        .get_arguments()
        .find(|a| a.get_long() == Some(long))?
        .get_short()?;
    let last = args.last()?.to_string_lossy();
    let cluster = last.strip_prefix('-').filter(|c| !c.starts_with('-'))?;
    cluster.ends_with(short).then_some(short)
}

/// The first `--flag` among `words` that `cmd` does not take.
fn unknown_long_flag(cmd: &Command, words: &[OsString]) -> Option<String> {
    words.iter().find_map(|w| {
        let w = w.to_string_lossy();
        let long = w.strip_prefix("--")?.split('=').next()?;
        let known = long.is_empty() || cmd.get_arguments().any(|a| a.get_long() == Some(long));
        (!known).then(|| format!("--{long}"))
    })
}

/// podman's error for an unknown command, with the subcommands of `cmd`
/// it may have meant when `suggest` (podman suggests at the top level only).
fn unrecognized(cmd: &Command, path: &str, name: &str, suggest: bool) -> String {
    let mut text = format!("unrecognized command `{path} {name}`");
    let similar = if suggest {
        crate::suggest::similar_commands(cmd, name)
    } else {
        vec![]
    };
    if !similar.is_empty() {
        text.push_str("\n\nDid you mean this?");
        for s in similar {
            text.push_str(&format!("\n\t{s}"));
        }
        text.push('\n');
    }
    text.push_str(&format!("\nTry '{path} --help' for more information"));
    text
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
            let after = args
                .iter()
                .position(|a| a.to_string_lossy() == name)
                .map_or(&args[..0], |i| &args[i + 1..]);
            match unknown_long_flag(reached, after) {
                // podman parses the flags first: their error wins.
                Some(flag) => format!("unknown flag: {flag}\n{see}"),
                // podman suggests only for its own commands, not a group's.
                None => unrecognized(reached, &path, &name, std::ptr::eq(reached, cmd)),
            }
        }
        ErrorKind::UnknownArgument => {
            let arg = context(&err, ContextKind::InvalidArg).unwrap_or_default();
            if let Some(long) = arg.strip_prefix("--") {
                let name = long.split('=').next().unwrap_or(long);
                format!("unknown flag: --{name}\n{see}")
            } else if arg.starts_with('-') && arg.len() > 1 {
                let c = arg.chars().nth(1).unwrap_or('-');
                format!("unknown shorthand flag: '{c}' in {arg}\n{see}")
            } else if let Some(counted) = counted_args(cmd, reached, &path, args) {
                counted
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
        ErrorKind::MissingRequiredArgument if counted_args(cmd, reached, &path, args).is_some() => {
            counted_args(cmd, reached, &path, args).unwrap_or_default()
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
            match typed_short(reached, &flag, args) {
                // pflag names a shorthand as typed: `'u' in -u`.
                Some(c) => format!("flag needs an argument: '{c}' in -{c}\n{see}"),
                None => format!("flag needs an argument: {flag}\n{see}"),
            }
        }
        // A command that declares `--latest` in conflict with its other
        // arguments gets podman's wording for it.
        ErrorKind::ArgumentConflict
            if [ContextKind::InvalidArg, ContextKind::PriorArg]
                .iter()
                .any(|k| context(&err, *k).is_some_and(|a| a.starts_with("--latest"))) =>
        {
            let both = format!(
                "{} {}",
                context(&err, ContextKind::InvalidArg).unwrap_or_default(),
                context(&err, ContextKind::PriorArg).unwrap_or_default()
            );
            if both.contains("--all") {
                "--all and --latest cannot be used together".to_string()
            } else if both.to_ascii_uppercase().contains("POD") {
                "--latest and pods cannot be used together".to_string()
            } else if both.to_ascii_uppercase().contains("CONTAINER") {
                "--latest and containers cannot be used together".to_string()
            } else {
                "--latest and arguments cannot be used together".to_string()
            }
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
        let cmd = command(&args(&["hoist", "pull"]));
        let pull = cmd.find_subcommand("pull").unwrap();
        assert_eq!(
            pull.clone().render_usage().to_string().trim_end(),
            "Usage: hoist pull [options] IMAGE [IMAGE...]"
        );
        let cmd = command(&args(&["hoist", "--root", "/x", "image"]));
        let image = cmd.find_subcommand("image").unwrap();
        assert!(image
            .clone()
            .render_usage()
            .to_string()
            .ends_with("hoist image [command]"));
    }

    #[test]
    fn the_commands_help_names_are_laid_out_and_others_left_alone() {
        let cmd = command(&args(&["hoist", "help", "image", "ls"]));
        let ls = cmd
            .find_subcommand("image")
            .and_then(|i| i.find_subcommand("ls"))
            .unwrap();
        assert!(ls
            .clone()
            .render_usage()
            .to_string()
            .contains("hoist image ls [options]"));
        // `pull` is not reached: clap's own usage line.
        let pull = cmd.find_subcommand("pull").unwrap();
        assert!(!pull
            .clone()
            .render_usage()
            .to_string()
            .contains("[options]"));
    }

    #[test]
    fn only_the_commands_reached_are_built() {
        let has =
            |cmd: &Command, long: &str| cmd.get_arguments().any(|a| a.get_long() == Some(long));
        // Options and their values are skipped on the way down, the
        // global ones too.
        let cmd = command(&args(&[
            "hoist",
            "--root",
            "/x",
            "container",
            "--log-level",
            "info",
            "ps",
            "-a",
        ]));
        let container = cmd.find_subcommand("container").unwrap();
        let ps = container.find_subcommand("ps").unwrap();
        assert!(has(ps, "all") && has(ps, "root"));
        // A command not reached has no arguments yet, but `oci`: its
        // `--root` is runc's, not hoist's (see `TopCommand`).
        assert!(!has(container.find_subcommand("run").unwrap(), "rm"));
        assert!(!has(cmd.find_subcommand("run").unwrap(), "rm"));
        let oci = cmd.find_subcommand("oci").unwrap();
        let roots: Vec<_> = oci
            .get_arguments()
            .filter(|a| a.get_long() == Some("root"))
            .collect();
        assert_eq!(roots.len(), 1);
        assert!(roots[0].get_help().unwrap().to_string().contains("runc"));
        // The list of commands keeps its order: `oci` between `system` and `run`.
        let help = command(&args(&["hoist", "--help"]))
            .render_help()
            .to_string();
        let at = |name: &str| help.find(&format!("\n  {name} ")).unwrap();
        assert!(at("system") < at("oci") && at("oci") < at("run"));
        let Err(code) = parse(&args(&["hoist", "container", "ps", "--no-such-flag"])) else {
            panic!("an unknown flag parsed");
        };
        assert_eq!(code, ENGINE_ERROR);
        let cli = parse(&args(&["hoist", "container", "ps", "-a", "--root", "/y"])).unwrap();
        assert_eq!(cli.root, std::path::PathBuf::from("/y"));
    }

    #[test]
    fn usage_lines_name_the_program_as_invoked() {
        let cmd = command(&args(&["/usr/local/bin/podman", "pull"]));
        let pull = cmd.find_subcommand("pull").unwrap();
        assert_eq!(
            pull.clone().render_usage().to_string().trim_end(),
            "Usage: podman pull [options] IMAGE [IMAGE...]"
        );
        assert!(cmd
            .clone()
            .render_usage()
            .to_string()
            .ends_with("podman [options] [command]"));
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
    fn counted_commands_say_how_many_arguments_they_take() {
        // The commands the words reach are built, as for a real parse.
        let a = args(&["hoist", "--root", "/x", "rename", "a"]);
        let cmd = command(&a);
        let rename = cmd.find_subcommand("rename").unwrap();
        assert_eq!(
            counted_args(&cmd, rename, "hoist rename", &a).as_deref(),
            Some("accepts 2 arg(s), received 1")
        );
        let words = "hoist container clone --memory 1g a b c d";
        let a = args(&words.split(' ').collect::<Vec<_>>());
        let cmd = command(&a);
        let clone = cmd
            .find_subcommand("container")
            .and_then(|c| c.find_subcommand("clone"))
            .unwrap();
        assert_eq!(
            counted_args(&cmd, clone, "hoist container clone", &a).as_deref(),
            Some("accepts between 1 and 3 arg(s), received 4")
        );
        let pull = cmd.find_subcommand("pull").unwrap();
        assert_eq!(counted_args(&cmd, pull, "hoist pull", &a), None);
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
