//! Compiled seccomp programs: an OCI `linux.seccomp` filter compiled once
//! with libseccomp into classic BPF, kept on disk, and installed in the
//! container with one `seccomp(2)` call.
//!
//! Compiling podman's default profile for x86_64 + x86 takes libseccomp
//! 10-15 ms, which libcontainer pays inside every container's init. The
//! program depends only on the filter, the libseccomp build and the
//! kernel's seccomp API level, so [`Program::cached`] keys a cache on those
//! and later starts read a few kilobytes instead.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext};
use libseccomp::{ScmpSyscall, ScmpVersion};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag};
use sha2::{Digest, Sha256};

/// `seccomp(2)` filter flags (linux/seccomp.h).
const FLAG_TSYNC: u32 = 1;
const FLAG_LOG: u32 = 2;
const FLAG_SPEC_ALLOW: u32 = 4;
/// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19).
const FLAG_WAIT_KILLABLE_RECV: u32 = 32;
/// The kernel's limit on one filter's length (BPF_MAXINSNS).
const MAX_INSTRUCTIONS: usize = 4096;
/// First bytes of a program file; bump the digit when the layout changes.
const MAGIC: &[u8; 8] = b"HSBPF01\n";

#[derive(Debug, thiserror::Error)]
pub enum BpfError {
    #[error("the seccomp filter cannot be precompiled: {0}")]
    Unsupported(&'static str),
    #[error("compiling the seccomp filter with libseccomp: {what}: {detail}")]
    Compile { what: String, detail: String },
    #[error("seccomp program cache {}: {source}", path.display())]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn compile_err(
    what: impl Into<String>,
) -> impl FnOnce(libseccomp::error::SeccompError) -> BpfError {
    let what = what.into();
    move |e| BpfError::Compile {
        what,
        detail: e.to_string(),
    }
}

/// A classic BPF seccomp program and the flags to install it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    flags: u32,
    code: Vec<Instruction>,
}

/// One `struct sock_filter`, kept as plain fields so programs compare and
/// serialize without touching libc's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Instruction {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

impl Program {
    /// Whether [`Program::compile`] handles `seccomp`. Filters that hand a
    /// listener fd to a supervisor (`SCMP_ACT_NOTIFY`, `listenerPath`) need
    /// libcontainer's own loader, which passes the fd on.
    pub fn supports(seccomp: &LinuxSeccomp) -> Result<(), BpfError> {
        let notify = LinuxSeccompAction::ScmpActNotify;
        if seccomp.default_action() == notify
            || seccomp
                .syscalls()
                .iter()
                .flatten()
                .any(|s| s.action() == notify)
        {
            return Err(BpfError::Unsupported("SCMP_ACT_NOTIFY needs a listener"));
        }
        if seccomp.listener_path().is_some() {
            return Err(BpfError::Unsupported("listenerPath needs a listener"));
        }
        Ok(())
    }

    /// Compiles `seccomp` with libseccomp (which the kernel will interpret
    /// exactly as if libseccomp had loaded it itself).
    pub fn compile(seccomp: &LinuxSeccomp) -> Result<Program, BpfError> {
        Program::compile_laid_out(seccomp, TREE_LAYOUT)
    }

