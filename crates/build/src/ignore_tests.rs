//! Unit tests of `.containerignore` rules.

use super::*;

fn rules(text: &str) -> IgnoreRules {
    IgnoreRules::parse(text).unwrap()
}

#[test]
fn no_rules_exclude_nothing() {
    let r = rules("");
    assert!(r.is_empty());
    assert!(!r.is_excluded("a"));
    assert!(!r.can_skip_dir("a"));
}

#[test]
fn comments_blank_lines_and_whitespace() {
    let r = rules("# comment\n\n   \n  *.tmp  \n");
    assert_eq!(r.patterns(), ["*.tmp"]);
    assert!(r.is_excluded("x.tmp"));
    // `#` only starts a comment at the very beginning of the line.
    let r = rules(" #notcomment\n");
    assert_eq!(r.patterns(), ["#notcomment"]);
}

#[test]
fn star_does_not_cross_directories() {
    let r = rules("*/temp*\n");
    assert!(r.is_excluded("somedir/temporary.txt"));
    assert!(r.is_excluded("somedir/temp"));
    assert!(!r.is_excluded("temp"));
    assert!(!r.is_excluded("a/b/temp"));
    let r = rules("*/*/temp*\n");
    assert!(r.is_excluded("a/b/temp.x"));
    assert!(!r.is_excluded("a/temp.x"));
}

#[test]
fn question_mark_is_one_char() {
    let r = rules("temp?\n");
    assert!(r.is_excluded("tempa"));
    assert!(!r.is_excluded("temp"));
    assert!(!r.is_excluded("tempab"));
    assert!(!r.is_excluded("temp/"));
}

#[test]
fn double_star_any_depth() {
    let r = rules("**/*.go\n");
    assert!(r.is_excluded("main.go"));
    assert!(r.is_excluded("a/b/c/x.go"));
    assert!(!r.is_excluded("a/x.goo"));
    let r = rules("a/**/z\n");
    assert!(r.is_excluded("a/z"));
    assert!(r.is_excluded("a/b/c/z"));
    assert!(!r.is_excluded("b/z"));
    let r = rules("docs/**\n");
    assert!(r.is_excluded("docs/x/y"));
    let r = rules("**\n");
    assert!(r.is_excluded("anything/at/all"));
}

#[test]
fn directory_pattern_excludes_contents() {
    let r = rules("build\n");
    assert!(r.is_excluded("build"));
    assert!(r.is_excluded("build/out/bin"));
    assert!(!r.is_excluded("src/build"));
    assert!(!r.is_excluded("builder"));
}

#[test]
fn leading_slash_and_dot_are_cleaned() {
    let r = rules("/secret\n./tmp/\nlogs//old/../cur\n");
    assert_eq!(r.patterns(), ["secret", "tmp", "logs/cur"]);
    assert!(r.is_excluded("secret"));
    assert!(r.is_excluded("tmp/x"));
    assert!(r.is_excluded("logs/cur/a"));
    assert!(r.is_excluded("./secret"));
    assert!(r.is_excluded("/tmp/x"));
}

#[test]
fn exceptions_last_match_wins() {
    let r = rules("*.md\n!README.md\n");
    assert!(r.is_excluded("CHANGES.md"));
    assert!(!r.is_excluded("README.md"));
    let r = rules("*.md\n!README*.md\nREADME-secret.md\n");
    assert!(!r.is_excluded("README-public.md"));
    assert!(r.is_excluded("README-secret.md"));
    let r = rules("!README.md\n*.md\n");
    assert!(r.is_excluded("README.md"));
}

#[test]
fn exception_inside_excluded_directory() {
    let r = rules("vendor\n!vendor/keep\n");
    assert!(r.is_excluded("vendor/other"));
    assert!(!r.is_excluded("vendor/keep"));
    assert!(!r.is_excluded("vendor/keep/file"));
    assert!(r.is_excluded("vendor"));
    assert!(!r.can_skip_dir("vendor"));
    assert!(r.can_skip_dir("vendor/other"));
}

#[test]
fn exclude_everything_but() {
    let r = rules("*\n!src\n!Makefile\n");
    assert!(r.is_excluded("README"));
    assert!(!r.is_excluded("src/main.c"));
    assert!(!r.is_excluded("Makefile"));
    assert!(r.can_skip_dir("docs"));
    assert!(!r.can_skip_dir("src"));
}

