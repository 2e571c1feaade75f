//! "Did you mean this?" for a mistyped command, picked as podman's command
//! line (cobra) picks them: every visible subcommand within two edits of
//! what was typed, or that starts with it, ignoring case.

use clap::Command;

/// The most edits a suggested name may be from the typed one.
const MAX_DISTANCE: usize = 2;

/// The visible subcommands of `cmd` to suggest for `typed`, in the order
/// `cmd` declares them.
pub fn similar_commands(cmd: &Command, typed: &str) -> Vec<String> {
    let typed = typed.to_lowercase();
    cmd.get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(|sub| sub.get_name().to_string())
        .filter(|name| {
            let name = name.to_lowercase();
            name.starts_with(&typed) || edit_distance(&name, &typed) <= MAX_DISTANCE
        })
        .collect()
}

/// Levenshtein distance: the fewest insertions, deletions and substitutions
/// of characters that turn `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // The distances from a's prefix so far to every prefix of b.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substituted = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_count_single_character_edits() {
        assert_eq!(edit_distance("bad", "bad"), 0);
        assert_eq!(edit_distance("bad", "load"), 2);
        assert_eq!(edit_distance("bad", "tag"), 2);
        assert_eq!(edit_distance("", "ps"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn near_names_and_prefixes_are_suggested_in_declared_order() {
        let cmd = Command::new("hoist")
            .subcommand(Command::new("load"))
            .subcommand(Command::new("images"))
            .subcommand(Command::new("tag"))
            .subcommand(Command::new("pod"))
            .subcommand(Command::new("secret-thing").hide(true));
        assert_eq!(similar_commands(&cmd, "bad"), ["load", "tag", "pod"]);
        assert_eq!(similar_commands(&cmd, "IM"), ["images"]);
        assert!(similar_commands(&cmd, "secret").is_empty());
        assert!(similar_commands(&cmd, "checkpointing").is_empty());
    }
}
