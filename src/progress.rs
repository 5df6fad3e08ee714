//! Progress on stderr, shown only to a person watching: hidden when stderr is
//! not a terminal (cron, CI, pipes) or with `--quiet`. Warnings go through
//! here too so they never tear a progress bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

#[derive(Clone, Copy)]
pub struct Progress {
    draw: bool,
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            draw: !quiet && std::io::stderr().is_terminal(),
            quiet,
        }
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.draw {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    /// A counter of unknown length, e.g. rows read from a stream.
    pub fn counter(&self, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.target());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg}: {human_pos} {prefix} [{per_sec:0}, {elapsed}]",
            )
            .expect("valid template"),
        );
        bar.set_message(what.to_string());
        bar.set_prefix("rows");
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    }

    /// A bar over a known number of items.
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(len), self.target());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {human_pos}/{human_len} hashes [{per_sec:0}, eta {eta}]",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        bar
    }

    /// A bar over bytes (length set when known).
    pub fn bytes(&self, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.target());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} [{binary_bytes_per_sec}, eta {eta}]",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        bar
    }

    /// Print a warning on stderr (unless `--quiet`).
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            eprintln!("credaudit: warning: {message}");
        }
    }
}