#[test]
fn wildcard_exceptions_do_not_reopen_an_excluded_directory() {
    // Docker's and buildah's walk: only an exception spelled as a path
    // inside the directory makes it walked.
    let r = rules("data\n!**/*.keep\n");
    assert!(r.can_skip_dir("data"));
    let r = rules("data\n!d*/sub/*.keep\n");
    assert!(r.can_skip_dir("data"));
    let r = rules("data\n!data/sub/x.keep\n");
    assert!(!r.can_skip_dir("data"));
    assert!(!r.can_skip_dir("data/sub"));
    assert!(r.can_skip_dir("data/other"));
    let r = rules("data\n!other/x\n");
    assert!(r.can_skip_dir("data"));
    let r = rules("data\n");
    assert!(r.can_skip_dir("data"));
    assert!(!r.can_skip_dir("src"));
}

#[test]
fn character_classes_and_escapes() {
    let r = rules("file[0-9].txt\nlit\\*star\n[!x]y\n");
    assert!(r.is_excluded("file3.txt"));
    assert!(!r.is_excluded("fileA.txt"));
    assert!(r.is_excluded("lit*star"));
    assert!(!r.is_excluded("litXstar"));
    assert!(r.is_excluded("!y"));
    let r = rules("a[^b]c\n");
    assert!(r.is_excluded("axc"));
    assert!(!r.is_excluded("abc"));
    // Regex metacharacters are literal.
    let r = rules("a.b+(c)\n");
    assert!(r.is_excluded("a.b+(c)"));
    assert!(!r.is_excluded("axbbc"));
}

#[test]
fn bad_patterns_are_errors() {
    assert!(matches!(
        IgnoreRules::parse("ok\n[unclosed\n"),
        Err(IgnoreError::BadPattern { line: 2, .. })
    ));
    assert!(matches!(
        IgnoreRules::parse("!\n"),
        Err(IgnoreError::BadPattern { line: 1, .. })
    ));
}

#[test]
fn load_prefers_containerignore() {
    let dir = tempfile::tempdir().unwrap();
    assert!(IgnoreRules::load(dir.path()).unwrap().is_empty());
    std::fs::write(dir.path().join(".dockerignore"), "from-docker\n").unwrap();
    let r = IgnoreRules::load(dir.path()).unwrap();
    assert!(r.is_excluded("from-docker"));
    assert_eq!(r.source(), Some(dir.path().join(".dockerignore").as_path()));
    std::fs::write(dir.path().join(".containerignore"), "from-container\n").unwrap();
    let r = IgnoreRules::load(dir.path()).unwrap();
    assert!(r.is_excluded("from-container"));
    assert!(!r.is_excluded("from-docker"));
}

#[test]
fn clean_matches_go() {
    assert_eq!(clean(""), ".");
    assert_eq!(clean("./"), ".");
    assert_eq!(clean("a/./b/"), "a/b");
    assert_eq!(clean("a/../../b"), "../b");
    assert_eq!(clean("/../a"), "/a");
    assert_eq!(clean("//a//b"), "/a/b");
}

/// What `podman build` (buildah 1.28) copied for `COPY . /` with these
/// rules, observed on this machine.
#[test]
fn matches_buildah_on_a_sample_context() {
    let r = rules("**/*.go\n*.md\n!README.md\nvendor\n!vendor/keep\ndocs/**\nfile[0-9]\n");
    for kept in [
        "README.md",
        "a",
        "a/b",
        "docs",
        "fileA",
        "src/s",
        "vendor/keep",
        "vendor/keep/k",
        "Containerfile",
    ] {
        assert!(!r.is_excluded(kept), "{kept} should be copied");
    }
    for gone in [
        "a/b/x.go",
        "a/y.go",
        "main.go",
        "CHANGES.md",
        "vendor/other",
        "vendor/other/o",
        "docs/d",
        "file3",
    ] {
        assert!(r.is_excluded(gone), "{gone} should be left out");
    }
    // `vendor` itself is excluded, but must be walked (buildah creates it
    // as the parent of vendor/keep); vendor/other can be skipped.
    assert!(r.is_excluded("vendor"));
    assert!(!r.can_skip_dir("vendor"));
    assert!(r.can_skip_dir("vendor/other"));
}
