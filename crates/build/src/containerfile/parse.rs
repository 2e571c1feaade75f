//! Logical lines into typed instructions and stages.

use super::ast::*;
use super::error::ParseError;
use super::lines::{logical_lines, parse_heredoc_word, LogicalLine};
use super::mount::parse_mount;
use super::words::{parse_go_duration, parse_json_array, split_flags, split_words};

/// See [`super::parse`].
pub(crate) fn parse_text(text: &str) -> Result<Containerfile, ParseError> {
    let (directives, lines) = logical_lines(text)?;
    if lines.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut file = Containerfile {
        directives,
        global_args: Vec::new(),
        stages: Vec::new(),
    };
    for l in &lines {
        let ins = instruction(l, file.directives.escape)?;
        add(&mut file, ins)?;
    }
    if file.stages.is_empty() {
        return Err(ParseError::NoFrom);
    }
    Ok(file)
}

/// Appends an instruction to the right stage (or to the global args).
fn add(file: &mut Containerfile, ins: Instruction) -> Result<(), ParseError> {
    if let InstructionKind::From(f) = &ins.kind {
        if let Some(name) = &f.alias {
            if file.stages.iter().any(|s| s.name.as_ref() == Some(name)) {
                return Err(ParseError::DuplicateStageName {
                    line: ins.line,
                    name: name.clone(),
                });
            }
        }
        file.stages.push(Stage {
            index: file.stages.len(),
            name: f.alias.clone(),
            from: ins,
            instructions: Vec::new(),
        });
        return Ok(());
    }
    match file.stages.last_mut() {
        Some(stage) => stage.instructions.push(ins),
        None if matches!(ins.kind, InstructionKind::Arg(_)) => file.global_args.push(ins),
        None => {
            return Err(ParseError::BeforeFrom {
                line: ins.line,
                instruction: ins.kind.keyword(),
            })
        }
    }
    Ok(())
}

/// Context for typing one instruction.
struct Ctx<'a> {
    line: usize,
    escape: char,
    heredocs: &'a [Heredoc],
}

impl Ctx<'_> {
    fn word(&self, raw: &str) -> Word {
        Word::new(raw, self.escape)
    }

    fn missing(&self, instruction: &'static str, expected: &'static str) -> ParseError {
        ParseError::MissingArgument {
            line: self.line,
            instruction,
            expected,
        }
    }

    fn invalid(&self, instruction: &'static str, message: impl Into<String>) -> ParseError {
        ParseError::Invalid {
            line: self.line,
            instruction,
            message: message.into(),
        }
    }
}

fn instruction(l: &LogicalLine, escape: char) -> Result<Instruction, ParseError> {
    let ctx = Ctx {
        line: l.line,
        escape,
        heredocs: &l.heredocs,
    };
    let kind = kind(&ctx, &l.text)?;
    Ok(Instruction {
        line: l.line,
        end_line: l.end_line,
        original: l.text.clone(),
        kind,
    })
}