    /// [`Program::compile`] with libseccomp's `SCMP_FLTATR_CTL_OPTIMIZE`
    /// level `layout` (see [`TREE_LAYOUT`]).
    fn compile_laid_out(seccomp: &LinuxSeccomp, layout: u32) -> Result<Program, BpfError> {
        Program::supports(seccomp)?;
        let default = action(seccomp.default_action(), seccomp.default_errno_ret())?;
        let mut ctx = ScmpFilterContext::new(default).map_err(compile_err("default action"))?;
        if let Err(e) = ctx.set_ctl_optimize(layout) {
            tracing::debug!("libseccomp keeps its default filter layout: {e}");
        }
        for arch in seccomp.architectures().iter().flatten() {
            let name = enum_name(arch);
            let arch: ScmpArch = name.parse().map_err(compile_err(name))?;
            ctx.add_arch(arch).map_err(compile_err("architecture"))?;
        }
        for rule in seccomp.syscalls().iter().flatten() {
            let act = action(rule.action(), rule.errno_ret())?;
            // libseccomp refuses rules that repeat the default action; they
            // change nothing.
            if act == default {
                continue;
            }
            let conditions = conditions(rule.args().as_deref().unwrap_or_default())?;
            for name in rule.names() {
                // A name this libseccomp does not know is a syscall no
                // kernel it supports has; runc and podman skip it too.
                let Ok(nr) = ScmpSyscall::from_name(name) else {
                    continue;
                };
                add_rule(&mut ctx, act, nr, &conditions)
                    .map_err(compile_err(format!("rule for {name}")))?;
            }
        }
        let mut out = memfd()?;
        ctx.export_bpf(&out).map_err(compile_err("exporting"))?;
        let mut raw = Vec::new();
        out.rewind()
            .and_then(|_| out.read_to_end(&mut raw))
            .map_err(|source| BpfError::Cache {
                path: "memfd".into(),
                source,
            })?;
        let code = decode_instructions(&raw).ok_or_else(|| BpfError::Compile {
            what: "exporting".into(),
            detail: format!("libseccomp wrote {} bytes, not a program", raw.len()),
        })?;
        Ok(Program {
            flags: flags(seccomp),
            code,
        })
    }

    /// The program for `seccomp` from the cache directory `dir`, compiled
    /// and stored there first if it is not (or holds a damaged file), with
    /// the path of its cache file.
    pub fn cached(seccomp: &LinuxSeccomp, dir: &Path) -> Result<(Program, PathBuf), BpfError> {
        let path = dir.join(format!("{}.bpf", cache_key(seccomp)));
        if let Ok(p) = Program::load(&path) {
            return Ok((p, path));
        }
        let program = Program::compile(seccomp)?;
        program.save(&path)?;
        Ok((program, path))
    }

    /// Writes the program to `path` atomically and durably, so a crash never
    /// leaves half a program under its name.
    pub fn save(&self, path: &Path) -> Result<(), BpfError> {
        let cache_err = |source| BpfError::Cache {
            path: path.to_path_buf(),
            source,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(cache_err)?;
        hoist_fsutil::write_file(path, &self.to_bytes(), 0o644).map_err(|e| cache_err(e.into()))
    }

    /// Reads a program [`Program::save`] wrote.
    pub fn load(path: &Path) -> Result<Program, BpfError> {
        let bytes = std::fs::read(path).map_err(|source| BpfError::Cache {
            path: path.to_path_buf(),
            source,
        })?;
        Program::from_bytes(&bytes).ok_or_else(|| BpfError::Cache {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not a seccomp program"),
        })
    }

    pub fn len(&self) -> usize {
        self.code.len()
    }

    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }

