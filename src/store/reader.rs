//! Opening a store safely and answering sorted queries from it.
//!
//! Opening never trusts the file: the header is read (not mapped) and
//! checked, the file's length must be exactly what the header says before
//! anything is mapped (a truncated store is an error, never a SIGBUS), and
//! the small sections (table, overflow, coverage, meta) are checksummed and
//! checked for order. The records are checked by `index verify`.
//!
//! A lookup takes the queries in sorted chunks on every core. Each query
//! reads two table entries, guesses its place in the bucket from its key
//! (keys are uniform within a bucket) and gallops from the guess (about 60
//! records a bucket at a billion hashes, a few cache lines). A chunk whose queries will touch
//! most pages of its stretch of records asks the kernel to read the whole
//! stretch ahead (a cold store is then read nearly sequentially instead of
//! one page fault at a time); afterwards the chunk's pages are released from
//! the process (they stay in the page cache), so memory does not grow with
//! the store.

use super::layout::{Header, Section, HEADER_LEN, OVERFLOW};
use super::meta::Meta;
use crate::queryset::Hashes;
use anyhow::{anyhow, bail, Context, Result};
use indicatif::ProgressBar;
use memmap2::{Advice, Mmap, UncheckedAdvice};
use rayon::prelude::*;
use std::cmp::Ordering;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

/// Queries per unit of parallel work.
const QUERY_CHUNK: usize = 8192;
/// Read a chunk's stretch of records ahead when its queries are at least
/// this share of the stretch's pages.
const READ_AHEAD_SHARE: f64 = 0.25;
const PAGE: usize = 4096;

pub struct Store {
    path: PathBuf,
    pub(super) map: Mmap,
    pub(super) header: Header,
    meta: Meta,
    /// Inclusive stretches of the top 64 bits of a hash without data.
    pub(super) uncovered: Vec<(u64, u64)>,
}

/// What a store knows of sorted queries, by index into them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub hits: Vec<(usize, u64)>,
    /// Queries in stretches the store has no data for.
    pub unchecked: Vec<usize>,
}

/// What `index verify` found.
pub struct Verified {
    pub bytes: u64,
    pub blocks: u64,
    pub seconds: f64,
}

/// Whether `path` is a regular file that starts with the store's magic.
pub fn is_store(path: &Path) -> bool {
    let mut magic = [0u8; 8];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == super::layout::MAGIC)
}

