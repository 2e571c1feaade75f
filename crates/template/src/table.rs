//! podman's preprocessing of a `--format` string (containers/common
//! report.NormalizeFormat): a leading `table ` marks a table, the two-char
//! escapes `\t` and `\n` typed on the command line become real tab and
//! newline, and in tables spaces between columns become tabs.
//!
//! Unlike podman, the rewriting applies only to text outside `{{ }}`, so
//! string literals such as `{{"\n"}}` or `{{printf "%s %s" .A .B}}` keep Go's
//! own meaning.

pub(crate) struct Normalized {
    pub text: String,
    pub table: bool,
}

pub(crate) fn normalize(format: &str) -> Normalized {
    let (table, body) = match format.strip_prefix("table ") {
        Some(rest) => (true, rest),
        None => (false, format),
    };
    let mut text = String::with_capacity(body.len());
    let mut rest = body;
    loop {
        let (outside, tail) = match rest.find("{{") {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let mut o = outside.replace("\\t", "\t").replace("\\n", "\n");
        if table {
            o = o.replace(' ', "\t");
        }
        text.push_str(&o);
        if tail.is_empty() {
            break;
        }
        // Copy the action verbatim up to its closing delimiter.
        match tail[2..].find("}}") {
            Some(j) => {
                text.push_str(&tail[..j + 4]);
                rest = &tail[j + 4..];
            }
            None => {
                text.push_str(tail);
                break;
            }
        }
    }
    Normalized { text, table }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_podman() {
        let n = normalize(r"table {{.ID}}\t{{.ID}}");
        assert!(n.table);
        assert_eq!(n.text, "{{.ID}}\t{{.ID}}");
        assert_eq!(normalize("table {{.ID}} {{.ID}}").text, "{{.ID}}\t{{.ID}}");
        assert_eq!(normalize(r"{{.ID}}\t{{.ID}}").text, "{{.ID}}\t{{.ID}}");
        let plain = normalize("{{.ID}} {{.ID}}\\n");
        assert!(!plain.table);
        assert_eq!(plain.text, "{{.ID}} {{.ID}}\n");
        // "table" without a following space is ordinary text, as in podman.
        assert!(!normalize("table").table);
        // Actions are left alone.
        assert_eq!(
            normalize(r#"table {{printf "%s %s" .A .B}} x"#).text,
            "{{printf \"%s %s\" .A .B}}\tx"
        );
        assert_eq!(normalize(r#"{{"\n"}}"#).text, r#"{{"\n"}}"#);
    }
}
