//! Stages and what they depend on: `FROM <stage>`, `COPY --from`,
//! `RUN --mount=from=`, and which stages a `--target` needs.

use std::collections::BTreeMap;

use super::ast::{Containerfile, InstructionKind, Stage};
use super::error::{ExpandError, StageError};
use super::expand::Vars;

/// What a stage's FROM (or a `--from`) refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// `scratch`: an empty filesystem.
    Scratch,
    /// An earlier stage, by index.
    Stage(usize),
    /// An image reference (pulled per `--pull`).
    Image(String),
}

impl Containerfile {
    /// The values of the global args (ARG before the first FROM): each
    /// default expanded in order, a `build_args` value overriding it. These
    /// are the variables FROM lines see.
    pub fn global_scope(
        &self,
        build_args: &dyn Vars,
    ) -> Result<BTreeMap<String, String>, StageError> {
        self.global_scope_with(build_args, &())
    }

    /// Like [`Containerfile::global_scope`], with the platform args
    /// ([`super::PLATFORM_ARGS`]: `TARGETARCH`, `BUILDPLATFORM`, ...) that
    /// `platform` has defined first, as BuildKit and buildah do, so `FROM
    /// --platform=$BUILDPLATFORM` works without an ARG line.
    pub fn global_scope_with(
        &self,
        build_args: &dyn Vars,
        platform: &dyn Vars,
    ) -> Result<BTreeMap<String, String>, StageError> {
        let mut scope: BTreeMap<String, String> = super::PLATFORM_ARGS
            .iter()
            .filter_map(|n| platform.get(n).map(|v| (n.to_string(), v)))
            .collect();
        for ins in &self.global_args {
            let InstructionKind::Arg(decls) = &ins.kind else {
                continue;
            };
            for decl in decls {
                let value = match (build_args.get(&decl.name), &decl.default) {
                    (Some(v), _) => Some(v),
                    (None, Some(d)) => {
                        Some(d.expand(&scope).map_err(|source| StageError::Expand {
                            line: ins.line,
                            source,
                        })?)
                    }
                    (None, None) => None,
                };
                if let Some(v) = value {
                    scope.insert(decl.name.clone(), v);
                }
            }
        }
        Ok(scope)
    }

    /// The stage named `name` (case-insensitive) or numbered `name`.
    pub fn find_stage(&self, name: &str) -> Option<&Stage> {
        let lower = name.to_ascii_lowercase();
        if let Some(s) = self
            .stages
            .iter()
            .find(|s| s.name.as_deref() == Some(&lower))
        {
            return Some(s);
        }
        name.parse::<usize>().ok().and_then(|i| self.stages.get(i))
    }

    /// The stage `--target` selects (the last stage without a target).
    pub fn target_index(&self, target: Option<&str>) -> Result<usize, StageError> {
        match target {
            None => Ok(self.stages.len().saturating_sub(1)),
            Some(t) => {
                let lower = t.to_ascii_lowercase();
                self.stages
                    .iter()
                    .find(|s| s.name.as_deref() == Some(&lower))
                    .map(|s| s.index)
                    .ok_or_else(|| StageError::UnknownTarget(t.to_string()))
            }
        }
    }

    /// What stage `stage`'s FROM refers to, with the global args `global`
    /// (from [`Containerfile::global_scope`]). A name only refers to an
    /// earlier stage; otherwise it is an image.
    pub fn resolve_base(&self, stage: usize, global: &dyn Vars) -> Result<Base, StageError> {
        let st = &self.stages[stage];
        let from = st.from_args();
        let image = from
            .image
            .expand(global)
            .map_err(|source| StageError::Expand {
                line: st.from.line,
                source,
            })?;
        if image.is_empty() {
            return Err(StageError::EmptyBase {
                line: st.from.line,
                raw: from.image.raw.clone(),
            });
        }
        if image.eq_ignore_ascii_case("scratch") {
            return Ok(Base::Scratch);
        }
        let lower = image.to_ascii_lowercase();
        Ok(self.stages[..stage]
            .iter()
            .find(|s| s.name.as_deref() == Some(&lower))
            .map(|s| Base::Stage(s.index))
            .unwrap_or(Base::Image(image)))
    }

