//! Turning one chunk of corpus text into records, on a worker thread.
//!
//! A chunk is whole lines of a sorted file, or whole prefix files of a
//! mirror. Every line is checked here (format, width, strict order, no
//! duplicates) and becomes a record in the store's shape; everything the
//! assembler needs to stitch chunks together in order (first and last key,
//! bucket and prefix counts, overflow counts, coverage gaps) travels with
//! the records, so that the one serial thread only copies bytes.

use super::super::layout::{Shape, INLINE_MAX, OVERFLOW};
use crate::hash::HashKind;
use crate::hibp::{body, prefix};
use crate::sorted_key::Key;
use std::path::PathBuf;

/// A gap between neighbouring lines this many times the chunk's mean gap
/// is kept as a candidate coverage hole; the assembler keeps those longer
/// than the corpus-wide rule ([`crate::coverage`], at least 20 mean gaps).
const CANDIDATE_GAP_MEAN_GAPS: u64 = 8;
/// Chunks with fewer lines keep every gap.
const FEW_LINES: usize = 16;

/// One unit of work, in source order.
pub(super) struct Job {
    pub seq: u64,
    pub source: usize,
    pub body: Body,
}

pub(super) enum Body {
    /// Whole `HASH:COUNT` lines of a sorted file.
    Lines(Lines),
    /// Whole prefix files of a mirror, in prefix order.
    PrefixFiles(Vec<PrefixFile>),
}

/// The first `len` bytes of a (recycled) buffer.
pub(super) struct Lines {
    pub buf: Vec<u8>,
    pub len: usize,
}

impl Lines {
    pub fn text(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl From<Vec<u8>> for Lines {
    fn from(buf: Vec<u8>) -> Lines {
        let len = buf.len();
        Lines { buf, len }
    }
}

pub(super) struct PrefixFile {
    pub prefix: u32,
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// What every worker needs to know.
pub(super) struct Settings {
    pub shape: Shape,
    pub min_count: u64,
}

/// What is wrong with a line. Never holds the line: it is a hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Problem {
    Malformed { width: usize, kind: HashKind },
    OtherKind { found: HashKind, kind: HashKind },
    Unsorted,
    Duplicate,
    Body(String),
}

impl Problem {
    pub fn describe(&self) -> String {
        match self {
            Problem::Malformed { width, kind } => format!(
                "malformed corpus line: expected a {width}-hex {kind} hash, ':' and a count of 1 to 19 digits"
            ),
            Problem::OtherKind { found, kind } => format!(
                "a {found} hash in a {kind} corpus: a store holds one hash kind (mixed widths)"
            ),
            Problem::Unsorted => "corpus is not sorted by hash (this line sorts before the one before it); \
                 use the hash-ordered download or sort it with `LC_ALL=C sort`"
                .to_string(),
            Problem::Duplicate => {
                "duplicate corpus line: the same hash as the line before".to_string()
            }
            Problem::Body(what) => what.clone(),
        }
    }
}

/// Where a problem is: a line of the chunk (1-based), or of a prefix file.
#[derive(Debug)]
pub(super) struct LineError {
    pub line: u64,
    pub file: Option<PathBuf>,
    pub problem: Problem,
}

/// A run of entries sharing a bucket (top 24 bits) or a prefix (top 20).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Run {
    pub at: u32,
    pub lines: u64,
    pub kept: u64,
}

/// A chunk's records and what the assembler needs to place them.
#[derive(Default)]
pub(super) struct Parsed {
    pub seq: u64,
    pub source: usize,
    pub lines: u64,
    /// Full keys of the first and last line (before `--min-count`).
    pub first: Option<Key>,
    pub last: Option<Key>,
    pub records: Vec<u8>,
    pub kept: u64,
    /// (index among this chunk's kept records, count) above 254.
    pub overflow: Vec<(u64, u64)>,
    /// Kept entries per 24-bit bucket, in order.
    pub buckets: Vec<Run>,
    /// Lines and kept entries per 5-hex prefix, in order.
    pub prefixes: Vec<Run>,
    /// Prefix files present (mirror chunks), and the first one's path.
    pub files: Vec<u32>,
    pub first_file: Option<PathBuf>,
    /// Candidate holes between neighbouring lines (top 64 bits of each).
    pub gaps: Vec<(u64, u64)>,
    pub dropped: u64,
    pub max_count: u64,
    /// Neighbouring kept entries with equal truncated keys.
    pub collisions: u64,
    /// Top 64 bits of the first and last kept entry.
    pub first_kept: Option<u64>,
    pub last_kept: Option<u64>,
    /// The first problem; the rest of the chunk was not read.
    pub error: Option<LineError>,
}

/// Builds a [`Parsed`] one line at a time.
struct Chunk<'a> {
    settings: &'a Settings,
    out: Parsed,
    tops: Vec<u64>,
}

