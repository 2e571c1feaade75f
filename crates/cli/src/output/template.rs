//! The subset of Go templates podman users put in `--format`: `{{.Field}}`,
//! nested `{{.A.B}}`, `{{json .Field}}`, `{{upper .X}}`/`{{lower .X}}`, a
//! leading `table` for a header row, and `\t`/`\n` escapes. Fields are looked
//! up in the JSON form of each row, so the names are the ones `--format json`
//! prints.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field {
        func: Option<String>,
        path: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
    /// `table` templates print a header made from the field names first.
    pub table: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("template {template:?}: unclosed '{{{{'")]
    Unclosed { template: String },
    #[error("template {template:?}: unsupported action {action:?} (supported: {{{{.Field}}}}, {{{{json .Field}}}}, {{{{upper .F}}}}, {{{{lower .F}}}})")]
    Unsupported { template: String, action: String },
}

impl Template {
    pub fn parse(input: &str) -> Result<Template, TemplateError> {
        let (table, body) = match input.strip_prefix("table") {
            Some(rest) => (true, rest.trim_start()),
            None => (false, input),
        };
        let body = body.replace("\\t", "\t").replace("\\n", "\n");
        let mut pieces = Vec::new();
        let mut rest = body.as_str();
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_string()));
            }
            let end = rest[start..]
                .find("}}")
                .ok_or_else(|| TemplateError::Unclosed {
                    template: input.to_string(),
                })?;
            let action = rest[start + 2..start + end].trim();
            pieces.push(parse_action(input, action)?);
            rest = &rest[start + end + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template { pieces, table })
    }

    /// Header row for `table` templates: the last path element of each field, upper-cased.
    pub fn header(&self) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Field { path, .. } => {
                    path.last().map(|s| s.to_uppercase()).unwrap_or_default()
                }
            })
            .collect()
    }

    pub fn render(&self, row: &Value) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Field { func, path } => {
                    let v = lookup(row, path);
                    match func.as_deref() {
                        Some("json") => serde_json::to_string(v).unwrap_or_default(),
                        Some("upper") => plain(v).to_uppercase(),
                        Some("lower") => plain(v).to_lowercase(),
                        _ => plain(v),
                    }
                }
            })
            .collect()
    }
}

fn parse_action(template: &str, action: &str) -> Result<Piece, TemplateError> {
    let unsupported = || TemplateError::Unsupported {
        template: template.to_string(),
        action: action.to_string(),
    };
    let (func, arg) = match action.split_once(' ') {
        Some((f, a)) => (Some(f.to_string()), a.trim()),
        None => (None, action),
    };
    if let Some(f) = &func {
        if !matches!(f.as_str(), "json" | "upper" | "lower") {
            return Err(unsupported());
        }
    }
    if arg == "." {
        return Ok(Piece::Field { func, path: vec![] });
    }
    let path = arg.strip_prefix('.').ok_or_else(unsupported)?;
    if path.is_empty() || path.split('.').any(|s| s.is_empty()) {
        return Err(unsupported());
    }
    Ok(Piece::Field {
        func,
        path: path.split('.').map(str::to_string).collect(),
    })
}

/// Looks `path` up, accepting podman's field names in any letter case.
fn lookup<'a>(mut v: &'a Value, path: &[String]) -> &'a Value {
    for key in path {
        v = match v {
            Value::Object(map) => map
                .get(key)
                .or_else(|| {
                    map.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(key))
                        .map(|(_, v)| v)
                })
                .unwrap_or(&Value::Null),
            _ => &Value::Null,
        };
    }
    v
}

/// Go's default formatting: strings bare, lists as `[a b]`, null as `<no value>`.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<no value>".to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(plain).collect::<Vec<_>>().join(" ")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_fields_functions_and_tables() {
        let row = json!({"Repository": "docker.io/library/busybox", "Tag": "latest",
                         "Labels": {"a": "b"}, "Names": ["x", "y"], "Size": 42});
        let t = Template::parse("{{.Repository}}:{{.Tag}}").unwrap();
        assert_eq!(t.render(&row), "docker.io/library/busybox:latest");
        assert_eq!(
            Template::parse("{{.repository}}").unwrap().render(&row),
            "docker.io/library/busybox"
        );
        assert_eq!(
            Template::parse("{{.Labels.a}} {{.Names}}")
                .unwrap()
                .render(&row),
            "b [x y]"
        );
        assert_eq!(
            Template::parse("{{json .Labels}}").unwrap().render(&row),
            r#"{"a":"b"}"#
        );
        assert_eq!(
            Template::parse("{{.Missing}}").unwrap().render(&row),
            "<no value>"
        );
        let table = Template::parse("table {{.Tag}}\\t{{.Size}}").unwrap();
        assert!(table.table);
        assert_eq!(table.header(), "TAG\tSIZE");
        assert_eq!(table.render(&row), "latest\t42");
    }

    #[test]
    fn rejects_what_it_cannot_do() {
        assert!(matches!(
            Template::parse("{{.A"),
            Err(TemplateError::Unclosed { .. })
        ));
        assert!(matches!(
            Template::parse("{{range .A}}"),
            Err(TemplateError::Unsupported { .. })
        ));
        assert!(matches!(
            Template::parse("{{A}}"),
            Err(TemplateError::Unsupported { .. })
        ));
    }
}
