//! Splits template source into text and action tokens, following Go's
//! text/template lexer: `{{`/`}}` delimiters, `{{- ` / ` -}}` trim markers,
//! `{{/* comments */}}`, and the tokens allowed inside actions.

use crate::error::{ParseError, Pos};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    Ident(String),
    /// `.Name` (without the dot).
    Field(String),
    /// `$` or `$name` (with the dollar).
    Var(String),
    Dot,
    Str(String),
    /// A number or character literal, as written.
    Number(String),
    Char(char),
    Bool(bool),
    Nil,
    LParen,
    RParen,
    Pipe,
    Declare,
    Assign,
    Comma,
    Keyword(Kw),
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offset in the source.
    pub pos: usize,
    /// Whitespace separates this token from the previous one (Go needs it
    /// between operands, and its absence turns `(x).F` into a chain).
    pub space_before: bool,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    tokens: Vec<Token>,
    paren_depth: usize,
}

pub(crate) fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut l = Lexer {
        src,
        pos: 0,
        tokens: Vec::new(),
        paren_depth: 0,
    };
    l.run()?;
    Ok(l.tokens)
}

impl<'a> Lexer<'a> {
    fn err(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            pos: Pos::of(self.src, offset),
            message: message.into(),
        }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn push(&mut self, tok: Tok, pos: usize, space_before: bool) {
        self.tokens.push(Token {
            tok,
            pos,
            space_before,
        });
    }

    fn run(&mut self) -> Result<(), ParseError> {
        let mut trim_next = false;
        loop {
            let rest = self.rest();
            let (text_end, found) = match rest.find("{{") {
                Some(i) => (self.pos + i, true),
                None => (self.src.len(), false),
            };
            let mut text = &self.src[self.pos..text_end];
            if trim_next {
                text = text.trim_start_matches(is_space);
            }
            let left_trim = found && {
                let after = &self.src[text_end + 2..];
                let mut cs = after.chars();
                cs.next() == Some('-') && cs.next().is_some_and(is_space)
            };
            if left_trim {
                text = text.trim_end_matches(is_space);
            }
            if !text.is_empty() {
                self.push(Tok::Text(text.to_string()), self.pos, false);
            }
            if !found {
                self.push(Tok::Eof, self.src.len(), false);
                return Ok(());
            }
            let action_start = text_end;
            self.pos = text_end + 2 + if left_trim { 2 } else { 0 };
            trim_next = if self.rest().starts_with("/*") {
                self.comment(action_start)?
            } else {
                self.push(Tok::LeftDelim, action_start, false);
                self.action(action_start)?
            };
        }
    }

    /// A comment must run from the delimiter to the delimiter. Returns
    /// whether it ends with a trim marker.
    fn comment(&mut self, start: usize) -> Result<bool, ParseError> {
        let Some(end) = self.rest().find("*/") else {
            return Err(self.err(start, "unclosed comment"));
        };
        self.pos += end + 2;
        if self.rest().starts_with("}}") {
            self.pos += 2;
            return Ok(false);
        }
        if let Some(len) = self.right_trim_delim() {
            self.pos += len;
            return Ok(true);
        }
        Err(self.err(start, "comment ends before closing delimiter"))
    }

    /// Length of a " -}}" trim delimiter at the current position.
    fn right_trim_delim(&self) -> Option<usize> {
        let mut cs = self.rest().chars();
        let c = cs.next()?;
        (is_space(c) && cs.as_str().starts_with("-}}")).then_some(c.len_utf8() + 3)
    }

