//! One Pwned Passwords file, `HEX:COUNT` lines sorted by hash: the 40+ GB
//! SHA-1 download or the NTLM one.
//!
//! The file is memory-mapped and never read whole. Two ways to answer:
//!
//! * **search**: an interpolation search per query. Hashes are uniformly
//!   distributed, so the position of a hash in the file is predicted from its
//!   value and a few probes find it. Queries are sorted, so each search
//!   starts where the last one ended. Cheap when queries are few.
//! * **merge**: one forward pass over every line, in parallel chunks,
//!   merged against the sorted queries. Cheap when queries are many, and it
//!   validates every line of the corpus.
//!
//! Either way, pages already passed are released (`MADV_DONTNEED`), so the
//! process's memory does not grow with the corpus. Every line read is checked
//! for format and order; a malformed, unsorted or truncated corpus is an
//! error naming the file and line, never a silent mis-search.
//!
//! A search reads only the lines it probes, so before the first search of a
//! file every line is checked once by the merge pass without queries, and
//! the verdict is stamped ([`super::corpus_stamp`]): verify once, trust
//! after. A file that covers less hash space than its density says (cut at
//! a line boundary, a part missing) makes the queries that fall outside it
//! unchecked ([`super::coverage`]).

use super::corpus_stamp::{Identity, Verdict};
use super::{
    file_facts, label, Answer, CorpusCheck, Hits, Lookup, LookupMethod, Source, SourceInfo,
    VerifyOptions,
};
use crate::coverage::{self, Density, Gap};
use crate::hash::{decode_hex, HashKind};
use crate::queryset::Hashes;
use crate::sorted_key::Key;
use anyhow::{anyhow, bail, Context, Result};
use memchr::memchr;
use memmap2::{Advice, Mmap, UncheckedAdvice};
use rayon::prelude::*;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Below this many bytes (four or five lines), a search scans lines
/// instead of probing.
const LINEAR_BYTES: usize = 192;
/// When a search part ends, its pages are released from this many bytes
/// before its first position to this many after its last: the probes that
/// strayed past either end touched them too.
const RELEASE_MARGIN: usize = 4096;
/// Release pages behind the search every this many bytes.
const RELEASE_STEP: usize = 64 << 20;
/// Merge chunk size.
const MERGE_CHUNK: usize = 16 << 20;
/// Cache lines prefetched around the guess for the next query: the
/// interpolation misses by ~7 corpus lines (~320 bytes) at the benchmark's
/// one query per 100 lines; 10 measured best (2 to 16 tried).
const PREFETCH_LINES: usize = 10;
/// Lines sampled at open, evenly over the bytes: to catch a file not sorted
/// by hash, and to measure its density (line length, coverage).
const DENSITY_SAMPLES: usize = 256;
/// Auto picks merge when there is at least one query per this many lines.
/// Measured on the benchmark corpora: at one query per line merge takes
/// half the time of search, at one per 10 lines search takes 0.8 of merge's.
const MERGE_WHEN_LINES_PER_QUERY_BELOW: u64 = 4;

pub struct SortedFile {
    path: PathBuf,
    name: String,
    map: Mmap,
    kind: [HashKind; 1],
    method: LookupMethod,
    avg_line: usize,
    /// Lines (estimated from the samples until a pass counts them), first
    /// and last key.
    density: Density,
    /// Coverage gaps seen at open: the ends, and holes in the segments the
    /// samples flagged.
    sampled_gaps: Vec<Gap>,
    identity: Identity,
    verify: VerifyOptions,
    /// How every line came to be trusted, once the first lookup asked.
    verified: Mutex<Option<Verified>>,
}

/// How a file's lines came to be trusted, and what that found.
#[derive(Clone)]
struct Verified {
    how: &'static str,
    /// Exact line count and coverage gaps (None with `--trust-corpus`).
    verdict: Option<Verdict>,
}

/// Where a search stands: every line before `lo` (a line start) sorts
/// before the next query; `klo` is the key of the line just before `lo`.
struct Position {
    lo: usize,
    klo: Key,
}

/// What the merge found in one chunk of the file.
struct MergedChunk {
    hits: Hits,
    lines: u64,
    /// First and last key of the chunk, to check order across chunks.
    bounds: Option<(Key, Key)>,
    /// Gaps between consecutive lines at least as long as asked for.
    gaps: Vec<Gap>,
}

