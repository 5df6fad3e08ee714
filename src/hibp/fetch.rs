//! The fetch loop of `--api` and `credaudit download`: many prefixes asked
//! of one range server, at most `--concurrency` in flight, each result
//! handled as it arrives, while the files that result in (cache entries,
//! mirror files) are written on their own thread: creating files is slow on
//! some filesystems and must not stall the requests in flight.
//!
//! The requests run on a single-threaded tokio runtime that lives only as
//! long as the loop, so the rest of credaudit stays synchronous; the
//! parsing of responses is light next to the network wait.

use crate::hibp::client::{ClientOptions, Counters, RangeClient};
use anyhow::{Context, Result};
use futures_util::StreamExt;
use std::cell::Cell;
use std::future::Future;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::time::{Duration, Instant};

/// How often [`Fetcher::progress_due`] says the progress line is due.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// Files waiting for the writer thread before the fetch loop waits.
const WRITE_QUEUE: usize = 1024;

/// A client and the runtime its requests run on.
pub struct Fetcher {
    runtime: tokio::runtime::Runtime,
    pub client: RangeClient,
    concurrency: usize,
    started: Instant,
    shown: Cell<Instant>,
}

impl Fetcher {
    pub fn new(options: &ClientOptions) -> Result<Fetcher> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let client = {
            let _entered = runtime.enter();
            RangeClient::new(options)?
        };
        let now = Instant::now();
        Ok(Fetcher {
            runtime,
            client,
            concurrency: options.concurrency.max(1),
            started: now,
            shown: Cell::new(now),
        })
    }

    /// Run `job` on every item, at most `--concurrency` at once, and hand
    /// each result to `done` as it completes (in completion order).
    pub fn run<I, Fut>(
        &self,
        items: I,
        job: impl FnMut(I::Item) -> Fut,
        mut done: impl FnMut(Fut::Output),
    ) where
        I: IntoIterator,
        Fut: Future,
    {
        let _entered = self.runtime.enter();
        self.runtime.block_on(
            futures_util::stream::iter(items)
                .map(job)
                .buffer_unordered(self.concurrency)
                .for_each(|r| {
                    done(r);
                    std::future::ready(())
                }),
        );
    }

    /// Every [`PROGRESS_EVERY`] at most: requests, their rate, retries and
    /// megabytes so far, for a progress line.
    pub fn progress_due(&self) -> Option<String> {
        if self.shown.get().elapsed() < PROGRESS_EVERY {
            return None;
        }
        self.shown.set(Instant::now());
        Some(self.rates())
    }

    /// Requests, their rate, retries and megabytes so far.
    pub fn rates(&self) -> String {
        let c = &self.client.counters;
        let requests = Counters::get(&c.requests);
        format!(
            "{requests} requests ({:.0}/s), {} retries, {:.1} MB",
            requests as f64 / self.started.elapsed().as_secs_f64().max(1e-3),
            Counters::get(&c.retries),
            Counters::get(&c.bytes) as f64 / 1e6
        )
    }
}

/// Run `body` while a thread of its own writes each item `body` sends with
/// `write`. The writer stops at its first error, after which sending fails
/// (so `body` can stop fetching what it could not keep). Returns what
/// `body` returned and how many items were written, or the first error.
pub fn with_writer<T: Send, R>(
    write: impl FnMut(T) -> Result<()> + Send,
    body: impl FnOnce(&SyncSender<T>) -> R,
) -> (R, Result<u64>) {
    let (files, to_write) = sync_channel::<T>(WRITE_QUEUE);
    std::thread::scope(|scope| {
        let mut write = write;
        let writer = scope.spawn(move || {
            let mut written = 0;
            for item in to_write {
                write(item)?;
                written += 1;
            }
            Ok(written)
        });
        let out = body(&files);
        drop(files);
        (out, writer.join().expect("the writer does not panic"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_stops_at_its_first_error_and_sending_then_fails() {
        let (sent, written) = with_writer(
            |n: u32| {
                anyhow::ensure!(n < 3, "disk full at {n}");
                Ok(())
            },
            |tx| (0..u32::MAX).take_while(|&n| tx.send(n).is_ok()).count(),
        );
        assert!(
            sent < u32::MAX as usize,
            "sending fails once the writer stopped"
        );
        assert_eq!(written.unwrap_err().to_string(), "disk full at 3");
        let (_, written) = with_writer(
            |_: u32| Ok(()),
            |tx| {
                for n in 0..10 {
                    tx.send(n).unwrap();
                }
            },
        );
        assert_eq!(written.unwrap(), 10);
    }
}
