//! The shared objects an ELF file makes the dynamic loader open, so a lazy
//! layer can fetch them in one request when the file is read from the
//! network, instead of one round trip per library as the loader opens them
//! one after another.
//!
//! Only what the file itself names is read: its interpreter (`PT_INTERP`),
//! its `DT_NEEDED` entries and its `DT_RUNPATH`/`DT_RPATH` directories. The
//! names are resolved against one layer's files (see `paths`), the way
//! glibc's loader searches, minus `ld.so.cache` and `LD_LIBRARY_PATH`, which
//! only the running container knows.

use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::Endianness;

/// What one ELF file asks the loader for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ElfNeeds {
    /// The program interpreter, an absolute path (`/lib64/ld-linux-x86-64.so.2`).
    pub interpreter: Option<String>,
    /// `DT_NEEDED` names (`libc.so.6`), in the file's order.
    pub needed: Vec<String>,
    /// `DT_RUNPATH` and `DT_RPATH` entries, colon lists split, `$ORIGIN`
    /// not yet expanded.
    pub run_paths: Vec<String>,
    /// The multiarch directory of the file's machine (`x86_64-linux-gnu`),
    /// where Debian-style systems keep libraries.
    pub multiarch: Option<&'static str>,
}

/// Reads what `data` (a whole file) asks the loader for; `None` when it is
/// not an ELF file or is malformed. Never panics on hostile input.
pub fn elf_needs(data: &[u8]) -> Option<ElfNeeds> {
    match object::FileKind::parse(data).ok()? {
        object::FileKind::Elf64 => needs_of::<elf::FileHeader64<Endianness>>(data),
        object::FileKind::Elf32 => needs_of::<elf::FileHeader32<Endianness>>(data),
        _ => None,
    }
}

fn needs_of<E: FileHeader<Endian = Endianness>>(data: &[u8]) -> Option<ElfNeeds> {
    let header = E::parse(data).ok()?;
    let endian = header.endian().ok()?;
    let interpreter = header
        .program_headers(endian, data)
        .ok()?
        .iter()
        .find_map(|p| p.interpreter(endian, data).ok().flatten())
        .and_then(|name| std::str::from_utf8(name).ok())
        .map(str::to_owned);
    let mut needs = ElfNeeds {
        interpreter,
        multiarch: multiarch(header.e_machine(endian), header.is_class_64()),
        ..ElfNeeds::default()
    };
    let sections = header.sections(endian, data).ok()?;
    let Some((dynamic, strings_index)) = sections.dynamic(endian, data).ok()? else {
        return Some(needs); // static: nothing to load
    };
    let strings = sections.strings(endian, data, strings_index).ok()?;
    for entry in dynamic {
        let tag = entry.tag(endian);
        let is_needed = tag == elf::DT_NEEDED;
        let is_path = tag == elf::DT_RUNPATH || tag == elf::DT_RPATH;
        if !is_needed && !is_path {
            continue;
        }
        let Some(text) = entry
            .string(endian, strings)
            .ok()
            .and_then(|s| std::str::from_utf8(s).ok())
        else {
            continue;
        };
        if is_needed {
            needs.needed.push(text.to_owned());
        } else {
            needs
                .run_paths
                .extend(text.split(':').filter(|p| !p.is_empty()).map(str::to_owned));
        }
    }
    Some(needs)
}

/// Debian's multiarch triplet for an ELF machine.
fn multiarch(machine: elf::Machine, is_64: bool) -> Option<&'static str> {
    Some(match machine {
        m if m == elf::EM_X86_64 && is_64 => "x86_64-linux-gnu",
        m if m == elf::EM_386 => "i386-linux-gnu",
        m if m == elf::EM_AARCH64 => "aarch64-linux-gnu",
        m if m == elf::EM_ARM => "arm-linux-gnueabihf",
        m if m == elf::EM_PPC64 => "powerpc64le-linux-gnu",
        m if m == elf::EM_S390 => "s390x-linux-gnu",
        m if m == elf::EM_RISCV && is_64 => "riscv64-linux-gnu",
        _ => return None,
    })
}

impl ElfNeeds {
    /// The absolute paths where the loader may find each needed object of
    /// the file at `origin_dir` (its directory, absolute), in search order:
    /// one candidate list per object, the interpreter first.
    pub fn candidates(&self, origin_dir: &str) -> Vec<Vec<String>> {
        let mut dirs: Vec<String> = self
            .run_paths
            .iter()
            .filter(|p| !p.contains("$LIB") && !p.contains("$PLATFORM"))
            .map(|p| {
                p.replace("${ORIGIN}", origin_dir)
                    .replace("$ORIGIN", origin_dir)
            })
            .collect();
        if let Some(triplet) = self.multiarch {
            dirs.push(format!("/lib/{triplet}"));
            dirs.push(format!("/usr/lib/{triplet}"));
        }
        dirs.extend(["/lib64", "/usr/lib64", "/lib", "/usr/lib"].map(String::from));
        let mut out: Vec<Vec<String>> = self.interpreter.iter().map(|i| vec![i.clone()]).collect();
        for name in &self.needed {
            if name.contains('/') {
                out.push(vec![name.clone()]);
            } else {
                out.push(dirs.iter().map(|d| format!("{d}/{name}")).collect());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real binaries of this host, in the layout Debian gives them.
    #[test]
    fn reads_what_a_debian_binary_and_library_need() {
        let ls = std::fs::read("/bin/ls").expect("/bin/ls");
        let needs = elf_needs(&ls).expect("ls is ELF");
        assert_eq!(
            needs.interpreter.as_deref(),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
        assert!(needs.needed.iter().any(|n| n == "libc.so.6"), "{needs:?}");
        assert_eq!(needs.multiarch, Some("x86_64-linux-gnu"));
        let libc = elf_needs(&std::fs::read("/lib/x86_64-linux-gnu/libc.so.6").unwrap())
            .expect("libc is ELF");
        assert!(
            libc.needed.iter().any(|n| n.starts_with("ld-linux")),
            "{libc:?}"
        );
    }

    #[test]
    fn anything_else_or_a_damaged_file_is_none() {
        assert_eq!(elf_needs(b"#!/bin/sh\necho hi\n"), None);
        assert_eq!(elf_needs(b""), None);
        let ls = std::fs::read("/bin/ls").unwrap();
        // Cut before the section headers: the dynamic section cannot be found.
        assert_eq!(elf_needs(&ls[..ls.len() / 2]), None);
        assert_eq!(elf_needs(&ls[..64]), None);
    }

    #[test]
    fn candidates_follow_the_loaders_search_order() {
        let needs = ElfNeeds {
            interpreter: Some("/lib64/ld.so".into()),
            needed: vec!["libx.so.1".into(), "sub/liby.so".into()],
            run_paths: vec!["$ORIGIN/../lib".into(), "/opt/$PLATFORM".into()],
            multiarch: Some("x86_64-linux-gnu"),
        };
        let c = needs.candidates("/app/bin");
        assert_eq!(c[0], vec!["/lib64/ld.so"]);
        assert_eq!(
            c[1],
            vec![
                "/app/bin/../lib/libx.so.1",
                "/lib/x86_64-linux-gnu/libx.so.1",
                "/usr/lib/x86_64-linux-gnu/libx.so.1",
                "/lib64/libx.so.1",
                "/usr/lib64/libx.so.1",
                "/lib/libx.so.1",
                "/usr/lib/libx.so.1",
            ]
        );
        assert_eq!(c[2], vec!["sub/liby.so"]);
    }
}
