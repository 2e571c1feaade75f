//! File contexts, the two ways udica asks for them:
//! - the types of every specification whose expression starts with the
//!   path (libsemanage's lists: the policy's, the local ones, the home
//!   directories'), in file order, repeats kept;
//! - the label of the path itself (libselinux's lookup): path aliases
//!   (`file_contexts.subs*`) applied, then the last matching
//!   specification wins, specifications without regular expression
//!   characters tried before those with; `<<none>>` means no label.

use regex::Regex;

/// One line of a file_contexts file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    pub expr: String,
    /// The type of the context; `None` for `<<none>>`.
    pub type_name: Option<String>,
}

/// Path aliases of one file: (alias, original).
pub(crate) type Aliases = Vec<(String, String)>;

/// What libselinux labels files from: the specifications, the local
/// aliases and the distribution's.
#[derive(Debug, Clone, Default)]
pub(crate) struct LabelFiles {
    pub specs: Vec<Spec>,
    pub aliases: [Aliases; 2],
}

/// Parses file_contexts text: `EXPR [FILETYPE] CONTEXT` lines.
pub(crate) fn parse_specs(text: &str) -> Vec<Spec> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let (expr, context) = match words.as_slice() {
                [expr, context] | [expr, _, context] => (*expr, *context),
                _ => return None,
            };
            Some(Spec {
                expr: expr.to_string(),
                type_name: context_type(context),
            })
        })
        .collect()
}

fn context_type(context: &str) -> Option<String> {
    (context != "<<none>>")
        .then(|| context.split(':').nth(2).map(str::to_string))
        .flatten()
}

/// The types of the specifications whose expression starts with `dir`.
pub(crate) fn types_under<'a>(specs: impl Iterator<Item = &'a Spec>, dir: &str) -> Vec<String> {
    specs
        .filter(|s| s.expr.starts_with(dir))
        .filter_map(|s| s.type_name.clone())
        .collect()
}

/// Path aliases: `ALIAS ORIGINAL` lines.
pub(crate) fn parse_subs(text: &str) -> Aliases {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let mut w = line.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect()
}

/// `path` with the first alias that covers it replaced; the aliases of
/// one file are tried last line first.
fn substitute(subs: &Aliases, path: &str) -> Option<String> {
    subs.iter().rev().find_map(|(alias, original)| {
        let rest = path.strip_prefix(alias.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then(|| format!("{original}{rest}"))
    })
}

/// Runs of `/` made one, no trailing `/`.
fn clean(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

/// Whether `expr` has regular expression characters (`\` escapes one).
fn has_meta(expr: &str) -> bool {
    let mut chars = expr.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' | '^' | '$' | '?' | '*' | '+' | '|' | '[' | '(' | '{' => return true,
            '\\' => {
                chars.next();
            }
            _ => {}
        }
    }
    false
}

/// The literal start of `expr`: every match begins with it.
fn literal_prefix(expr: &str) -> &str {
    let end = expr
        .find(['.', '^', '$', '?', '*', '+', '|', '[', '(', '{', '\\'])
        .unwrap_or(expr.len());
    // A quantifier applies to the character before it.
    let end = match expr[end..].chars().next() {
        Some('?' | '*' | '+' | '{') => expr[..end].char_indices().last().map_or(0, |(i, _)| i),
        _ => end,
    };
    &expr[..end]
}

/// The type the policy labels `path` with: `Ok(None)` for `<<none>>`,
/// `Err(())` when nothing matches.
pub(crate) fn lookup(files: &LabelFiles, path: &str) -> Result<Option<String>, ()> {
    let mut key = clean(path);
    // The local aliases first, then the distribution's over the result.
    let subs = &files.aliases;
    if let Some(s) = substitute(&subs[0], &key) {
        key = substitute(&subs[1], &s).unwrap_or(s);
    } else if let Some(s) = substitute(&subs[1], &key) {
        key = s;
    }
    let (exact, regexes): (Vec<&Spec>, Vec<&Spec>) =
        files.specs.iter().partition(|s| !has_meta(&s.expr));
    let ordered = regexes.into_iter().chain(exact);
    let found = ordered
        .rev()
        .filter(|s| key.starts_with(literal_prefix(&s.expr)))
        .find(|s| {
            Regex::new(&format!("^{}$", s.expr))
                .map(|re| re.is_match(&key))
                .unwrap_or(false)
        });
    match found {
        Some(s) => Ok(s.type_name.clone()),
        None => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FC: &str = "\
/.*\tsystem_u:object_r:default_t:s0
/srv(/.*)?\tsystem_u:object_r:var_t:s0
/tmp/.*\t<<none>>
/usr(/.*)?\tsystem_u:object_r:usr_t:s0
/usr/share/doc(/.*)?/README.*\tsystem_u:object_r:usr_t:s0
/usr/share/doc/ghc/html(/.*)?\tsystem_u:object_r:httpd_sys_content_t:s0
/usr/share/doc/x\t--\tsystem_u:object_r:exact_t:s0
/usr/bin/.*\tsystem_u:object_r:bin_t:s0
";

    #[test]
    fn the_last_match_wins_with_exact_paths_last() {
        let mut files = LabelFiles {
            specs: parse_specs(FC),
            ..Default::default()
        };
        let label = |f: &LabelFiles, p: &str| lookup(f, p).unwrap();
        assert_eq!(label(&files, "/srv/a//b/").as_deref(), Some("var_t"));
        assert_eq!(
            label(&files, "/usr/share/doc/x").as_deref(),
            Some("exact_t")
        );
        assert_eq!(label(&files, "/opt").as_deref(), Some("default_t"));
        assert_eq!(label(&files, "/tmp/x"), None);
        files.aliases[1] = parse_subs("# c\n/bin /usr/bin\n");
        assert_eq!(label(&files, "/bin/sh").as_deref(), Some("bin_t"));
    }

    #[test]
    fn lists_the_types_of_expressions_under_a_directory() {
        let specs = parse_specs(FC);
        assert_eq!(
            types_under(specs.iter(), "/usr/share/doc"),
            ["usr_t", "httpd_sys_content_t", "exact_t"]
        );
        assert!(types_under(specs.iter(), "/tmp").is_empty());
    }

    #[test]
    fn literal_prefixes_stop_before_quantified_characters() {
        assert_eq!(literal_prefix("/usr(/.*)?"), "/usr");
        assert_eq!(literal_prefix("/dev/tty[0-9]*"), "/dev/tty");
        assert_eq!(literal_prefix("/dev/ttys?"), "/dev/tty");
        assert_eq!(literal_prefix("/a/b"), "/a/b");
    }
}