/// What a merge pass over the whole file found.
struct Merged {
    hits: Hits,
    verdict: Verdict,
}

impl SortedFile {
    pub fn open(path: &Path, method: LookupMethod, verify: &VerifyOptions) -> Result<SortedFile> {
        let file =
            File::open(path).with_context(|| format!("cannot open corpus {}", path.display()))?;
        let len = file.metadata()?.len();
        if len == 0 {
            bail!("corpus {} is empty", path.display());
        }
        // SAFETY: the map is read-only; a corpus truncated underneath a run
        // is outside what any reader of a file can defend against.
        let map = unsafe { Mmap::map(&file) }
            .with_context(|| format!("cannot map corpus {}", path.display()))?;
        if map.starts_with(&[0x1f, 0x8b]) || map.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            bail!(
                "corpus {} is compressed: decompress it first (credaudit searches the corpus in place)",
                path.display()
            );
        }
        let first_end = memchr(b'\n', &map).unwrap_or(map.len());
        let first = &map[..first_end];
        let width = first.iter().position(|&b| b == b':').unwrap_or(0);
        let Some(kind) = HashKind::from_hex_len(width) else {
            bail!(
                "{}:1: not a Pwned Passwords line: expected HASH:COUNT with a 40-hex SHA-1 or 32-hex NTLM hash",
                path.display()
            );
        };
        let identity = Identity::of(&file.metadata()?, &map);
        let mut corpus = SortedFile {
            path: path.to_path_buf(),
            name: label(path),
            map,
            kind: [kind],
            method,
            avg_line: first_end + 1,
            density: Density {
                lines: 1,
                first: Key::default(),
                last: Key::default(),
            },
            sampled_gaps: Vec::new(),
            identity,
            verify: verify.clone(),
            verified: Mutex::new(None),
        };
        let first = corpus.key_at(0)?.0;
        let last = corpus.check_last_line()?;
        let samples = corpus.sample_in_order(last)?;
        corpus.density = Density {
            lines: corpus.estimate_lines(&samples),
            first,
            last: corpus.key_at(last)?.0,
        };
        corpus.sampled_gaps = corpus.sampled_gaps(&samples)?;
        // The samples and the identity's blocks touched a few hundred
        // scattered pages (each with its fault-around): let them go.
        corpus.release(0, corpus.map.len());
        Ok(corpus)
    }

    fn hex_width(&self) -> usize {
        self.kind[0].hex_len()
    }

    fn bytes(&self) -> usize {
        self.kind[0].bytes()
    }

    /// 1-based line number of the line starting at `offset` (error paths only).
    fn line_number(&self, offset: usize) -> u64 {
        memchr::memchr_iter(b'\n', &self.map[..offset]).count() as u64 + 1
    }

    /// Parse the line starting at `start`: its key, count and the offset just
    /// past its newline.
    #[inline(always)]
    fn key_at(&self, start: usize) -> Result<(Key, u64, usize)> {
        // The hot path of every lookup: parse in place, without searching
        // for the line end first (the line rules of `crate::hibp::body::split_line`, for whole hashes).
        let line = &self.map[start..];
        let width = self.hex_width();
        let mut bytes = [0u8; 20];
        if line.len() > width
            && line[width] == b':'
            && decode_hex(&line[..width], &mut bytes[..self.bytes()])
        {
            let key = Key::new(&bytes[..self.bytes()]);
            let (mut count, mut len) = (0u64, 0);
            for &d in line[width + 1..].iter().take(20) {
                if !d.is_ascii_digit() {
                    break;
                }
                count = count.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                len += 1;
            }
            let after = width + 1 + len;
            let next = match (line.get(after), line.get(after + 1)) {
                (None, _) => Some(after),
                (Some(b'\n'), _) => Some(after + 1),
                (Some(b'\r'), Some(b'\n')) => Some(after + 2),
                (Some(b'\r'), None) => Some(after + 1),
                _ => None,
            };
            if let Some(next) = next.filter(|_| (1..=19).contains(&len)) {
                return Ok((key, count, start + next));
            }
        }
        Err(self.malformed(start))
    }

    fn malformed(&self, offset: usize) -> anyhow::Error {
        anyhow!(
            "{}:{}: malformed corpus line: expected {}-hex {} hash, ':' and a count",
            self.path.display(),
            self.line_number(offset),
            self.hex_width(),
            self.kind[0]
        )
    }

    fn duplicate(&self, offset: usize) -> anyhow::Error {
        anyhow!(
            "{}:{}: duplicate corpus line: the same hash as the line before",
            self.path.display(),
            self.line_number(offset)
        )
    }

    fn unsorted(&self, offset: usize) -> anyhow::Error {
        anyhow!(
            "{}:{}: corpus is not sorted by hash (this line sorts before an earlier one); \
             use the hash-ordered download or sort it with `LC_ALL=C sort`",
            self.path.display(),
            self.line_number(offset)
        )
    }

    /// A download cut mid-line ends in a partial line: parse the last line,
    /// and return where it starts. (A file cut at a line boundary parses;
    /// that is a coverage gap, see [`coverage`].)
    fn check_last_line(&self) -> Result<usize> {
        let data = &self.map[..];
        let body = data.strip_suffix(b"\n").unwrap_or(data);
        let start = memchr::memrchr(b'\n', body).map_or(0, |p| p + 1);
        self.key_at(start).map(|_| start).map_err(|_| {
            anyhow!(
                "{}:{}: last line is incomplete: the corpus looks truncated",
                self.path.display(),
                self.line_number(start)
            )
        })
    }

    /// Lines sampled evenly across the file's bytes, and the last line
    /// (which starts at `last`), as (line start, key, line length). They
    /// must be in ascending order: catches the "ordered by prevalence"
    /// download and shuffled files at open.
    fn sample_in_order(&self, last: usize) -> Result<Vec<(usize, Key, usize)>> {
        let len = self.map.len();
        let mut samples: Vec<(usize, Key, usize)> = Vec::new();
        let evenly = (0..DENSITY_SAMPLES)
            .map(|i| (len as u128 * i as u128 / DENSITY_SAMPLES as u128) as usize)
            .filter_map(|at| self.line_start_from(at, len));
        for start in evenly.chain([last]) {
            if samples.last().is_some_and(|s| s.0 >= start) {
                continue;
            }
            let (key, _, next) = self.key_at(start)?;
            if samples.last().is_some_and(|s| key < s.1) {
                return Err(self.unsorted(start));
            }
            samples.push((start, key, next - start));
        }
        Ok(samples)
    }

    /// Lines in the file, from the sampled line lengths.
    fn estimate_lines(&self, samples: &[(usize, Key, usize)]) -> u64 {
        let sampled: usize = samples.iter().map(|s| s.2).sum();
        let avg = sampled as f64 / samples.len().max(1) as f64;
        ((self.map.len() as f64 / avg.max(1.0)).round() as u64).max(1)
    }

    /// The coverage gaps the samples show: the ends, and the holes in any
    /// segment between two samples that spans far more hash space than its
    /// share of the bytes allows (only those segments are scanned).
    fn sampled_gaps(&self, samples: &[(usize, Key, usize)]) -> Result<Vec<Gap>> {
        let mut gaps = self.density.end_gaps();
        let len = self.map.len() as f64;
        let hole = self.density.hole_length();
        let none = Hashes::new(self.bytes(), &[]);
        for pair in samples.windows(2) {
            let ((from, k1, _), (to, k2, to_len)) = (pair[0], pair[1]);
            let share = (to - from) as f64 / len;
            if self.density.segment_suspicious(share, k2.top() - k1.top()) {
                gaps.extend(self.merge_chunk(from, to + to_len, none, hole)?.gaps);
            }
        }
        Ok(gaps)
    }

    /// The first line start at or after `at` and before `limit`.
    #[inline]
    fn line_start_from(&self, at: usize, limit: usize) -> Option<usize> {
        if at >= limit {
            return None;
        }
        if at == 0 {
            return Some(0);
        }
        // Lines are ~45 bytes: one or two 16-byte compares usually find
        // the next one, before a general search would have set up.
        let window = &self.map[at - 1..limit];
        let near = newline_in_first_64(window);
        let s = near.or_else(|| memchr(b'\n', window)).map(|p| at + p)?;
        (s < limit).then_some(s)
    }

    fn release(&self, from: usize, to: usize) {
        let page = 4096;
        let start = from.div_ceil(page) * page;
        let end = to / page * page;
        if end > start {
            // SAFETY: the map is a read-only, file-backed shared mapping;
            // dropping its pages only makes the next access read them again
            // from the page cache.
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(UncheckedAdvice::DontNeed, start, end - start)
            };
        }
    }

    fn choose_method(&self, queries: usize) -> LookupMethod {
        match self.method {
            LookupMethod::Auto => {
                let lines = (self.map.len() / self.avg_line.max(1)) as u64;
                if (queries as u64).saturating_mul(MERGE_WHEN_LINES_PER_QUERY_BELOW) >= lines {
                    LookupMethod::Merge
                } else {
                    LookupMethod::Search
                }
            }
            chosen => chosen,
        }
    }

    /// Search the sorted queries `range`, each from where the last ended.
    fn search_part(
        &self,
        hashes: Hashes<'_>,
        range: std::ops::Range<usize>,
        query: &Lookup<'_>,
    ) -> Result<Hits> {
        let mut hits = Vec::new();
        let mut at = Position {
            lo: 0,
            klo: Key::default(),
        };
        let mut first: Option<usize> = None;
        let mut released = 0;
        let end = range.end;
        for (done, qi) in range.enumerate() {
            if qi + 1 < end {
                self.prefetch_guess(Key::new(hashes.get(qi + 1)), &at);
            }
            if let Some(count) = self.find(Key::new(hashes.get(qi)), &mut at)? {
                hits.push((qi, Some(count)));
            }
            let start = *first.get_or_insert(at.lo);
            released = released.max(start);
            if at.lo - released >= RELEASE_STEP {
                self.release(released, at.lo);
                released = at.lo;
            }
            if done % 4096 == 4095 {
                query.progress.inc(4096);
            }
        }
        if let Some(start) = first {
            self.release(start.saturating_sub(RELEASE_MARGIN), at.lo + RELEASE_MARGIN);
        }
        Ok(hits)
    }

    /// Ask the CPU to start loading where the next query will probably
    /// land, so its memory latency overlaps the current search: the cache
    /// lines either side of the guess, as far as it typically misses.
    #[inline]
    fn prefetch_guess(&self, key: Key, at: &Position) {
        let len = self.map.len();
        if len - at.lo <= LINEAR_BYTES {
            return;
        }
        let guess = interpolate(key, at.klo, Key::MAX, at.lo, len, self.avg_line);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: every address is clamped into the map (`min(len - 1)`);
        // prefetching has no effect on program state and never faults.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let from = guess.saturating_sub(64 * (PREFETCH_LINES / 2));
            for i in 0..=PREFETCH_LINES {
                let p = self.map.as_ptr().add((from + 64 * i).min(len - 1));
                _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
            }
        }
    }

    /// Parse the line at `start` and check it sorts within `[klo, khi]`.
    #[inline]
    fn probe(&self, start: usize, klo: Key, khi: Key) -> Result<(Key, u64, usize)> {
        let (k, count, next) = self.key_at(start)?;
        if k < klo || k > khi {
            return Err(self.unsorted(start));
        }
        Ok((k, count, next))
    }

    /// The first galloping step away from an interpolated probe `distance`
    /// bytes past the last position. With uniformly distributed hashes the
    /// number of lines before the key is binomial, so the probe misses by
    /// about the square root of the lines it skipped: step a quarter of that
    /// (measured best on the 100M-line benchmark corpus; larger first steps
    /// leave longer brackets to narrow) and double from there.
    #[inline]
    fn first_step(&self, distance: usize) -> usize {
        let avg = self.avg_line.max(1);
        avg * ((distance / avg).isqrt() / 4 + 1)
    }

    /// Find `key` at or after `at`, and move `at` past every line that sorts
    /// before it (and past the key itself when found).
    ///
    /// One interpolated probe predicts the line; galloping away from it in
    /// doubling steps from [`Self::first_step`] brackets the key closely;
    /// interpolation (bisection when it stalls) narrows the bracket; a short
    /// scan finishes. Sorted queries are close together, so the probes stay
    /// on pages just read.
    fn find(&self, key: Key, at: &mut Position) -> Result<Option<u64>> {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let len = self.map.len();
        let (mut hi, mut khi) = (len, Key::MAX);
        if hi - at.lo > LINEAR_BYTES {
            let guess = interpolate(key, at.klo, khi, at.lo, hi, self.avg_line);
            if let Some(s) = self.line_start_from(guess, hi) {
                let (k, count, next) = self.probe(s, at.klo, khi)?;
                let mut step = self.first_step(s - at.lo);
                match k.cmp(&key) {
                    Equal => {
                        (at.lo, at.klo) = (next, k);
                        return Ok(Some(count));
                    }
                    Less => {
                        (at.lo, at.klo) = (next, k);
                        while let Some(s2) = self.line_start_from(at.lo + step, hi) {
                            let (k2, c2, n2) = self.probe(s2, at.klo, khi)?;
                            match k2.cmp(&key) {
                                Less => (at.lo, at.klo) = (n2, k2),
                                Equal => {
                                    (at.lo, at.klo) = (n2, k2);
                                    return Ok(Some(c2));
                                }
                                Greater => {
                                    (hi, khi) = (s2, k2);
                                    break;
                                }
                            }
                            step *= 2;
                        }
                    }
                    Greater => {
                        (hi, khi) = (s, k);
                        while hi - at.lo > step {
                            let Some(s2) = self.line_start_from(hi - step, hi) else {
                                break;
                            };
                            let (k2, c2, n2) = self.probe(s2, at.klo, khi)?;
                            match k2.cmp(&key) {
                                Greater => (hi, khi) = (s2, k2),
                                Equal => {
                                    (at.lo, at.klo) = (n2, k2);
                                    return Ok(Some(c2));
                                }
                                Less => {
                                    (at.lo, at.klo) = (n2, k2);
                                    break;
                                }
                            }
                            step *= 2;
                        }
                    }
                }
            }
        }
        let mut bisect = false;
        while hi - at.lo > LINEAR_BYTES {
            let width = hi - at.lo;
            let probe = if bisect {
                at.lo + width / 2
            } else {
                interpolate(key, at.klo, khi, at.lo, hi, self.avg_line)
            };
            let Some(s) = self.line_start_from(probe.max(at.lo + 1), hi) else {
                if bisect {
                    break; // one long line: scan what is left
                }
                bisect = true;
                continue;
            };
            let (k, count, next) = self.probe(s, at.klo, khi)?;
            match k.cmp(&key) {
                Equal => {
                    (at.lo, at.klo) = (next, k);
                    return Ok(Some(count));
                }
                Greater => (hi, khi) = (s, k),
                Less => (at.lo, at.klo) = (next, k),
            }
            bisect = hi - at.lo > width / 2;
        }
        let mut line = at.lo;
        while line < hi {
            let (k, count, next) = self.probe(line, at.klo, khi)?;
            match k.cmp(&key) {
                Less => {
                    (at.lo, at.klo) = (next, k);
                    line = next;
                }
                Equal => {
                    (at.lo, at.klo) = (next, k);
                    return Ok(Some(count));
                }
                Greater => break,
            }
        }
        Ok(None)
    }

    /// The coverage gaps known: the exact ones of a pass (or its stamp),
    /// else those the samples showed.
    fn gaps(&self) -> Vec<Gap> {
        let verified = self.verified.lock().expect("no panic while verifying");
        match verified.as_ref().and_then(|v| v.verdict.as_ref()) {
            Some(verdict) => verdict.gaps.clone(),
            None => self.sampled_gaps.clone(),
        }
    }

    /// The density with the exact line count once a pass counted it.
    fn verified_density(&self) -> Density {
        let verified = self.verified.lock().expect("no panic while verifying");
        match verified.as_ref().and_then(|v| v.verdict.as_ref()) {
            Some(verdict) => Density {
                lines: verdict.lines,
                ..self.density
            },
            None => self.density,
        }
    }

    fn search(&self, query: &Lookup<'_>) -> Result<Answer> {
        // Not MADV_RANDOM: that turns off fault-around, and sorted queries
        // touch neighbouring pages, which fault-around maps 16 at a time.
        let _ = self.map.advise(Advice::Normal);
        let total = query.hashes.len();
        let parts = (rayon::current_num_threads() * 4).min(total.max(1));
        let bounds: Vec<usize> = (0..=parts).map(|i| total * i / parts).collect();
        let found: Vec<Hits> = bounds
            .par_windows(2)
            .map(|w| self.search_part(query.hashes, w[0]..w[1], query))
            .collect::<Result<_>>()?;
        Ok(Answer {
            hits: found.into_iter().flatten().collect(),
            method: "search",
            ..Answer::default()
        })
    }

    /// Merge one chunk `[start, end)` (line-aligned) against the queries,
    /// checking every line (format, strict order), and note the gaps of at
    /// least `hole` (top 64 bits) between consecutive lines.
    fn merge_chunk(
        &self,
        start: usize,
        end: usize,
        hashes: Hashes<'_>,
        hole: u64,
    ) -> Result<MergedChunk> {
        let mut gaps = Vec::new();
        let mut hits = Vec::new();
        let mut lines = 0u64;
        let mut at = start;
        let mut qi = 0;
        let mut first: Option<Key> = None;
        let mut prev = Key::default();
        // The query at `qi`, or MAX past the last one.
        let query = |qi: usize| {
            if qi < hashes.len() {
                Key::new(hashes.get(qi))
            } else {
                Key::MAX
            }
        };
        let mut q = Key::MAX;
        while at < end {
            let (key, count, next) = self.key_at(at)?;
            match first {
                None => {
                    first = Some(key);
                    qi = hashes.lower_bound(&key.bytes()[..self.bytes()]);
                    q = query(qi);
                }
                Some(_) if key < prev => return Err(self.unsorted(at)),
                Some(_) if key == prev => return Err(self.duplicate(at)),
                Some(_) if key.top() - prev.top() >= hole => gaps.push(Gap {
                    after: Some(prev),
                    before: Some(key),
                }),
                Some(_) => {}
            }
            while q < key {
                qi += 1;
                q = query(qi);
            }
            if q == key && qi < hashes.len() {
                hits.push((qi, Some(count)));
            }
            prev = key;
            lines += 1;
            at = next;
        }
        self.release(start, end);
        Ok(MergedChunk {
            hits,
            lines,
            bounds: first.map(|f| (f, prev)),
            gaps,
        })
    }

    /// One pass over every line, in parallel chunks: the hits of `query`,
    /// and the verdict on the whole file (line count, coverage gaps).
    fn merge(&self, query: &Lookup<'_>) -> Result<Merged> {
        let _ = self.map.advise(Advice::Sequential);
        let len = self.map.len();
        let mut starts = vec![0usize];
        let mut at = MERGE_CHUNK;
        while at < len {
            match self.line_start_from(at, len) {
                Some(s) if s > *starts.last().expect("starts is not empty") => {
                    starts.push(s);
                    at = s + MERGE_CHUNK;
                }
                _ => break,
            }
        }
        starts.push(len);
        let chunk_len = |i: usize| (starts[i + 1] - starts[i]) as u64;
        let total_bytes = len as u64;
        let per_byte = query.hashes.len() as f64 / total_bytes.max(1) as f64;
        // The line count is an estimate until this pass: note every gap
        // of half the hole length, and keep the real holes at the end.
        let note = self.density.hole_length() / 2;
        let results: Vec<_> = (0..starts.len() - 1)
            .into_par_iter()
            .map(|i| {
                let r = self.merge_chunk(starts[i], starts[i + 1], query.hashes, note);
                query
                    .progress
                    .inc((chunk_len(i) as f64 * per_byte).round() as u64);
                r
            })
            .collect::<Result<_>>()?;
        let mut merged_hits = Vec::new();
        let (mut lines, mut noted) = (0, Vec::new());
        let mut last: Option<Key> = None;
        for (i, chunk) in results.into_iter().enumerate() {
            if let (Some(prev), Some((first, _))) = (last, chunk.bounds) {
                if first < prev {
                    return Err(self.unsorted(starts[i]));
                }
                if first == prev {
                    return Err(self.duplicate(starts[i]));
                }
                if first.top() - prev.top() >= note {
                    noted.push(Gap {
                        after: Some(prev),
                        before: Some(first),
                    });
                }
            }
            if let Some((_, chunk_last)) = chunk.bounds {
                last = Some(chunk_last);
            }
            merged_hits.extend(chunk.hits);
            noted.extend(chunk.gaps);
            lines += chunk.lines;
        }
        let density = Density {
            lines,
            ..self.density
        };
        let hole = density.hole_length();
        let mut gaps = density.end_gaps();
        gaps.extend(noted.into_iter().filter(|g| {
            let (a, b) = (g.after.unwrap_or_default(), g.before.unwrap_or(Key::MAX));
            b.top() - a.top() >= hole
        }));
        Ok(Merged {
            hits: merged_hits,
            verdict: Verdict { lines, gaps },
        })
    }

    /// Make sure every line has been checked once (by a pass now, or by a
    /// stamp of an earlier one, or `--trust-corpus` said not to), before a
    /// search relies on the lines it does not read.
    fn verify_once(&self, progress: &indicatif::ProgressBar) -> Result<Verified> {
        let mut state = self.verified.lock().expect("no panic while verifying");
        if let Some(v) = state.as_ref() {
            return Ok(v.clone());
        }
        let verified = if self.verify.trust {
            Verified {
                how: "trusted (--trust-corpus): lines off the search path were not checked",
                verdict: None,
            }
        } else if let Some(verdict) = self
            .verify
            .stamps
            .as_ref()
            .and_then(|d| d.load(&self.identity, self.kind[0]))
        {
            Verified {
                how: "stamp of an earlier full pass",
                verdict: Some(verdict),
            }
        } else {
            let message = progress.message();
            progress.set_message(format!("verifying every line of {} (once)", self.name));
            let none = Hashes::new(self.bytes(), &[]);
            let merged = self.merge(&Lookup {
                kind: self.kind[0],
                hashes: none,
                progress,
            })?;
            progress.set_message(message);
            self.passed(merged.verdict)
        };
        *state = Some(verified.clone());
        Ok(verified)
    }

    /// A full pass checked every line: stamp it, so the next run skips it.
    fn passed(&self, verdict: Verdict) -> Verified {
        if let Some(stamps) = &self.verify.stamps {
            // A stamp that cannot be written costs the next run a pass,
            // nothing more.
            let _ = stamps.save(&self.path, &self.identity, self.kind[0], &verdict);
        }
        Verified {
            how: "full pass",
            verdict: Some(verdict),
        }
    }
}

