//! Build-time variable substitution, as Docker's shell lexer does it:
//! `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`,
//! `${VAR+alt}`, `${VAR:?msg}`, `${VAR?msg}`; single quotes are literal,
//! double quotes group and still expand, the escape character makes the
//! next character literal. Quotes are removed from the result.

use std::collections::{BTreeMap, HashMap};

use super::ast::Word;
use super::error::ExpandError;

/// The variables in scope: build args and ENV of the stage. `None` means
/// unset (which `${VAR-x}` distinguishes from empty).
pub trait Vars {
    /// The value of `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}

impl Vars for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl Vars for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).cloned()
    }
}

/// A list of `(name, value)`: the last entry for a name wins, as with
/// repeated `ENV`.
impl Vars for [(String, String)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

impl Vars for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<String> {
        Vars::get(self.as_slice(), name)
    }
}

/// No variables at all.
impl Vars for () {
    fn get(&self, _name: &str) -> Option<String> {
        None
    }
}

impl Word {
    /// A word as written, with the escape character in force.
    pub fn new(raw: impl Into<String>, escape: char) -> Self {
        Word {
            raw: raw.into(),
            escape,
        }
    }

    /// The word with variables substituted and quotes removed.
    pub fn expand(&self, vars: &dyn Vars) -> Result<String, ExpandError> {
        expand(&self.raw, self.escape, vars)
    }

    /// Like [`Word::expand`], then split into words on unquoted whitespace
    /// (text from a variable splits too): for EXPOSE and VOLUME.
    pub fn expand_words(&self, vars: &dyn Vars) -> Result<Vec<String>, ExpandError> {
        expand_words(&self.raw, self.escape, vars)
    }
}

/// Substitutes variables in `text` and removes quotes and escapes.
pub fn expand(text: &str, escape: char, vars: &dyn Vars) -> Result<String, ExpandError> {
    let mut lexer = Lexer::new(text, escape, vars);
    let (result, _) = lexer.process_until(None)?;
    Ok(result)
}

/// Like [`expand`], then split on unquoted, unescaped whitespace.
pub fn expand_words(text: &str, escape: char, vars: &dyn Vars) -> Result<Vec<String>, ExpandError> {
    let mut lexer = Lexer::new(text, escape, vars);
    let (_, words) = lexer.process_until(None)?;
    Ok(words.finish())
}

/// Expands a heredoc body as a shell expands an unquoted heredoc: `$VAR`
/// and `${...}` forms are substituted, quotes are ordinary characters, and
/// the escape character only escapes `$`, itself and a newline.
pub fn expand_heredoc(text: &str, escape: char, vars: &dyn Vars) -> Result<String, ExpandError> {
    let mut lexer = Lexer::new(text, escape, vars);
    let mut out = String::new();
    while let Some(c) = lexer.peek() {
        if c == '$' {
            out.push_str(&lexer.dollar()?);
            continue;
        }
        lexer.next();
        if c == escape {
            match lexer.peek() {
                Some('\n') => {
                    lexer.next();
                    continue;
                }
                Some(n) if n == '$' || n == escape => {
                    lexer.next();
                    out.push(n);
                    continue;
                }
                _ => {}
            }
        }
        out.push(c);
    }
    Ok(out)
}

/// Words being split: whitespace splits only where it came unquoted.
#[derive(Default)]
struct Words {
    done: Vec<String>,
    current: String,
    /// True once the current word has content, even an empty quoted "".
    started: bool,
}

impl Words {
    fn push_splittable(&mut self, c: char) {
        if c.is_whitespace() {
            if self.started {
                self.done.push(std::mem::take(&mut self.current));
                self.started = false;
            }
        } else {
            self.push_raw(c);
        }
    }

    fn push_raw(&mut self, c: char) {
        self.current.push(c);
        self.started = true;
    }

    fn push_raw_str(&mut self, s: &str) {
        self.current.push_str(s);
        self.started = true;
    }

    fn finish(mut self) -> Vec<String> {
        if self.started {
            self.done.push(self.current);
        }
        self.done
    }
}

