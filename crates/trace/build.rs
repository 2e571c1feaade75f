//! Compiles src/bpf/syscalls.bpf.c to eBPF with clang and generates its
//! libbpf-rs skeleton (libbpf-cargo). The program is CO-RE: built once
//! here against the checked-in minimal src/bpf/vmlinux.h, relocated by
//! libbpf against the running kernel's BTF when hoist loads it. Nothing is
//! compiled at run time.

#[cfg(not(feature = "bpf"))]
fn main() {}

#[cfg(feature = "bpf")]
fn main() {
    const SRC: &str = "src/bpf/syscalls.bpf.c";
    use std::ffi::OsStr;
    use std::path::PathBuf;
    use std::process::Command;

    use libbpf_cargo::SkeletonBuilder;

    println!("cargo:rerun-if-changed={SRC}");
    println!("cargo:rerun-if-changed=src/bpf/vmlinux.h");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    println!("cargo:rerun-if-env-changed=CLANG");
    // libbpf-cargo's own failure is a bare "No such file"; say what to do.
    if Command::new(&clang).arg("--version").output().is_err() {
        panic!(
            "hoist-trace: `{clang}` not found: building hoist's eBPF system call recorder needs \
             clang (Debian: apt-get install clang libbpf-dev bpftool libelf-dev zlib1g-dev, \
             or run scripts/install-deps.sh); set CLANG=/path/to/clang to use another one"
        );
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("syscalls.skel.rs");
    SkeletonBuilder::new()
        .source(SRC)
        .clang(&clang)
        .clang_args([OsStr::new("-Wall"), OsStr::new("-Isrc/bpf")])
        .build_and_generate(&out)
        .unwrap_or_else(|e| panic!("hoist-trace: compiling {SRC} with {clang}: {e:#}"));
}
