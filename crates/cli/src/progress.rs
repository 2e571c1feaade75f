//! Progress display: bars on a terminal, podman's plain lines otherwise,
//! nothing with `-q`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use hoist_engine::progress::{BlobOutcome, Progress};
use hoist_image::Digest;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub enum Display {
    Bars {
        multi: MultiProgress,
        bars: Mutex<HashMap<Digest, ProgressBar>>,
    },
    Lines,
    Quiet,
}

impl Display {
    /// Bars when stderr is a terminal, lines when it is not, nothing when quiet.
    pub fn new(quiet: bool) -> Display {
        if quiet {
            Display::Quiet
        } else if std::io::stderr().is_terminal() {
            Display::Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: Mutex::new(HashMap::new()),
            }
        } else {
            Display::Lines
        }
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "Copying blob {prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
    )
    .expect("static template is valid")
    .progress_chars("=> ")
}

impl Progress for Display {
    fn message(&self, text: &str) {
        match self {
            Display::Bars { multi, .. } => {
                let _ = multi.println(text);
            }
            Display::Lines => eprintln!("{text}"),
            Display::Quiet => {}
        }
    }

    fn blob_started(&self, digest: &Digest, total: u64) {
        if let Display::Bars { multi, bars } = self {
            let bar = multi.add(ProgressBar::new(total));
            bar.set_style(bar_style());
            bar.set_prefix(digest.short().to_string());
            bars.lock()
                .expect("progress lock")
                .insert(digest.clone(), bar);
        }
    }

    fn blob_progress(&self, digest: &Digest, done: u64) {
        if let Display::Bars { bars, .. } = self {
            if let Some(bar) = bars.lock().expect("progress lock").get(digest) {
                bar.set_position(done);
            }
        }
    }

    fn blob_finished(&self, digest: &Digest, outcome: BlobOutcome) {
        let word = match outcome {
            BlobOutcome::Copied => "done",
            BlobOutcome::Skipped => "skipped: already exists",
            BlobOutcome::Mounted => "mounted",
            BlobOutcome::Lazy => "lazy: table of contents only",
        };
        match self {
            Display::Bars { multi, bars } => {
                match bars.lock().expect("progress lock").remove(digest) {
                    Some(bar) => bar.finish_with_message(word),
                    None => {
                        let _ = multi.println(format!("Copying blob {} {word}", digest.short()));
                    }
                }
            }
            Display::Lines => eprintln!("Copying blob {} {word}", digest.short()),
            Display::Quiet => {}
        }
    }
}
