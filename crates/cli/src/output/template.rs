//! `--format` templates: Go's text/template language (hoist-template) with
//! podman's conventions. Fields are looked up in the JSON form of each row,
//! so the names are the ones `--format json` prints (and, as in podman, a
//! Go field name that differs only in case, `.ID` for `Id`).

use std::collections::HashMap;

use serde_json::Value;

pub use hoist_template::{ExecError, ParseError};

#[derive(Debug)]
pub struct Template {
    inner: hoist_template::Template,
}

impl Template {
    /// Parses a `--format` value; a syntax error is podman's exit 125.
    pub fn parse(input: &str) -> Result<Template, ParseError> {
        Ok(Template {
            inner: hoist_template::Template::parse(input)?,
        })
    }

    /// Whether a header row comes first (`table ...`).
    pub fn is_table(&self) -> bool {
        self.inner.is_table()
    }

    /// The header row: each field's name split at its capitals.
    pub fn header(&self) -> String {
        self.inner.header(&HashMap::new())
    }

    /// The header row with some fields named as the command names its
    /// columns (`images`: `ID` is `IMAGE ID`).
    pub fn header_with(&self, overrides: &HashMap<&str, &str>) -> String {
        self.inner.header(overrides)
    }

    /// One row's text, without a line end.
    pub fn render(&self, row: &Value) -> Result<String, ExecError> {
        self.inner.execute(row)
    }

    /// Every row at once: `{{range .}}` templates see the whole list, as in
    /// podman; otherwise one line per row. Only a `table` aligns its
    /// tab-separated columns: podman 4.3 prints the tabs of any other
    /// template as they are, which is what scripts cut on.
    pub fn render_rows(&self, rows: &[Value]) -> Result<RenderedRows, ExecError> {
        if self.inner.ranges_over_rows() {
            return Ok(RenderedRows::Text(
                self.inner.execute(&Value::Array(rows.to_vec()))?,
            ));
        }
        if !self.is_table() {
            let mut text = String::new();
            for row in rows {
                text.push_str(&self.render(row)?);
                text.push('\n');
            }
            return Ok(RenderedRows::Text(text));
        }
        let mut lines = Vec::with_capacity(rows.len() + 1);
        lines.push(self.header());
        for row in rows {
            lines.push(self.render(row)?);
        }
        Ok(RenderedRows::Lines(lines))
    }
}

/// What [`Template::render_rows`] made.
pub enum RenderedRows {
    /// Text to print as it is.
    Text(String),
    /// Lines whose tab-separated columns are to be aligned.
    Lines(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_pipes_and_functions_render() {
        let row = json!({"Id": "abcdef123456789", "Names": ["a", "b"], "Labels": {"k": "v"}});
        let t = Template::parse(
            "{{.ID | upper}} {{join .Names \",\"}} {{index .Labels \"k\"}} {{truncate .Id 3}}",
        )
        .unwrap();
        assert_eq!(t.render(&row).unwrap(), "ABCDEF123456789 a,b v abc");
    }

    #[test]
    fn tables_get_a_header_and_ranges_see_every_row() {
        let rows = [
            json!({"Tag": "1", "Size": 2}),
            json!({"Tag": "3", "Size": 4}),
        ];
        let table = Template::parse("table {{.Tag}}\t{{.Size}}").unwrap();
        assert!(table.is_table());
        match table.render_rows(&rows).unwrap() {
            RenderedRows::Lines(l) => assert_eq!(l, ["TAG\tSIZE", "1\t2", "3\t4"]),
            RenderedRows::Text(_) => panic!("a table is lines"),
        }
        let plain = Template::parse("{{.Tag}}\t{{.Size}}").unwrap();
        match plain.render_rows(&rows).unwrap() {
            RenderedRows::Text(t) => assert_eq!(t, "1\t2\n3\t4\n", "tabs kept, as podman"),
            RenderedRows::Lines(_) => panic!("only a table is aligned"),
        }
        let all = Template::parse("{{range .}}{{.Tag}};{{end}}").unwrap();
        match all.render_rows(&rows).unwrap() {
            RenderedRows::Text(t) => assert_eq!(t, "1;3;"),
            RenderedRows::Lines(_) => panic!("a range over rows is one text"),
        }
    }

    #[test]
    fn unknown_fields_and_bad_syntax_are_errors() {
        assert!(Template::parse("{{.Nope").is_err());
        let t = Template::parse("{{.Nope}}").unwrap();
        assert!(t.render(&json!({"Id": "x"})).is_err());
    }
}