fn le_u64(bytes: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"))
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let fail = |problem: String| anyhow!("store {}: {problem}", path.display());
        let mut file =
            File::open(path).with_context(|| format!("cannot open store {}", path.display()))?;
        let len = file.metadata()?.len();
        let mut head = Vec::with_capacity(HEADER_LEN as usize);
        (&mut file)
            .take(HEADER_LEN)
            .read_to_end(&mut head)
            .with_context(|| format!("cannot read store {}", path.display()))?;
        let header = Header::decode(&head).map_err(fail)?;
        if len != header.file_len {
            return Err(fail(format!(
                "{} bytes, but its header says {}: the file is {} (copy it again or rebuild it)",
                len,
                header.file_len,
                if len < header.file_len {
                    "truncated"
                } else {
                    "longer than written"
                }
            )));
        }
        // SAFETY: read-only map of a file whose length was just checked; a
        // store truncated underneath a run is outside what a reader of a
        // file can defend against.
        let map = unsafe { Mmap::map(&file) }
            .with_context(|| format!("cannot map store {}", path.display()))?;
        let section = |s: Section| &map[s.offset as usize..s.end() as usize];
        if tail_digest(
            section(header.table),
            &map[header.uncovered.offset as usize..header.meta.end() as usize],
        ) != header.tail_digest
        {
            return Err(fail(
                "corrupt table, coverage or meta section (checksum mismatch); rebuild it".into(),
            ));
        }
        check_table(section(header.table), header.entries).map_err(fail)?;
        let uncovered = read_uncovered(section(header.uncovered)).map_err(fail)?;
        let meta: Meta = serde_json::from_slice(section(header.meta))
            .map_err(|e| fail(format!("corrupt meta section ({e})")))?;
        let store = Store {
            path: path.to_path_buf(),
            map,
            header,
            meta,
            uncovered,
        };
        store.release(0, store.map.len());
        Ok(store)
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hits and unchecked queries among sorted, distinct `hashes` of
    /// the store's kind. An error only for a damaged overflow table.
    pub fn lookup(&self, hashes: Hashes<'_>, progress: &ProgressBar) -> Result<Found> {
        let n = hashes.len();
        if n == 0 {
            return Ok(Found::default());
        }
        let chunks: Vec<Vec<(usize, u64)>> = (0..n.div_ceil(QUERY_CHUNK))
            .into_par_iter()
            .map(|c| {
                let range = c * QUERY_CHUNK..n.min((c + 1) * QUERY_CHUNK);
                progress.inc(range.len() as u64);
                self.lookup_chunk(hashes, range)
            })
            .collect::<Result<_>>()?;
        let hits: Vec<(usize, u64)> = chunks.into_iter().flatten().collect();
        let unchecked = self.uncovered_queries(hashes, &hits);
        Ok(Found { hits, unchecked })
    }

    pub(super) fn table_at(&self, bucket: usize) -> u64 {
        let at = self.header.table.offset as usize + 8 * bucket;
        le_u64(&self.map[at..at + 8], 0)
    }

    /// Where record `index` starts in the map.
    #[inline]
    pub(super) fn record_at(&self, index: u64) -> usize {
        HEADER_LEN as usize + index as usize * self.header.shape.record_bytes()
    }

    /// How record `index` compares with a key whose first (up to) 8 bytes
    /// are `head` (as a big-endian number, `head_bytes` long): one load
    /// and compare for truncated keys (the padding after the records keeps
    /// the 8-byte load inside the map); whole keys compare the rest too.
    #[inline]
    fn compare(&self, index: u64, head: u64, head_bytes: usize, key: &[u8]) -> Ordering {
        let at = self.record_at(index);
        let word = u64::from_be_bytes(self.map[at..at + 8].try_into().expect("8 bytes"));
        let rec_head = word >> (64 - 8 * head_bytes);
        rec_head.cmp(&head).then_with(|| {
            let kb = self.header.shape.key_bytes;
            self.map[at + head_bytes..at + kb].cmp(&key[head_bytes..])
        })
    }

    fn lookup_chunk(
        &self,
        hashes: Hashes<'_>,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<(usize, u64)>> {
        let shape = self.header.shape;
        let kb = shape.key_bytes;
        let head_bytes = kb.min(8);
        let first = shape.bucket(hashes.get(range.start));
        let last = shape.bucket(hashes.get(range.end - 1));
        let from = self.record_at(self.table_at(first));
        let to = self.record_at(self.table_at(last + 1));
        if range.len() as f64 >= READ_AHEAD_SHARE * ((to - from) / PAGE) as f64 {
            let _ = self.map.advise_range(Advice::WillNeed, from, to - from);
        }
        let mut overflow = OverflowCursor::new(self);
        let mut hits = Vec::new();
        for qi in range {
            let hash = hashes.get(qi);
            let bucket = shape.bucket(hash);
            let key = shape.key(hash);
            let mut head = [0u8; 8];
            head[8 - head_bytes..].copy_from_slice(&key[..head_bytes]);
            let head = u64::from_be_bytes(head);
            let (lo, hi) = (self.table_at(bucket), self.table_at(bucket + 1));
            if lo == hi {
                continue;
            }
            // Keys are uniform within a bucket: start where the key's value
            // says, then gallop to the first record not below it.
            let scaled = head << (64 - 8 * head_bytes);
            let guess = lo + ((u128::from(scaled) * u128::from(hi - lo)) >> 64) as u64;
            let mut i = gallop(guess, lo, hi, |i| {
                self.compare(i, head, head_bytes, key) == Ordering::Less
            });
            let mut best: Option<u64> = None;
            // Two hashes that share their first 64 bits have equal truncated
            // keys: a hit on either is a hit, with the larger count.
            while i < hi && self.compare(i, head, head_bytes, key) == Ordering::Equal {
                let byte = self.map[self.record_at(i) + kb];
                let count = if byte == OVERFLOW {
                    overflow.count(i)?
                } else {
                    u64::from(byte)
                };
                best = Some(best.map_or(count, |b| b.max(count)));
                i += 1;
            }
            if let Some(count) = best {
                hits.push((qi, count));
            }
        }
        self.release(from, to);
        let table = self.header.table.offset as usize;
        self.release(table + 8 * first, table + 8 * (last + 2));
        Ok(hits)
    }

    /// Queries that are not hits and fall into a stretch without data.
    fn uncovered_queries(&self, hashes: Hashes<'_>, hits: &[(usize, u64)]) -> Vec<usize> {
        if self.uncovered.is_empty() {
            return Vec::new();
        }
        let top = |i: usize| u64::from_be_bytes(hashes.get(i)[..8].try_into().expect("8 bytes"));
        let mut out = Vec::new();
        let mut hit = hits.iter().map(|h| h.0).peekable();
        let mut stretch = self.uncovered.iter().peekable();
        for i in 0..hashes.len() {
            if hit.next_if(|&h| h == i).is_some() {
                continue;
            }
            let t = top(i);
            while stretch.next_if(|s| s.1 < t).is_some() {}
            if stretch.peek().is_some_and(|s| s.0 <= t) {
                out.push(i);
            }
        }
        out
    }

    pub(super) fn release(&self, from: usize, to: usize) {
        let start = from.div_ceil(PAGE) * PAGE;
        let end = to / PAGE * PAGE;
        if end > start {
            // SAFETY: a read-only, file-backed shared map: dropping pages
            // only makes the next access fault them in from the page cache.
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(UncheckedAdvice::DontNeed, start, end - start)
            };
        }
    }

    /// Read the whole file once and check every block checksum.
    pub fn verify_blocks(&self, progress: &ProgressBar) -> Result<Verified> {
        let started = std::time::Instant::now();
        let h = &self.header;
        let sums = &self.map[h.checksums.offset as usize..h.checksums.end() as usize];
        if xxh3_64(sums) != h.checksums_digest {
            bail!(
                "store {}: corrupt checksums section; rebuild it",
                self.path.display()
            );
        }
        let _ = self.map.advise(Advice::Sequential);
        let end = h.checksums.offset;
        let mut block = 0usize;
        let mut at = HEADER_LEN;
        while at < end {
            let stop = (at + h.block_size).min(end);
            let mut hasher = Xxh3::new();
            hasher.update(&self.map[at as usize..stop as usize]);
            if hasher.digest() != le_u64(sums, block) {
                bail!(
                    "store {}: block {block} (bytes {at}-{}) does not match its checksum: the store is corrupt; rebuild it or copy it again",
                    self.path.display(),
                    stop - 1
                );
            }
            progress.inc(stop - at);
            self.release(at as usize, stop as usize);
            block += 1;
            at = stop;
        }
        Ok(Verified {
            bytes: h.file_len,
            blocks: block as u64,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// First index in `[lo, hi)` for which `before` is false (`before` is true
/// then false along the range), or `hi`.
#[inline]
pub(super) fn partition(mut lo: u64, mut hi: u64, before: impl Fn(u64) -> bool) -> u64 {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// [`partition`] of `[lo, hi)` starting from a good `guess`: steps that
/// double away from it bracket the answer, which a binary search in the
/// bracket finds. A few probes near the guess when it is good, never more
/// than about twice a binary search's when it is not.
#[inline]
fn gallop(guess: u64, lo: u64, hi: u64, before: impl Fn(u64) -> bool) -> u64 {
    let mut step = 1;
    if guess < hi && before(guess) {
        let mut a = guess + 1;
        loop {
            let b = a + step - 1;
            if b >= hi {
                return partition(a, hi, before);
            }
            if !before(b) {
                return partition(a, b, before);
            }
            a = b + 1;
            step *= 2;
        }
    }
    let mut b = guess.min(hi);
    loop {
        if b - lo < step {
            return partition(lo, b, before);
        }
        let a = b - step;
        if before(a) {
            return partition(a + 1, b, before);
        }
        b = a;
        step *= 2;
    }
}

/// Counts above 254 of one chunk's hits, which come in record order: each
/// is found by galloping on from the last.
pub(super) struct OverflowCursor<'a> {
    table: &'a [u8],
    at: u64,
    store: &'a Store,
}

impl<'a> OverflowCursor<'a> {
    pub(super) fn new(store: &'a Store) -> OverflowCursor<'a> {
        let s = store.header.overflow;
        OverflowCursor {
            table: &store.map[s.offset as usize..s.end() as usize],
            at: 0,
            store,
        }
    }

    pub(super) fn count(&mut self, index: u64) -> Result<u64> {
        let entries = (self.table.len() / 16) as u64;
        let found = gallop(self.at.min(entries), 0, entries, |e| {
            le_u64(self.table, 2 * e as usize) < index
        });
        if found == entries || le_u64(self.table, 2 * found as usize) != index {
            bail!(
                "store {}: corrupt overflow table (no count for a record that needs one); run `credaudit index verify` and rebuild it",
                self.store.path.display()
            );
        }
        self.at = found;
        Ok(le_u64(self.table, 2 * found as usize + 1))
    }
}

/// What the header's `tail_digest` covers: the table, then the coverage and
/// meta sections (the overflow table, read only for the counts of hits, is
/// checked by `index verify` and as it is read).
pub(super) fn tail_digest(table: &[u8], uncovered_and_meta: &[u8]) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(table);
    hasher.update(uncovered_and_meta);
    hasher.digest()
}

/// The table starts at 0, never decreases and ends at the entry count.
fn check_table(table: &[u8], entries: u64) -> Result<(), String> {
    let n = table.len() / 8;
    let mut prev = 0;
    for i in 0..n {
        let v = le_u64(table, i);
        if v < prev || (i == 0 && v != 0) {
            return Err(format!("corrupt table (entry {i} out of order)"));
        }
        prev = v;
    }
    if prev != entries {
        return Err("corrupt table (does not end at the entry count)".into());
    }
    Ok(())
}

fn read_uncovered(bytes: &[u8]) -> Result<Vec<(u64, u64)>, String> {
    let ranges: Vec<(u64, u64)> = (0..bytes.len() / 16)
        .map(|i| (le_u64(bytes, 2 * i), le_u64(bytes, 2 * i + 1)))
        .collect();
    let ordered = ranges.iter().all(|r| r.0 <= r.1) && ranges.windows(2).all(|w| w[0].1 < w[1].0);
    if !ordered {
        return Err("corrupt coverage section".into());
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Galloping from any guess, good or bad, finds what a binary search
    /// of the whole range finds.
    #[test]
    fn gallop_from_any_guess_is_a_lower_bound() {
        let values: Vec<u64> = (0..300u64).map(|i| i / 3 * 7).collect();
        for (lo, hi) in [(0, 300), (10, 11), (40, 40), (100, 299)] {
            for target in [0, 1, 7, 350, 694, 700, 10_000] {
                let before = |i: u64| values[i as usize] < target;
                let expected = partition(lo, hi, before);
                for guess in lo..=hi {
                    assert_eq!(
                        gallop(guess, lo, hi, before),
                        expected,
                        "{lo}..{hi} {target} {guess}"
                    );
                }
            }
        }
    }
}
