//! Just enough of CIL's syntax to pick statements out of a policy module:
//! S-expressions, `;` comments, `"` strings.

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Atom(String),
    List(Vec<Node>),
}

impl Node {
    pub(crate) fn atom(&self) -> Option<&str> {
        match self {
            Node::Atom(a) => Some(a),
            Node::List(_) => None,
        }
    }
    pub(crate) fn list(&self) -> Option<&[Node]> {
        match self {
            Node::List(l) => Some(l),
            Node::Atom(_) => None,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Open,
    Close,
    Atom(&'a str),
}

struct Tokens<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let bytes = self.text.as_bytes();
        loop {
            let b = *bytes.get(self.pos)?;
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b';' => {
                    while self.pos < bytes.len() && bytes[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                b'(' => {
                    self.pos += 1;
                    return Some(Token::Open);
                }
                b')' => {
                    self.pos += 1;
                    return Some(Token::Close);
                }
                b'"' => {
                    let start = self.pos + 1;
                    let end = self.text[start..]
                        .find('"')
                        .map_or(bytes.len(), |i| start + i);
                    self.pos = (end + 1).min(bytes.len());
                    return Some(Token::Atom(&self.text[start..end]));
                }
                _ => {
                    let start = self.pos;
                    while self.pos < bytes.len()
                        && !matches!(
                            bytes[self.pos],
                            b' ' | b'\t' | b'\n' | b'\r' | b'(' | b')' | b';'
                        )
                    {
                        self.pos += 1;
                    }
                    return Some(Token::Atom(&self.text[start..self.pos]));
                }
            }
        }
    }
}

/// Every list, at any depth, whose first atom is one of `heads`, whole.
pub(crate) fn statements(text: &str, heads: &[&str]) -> Vec<Node> {
    let mut tokens = Tokens { text, pos: 0 };
    let mut out = Vec::new();
    let mut after_open = false;
    while let Some(t) = tokens.next() {
        match t {
            Token::Atom(a) if after_open && heads.contains(&a) => {
                let mut items = vec![Node::Atom(a.to_string())];
                items.extend(rest_of_list(&mut tokens));
                out.push(Node::List(items));
                after_open = false;
            }
            Token::Open => after_open = true,
            _ => after_open = false,
        }
    }
    out
}

/// The items up to the `)` closing the current list (or the end of text).
fn rest_of_list(tokens: &mut Tokens<'_>) -> Vec<Node> {
    let mut items = Vec::new();
    while let Some(t) = tokens.next() {
        match t {
            Token::Close => break,
            Token::Open => items.push(Node::List(rest_of_list(tokens))),
            Token::Atom(a) => items.push(Node::Atom(a.to_string())),
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_statements_at_any_depth() {
        let text = "; (portcon comment)\n(type a)(optional o (portcon tcp (1 2) ctx))\n\
                    (portcon udp 53 (system_u object_r dns_port_t ((s0) (s0))))";
        let found = statements(text, &["portcon"]);
        assert_eq!(found.len(), 2);
        let first = found[0].list().unwrap();
        assert_eq!(first[1].atom(), Some("tcp"));
        assert_eq!(first[2].list().unwrap()[1].atom(), Some("2"));
        let second = found[1].list().unwrap();
        assert_eq!(second[3].list().unwrap()[2].atom(), Some("dns_port_t"));
    }
}
