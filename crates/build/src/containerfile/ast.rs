//! The typed form of a Containerfile: stages of instructions, each with its
//! line number and original text (the cache key and history `created_by`).
//!
//! Words that Docker expands at build time ([`Word`]) stay unexpanded here:
//! their values depend on `--build-arg` and on the stage's ARG/ENV scope, so
//! the executor expands them with [`Word::expand`] while it runs a stage.

use std::time::Duration;

/// A parsed Containerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Containerfile {
    /// Parser directives from the top of the file.
    pub directives: Directives,
    /// `ARG` instructions before the first `FROM`: global args, usable in
    /// `FROM` lines and (after a bare `ARG name` redeclaration) in a stage.
    pub global_args: Vec<Instruction>,
    /// The build stages in file order; `stages[i].index == i`.
    pub stages: Vec<Stage>,
}

/// Parser directives (`# syntax=...`, `# escape=...`, `# check=...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// `# syntax=` (informational: hoist has one built-in frontend).
    pub syntax: Option<String>,
    /// The escape character: `\` (default) or `` ` ``.
    pub escape: char,
    /// `# check=` (informational).
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            syntax: None,
            escape: '\\',
            check: None,
        }
    }
}

/// One build stage: a `FROM` and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Position in the file, from 0 (what `COPY --from=0` names).
    pub index: usize,
    /// The `AS name`, lowercased (stage names are case-insensitive).
    pub name: Option<String>,
    /// The stage's `FROM` instruction (its kind is always
    /// [`InstructionKind::From`]).
    pub from: Instruction,
    /// Everything after the `FROM`, in order.
    pub instructions: Vec<Instruction>,
}

impl Stage {
    /// The typed `FROM` of this stage.
    pub fn from_args(&self) -> &From {
        match &self.from.kind {
            InstructionKind::From(f) => f,
            // The parser builds stages only from FROM instructions.
            _ => unreachable!("stage {} does not start with FROM", self.index),
        }
    }
}

/// One instruction with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line of the instruction keyword.
    pub line: usize,
    /// 1-based last line (continuations and heredoc bodies included).
    pub end_line: usize,
    /// The logical line as Docker keeps it: continuation escapes removed,
    /// continuation lines joined, comments inside them dropped; heredoc
    /// bodies are not included (they are in the typed form).
    pub original: String,
    /// What the instruction is, typed.
    pub kind: InstructionKind,
}

