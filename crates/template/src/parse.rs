//! Recursive-descent parser from tokens to the tree, with Go's checks done at
//! parse time: unknown functions, undefined variables, misplaced
//! else/end/break/continue, and a nesting limit so hostile input cannot
//! exhaust the stack.

use crate::ast::{Arg, Branch, Command, List, Node, Pipe, Tree};
use crate::error::{ParseError, Pos};
use crate::funcs;
use crate::lexer::{lex, Kw, Tok, Token};

/// Control structures plus parentheses nested deeper than this are refused.
pub(crate) const MAX_NESTING: usize = 100;

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    /// Variables in scope, innermost last; "$" is always first.
    vars: Vec<String>,
    depth: usize,
    range_depth: usize,
    tree: Tree,
}

/// How a list ended.
enum Stop {
    Eof,
    /// After `{{end}}` (consumed).
    End(usize),
    /// After the `else` keyword; the rest of that action is still unread.
    Else(usize),
}

pub(crate) fn parse(src: &str) -> Result<Tree, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        vars: vec!["$".into()],
        depth: 0,
        range_depth: 0,
        tree: Tree::default(),
    };
    let (root, stop) = p.list(true)?;
    match stop {
        Stop::Eof => {}
        Stop::End(at) => return Err(p.err(at, "unexpected {{end}}")),
        Stop::Else(at) => return Err(p.err(at, "unexpected {{else}}")),
    }
    p.tree.root = root;
    Ok(p.tree)
}