/// Types `KEYWORD rest`.
fn kind(ctx: &Ctx, text: &str) -> Result<InstructionKind, ParseError> {
    let text = text.trim();
    let (keyword, rest) = match text.find(char::is_whitespace) {
        Some(i) => (&text[..i], text[i..].trim()),
        None => (text, ""),
    };
    let (flags, rest) = split_flags(rest);
    let rest = rest.trim();
    let kw = keyword.to_ascii_uppercase();
    let kw: &'static str = match kw.as_str() {
        "FROM" => "FROM",
        "RUN" => "RUN",
        "CMD" => "CMD",
        "ENTRYPOINT" => "ENTRYPOINT",
        "COPY" => "COPY",
        "ADD" => "ADD",
        "ARG" => "ARG",
        "ENV" => "ENV",
        "LABEL" => "LABEL",
        "WORKDIR" => "WORKDIR",
        "USER" => "USER",
        "EXPOSE" => "EXPOSE",
        "VOLUME" => "VOLUME",
        "SHELL" => "SHELL",
        "STOPSIGNAL" => "STOPSIGNAL",
        "HEALTHCHECK" => "HEALTHCHECK",
        "ONBUILD" => "ONBUILD",
        "MAINTAINER" => "MAINTAINER",
        _ => {
            return Err(ParseError::UnknownInstruction {
                line: ctx.line,
                name: keyword.to_string(),
            })
        }
    };
    let flags = Flags::parse(ctx, kw, &flags)?;
    Ok(match kw {
        "FROM" => InstructionKind::From(from(ctx, flags, rest)?),
        "RUN" => InstructionKind::Run(run(ctx, flags, rest)?),
        "CMD" => InstructionKind::Cmd(command(ctx, kw, rest)?),
        "ENTRYPOINT" => InstructionKind::Entrypoint(command(ctx, kw, rest)?),
        "COPY" | "ADD" => copy(ctx, kw, flags, rest)?,
        "ARG" => InstructionKind::Arg(args(ctx, rest)?),
        "ENV" => InstructionKind::Env(key_values(ctx, kw, rest)?),
        "LABEL" => InstructionKind::Label(key_values(ctx, kw, rest)?),
        "WORKDIR" => InstructionKind::Workdir(ctx.word(non_empty(ctx, kw, rest)?)),
        "USER" => InstructionKind::User(ctx.word(non_empty(ctx, kw, rest)?)),
        "STOPSIGNAL" => InstructionKind::Stopsignal(ctx.word(non_empty(ctx, kw, rest)?)),
        "MAINTAINER" => InstructionKind::Maintainer(non_empty(ctx, kw, rest)?.to_string()),
        "EXPOSE" => InstructionKind::Expose(list(ctx, kw, rest, false)?),
        "VOLUME" => InstructionKind::Volume(list(ctx, kw, rest, true)?),
        "SHELL" => InstructionKind::Shell(shell(ctx, rest)?),
        "HEALTHCHECK" => InstructionKind::Healthcheck(healthcheck(ctx, flags, rest)?),
        _ => InstructionKind::Onbuild(onbuild(ctx, rest)?),
    })
}

fn non_empty<'a>(ctx: &Ctx, kw: &'static str, rest: &'a str) -> Result<&'a str, ParseError> {
    if rest.is_empty() {
        Err(ctx.missing(kw, "an argument"))
    } else {
        Ok(rest)
    }
}

