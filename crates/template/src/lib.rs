//! Go text/template for podman-compatible `--format` flags, over
//! `serde_json::Value` rows.
//!
//! [`Template::parse`] applies podman's preprocessing (a leading `table `,
//! `\t`/`\n` escapes) and then parses Go's template language: actions,
//! trim markers, comments, variables, pipelines, if/range/with/else,
//! break/continue, define/template/block, Go's builtins and podman's extra
//! functions (json, lower, upper, title, truncate, join, split, pad).
//! [`Template::execute`] renders one row; [`Template::header`] renders the
//! header row of a table with podman's column names.
//!
//! Where JSON cannot say what Go's static types would, these choices apply:
//! - The row passed to `execute` is treated as a Go struct: an unknown
//!   field is an [`ExecErrorKind::NoField`] error (podman exits 125).
//!   Nested objects count as structs when all their keys start with an
//!   upper-case letter, else as maps (absent key prints `<no value>`).
//! - Field names fall back to a case-insensitive match (`.ID` finds `Id`).
//! - `.Field` on null yields `<no value>` instead of Go's nil-pointer error
//!   (JSON null stands for nil maps and slices too, which Go allows).
//! - `index` of an absent map key gives the zero value of the map's other
//!   values (`""` for string maps such as labels, and for empty maps).
//! - `join` accepts arrays of any scalars; `range` over an integer works as
//!   in Go 1.22; `{{else with}}` is accepted as in Go 1.23.
//! - podman's `\t`/`\n` and table space-to-tab rewriting only touch text
//!   outside `{{ }}`, so `{{"\n"}}` and `printf` formats keep Go's meaning.
//! - `%x` on floats is not supported; nesting and output are bounded
//!   ([`Limits`]).
//!
//! ```
//! use serde_json::json;
//! let t = hoist_template::Template::parse("{{.ID | upper}} {{join .Names \",\"}}").unwrap();
//! let row = json!({"Id": "abc", "Names": ["a", "b"]});
//! assert_eq!(t.execute(&row).unwrap(), "ABC a,b");
//! ```

mod ast;
mod compare;
mod error;
mod escape;
mod exec;
mod float;
mod funcs;
mod gojson;
mod header;
mod lexer;
mod parse;
mod printf;
mod table;
mod value;

use std::collections::HashMap;

use serde_json::Value;

pub use error::{Error, ExecError, ExecErrorKind, ParseError, Pos};
pub use exec::Limits;

/// A parsed `--format` template.
#[derive(Debug, Clone)]
pub struct Template {
    /// The text that was parsed (after podman's preprocessing).
    source: String,
    tree: ast::Tree,
    table: bool,
    limits: Limits,
}

impl Template {
    /// Parses a `--format` value as podman does: `table ` prefix, `\t` and
    /// `\n` escapes in the text, then Go template syntax.
    pub fn parse(format: &str) -> Result<Template, ParseError> {
        let n = table::normalize(format);
        Self::build(n.text, n.table)
    }

    /// Parses Go template text as is, without podman's preprocessing.
    pub fn parse_go(text: &str) -> Result<Template, ParseError> {
        Self::build(text.to_string(), false)
    }

    fn build(source: String, table: bool) -> Result<Template, ParseError> {
        let tree = parse::parse(&source)?;
        Ok(Template {
            source,
            tree,
            table,
            limits: Limits::default(),
        })
    }

    /// Replaces the execution bounds (output size, steps, nesting).
    pub fn with_limits(mut self, limits: Limits) -> Template {
        self.limits = limits;
        self
    }

    /// The format started with `table `: print [`Template::header`] first.
    pub fn is_table(&self) -> bool {
        self.table
    }

    /// The template has a top-level `{{range .}}` (podman's EnforceRange
    /// test): podman then runs it once over the whole list instead of once
    /// per row, so the caller should pass `Value::Array(rows)` to
    /// [`Template::execute`] a single time.
    pub fn ranges_over_rows(&self) -> bool {
        self.tree.root.iter().any(|n| match n {
            ast::Node::Range(b) => {
                b.pipe.decl.is_empty()
                    && matches!(b.pipe.cmds.as_slice(), [c] if matches!(c.args.as_slice(), [ast::Arg::Dot]))
            }
            _ => false,
        })
    }

    /// The template text after podman's preprocessing.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders one row. Nothing is appended; see [`Template::execute_line`].
    pub fn execute(&self, data: &Value) -> Result<String, ExecError> {
        exec::execute(&self.tree, &self.source, data, self.limits, None)
    }

    /// Renders one row as podman prints it: followed by a newline unless the
    /// format itself already ends with one.
    pub fn execute_line(&self, data: &Value) -> Result<String, ExecError> {
        let mut s = self.execute(data)?;
        if !self.source.ends_with('\n') {
            s.push('\n');
        }
        Ok(s)
    }

    /// The header row for a table (without a trailing newline): the template
    /// rendered with every field replaced by its column name. Names come from
    /// `overrides` (keyed by field name, e.g. `"ID" => "CONTAINER ID"`) or
    /// else from the field name split at camel case and upper-cased
    /// (`.CreatedAt` -> `CREATED AT`). Functions apply to the names as
    /// podman applies them, so `{{printf "%-20s" .Name}}` pads the header too;
    /// an action that cannot work on a name shows its first field's name.
    pub fn header(&self, overrides: &HashMap<&str, &str>) -> String {
        let name = |field: &str| header::header_for(field, overrides);
        let empty = Value::String(String::new());
        match exec::execute(&self.tree, &self.source, &empty, self.limits, Some(&name)) {
            Ok(s) => s.trim_end_matches('\n').to_string(),
            Err(_) => self
                .field_names()
                .iter()
                .map(|f| name(f))
                .collect::<Vec<_>>()
                .join("\t"),
        }
    }

    /// Last names of the fields the main template prints, in order (used as
    /// a plain header when rendering one fails).
    fn field_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_fields(&self.tree.root, &mut out);
        out
    }
}

fn collect_fields(list: &ast::List, out: &mut Vec<String>) {
    for node in list {
        match node {
            ast::Node::Action(p) if p.decl.is_empty() => out.extend(exec::first_field(p)),
            ast::Node::If(b) | ast::Node::With(b) | ast::Node::Range(b) => {
                collect_fields(&b.list, out);
                if let Some(e) = &b.else_list {
                    collect_fields(e, out);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
