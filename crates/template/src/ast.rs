//! The parsed form of a template.

use std::collections::HashMap;

/// A sequence of nodes; byte offsets point into the template source.
pub(crate) type List = Vec<Node>;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    /// `{{pipeline}}`: evaluate and print (unless it only declares variables).
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    /// `{{template "name" pipeline}}` (also what `block` leaves in place).
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break(usize),
    Continue(usize),
}

/// The shared shape of if/range/with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipe {
    pub pos: usize,
    /// Source text of the pipeline, for error messages.
    pub src: String,
    /// `=` rather than `:=`.
    pub is_assign: bool,
    /// Declared or assigned variables (with their `$`).
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Command {
    pub pos: usize,
    pub src: String,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Dot,
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// `.A.B`
    Field(Vec<String>),
    /// `$x.A.B` (`$` alone is the root data).
    Var(String, Vec<String>),
    /// A function name.
    Func(String),
    /// `(pipeline)`
    Pipe(Box<Pipe>),
    /// `(pipeline).A.B`
    Chain(Box<Arg>, Vec<String>),
}

impl Arg {
    /// Go's rendering of the operand in messages like "can't give argument to non-function 1".
    pub(crate) fn describe(&self) -> String {
        match self {
            Arg::Dot => ".".into(),
            Arg::Nil => "nil".into(),
            Arg::Bool(b) => b.to_string(),
            Arg::Int(i) => i.to_string(),
            Arg::Float(f) => crate::float::go_v(*f),
            Arg::Str(s) => format!("{s:?}"),
            Arg::Field(p) => format!(".{}", p.join(".")),
            Arg::Var(v, p) => std::iter::once(v.clone())
                .chain(p.iter().cloned())
                .collect::<Vec<_>>()
                .join("."),
            Arg::Func(f) => f.clone(),
            Arg::Pipe(p) => format!("({})", p.src),
            Arg::Chain(a, p) => format!("{}.{}", a.describe(), p.join(".")),
        }
    }
}

/// A parsed template: the main body and the named ones from define/block.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Tree {
    pub root: List,
    pub defines: HashMap<String, List>,
}