impl Instruction {
    /// The heredocs the instruction carries (RUN bodies, COPY/ADD inline
    /// files), in order.
    pub fn heredocs(&self) -> Vec<&Heredoc> {
        match &self.kind {
            InstructionKind::Run(r) => r.heredocs.iter().collect(),
            InstructionKind::Copy(c) | InstructionKind::Add(c) => c
                .sources
                .iter()
                .filter_map(|s| match s {
                    CopySource::Heredoc(h) => Some(h),
                    CopySource::Path(_) => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The original text with each heredoc body and terminator appended,
    /// as written: what a cache key must cover (a changed body is a
    /// changed step).
    pub fn full_text(&self) -> String {
        let mut text = self.original.clone();
        for h in self.heredocs() {
            text.push('\n');
            text.push_str(&h.content);
            text.push_str(&h.name);
        }
        text
    }
}

/// Every instruction of the Containerfile reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstructionKind {
    /// `FROM [--platform=P] IMAGE [AS name]`.
    From(From),
    /// `RUN [--mount=...] [--network=...] [--security=...] command`.
    Run(Run),
    /// `CMD` in exec or shell form.
    Cmd(Command),
    /// `ENTRYPOINT` in exec or shell form.
    Entrypoint(Command),
    /// `COPY [--from] [--chown] [--chmod] [--link] src... dest`.
    Copy(Copy),
    /// `ADD [--chown] [--chmod] [--link] [--checksum] src... dest`
    /// (`from` is always `None`).
    Add(Copy),
    /// `ARG name[=default] ...`.
    Arg(Vec<ArgDecl>),
    /// `ENV k=v ...` or legacy `ENV k v`.
    Env(Vec<KeyValue>),
    /// `LABEL k=v ...`.
    Label(Vec<KeyValue>),
    /// `WORKDIR path`.
    Workdir(Word),
    /// `USER user[:group]`.
    User(Word),
    /// `EXPOSE port[/proto] ...` (each word expands to one or more ports).
    Expose(Vec<Word>),
    /// `VOLUME ["/a", "/b"]` or `VOLUME /a /b`.
    Volume(Vec<Word>),
    /// `SHELL ["exe", "arg"...]` (JSON form only).
    Shell(Vec<String>),
    /// `STOPSIGNAL signal`.
    Stopsignal(Word),
    /// `HEALTHCHECK [flags] CMD ...` or `HEALTHCHECK NONE`.
    Healthcheck(Healthcheck),
    /// `ONBUILD <instruction>`.
    Onbuild(Onbuild),
    /// `MAINTAINER name` (deprecated; becomes the image author).
    Maintainer(String),
}

impl InstructionKind {
    /// The instruction keyword in upper case (`"RUN"`, `"COPY"`, ...).
    pub fn keyword(&self) -> &'static str {
        match self {
            InstructionKind::From(_) => "FROM",
            InstructionKind::Run(_) => "RUN",
            InstructionKind::Cmd(_) => "CMD",
            InstructionKind::Entrypoint(_) => "ENTRYPOINT",
            InstructionKind::Copy(_) => "COPY",
            InstructionKind::Add(_) => "ADD",
            InstructionKind::Arg(_) => "ARG",
            InstructionKind::Env(_) => "ENV",
            InstructionKind::Label(_) => "LABEL",
            InstructionKind::Workdir(_) => "WORKDIR",
            InstructionKind::User(_) => "USER",
            InstructionKind::Expose(_) => "EXPOSE",
            InstructionKind::Volume(_) => "VOLUME",
            InstructionKind::Shell(_) => "SHELL",
            InstructionKind::Stopsignal(_) => "STOPSIGNAL",
            InstructionKind::Healthcheck(_) => "HEALTHCHECK",
            InstructionKind::Onbuild(_) => "ONBUILD",
            InstructionKind::Maintainer(_) => "MAINTAINER",
        }
    }
}

/// Text that Docker expands with the build's ARG/ENV scope (and from which
/// it removes quotes) before using it. Keeps the file's escape character,
/// because `\` and `` ` `` escape differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The text as written in the Containerfile.
    pub raw: String,
    /// The escape character in force (from the `escape` directive).
    pub escape: char,
}

/// `FROM [--platform=P] IMAGE [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    /// The image (or `scratch`, or an earlier stage's name); expanded with
    /// the global args only.
    pub image: Word,
    /// `--platform`, expanded like `image`.
    pub platform: Option<Word>,
    /// `AS name`, lowercased; never expanded.
    pub alias: Option<String>,
}

/// The command of `RUN`, `CMD`, `ENTRYPOINT`, `HEALTHCHECK CMD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// JSON exec form: run directly, no shell, no expansion.
    Exec(Vec<String>),
    /// Shell form: the text handed to the `SHELL` (default `/bin/sh -c`).
    Shell(String),
}

/// `RUN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// `--mount=...` in order.
    pub mounts: Vec<Mount>,
    /// `--network=default|none|host`.
    pub network: Option<String>,
    /// `--security=sandbox|insecure`.
    pub security: Option<String>,
    /// What to run. For heredocs (see [`Run::heredocs`]) the shell text has
    /// the heredoc bodies re-attached after the first line, so handing it
    /// to a POSIX shell runs it as written — except for the single-heredoc
    /// case, see [`Run::script`].
    pub command: Command,
    /// The heredocs of a shell-form `RUN`, in order.
    pub heredocs: Vec<Heredoc>,
    /// True when the whole command is one heredoc (`RUN <<EOF`): Docker then
    /// runs its body as a script — a file executed directly when it starts
    /// with `#!`, else the body given to the shell (`command` is then
    /// `Shell(body)`).
    pub heredoc_script: bool,
}

impl Run {
    /// The heredoc to execute as a file: `RUN <<EOF` whose body starts with
    /// `#!` (the executor writes it to a file, makes it executable and runs
    /// it without the shell).
    pub fn script(&self) -> Option<&Heredoc> {
        match self.heredocs.first() {
            Some(h) if self.heredoc_script && h.content.starts_with("#!") => Some(h),
            _ => None,
        }
    }
}

/// A heredoc (`<<EOF`, `<<-EOF`, `<<"EOF"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter without quotes (`EOF`); for `COPY <<EOF` the name of
    /// the file created in the destination directory.
    pub name: String,
    /// The body: every line up to the delimiter, each ending in `\n`, with
    /// leading tabs stripped for `<<-`.
    pub content: String,
    /// False when the delimiter was quoted: the body is used literally.
    /// True: `COPY` expands variables in it (`RUN` leaves that to the shell).
    pub expand: bool,
    /// `<<-`: leading tabs were removed from every body line.
    pub strip_tabs: bool,
    /// A file descriptor written before `<<` (`3<<EOF`), if any.
    pub fd: Option<u32>,
}