    /// The file layout: [`MAGIC`], the flags (u32, little-endian), then the
    /// instructions as `struct sock_filter` in native byte order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + 8 * self.code.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.flags.to_le_bytes());
        for i in &self.code {
            out.extend_from_slice(&i.code.to_ne_bytes());
            out.extend_from_slice(&[i.jt, i.jf]);
            out.extend_from_slice(&i.k.to_ne_bytes());
        }
        out
    }

    /// Parses [`Program::to_bytes`]'s layout; `None` for anything else
    /// (a truncated or foreign file, no instructions, too many).
    pub fn from_bytes(bytes: &[u8]) -> Option<Program> {
        let rest = bytes.strip_prefix(MAGIC.as_slice())?;
        let (flags, code) = rest.split_first_chunk::<4>()?;
        let flags = u32::from_le_bytes(*flags);
        if flags & !(FLAG_TSYNC | FLAG_LOG | FLAG_SPEC_ALLOW) != 0 {
            return None;
        }
        Some(Program {
            flags,
            code: decode_instructions(code)?,
        })
    }

    /// Installs the program on the calling thread (with `TSYNC` in its
    /// flags, on all threads). Needs `CAP_SYS_ADMIN` or `no_new_privs`.
    #[allow(unsafe_code)]
    pub fn install(&self) -> std::io::Result<()> {
        let mut filter: Vec<libc::sock_filter> = self
            .code
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        let prog = libc::sock_fprog {
            // decode_instructions keeps programs at most 4096 long.
            len: filter.len() as u16,
            filter: filter.as_mut_ptr(),
        };
        // SAFETY: `prog` points at `filter`, `len` complete sock_filter
        // structs that live until the call returns; the kernel copies the
        // program and keeps no pointer to it.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

fn decode_instructions(bytes: &[u8]) -> Option<Vec<Instruction>> {
    let whole = bytes.chunks_exact(8).remainder().is_empty();
    if bytes.is_empty() || !whole || bytes.len() / 8 > MAX_INSTRUCTIONS {
        return None;
    }
    let code = bytes
        .chunks_exact(8)
        .map(|c| Instruction {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    Some(code)
}

/// libseccomp's binary tree of system call numbers
/// (`SCMP_FLTATR_CTL_OPTIMIZE` 2, libseccomp 2.5 and later), instead of its
/// default chain of comparisons, one per rule (level 1). The tree is longer
/// (the default profile: about 1,000 instructions against 806), but any
/// system call's verdict takes a few dozen of them instead of up to all of
/// them. That is what the kernel pays for when it installs a filter: it
/// runs the program once for every system call number, to find those it
/// may allow without running it. Installing the default profile took
/// 1.2 ms as a chain and 0.4 ms as a tree here, and a system call whose
/// arguments it checks 280 ns against 155. An older libseccomp keeps its
/// chain, with the same verdicts.
const TREE_LAYOUT: u32 = 2;

/// The cache file's name: what the compiled program depends on.
fn cache_key(seccomp: &LinuxSeccomp) -> String {
    let mut h = Sha256::new();
    h.update(MAGIC);
    h.update(TREE_LAYOUT.to_le_bytes());
    h.update(serde_json::to_vec(seccomp).expect("a LinuxSeccomp always serializes"));
    if let Ok(v) = ScmpVersion::current() {
        h.update(v.to_string());
    }
    h.update(libseccomp::get_api().to_le_bytes());
    hex::encode(h.finalize())
}

/// The OCI name of a spec enum value (`SCMP_ARCH_X86_64`,
/// `SCMP_ACT_ERRNO`, ...), which is also libseccomp's.
fn enum_name(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => panic!("a spec enum serializes as a string, not {other:?}"),
    }
}

/// An OCI action as libseccomp's; `errnoRet` defaults to `EPERM` for
/// `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` as in runc.
fn action(action: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction, BpfError> {
    let name = enum_name(&action);
    let value = errno.map_or(libc::EPERM, |e| e as i32);
    ScmpAction::from_str(&name, Some(value)).map_err(compile_err(name))
}

/// Each argument comparison with the index of the argument it compares.
fn conditions(
    args: &[oci_spec::runtime::LinuxSeccompArg],
) -> Result<Vec<(u32, ScmpArgCompare)>, BpfError> {
    args.iter()
        .map(|a| {
            let name = enum_name(&a.op());
            let op: ScmpCompareOp = name.parse().map_err(compile_err(name))?;
            // OCI's `value` is libseccomp's first datum: the mask of
            // SCMP_CMP_MASKED_EQ, whose second datum is `valueTwo` (as runc
            // passes them).
            let index = a.index() as u32;
            Ok(match op {
                ScmpCompareOp::MaskedEqual(_) => (
                    index,
                    ScmpArgCompare::new(
                        index,
                        ScmpCompareOp::MaskedEqual(a.value()),
                        a.value_two().unwrap_or(0),
                    ),
                ),
                op => (index, ScmpArgCompare::new(index, op, a.value())),
            })
        })
        .collect()
}

/// Adds one rule. libseccomp compares each argument at most once per rule;
/// conditions that compare the same argument twice become one rule each.
fn add_rule(
    ctx: &mut ScmpFilterContext,
    act: ScmpAction,
    nr: ScmpSyscall,
    conditions: &[(u32, ScmpArgCompare)],
) -> Result<(), libseccomp::error::SeccompError> {
    let mut indices: Vec<u32> = conditions.iter().map(|(i, _)| *i).collect();
    indices.sort_unstable();
    let repeats = indices.windows(2).any(|w| w[0] == w[1]);
    let compares: Vec<ScmpArgCompare> = conditions.iter().map(|(_, c)| *c).collect();
    if compares.is_empty() {
        ctx.add_rule(act, nr)?;
    } else if repeats {
        for c in &compares {
            ctx.add_rule_conditional(act, nr, std::slice::from_ref(c))?;
        }
    } else {
        ctx.add_rule_conditional(act, nr, &compares)?;
    }
    Ok(())
}

fn flags(seccomp: &LinuxSeccomp) -> u32 {
    seccomp
        .flags()
        .iter()
        .flatten()
        .map(|f| match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => FLAG_WAIT_KILLABLE_RECV,
        })
        .fold(0, |all, f| all | f)
}

fn memfd() -> Result<std::fs::File, BpfError> {
    rustix::fs::memfd_create("hoist-seccomp", rustix::fs::MemfdFlags::CLOEXEC)
        .map(std::fs::File::from)
        .map_err(|e| BpfError::Cache {
            path: "memfd".into(),
            source: e.into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxSeccompBuilder, LinuxSyscallBuilder};

    fn filter(default: LinuxSeccompAction, names: &[&str]) -> LinuxSeccomp {
        LinuxSeccompBuilder::default()
            .default_action(default)
            .syscalls(vec![LinuxSyscallBuilder::default()
                .names(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .action(LinuxSeccompAction::ScmpActErrno)
                .errno_ret(13u32)
                .build()
                .unwrap()])
            .build()
            .unwrap()
    }

    #[test]
    fn bytes_round_trip_and_damage_is_refused() {
        let p = Program::compile(&filter(LinuxSeccompAction::ScmpActAllow, &["getppid"])).unwrap();
        assert!(!p.is_empty());
        let bytes = p.to_bytes();
        assert_eq!(Program::from_bytes(&bytes), Some(p));
        assert_eq!(Program::from_bytes(&bytes[..bytes.len() - 3]), None);
        assert_eq!(Program::from_bytes(&bytes[..12]), None);
        assert_eq!(Program::from_bytes(b"HSBPF01\n"), None);
        let mut foreign = bytes.clone();
        foreign[0] = b'X';
        assert_eq!(Program::from_bytes(&foreign), None);
    }

    #[test]
    fn unknown_names_are_skipped_and_rules_differ() {
        let a = Program::compile(&filter(LinuxSeccompAction::ScmpActAllow, &["getppid"])).unwrap();
        let b = Program::compile(&filter(
            LinuxSeccompAction::ScmpActAllow,
            &["getppid", "no_such_syscall"],
        ))
        .unwrap();
        let c = Program::compile(&filter(LinuxSeccompAction::ScmpActAllow, &["getpid"])).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn notify_is_left_to_libcontainer() {
        let f = filter(LinuxSeccompAction::ScmpActNotify, &["getppid"]);
        assert!(matches!(
            Program::compile(&f),
            Err(BpfError::Unsupported(_))
        ));
    }

    /// The 32-bit word at `offset` of a `struct seccomp_data` for system
    /// call `nr` of `arch` with arguments `args` (little-endian x86).
    fn seccomp_data_word(arch: u32, nr: u32, args: &[u64; 6], offset: u32) -> u32 {
        match offset {
            0 => nr,
            4 => arch,
            8 | 12 => 0,
            o if (16..64).contains(&o) => {
                let arg = args[((o - 16) / 8) as usize];
                if o % 8 == 0 {
                    arg as u32
                } else {
                    (arg >> 32) as u32
                }
            }
            o => panic!("a load from offset {o}, past struct seccomp_data"),
        }
    }

    /// Runs `p` as the kernel would for one system call: its verdict, and
    /// how many instructions it took. Knows the instructions libseccomp
    /// emits; any other fails the test.
    fn verdict(p: &Program, arch: u32, nr: u32, args: &[u64; 6]) -> (u32, usize) {
        let (mut acc, mut pc) = (0u32, 0usize);
        for steps in 1.. {
            let i = p.code[pc];
            pc += 1;
            let jump = |taken: bool| usize::from(if taken { i.jt } else { i.jf });
            match i.code {
                0x20 => acc = seccomp_data_word(arch, nr, args, i.k),
                0x54 => acc &= i.k,
                0x05 => pc += i.k as usize,
                0x15 => pc += jump(acc == i.k),
                0x25 => pc += jump(acc > i.k),
                0x35 => pc += jump(acc >= i.k),
                0x45 => pc += jump(acc & i.k != 0),
                0x06 => return (i.k, steps),
                code => panic!("instruction {code:#x} at {}", pc - 1),
            }
        }
        unreachable!()
    }

    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const X32_BIT: u32 = 0x4000_0000;

    /// Every system call number of both architectures (and x32's), with
    /// arguments made of each value the profile compares with, and more.
    fn cases(f: &LinuxSeccomp) -> Vec<(u32, u32, [u64; 6])> {
        let mut values: Vec<u64> = vec![0, 1, 0x7fff_ffff, 0xffff_ffff, u64::MAX];
        for rule in f.syscalls().iter().flatten() {
            for a in rule.args().iter().flatten() {
                values.extend([a.value(), a.value() | 1, a.value_two().unwrap_or(0)]);
            }
        }
        values.sort_unstable();
        values.dedup();
        let mut out = Vec::new();
        for (arch, x32) in [
            (AUDIT_ARCH_X86_64, 0),
            (AUDIT_ARCH_X86_64, X32_BIT),
            (AUDIT_ARCH_I386, 0),
        ] {
            for nr in 0..600 {
                for v in &values {
                    out.push((arch, nr | x32, [*v; 6]));
                }
            }
        }
        out
    }

    fn default_filter(caps: &[&str]) -> LinuxSeccomp {
        let caps = caps.iter().map(|c| c.to_string()).collect();
        crate::seccomp::default_profile()
            .to_oci(&crate::seccomp::Target::native(caps))
            .unwrap()
    }

    #[test]
    fn the_tree_gives_every_system_call_the_chains_verdict() {
        for caps in [
            &[][..],
            &["CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_BOOT"][..],
        ] {
            let f = default_filter(caps);
            let tree = Program::compile(&f).unwrap();
            let chain = Program::compile_laid_out(&f, 1).unwrap();
            assert_ne!(tree, chain, "libseccomp laid both out the same way");
            for (arch, nr, args) in cases(&f) {
                assert_eq!(
                    verdict(&tree, arch, nr, &args).0,
                    verdict(&chain, arch, nr, &args).0,
                    "system call {nr:#x} of arch {arch:#x}, arguments {args:x?}, caps {caps:?}"
                );
            }
        }
    }

    #[test]
    fn a_verdict_of_the_default_profile_takes_few_instructions() {
        let f = default_filter(&[]);
        let p = Program::compile(&f).unwrap();
        let (most, case) = cases(&f)
            .into_iter()
            .map(|(arch, nr, args)| (verdict(&p, arch, nr, &args).1, (arch, nr)))
            .max()
            .unwrap();
        // A chain of the profile's 350-odd rules needs hundreds for the
        // system calls at its end.
        assert!(
            most <= 64,
            "{most} instructions for {case:x?} of {}",
            p.len()
        );
    }

    #[test]
    fn cache_reuses_and_repairs() {
        let d = tempfile::tempdir().unwrap();
        let f = filter(LinuxSeccompAction::ScmpActAllow, &["getppid"]);
        let (p, file) = Program::cached(&f, d.path()).unwrap();
        let files: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(files.len(), 1);
        let path = files[0].as_ref().unwrap().path();
        assert_eq!(path, file);
        assert_eq!(Program::load(&path).unwrap(), p);
        // A damaged cache file is replaced, not trusted.
        std::fs::write(&path, b"HSBPF01\n\0\0\0\0abc").unwrap();
        assert_eq!(Program::cached(&f, d.path()).unwrap().0, p);
        assert_eq!(Program::load(&path).unwrap(), p);
    }
}
