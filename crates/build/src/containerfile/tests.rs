//! Unit tests of the Containerfile parser, expansion and stages.

use std::collections::HashMap;
use std::time::Duration;

use super::*;

fn p(text: &str) -> Containerfile {
    parse(text).unwrap_or_else(|e| panic!("parse failed: {e}\n{text}"))
}

fn err(text: &str) -> ParseError {
    parse(text).expect_err("parse should fail")
}

/// The kinds of the first stage's instructions.
fn kinds(text: &str) -> Vec<InstructionKind> {
    p(text).stages[0]
        .instructions
        .iter()
        .map(|i| i.kind.clone())
        .collect()
}

fn one(text: &str) -> InstructionKind {
    let mut k = kinds(&format!("FROM scratch\n{text}"));
    assert_eq!(k.len(), 1, "{text}");
    k.remove(0)
}

fn vars(list: &[(&str, &str)]) -> HashMap<String, String> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn x(text: &str, v: &HashMap<String, String>) -> String {
    expand(text, '\\', v).unwrap()
}

#[test]
fn minimal_file_has_one_stage() {
    let f = p("FROM alpine\n");
    assert_eq!(f.stages.len(), 1);
    assert_eq!(f.stages[0].from_args().image.raw, "alpine");
    assert_eq!(f.stages[0].from.line, 1);
    assert_eq!(f.directives.escape, '\\');
}

#[test]
fn instruction_names_are_case_insensitive() {
    let k = kinds("from alpine\nrun echo hi\nWorkDir /x\n");
    assert!(matches!(k[0], InstructionKind::Run(_)));
    assert_eq!(k[1], InstructionKind::Workdir(Word::new("/x", '\\')));
}

#[test]
fn comments_and_blank_lines_are_skipped_and_lines_counted() {
    let f = p("# a comment\n\n   # indented comment\nFROM a\n\nRUN true\n");
    assert_eq!(f.stages[0].from.line, 4);
    assert_eq!(f.stages[0].instructions[0].line, 6);
}

#[test]
fn continuation_joins_lines_and_keeps_line_numbers() {
    let f = p("FROM a\nRUN echo one \\\n  two \\\n  three\nUSER me\n");
    let run = &f.stages[0].instructions[0];
    assert_eq!(run.line, 2);
    assert_eq!(run.end_line, 4);
    assert_eq!(run.original, "RUN echo one   two   three");
    assert_eq!(f.stages[0].instructions[1].line, 5);
}

#[test]
fn continuation_skips_comment_and_blank_lines() {
    let f = p("FROM a\nRUN echo a \\\n# inner comment\n\n  b\n");
    assert_eq!(f.stages[0].instructions[0].original, "RUN echo a   b");
}

#[test]
fn continuation_with_trailing_spaces_after_escape() {
    let f = p("FROM a\nRUN echo a \\  \n b\n");
    assert_eq!(f.stages[0].instructions[0].original, "RUN echo a  b");
}

#[test]
fn crlf_line_endings_and_bom() {
    let f = p("\u{feff}FROM a\r\nRUN echo \\\r\n b\r\n");
    assert_eq!(f.stages[0].instructions[0].original, "RUN echo  b");
}

#[test]
fn escape_directive_backtick() {
    let f = p("# escape=`\nFROM a\nRUN dir c:\\ `\n  /w\nCOPY a\\b c:\\dest\\\n");
    assert_eq!(f.directives.escape, '`');
    let ins = &f.stages[0].instructions;
    assert_eq!(ins[0].original, "RUN dir c:\\   /w");
    let InstructionKind::Copy(c) = &ins[1].kind else {
        panic!()
    };
    assert_eq!(c.dest.raw, "c:\\dest\\");
    // With ` as escape, a backslash is an ordinary character.
    assert_eq!(c.dest.expand(&()).unwrap(), "c:\\dest\\");
}

