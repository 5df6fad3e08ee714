//! A byte budget for the memory-hard verifications (scrypt, Argon2).
//!
//! Each such check allocates its whole memory cost at once (up to 4 GiB)
//! and a failed allocation aborts the process, so they cannot simply run
//! one per core: under a container's memory limit or `ulimit -v`, two
//! 2 GiB scrypt checks side by side kill the audit. Every check asks the
//! budget first: it runs when its bytes fit beside those already running
//! (waiting for room otherwise), and is refused outright when it could not
//! fit even alone, so that its account is reported `unchecked` instead.

use std::sync::{Condvar, Mutex};

/// Room kept for everything else the process allocates meanwhile (the
/// verifications' own small buffers, the progress bar, the allocator).
pub const HEADROOM_BYTES: u64 = 128 << 20;

pub struct Budget {
    limit: u64,
    in_use: Mutex<u64>,
    freed: Condvar,
}

impl Budget {
    /// A budget of `room` bytes less [`HEADROOM_BYTES`]; unbounded when the
    /// room is unknown.
    pub fn for_room(room: Option<u64>) -> Budget {
        Budget::new(room.map_or(u64::MAX, |r| r.saturating_sub(HEADROOM_BYTES)))
    }

    pub fn new(limit: u64) -> Budget {
        Budget {
            limit,
            in_use: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// The bytes checks may use at once (`u64::MAX`: no known limit).
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Run `check` once `bytes` fit beside the checks already running;
    /// `None` if they never can.
    pub fn run<R>(&self, bytes: u64, check: impl FnOnce() -> R) -> Option<R> {
        if bytes > self.limit {
            return None;
        }
        if bytes == 0 {
            return Some(check());
        }
        let mut in_use = self.in_use.lock().expect("budget lock");
        while *in_use + bytes > self.limit {
            in_use = self.freed.wait(in_use).expect("budget lock");
        }
        *in_use += bytes;
        drop(in_use);
        let _held = Held {
            budget: self,
            bytes,
        };
        Some(check())
    }
}

/// Gives its bytes back when the check ends, even by a panic.
struct Held<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut in_use = self.budget.in_use.lock().unwrap_or_else(|e| e.into_inner());
        *in_use -= self.bytes;
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn never_more_at_once_than_the_limit() {
        let budget = Budget::new(250);
        let running = AtomicU64::new(0);
        let peak = AtomicU64::new(0);
        let done: Vec<_> = (0..16)
            .into_par_iter()
            .map(|_| {
                budget.run(100, || {
                    let now = running.fetch_add(100, Ordering::SeqCst) + 100;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    running.fetch_sub(100, Ordering::SeqCst);
                })
            })
            .collect();
        assert!(done.iter().all(Option::is_some));
        assert!(peak.load(Ordering::SeqCst) <= 200);
        assert_eq!(budget.run(251, || ()), None, "too big even alone");
        assert_eq!(budget.run(0, || 7), Some(7));
    }

    #[test]
    fn an_unknown_room_is_no_limit_and_headroom_is_kept() {
        assert_eq!(Budget::for_room(None).limit(), u64::MAX);
        assert_eq!(
            Budget::for_room(Some(1 << 30)).limit(),
            (1 << 30) - HEADROOM_BYTES
        );
        assert_eq!(Budget::for_room(Some(1)).limit(), 0);
    }
}
