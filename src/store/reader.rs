//! Opening a store safely and answering sorted queries from it.
//!
//! Opening never trusts the file: the header is read (not mapped) and
//! checked, the file's length must be exactly what the header says before
//! anything is mapped (a truncated store is an error, never a SIGBUS), and
//! the small sections (table, overflow, coverage, meta) are checksummed and
//! checked for order. The records are checked by `index verify`.
//!
//! A lookup takes the queries in sorted chunks on every core. Each query
//! reads two table entries and binary-searches its bucket (about 60 records
//! at a billion hashes, a few cache lines). A chunk whose queries will touch
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
    map: Mmap,
    header: Header,
    meta: Meta,
    /// Inclusive stretches of the top 64 bits of a hash without data.
    uncovered: Vec<(u64, u64)>,
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
        let tail = &map[header.table.offset as usize..header.checksums.offset as usize];
        if xxh3_64(tail) != header.tail_digest {
            return Err(fail(
                "corrupt table, overflow, coverage or meta section (checksum mismatch); rebuild it"
                    .into(),
            ));
        }
        let section = |s: Section| &map[s.offset as usize..s.end() as usize];
        check_table(section(header.table), header.entries).map_err(fail)?;
        check_overflow(section(header.overflow), header.entries).map_err(fail)?;
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
    /// the store's kind.
    pub fn lookup(&self, hashes: Hashes<'_>, progress: &ProgressBar) -> Found {
        let n = hashes.len();
        if n == 0 {
            return Found::default();
        }
        let hits: Vec<(usize, u64)> = (0..n.div_ceil(QUERY_CHUNK))
            .into_par_iter()
            .flat_map_iter(|c| {
                let range = c * QUERY_CHUNK..n.min((c + 1) * QUERY_CHUNK);
                progress.inc(range.len() as u64);
                self.lookup_chunk(hashes, range)
            })
            .collect();
        let unchecked = self.uncovered_queries(hashes, &hits);
        Found { hits, unchecked }
    }

    fn table_at(&self, bucket: usize) -> u64 {
        let at = self.header.table.offset as usize + 8 * bucket;
        le_u64(&self.map[at..at + 8], 0)
    }

    fn record(&self, index: u64) -> &[u8] {
        let rb = self.header.shape.record_bytes();
        let at = HEADER_LEN as usize + index as usize * rb;
        &self.map[at..at + rb]
    }

    /// The count of record `index`, whose count byte is `byte`.
    fn count(&self, index: u64, byte: u8) -> u64 {
        if byte != OVERFLOW {
            return u64::from(byte);
        }
        let s = self.header.overflow;
        let table = &self.map[s.offset as usize..s.end() as usize];
        let entries = table.len() / 16;
        let pos = partition(0, entries as u64, |i| le_u64(table, 2 * i as usize) < index);
        // Every OVERFLOW byte has its entry: the build writes both.
        le_u64(table, 2 * pos as usize + 1)
    }

    fn lookup_chunk(&self, hashes: Hashes<'_>, range: std::ops::Range<usize>) -> Vec<(usize, u64)> {
        let shape = self.header.shape;
        let kb = shape.key_bytes;
        let first = shape.bucket(hashes.get(range.start));
        let last = shape.bucket(hashes.get(range.end - 1));
        let rb = shape.record_bytes();
        let from = HEADER_LEN as usize + self.table_at(first) as usize * rb;
        let to = HEADER_LEN as usize + self.table_at(last + 1) as usize * rb;
        if range.len() as f64 >= READ_AHEAD_SHARE * ((to - from) / PAGE) as f64 {
            let _ = self.map.advise_range(Advice::WillNeed, from, to - from);
        }
        let mut hits = Vec::new();
        for qi in range {
            let hash = hashes.get(qi);
            let bucket = shape.bucket(hash);
            let key = shape.key(hash);
            let (lo, hi) = (self.table_at(bucket), self.table_at(bucket + 1));
            let mut i = partition(lo, hi, |i| &self.record(i)[..kb] < key);
            let mut best: Option<u64> = None;
            // Two hashes that share their first 64 bits have equal truncated
            // keys: a hit on either is a hit, with the larger count.
            while i < hi && &self.record(i)[..kb] == key {
                let count = self.count(i, self.record(i)[kb]);
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
        hits
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

    fn release(&self, from: usize, to: usize) {
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
/// then false along the range).
#[inline]
fn partition(mut lo: u64, mut hi: u64, before: impl Fn(u64) -> bool) -> u64 {
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

/// Overflow entries are in ascending record order, inside the records, and
/// above the inline counts.
fn check_overflow(overflow: &[u8], entries: u64) -> Result<(), String> {
    let mut prev: Option<u64> = None;
    for i in 0..overflow.len() / 16 {
        let (index, count) = (le_u64(overflow, 2 * i), le_u64(overflow, 2 * i + 1));
        if index >= entries
            || prev.is_some_and(|p| index <= p)
            || count <= super::layout::INLINE_MAX
        {
            return Err(format!("corrupt overflow table (entry {i})"));
        }
        prev = Some(index);
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
