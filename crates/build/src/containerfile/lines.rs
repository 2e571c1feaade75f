//! From text to logical lines: parser directives at the top, comments,
//! continuations (with the escape character), and heredoc bodies.

use super::ast::{Directives, Heredoc};
use super::error::ParseError;
use super::words::split_words;

/// One instruction's text before it is typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogicalLine {
    /// 1-based first line.
    pub line: usize,
    /// 1-based last line (heredoc terminators included).
    pub end_line: usize,
    /// Continuations joined, escapes removed (Docker's `Original`).
    pub text: String,
    /// Heredocs the line opened, bodies read.
    pub heredocs: Vec<Heredoc>,
}

/// Splits `text` into directives and logical lines.
pub(crate) fn logical_lines(text: &str) -> Result<(Directives, Vec<LogicalLine>), ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let (directives, mut i) = directives(&lines)?;
    let escape = directives.escape;
    let mut out = Vec::new();
    while i < lines.len() {
        let start = i;
        let first = lines[i].trim_start();
        i += 1;
        if first.starts_with('#') || first.trim().is_empty() {
            continue;
        }
        let (mut joined, mut more) = trim_continuation(first, escape);
        while more && i < lines.len() {
            let next = lines[i];
            i += 1;
            // Comment and blank lines inside a continuation are skipped.
            if next.trim_start().starts_with('#') || next.trim().is_empty() {
                continue;
            }
            let (part, cont) = trim_continuation(next, escape);
            joined.push_str(&part);
            more = cont;
        }
        let joined = joined.trim().to_string();
        let heredocs = if supports_heredocs(&joined) {
            read_heredocs(&joined, escape, &lines, &mut i, start + 1)?
        } else {
            Vec::new()
        };
        out.push(LogicalLine {
            line: start + 1,
            end_line: i,
            text: joined,
            heredocs,
        });
    }
    Ok((directives, out))
}

/// Reads the directives at the top; returns them and the first line after.
fn directives(lines: &[&str]) -> Result<(Directives, usize), ParseError> {
    let mut d = Directives::default();
    let mut seen: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((name, value)) = parse_directive(lines[i]) else {
            break;
        };
        let line = i + 1;
        match name.as_str() {
            "syntax" | "escape" | "check" => {}
            // An unknown directive is a comment, and a comment ends the
            // directives.
            _ => break,
        }
        if seen.contains(&name) {
            return Err(ParseError::DuplicateDirective { line, name });
        }
        match name.as_str() {
            "escape" => {
                d.escape = match value.as_str() {
                    "\\" => '\\',
                    "`" => '`',
                    _ => return Err(ParseError::BadEscape { line, value }),
                }
            }
            "syntax" => d.syntax = Some(value),
            _ => d.check = Some(value),
        }
        seen.push(name);
        i += 1;
    }
    Ok((d, i))
}

/// `# name=value` (whitespace allowed around the parts), name lowercased.
fn parse_directive(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let name_len = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let name = &rest[..name_len];
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let value = rest[name_len..].trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((name.to_ascii_lowercase(), value.to_string()))
}

/// Removes a trailing escape (plus spaces/tabs after it); true when it was
/// there (the line continues).
fn trim_continuation(line: &str, escape: char) -> (String, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(escape) {
        Some(rest) => (rest.to_string(), true),
        None => (line.to_string(), false),
    }
}

/// RUN, COPY and ADD may open heredocs.
fn supports_heredocs(text: &str) -> bool {
    let kw = text.split_whitespace().next().unwrap_or("");
    ["run", "copy", "add"]
        .iter()
        .any(|k| kw.eq_ignore_ascii_case(k))
}

/// A word of the form `[fd]<<[-]NAME`, NAME possibly quoted.
pub(crate) fn parse_heredoc_word(word: &str, escape: char) -> Option<Heredoc> {
    let digits = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let rest = word[digits..].strip_prefix("<<")?;
    let (strip_tabs, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let expand = !rest.contains(['\'', '"']);
    let name = super::expand::expand(rest, escape, &()).ok()?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    Some(Heredoc {
        name,
        content: String::new(),
        expand,
        strip_tabs,
        fd: if digits > 0 {
            word[..digits].parse().ok()
        } else {
            None
        },
    })
}

/// Finds the heredocs opened on `text` and reads their bodies from
/// `lines[*i..]`, advancing `*i` past each terminator.
fn read_heredocs(
    text: &str,
    escape: char,
    lines: &[&str],
    i: &mut usize,
    line: usize,
) -> Result<Vec<Heredoc>, ParseError> {
    let mut docs: Vec<Heredoc> = split_words(text, escape)
        .iter()
        .filter_map(|w| parse_heredoc_word(w, escape))
        .collect();
    for doc in &mut docs {
        let mut terminated = false;
        while *i < lines.len() {
            let body_line = lines[*i];
            *i += 1;
            let candidate = if doc.strip_tabs {
                body_line.trim_start_matches('\t')
            } else {
                body_line
            };
            if candidate == doc.name {
                terminated = true;
                break;
            }
            doc.content.push_str(candidate);
            doc.content.push('\n');
        }
        if !terminated {
            return Err(ParseError::UnterminatedHeredoc {
                line,
                name: doc.name.clone(),
            });
        }
    }
    Ok(docs)
}
