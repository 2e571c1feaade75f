//! `.containerignore` files come from build contexts: anyone's text.
//! Input: the rules, then a NUL, then paths one a line.
#![no_main]
use hoist_build::ignore::IgnoreRules;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (rules_text, paths) = text.split_once('\0').unwrap_or((text, "a\na/b\nsrc/x.go"));
    let Ok(rules) = IgnoreRules::parse(rules_text) else {
        return;
    };
    for path in paths.lines().take(16) {
        let excluded = rules.is_excluded(path);
        if rules.can_skip_dir(path) {
            // Skipping a directory must never lose a file that is not excluded.
            assert!(excluded);
            for child in ["x", "keep", "a/b", "x.keep", "README.md"] {
                let inside = format!("{path}/{child}");
                assert!(
                    rules.is_excluded(&inside),
                    "{inside} re-included under skipped {path}"
                );
            }
        }
    }
});