    /// Tokens up to and including the closing delimiter. Returns whether it
    /// was a trim delimiter.
    fn action(&mut self, start: usize) -> Result<bool, ParseError> {
        let mut space = false;
        loop {
            let delim = if self.rest().starts_with("}}") {
                Some((2, false))
            } else {
                self.right_trim_delim().map(|len| (len, true))
            };
            if let Some((len, trim)) = delim {
                if self.paren_depth > 0 {
                    return Err(self.err(self.pos, "unclosed left paren"));
                }
                self.push(Tok::RightDelim, self.pos, space || trim);
                self.pos += len;
                return Ok(trim);
            }
            let Some(c) = self.peek() else {
                return Err(self.err(start, "unclosed action"));
            };
            let at = self.pos;
            if is_space(c) {
                self.pos += c.len_utf8();
                space = true;
                continue;
            }
            let tok = match c {
                '=' => {
                    self.pos += 1;
                    Tok::Assign
                }
                ':' => {
                    if !self.rest().starts_with(":=") {
                        return Err(self.err(at, "expected :="));
                    }
                    self.pos += 2;
                    Tok::Declare
                }
                '|' => {
                    self.pos += 1;
                    Tok::Pipe
                }
                ',' => {
                    self.pos += 1;
                    Tok::Comma
                }
                '(' => {
                    self.pos += 1;
                    self.paren_depth += 1;
                    Tok::LParen
                }
                ')' => {
                    if self.paren_depth == 0 {
                        return Err(self.err(at, "unexpected right paren"));
                    }
                    self.pos += 1;
                    self.paren_depth -= 1;
                    Tok::RParen
                }
                '"' => Tok::Str(self.quoted(at)?),
                '`' => Tok::Str(self.raw(at)?),
                '\'' => Tok::Char(self.char_lit(at)?),
                '$' => {
                    self.pos += 1;
                    let name = self.word();
                    Tok::Var(format!("${name}"))
                }
                '.' => {
                    let next = self.rest()[1..].chars().next();
                    if next.is_some_and(|n| n.is_ascii_digit()) {
                        Tok::Number(self.number(at)?)
                    } else if next.is_some_and(is_alnum) {
                        self.pos += 1;
                        Tok::Field(self.word().to_string())
                    } else {
                        self.pos += 1;
                        Tok::Dot
                    }
                }
                '+' | '-' | '0'..='9' => Tok::Number(self.number(at)?),
                c if is_alnum(c) => {
                    let w = self.word();
                    match w {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        "block" => Tok::Keyword(Kw::Block),
                        "break" => Tok::Keyword(Kw::Break),
                        "continue" => Tok::Keyword(Kw::Continue),
                        "define" => Tok::Keyword(Kw::Define),
                        "else" => Tok::Keyword(Kw::Else),
                        "end" => Tok::Keyword(Kw::End),
                        "if" => Tok::Keyword(Kw::If),
                        "range" => Tok::Keyword(Kw::Range),
                        "template" => Tok::Keyword(Kw::Template),
                        "with" => Tok::Keyword(Kw::With),
                        _ => Tok::Ident(w.to_string()),
                    }
                }
                other => {
                    return Err(self.err(at, format!("unrecognized character in action: {other:?}")))
                }
            };
            self.push(tok, at, space);
            space = false;
        }
    }

    fn word(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest.find(|c: char| !is_alnum(c)).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// Go's number syntax: sign, 0x/0o/0b prefixes, underscores, fraction,
    /// exponent. The value is checked by the parser.
    fn number(&mut self, at: usize) -> Result<String, ParseError> {
        let rest = self.rest();
        let b = rest.as_bytes();
        let mut i = 0;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let mut hex = false;
        if i + 1 < b.len()
            && b[i] == b'0'
            && matches!(b[i + 1], b'x' | b'X' | b'o' | b'O' | b'b' | b'B')
        {
            hex = matches!(b[i + 1], b'x' | b'X');
            i += 2;
        }
        let digit = |c: u8| {
            c == b'_'
                || if hex {
                    c.is_ascii_hexdigit()
                } else {
                    c.is_ascii_digit()
                }
        };
        while i < b.len() && digit(b[i]) {
            i += 1;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && digit(b[i]) {
                i += 1;
            }
        }
        if i < b.len()
            && ((!hex && matches!(b[i], b'e' | b'E')) || (hex && matches!(b[i], b'p' | b'P')))
        {
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
                i += 1;
            }
        }
        if i < b.len() && b[i] == b'i' {
            i += 1;
        }
        let text = &rest[..i];
        self.pos += i;
        if self.peek().is_some_and(is_alnum) || !text.bytes().any(|c| c.is_ascii_digit()) {
            let shown: String = rest.chars().take(text.chars().count() + 1).collect();
            return Err(self.err(at, format!("bad number syntax: {shown:?}")));
        }
        Ok(text.to_string())
    }

    fn quoted(&mut self, at: usize) -> Result<String, ParseError> {
        let rest = &self.rest()[1..];
        let Some(end) = closing_quote(rest, '"') else {
            return Err(self.err(at, "unterminated quoted string"));
        };
        let body = &rest[..end];
        self.pos += end + 2;
        unescape(body, '"').map_err(|m| self.err(at, m))
    }

    fn raw(&mut self, at: usize) -> Result<String, ParseError> {
        let rest = &self.rest()[1..];
        let Some(end) = rest.find('`') else {
            return Err(self.err(at, "unterminated raw quoted string"));
        };
        self.pos += end + 2;
        Ok(rest[..end].replace('\r', ""))
    }

