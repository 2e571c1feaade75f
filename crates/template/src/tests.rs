//! End-to-end behaviour of the public API. Expected outputs were checked
//! against Go 1.19's text/template with podman's function map, except where
//! a test says it pins a documented deviation.

use super::*;
use serde_json::json;

fn row() -> Value {
    json!({
        "Id": "0123456789abcdef0123",
        "Names": ["web", "db"],
        "Image": "docker.io/library/busybox:latest",
        "Running": true,
        "Paused": false,
        "Labels": {"a": "1", "app": "hoist", "z": "last"},
        "Mounts": [{"Source": "/src", "Destination": "/dst"}, {"Source": "/a", "Destination": "/b"}],
        "Config": {"Cmd": ["sh", "-c", "echo <hi> & bye"], "Env": [], "Tty": false},
        "Size": 4509681,
        "Ratio": 0.25,
        "Ports": null,
        "CreatedAt": "2024-01-02T03:04:05Z",
        "State": {"Status": "running", "Pid": 42, "ExitCode": 0}
    })
}

fn run(format: &str) -> String {
    Template::parse(format)
        .unwrap_or_else(|e| panic!("{format}: {e}"))
        .execute(&row())
        .unwrap_or_else(|e| panic!("{format}: {e}"))
}

fn exec_err(format: &str) -> ExecError {
    Template::parse(format)
        .unwrap_or_else(|e| panic!("{format}: {e}"))
        .execute(&row())
        .unwrap_err()
}

