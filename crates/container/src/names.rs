//! Container names: validation and podman-style random `adjective_noun` names.

use rand::seq::SliceRandom;

const ADJECTIVES: &[&str] = &[
    "brave", "calm", "clever", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid",
    "merry", "nifty", "proud", "quiet", "quirky", "sharp", "sleepy", "swift", "tender", "vivid",
    "wise", "zealous", "bold", "cool", "dreamy", "festive", "hungry", "lively", "modest", "silly",
];
const NOUNS: &[&str] = &[
    "albatross",
    "badger",
    "cheetah",
    "dolphin",
    "eagle",
    "falcon",
    "gecko",
    "heron",
    "ibis",
    "jaguar",
    "koala",
    "lemur",
    "marmot",
    "narwhal",
    "otter",
    "panda",
    "quokka",
    "raven",
    "salmon",
    "tapir",
    "urchin",
    "vulture",
    "walrus",
    "yak",
    "zebra",
    "beaver",
    "crane",
    "ferret",
    "hamster",
    "lynx",
];

/// A random name such as `swift_otter`.
pub(crate) fn random_name() -> String {
    let mut rng = rand::thread_rng();
    format!(
        "{}_{}",
        ADJECTIVES.choose(&mut rng).expect("non-empty"),
        NOUNS.choose(&mut rng).expect("non-empty")
    )
}

/// podman's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 253
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_valid_name("web-1.a_b"));
        for bad in ["", "-x", ".x", "a/b", "a b", "é"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
        assert!(is_valid_name(&random_name()));
    }
}