/// The first `\n` in the first 64 bytes of `data`, if any.
#[inline]
fn newline_in_first_64(data: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= 64 {
        use std::arch::x86_64::*;
        for chunk in 0..4 {
            // SAFETY: SSE2 is part of x86-64; the load reads 16 of the 64
            // bytes checked above.
            let mask = unsafe {
                let bytes = _mm_loadu_si128(data.as_ptr().add(16 * chunk).cast());
                _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\n' as i8)))
            };
            if mask != 0 {
                return Some(16 * chunk + mask.trailing_zeros() as usize);
            }
        }
        return None;
    }
    data.iter().take(64).position(|&b| b == b'\n')
}

/// Predict where `key` sits in `[lo, hi)` from the keys bounding it, aiming
/// half a line early since the probe moves forward to the next line start.
#[inline]
fn interpolate(key: Key, klo: Key, khi: Key, lo: usize, hi: usize, avg_line: usize) -> usize {
    let (v, a, b) = (key.top(), klo.top(), khi.top());
    if b <= a || v <= a {
        return lo + 1;
    }
    let width = (hi - lo) as u128;
    let offset = (width * u128::from(v - a) / u128::from(b - a)) as usize;
    (lo + offset)
        .saturating_sub(avg_line / 2)
        .clamp(lo + 1, hi - 1)
}