#[test]
fn directives_with_spaces_and_case() {
    let f = p("#  SYNTAX = docker/dockerfile:1\n# Escape=\\\nFROM a\n");
    assert_eq!(f.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(f.directives.escape, '\\');
}

#[test]
fn directive_after_comment_is_a_comment() {
    let f = p("# hello\n# escape=`\nFROM a\n");
    assert_eq!(f.directives.escape, '\\');
    let f = p("# unknown=1\n# escape=`\nFROM a\n");
    assert_eq!(f.directives.escape, '\\');
    let f = p("\n# escape=`\nFROM a\n");
    assert_eq!(f.directives.escape, '\\');
}

#[test]
fn bad_and_duplicate_escape_directives() {
    assert_eq!(
        err("# escape=x\nFROM a\n"),
        ParseError::BadEscape {
            line: 1,
            value: "x".into()
        }
    );
    assert!(matches!(
        err("# escape=`\n# escape=\\\nFROM a\n"),
        ParseError::DuplicateDirective { line: 2, .. }
    ));
}

#[test]
fn unknown_instruction_names_line() {
    let e = err("FROM a\nRUN true\nFOO bar\n");
    assert_eq!(
        e,
        ParseError::UnknownInstruction {
            line: 3,
            name: "FOO".into()
        }
    );
    assert_eq!(e.to_string(), "line 3: unknown instruction: FOO");
    assert_eq!(e.line(), Some(3));
}

#[test]
fn empty_and_no_from() {
    assert_eq!(err(""), ParseError::Empty);
    assert_eq!(err("# only a comment\n\n"), ParseError::Empty);
    assert_eq!(err("ARG x=1\n"), ParseError::NoFrom);
    assert!(matches!(
        err("RUN true\nFROM a\n"),
        ParseError::BeforeFrom {
            line: 1,
            instruction: "RUN"
        }
    ));
}

#[test]
fn missing_arguments() {
    for (text, kw) in [
        ("FROM a\nRUN\n", "RUN"),
        ("FROM a\nCOPY onlyone\n", "COPY"),
        ("FROM a\nADD\n", "ADD"),
        ("FROM a\nWORKDIR\n", "WORKDIR"),
        ("FROM a\nUSER\n", "USER"),
        ("FROM a\nEXPOSE\n", "EXPOSE"),
        ("FROM a\nENV\n", "ENV"),
        ("FROM a\nARG\n", "ARG"),
        ("FROM a\nLABEL\n", "LABEL"),
        ("FROM a\nSTOPSIGNAL\n", "STOPSIGNAL"),
        ("FROM a\nHEALTHCHECK\n", "HEALTHCHECK"),
        ("FROM a\nONBUILD\n", "ONBUILD"),
        ("FROM\n", "FROM"),
    ] {
        match parse(text) {
            Err(ParseError::MissingArgument {
                instruction, line, ..
            }) => {
                assert_eq!(instruction, kw, "{text}");
                assert!(line >= 1);
            }
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn unknown_flag() {
    let e = err("FROM a\nCOPY --bogus=1 a b\n");
    assert_eq!(
        e,
        ParseError::UnknownFlag {
            line: 2,
            instruction: "COPY",
            flag: "bogus".into()
        }
    );
    assert!(matches!(
        err("FROM a\nADD --from=x a b\n"),
        ParseError::UnknownFlag { .. }
    ));
    assert!(matches!(
        err("FROM --foo=x a\n"),
        ParseError::UnknownFlag { .. }
    ));
    assert!(matches!(
        err("FROM a\nRUN --chown=1 true\n"),
        ParseError::UnknownFlag { .. }
    ));
}

#[test]
fn flag_values_and_booleans() {
    assert!(matches!(
        err("FROM a\nCOPY --from a b\n"),
        ParseError::Invalid { .. }
    ));
    assert!(matches!(
        err("FROM a\nCOPY --from=x --from=y a b\n"),
        ParseError::Invalid { .. }
    ));
    let InstructionKind::Copy(c) = one("COPY --link=false a b") else {
        panic!()
    };
    assert!(!c.link);
    let InstructionKind::Copy(c) = one("COPY --link=true a b") else {
        panic!()
    };
    assert!(c.link);
}

#[test]
fn from_forms() {
    let f = p("FROM --platform=$BUILDPLATFORM golang:1.21 AS Build\nFROM build\nFROM scratch\n");
    let b = f.stages[0].from_args();
    assert_eq!(b.image.raw, "golang:1.21");
    assert_eq!(b.platform.as_ref().unwrap().raw, "$BUILDPLATFORM");
    assert_eq!(b.alias.as_deref(), Some("build"));
    assert_eq!(f.stages[0].name.as_deref(), Some("build"));
    assert_eq!(f.stages[1].name, None);
    assert!(matches!(err("FROM a AS\n"), ParseError::Invalid { .. }));
    assert!(matches!(err("FROM a b c\n"), ParseError::Invalid { .. }));
    assert!(matches!(
        err("FROM a AS 1abc\n"),
        ParseError::Invalid { .. }
    ));
    assert!(matches!(
        err("FROM a AS x\nFROM b as X\n"),
        ParseError::DuplicateStageName { line: 2, .. }
    ));
}

#[test]
fn run_shell_and_exec_forms() {
    let InstructionKind::Run(r) = one("RUN echo hello world") else {
        panic!()
    };
    assert_eq!(r.command, Command::Shell("echo hello world".into()));
    let InstructionKind::Run(r) = one(r#"RUN ["/bin/echo", "a b"]"#) else {
        panic!()
    };
    assert_eq!(
        r.command,
        Command::Exec(vec!["/bin/echo".into(), "a b".into()])
    );
}

#[test]
fn invalid_json_falls_back_to_shell_form() {
    let InstructionKind::Cmd(c) = one("CMD [\"echo\", 'x']") else {
        panic!()
    };
    assert_eq!(c, Command::Shell("[\"echo\", 'x']".into()));
    assert!(matches!(
        err("FROM a\nENTRYPOINT [1, 2]\n"),
        ParseError::Invalid { .. }
    ));
    assert!(matches!(
        err("FROM a\nCOPY [\"a\", 2] /b\n"),
        ParseError::Invalid { .. }
    ));
    // Like Docker, text after the array is ignored.
    let InstructionKind::Cmd(c) = one("CMD [\"a\"] extra") else {
        panic!()
    };
    assert_eq!(c, Command::Exec(vec!["a".into()]));
    let InstructionKind::Cmd(c) = one("CMD [not json") else {
        panic!()
    };
    assert_eq!(c, Command::Shell("[not json".into()));
    let InstructionKind::Entrypoint(c) = one("ENTRYPOINT [\"top\", \"-b\"]") else {
        panic!()
    };
    assert_eq!(c, Command::Exec(vec!["top".into(), "-b".into()]));
    let InstructionKind::Cmd(c) = one("CMD []") else {
        panic!()
    };
    assert_eq!(c, Command::Exec(vec![]));
}

#[test]
fn run_mounts_are_typed() {
    let InstructionKind::Run(r) = one(
        "RUN --mount=type=cache,target=/root/.cache,sharing=locked,id=gocache,mode=0700,uid=1 \
         --mount=type=bind,from=build,source=/out,target=/in,rw \
         --mount=type=tmpfs,target=/tmp,size=64m \
         --mount=type=secret,id=token,required=true \
         --mount=target=/src \
         --network=none make",
    ) else {
        panic!()
    };
    assert_eq!(r.mounts.len(), 5);
    assert_eq!(r.mounts[0].target.as_deref(), Some("/root/.cache"));
    assert_eq!(
        r.mounts[0].kind,
        MountKind::Cache(CacheMount {
            id: Some("gocache".into()),
            sharing: CacheSharing::Locked,
            mode: Some(0o700),
            uid: Some(1),
            gid: None
        })
    );
    assert_eq!(r.mounts[1].kind, MountKind::Bind);
    assert_eq!(r.mounts[1].from.as_deref(), Some("build"));
    assert_eq!(r.mounts[1].source.as_deref(), Some("/out"));
    assert_eq!(r.mounts[1].readonly, Some(false));
    assert_eq!(
        r.mounts[2].kind,
        MountKind::Tmpfs {
            size: Some(64 << 20)
        }
    );
    let MountKind::Secret(s) = &r.mounts[3].kind else {
        panic!()
    };
    assert_eq!(s.id.as_deref(), Some("token"));
    assert!(s.required);
    assert_eq!(r.mounts[4].kind, MountKind::Bind);
    assert_eq!(r.network.as_deref(), Some("none"));
    assert_eq!(r.command, Command::Shell("make".into()));
}

#[test]
fn bad_mounts() {
    for m in [
        "type=nfs,target=/x",
        "type=cache",
        "type=cache,target=/x,sharing=weird",
        "type=tmpfs,target=/x,size=lots",
        "type=bind,target=/x,bogus=1",
        "type=secret",
        "type=cache,target=/x,mode=9",
    ] {
        assert!(
            matches!(
                parse(&format!("FROM a\nRUN --mount={m} true\n")),
                Err(ParseError::Invalid { .. })
            ),
            "{m}"
        );
    }
}

#[test]
fn heredoc_run_single_is_a_script() {
    let f = p("FROM a\nRUN <<EOF\necho one\necho two\nEOF\nUSER x\n");
    let ins = &f.stages[0].instructions;
    let InstructionKind::Run(r) = &ins[0].kind else {
        panic!()
    };
    assert!(r.heredoc_script);
    assert_eq!(r.command, Command::Shell("echo one\necho two\n".into()));
    assert_eq!(r.heredocs[0].name, "EOF");
    assert!(r.script().is_none());
    assert_eq!(ins[0].end_line, 5);
    assert_eq!(ins[1].line, 6);
}

#[test]
fn heredoc_with_shebang_is_executed_as_file() {
    let InstructionKind::Run(r) = one("RUN <<EOT\n#!/usr/bin/env python3\nprint('hi')\nEOT") else {
        panic!()
    };
    let s = r.script().expect("shebang script");
    assert!(s.content.starts_with("#!/usr/bin/env python3\n"));
}

#[test]
fn heredoc_with_command_goes_to_the_shell_whole() {
    let InstructionKind::Run(r) = one("RUN python3 <<EOF > /out\nprint(1)\nEOF") else {
        panic!()
    };
    assert!(!r.heredoc_script);
    assert_eq!(
        r.command,
        Command::Shell("python3 <<EOF > /out\nprint(1)\nEOF".into())
    );
}

#[test]
fn heredoc_tab_stripping_and_quoted_delimiter() {
    let InstructionKind::Run(r) = one("RUN <<-'END'\n\techo $HOME\n\t\tmore\n\tEND") else {
        panic!()
    };
    let h = &r.heredocs[0];
    assert_eq!(h.name, "END");
    assert!(h.strip_tabs);
    assert!(!h.expand);
    assert_eq!(h.content, "echo $HOME\nmore\n");
    let InstructionKind::Run(r) = one("RUN <<\"X\"\na\nX") else {
        panic!()
    };
    assert!(!r.heredocs[0].expand);
    let InstructionKind::Run(r) = one("RUN <<X\na\nX") else {
        panic!()
    };
    assert!(r.heredocs[0].expand);
}

#[test]
fn several_heredocs_on_one_line() {
    let f = p("FROM a\nRUN <<A cat > /a && 3<<B cat > /b\nfirst\nA\nsecond\nB\nRUN true\n");
    let ins = &f.stages[0].instructions;
    let InstructionKind::Run(r) = &ins[0].kind else {
        panic!()
    };
    assert_eq!(r.heredocs.len(), 2);
    assert_eq!(r.heredocs[0].content, "first\n");
    assert_eq!(r.heredocs[1].content, "second\n");
    assert_eq!(r.heredocs[1].fd, Some(3));
    assert_eq!(ins[1].line, 7);
}

#[test]
fn heredoc_copy_sources() {
    let f = p("FROM a\nCOPY <<one.txt <<two.txt /dest/\nhello\none.txt\nworld\ntwo.txt\n");
    let InstructionKind::Copy(c) = &f.stages[0].instructions[0].kind else {
        panic!()
    };
    assert_eq!(c.sources.len(), 2);
    let CopySource::Heredoc(h) = &c.sources[0] else {
        panic!()
    };
    assert_eq!(
        (h.name.as_str(), h.content.as_str()),
        ("one.txt", "hello\n")
    );
    let CopySource::Heredoc(h) = &c.sources[1] else {
        panic!()
    };
    assert_eq!(
        (h.name.as_str(), h.content.as_str()),
        ("two.txt", "world\n")
    );
    assert_eq!(c.dest.raw, "/dest/");
}

#[test]
fn heredoc_not_terminated() {
    assert_eq!(
        err("FROM a\nRUN <<EOF\necho\n"),
        ParseError::UnterminatedHeredoc {
            line: 2,
            name: "EOF".into()
        }
    );
}

#[test]
fn heredoc_only_in_run_copy_add_and_not_in_quotes() {
    let InstructionKind::Run(r) = one("RUN echo '<<EOF'") else {
        panic!()
    };
    assert!(r.heredocs.is_empty());
    let InstructionKind::Cmd(c) = one("CMD cat <<EOF") else {
        panic!()
    };
    assert_eq!(c, Command::Shell("cat <<EOF".into()));
    let InstructionKind::Run(r) = one("RUN [\"cat\", \"<<EOF\"]") else {
        panic!()
    };
    assert!(r.heredocs.is_empty());
}

#[test]
fn copy_and_add_forms() {
    let InstructionKind::Copy(c) =
        one("COPY --from=build --chown=1000:1000 --chmod=0755 --link a b* /dst/")
    else {
        panic!()
    };
    assert_eq!(c.from.unwrap().raw, "build");
    assert_eq!(c.chown.unwrap().raw, "1000:1000");
    assert_eq!(c.chmod.unwrap().raw, "0755");
    assert!(c.link);
    assert_eq!(c.sources.len(), 2);
    assert_eq!(c.dest.raw, "/dst/");
    let InstructionKind::Copy(c) = one(r#"COPY ["a file", "/my dir/"]"#) else {
        panic!()
    };
    assert_eq!(c.sources, vec![CopySource::Path(Word::new("a file", '\\'))]);
    assert_eq!(c.dest.raw, "/my dir/");
    let InstructionKind::Add(a) = one("ADD --checksum=sha256:abc https://example.com/x.tgz /x/")
    else {
        panic!()
    };
    assert_eq!(a.checksum.unwrap().raw, "sha256:abc");
    assert!(a.from.is_none());
    let InstructionKind::Copy(c) = one("COPY --exclude=*.md --exclude=tmp . /app") else {
        panic!()
    };
    assert_eq!(c.excludes.len(), 2);
}

#[test]
fn flags_with_quotes_and_double_dash() {
    let InstructionKind::Copy(c) = one("COPY --chown=\"a b\" -- --weird /x") else {
        panic!()
    };
    assert_eq!(c.chown.unwrap().raw, "a b");
    assert_eq!(
        c.sources,
        vec![CopySource::Path(Word::new("--weird", '\\'))]
    );
}

#[test]
fn arg_forms() {
    let InstructionKind::Arg(a) = one("ARG user1=someuser buildno=1 plain") else {
        panic!()
    };
    assert_eq!(a.len(), 3);
    assert_eq!(a[0].name, "user1");
    assert_eq!(a[0].default.as_ref().unwrap().raw, "someuser");
    assert_eq!(a[2].default, None);
    let InstructionKind::Arg(a) = one("ARG msg=\"hello world\"") else {
        panic!()
    };
    assert_eq!(
        a[0].default.as_ref().unwrap().expand(&()).unwrap(),
        "hello world"
    );
    assert!(matches!(
        err("FROM a\nARG =x\n"),
        ParseError::Invalid { .. }
    ));
}

#[test]
fn env_forms() {
    let InstructionKind::Env(e) =
        one("ENV MY_NAME=\"John Doe\" MY_DOG=Rex\\ The\\ Dog MY_CAT=fluffy")
    else {
        panic!()
    };
    let got: Vec<(String, String)> = e
        .iter()
        .map(|kv| (kv.key.expand(&()).unwrap(), kv.value.expand(&()).unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("MY_NAME".into(), "John Doe".into()),
            ("MY_DOG".into(), "Rex The Dog".into()),
            ("MY_CAT".into(), "fluffy".into())
        ]
    );
    let InstructionKind::Env(e) = one("ENV LEGACY value with  spaces") else {
        panic!()
    };
    assert_eq!(e[0].key.raw, "LEGACY");
    assert_eq!(e[0].value.raw, "value with  spaces");
    assert!(matches!(
        err("FROM a\nENV ONLYKEY\n"),
        ParseError::MissingArgument { .. }
    ));
    assert!(matches!(
        err("FROM a\nENV a=1 b\n"),
        ParseError::Invalid { .. }
    ));
    assert!(matches!(
        err("FROM a\nENV =1\n"),
        ParseError::Invalid { .. }
    ));
    let InstructionKind::Env(e) = one("ENV EMPTY=") else {
        panic!()
    };
    assert_eq!(e[0].value.raw, "");
}

#[test]
fn label_forms() {
    let InstructionKind::Label(l) =
        one("LABEL \"com.example.vendor\"=\"ACME Inc\" version=1.0 description=\"multi\\\n word\"")
    else {
        panic!()
    };
    assert_eq!(l[0].key.expand(&()).unwrap(), "com.example.vendor");
    assert_eq!(l[0].value.expand(&()).unwrap(), "ACME Inc");
    assert_eq!(l[1].value.raw, "1.0");
    assert_eq!(l[2].value.expand(&()).unwrap(), "multi word");
}

#[test]
fn expose_volume_shell_stopsignal_user_workdir_maintainer() {
    let InstructionKind::Expose(e) = one("EXPOSE 80/tcp 53/udp 8080") else {
        panic!()
    };
    assert_eq!(
        e.iter().map(|w| w.raw.as_str()).collect::<Vec<_>>(),
        ["80/tcp", "53/udp", "8080"]
    );
    let InstructionKind::Volume(v) = one("VOLUME [\"/data\", \"/logs\"]") else {
        panic!()
    };
    assert_eq!(v.len(), 2);
    let InstructionKind::Volume(v) = one("VOLUME /a /b") else {
        panic!()
    };
    assert_eq!(v[1].raw, "/b");
    assert!(matches!(
        err("FROM a\nVOLUME [\"\"]\n"),
        ParseError::Invalid { .. }
    ));
    assert_eq!(
        one("SHELL [\"/bin/bash\", \"-c\"]"),
        InstructionKind::Shell(vec!["/bin/bash".into(), "-c".into()])
    );
    assert!(matches!(
        err("FROM a\nSHELL /bin/bash -c\n"),
        ParseError::Invalid { .. }
    ));
    assert!(matches!(
        err("FROM a\nSHELL []\n"),
        ParseError::MissingArgument { .. }
    ));
    assert_eq!(
        one("STOPSIGNAL SIGKILL"),
        InstructionKind::Stopsignal(Word::new("SIGKILL", '\\'))
    );
    assert_eq!(
        one("USER app:staff"),
        InstructionKind::User(Word::new("app:staff", '\\'))
    );
    assert_eq!(
        one("MAINTAINER Jo <jo@x>"),
        InstructionKind::Maintainer("Jo <jo@x>".into())
    );
}

#[test]
fn healthcheck_forms() {
    assert_eq!(
        one("HEALTHCHECK NONE"),
        InstructionKind::Healthcheck(Healthcheck::None)
    );
    let InstructionKind::Healthcheck(Healthcheck::Check {
        command,
        interval,
        timeout,
        start_period,
        retries,
        ..
    }) = one("HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --retries=4 CMD curl -f http://localhost/ || exit 1")
    else {
        panic!()
    };
    assert_eq!(
        command,
        Command::Shell("curl -f http://localhost/ || exit 1".into())
    );
    assert_eq!(interval, Some(Duration::from_secs(300)));
    assert_eq!(timeout, Some(Duration::from_secs(3)));
    assert_eq!(start_period, Some(Duration::from_secs(90)));
    assert_eq!(retries, Some(4));
    let InstructionKind::Healthcheck(Healthcheck::Check { command, .. }) =
        one("HEALTHCHECK cmd [\"/bin/check\", \"-q\"]")
    else {
        panic!()
    };
    assert_eq!(
        command,
        Command::Exec(vec!["/bin/check".into(), "-q".into()])
    );
    for bad in [
        "HEALTHCHECK NONE extra",
        "HEALTHCHECK --interval=5s NONE",
        "HEALTHCHECK PING x",
        "HEALTHCHECK --interval=soon CMD true",
        "HEALTHCHECK --retries=-1 CMD true",
        "HEALTHCHECK --interval=10ns CMD true",
    ] {
        assert!(
            matches!(
                parse(&format!("FROM a\n{bad}\n")),
                Err(ParseError::Invalid { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn onbuild_trigger() {
    let InstructionKind::Onbuild(o) = one("ONBUILD RUN echo built on top") else {
        panic!()
    };
    assert_eq!(o.expression, "RUN echo built on top");
    assert!(matches!(o.instruction.kind, InstructionKind::Run(_)));
    for bad in [
        "ONBUILD FROM x",
        "ONBUILD ONBUILD RUN x",
        "ONBUILD MAINTAINER me",
    ] {
        assert!(
            matches!(
                parse(&format!("FROM a\n{bad}\n")),
                Err(ParseError::Invalid { .. })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        err("FROM a\nONBUILD NOPE x\n"),
        ParseError::UnknownInstruction { .. }
    ));
}

#[test]
fn original_text_is_kept() {
    let f = p("FROM a\n  RUN   echo  hi  \n");
    assert_eq!(f.stages[0].instructions[0].original, "RUN   echo  hi");
    assert_eq!(f.stages[0].instructions[0].kind.keyword(), "RUN");
}

// ---- expansion ----

#[test]
fn expand_simple_and_braced() {
    let v = vars(&[("A", "1"), ("B", "two words"), ("E", "")]);
    assert_eq!(x("$A", &v), "1");
    assert_eq!(x("${A}x", &v), "1x");
    assert_eq!(x("$Ax", &v), "");
    assert_eq!(x("pre-$B-post", &v), "pre-two words-post");
    assert_eq!(x("$UNSET", &v), "");
    assert_eq!(x("$", &v), "$");
    assert_eq!(x("a$-b", &v), "a$-b");
    assert_eq!(x("$1", &v), "");
}

#[test]
fn expand_modifiers() {
    let v = vars(&[("SET", "v"), ("EMPTY", "")]);
    assert_eq!(x("${SET:-d}", &v), "v");
    assert_eq!(x("${EMPTY:-d}", &v), "d");
    assert_eq!(x("${UNSET:-d}", &v), "d");
    assert_eq!(x("${EMPTY-d}", &v), "");
    assert_eq!(x("${UNSET-d}", &v), "d");
    assert_eq!(x("${SET:+alt}", &v), "alt");
    assert_eq!(x("${EMPTY:+alt}", &v), "");
    assert_eq!(x("${EMPTY+alt}", &v), "alt");
    assert_eq!(x("${UNSET+alt}", &v), "");
    assert_eq!(x("${UNSET:-$SET/x}", &v), "v/x");
    assert_eq!(x("${UNSET:-${SET}}", &v), "v");
    assert_eq!(x("${UNSET:-a b}", &v), "a b");
    assert!(matches!(
        expand("${UNSET:?need it}", '\\', &v),
        Err(ExpandError::Required { .. })
    ));
    assert_eq!(x("${SET?x}", &v), "v");
    assert!(matches!(
        expand("${SET", '\\', &v),
        Err(ExpandError::BadSubstitution { .. })
    ));
    assert!(matches!(
        expand("${}", '\\', &v),
        Err(ExpandError::BadSubstitution { .. })
    ));
    assert!(matches!(
        expand("${SET%x}", '\\', &v),
        Err(ExpandError::BadSubstitution { .. })
    ));
}

#[test]
fn expand_quotes_and_escapes() {
    let v = vars(&[("A", "1")]);
    assert_eq!(x("\\$A", &v), "$A");
    assert_eq!(x("'$A'", &v), "$A");
    assert_eq!(x("\"$A\"", &v), "1");
    assert_eq!(x("\"\\$A\"", &v), "$A");
    assert_eq!(x("\"a\\b\"", &v), "a\\b");
    assert_eq!(x("\"say \\\"hi\\\"\"", &v), "say \"hi\"");
    assert_eq!(x("a\\ b", &v), "a b");
    assert_eq!(x("'it''s'", &v), "its");
    assert_eq!(expand("`$A", '`', &v).unwrap(), "$A");
    assert_eq!(expand("c:\\$A", '`', &v).unwrap(), "c:\\1");
    assert!(matches!(
        expand("'open", '\\', &v),
        Err(ExpandError::UnterminatedQuote { .. })
    ));
    assert!(matches!(
        expand("\"open", '\\', &v),
        Err(ExpandError::UnterminatedQuote { .. })
    ));
}

#[test]
fn expand_words_splits_unquoted_whitespace() {
    let v = vars(&[("PORTS", "80 443")]);
    assert_eq!(
        expand_words("$PORTS 8080/udp", '\\', &v).unwrap(),
        ["80", "443", "8080/udp"]
    );
    assert_eq!(expand_words("\"$PORTS\"", '\\', &v).unwrap(), ["80 443"]);
    assert_eq!(expand_words("a\\ b c", '\\', &v).unwrap(), ["a b", "c"]);
    assert_eq!(expand_words("\"\"", '\\', &v).unwrap(), [""]);
}

#[test]
fn vars_from_list_last_wins() {
    let list = vec![
        ("A".to_string(), "1".to_string()),
        ("A".to_string(), "2".to_string()),
    ];
    assert_eq!(expand("$A", '\\', &list).unwrap(), "2");
}

// ---- stages ----

const MULTI: &str = "ARG BASE=alpine\nARG TAG\nFROM ${BASE}:${TAG:-3} AS build\nRUN make\n\
FROM build AS test\nRUN make test\n\
FROM scratch AS tools\nCOPY --from=0 /bin/tool /tool\n\
FROM busybox\nCOPY --from=build /out /out\nRUN --mount=type=bind,from=tools,target=/t true\n";

#[test]
fn global_args_and_base_resolution() {
    let f = p(MULTI);
    assert_eq!(f.global_args.len(), 2);
    let g = f.global_scope(&()).unwrap();
    assert_eq!(
        f.resolve_base(0, &g).unwrap(),
        Base::Image("alpine:3".into())
    );
    let g2 = f.global_scope(&vars(&[("TAG", "edge")])).unwrap();
    assert_eq!(
        f.resolve_base(0, &g2).unwrap(),
        Base::Image("alpine:edge".into())
    );
    assert_eq!(f.resolve_base(1, &g).unwrap(), Base::Stage(0));
    assert_eq!(f.resolve_base(2, &g).unwrap(), Base::Scratch);
    assert_eq!(
        f.resolve_base(3, &g).unwrap(),
        Base::Image("busybox".into())
    );
}

#[test]
fn stage_dependencies_and_targets() {
    let f = p(MULTI);
    let g = f.global_scope(&()).unwrap();
    assert_eq!(f.stage_deps(1, &g).unwrap(), [0]);
    assert_eq!(f.stage_deps(2, &g).unwrap(), [0]);
    assert_eq!(f.stage_deps(3, &g).unwrap(), [0, 2]);
    assert_eq!(f.stages_for_target(None, &g).unwrap(), [0, 2, 3]);
    assert_eq!(f.stages_for_target(Some("TEST"), &g).unwrap(), [0, 1]);
    assert_eq!(f.stages_for_target(Some("build"), &g).unwrap(), [0]);
    assert_eq!(f.target_index(Some("tools")).unwrap(), 2);
    assert!(matches!(
        f.target_index(Some("nope")),
        Err(StageError::UnknownTarget(_))
    ));
    assert_eq!(f.find_stage("1").map(|s| s.index), Some(1));
    assert_eq!(f.find_stage("Build").map(|s| s.index), Some(0));
}

#[test]
fn from_a_later_stage_name_is_an_image() {
    let f = p("FROM later\nFROM alpine AS later\n");
    assert_eq!(f.resolve_base(0, &()).unwrap(), Base::Image("later".into()));
}

#[test]
fn copy_from_bad_references() {
    let f = p("FROM a AS one\nCOPY --from=1 x y\nFROM b AS two\nCOPY --from=two x y\n");
    assert!(matches!(
        f.stage_deps(0, &()),
        Err(StageError::InvalidStageIndex { index: 1, .. })
    ));
    assert!(matches!(
        f.stage_deps(1, &()),
        Err(StageError::NotEarlier { .. })
    ));
    assert_eq!(
        f.resolve_from("docker.io/library/alpine", 1, 4).unwrap(),
        Base::Image("docker.io/library/alpine".into())
    );
}

#[test]
fn empty_base_after_expansion() {
    let f = p("ARG IMG\nFROM $IMG\n");
    assert!(matches!(
        f.resolve_base(0, &f.global_scope(&()).unwrap()),
        Err(StageError::EmptyBase { .. })
    ));
}

#[test]
fn docker_reference_example_multistage() {
    // Shaped like the reference's multi-stage example, own values.
    let text = "# syntax=docker/dockerfile:1\nFROM debian:12 AS compile\nWORKDIR /src\nCOPY hello.c .\n\
RUN gcc -static -o /hello hello.c\n\nFROM scratch\nCOPY --from=compile /hello /hello\nCMD [\"/hello\"]\n";
    let f = p(text);
    assert_eq!(f.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(f.stages.len(), 2);
    assert_eq!(f.stages[1].instructions.len(), 2);
    assert_eq!(f.stages_for_target(None, &()).unwrap(), [0, 1]);
    assert_eq!(
        f.stages[1].instructions[1].kind,
        InstructionKind::Cmd(Command::Exec(vec!["/hello".into()]))
    );
}

// ---- stage scope ----

fn decl(name: &str, default: Option<&str>) -> ArgDecl {
    ArgDecl {
        name: name.into(),
        default: default.map(|d| Word::new(d, '\\')),
    }
}

#[test]
fn scope_arg_rules() {
    let build_args = vars(&[("GIVEN", "cli")]);
    let global = vars(&[("G", "global"), ("GIVEN", "global-default")]);
    let mut s = StageScope::new(&["PATH=/bin".into(), "HOME=/root".into()]);
    // Not declared in the stage: a global is not visible.
    assert_eq!(s.get("G"), None);
    s.declare_arg(&decl("G", None), &build_args, &global)
        .unwrap();
    assert_eq!(s.get("G").as_deref(), Some("global"));
    s.declare_arg(&decl("GIVEN", Some("default")), &build_args, &global)
        .unwrap();
    assert_eq!(s.get("GIVEN").as_deref(), Some("cli"));
    s.declare_arg(&decl("D", Some("${G}-x")), &build_args, &global)
        .unwrap();
    assert_eq!(s.get("D").as_deref(), Some("global-x"));
    s.declare_arg(&decl("NOVALUE", None), &build_args, &global)
        .unwrap();
    assert_eq!(s.get("NOVALUE"), None);
    // ENV wins over ARG.
    s.set_env("D", "from-env");
    assert_eq!(s.get("D").as_deref(), Some("from-env"));
    assert_eq!(s.get("PATH").as_deref(), Some("/bin"));
    assert_eq!(
        s.args_in_effect(),
        vec![
            ("G".to_string(), "global".to_string()),
            ("GIVEN".to_string(), "cli".to_string())
        ]
    );
    assert_eq!(s.env(), ["PATH=/bin", "HOME=/root", "D=from-env"]);
}

#[test]
fn undeclared_proxy_args_are_for_run_only() {
    let build_args = vars(&[
        ("HTTP_PROXY", "http://u:pw@proxy:3128"),
        ("no_proxy", "localhost"),
        ("https_proxy", "http://declared"),
        ("FTP_PROXY", "ftp://from-arg"),
        ("OTHER", "not a proxy"),
    ]);
    let global = vars(&[]);
    let mut s = StageScope::new(&["FTP_PROXY=ftp://from-env".into()]);
    s.declare_arg(&decl("https_proxy", None), &build_args, &global)
        .unwrap();
    // Declared or set by ENV, a proxy arg is an ordinary variable.
    assert_eq!(
        s.undeclared_proxy_args(&build_args),
        vec![
            (
                "HTTP_PROXY".to_string(),
                "http://u:pw@proxy:3128".to_string()
            ),
            ("no_proxy".to_string(), "localhost".to_string()),
        ]
    );
    assert_eq!(
        s.args_in_effect(),
        vec![("https_proxy".to_string(), "http://declared".to_string())]
    );
    // Never visible to expansion without a declaration.
    assert_eq!(s.get("HTTP_PROXY"), None);
}

#[test]
fn heredoc_body_expansion() {
    let f = p(
        "FROM a\nCOPY <<EOF <<'RAW' /d/\nuser=${U:-nobody} 'q' \\$U \"$U\"\nEOF\nkeep $U\nRAW\n",
    );
    let InstructionKind::Copy(c) = &f.stages[0].instructions[0].kind else {
        panic!()
    };
    let mut s = StageScope::new(&["U=me".into()]);
    let CopySource::Heredoc(h) = &c.sources[0] else {
        panic!()
    };
    assert_eq!(
        s.heredoc_content(h, '\\').unwrap(),
        "user=me 'q' $U \"me\"\n"
    );
    let CopySource::Heredoc(h) = &c.sources[1] else {
        panic!()
    };
    assert_eq!(s.heredoc_content(h, '\\').unwrap(), "keep $U\n");
    s.set_env("U", "");
    let CopySource::Heredoc(h) = &c.sources[0] else {
        panic!()
    };
    assert!(s
        .heredoc_content(h, '\\')
        .unwrap()
        .starts_with("user=nobody"));
}

#[test]
fn heredoc_edge_cases() {
    // An empty body.
    let InstructionKind::Run(r) = one("RUN <<EMPTY\nEMPTY") else {
        panic!()
    };
    assert_eq!(r.command, Command::Shell(String::new()));
    // A heredoc next to an ordinary source.
    let InstructionKind::Add(a) = one("ADD <<EOF local.txt /bar/\ninline\nEOF") else {
        panic!()
    };
    assert!(matches!(a.sources[0], CopySource::Heredoc(_)));
    assert_eq!(a.sources[1], CopySource::Path(Word::new("local.txt", '\\')));
    // Piped into another command: the shell gets it all.
    let InstructionKind::Run(r) = one("RUN <<'EOF' | python3\nprint(1)\nEOF") else {
        panic!()
    };
    assert!(!r.heredoc_script);
    assert_eq!(r.heredocs.len(), 1);
    // A quoted `<<` is no heredoc.
    let InstructionKind::Run(r) = one("RUN \"<<NOPE\"") else {
        panic!()
    };
    assert!(r.heredocs.is_empty());
    // USER has no heredocs: the body line is read as an instruction.
    assert!(matches!(
        err("FROM a\nUSER <<X\nX\n"),
        ParseError::UnknownInstruction { line: 3, .. }
    ));
}

#[test]
fn full_text_covers_heredoc_bodies() {
    let f = p("FROM a\nCOPY <<X /x\nbody\nX\nRUN echo\n");
    let ins = &f.stages[0].instructions;
    assert_eq!(ins[0].original, "COPY <<X /x");
    assert_eq!(ins[0].full_text(), "COPY <<X /x\nbody\nX");
    assert_eq!(ins[1].full_text(), "RUN echo");
    assert_eq!(ins[0].heredocs().len(), 1);
}

#[test]
fn platform_args_are_global_without_declaration() {
    let f = p("FROM --platform=$BUILDPLATFORM alpine:${TARGETARCH}\n");
    let platform = vars(&[("BUILDPLATFORM", "linux/amd64"), ("TARGETARCH", "amd64")]);
    let g = f.global_scope_with(&(), &platform).unwrap();
    let from = f.stages[0].from_args();
    assert_eq!(
        from.platform.as_ref().unwrap().expand(&g).unwrap(),
        "linux/amd64"
    );
    assert_eq!(
        f.resolve_base(0, &g).unwrap(),
        Base::Image("alpine:amd64".into())
    );
}

#[test]
fn run_network_and_security_values() {
    let InstructionKind::Run(r) = one("RUN --network=host --security=insecure true") else {
        panic!()
    };
    assert_eq!(r.network.as_deref(), Some("host"));
    assert_eq!(r.security.as_deref(), Some("insecure"));
    assert!(matches!(
        err("FROM a\nRUN --network=bridge true\n"),
        ParseError::Invalid { .. }
    ));
    assert!(matches!(
        err("FROM a\nRUN --security=weird true\n"),
        ParseError::Invalid { .. }
    ));
}

/// The config `podman build` (buildah 1.28) wrote for these lines,
/// observed on this machine, reproduced from the parsed words.
#[test]
fn matches_buildah_env_label_user_workdir() {
    let f = p("FROM scratch\nARG X=1\nARG E=\n\
ENV A=\"x y\" B=c\\ d C='$X' D=\"$X\" G=${E:-empty} H=${X:+alt} I=\\$X\n\
LABEL \"k.l\"=\"v w\" e=${X:-no}\nENV L value with  \"spaces\"\n\
WORKDIR /w/$X\nUSER ${X}:${NOPE:-2}\n");
    let mut s = StageScope::new(&[]);
    let mut labels = Vec::new();
    let mut other = Vec::new();
    for ins in &f.stages[0].instructions {
        match &ins.kind {
            InstructionKind::Arg(d) => d.iter().for_each(|d| s.declare_arg(d, &(), &()).unwrap()),
            InstructionKind::Env(kv) => {
                for kv in kv {
                    let (k, v) = (kv.key.expand(&s).unwrap(), kv.value.expand(&s).unwrap());
                    s.set_env(&k, &v);
                }
            }
            InstructionKind::Label(kv) => {
                for kv in kv {
                    labels.push(format!(
                        "{}={}",
                        kv.key.expand(&s).unwrap(),
                        kv.value.expand(&s).unwrap()
                    ));
                }
            }
            InstructionKind::Workdir(w) | InstructionKind::User(w) => {
                other.push(w.expand(&s).unwrap())
            }
            _ => {}
        }
    }
    assert_eq!(
        s.env(),
        [
            "A=x y",
            "B=c d",
            "C=$X",
            "D=1",
            "G=empty",
            "H=alt",
            "I=$X",
            "L=value with  spaces"
        ]
    );
    assert_eq!(labels, ["k.l=v w", "e=1"]);
    assert_eq!(other, ["/w/1", "1:2"]);
}
