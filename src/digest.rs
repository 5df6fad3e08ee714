//! The digest of a file's bytes as stored, taken while they are read: the
//! store records what it was built from, and the audit's summary and HTML
//! report what it read, without a second pass over either.
//!
//! BLAKE3 (what `b3sum` prints): a cryptographic digest at several GB/s,
//! so that digesting does not slow reading down (SHA-256 would, at about
//! 1 GB/s here).

use std::io::Read;
use std::sync::{Arc, Mutex};

/// BLAKE3 and length of the bytes read so far.
#[derive(Default)]
pub struct Tally {
    blake3: blake3::Hasher,
    bytes: u64,
}

impl Tally {
    pub fn update(&mut self, data: &[u8]) {
        self.blake3.update(data);
        self.bytes += data.len() as u64;
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The digest, as lower-case hex, of the bytes read so far.
    pub fn hex(&self) -> String {
        self.blake3.finalize().to_hex().to_string()
    }
}

/// A tally shared between the reader that feeds it (often owned by a
/// decoder) and whoever reads the digest at the end.
pub type SharedTally = Arc<Mutex<Tally>>;

/// Digests what passes through it into a [`SharedTally`].
pub struct Digesting<R> {
    inner: R,
    tally: SharedTally,
}

impl<R: Read> Digesting<R> {
    /// Wrap `inner`; the tally it feeds is returned beside it.
    pub fn new(inner: R) -> (Digesting<R>, SharedTally) {
        let tally = SharedTally::default();
        let reader = Digesting {
            inner,
            tally: Arc::clone(&tally),
        };
        (reader, tally)
    }
}

impl<R: Read> Read for Digesting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tally
            .lock()
            .expect("no panic while digesting")
            .update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_b3sum_of_what_was_read() {
        let data = b"email,password\nalice@example.com,hunter2\n".repeat(1000);
        let (mut reader, tally) = Digesting::new(&data[..]);
        std::io::copy(&mut reader, &mut std::io::sink()).unwrap();
        let tally = tally.lock().unwrap();
        assert_eq!(tally.bytes(), data.len() as u64);
        assert_eq!(tally.hex(), blake3::hash(&data).to_hex().to_string());
    }
}