/// The flags an instruction accepts, parsed.
struct Flags {
    values: Vec<(&'static str, Option<String>)>,
}

impl Flags {
    fn parse(ctx: &Ctx, kw: &'static str, words: &[String]) -> Result<Flags, ParseError> {
        // (name, takes a value, may repeat)
        let spec: &[(&'static str, bool, bool)] = match kw {
            "FROM" => &[("platform", true, false)],
            "RUN" => &[
                ("mount", true, true),
                ("network", true, false),
                ("security", true, false),
            ],
            "COPY" => &[
                ("from", true, false),
                ("chown", true, false),
                ("chmod", true, false),
                ("link", false, false),
                ("parents", false, false),
                ("exclude", true, true),
            ],
            "ADD" => &[
                ("chown", true, false),
                ("chmod", true, false),
                ("link", false, false),
                ("checksum", true, false),
                ("keep-git-dir", false, false),
                ("exclude", true, true),
            ],
            "HEALTHCHECK" => &[
                ("interval", true, false),
                ("timeout", true, false),
                ("start-period", true, false),
                ("start-interval", true, false),
                ("retries", true, false),
            ],
            _ => &[],
        };
        let mut values: Vec<(&'static str, Option<String>)> = Vec::new();
        for w in words {
            let body = &w[2..];
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let Some(&(name, takes_value, repeats)) = spec.iter().find(|(n, _, _)| *n == name)
            else {
                return Err(ParseError::UnknownFlag {
                    line: ctx.line,
                    instruction: kw,
                    flag: name.to_string(),
                });
            };
            let value = if takes_value {
                Some(value.ok_or_else(|| {
                    ctx.invalid(
                        kw,
                        format!("missing a value on flag --{name} (--{name}=VALUE)"),
                    )
                })?)
            } else {
                match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    None | Some("true") => None,
                    Some("false") => continue,
                    Some(v) => {
                        return Err(
                            ctx.invalid(kw, format!("--{name} expects a boolean, not {v:?}"))
                        )
                    }
                }
            };
            if !repeats && values.iter().any(|(n, _)| *n == name) {
                return Err(ctx.invalid(kw, format!("duplicate flag specified: --{name}")));
            }
            values.push((name, value));
        }
        Ok(Flags { values })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.values
            .iter()
            .filter(move |(n, _)| *n == name)
            .filter_map(|(_, v)| v.as_deref())
    }

    fn has(&self, name: &str) -> bool {
        self.values.iter().any(|(n, _)| *n == name)
    }

    fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

fn from(ctx: &Ctx, flags: Flags, rest: &str) -> Result<From, ParseError> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let alias = match words.as_slice() {
        [_] => None,
        [_, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => Some(stage_name(ctx, name)?),
        [] => return Err(ctx.missing("FROM", "an image (FROM image [AS name])")),
        _ => {
            return Err(ctx.invalid(
                "FROM",
                "FROM requires either one or three arguments: FROM image [AS name]",
            ))
        }
    };
    Ok(From {
        image: ctx.word(words[0]),
        platform: flags.get("platform").map(|p| ctx.word(p)),
        alias,
    })
}

/// A stage name: a letter, then letters, digits, `-`, `_`, `.`; lowercased.
fn stage_name(ctx: &Ctx, name: &str) -> Result<String, ParseError> {
    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(ctx.invalid(
            "FROM",
            format!("invalid name for build stage: {name:?}, name can't start with a number or contain symbols"),
        ));
    }
    Ok(name.to_ascii_lowercase())
}

/// Exec form when `rest` is a JSON array of strings, else shell form.
fn command(ctx: &Ctx, kw: &'static str, rest: &str) -> Result<Command, ParseError> {
    Ok(match json(ctx, kw, rest)? {
        Some(argv) => Command::Exec(argv),
        None => Command::Shell(rest.to_string()),
    })
}

/// [`parse_json_array`] with its error typed.
fn json(ctx: &Ctx, kw: &'static str, rest: &str) -> Result<Option<Vec<String>>, ParseError> {
    parse_json_array(rest).map_err(|_| {
        ctx.invalid(
            kw,
            "when using JSON array syntax, arrays must be comprised of strings only",
        )
    })
}

fn run(ctx: &Ctx, flags: Flags, rest: &str) -> Result<Run, ParseError> {
    let mounts = flags
        .all("mount")
        .map(|m| parse_mount(m).map_err(|e| ctx.invalid("RUN", format!("--mount={m}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    if rest.is_empty() {
        return Err(ctx.missing("RUN", "a command"));
    }
    let mut cmd = command(ctx, "RUN", rest)?;
    let heredocs = match cmd {
        Command::Exec(_) => Vec::new(),
        Command::Shell(_) => ctx.heredocs.to_vec(),
    };
    let words = split_words(rest, ctx.escape);
    let heredoc_script = heredocs.len() == 1
        && words.len() == 1
        && parse_heredoc_word(&words[0], ctx.escape).is_some();
    if heredoc_script {
        cmd = Command::Shell(heredocs[0].content.clone());
    } else if !heredocs.is_empty() {
        // Hand the shell the whole thing, bodies and terminators included.
        let mut full = rest.to_string();
        for h in &heredocs {
            full.push('\n');
            full.push_str(&h.content);
            full.push_str(&h.name);
        }
        cmd = Command::Shell(full);
    }
    let one_of = |name: &str, allowed: &[&str]| -> Result<Option<String>, ParseError> {
        match flags.get(name) {
            Some(v) if !allowed.contains(&v) => Err(ctx.invalid(
                "RUN",
                format!(
                    "unsupported --{name}={v}: use one of {}",
                    allowed.join(", ")
                ),
            )),
            v => Ok(v.map(str::to_string)),
        }
    };
    Ok(Run {
        mounts,
        network: one_of("network", &["default", "none", "host"])?,
        security: one_of("security", &["sandbox", "insecure"])?,
        command: cmd,
        heredocs,
        heredoc_script,
    })
}

fn copy(
    ctx: &Ctx,
    kw: &'static str,
    flags: Flags,
    rest: &str,
) -> Result<InstructionKind, ParseError> {
    let mut heredocs = ctx.heredocs.iter();
    let mut words: Vec<CopySource> = match json(ctx, kw, rest)? {
        Some(list) => list.iter().map(|s| CopySource::Path(ctx.word(s))).collect(),
        None => rest
            .split_whitespace()
            .map(|w| match parse_heredoc_word(w, ctx.escape) {
                Some(_) => heredocs
                    .next()
                    .cloned()
                    .map(CopySource::Heredoc)
                    .unwrap_or_else(|| CopySource::Path(ctx.word(w))),
                None => CopySource::Path(ctx.word(w)),
            })
            .collect(),
    };
    if words.len() < 2 {
        return Err(ctx.missing(kw, "at least two arguments: a source and a destination"));
    }
    let dest = match words.pop() {
        Some(CopySource::Path(w)) => w,
        _ => return Err(ctx.invalid(kw, "the destination cannot be a heredoc")),
    };
    let word = |n: &str| flags.get(n).map(|v| ctx.word(v));
    let c = Copy {
        from: word("from"),
        chown: word("chown"),
        chmod: word("chmod"),
        link: flags.has("link"),
        checksum: word("checksum"),
        keep_git_dir: flags.has("keep-git-dir"),
        parents: flags.has("parents"),
        excludes: flags.all("exclude").map(|v| ctx.word(v)).collect(),
        sources: words,
        dest,
    };
    Ok(if kw == "COPY" {
        InstructionKind::Copy(c)
    } else {
        InstructionKind::Add(c)
    })
}

fn args(ctx: &Ctx, rest: &str) -> Result<Vec<ArgDecl>, ParseError> {
    let words = split_words(rest, ctx.escape);
    if words.is_empty() {
        return Err(ctx.missing("ARG", "at least one argument: ARG name[=default]"));
    }
    words
        .iter()
        .map(|w| {
            let (name, default) = match w.split_once('=') {
                Some((n, d)) => (n, Some(ctx.word(d))),
                None => (w.as_str(), None),
            };
            if name.is_empty() {
                return Err(ctx.invalid("ARG", format!("ARG names can not be blank: {w:?}")));
            }
            Ok(ArgDecl {
                name: name.to_string(),
                default,
            })
        })
        .collect()
}

/// `k=v k2=v2` or the legacy `k v with spaces`.
fn key_values(ctx: &Ctx, kw: &'static str, rest: &str) -> Result<Vec<KeyValue>, ParseError> {
    let words = split_words(rest, ctx.escape);
    let Some(first) = words.first() else {
        return Err(ctx.missing(kw, "at least one argument: name=value"));
    };
    if !first.contains('=') {
        // Legacy form: the first word is the key, all the rest the value.
        let value = rest[rest.find(char::is_whitespace).unwrap_or(rest.len())..].trim();
        if value.is_empty() {
            return Err(ctx.missing(kw, "two arguments in the form `name value` (or name=value)"));
        }
        return Ok(vec![KeyValue {
            key: ctx.word(first),
            value: ctx.word(value),
        }]);
    }
    words
        .iter()
        .map(|w| {
            let Some((k, v)) = w.split_once('=') else {
                return Err(ctx.invalid(
                    kw,
                    format!(
                        "syntax error - can't find = in {w:?}. Must be of the form: name=value"
                    ),
                ));
            };
            if k.is_empty() {
                return Err(ctx.invalid(kw, format!("{kw} names can not be blank")));
            }
            Ok(KeyValue {
                key: ctx.word(k),
                value: ctx.word(v),
            })
        })
        .collect()
}

/// EXPOSE (whitespace list) and VOLUME (JSON array or whitespace list).
fn list(ctx: &Ctx, kw: &'static str, rest: &str, as_json: bool) -> Result<Vec<Word>, ParseError> {
    let parsed = if as_json { json(ctx, kw, rest)? } else { None };
    let items: Vec<String> = match parsed {
        Some(list) => list,
        None => rest.split_whitespace().map(str::to_string).collect(),
    };
    if items.is_empty() {
        return Err(ctx.missing(kw, "at least one argument"));
    }
    if items.iter().any(|i| i.trim().is_empty()) {
        return Err(ctx.invalid(kw, format!("{kw} specified can not be an empty string")));
    }
    Ok(items.iter().map(|i| ctx.word(i)).collect())
}

fn shell(ctx: &Ctx, rest: &str) -> Result<Vec<String>, ParseError> {
    match json(ctx, "SHELL", rest)? {
        Some(argv) if !argv.is_empty() => Ok(argv),
        Some(_) => Err(ctx.missing("SHELL", "at least one argument")),
        None => Err(ctx.invalid(
            "SHELL",
            "SHELL requires the arguments to be in JSON form: SHELL [\"executable\", \"param\"]",
        )),
    }
}

fn healthcheck(ctx: &Ctx, flags: Flags, rest: &str) -> Result<Healthcheck, ParseError> {
    const KW: &str = "HEALTHCHECK";
    let (kind, args) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    if kind.is_empty() {
        return Err(ctx.missing(KW, "CMD command or NONE"));
    }
    if kind.eq_ignore_ascii_case("none") {
        if !args.is_empty() || !flags.is_empty() {
            return Err(ctx.invalid(KW, "HEALTHCHECK NONE takes no arguments or flags"));
        }
        return Ok(Healthcheck::None);
    }
    if !kind.eq_ignore_ascii_case("cmd") {
        return Err(ctx.invalid(
            KW,
            format!("unknown type {kind:?} in HEALTHCHECK (try CMD)"),
        ));
    }
    if args.is_empty() {
        return Err(ctx.missing(KW, "a command after CMD"));
    }
    let duration = |name: &str| -> Result<Option<std::time::Duration>, ParseError> {
        let Some(v) = flags.get(name) else {
            return Ok(None);
        };
        let d = parse_go_duration(v).ok_or_else(|| {
            ctx.invalid(
                KW,
                format!("invalid --{name} {v:?}: use a duration like 30s or 1m30s"),
            )
        })?;
        if !d.is_zero() && d < std::time::Duration::from_millis(1) {
            return Err(ctx.invalid(KW, format!("--{name} cannot be less than 1ms")));
        }
        Ok(Some(d))
    };
    let retries = match flags.get("retries") {
        None => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| {
            ctx.invalid(
                KW,
                format!("invalid --retries {v:?}: a number of zero or more is needed"),
            )
        })?),
    };
    Ok(Healthcheck::Check {
        command: command(ctx, KW, args)?,
        interval: duration("interval")?,
        timeout: duration("timeout")?,
        start_period: duration("start-period")?,
        start_interval: duration("start-interval")?,
        retries,
    })
}

fn onbuild(ctx: &Ctx, rest: &str) -> Result<Onbuild, ParseError> {
    if rest.is_empty() {
        return Err(ctx.missing("ONBUILD", "an instruction to run later"));
    }
    let inner_ctx = Ctx {
        line: ctx.line,
        escape: ctx.escape,
        heredocs: &[],
    };
    let inner = kind(&inner_ctx, rest)?;
    if matches!(
        inner,
        InstructionKind::From(_) | InstructionKind::Onbuild(_) | InstructionKind::Maintainer(_)
    ) {
        return Err(ctx.invalid(
            "ONBUILD",
            format!("{} isn't allowed as an ONBUILD trigger", inner.keyword()),
        ));
    }
    Ok(Onbuild {
        expression: rest.to_string(),
        instruction: Box::new(Instruction {
            line: ctx.line,
            end_line: ctx.line,
            original: rest.to_string(),
            kind: inner,
        }),
    })
}