impl Parser<'_> {
    fn err(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            pos: Pos::of(self.src, offset),
            message: message.into(),
        }
    }

    fn peek(&self) -> &Token {
        // The lexer always ends with Eof, and we never step past it.
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn expect_right(&mut self, context: &str) -> Result<(), ParseError> {
        let t = self.next();
        if t.tok == Tok::RightDelim {
            Ok(())
        } else {
            Err(self.err(
                t.pos,
                format!("unexpected {} in {context}", describe(&t.tok)),
            ))
        }
    }

    fn enter(&mut self, at: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.err(at, format!("nesting deeper than {MAX_NESTING} levels")));
        }
        Ok(())
    }

    fn list(&mut self, top: bool) -> Result<(List, Stop), ParseError> {
        let mut list = List::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Eof => return Ok((list, Stop::Eof)),
                Tok::Text(s) => list.push(Node::Text(s)),
                Tok::LeftDelim => {
                    let kw = self.peek().clone();
                    match kw.tok {
                        Tok::Keyword(Kw::End) => {
                            self.next();
                            self.expect_right("end")?;
                            return Ok((list, Stop::End(kw.pos)));
                        }
                        Tok::Keyword(Kw::Else) => {
                            self.next();
                            return Ok((list, Stop::Else(kw.pos)));
                        }
                        Tok::Keyword(Kw::If) => {
                            self.next();
                            list.push(Node::If(self.branch(kw.pos, "if")?));
                        }
                        Tok::Keyword(Kw::Range) => {
                            self.next();
                            list.push(Node::Range(self.branch(kw.pos, "range")?));
                        }
                        Tok::Keyword(Kw::With) => {
                            self.next();
                            list.push(Node::With(self.branch(kw.pos, "with")?));
                        }
                        Tok::Keyword(Kw::Define) => {
                            self.next();
                            if !top {
                                return Err(
                                    self.err(kw.pos, "{{define}} is only allowed at the top level")
                                );
                            }
                            let name = self.template_name("define")?;
                            self.expect_right("define")?;
                            self.define_body(kw.pos, name)?;
                        }
                        Tok::Keyword(Kw::Block) => {
                            self.next();
                            let name = self.template_name("block")?;
                            let pipe = self.pipeline("block", false)?;
                            self.define_body(kw.pos, name.clone())?;
                            list.push(Node::Template {
                                pos: kw.pos,
                                name,
                                pipe: Some(pipe),
                            });
                        }
                        Tok::Keyword(Kw::Template) => {
                            self.next();
                            let name = self.template_name("template")?;
                            let pipe = if self.peek().tok == Tok::RightDelim {
                                self.next();
                                None
                            } else {
                                Some(self.pipeline("template", false)?)
                            };
                            list.push(Node::Template {
                                pos: kw.pos,
                                name,
                                pipe,
                            });
                        }
                        Tok::Keyword(k @ (Kw::Break | Kw::Continue)) => {
                            self.next();
                            let word = if k == Kw::Break { "break" } else { "continue" };
                            if self.range_depth == 0 {
                                return Err(self
                                    .err(kw.pos, format!("{{{{{word}}}}} outside {{{{range}}}}")));
                            }
                            self.expect_right(word)?;
                            list.push(if k == Kw::Break {
                                Node::Break(kw.pos)
                            } else {
                                Node::Continue(kw.pos)
                            });
                        }
                        _ => list.push(Node::Action(self.pipeline("command", true)?)),
                    }
                }
                other => return Err(self.err(t.pos, format!("unexpected {}", describe(&other)))),
            }
        }
    }

    fn template_name(&mut self, context: &str) -> Result<String, ParseError> {
        let t = self.next();
        match t.tok {
            Tok::Str(s) => Ok(s),
            other => Err(self.err(
                t.pos,
                format!(
                    "unexpected {} in {context}: the template name must be a quoted string",
                    describe(&other)
                ),
            )),
        }
    }

    /// The body of define/block, up to its `{{end}}`, parsed with a fresh variable scope.
    fn define_body(&mut self, at: usize, name: String) -> Result<(), ParseError> {
        self.enter(at)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (body, stop) = self.list(false)?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        self.depth -= 1;
        match stop {
            Stop::End(_) => {}
            Stop::Else(e) => return Err(self.err(e, "unexpected {{else}} in define")),
            Stop::Eof => {
                return Err(self.err(
                    at,
                    "unexpected EOF: {{define}} or {{block}} lacks its {{end}}",
                ))
            }
        }
        // As in Go, an empty (whitespace-only) definition may coexist with
        // another one; two real bodies for one name are an error.
        let empty = |b: &List| {
            b.iter()
                .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
        };
        match self.tree.defines.get(&name) {
            Some(old) if !empty(old) && !empty(&body) => {
                return Err(self.err(at, format!("multiple definition of template {name:?}")));
            }
            Some(old) if !empty(old) => {}
            _ => {
                self.tree.defines.insert(name, body);
            }
        }
        Ok(())
    }

    /// if/range/with after the keyword: pipeline, body, optional else, end.
    fn branch(&mut self, at: usize, kind: &'static str) -> Result<Branch, ParseError> {
        self.enter(at)?;
        let scope = self.vars.len();
        let pipe = self.pipeline(kind, true)?;
        if kind == "range" {
            self.range_depth += 1;
        }
        let (list, stop) = self.list(false)?;
        if kind == "range" {
            self.range_depth -= 1;
        }
        let else_list = match stop {
            Stop::End(_) => None,
            Stop::Eof => {
                return Err(self.err(
                    at,
                    format!("unexpected EOF: {{{{{kind}}}}} lacks its {{{{end}}}}"),
                ))
            }
            Stop::Else(e) => {
                let t = self.peek().clone();
                match t.tok {
                    // `{{else if ...}}` / `{{else with ...}}`: a nested branch
                    // that shares the outer {{end}}.
                    Tok::Keyword(Kw::If) if kind == "if" => {
                        self.next();
                        Some(vec![Node::If(self.branch(t.pos, "if")?)])
                    }
                    Tok::Keyword(Kw::With) if kind == "with" => {
                        self.next();
                        Some(vec![Node::With(self.branch(t.pos, "with")?)])
                    }
                    _ => {
                        self.expect_right("else")?;
                        let (else_list, stop) = self.list(false)?;
                        match stop {
                            Stop::End(_) => Some(else_list),
                            Stop::Else(e2) => {
                                return Err(self.err(
                                    e2,
                                    format!("expected end; found {{{{else}}}} in {kind}"),
                                ))
                            }
                            Stop::Eof => {
                                return Err(self.err(
                                    e,
                                    format!("unexpected EOF: {{{{{kind}}}}} lacks its {{{{end}}}}"),
                                ))
                            }
                        }
                    }
                }
            }
        };
        self.vars.truncate(scope);
        self.depth -= 1;
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    /// A pipeline up to the closing `}}` (consumed), with optional declarations.
    fn pipeline(&mut self, context: &str, allow_decl: bool) -> Result<Pipe, ParseError> {
        let start = self.peek().pos;
        let mut decl = Vec::new();
        let mut is_assign = false;
        if allow_decl {
            self.declarations(context, &mut decl, &mut is_assign)?;
        }
        let cmds = self.commands(context, Tok::RightDelim)?;
        let end = self.toks[self.i - 1].pos;
        if cmds.is_empty() {
            return Err(self.err(start, format!("missing value for {context}")));
        }
        if !is_assign {
            self.vars.extend(decl.iter().cloned());
        }
        Ok(Pipe {
            pos: start,
            src: self.src[start..end.max(start)].trim().to_string(),
            is_assign,
            decl,
            cmds,
        })
    }

    fn declarations(
        &mut self,
        context: &str,
        decl: &mut Vec<String>,
        is_assign: &mut bool,
    ) -> Result<(), ParseError> {
        let save = self.i;
        let mut names = Vec::new();
        while let Tok::Var(name) = self.peek().tok.clone() {
            let at = self.peek().pos;
            self.next();
            names.push((name, at));
            match self.peek().tok {
                Tok::Comma if context == "range" && names.len() == 1 => {
                    self.next();
                }
                Tok::Comma => {
                    return Err(self.err(
                        self.peek().pos,
                        format!("too many declarations in {context}"),
                    ))
                }
                Tok::Declare | Tok::Assign => {
                    *is_assign = self.next().tok == Tok::Assign;
                    for (n, at) in &names {
                        if *is_assign && !self.vars.contains(n) {
                            return Err(self.err(*at, format!("undefined variable {n:?}")));
                        }
                    }
                    decl.extend(names.into_iter().map(|(n, _)| n));
                    return Ok(());
                }
                _ => break,
            }
        }
        // Not a declaration after all: re-read the tokens as operands.
        self.i = save;
        Ok(())
    }

    fn commands(&mut self, context: &str, end: Tok) -> Result<Vec<Command>, ParseError> {
        let mut cmds = Vec::new();
        loop {
            let t = self.peek().clone();
            if t.tok == end {
                self.next();
                break;
            }
            if !cmds.is_empty() {
                if t.tok != Tok::Pipe {
                    return Err(self.err(
                        t.pos,
                        format!("unexpected {} in {context}", describe(&t.tok)),
                    ));
                }
                self.next();
            }
            let cmd = self.command(context, &end)?;
            if !cmds.is_empty() {
                if let Some(
                    Arg::Bool(_) | Arg::Dot | Arg::Nil | Arg::Int(_) | Arg::Float(_) | Arg::Str(_),
                ) = cmd.args.first()
                {
                    return Err(self.err(
                        cmd.pos,
                        format!(
                            "non executable command in pipeline stage {}",
                            cmds.len() + 1
                        ),
                    ));
                }
            }
            cmds.push(cmd);
        }
        Ok(cmds)
    }

    fn command(&mut self, context: &str, end: &Tok) -> Result<Command, ParseError> {
        let start = self.peek().pos;
        let mut args = Vec::new();
        loop {
            let t = self.peek().clone();
            if t.tok == *end || t.tok == Tok::Pipe {
                break;
            }
            if !args.is_empty() && !t.space_before {
                return Err(self.err(t.pos, format!("missing space before {}?", describe(&t.tok))));
            }
            args.push(self.operand(context)?);
        }
        if args.is_empty() {
            let t = self.peek();
            return Err(self.err(t.pos, format!("missing value for {context}")));
        }
        let end_pos = self.peek().pos;
        Ok(Command {
            pos: start,
            src: self.src[start..end_pos.max(start)].trim().to_string(),
            args,
        })
    }

    /// A term plus any `.Field` chain glued to it.
    fn operand(&mut self, context: &str) -> Result<Arg, ParseError> {
        let t = self.next();
        let term = match t.tok {
            Tok::Ident(name) => {
                if !funcs::is_known(&name) {
                    return Err(self.err(t.pos, format!("function {name:?} not defined")));
                }
                Arg::Func(name)
            }
            Tok::Dot => Arg::Dot,
            Tok::Nil => Arg::Nil,
            Tok::Bool(b) => Arg::Bool(b),
            Tok::Str(s) => Arg::Str(s),
            Tok::Char(c) => Arg::Int(c as i64),
            Tok::Number(n) => number(&n).map_err(|m| self.err(t.pos, m))?,
            Tok::Field(f) => Arg::Field(vec![f]),
            Tok::Var(v) => {
                if !self.vars.contains(&v) {
                    return Err(self.err(t.pos, format!("undefined variable {v:?}")));
                }
                Arg::Var(v, Vec::new())
            }
            Tok::LParen => {
                self.enter(t.pos)?;
                let start = self.peek().pos;
                let mut decl = Vec::new();
                let mut is_assign = false;
                self.declarations("parenthesized pipeline", &mut decl, &mut is_assign)?;
                let cmds = self.commands("parenthesized pipeline", Tok::RParen)?;
                let end = self.toks[self.i - 1].pos;
                self.depth -= 1;
                if cmds.is_empty() {
                    return Err(self.err(t.pos, "missing value for parenthesized pipeline"));
                }
                if !is_assign {
                    self.vars.extend(decl.iter().cloned());
                }
                Arg::Pipe(Box::new(Pipe {
                    pos: start,
                    src: self.src[start..end.max(start)].trim().to_string(),
                    is_assign,
                    decl,
                    cmds,
                }))
            }
            other => {
                return Err(self.err(
                    t.pos,
                    format!("unexpected {} in {context}", describe(&other)),
                ))
            }
        };
        // Field tokens written directly after the term extend it.
        let mut chain = Vec::new();
        while let Tok::Field(f) = &self.peek().tok {
            if self.peek().space_before {
                break;
            }
            chain.push(f.clone());
            self.next();
        }
        if chain.is_empty() {
            return Ok(term);
        }
        Ok(match term {
            Arg::Field(mut p) => {
                p.extend(chain);
                Arg::Field(p)
            }
            Arg::Var(v, mut p) => {
                p.extend(chain);
                Arg::Var(v, p)
            }
            Arg::Bool(_) | Arg::Str(_) | Arg::Int(_) | Arg::Float(_) | Arg::Nil | Arg::Dot => {
                return Err(self.err(
                    t.pos,
                    format!("unexpected . after term {:?}", term.describe()),
                ))
            }
            other => Arg::Chain(Box::new(other), chain),
        })
    }
}

