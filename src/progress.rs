//! Progress on stderr, shown only to a person watching: hidden when stderr is
//! not a terminal (cron, CI, pipes) or with `--quiet`, and without colours
//! or other styles when `NO_COLOR` is set (<https://no-color.org>). Warnings
//! go through here too so they never tear a progress bar.
//!
//! Reading an export shows bytes read of the total with an ETA when every
//! input is a regular file (compressed ones count compressed bytes, which
//! is what the file size measures), and rows per second otherwise: a pipe
//! has no total to count down from.

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy)]
pub struct Progress {
    draw: bool,
    quiet: bool,
    color: bool,
}

/// Colours and styles are allowed unless `NO_COLOR` is set to a non-empty
/// value (the no-color.org rule).
pub fn colors_allowed(no_color: Option<&std::ffi::OsStr>) -> bool {
    no_color.is_none_or(|v| v.is_empty())
}

/// A template without its style specs (`{bar:30.cyan/blue}` becomes
/// `{bar:30}`, `{msg:.bold}` becomes `{msg}`): what `NO_COLOR` asks for.
fn unstyled(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        let key = &rest[open..=close];
        match key.find(':') {
            Some(colon) => {
                let spec = &key[colon + 1..key.len() - 1];
                let width = spec.split('.').next().unwrap_or("");
                out.push_str(&key[..colon]);
                if !width.is_empty() {
                    out.push(':');
                    out.push_str(width);
                }
                out.push('}');
            }
            None => out.push_str(key),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The total for a byte bar over inputs of these stored sizes: their sum
/// when every one is known, else `None` (rows per second instead).
pub fn reading_total(sizes: &[Option<u64>]) -> Option<u64> {
    if sizes.is_empty() {
        return None;
    }
    sizes.iter().copied().sum()
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            draw: !quiet && std::io::stderr().is_terminal(),
            quiet,
            color: colors_allowed(std::env::var_os("NO_COLOR").as_deref()),
        }
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.draw {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    fn style(&self, template: &str) -> ProgressStyle {
        let template = if self.color {
            template.to_string()
        } else {
            unstyled(template)
        };
        ProgressStyle::with_template(&template).expect("valid template")
    }

    /// A counter of unknown length, e.g. rows read from a stream.
    pub fn counter(&self, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.target());
        bar.set_style(
            self.style(
                "{spinner:.green} {msg:.bold}: {human_pos} {prefix} [{per_sec:0}, {elapsed}]",
            ),
        );
        bar.set_prefix("rows");
        bar.set_message(what.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    }

    /// A bar over a known number of items.
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(len), self.target());
        bar.set_style(
            self.style(
                "{msg:.bold} [{bar:30.cyan/blue}] {human_pos}/{human_len} hashes [{per_sec:0}, eta {eta}]",
            )
            .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        bar
    }

    /// A bar over bytes (length set when known).
    pub fn bytes(&self, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.target());
        bar.set_style(
            self.style(
                "{msg:.bold} [{bar:30.cyan/blue}] {binary_bytes}/{binary_total_bytes} [{binary_bytes_per_sec}, eta {eta}]",
            )
            .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        bar
    }

    /// Progress of reading exports whose stored bytes are counted in
    /// `read` (one counter per input); `total` from [`reading_total`].
    pub fn reading(&self, total: Option<u64>, read: Vec<Arc<AtomicU64>>) -> Reading {
        let bar = match total {
            Some(total) => {
                let bar = ProgressBar::with_draw_target(Some(total), self.target());
                bar.set_style(
                    self.style(
                        "{spinner:.green} {msg:.bold} [{bar:20.cyan/blue}] {binary_bytes}/{binary_total_bytes} {prefix} eta {eta}",
                    )
                    .progress_chars("=> "),
                );
                bar.set_prefix("0 rows");
                bar.set_message("reading");
                bar.enable_steady_tick(std::time::Duration::from_millis(200));
                bar
            }
            None => self.counter("reading"),
        };
        Reading {
            bar,
            read: total.map(|_| read),
            rows: AtomicU64::new(0),
        }
    }

    /// Print a warning on stderr (unless `--quiet`).
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            eprintln!("credaudit: warning: {message}");
        }
    }
}

/// The reading phase's progress: rows counted, and with a byte bar the
/// stored bytes read of the total.
pub struct Reading {
    pub bar: ProgressBar,
    read: Option<Vec<Arc<AtomicU64>>>,
    rows: AtomicU64,
}

impl Reading {
    /// `n` more rows were read.
    pub fn rows(&self, n: u64) {
        match &self.read {
            None => self.bar.inc(n),
            Some(counters) => {
                let rows = self.rows.fetch_add(n, Ordering::Relaxed) + n;
                let bytes = counters.iter().map(|c| c.load(Ordering::Relaxed)).sum();
                self.bar.set_position(bytes);
                self.bar.set_prefix(format!("{} rows", HumanCount(rows)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn no_color_when_set_and_not_empty() {
        assert!(colors_allowed(None));
        assert!(colors_allowed(Some(OsStr::new(""))));
        assert!(!colors_allowed(Some(OsStr::new("1"))));
        assert!(
            !colors_allowed(Some(OsStr::new("false"))),
            "any value counts"
        );
    }

    #[test]
    fn templates_lose_their_styles_only() {
        assert_eq!(
            unstyled("{spinner:.green} {msg:.bold} [{bar:30.cyan/blue}] {human_pos} [{per_sec:0}]"),
            "{spinner} {msg} [{bar:30}] {human_pos} [{per_sec:0}]"
        );
        assert_eq!(unstyled("no keys"), "no keys");
    }

    #[test]
    fn a_total_only_when_every_size_is_known() {
        assert_eq!(reading_total(&[Some(10), Some(32)]), Some(42));
        assert_eq!(reading_total(&[Some(10), None]), None, "a pipe among files");
        assert_eq!(reading_total(&[None]), None);
        assert_eq!(reading_total(&[]), None);
    }

    #[test]
    fn bytes_drive_the_bar_and_rows_the_counter() {
        let progress = Progress {
            draw: false,
            quiet: false,
            color: false,
        };
        let read = Arc::new(AtomicU64::new(0));
        let bytes = progress.reading(Some(100), vec![read.clone()]);
        read.store(60, Ordering::Relaxed);
        bytes.rows(3);
        assert_eq!((bytes.bar.position(), bytes.bar.length()), (60, Some(100)));
        assert_eq!(bytes.bar.prefix(), "3 rows");
        let rows = progress.reading(None, vec![read]);
        rows.rows(3);
        rows.rows(4);
        assert_eq!((rows.bar.position(), rows.bar.length()), (7, None));
    }
}