impl<'a> Chunk<'a> {
    fn new(settings: &'a Settings, job: &Job, bytes: usize) -> Chunk<'a> {
        let lines = bytes / 40 + 1;
        Chunk {
            settings,
            out: Parsed {
                seq: job.seq,
                source: job.source,
                records: Vec::with_capacity(lines * settings.shape.record_bytes()),
                ..Parsed::default()
            },
            tops: Vec::with_capacity(lines),
        }
    }

    /// Take one entry.
    #[inline(always)]
    fn push(&mut self, key: Key, count: u64) -> Result<(), Problem> {
        let top = key.top();
        let out = &mut self.out;
        match out.last {
            Some(prev) if key < prev => return Err(Problem::Unsorted),
            Some(prev) if key == prev => return Err(Problem::Duplicate),
            Some(_) => {}
            None => out.first = Some(key),
        }
        out.last = Some(key);
        out.lines += 1;
        self.tops.push(top);
        let kept = count >= self.settings.min_count;
        bump(&mut out.prefixes, (top >> 44) as u32, kept);
        if !kept {
            out.dropped += 1;
            return Ok(());
        }
        bump(&mut out.buckets, (top >> 40) as u32, true);
        let shape = &self.settings.shape;
        let inline = if count > INLINE_MAX {
            out.overflow.push((out.kept, count));
            OVERFLOW
        } else {
            count as u8
        };
        shape.push_record(key, inline, &mut out.records);
        if !shape.full_keys && out.last_kept == Some(top) {
            out.collisions += 1;
        }
        out.first_kept.get_or_insert(top);
        out.last_kept = Some(top);
        out.max_count = out.max_count.max(count);
        out.kept += 1;
        Ok(())
    }

    fn fail(mut self, line: u64, file: Option<PathBuf>, problem: Problem) -> Parsed {
        self.out.error = Some(LineError {
            line,
            file,
            problem,
        });
        self.out
    }

    /// The candidate holes: gaps of at least a few of the chunk's own mean
    /// gaps (the chunk's density is the corpus's, hashes being uniform).
    fn finish(mut self) -> Parsed {
        let tops = &self.tops;
        let threshold = if tops.len() < FEW_LINES {
            0
        } else {
            let span = tops[tops.len() - 1] - tops[0];
            span / (tops.len() as u64 - 1) * CANDIDATE_GAP_MEAN_GAPS
        };
        self.out.gaps = tops
            .windows(2)
            .filter(|w| w[1] - w[0] >= threshold)
            .map(|w| (w[0], w[1]))
            .collect();
        self.out
    }
}

/// Count one line (and whether it was kept) in a run list keyed by `at`.
#[inline]
fn bump(runs: &mut Vec<Run>, at: u32, kept: bool) {
    match runs.last_mut() {
        Some(run) if run.at == at => {
            run.lines += 1;
            run.kept += u64::from(kept);
        }
        _ => runs.push(Run {
            at,
            lines: 1,
            kept: u64::from(kept),
        }),
    }
}

/// Parse one job.
pub(super) fn parse(job: &Job, settings: &Settings) -> Parsed {
    match &job.body {
        Body::Lines(lines) => parse_lines(job, lines.text(), settings),
        Body::PrefixFiles(files) => parse_prefix_files(job, files, settings),
    }
}

fn parse_lines(job: &Job, bytes: &[u8], settings: &Settings) -> Parsed {
    let kind = settings.shape.kind;
    let mut chunk = Chunk::new(settings, job, bytes.len());
    let mut at = 0;
    let mut line_no = 0u64;
    while at < bytes.len() {
        line_no += 1;
        let rest = &bytes[at..];
        let line = match well_formed_line(rest, kind.hex_len()) {
            Some((key, count, len)) => {
                at += len;
                Ok((key, count))
            }
            None => {
                // Not the usual shape: the one set of line rules decides.
                let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                let line = &rest[..end];
                at += end + 1;
                match body::split_line(line, kind.hex_len()) {
                    Some((hex, count)) => Key::from_hex(hex)
                        .map(|key| (key, count))
                        .ok_or_else(|| misread(line, kind)),
                    None => Err(misread(line, kind)),
                }
            }
        };
        if let Err(problem) = line.and_then(|(key, count)| chunk.push(key, count)) {
            return chunk.fail(line_no, None, problem);
        }
    }
    chunk.finish()
}

/// The hot path: a line at the start of `rest` that is exactly `width` hex
/// digits, `:`, 1 to 19 digits and an LF, CRLF or the end; its key, count
/// and length with the line end. None for anything else, which
/// [`body::split_line`] then judges (it accepts exactly the same lines).
#[inline(always)]
fn well_formed_line(rest: &[u8], width: usize) -> Option<(Key, u64, usize)> {
    if rest.len() <= width + 1 || rest[width] != b':' {
        return None;
    }
    let key = Key::from_hex(&rest[..width])?;
    let digits_from = width + 1;
    let (count, i) = match rest.get(digits_from..digits_from + 8) {
        Some(eight) => short_count(eight.try_into().expect("8 bytes")),
        None => None,
    }
    .map_or_else(
        || long_count(rest, digits_from),
        |(c, n)| Some((c, digits_from + n)),
    )?;
    match (rest.get(i), rest.get(i + 1)) {
        (None, _) => Some((key, count, i)),
        (Some(b'\n'), _) => Some((key, count, i + 1)),
        (Some(b'\r'), Some(b'\n')) => Some((key, count, i + 2)),
        (Some(b'\r'), None) => Some((key, count, i + 1)),
        _ => None,
    }
}

/// A count of 1 to 7 digits at the start of `eight` and its digit count,
/// without a loop: one branch-free pass over a word (the digits' width
/// varies line to line, and a loop's exit would be mispredicted on most
/// lines). None for a longer count or no digit at all.
#[inline(always)]
fn short_count(eight: &[u8; 8]) -> Option<(u64, usize)> {
    let word = u64::from_le_bytes(*eight);
    let less = word.wrapping_sub(0x3030_3030_3030_3030);
    // High bit of a byte: below '0' (it borrowed) or above '9'. Bytes
    // after the first such byte may be wrong (a borrow), and are not used.
    let not_digit = (less | less.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080;
    let digits = (not_digit.trailing_zeros() / 8) as usize;
    if digits == 0 || digits == 8 {
        return None;
    }
    // The digits, first one in the low byte, moved up so that zero bytes
    // pad them as leading zeros; then pairs, quads and the eight combine.
    let v = less << (8 * (8 - digits));
    let v = (v & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(10 << 8 | 1) >> 8;
    let v = (v & 0x00FF_00FF_00FF_00FF).wrapping_mul(100 << 16 | 1) >> 16;
    let v = (v & 0x0000_FFFF_0000_FFFF).wrapping_mul(10_000 << 32 | 1) >> 32;
    Some((v, digits))
}

/// A count of 1 to 19 digits from `from`, digit by digit; its value and
/// where it ends.
fn long_count(rest: &[u8], from: usize) -> Option<(u64, usize)> {
    let limit = rest.len().min(from + 19);
    let mut count = 0u64;
    let mut i = from;
    while i < limit && rest[i].is_ascii_digit() {
        count = count * 10 + u64::from(rest[i] - b'0');
        i += 1;
    }
    (i > from).then_some((count, i))
}

/// Why a line did not parse: the other hash kind's width, or anything else.
fn misread(line: &[u8], kind: HashKind) -> Problem {
    let other = HashKind::ALL.into_iter().find(|&k| k != kind);
    match other {
        Some(found) if body::split_line(line, found.hex_len()).is_some() => {
            Problem::OtherKind { found, kind }
        }
        _ => Problem::Malformed {
            width: kind.hex_len(),
            kind,
        },
    }
}

fn parse_prefix_files(job: &Job, files: &[PrefixFile], settings: &Settings) -> Parsed {
    let kind = settings.shape.kind;
    let bytes = files.iter().map(|f| f.bytes.len()).sum();
    let mut chunk = Chunk::new(settings, job, bytes);
    chunk.out.first_file = files.first().map(|f| f.path.clone());
    let mut full_hex = [0u8; 40];
    for file in files {
        chunk.out.files.push(file.prefix);
        full_hex[..prefix::DIGITS].copy_from_slice(prefix::hex(file.prefix).as_bytes());
        let mut entries = 0u64;
        let mut pushed: Result<(), Problem> = Ok(());
        let read = body::read(&file.bytes, kind, |suffix, count| {
            if pushed.is_err() {
                return;
            }
            entries += 1;
            full_hex[prefix::DIGITS..kind.hex_len()].copy_from_slice(suffix);
            // body::read passes hex suffixes only: None cannot happen.
            pushed = match Key::from_hex(&full_hex[..kind.hex_len()]) {
                Some(key) => chunk.push(key, count),
                None => Err(misread(suffix, kind)),
            };
        });
        let failure = match (read, pushed) {
            (Err(e), _) => Some((e.line, Problem::Body(e.to_string()))),
            // Entries of one file ascend (body::read); files come in prefix
            // order: an order problem here is the file's first entry.
            (Ok(()), Err(problem)) => Some((entries, problem)),
            (Ok(()), Ok(())) => None,
        };
        if let Some((line, problem)) = failure {
            return chunk.fail(line, Some(file.path.clone()), problem);
        }
    }
    chunk.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(min_count: u64) -> Settings {
        Settings {
            shape: Shape::new(HashKind::Sha1, false, 8),
            min_count,
        }
    }

    fn job(text: &str) -> Job {
        Job {
            seq: 0,
            source: 0,
            body: Body::Lines(text.as_bytes().to_vec().into()),
        }
    }

    const PASSWORD: &str = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8";
    const ABC: &str = "A9993E364706816ABA3E25717850C26C9CD0D89D";

    #[test]
    fn lines_become_records_with_inline_and_overflow_counts() {
        let text = format!("{PASSWORD}:3861493\r\n{ABC}:12\r\n");
        let p = parse(&job(&text), &settings(1));
        assert!(p.error.is_none());
        assert_eq!((p.lines, p.kept, p.dropped), (2, 2, 0));
        // 8-bit buckets: 7 key bytes after the first byte, then the count.
        assert_eq!(
            p.records,
            [
                0xAA, 0x61, 0xE4, 0xC9, 0xB9, 0x3F, 0x3F, OVERFLOW, 0x99, 0x3E, 0x36, 0x47, 0x06,
                0x81, 0x6A, 12
            ]
        );
        assert_eq!(p.overflow, [(0, 3_861_493)]);
        assert_eq!(p.max_count, 3_861_493);
        assert_eq!(
            p.prefixes.iter().map(|r| r.at).collect::<Vec<_>>(),
            [0x5BAA6, 0xA9993]
        );
        assert_eq!(
            p.buckets.iter().map(|r| r.at).collect::<Vec<_>>(),
            [0x5BAA61, 0xA9993E]
        );
    }

    #[test]
    fn word_at_a_time_counts_agree_with_digit_by_digit() {
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for digits in [
            "1", "9", "10", "254", "255", "3861493", "1234567", "0", "0012",
        ] {
            for end in ["\r\n", "\n", ":x", "A", "/", "\u{7f}"] {
                cases.push(format!("{digits}{end}xxxxxxxx").into_bytes());
            }
        }
        cases.push(b"12345678\r\nxx".to_vec());
        cases.push(b"\r\n1234567".to_vec());
        cases.push(b":1234567".to_vec());
        for case in &cases {
            let eight: &[u8; 8] = case[..8].try_into().unwrap();
            let long = long_count(case, 0);
            match short_count(eight) {
                Some((count, n)) => assert_eq!(Some((count, n)), long, "{case:?}"),
                // Only counts too long for one word, or no count at all.
                None => assert!(long.is_none_or(|(_, n)| n >= 8), "{case:?}"),
            }
        }
        assert_eq!(short_count(b"3861493\r"), Some((3_861_493, 7)));
        assert_eq!(short_count(b"12345678"), None);
        assert_eq!(
            long_count(b"12345678901\r\n", 0),
            Some((12_345_678_901, 11))
        );
    }

    #[test]
    fn min_count_drops_entries_but_not_their_coverage() {
        let p = parse(&job(&format!("{PASSWORD}:3\n{ABC}:12\n")), &settings(10));
        assert_eq!((p.lines, p.kept, p.dropped), (2, 1, 1));
        assert_eq!(
            p.prefixes[0],
            Run {
                at: 0x5BAA6,
                lines: 1,
                kept: 0
            }
        );
        assert_eq!(p.records.len(), 8);
    }

    #[test]
    fn every_problem_names_its_line() {
        let cases = [
            (format!("{PASSWORD}:1\n{PASSWORD}:2\n"), Problem::Duplicate),
            (format!("{ABC}:1\n{PASSWORD}:2\n"), Problem::Unsorted),
            (
                format!("{PASSWORD}:1\n{}:2\n", &ABC[..32]),
                Problem::OtherKind {
                    found: HashKind::Ntlm,
                    kind: HashKind::Sha1,
                },
            ),
            (
                format!("{PASSWORD}:1\nZZ{}:2\n", &ABC[2..]),
                Problem::Malformed {
                    width: 40,
                    kind: HashKind::Sha1,
                },
            ),
            (
                format!("{PASSWORD}:1\n\n"),
                Problem::Malformed {
                    width: 40,
                    kind: HashKind::Sha1,
                },
            ),
        ];
        for (text, problem) in cases {
            let error = parse(&job(&text), &settings(1)).error.expect("refused");
            assert_eq!((error.line, &error.problem), (2, &problem), "{problem:?}");
            assert!(!problem.describe().contains(PASSWORD));
        }
    }

    #[test]
    fn prefix_files_join_prefix_and_suffix() {
        let file = |prefix: u32, text: &str| PrefixFile {
            prefix,
            path: PathBuf::from(format!("{prefix:05X}.txt")),
            bytes: text.as_bytes().to_vec(),
        };
        let files = vec![
            file(
                0x5BAA6,
                &format!("{}:3\r\n{}:0\r\n", &PASSWORD[5..], &ABC[5..]),
            ),
            file(0xA9993, &format!("{}:12\r\n", &ABC[5..])),
        ];
        let j = Job {
            seq: 0,
            source: 0,
            body: Body::PrefixFiles(files),
        };
        let p = parse(&j, &settings(1));
        assert!(p.error.is_none());
        assert_eq!((p.lines, p.kept), (2, 2), "the padding line is dropped");
        assert_eq!(p.files, [0x5BAA6, 0xA9993]);
        let bad = Job {
            seq: 0,
            source: 0,
            body: Body::PrefixFiles(vec![file(0x5BAA6, "xyz:1\r\n")]),
        };
        let error = parse(&bad, &settings(1)).error.unwrap();
        assert_eq!(error.line, 1);
        assert_eq!(error.file.unwrap(), PathBuf::from("5BAA6.txt"));
    }
}