struct Lexer<'a> {
    text: &'a str,
    chars: Vec<char>,
    pos: usize,
    escape: char,
    vars: &'a dyn Vars,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str, escape: char, vars: &'a dyn Vars) -> Self {
        Lexer {
            text,
            chars: text.chars().collect(),
            pos: 0,
            escape,
            vars,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn bad(&self, message: impl Into<String>) -> ExpandError {
        ExpandError::BadSubstitution {
            text: self.text.to_string(),
            message: message.into(),
        }
    }

    /// Processes up to `stop` (consumed) or the end of the text.
    fn process_until(&mut self, stop: Option<char>) -> Result<(String, Words), ExpandError> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.next();
                return Ok((result, words));
            }
            match c {
                '\'' => {
                    let s = self.single_quoted()?;
                    result.push_str(&s);
                    words.push_raw_str(&s);
                }
                '"' => {
                    let s = self.double_quoted()?;
                    result.push_str(&s);
                    words.push_raw_str(&s);
                }
                '$' => {
                    let s = self.dollar()?;
                    result.push_str(&s);
                    // Text from a variable splits on its whitespace.
                    s.chars().for_each(|c| words.push_splittable(c));
                }
                _ => {
                    self.next();
                    if c == self.escape {
                        // An escape at the very end is dropped.
                        let Some(escaped) = self.next() else { break };
                        result.push(escaped);
                        words.push_raw(escaped);
                    } else {
                        result.push(c);
                        words.push_splittable(c);
                    }
                }
            }
        }
        match stop {
            Some(_) => Err(self.bad("missing closing }")),
            None => Ok((result, words)),
        }
    }

    fn single_quoted(&mut self) -> Result<String, ExpandError> {
        self.next();
        let mut s = String::new();
        loop {
            match self.next() {
                Some('\'') => return Ok(s),
                Some(c) => s.push(c),
                None => {
                    return Err(ExpandError::UnterminatedQuote {
                        text: self.text.to_string(),
                        quote: "single",
                    })
                }
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, ExpandError> {
        self.next();
        let mut s = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(ExpandError::UnterminatedQuote {
                        text: self.text.to_string(),
                        quote: "double",
                    })
                }
                Some('"') => {
                    self.next();
                    return Ok(s);
                }
                Some('$') => s.push_str(&self.dollar()?),
                Some(c) => {
                    self.next();
                    // Inside double quotes the escape only escapes `"`, `$`
                    // and itself; before anything else it stays literal.
                    if c == self.escape {
                        if let Some(n) = self.peek() {
                            if n == '"' || n == '$' || n == self.escape {
                                self.next();
                                s.push(n);
                                continue;
                            }
                        }
                    }
                    s.push(c);
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        if self.peek().is_some_and(|c| c.is_ascii_digit()) {
            // Positional parameters: digits only, never set in a build.
            while let Some(c) = self.peek().filter(char::is_ascii_digit) {
                self.next();
                name.push(c);
            }
            return name;
        }
        while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
            self.next();
            name.push(c);
        }
        name
    }

    fn dollar(&mut self) -> Result<String, ExpandError> {
        self.next();
        match self.peek() {
            None => return Ok("$".into()),
            Some('{') => {}
            Some(_) => {
                let name = self.name();
                if name.is_empty() {
                    return Ok("$".into());
                }
                return Ok(self.vars.get(&name).unwrap_or_default());
            }
        }
        self.next();
        let name = self.name();
        if name.is_empty() {
            return Err(self.bad("missing or invalid variable name after ${"));
        }
        let value = self.vars.get(&name);
        let colon = self.peek() == Some(':');
        if colon {
            self.next();
        }
        let op = self.next().ok_or_else(|| self.bad("missing closing }"))?;
        if op == '}' && !colon {
            return Ok(value.unwrap_or_default());
        }
        if !matches!(op, '-' | '+' | '?') {
            return Err(self.bad(format!("unsupported modifier ({op}) in substitution")));
        }
        let (word, _) = self.process_until(Some('}'))?;
        // With the colon, an empty value counts as unset.
        let set = match &value {
            Some(v) => !colon || !v.is_empty(),
            None => false,
        };
        match op {
            '-' if set => Ok(value.unwrap_or_default()),
            '-' => Ok(word),
            '+' if set => Ok(word),
            '+' => Ok(String::new()),
            _ if set => Ok(value.unwrap_or_default()),
            _ => Err(ExpandError::Required {
                message: if word.is_empty() {
                    "is not allowed to be unset".into()
                } else {
                    word
                },
                name,
            }),
        }
    }
}
