//! Walks the tree over JSON data with Go's semantics: dot and variables,
//! field lookup, pipelines, control structures, named templates. Output,
//! evaluation steps and nesting are bounded so a hostile template cannot
//! hang or exhaust memory or stack.

use serde_json::{Map, Value};

use crate::ast::{Arg, Branch, Command, List, Node, Pipe, Tree};
use crate::error::{ExecError, ExecErrorKind, Pos};
use crate::funcs;
use crate::value::{self, truth, type_name, Val};

/// Bounds on one execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum bytes of output.
    pub max_output: usize,
    /// Maximum evaluation steps (nodes visited plus range iterations).
    pub max_steps: u64,
    /// Maximum nesting of control structures and template calls at run time.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output: 64 << 20,
            max_steps: 10_000_000,
            max_depth: 100,
        }
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

/// Names a header for a field when rendering a table header.
pub(crate) type HeaderFn<'a> = &'a dyn Fn(&str) -> String;

pub(crate) struct Exec<'a> {
    tree: &'a Tree,
    src: &'a str,
    root: &'a Value,
    out: String,
    vars: Vec<(String, Val)>,
    steps: u64,
    depth: usize,
    limits: Limits,
    /// Header mode: every field evaluates to its column header.
    header: Option<HeaderFn<'a>>,
}

type R<T> = Result<T, ExecError>;

pub(crate) fn execute(
    tree: &Tree,
    src: &str,
    root: &Value,
    limits: Limits,
    header: Option<HeaderFn<'_>>,
) -> R<String> {
    let mut ex = Exec {
        tree,
        src,
        root,
        out: String::new(),
        vars: vec![("$".into(), Val::Root)],
        steps: 0,
        depth: 0,
        limits,
        header,
    };
    ex.walk(&Val::Root, &tree.root)?;
    Ok(ex.out)
}

impl<'a> Exec<'a> {
    fn err(&self, offset: usize, at: &str, kind: ExecErrorKind) -> ExecError {
        ExecError {
            pos: Pos::of(self.src, offset),
            at: at.to_string(),
            kind,
        }
    }

