//! `hoist build` of a real program: a small C project compiled with gcc
//! in a stage FROM a Debian bookworm base, linked statically and copied
//! into `scratch`; then rebuilt with nothing changed (all from the cache)
//! and with one source file changed (from its COPY on). Needs root and the
//! base's tarball that scripts/make-gcc-base.sh makes (install-deps.sh
//! runs it).

mod common;

use std::path::Path;

use hoist_testenv::Hoist;

const GCC_BASE: &str = "/var/cache/hoist/gcc-bookworm.tar";
const BASE: &str = "localhost/test/gcc:bookworm";

const CONTAINERFILE: &str = "FROM localhost/test/gcc:bookworm AS compile\n\
WORKDIR /src\n\
COPY lib/ lib/\n\
RUN for f in lib/*.c; do gcc -O2 -c \"$f\" -o \"${f%.c}.o\"; done\n\
COPY main.c ./\n\
RUN gcc -O2 -static -o /greet main.c lib/*.o\n\
FROM scratch\n\
COPY --from=compile /greet /greet\n\
ENTRYPOINT [\"/greet\"]\n\
CMD [\"world\"]\n";

fn main_c(greeting: &str) -> String {
    format!(
        "#include <stdio.h>\n\
         int shout(const char *s, char *out);\n\
         int main(int argc, char **argv) {{\n\
             char buf[64];\n\
             shout(argc > 1 ? argv[1] : \"nobody\", buf);\n\
             printf(\"{greeting}, %s\\n\", buf);\n\
             return 0;\n\
         }}\n"
    )
}

const SHOUT_C: &str = "#include <ctype.h>\n\
int shout(const char *s, char *out) {\n\
    int n = 0;\n\
    for (; s[n] && n < 63; n++) out[n] = (char)toupper((unsigned char)s[n]);\n\
    out[n] = 0;\n\
    return n;\n\
}\n";

fn write(dir: &Path, path: &str, content: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn build(h: &Hoist, dir: &Path) -> String {
    h.run(&[
        "build",
        "--network",
        "none",
        "-t",
        "test/greet",
        dir.to_str().unwrap(),
    ])
    .ok()
    .stdout
}

fn greet(h: &Hoist, args: &[&str]) -> String {
    let mut all = vec!["run", "--rm", "--network", "none", "test/greet"];
    all.extend_from_slice(args);
    h.run(&all).ok().stdout
}

#[test]
fn a_c_program_compiled_in_a_debian_stage_runs_from_scratch() {
    hoist_testenv::require_file(GCC_BASE, "scripts/make-gcc-base.sh");
    let h = common::local_hoist();
    h.run(&["import", GCC_BASE, BASE]).ok();
    let ctx = tempfile::tempdir().unwrap();
    write(ctx.path(), "Containerfile", CONTAINERFILE);
    write(ctx.path(), "lib/shout.c", SHOUT_C);
    write(ctx.path(), "main.c", &main_c("hello"));

    let first = build(&h, ctx.path());
    assert_eq!(first.matches("Using cache").count(), 0, "{first}");
    assert_eq!(greet(&h, &[]), "hello, WORLD\n");
    assert_eq!(greet(&h, &["hoist"]), "hello, HOIST\n");
    // Only the program: one layer, one file, gcc's stage left behind.
    let inspect = common::inspect(&h, "test/greet");
    assert_eq!(inspect["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(inspect["Config"]["Entrypoint"][0], "/greet");
    assert!(
        inspect["Size"].as_u64().unwrap() < 2_000_000,
        "a static hello is small: {inspect}"
    );

    // Nothing changed: every step from the cache, the same image.
    let again = build(&h, ctx.path());
    assert_eq!(again.lines().last(), first.lines().last(), "{again}");
    assert_eq!(again.matches("Using cache").count(), 7, "{again}");

    // main.c changed: the steps before its COPY come from the cache, the
    // link and the final COPY run again.
    write(ctx.path(), "main.c", &main_c("goodbye"));
    let edited = build(&h, ctx.path());
    assert_eq!(edited.matches("Using cache").count(), 3, "{edited}");
    assert_eq!(greet(&h, &[]), "goodbye, WORLD\n");
    h.run(&["rmi", "-f", "test/greet", BASE]).ok();
}
