//! Containerfiles come from build contexts: anyone's text.
#![no_main]
use std::collections::HashMap;

use hoist_build::containerfile::{self, Containerfile, CopySource, InstructionKind, Word};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = containerfile::parse(text) else {
        return;
    };
    check(&file);
});

fn check(file: &Containerfile) {
    let mut vars = HashMap::new();
    vars.insert("A".to_string(), "a b".to_string());
    vars.insert("E".to_string(), String::new());
    let global = file.global_scope(&vars).unwrap_or_default();
    for (i, stage) in file.stages.iter().enumerate() {
        assert_eq!(stage.index, i);
        assert!(matches!(stage.from.kind, InstructionKind::From(_)));
        let _ = file.resolve_base(i, &global);
        let _ = file.stage_deps(i, &global);
        for ins in &stage.instructions {
            assert!(ins.line <= ins.end_line);
            for w in words(&ins.kind) {
                let _ = w.expand(&vars);
                let _ = w.expand_words(&vars);
            }
        }
    }
    for stage in &file.stages {
        if let Some(name) = &stage.name {
            let needed = file.stages_for_target(Some(name), &global);
            if let Ok(list) = needed {
                assert_eq!(list.last(), Some(&stage.index));
            }
        }
    }
    let _ = file.stages_for_target(None, &global);
}

/// Every expandable word of an instruction.
fn words(kind: &InstructionKind) -> Vec<&Word> {
    match kind {
        InstructionKind::From(f) => f.platform.iter().chain([&f.image]).collect(),
        InstructionKind::Copy(c) | InstructionKind::Add(c) => c
            .sources
            .iter()
            .filter_map(|s| match s {
                CopySource::Path(w) => Some(w),
                CopySource::Heredoc(_) => None,
            })
            .chain(c.from.iter())
            .chain(c.chown.iter())
            .chain([&c.dest])
            .collect(),
        InstructionKind::Arg(a) => a.iter().filter_map(|d| d.default.as_ref()).collect(),
        InstructionKind::Env(kv) | InstructionKind::Label(kv) => {
            kv.iter().flat_map(|kv| [&kv.key, &kv.value]).collect()
        }
        InstructionKind::Workdir(w) | InstructionKind::User(w) | InstructionKind::Stopsignal(w) => {
            vec![w]
        }
        InstructionKind::Expose(ws) | InstructionKind::Volume(ws) => ws.iter().collect(),
        InstructionKind::Onbuild(o) => words(&o.instruction.kind),
        _ => Vec::new(),
    }
}