impl Source for SortedFile {
    fn name(&self) -> &str {
        &self.name
    }

    fn kinds(&self) -> &[HashKind] {
        &self.kind
    }

    fn counts(&self) -> bool {
        true
    }

    fn lookup(&self, query: &Lookup<'_>) -> Result<Answer> {
        if query.kind != self.kind[0] || query.hashes.is_empty() {
            return Ok(Answer::default());
        }
        let mut answer = match self.choose_method(query.hashes.len()) {
            LookupMethod::Merge => {
                // A merge checks every line: it is the verifying pass.
                let merged = self.merge(query)?;
                let lines = merged.verdict.lines;
                let mut state = self.verified.lock().expect("no panic while verifying");
                if state.as_ref().is_none_or(|v| v.verdict.is_none()) {
                    *state = Some(self.passed(merged.verdict));
                }
                Answer {
                    hits: merged.hits,
                    method: "merge",
                    lines_read: Some(lines),
                    ..Answer::default()
                }
            }
            _ => {
                let verified = self.verify_once(query.progress)?;
                let mut answer = self.search(query)?;
                answer.lines_read = verified.verdict.map(|v| v.lines);
                answer
            }
        };
        let gaps = self.gaps();
        answer.unchecked = coverage::unchecked(query.hashes, &gaps);
        if !answer.unchecked.is_empty() {
            let density = self.verified_density();
            answer.warning = Some(coverage::describe(
                &self.name,
                &density,
                &gaps,
                answer.unchecked.len(),
            ));
        }
        Ok(answer)
    }