/// A number literal as Go types it: float if written with a fraction or
/// exponent, else int.
fn number(text: &str) -> Result<Arg, String> {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    if clean.ends_with('i') {
        return Err(format!("complex number {text} is not supported"));
    }
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let lower = body.to_ascii_lowercase();
    let radix_int = if let Some(h) = lower.strip_prefix("0x") {
        Some((h.to_string(), 16))
    } else if let Some(o) = lower.strip_prefix("0o") {
        Some((o.to_string(), 8))
    } else if let Some(b) = lower.strip_prefix("0b") {
        Some((b.to_string(), 2))
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        Some((lower[1..].to_string(), 8))
    } else if lower.bytes().all(|b| b.is_ascii_digit()) {
        Some((lower.clone(), 10))
    } else {
        None
    };
    if let Some((digits, radix)) = radix_int {
        if radix == 16 && (digits.contains('.') || digits.contains('p')) {
            return Err(format!("hexadecimal float {text} is not supported"));
        }
        let v = i128::from_str_radix(&digits, radix)
            .map_err(|_| format!("bad number syntax: {text:?}"))?;
        let v = if neg { -v } else { v };
        return i64::try_from(v)
            .map(Arg::Int)
            .map_err(|_| format!("{text} overflows int"));
    }
    let f: f64 = body
        .parse()
        .map_err(|_| format!("bad number syntax: {text:?}"))?;
    Ok(Arg::Float(if neg { -f } else { f }))
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Text(_) => "text".into(),
        Tok::LeftDelim => "\"{{\"".into(),
        Tok::RightDelim => "\"}}\"".into(),
        Tok::Ident(s) => format!("identifier {s:?}"),
        Tok::Field(s) => format!("field .{s}"),
        Tok::Var(s) => format!("variable {s}"),
        Tok::Dot => "\".\"".into(),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Number(n) => format!("number {n}"),
        Tok::Char(c) => format!("character {c:?}"),
        Tok::Bool(b) => b.to_string(),
        Tok::Nil => "nil".into(),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Pipe => "\"|\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Keyword(k) => format!("<{}>", format!("{k:?}").to_lowercase()),
        Tok::Eof => "EOF".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        parse(src).unwrap_err().message
    }

    #[test]
    fn parses_structures() {
        let t = parse(
            r#"{{if .A}}x{{else if .B}}y{{else}}z{{end}}{{range $i, $v := .L}}{{$i}}{{end}}"#,
        )
        .unwrap();
        assert_eq!(t.root.len(), 2);
        let Node::If(b) = &t.root[0] else { panic!() };
        assert!(matches!(b.else_list.as_deref(), Some([Node::If(_)])));
        let Node::Range(r) = &t.root[1] else { panic!() };
        assert_eq!(r.pipe.decl, vec!["$i", "$v"]);
        let t = parse(r#"{{define "a"}}A{{end}}{{block "b" .}}B{{end}}"#).unwrap();
        assert!(t.defines.contains_key("a") && t.defines.contains_key("b"));
        let t = parse("{{(.A).B.C}} {{$.X.Y}} {{.A.B}}").unwrap();
        let Node::Action(p) = &t.root[0] else {
            panic!()
        };
        assert!(matches!(&p.cmds[0].args[0], Arg::Chain(_, c) if c == &["B", "C"]));
    }

    #[test]
    fn numbers_typed_like_go() {
        assert_eq!(number("0x1F").unwrap(), Arg::Int(31));
        assert_eq!(number("1_000").unwrap(), Arg::Int(1000));
        assert_eq!(number("017").unwrap(), Arg::Int(15));
        assert_eq!(number("0b101").unwrap(), Arg::Int(5));
        assert_eq!(number("-2").unwrap(), Arg::Int(-2));
        assert_eq!(number("1e3").unwrap(), Arg::Float(1000.0));
        assert_eq!(number(".5").unwrap(), Arg::Float(0.5));
        assert!(number("1i").is_err());
        assert!(number("99999999999999999999").is_err());
    }

    #[test]
    fn rejects_what_go_rejects() {
        assert!(err("{{nosuch 1}}").contains(r#"function "nosuch" not defined"#));
        assert!(err("{{if}}{{end}}").contains("missing value for if"));
        assert!(err("{{end}}").contains("unexpected {{end}}"));
        assert!(err("{{else}}").contains("unexpected {{else}}"));
        assert!(err("{{range .}}").contains("unexpected EOF"));
        assert!(err("{{$x}}").contains(r#"undefined variable "$x""#));
        assert!(err("{{$x = 1}}").contains(r#"undefined variable "$x""#));
        assert!(err("{{break}}").contains("outside {{range}}"));
        assert!(err("{{if 1}}{{continue}}{{end}}").contains("outside {{range}}"));
        assert!(err("{{}}").contains("missing value"));
        assert!(err("{{.A | 1}}").contains("non executable command"));
        assert!(err(r#"{{.A"x"}}"#).contains("missing space"));
        assert!(err("{{if 1}}{{define \"x\"}}{{end}}{{end}}").contains("top level"));
        assert!(err("{{with $a, $b := 1}}{{end}}").contains("too many declarations"));
        assert!(err("{{template .X}}").contains("quoted string"));
        assert!(err("{{if 1}}a{{else}}b{{else}}c{{end}}").contains("expected end"));
        assert!(
            err(r#"{{block "x" .}}B{{end}}{{define "x"}}D{{end}}"#).contains("multiple definition")
        );
        assert!(parse(r#"{{define "x"}} {{end}}{{define "x"}}D{{end}}"#).is_ok());
        // Variables go out of scope at {{end}}.
        assert!(err("{{if 1}}{{$y := 1}}{{end}}{{$y}}").contains("undefined variable"));
    }

    #[test]
    fn limits_nesting() {
        let deep = "{{if 1}}".repeat(MAX_NESTING + 1) + &"{{end}}".repeat(MAX_NESTING + 1);
        assert!(err(&deep).contains("nesting"));
        let parens = format!("{{{{{}1{}}}}}", "(".repeat(5000), ")".repeat(5000));
        assert!(err(&parens).contains("nesting"));
        let ok = "{{if 1}}".repeat(50) + &"{{end}}".repeat(50);
        assert!(parse(&ok).is_ok());
    }
}