    fn char_lit(&mut self, at: usize) -> Result<char, ParseError> {
        let rest = &self.rest()[1..];
        let Some(end) = closing_quote(rest, '\'') else {
            return Err(self.err(at, "unterminated character constant"));
        };
        let body = &rest[..end];
        self.pos += end + 2;
        let s = unescape(body, '\'').map_err(|m| self.err(at, m))?;
        let mut cs = s.chars();
        match (cs.next(), cs.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(self.err(at, format!("malformed character constant: '{body}'"))),
        }
    }
}

/// Go's escape sequences inside a quoted string (`quote` is the delimiter,
/// which is the only quote that may be escaped).
fn unescape(body: &str, quote: char) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(body.len());
    let mut cs = body.chars();
    let bad = || format!("invalid syntax in {quote}{body}{quote}");
    while let Some(c) = cs.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = cs.next().ok_or_else(bad)?;
        let ch = match e {
            'a' => '\x07',
            'b' => '\x08',
            'f' => '\x0c',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\x0b',
            '\\' => '\\',
            q if q == quote => q,
            'x' => {
                let h: String = cs.by_ref().take(2).collect();
                let b = u8::from_str_radix(&h, 16)
                    .ok()
                    .filter(|_| h.len() == 2)
                    .ok_or_else(bad)?;
                bytes.push(b);
                continue;
            }
            '0'..='7' => {
                let rest: String = cs.by_ref().take(2).collect();
                let o = format!("{e}{rest}");
                let v = u32::from_str_radix(&o, 8)
                    .ok()
                    .filter(|v| o.len() == 3 && *v < 256)
                    .ok_or_else(bad)?;
                bytes.push(v as u8);
                continue;
            }
            'u' | 'U' => {
                let n = if e == 'u' { 4 } else { 8 };
                let h: String = cs.by_ref().take(n).collect();
                if h.len() != n {
                    return Err(bad());
                }
                u32::from_str_radix(&h, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(bad)?
            }
            _ => return Err(bad()),
        };
        let mut buf = [0u8; 4];
        bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    // \x and octal escapes may form invalid UTF-8; Go would keep raw bytes.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Where the unescaped `quote` ending a literal stands in `rest` (the text
/// after the opening quote); `None` when a newline or the end comes first.
fn closing_quote(rest: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        if c == '\n' {
            return None;
        }
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_actions_and_text() {
        assert_eq!(
            toks("a {{.ID | upper}} b"),
            vec![
                Tok::Text("a ".into()),
                Tok::LeftDelim,
                Tok::Field("ID".into()),
                Tok::Pipe,
                Tok::Ident("upper".into()),
                Tok::RightDelim,
                Tok::Text(" b".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks(r#"{{$x := "a\tb" `r\n` 'c' -3 .5 nil true}}"#),
            vec![
                Tok::LeftDelim,
                Tok::Var("$x".into()),
                Tok::Declare,
                Tok::Str("a\tb".into()),
                Tok::Str("r\\n".into()),
                Tok::Char('c'),
                Tok::Number("-3".into()),
                Tok::Number(".5".into()),
                Tok::Nil,
                Tok::Bool(true),
                Tok::RightDelim,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn trims_and_comments() {
        assert_eq!(
            toks("a  {{- 1 -}}  b {{/* c */}}x{{- /* d */ -}} y"),
            vec![
                Tok::Text("a".into()),
                Tok::LeftDelim,
                Tok::Number("1".into()),
                Tok::RightDelim,
                Tok::Text("b ".into()),
                Tok::Text("x".into()),
                Tok::Text("y".into()),
                Tok::Eof
            ]
        );
        // "{{-3}}" is the number -3, not a trim marker.
        assert_eq!(toks("{{-3}}")[1], Tok::Number("-3".into()));
    }

    #[test]
    fn reports_errors_with_position() {
        let e = lex("ab\n {{.A").unwrap_err();
        assert_eq!(e.pos, Pos { line: 2, col: 2 });
        assert!(e.message.contains("unclosed action"));
        assert!(lex(r#"{{"\z"}}"#).is_err());
        assert!(lex(r#"{{"abc}}"#).is_err());
        assert!(lex("{{/* x }}").is_err());
        assert!(lex("{{/* x */ .A}}").is_err());
        assert!(lex("{{3x}}").is_err());
        // Found by fuzzing: the message must not split a multi-byte character.
        assert!(lex("{{-i\u{736}}}").is_err());
        assert!(lex("{{-}}").is_err());
        assert!(lex("{{)}}").is_err());
        assert!(lex("{{#}}").is_err());
        assert_eq!(toks(r#"{{"\u00e9\x41\101"}}"#)[1], Tok::Str("éAA".into()));
    }
}