    fn info(&self) -> SourceInfo {
        let (size, modified) = file_facts(&self.path);
        let verified = self.verified.lock().expect("no panic while verifying");
        let entries = verified
            .as_ref()
            .and_then(|v| v.verdict.as_ref())
            .map(|v| v.lines);
        drop(verified);
        SourceInfo {
            kind: "hibp-file",
            name: self.name.clone(),
            path: Some(self.path.clone()),
            hash_kinds: self.kind.to_vec(),
            size_bytes: size,
            modified_unix: modified,
            entries,
            words_before_expansion: None,
        }
    }

    fn corpus_check(&self) -> Option<CorpusCheck> {
        let how = self
            .verified
            .lock()
            .expect("no panic while verifying")
            .as_ref()
            .map(|v| v.how);
        Some(CorpusCheck {
            verification: how,
            coverage_gaps: self.gaps().iter().map(Gap::prefixes).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::encode_hex;
    use indicatif::ProgressBar;
    use std::collections::BTreeMap;
    use std::io::Write;

    /// xorshift64*: deterministic keys without a dependency.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn key(state: &mut u64) -> [u8; 20] {
        let mut k = [0u8; 20];
        for chunk in k.chunks_mut(8) {
            let bytes = next(state).to_be_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        k
    }

    /// Regression (fuzz target `sorted_corpus`): a hash on two lines made
    /// merge report it twice. Merge, and the verifying pass before a
    /// search, refuse the file, naming the line and not the hash; a trusted
    /// search, which reads only the lines it probes, reports the hash once.
    #[test]
    fn a_hash_listed_twice_is_refused_by_the_full_pass() {
        let hex = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8";
        let mut file = tempfile::NamedTempFile::new().unwrap();
        write!(file, "{hex}:1\r\n{hex}:1").unwrap();
        file.flush().unwrap();
        let mut query = [0u8; 20];
        assert!(decode_hex(hex.as_bytes(), &mut query));
        let bar = ProgressBar::hidden();
        let lookup = Lookup {
            kind: HashKind::Sha1,
            hashes: Hashes::new(20, &query),
            progress: &bar,
        };
        let trusted = VerifyOptions {
            trust: true,
            stamps: None,
        };
        let search = SortedFile::open(file.path(), LookupMethod::Search, &trusted).unwrap();
        assert_eq!(search.lookup(&lookup).unwrap().hits, [(0, Some(1))]);
        for method in [LookupMethod::Search, LookupMethod::Merge] {
            let verified =
                SortedFile::open(file.path(), method, &VerifyOptions::default()).unwrap();
            let error = verified.lookup(&lookup).unwrap_err().to_string();
            assert!(error.contains(":2: duplicate corpus line"), "{error}");
            assert!(!error.contains(hex), "{error}");
        }
    }

    /// Search and merge both give exactly the brute-force answer, for query
    /// sets from very sparse (long interpolation jumps) to denser than the
    /// corpus lines (every probe a neighbour), with counts of every width.
    #[test]
    fn search_and_merge_find_exactly_the_corpus_keys() {
        let mut state = 0x9E37_79B9_7F4A_7C15;
        let corpus: BTreeMap<[u8; 20], u64> = (0..40_000)
            .map(|i| (key(&mut state), [1, 42, 7_000_000, u64::MAX / 4][i % 4]))
            .collect();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        for (k, c) in &corpus {
            write!(file, "{}:{c}\r\n", encode_hex(k)).unwrap();
        }
        file.flush().unwrap();
        let keys: Vec<&[u8; 20]> = corpus.keys().collect();
        for (stride, absent) in [(4_000, 3), (97, 50), (3, 1_000), (1, 40_000)] {
            let mut queries: Vec<[u8; 20]> = keys.iter().step_by(stride).map(|k| **k).collect();
            queries.extend((0..absent).map(|_| key(&mut state)));
            queries.sort_unstable();
            queries.dedup();
            let expected: Vec<(usize, Option<u64>)> = queries
                .iter()
                .enumerate()
                .filter_map(|(i, q)| corpus.get(q).map(|c| (i, Some(*c))))
                .collect();
            let flat = queries.concat();
            let bar = ProgressBar::hidden();
            let lookup = Lookup {
                kind: HashKind::Sha1,
                hashes: Hashes::new(20, &flat),
                progress: &bar,
            };
            for method in [LookupMethod::Search, LookupMethod::Merge] {
                let source =
                    SortedFile::open(file.path(), method, &VerifyOptions::default()).unwrap();
                let mut hits = source.lookup(&lookup).unwrap().hits;
                hits.sort_unstable();
                assert_eq!(hits, expected, "stride {stride}, {method:?}");
            }
        }
    }
}
