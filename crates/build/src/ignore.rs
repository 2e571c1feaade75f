//! `.containerignore` / `.dockerignore`: which context files a build sees.
//!
//! The rules are Docker's (and buildah's): one pattern a line, `#` lines
//! and blank lines skipped, each pattern cleaned like Go's `filepath.Clean`
//! with a leading `/` dropped; patterns are Go `filepath.Match` globs plus
//! `**` (any number of directories); a pattern also excludes everything
//! below a directory it matches; `!pattern` re-includes, and the last
//! pattern that matches a path decides.

use std::path::{Path, PathBuf};

use regex::Regex;
use thiserror::Error;

/// The ignore files a context may have, the preferred one first.
pub const IGNORE_FILES: [&str; 2] = [".containerignore", ".dockerignore"];

/// Why the ignore rules could not be read.
#[derive(Debug, Error)]
pub enum IgnoreError {
    /// The file exists but could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The ignore file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A pattern that is not a valid glob.
    #[error("line {line}: invalid ignore pattern {pattern:?}: {message}")]
    BadPattern {
        /// 1-based line in the ignore file.
        line: usize,
        /// The pattern as written.
        pattern: String,
        /// What was wrong.
        message: String,
    },
}

/// One cleaned pattern.
#[derive(Debug, Clone)]
struct Pattern {
    /// Cleaned, without the `!`.
    text: String,
    /// `!pattern`: re-includes what it matches.
    exception: bool,
    regex: Regex,
}

/// The rules of one ignore file (empty: nothing is excluded).
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
    source: Option<PathBuf>,
}

impl IgnoreRules {
    /// Reads `.containerignore`, else `.dockerignore`, from `context_dir`;
    /// no such file means no rules.
    pub fn load(context_dir: &Path) -> Result<Self, IgnoreError> {
        for name in IGNORE_FILES {
            let path = context_dir.join(name);
            if path.exists() {
                return Self::from_file(&path);
            }
        }
        Ok(Self::default())
    }

    /// Reads the rules from a given file (`--ignorefile`).
    pub fn from_file(path: &Path) -> Result<Self, IgnoreError> {
        let text = std::fs::read(path).map_err(|source| IgnoreError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut rules = Self::parse(&String::from_utf8_lossy(&text))?;
        rules.source = Some(path.to_path_buf());
        Ok(rules)
    }

    /// Parses the text of an ignore file.
    pub fn parse(text: &str) -> Result<Self, IgnoreError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            // A comment only when `#` is the very first character.
            if raw.starts_with('#') {
                continue;
            }
            let mut p = raw.trim();
            if p.is_empty() {
                continue;
            }
            let exception = p.starts_with('!');
            if exception {
                p = p[1..].trim();
            }
            let bad = |message: String| IgnoreError::BadPattern {
                line: i + 1,
                pattern: raw.to_string(),
                message,
            };
            if p.is_empty() {
                return Err(bad("an exception (!) needs a pattern after it".into()));
            }
            let cleaned = clean(p);
            let text = match cleaned.strip_prefix('/') {
                Some(rest) if !rest.is_empty() => rest.to_string(),
                _ => cleaned,
            };
            let regex = Regex::new(&glob_regex(&text)).map_err(|e| bad(e.to_string()))?;
            patterns.push(Pattern {
                text,
                exception,
                regex,
            });
        }
        Ok(IgnoreRules {
            patterns,
            source: None,
        })
    }

    /// The file the rules came from, if any.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The cleaned patterns in order, `!` exceptions with their `!`.
    pub fn patterns(&self) -> Vec<String> {
        self.patterns
            .iter()
            .map(|p| {
                if p.exception {
                    format!("!{}", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }

    /// Whether `rel_path` (relative to the context, `/`-separated) is
    /// excluded: the last pattern matching it or one of its parent
    /// directories decides.
    pub fn is_excluded(&self, rel_path: &str) -> bool {
        let path = clean_rel(rel_path);
        let parents: Vec<&str> = parent_prefixes(&path);
        let mut excluded = false;
        for p in &self.patterns {
            // Only a pattern that could change the answer is evaluated.
            if p.exception != excluded {
                continue;
            }
            let hit = p.regex.is_match(&path) || parents.iter().any(|d| p.regex.is_match(d));
            if hit {
                excluded = !p.exception;
            }
        }
        excluded
    }

    /// Whether a walk can skip directory `rel_dir` and everything below
    /// it: it is excluded and no `!` exception is written as a path inside
    /// it. That is Docker's and buildah's rule: an exception that reaches
    /// into the directory only through a wildcard (`!*/keep`) does not
    /// bring back files of an excluded directory.
    pub fn can_skip_dir(&self, rel_dir: &str) -> bool {
        let dir = clean_rel(rel_dir);
        // The context root itself is never skipped.
        if dir == "." || dir.is_empty() || !self.is_excluded(&dir) {
            return false;
        }
        let below = format!("{dir}/");
        !self
            .patterns
            .iter()
            .filter(|p| p.exception)
            .any(|p| format!("{}/", p.text).starts_with(&below))
    }
}

/// `a/b/c` -> `["a", "a/b"]`.
fn parent_prefixes(path: &str) -> Vec<&str> {
    path.match_indices('/').map(|(i, _)| &path[..i]).collect()
}

/// A context-relative path as patterns see it: cleaned, no leading `/`.
fn clean_rel(path: &str) -> String {
    let c = clean(path);
    c.trim_start_matches('/').to_string()
}

/// Go's `filepath.Clean` for `/`-separated paths: one `/` between names,
/// no `.` names, `..` resolved lexically, no trailing `/`; empty is `.`.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// The anchored regular expression for a glob, as Docker's pattern matcher
/// builds it: `*` any run without `/`, `?` one non-`/` character, `[...]`
/// classes, `\x` a literal x, `**` any number of directories.
pub(crate) fn glob_regex(pattern: &str) -> String {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if in_class {
            // Go's classes have no nesting or set operations: make `[`,
            // `&`, `~` literal for the regex engine.
            match c {
                ']' => {
                    in_class = false;
                    re.push(']');
                }
                '[' | '&' | '~' | '.' | '$' | '|' | '(' | ')' | '{' | '}' | '+' | '*' | '?' => {
                    re.push('\\');
                    re.push(c);
                }
                '\\' => match chars.get(i) {
                    Some(&n) => {
                        i += 1;
                        re.push_str(&regex::escape(&n.to_string()));
                    }
                    None => re.push_str("\\\\"),
                },
                _ => re.push(c),
            }
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                re.push('[');
                if chars.get(i) == Some(&'^') {
                    i += 1;
                    re.push('^');
                }
            }
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                // `**/` is treated as `**`.
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    re.push_str(".*");
                } else {
                    re.push_str("(.*/)?");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(c);
            }
            '\\' => match chars.get(i) {
                Some(&n) => {
                    i += 1;
                    re.push_str(&regex::escape(&n.to_string()));
                }
                None => re.push_str("\\\\"),
            },
            _ => re.push(c),
        }
    }
    re.push('$');
    re
}

#[cfg(test)]
#[path = "ignore_tests.rs"]
mod tests;
