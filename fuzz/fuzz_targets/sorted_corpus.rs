//! A sorted Pwned Passwords file (`--corpus FILE`) made of arbitrary bytes:
//! `source::hibp_file::SortedFile::open`, then a lookup with both
//! `LookupMethod::Search` (trusted: without the verifying pass) and
//! `LookupMethod::Merge` (which is that pass). Errors are fine; a
//! panic, a hang or a wrong answer is not. Queries are the hashes the file's
//! own lines start with (so hits happen) plus the lowest and highest hash.
//! Every hit must be a hash some line starts with, and when both methods
//! succeed they must give the same hits (merge validates every line, so
//! its success means the file is a well-formed corpus). Errors name file
//! and line only: the canary's hash spliced in (`%S`) must not show.
#![no_main]

use credaudit::hash::{decode_hex, encode_hex};
use credaudit::queryset::Hashes;
use credaudit::source::hibp_file::SortedFile;
use credaudit::source::{Lookup, LookupMethod, Source, VerifyOptions};
use credaudit_fuzz::{assert_clean, splice};
use indicatif::ProgressBar;
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Most queries taken from the file's lines.
const MAX_QUERIES: usize = 64;

/// One file per process, written for every input; in memory where the
/// machine has a tmpfs.
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("credaudit-fuzz-corpus-{}.txt", std::process::id()))
    })
}

/// Removes the file when an execution ends, so that none is left behind
/// when libFuzzer exits.
struct RemoveOnDrop;

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(path());
    }
}

/// The sorted, distinct queries of `width` bytes.
fn queries(data: &[u8], width: usize) -> Vec<u8> {
    let mut hashes: Vec<Vec<u8>> = vec![vec![0; width], vec![0xFF; width]];
    for line in data.split(|&b| b == b'\n').take(MAX_QUERIES) {
        let mut hash = vec![0; width];
        if line.len() > 2 * width && decode_hex(&line[..2 * width], &mut hash) {
            hashes.push(hash);
        }
    }
    hashes.sort_unstable();
    hashes.dedup();
    hashes.concat()
}

fuzz_target!(|data: &[u8]| {
    let (data, check) = splice(data);
    let data = &data[..];
    std::fs::write(path(), data).expect("the fuzz corpus file can be written");
    let _remove = RemoveOnDrop;
    let mut answers = Vec::new();
    for method in [LookupMethod::Search, LookupMethod::Merge] {
        // The search runs trusted, so that its own probing of hostile lines
        // is what is fuzzed (otherwise the verifying pass, which is the
        // merge, would refuse the file first).
        let verify = VerifyOptions {
            trust: method == LookupMethod::Search,
            stamps: None,
        };
        let source = match SortedFile::open(path(), method, &verify) {
            Ok(source) => source,
            Err(error) => {
                assert_clean(check, "a corpus open error", &format!("{error:#}"));
                return;
            }
        };
        let kind = source.kinds()[0];
        let flat = queries(data, kind.bytes());
        let bar = ProgressBar::hidden();
        let lookup = Lookup {
            kind,
            hashes: Hashes::new(kind.bytes(), &flat),
            progress: &bar,
        };
        match source.lookup(&lookup) {
            Ok(answer) => {
                let mut hits = answer.hits;
                hits.sort_unstable();
                let text = data.to_ascii_uppercase();
                for &(i, _) in &hits {
                    let hex = encode_hex(lookup.hashes.get(i));
                    let at_line_start = text
                        .split(|&b| b == b'\n')
                        .any(|line| line.starts_with(hex.as_bytes()));
                    assert!(at_line_start, "{method:?} hit a hash no line starts with");
                }
                answers.push(hits);
            }
            Err(error) => assert_clean(check, "a corpus lookup error", &format!("{error:#}")),
        }
    }
    if let [search, merge] = &answers[..] {
        assert_eq!(search, merge, "search and merge disagree");
    }
});