    fn step(&mut self, offset: usize) -> R<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(self.err(offset, "", ExecErrorKind::StepLimit(self.limits.max_steps)));
        }
        Ok(())
    }

    fn write(&mut self, s: &str, offset: usize) -> R<()> {
        if self.out.len() + s.len() > self.limits.max_output {
            return Err(self.err(
                offset,
                "",
                ExecErrorKind::OutputLimit(self.limits.max_output),
            ));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn resolve<'s>(&'s self, v: &'s Val) -> Option<&'s Value> {
        match v {
            Val::Missing => None,
            Val::Root => Some(self.root),
            Val::V(v) => Some(v),
        }
    }

    /// A value as a function argument (missing stays missing).
    fn to_arg(&self, v: Val) -> Option<Value> {
        match v {
            Val::Missing => None,
            Val::Root => Some(self.root.clone()),
            Val::V(v) => Some(v),
        }
    }

    fn nested<T>(&mut self, offset: usize, f: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        if self.depth >= self.limits.max_depth {
            return Err(self.err(offset, "", ExecErrorKind::DepthLimit(self.limits.max_depth)));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn walk(&mut self, dot: &Val, list: &List) -> R<Flow> {
        for node in list {
            match node {
                Node::Text(t) => {
                    self.step(0)?;
                    self.write(t, 0)?;
                }
                Node::Action(pipe) => {
                    self.step(pipe.pos)?;
                    let mut v = self.pipeline_or_header(dot, pipe, true)?;
                    if let (Some(h), Some(name)) = (self.header, first_field(pipe)) {
                        // `{{len .Mounts}}` heads its column with MOUNTS, not a count.
                        if !matches!(self.resolve(&v), Some(Value::String(_))) {
                            v = Val::str(h(&name));
                        }
                    }
                    if pipe.decl.is_empty() {
                        let s = value::print(self.resolve(&v));
                        self.write(&s, pipe.pos)?;
                    }
                }
                Node::If(b) => {
                    self.step(b.pipe.pos)?;
                    let flow = self.nested(b.pipe.pos, |ex| ex.if_with(dot, b, false))?;
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::With(b) => {
                    self.step(b.pipe.pos)?;
                    let flow = self.nested(b.pipe.pos, |ex| ex.if_with(dot, b, true))?;
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range(b) => {
                    self.step(b.pipe.pos)?;
                    self.nested(b.pipe.pos, |ex| ex.range(dot, b))?;
                }
                Node::Template { pos, name, pipe } => {
                    self.step(*pos)?;
                    self.nested(*pos, |ex| ex.template(dot, *pos, name, pipe.as_ref()))?;
                }
                Node::Break(_) => return Ok(Flow::Break),
                Node::Continue(_) => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    fn if_with(&mut self, dot: &Val, b: &Branch, with: bool) -> R<Flow> {
        let scope = self.vars.len();
        let v = self.pipeline_or_header(dot, &b.pipe, true)?;
        let flow = if truth(self.resolve(&v)) {
            if with {
                self.walk(&v, &b.list)?
            } else {
                self.walk(dot, &b.list)?
            }
        } else if let Some(else_list) = &b.else_list {
            self.walk(dot, else_list)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(scope);
        Ok(flow)
    }

    fn range(&mut self, dot: &Val, b: &Branch) -> R<()> {
        let scope = self.vars.len();
        let v = self.pipeline_or_header(dot, &b.pipe, false)?;
        let items: Vec<(Value, Value)> = match self.to_arg(v) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::from(i), v))
                .collect(),
            Some(Value::Object(m)) => sorted_entries(m),
            // Go 1.22 ranges over integers.
            Some(Value::Number(n)) if n.as_i64().is_some() => {
                let n = n.as_i64().unwrap_or(0).max(0);
                if n as u64 > self.limits.max_steps {
                    return Err(self.err(
                        b.pipe.pos,
                        &b.pipe.src,
                        ExecErrorKind::StepLimit(self.limits.max_steps),
                    ));
                }
                (0..n).map(|i| (Value::from(i), Value::from(i))).collect()
            }
            // A header is a string: show the body once so its columns get headers.
            Some(s @ Value::String(_)) if self.header.is_some() => vec![(Value::from(0), s)],
            Some(other) => {
                return Err(self.err(
                    b.pipe.pos,
                    &b.pipe.src,
                    ExecErrorKind::NotIterable(value::print(Some(&other))),
                ))
            }
        };
        if items.is_empty() {
            if let Some(else_list) = &b.else_list {
                self.walk(dot, else_list)?;
            }
            self.vars.truncate(scope);
            return Ok(());
        }
        for (key, elem) in items {
            self.step(b.pipe.pos)?;
            match b.pipe.decl.as_slice() {
                [] => {}
                [v] => self.set_var(v, Val::V(elem.clone()), b.pipe.is_assign),
                [k, v, ..] => {
                    self.set_var(k, Val::V(key), b.pipe.is_assign);
                    self.set_var(v, Val::V(elem.clone()), b.pipe.is_assign);
                }
            }
            let flow = self.walk(&Val::V(elem), &b.list)?;
            self.vars.truncate(scope);
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        self.vars.truncate(scope);
        Ok(())
    }

    fn template(&mut self, dot: &Val, pos: usize, name: &str, pipe: Option<&Pipe>) -> R<()> {
        let tree = self.tree;
        let Some(body) = tree.defines.get(name) else {
            return Err(self.err(
                pos,
                &format!("{{{{template {name:?}}}}}"),
                ExecErrorKind::NoTemplate(name.to_string()),
            ));
        };
        let new_dot = match pipe {
            Some(p) => self.pipeline_or_header(dot, p, true)?,
            None => Val::Missing,
        };
        let saved = std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
        let r = self.walk(&new_dot, body);
        self.vars = saved;
        r.map(|_| ())
    }

    fn set_var(&mut self, name: &str, v: Val, assign: bool) {
        if assign {
            if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                slot.1 = v;
                return;
            }
        }
        self.vars.push((name.to_string(), v));
    }

    /// Evaluates a pipeline; in header mode a failure yields the header of
    /// the first field it mentions instead, so headers never fail on
    /// functions that only make sense on real data.
    fn pipeline_or_header(&mut self, dot: &Val, pipe: &Pipe, declare: bool) -> R<Val> {
        match self.pipeline(dot, pipe, declare) {
            Ok(v) => Ok(v),
            Err(e) if self.header.is_some() && !is_limit(&e.kind) => {
                let name = first_field(pipe).unwrap_or_default();
                let v = match (self.header, name.is_empty()) {
                    (Some(h), false) => Val::str(h(&name)),
                    _ => Val::str(""),
                };
                if declare {
                    for d in &pipe.decl {
                        self.set_var(d, v.clone(), pipe.is_assign);
                    }
                }
                Ok(v)
            }
            Err(e) => Err(e),
        }
    }

    fn pipeline(&mut self, dot: &Val, pipe: &Pipe, declare: bool) -> R<Val> {
        let mut v: Option<Val> = None;
        for cmd in &pipe.cmds {
            v = Some(self.command(dot, cmd, v)?);
        }
        let v = v.unwrap_or(Val::Missing);
        if declare {
            for d in &pipe.decl {
                self.set_var(d, v.clone(), pipe.is_assign);
            }
        }
        Ok(v)
    }

    fn command(&mut self, dot: &Val, cmd: &Command, last: Option<Val>) -> R<Val> {
        let first = &cmd.args[0];
        if let Arg::Func(name) = first {
            return self.call(dot, name, &cmd.args[1..], last, cmd);
        }
        if cmd.args.len() > 1 || last.is_some() {
            let msg = match first {
                Arg::Field(p) | Arg::Var(_, p) | Arg::Chain(_, p) if !p.is_empty() => {
                    format!(
                        "{} is not a method but has arguments",
                        p.last().map(String::as_str).unwrap_or("")
                    )
                }
                other => format!("can't give argument to non-function {}", other.describe()),
            };
            return Err(self.err(cmd.pos, &cmd.src, ExecErrorKind::Other(msg)));
        }
        if let Arg::Nil = first {
            return Err(self.err(
                cmd.pos,
                &cmd.src,
                ExecErrorKind::Other("nil is not a command".into()),
            ));
        }
        self.arg(dot, first, cmd)
    }

    fn arg(&mut self, dot: &Val, arg: &Arg, cmd: &Command) -> R<Val> {
        Ok(match arg {
            Arg::Dot => dot.clone(),
            Arg::Nil => Val::V(Value::Null),
            Arg::Bool(b) => Val::bool(*b),
            Arg::Int(i) => Val::int(*i),
            Arg::Float(f) => {
                Val::V(serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number))
            }
            Arg::Str(s) => Val::str(s.clone()),
            Arg::Field(path) => self
                .fields(dot, path)
                .map_err(|k| self.err(cmd.pos, &cmd.src, k))?,
            Arg::Var(name, path) => {
                let v = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v)
                    .unwrap_or(&Val::Missing);
                if path.is_empty() {
                    v.clone()
                } else {
                    self.fields(v, path)
                        .map_err(|k| self.err(cmd.pos, &cmd.src, k))?
                }
            }
            Arg::Func(name) => self.call(dot, name, &[], None, cmd)?,
            Arg::Pipe(p) => self.nested(p.pos, |ex| ex.pipeline(dot, p, true))?,
            Arg::Chain(inner, path) => {
                let v = self.arg(dot, inner, cmd)?;
                self.fields(&v, path)
                    .map_err(|k| self.err(cmd.pos, &cmd.src, k))?
            }
        })
    }

    fn call(
        &mut self,
        dot: &Val,
        name: &str,
        args: &[Arg],
        last: Option<Val>,
        cmd: &Command,
    ) -> R<Val> {
        if name == "and" || name == "or" {
            let total = args.len() + usize::from(last.is_some());
            if total == 0 {
                let kind = ExecErrorKind::ArgCount {
                    func: name.into(),
                    want: "at least 1".into(),
                    got: 0,
                };
                return Err(self.err(cmd.pos, &cmd.src, kind));
            }
            // Go 1.18+: stop at the first argument that decides the result.
            let mut v = Val::Missing;
            for a in args {
                v = self.arg(dot, a, cmd)?;
                let t = truth(self.resolve(&v));
                if (name == "and" && !t) || (name == "or" && t) {
                    return Ok(v);
                }
            }
            return Ok(last.unwrap_or(v));
        }
        let mut vals = Vec::with_capacity(args.len() + 1);
        for a in args {
            let v = self.arg(dot, a, cmd)?;
            vals.push(self.to_arg(v));
        }
        if let Some(l) = last {
            vals.push(self.to_arg(l));
        }
        match funcs::call(name, vals) {
            Ok(Some(v)) => Ok(Val::V(v)),
            Ok(None) => Ok(Val::Missing),
            Err(kind) => Err(self.err(cmd.pos, &cmd.src, kind)),
        }
    }

    /// `.A.B` on `start`. The data row is a Go struct in podman, so an
    /// unknown field there is an error; nested objects are treated as
    /// structs when all their keys are exported-style (capitalised) names,
    /// and otherwise as maps, where an absent key is `<no value>`.
    fn fields(&self, start: &Val, path: &[String]) -> Result<Val, ExecErrorKind> {
        if let Some(h) = self.header {
            return Ok(Val::str(path.last().map(|n| h(n)).unwrap_or_default()));
        }
        let (mut cur, mut is_root) = match start {
            Val::Missing => return Ok(Val::Missing),
            Val::Root => (self.root, true),
            Val::V(v) => (v, false),
        };
        for name in path {
            cur = match cur {
                Value::Null => return Ok(Val::Missing),
                Value::Object(m) => match lookup(m, name) {
                    Some(v) => v,
                    None if is_root || struct_like(m) => {
                        return Err(ExecErrorKind::NoField {
                            field: name.clone(),
                            in_type: if is_root {
                                "row".into()
                            } else {
                                "object".into()
                            },
                        })
                    }
                    None => return Ok(Val::Missing),
                },
                other => {
                    return Err(ExecErrorKind::NoField {
                        field: name.clone(),
                        in_type: type_name(Some(other)).into(),
                    })
                }
            };
            is_root = false;
        }
        Ok(Val::V(cur.clone()))
    }
}

/// Exact key first, then podman's Go field names matched ignoring case
/// (`.ID` finds `Id`); the smallest such key wins so the result is stable.
fn lookup<'m>(m: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    m.get(name).or_else(|| {
        m.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .min_by(|a, b| a.0.cmp(b.0))
            .map(|(_, v)| v)
    })
}

fn struct_like(m: &Map<String, Value>) -> bool {
    !m.is_empty()
        && m.keys()
            .all(|k| k.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
}

fn sorted_entries(m: Map<String, Value>) -> Vec<(Value, Value)> {
    let mut entries: Vec<(String, Value)> = m.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
        .into_iter()
        .map(|(k, v)| (Value::String(k), v))
        .collect()
}

fn is_limit(k: &ExecErrorKind) -> bool {
    matches!(
        k,
        ExecErrorKind::OutputLimit(_) | ExecErrorKind::StepLimit(_) | ExecErrorKind::DepthLimit(_)
    )
}

/// The first field name a pipeline mentions, for header fallbacks.
pub(crate) fn first_field(pipe: &Pipe) -> Option<String> {
    pipe.cmds
        .iter()
        .flat_map(|c| c.args.iter())
        .find_map(arg_field)
}

fn arg_field(a: &Arg) -> Option<String> {
    match a {
        Arg::Field(p) | Arg::Var(_, p) if !p.is_empty() => p.last().cloned(),
        Arg::Chain(_, p) => p.last().cloned(),
        Arg::Pipe(p) => first_field(p),
        _ => None,
    }
}
