//! What a build announces, in podman's words: `STEP n/N: TEXT` (with
//! `[k/M]` before it in a multi-stage build), `--> ID` after each image,
//! `COMMIT`, `Successfully tagged`, and the image ID last. `-q` keeps only
//! the ID.

use std::io::Write;

/// Where announcements go (stdout; RUN output goes there too, so every
/// line is flushed before a container starts).
pub struct Output {
    quiet: bool,
    /// The build's last step runs: its image is announced by COMMIT.
    pub(crate) final_step: bool,
}

impl Output {
    pub fn new(quiet: bool) -> Output {
        Output {
            quiet,
            final_step: false,
        }
    }

    /// Announcements of a stage built beside this output's (`--jobs`).
    pub(crate) fn for_another_stage(&self) -> Output {
        Output::new(self.quiet)
    }

    /// One announcement line.
    pub fn say(&mut self, line: &str) {
        if !self.quiet {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }

    /// A step: `[stage/stages] STEP n/N: TEXT`.
    pub(crate) fn step(
        &mut self,
        stage: Option<(usize, usize)>,
        n: usize,
        total: usize,
        text: &str,
    ) {
        let prefix = stage
            .map(|(k, m)| format!("[{k}/{m}] "))
            .unwrap_or_default();
        self.say(&format!("{prefix}STEP {n}/{total}: {text}"));
    }

    /// A step's new image, by its short ID (buildah's 11 digits).
    pub(crate) fn made(&mut self, id: &str) {
        if !self.final_step {
            self.say(&format!("--> {}", short(id)));
        }
    }

    /// The final image ID (printed even with `-q`).
    pub fn result(&mut self, id: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{id}");
        let _ = out.flush();
    }
}

/// An image ID as buildah abbreviates it.
pub(crate) fn short(id: &str) -> &str {
    &id[..id.len().min(11)]
}