/// One `RUN --mount=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mount type and its type-specific options.
    pub kind: MountKind,
    /// `target=`/`dst=`/`destination=`: where it appears in the container
    /// (for a secret without a target: `/run/secrets/<id>`).
    pub target: Option<String>,
    /// `source=`/`src=`.
    pub source: Option<String>,
    /// `from=`: a stage name/index or image to take `source` from.
    pub from: Option<String>,
    /// `readonly`/`ro` (true) or `rw`/`readwrite` (false); `None`: the
    /// type's default (bind: read-only, cache/tmpfs: writable).
    pub readonly: Option<bool>,
    /// The option string as written (for the cache key).
    pub raw: String,
}

/// The type of a `RUN --mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// `type=bind` (the default).
    Bind,
    /// `type=cache`.
    Cache(CacheMount),
    /// `type=tmpfs` with an optional `size=` in bytes.
    Tmpfs {
        /// `size=`: bytes (accepts suffixes k, m, g).
        size: Option<u64>,
    },
    /// `type=secret`.
    Secret(SecretMount),
    /// `type=ssh`.
    Ssh(SecretMount),
}

/// Options of `type=cache`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CacheMount {
    /// `id=` (default: the target).
    pub id: Option<String>,
    /// `sharing=shared|private|locked` (default shared).
    pub sharing: CacheSharing,
    /// `mode=` in octal (default 0755).
    pub mode: Option<u32>,
    /// `uid=` (default 0).
    pub uid: Option<u32>,
    /// `gid=` (default 0).
    pub gid: Option<u32>,
}

/// `sharing=` of a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheSharing {
    /// Concurrent writers share the directory.
    #[default]
    Shared,
    /// A new directory when one is in use.
    Private,
    /// Writers wait for each other.
    Locked,
}

/// Options of `type=secret` and `type=ssh`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretMount {
    /// `id=` (for secrets, default: the target's base name).
    pub id: Option<String>,
    /// `env=`: expose the secret as this environment variable.
    pub env: Option<String>,
    /// `required=true`: fail when the secret was not given.
    pub required: bool,
    /// `mode=` in octal (default 0400).
    pub mode: Option<u32>,
    /// `uid=`.
    pub uid: Option<u32>,
    /// `gid=`.
    pub gid: Option<u32>,
}

/// `COPY` and `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// `--from=stage|index|image` (COPY only).
    pub from: Option<Word>,
    /// `--chown=user[:group]`.
    pub chown: Option<Word>,
    /// `--chmod=mode`.
    pub chmod: Option<Word>,
    /// `--link`.
    pub link: bool,
    /// `--checksum=` (ADD only).
    pub checksum: Option<Word>,
    /// `--keep-git-dir` (ADD only).
    pub keep_git_dir: bool,
    /// `--parents` (COPY only).
    pub parents: bool,
    /// `--exclude=pattern`, repeatable.
    pub excludes: Vec<Word>,
    /// The sources: paths/globs/URLs, or heredocs (inline files).
    pub sources: Vec<CopySource>,
    /// The destination.
    pub dest: Word,
}

/// One source of `COPY`/`ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopySource {
    /// A path or glob in the context (or stage), or a URL for ADD.
    Path(Word),
    /// `<<EOF`: a file named after the delimiter with the heredoc's body.
    Heredoc(Heredoc),
}

/// One `ARG` declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    /// The name (never expanded).
    pub name: String,
    /// `=default`, expanded in the scope where the ARG appears.
    pub default: Option<Word>,
}

/// One `key=value` of `ENV` or `LABEL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key, expanded and unquoted like a value (`LABEL "a b"=c`).
    pub key: Word,
    /// The value.
    pub value: Word,
}

/// `HEALTHCHECK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable any inherited check.
    None,
    /// `HEALTHCHECK [flags] CMD ...`.
    Check {
        /// The test command (exec form becomes `CMD`, shell form `CMD-SHELL`).
        command: Command,
        /// `--interval` (None: default 30s).
        interval: Option<Duration>,
        /// `--timeout` (None: default 30s).
        timeout: Option<Duration>,
        /// `--start-period` (None: default 0s).
        start_period: Option<Duration>,
        /// `--start-interval` (None: default 5s).
        start_interval: Option<Duration>,
        /// `--retries` (None: default 3).
        retries: Option<u32>,
    },
}

/// `ONBUILD <instruction>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onbuild {
    /// The trigger as written after `ONBUILD` (what the image config's
    /// `OnBuild` list stores).
    pub expression: String,
    /// The trigger parsed (never FROM, ONBUILD or MAINTAINER).
    pub instruction: Box<Instruction>,
}