#[test]
fn podman_documented_formats() {
    assert_eq!(run("{{.ID | upper}}"), "0123456789ABCDEF0123");
    assert_eq!(run(r#"{{index .Labels "a"}}"#), "1");
    assert_eq!(run("{{range .Names}}{{.}} {{end}}"), "web db ");
    assert_eq!(run("{{if .Running}}up{{else}}down{{end}}"), "up");
    assert_eq!(run("{{if .Paused}}up{{else}}down{{end}}"), "down");
    assert_eq!(
        run(r#"{{printf "%-10s|" .Image}}"#),
        "docker.io/library/busybox:latest|"
    );
    assert_eq!(run(r#"{{printf "%-10s|" .State.Status}}"#), "running   |");
    assert_eq!(run("{{len .Mounts}}"), "2");
    assert_eq!(
        run("{{json .Config}}"),
        r#"{"Cmd":["sh","-c","echo <hi> & bye"],"Env":[],"Tty":false}"#
    );
    assert_eq!(run("{{truncate .ID 12}}"), "0123456789ab");
    assert_eq!(run(r#"{{join .Names ","}}"#), "web,db");
    assert_eq!(run(r#"{{"\n"}}"#), "\n");
    assert_eq!(
        run("{{.State.Pid}} {{.State.ExitCode}} {{.Size}} {{.Ratio}}"),
        "42 0 4509681 0.25"
    );
    assert_eq!(run("{{.Labels}}"), "map[a:1 app:hoist z:last]");
}

#[test]
fn objects_keyed_by_field_names_print_as_go_structs() {
    let data = serde_json::json!({
        "PortBindings": {"5207/tcp": [{"HostIp": "", "HostPort": "5207"}]},
        "Empty": {},
    });
    let t = Template::parse("{{.PortBindings}} {{.Empty}}").unwrap();
    assert_eq!(t.execute(&data).unwrap(), "map[5207/tcp:[{ 5207}]] map[]");
    let t = Template::parse(r#"{{printf "%v" .PortBindings}}"#).unwrap();
    assert_eq!(t.execute(&data).unwrap(), "map[5207/tcp:[{ 5207}]]");
    assert_eq!(run("{{.Names}}"), "[web db]");
    assert_eq!(run("{{.Ports}}"), "<nil>");
    assert_eq!(
        run("{{json .Ports}} {{json .Names}}"),
        r#"null ["web","db"]"#
    );
    assert_eq!(
        run("{{range .Mounts}}{{.Source}}:{{.Destination}};{{end}}"),
        "/src:/dst;/a:/b;"
    );
    assert_eq!(
        run("{{range $k, $v := .Labels}}{{$k}}={{$v}},{{end}}"),
        "a=1,app=hoist,z=last,"
    );
    assert_eq!(
        run("{{range $i, $n := .Names}}{{$i}}:{{$n}} {{end}}"),
        "0:web 1:db "
    );
    assert_eq!(run("{{with .State}}{{.Status}}{{end}}"), "running");
    assert_eq!(
        run(r#"{{split .Image ":"}}"#),
        "[docker.io/library/busybox latest]"
    );
    assert_eq!(run(r#"{{index (split .Image ":") 1}}"#), "latest");
    assert_eq!(run("[{{pad .State.Status 2 1}}]"), "[  running ]");
    assert_eq!(
        run(r#"{{title "hello world"}} {{lower "ABC"}}"#),
        "Hello World abc"
    );
}

#[test]
fn go_semantics() {
    assert_eq!(run("{{.Labels.app}}"), "hoist");
    // A map without the key: <no value> (Go's rule for maps).
    assert_eq!(run("{{.Labels.missing}}"), "<no value>");
    assert_eq!(run(r#"{{index .Labels "missing"}}|"#), "|");
    assert_eq!(run("{{range .Config.Env}}x{{else}}empty{{end}}"), "empty");
    assert_eq!(run("{{range .Ports}}x{{else}}none{{end}}"), "none");
    assert_eq!(run("{{with .Config.Env}}x{{else}}no env{{end}}"), "no env");
    assert_eq!(run("{{$n := len .Names}}{{$n}} {{$n = 5}}{{$n}}"), "2 5");
    assert_eq!(run("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}"), "2");
    assert_eq!(
        run("{{range .Names}}{{$.State.Status}}/{{.}} {{end}}"),
        "running/web running/db "
    );
    assert_eq!(
        run("{{range .Mounts}}{{if eq .Source \"/a\"}}{{break}}{{end}}{{.Source}}{{end}}"),
        "/src"
    );
    assert_eq!(
        run("{{range .Names}}{{if eq . \"web\"}}{{continue}}{{end}}{{.}}{{end}}"),
        "db"
    );
    assert_eq!(
        run("{{if and .Running (eq .State.Status \"running\")}}yes{{end}}"),
        "yes"
    );
    assert_eq!(
        run("{{or .Paused .Image}}"),
        "docker.io/library/busybox:latest"
    );
    assert_eq!(run("{{and .Running .Paused}}"), "false");
    assert_eq!(run("{{not .Paused}}"), "true");
    assert_eq!(
        run("{{if .Paused}}p{{else if .Running}}r{{else}}s{{end}}"),
        "r"
    );
    assert_eq!(
        run("{{eq .State.Pid 1 42}} {{ne .State.Pid 42}} {{lt 1 2}} {{ge .Ratio 0.25}}"),
        "true false true true"
    );
    assert_eq!(
        run(r#"{{define "m"}}[{{.Source}}]{{end}}{{range .Mounts}}{{template "m" .}}{{end}}"#),
        "[/src][/a]"
    );
    assert_eq!(run(r#"{{block "b" .State}}{{.Status}}{{end}}"#), "running");
    assert_eq!(
        run("{{.State | json}}"),
        r#"{"ExitCode":0,"Pid":42,"Status":"running"}"#
    );
    assert_eq!(run(r#"{{.Names | len | printf "%03d"}}"#), "002");
    assert_eq!(run(r#"{{3 | printf "%d-%d" 4}}"#), "4-3");
    assert_eq!(run("{{(index .Mounts 1).Source}}"), "/a");
    assert_eq!(run("{{slice .Names 1}} {{slice .ID 0 4}}"), "[db] 0123");
    assert_eq!(
        run(r#"{{print 1 2 "a" "b" 3}}|{{println "x" 1}}"#),
        "1 2ab3|x 1\n"
    );
    assert_eq!(
        run(r#"{{html "<a>&"}} {{js "it's"}} {{urlquery "a b/c"}}"#),
        r"&lt;a&gt;&amp; it\'s a+b%2Fc"
    );
    assert_eq!(
        run("{{'a'}} {{0x1F}} {{1e3}} {{-2}} {{1.5}} {{true}}"),
        "97 31 1000 -2 1.5 true"
    );
    assert_eq!(run("{{`raw \\n`}}"), "raw \\n");
    assert_eq!(run("{{/* a comment */}}x"), "x");
    assert_eq!(
        run("a  {{- .State.Pid -}}  b\n{{- /* c */ -}}\n c"),
        "a42bc"
    );
}

#[test]
fn field_names_match_go_struct_names() {
    // Exact key first, then any case: `.ID` finds `Id`.
    assert_eq!(
        run("{{.ID}} {{.id}} {{.Id}}"),
        "0123456789abcdef0123 0123456789abcdef0123 0123456789abcdef0123"
    );
    let exact = json!({"ID": "upper", "Id": "mixed"});
    let t = Template::parse("{{.ID}} {{.Id}} {{.iD}}").unwrap();
    assert_eq!(t.execute(&exact).unwrap(), "upper mixed upper");
}

#[test]
fn execution_errors_are_typed() {
    let e = exec_err("{{.Nope}}");
    assert_eq!(
        e.kind,
        ExecErrorKind::NoField {
            field: "Nope".into(),
            in_type: "row".into()
        }
    );
    assert_eq!(e.pos, Pos { line: 1, col: 3 });
    assert!(e.to_string().contains("can't evaluate field Nope"), "{e}");
    // A nested struct-like object (all keys capitalised) refuses unknown fields too.
    assert!(matches!(
        exec_err("{{.State.Nope}}").kind,
        ExecErrorKind::NoField { .. }
    ));
    assert!(
        matches!(exec_err("{{.Image.Tag}}").kind, ExecErrorKind::NoField { in_type, .. } if in_type == "string")
    );
    assert!(matches!(
        exec_err("{{upper .Size}}").kind,
        ExecErrorKind::ArgType { .. }
    ));
    assert!(matches!(
        exec_err("{{upper}}").kind,
        ExecErrorKind::ArgCount { .. }
    ));
    assert!(matches!(
        exec_err("{{index .Names 5}}").kind,
        ExecErrorKind::Call { .. }
    ));
    assert!(matches!(
        exec_err("{{eq .Size 1.5}}").kind,
        ExecErrorKind::Call { .. }
    ));
    assert!(matches!(
        exec_err("{{range .Image}}{{end}}").kind,
        ExecErrorKind::NotIterable(_)
    ));
    assert!(matches!(
        exec_err(r#"{{template "none"}}"#).kind,
        ExecErrorKind::NoTemplate(_)
    ));
    assert!(
        matches!(exec_err("{{.Image 1}}").kind, ExecErrorKind::Other(m) if m.contains("has arguments"))
    );
    assert!(
        matches!(exec_err("{{1 2}}").kind, ExecErrorKind::Other(m) if m.contains("non-function"))
    );
    // Both kinds convert into the combined error.
    let any: Error = exec_err("{{.Nope}}").into();
    assert!(matches!(any, Error::Exec(_)));
    let any: Error = Template::parse("{{.A").unwrap_err().into();
    assert!(matches!(any, Error::Parse(_)));
}

#[test]
fn parse_errors_have_positions() {
    let e = Template::parse("ok\n  {{if .A}}x").unwrap_err();
    assert_eq!(e.pos, Pos { line: 2, col: 5 });
    assert!(e.to_string().contains("lacks its {{end}}"), "{e}");
    let e = Template::parse("{{.A | nosuch}}").unwrap_err();
    assert_eq!(e.pos, Pos { line: 1, col: 8 });
    assert!(e.message.contains("function \"nosuch\" not defined"));
    for bad in [
        "{{",
        "{{.A",
        "{{end}}",
        "{{else}}",
        "{{if}}{{end}}",
        "{{(.A}}",
        "{{.A)}}",
        "{{\"x}}",
        "{{$u}}",
        "{{break}}",
    ] {
        assert!(Template::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn table_header_and_rows() {
    let t = Template::parse(r"table {{.ID}}\t{{.Image}}\t{{.CreatedAt}}").unwrap();
    assert!(t.is_table());
    assert_eq!(t.source(), "{{.ID}}\t{{.Image}}\t{{.CreatedAt}}");
    assert_eq!(t.header(&HashMap::new()), "ID\tIMAGE\tCREATED AT");
    let mut over = HashMap::new();
    over.insert("ID", "container id");
    over.insert("CreatedAt", "Created");
    assert_eq!(t.header(&over), "CONTAINER ID\tIMAGE\tCREATED");
    assert_eq!(
        t.execute(&row()).unwrap(),
        "0123456789abcdef0123\tdocker.io/library/busybox:latest\t2024-01-02T03:04:05Z"
    );
    // Spaces between columns become tabs, as podman does for tables.
    let t = Template::parse("table {{.ID}} {{.Names}}").unwrap();
    assert_eq!(t.header(&HashMap::new()), "ID\tNAMES");
    assert!(!Template::parse("{{.ID}}").unwrap().is_table());
}

#[test]
fn header_applies_functions_and_survives_data_functions() {
    let none = HashMap::new();
    let h = |f: &str| Template::parse(f).unwrap().header(&none);
    assert_eq!(h("table {{.ID | upper}}"), "ID");
    assert_eq!(h("table {{.Names | lower}}"), "names");
    assert_eq!(h(r#"table {{printf "%-8s" .Name}}|"#), "NAME    |");
    assert_eq!(h("table {{truncate .ID 12}}"), "ID");
    assert_eq!(h(r#"table {{index .Labels "a"}}"#), "LABELS");
    assert_eq!(h("table {{.State.Status}}"), "STATUS");
    assert_eq!(h("table {{range .Names}}{{.}}{{end}}"), "NAMES");
    assert_eq!(h("table {{len .Mounts}}"), "MOUNTS");
    assert_eq!(
        h("table {{.ImageID}}\t{{.HTTPPort}}"),
        "IMAGE ID\tHTTP PORT"
    );
}

#[test]
fn detects_templates_that_range_over_all_rows() {
    let t = Template::parse(r"{{range .}}{{.ID}}\n{{end}}").unwrap();
    assert!(t.ranges_over_rows());
    let rows = json!([{"ID": "a"}, {"ID": "b"}]);
    assert_eq!(t.execute(&rows).unwrap(), "a\nb\n");
    assert!(!Template::parse("{{.ID}}").unwrap().ranges_over_rows());
    assert!(!Template::parse("{{range .Names}}{{.}}{{end}}")
        .unwrap()
        .ranges_over_rows());
}

#[test]
fn escapes_and_newlines() {
    let t = Template::parse(r"{{.ID}}\t{{.Image}}\n").unwrap();
    assert_eq!(t.source(), "{{.ID}}\t{{.Image}}\n");
    // podman appends a newline unless the format already ends with one.
    assert!(t.execute_line(&row()).unwrap().ends_with("latest\n"));
    assert!(!t.execute_line(&row()).unwrap().ends_with("\n\n"));
    let t = Template::parse("{{.State.Pid}}").unwrap();
    assert_eq!(t.execute_line(&row()).unwrap(), "42\n");
    assert_eq!(t.execute(&row()).unwrap(), "42");
    // parse_go keeps the text as Go would see it.
    let t = Template::parse_go(r"table {{.State.Pid}}\t").unwrap();
    assert!(!t.is_table());
    assert_eq!(t.execute(&row()).unwrap(), "table 42\\t");
}

#[test]
fn limits_bound_hostile_templates() {
    let data = json!({"L": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]});
    // 10^6 iterations, each printing: stopped by the step limit.
    let t = Template::parse("{{range .L}}{{range $.L}}{{range $.L}}{{range $.L}}{{range $.L}}{{range $.L}}x{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}")
        .unwrap()
        .with_limits(Limits {
            max_steps: 10_000,
            ..Limits::default()
        });
    assert!(matches!(
        t.execute(&data).unwrap_err().kind,
        ExecErrorKind::StepLimit(10_000)
    ));
    let t = Template::parse(r#"{{range .L}}{{printf "%1000s" "x"}}{{end}}"#)
        .unwrap()
        .with_limits(Limits {
            max_output: 5000,
            ..Limits::default()
        });
    assert!(matches!(
        t.execute(&data).unwrap_err().kind,
        ExecErrorKind::OutputLimit(5000)
    ));
    // Self-recursive templates hit the depth limit instead of the stack.
    let t = Template::parse(r#"{{define "r"}}{{if 1}}{{if 1}}{{template "r" .}}{{end}}{{end}}{{end}}{{template "r" .}}"#).unwrap();
    assert!(matches!(
        t.execute(&data).unwrap_err().kind,
        ExecErrorKind::DepthLimit(_)
    ));
    let t = Template::parse("{{range 100000000000}}{{end}}").unwrap();
    assert!(matches!(
        t.execute(&data).unwrap_err().kind,
        ExecErrorKind::StepLimit(_)
    ));
}

#[test]
fn hostile_input_never_panics() {
    let data = row();
    let inputs = [
        "{{",
        "}}",
        "{{-",
        "{{- -}}",
        "{{/*",
        "{{/**/",
        "{{'",
        "{{'ab'}}",
        "{{\"\\",
        "{{`",
        "{{$",
        "{{$x :",
        "{{.",
        "{{..}}",
        "{{(",
        "{{)",
        "{{((((",
        "{{|}}",
        "{{.A|}}",
        "{{range}}",
        "{{range $a, $b, $c := .}}{{end}}",
        "{{define}}",
        "{{define \"a\"}}",
        "{{template}}",
        "{{block \"x\"}}{{end}}",
        "{{else if}}",
        "{{if 1}}{{else if}}{{end}}",
        "{{0x}}",
        "{{1e}}",
        "{{--1}}",
        "{{+}}",
        "{{1.2.3}}",
        "{{\"\\xZZ\"}}",
        "{{\"\\u12\"}}",
        "{{'\\400'}}",
        "{{slice .ID 5 2}}",
        "{{slice .ID 0 100}}",
        "{{truncate \"é\" 1}}",
        "{{index .ID 100}}",
        "{{printf \"%*d\" -5 1}}",
        "{{printf \"%[0]d %[9]d %[x\" 1}}",
        "{{printf \"%.*s\" 99999999 1}}",
        "{{len}}",
        "{{index}}",
        "{{slice}}",
        "\u{10FFFF}{{\u{10FFFF}}}",
        "{{.\u{e9}}}",
        "{{$\u{e9} := 1}}{{$\u{e9}}}",
        "{{ - }}",
        "{{1 | 2}}",
        "{{nil | print}}",
    ];
    for src in inputs {
        if let Ok(t) = Template::parse(src) {
            let _ = t.execute(&data);
            let _ = t.header(&HashMap::new());
        }
    }
    assert!(Template::parse("{{slice .ID 0 100}}")
        .unwrap()
        .execute(&data)
        .is_err());
    assert_eq!(
        Template::parse(r#"{{truncate "é" 1}}"#)
            .unwrap()
            .execute(&data)
            .unwrap(),
        "\u{FFFD}"
    );
}

/// Cases run through Go 1.19's text/template (with podman's functions) and
/// this crate; each line is `[template, data, Go's output]`. Integers in the
/// data were decoded as Go ints, non-integers as float64.
#[test]
fn agrees_with_go_text_template() {
    let cases = include_str!("testdata/go_cases.jsonl");
    let mut n = 0;
    for line in cases.lines().filter(|l| !l.trim().is_empty()) {
        let (src, data, want): (String, Value, String) = serde_json::from_str(line).unwrap();
        let got = Template::parse_go(&src)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
            .execute(&data)
            .unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(got, want, "template {src:?} on {data}");
        n += 1;
    }
    assert!(n > 50, "only {n} cases");
}

#[test]
fn deepest_allowed_nesting_fits_a_small_stack() {
    // 45 nested ifs around a self call whose argument nests 50 parentheses
    // (just inside the parse limit): the run-time depth limit must stop the
    // recursion well inside a 2 MiB stack.
    let ifs = "{{if 1}}".repeat(45);
    let ends = "{{end}}".repeat(45);
    let arg = format!("{}.{}", "(".repeat(50), ")".repeat(50));
    let src = format!(
        r#"{{{{define "r"}}}}{ifs}{{{{template "r" {arg}}}}}{ends}{{{{end}}}}{{{{template "r" .}}}}"#
    );
    let t = Template::parse(&src).unwrap();
    let e = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || t.execute(&json!({})).unwrap_err())
        .unwrap()
        .join()
        .unwrap();
    assert!(matches!(e.kind, ExecErrorKind::DepthLimit(_)), "{e}");
}