    /// What a `COPY --from` / `--mount from=` value (already expanded)
    /// refers to, from stage `current`: an earlier stage by name or index,
    /// or an image.
    pub fn resolve_from(
        &self,
        value: &str,
        current: usize,
        line: usize,
    ) -> Result<Base, StageError> {
        let lower = value.to_ascii_lowercase();
        if let Some(s) = self
            .stages
            .iter()
            .find(|s| s.name.as_deref() == Some(&lower))
        {
            if s.index >= current {
                return Err(StageError::NotEarlier {
                    line,
                    name: value.to_string(),
                });
            }
            return Ok(Base::Stage(s.index));
        }
        if let Ok(index) = value.parse::<usize>() {
            if index >= current {
                return Err(StageError::InvalidStageIndex {
                    line,
                    index,
                    current,
                });
            }
            return Ok(Base::Stage(index));
        }
        if lower == "scratch" {
            return Ok(Base::Scratch);
        }
        Ok(Base::Image(value.to_string()))
    }

    /// The earlier stages stage `stage` uses directly (its FROM, `COPY
    /// --from`, `RUN --mount=from=`), sorted, without duplicates. `--from`
    /// words are expanded with `global` (stage-local ARGs are not known
    /// before the stage runs; the executor resolves again when it does).
    pub fn stage_deps(&self, stage: usize, global: &dyn Vars) -> Result<Vec<usize>, StageError> {
        let mut deps = Vec::new();
        if let Base::Stage(i) = self.resolve_base(stage, global)? {
            deps.push(i);
        }
        for ins in &self.stages[stage].instructions {
            let values = from_values(&ins.kind, global).map_err(|source| StageError::Expand {
                line: ins.line,
                source,
            })?;
            for value in values {
                if let Base::Stage(i) = self.resolve_from(&value, stage, ins.line)? {
                    deps.push(i);
                }
            }
        }
        deps.sort_unstable();
        deps.dedup();
        Ok(deps)
    }

    /// [`Containerfile::stage_deps`] for running stages at once: a stage
    /// whose `--from` words use a variable (a stage-local ARG may change
    /// what they name) waits for every earlier stage instead.
    pub fn stage_deps_for_scheduling(
        &self,
        stage: usize,
        global: &dyn Vars,
    ) -> Result<Vec<usize>, StageError> {
        let variable = self.stages[stage]
            .instructions
            .iter()
            .any(|ins| from_words_raw(&ins.kind).any(|raw| raw.contains('$')));
        if variable {
            return Ok((0..stage).collect());
        }
        self.stage_deps(stage, global)
    }

    /// Every stage the target needs (itself included), in file order: the
    /// stages to build. Stages not in the list are skipped, as buildah
    /// does; stages whose dependencies are all built can run in parallel.
    pub fn stages_for_target(
        &self,
        target: Option<&str>,
        global: &dyn Vars,
    ) -> Result<Vec<usize>, StageError> {
        if self.stages.is_empty() {
            return Ok(Vec::new());
        }
        let t = self.target_index(target)?;
        let mut needed = vec![false; self.stages.len()];
        needed[t] = true;
        // Dependencies always point backwards, so one pass from the target
        // down to stage 0 closes the set.
        for i in (0..=t).rev() {
            if needed[i] {
                for d in self.stage_deps(i, global)? {
                    needed[d] = true;
                }
            }
        }
        Ok((0..=t).filter(|&i| needed[i]).collect())
    }
}

/// The `--from` values of an instruction, expanded with `global`
/// (`RUN --mount` options are taken literally).
/// The `--from` words of an instruction as written.
fn from_words_raw(kind: &InstructionKind) -> impl Iterator<Item = &str> {
    let copy = match kind {
        InstructionKind::Copy(c) => c.from.as_ref().map(|w| w.raw.as_str()),
        _ => None,
    };
    let mounts = match kind {
        InstructionKind::Run(r) => r.mounts.as_slice(),
        _ => &[],
    };
    copy.into_iter()
        .chain(mounts.iter().filter_map(|m| m.from.as_deref()))
}

fn from_values(kind: &InstructionKind, global: &dyn Vars) -> Result<Vec<String>, ExpandError> {
    match kind {
        InstructionKind::Copy(c) => c.from.iter().map(|w| w.expand(global)).collect(),
        InstructionKind::Run(r) => Ok(r.mounts.iter().filter_map(|m| m.from.clone()).collect()),
        _ => Ok(Vec::new()),
    }
}
