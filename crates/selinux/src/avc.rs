//! `--append-rules FILE`: allow rules taken from audit log AVC lines, read
//! as udica reads them (its output must come out the same): per line the
//! source and target types and the class, and only the first permission
//! between the braces; rules for the same source, target and class merge
//! (permissions in first-seen order, once each) and move to the end.

use crate::error::{Result, SelinuxError};

/// One rule: the fields in the order the line gave them (normally the
/// source type, the target type, the class), then the permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcRule {
    pub fields: Vec<String>,
}

impl AvcRule {
    /// The process type the denial was for.
    pub fn source(&self) -> &str {
        &self.fields[0]
    }
    pub fn target(&self) -> &str {
        &self.fields[1]
    }
    pub fn class(&self) -> &str {
        &self.fields[2]
    }
    pub fn perms(&self) -> &str {
        &self.fields[3]
    }
}

/// The rules of an audit log's AVC lines; other lines are ignored.
pub fn parse_avc(text: &str) -> Result<Vec<AvcRule>> {
    let mut rules: Vec<AvcRule> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let bad = |reason: &str| SelinuxError::Avc {
            line: n + 1,
            reason: reason.to_string(),
        };
        let items: Vec<&str> = line.trim_end_matches('\r').split(' ').collect();
        if !items[0].contains("type=AVC") {
            continue;
        }
        let mut fields = Vec::new();
        for item in &items {
            if item.contains("scontext") {
                fields.push(context_type(item).ok_or_else(|| bad("scontext has no type"))?);
            }
            if item.contains("tcontext") {
                fields.push(context_type(item).ok_or_else(|| bad("tcontext has no type"))?);
            }
            if item.contains("tclass") {
                let class = item
                    .split('=')
                    .nth(1)
                    .ok_or_else(|| bad("tclass is empty"))?;
                fields.push(class.to_string());
            }
        }
        let open = items
            .iter()
            .position(|i| *i == "{")
            .ok_or_else(|| bad("no { PERMISSIONS } list"))?;
        let perm = items.get(open + 1).ok_or_else(|| bad("nothing after {"))?;
        fields.push(perm.to_string());
        if fields.len() < 4 {
            return Err(bad("it needs scontext=, tcontext= and tclass="));
        }
        if let Some(i) = rules.iter().position(|r| r.fields[..3] == fields[..3]) {
            let old = rules.remove(i);
            fields[3] = format!("{} {}", old.fields[3], fields[3]);
        }
        fields[3] = dedup_words(&fields[3]);
        rules.push(AvcRule { fields });
    }
    Ok(rules)
}

/// `scontext=u:r:TYPE:s0` -> `TYPE`.
fn context_type(item: &str) -> Option<String> {
    let context = item.split('=').nth(1)?;
    context.split(':').nth(2).map(str::to_string)
}

fn dedup_words(s: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for w in s.split_whitespace() {
        if !seen.contains(&w) {
            seen.push(w);
        }
    }
    seen.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avc(perm: &str, tclass: &str) -> String {
        format!(
            "type=AVC msg=audit(1.2:3): avc:  denied  {{ {perm} }} for  pid=1 comm=\"x\" \
             scontext=system_u:system_r:web.process:s0:c1,c2 \
             tcontext=system_u:object_r:var_log_t:s0 tclass={tclass} permissive=0"
        )
    }

    #[test]
    fn merges_rules_of_the_same_types_and_class() {
        let text = [
            avc("read", "file"),
            "type=SYSCALL msg=audit(1.2:3): arch=c000003e".into(),
            avc("open", "dir"),
            avc("write", "file"),
            avc("read", "file"),
        ]
        .join("\n");
        let rules = parse_avc(&text).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].class(), "dir");
        assert_eq!(rules[1].source(), "web.process");
        assert_eq!(rules[1].target(), "var_log_t");
        assert_eq!(rules[1].class(), "file");
        assert_eq!(rules[1].perms(), "read write");
    }

    #[test]
    fn a_line_without_braces_is_an_error() {
        let err =
            parse_avc("type=AVC msg=x scontext=a:b:c tcontext=a:b:d tclass=file").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
