//! The compiled store (`credaudit index build|verify|info`, `--corpus
//! STORE`): the same answers as the text corpus it was built from, every
//! bad line refused with its line number, partial corpora unchecked where
//! they have no data, damaged stores a clean exit 2.
mod common;

use common::*;
use credaudit::hash::{encode_hex, sha1};
use credaudit::queryset::Hashes;
use credaudit::store::build::{build, BuildOptions};
use credaudit::store::Store;
use indicatif::ProgressBar;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Counts of every width the store keeps differently: inline (1..=254),
/// just over (255), and large ones in the overflow table.
const COUNTS: [u64; 7] = [1, 17, 254, 255, 1_000, 3_861_493, 1 << 40];

/// A sorted random SHA-1 corpus of `n` hashes with the counts above.
fn random_corpus(n: usize, seed: u64) -> BTreeMap<[u8; 20], u64> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| (rng.hash(), COUNTS[i % COUNTS.len()]))
        .collect()
}

fn corpus_text(corpus: &BTreeMap<[u8; 20], u64>) -> String {
    corpus
        .iter()
        .map(|(h, c)| format!("{}:{c}\r\n", encode_hex(h)))
        .collect()
}

fn build_options(out: &Path, sources: &[PathBuf]) -> BuildOptions {
    BuildOptions {
        out: out.to_path_buf(),
        sources: sources.to_vec(),
        full_keys: false,
        min_count: 1,
        allow_missing: true,
    }
}

fn lookup(store: &Store, queries: &[[u8; 20]]) -> Vec<(usize, u64)> {
    let flat = queries.concat();
    store
        .lookup(Hashes::new(20, &flat), &ProgressBar::hidden())
        .unwrap()
        .hits
}

/// Random query sets, from a few to more queries than the corpus has
/// lines, half of them corpus hashes: the store finds exactly the corpus
/// hashes with exactly their counts, truncated keys or whole ones. Two
/// corpus hashes that share their first 64 bits are both found, with the
/// larger count from 64-bit keys and each its own from whole keys.
#[test]
fn random_query_sets_get_exactly_the_corpus_answers() {
    let wd = Workdir::new();
    let mut corpus = random_corpus(60_000, 0x9E37_79B9_7F4A_7C15);
    let mut twin = *corpus.keys().nth(777).unwrap();
    twin[19] ^= 0x01;
    let original = corpus[corpus.keys().nth(777).unwrap()];
    corpus.insert(twin, original + 1_000_000);
    let path = wd.write("c.txt", corpus_text(&corpus));
    for full_keys in [false, true] {
        let out = wd.path(&format!("c-{full_keys}.cas"));
        let options = BuildOptions {
            full_keys,
            ..build_options(&out, std::slice::from_ref(&path))
        };
        build(&options, &ProgressBar::hidden()).unwrap();
        let store = Store::open(&out).unwrap();
        assert_eq!(store.header().entries, corpus.len() as u64);
        assert_eq!(store.meta().truncated_key_collisions, u64::from(!full_keys));
        let keys: Vec<&[u8; 20]> = corpus.keys().collect();
        let mut rng = Rng(full_keys as u64 + 5);
        for (present, absent) in [(3, 3), (500, 500), (30_000, 30_000), (60_001, 100_000)] {
            let mut queries: Vec<[u8; 20]> = (0..present)
                .map(|_| *keys[(rng.next() % keys.len() as u64) as usize])
                .collect();
            queries.extend((0..absent).map(|_| rng.hash()));
            queries.sort_unstable();
            queries.dedup();
            let expected: Vec<(usize, u64)> = queries
                .iter()
                .enumerate()
                .filter_map(|(i, q)| {
                    let count = *corpus.get(q)?;
                    let twin_count = if !full_keys && q[..8] == twin[..8] {
                        count.max(original + 1_000_000)
                    } else {
                        count
                    };
                    Some((i, twin_count))
                })
                .collect();
            assert_eq!(
                lookup(&store, &queries),
                expected,
                "{present}+{absent} queries"
            );
        }
    }
}

/// The shipped fixture corpora give the same reset list from the store as
/// from the text (the `sources` column names the store), SHA-1 and NTLM,
/// from a plain and a gzip file, with truncated and whole keys.
#[test]
fn audits_against_a_store_match_the_text_corpus() {
    let wd = Workdir::new();
    let sha1_text = fixture("hibp/sha1-sample.txt");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(&sha1_text).unwrap()).unwrap();
    wd.write("sha1-sample.txt.gz", gz.finish().unwrap());
    let cases = [
        ("hibp/sha1-sample.txt", "exports/users.csv", vec![]),
        (
            "hibp/sha1-sample.txt",
            "exports/users.csv",
            vec!["--full-keys"],
        ),
        ("hibp/ntlm-sample.txt", "exports/hashcat-nt.txt", vec![]),
    ];
    for (corpus, export, flags) in cases {
        let text_run = wd
            .cmd(&["audit", "--no-cache", "--corpus"])
            .arg(fixture(corpus))
            .arg(fixture(export))
            .run();
        let mut build_args = vec!["index", "build", "--out", "s.cas"];
        build_args.extend(flags.iter().copied());
        wd.cmd(&build_args).arg(fixture(corpus)).run().code(0);
        let store_run = wd
            .cmd(&["audit", "--corpus", "s.cas"])
            .arg(fixture(export))
            .run()
            .code(text_run.code);
        let strip_source = |rows: Vec<Vec<String>>| {
            rows.into_iter()
                .map(|mut r| {
                    r[4].clear();
                    r
                })
                .collect::<Vec<_>>()
        };
        assert!(
            !text_run.rows().is_empty(),
            "{corpus}: the fixture has hits"
        );
        assert_eq!(
            strip_source(store_run.rows()),
            strip_source(text_run.rows())
        );
        assert!(store_run
            .rows()
            .iter()
            .all(|r| r[4].is_empty() || r[4] == "s.cas"));
    }
    wd.cmd(&[
        "index",
        "build",
        "-q",
        "--out",
        "gz.cas",
        "sha1-sample.txt.gz",
    ])
    .run()
    .code(0);
    let info: serde_json::Value = serde_json::from_str(
        &wd.cmd(&["index", "info", "--json", "gz.cas"])
            .run()
            .code(0)
            .stdout,
    )
    .unwrap();
    assert_eq!(info["entries"], 3009);
    assert_eq!(info["hash_kind"], "sha1");
    let source = &info["meta"]["sources"][0];
    assert_eq!(source["compression"], "gzip");
    assert_eq!(source["lines"], 3009);
    let stored = std::fs::read(wd.path("sha1-sample.txt.gz")).unwrap();
    assert_eq!(source["blake3"], blake3::hash(&stored).to_hex().as_str());
}

/// A corpus too large for the estimate (standard input says nothing of its
/// size) is built narrow and narrowed at the end: the same shape and
/// answers as the build from the file.
#[test]
fn a_streamed_build_is_narrowed_to_its_size() {
    let wd = Workdir::new();
    let corpus = random_corpus(600_000, 42);
    let text = corpus_text(&corpus);
    let file = wd.write("c.txt", &text);
    wd.cmd(&["index", "build", "-q", "--out", "file.cas"])
        .arg(&file)
        .run()
        .code(0);
    wd.cmd(&["index", "build", "-q", "--out", "stdin.cas", "-"])
        .stdin(text)
        .run()
        .code(0);
    let (a, b) = (
        Store::open(&wd.path("file.cas")).unwrap(),
        Store::open(&wd.path("stdin.cas")).unwrap(),
    );
    assert_eq!(a.header().shape, b.header().shape);
    assert_eq!(a.header().shape.bucket_bits, 16);
    let mut rng = Rng(9);
    let keys: Vec<&[u8; 20]> = corpus.keys().collect();
    let mut queries: Vec<[u8; 20]> = (0..20_000)
        .map(|i| {
            if i % 2 == 0 {
                *keys[(rng.next() % keys.len() as u64) as usize]
            } else {
                rng.hash()
            }
        })
        .collect();
    queries.sort_unstable();
    queries.dedup();
    let hits = lookup(&b, &queries);
    assert_eq!(hits, lookup(&a, &queries));
    assert!(hits.len() > 9_000);
    wd.cmd(&["index", "verify", "stdin.cas"]).run().code(0);
}

fn leftovers(wd: &Workdir) -> Vec<String> {
    std::fs::read_dir(wd.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cas") || n.ends_with(".tmp"))
        .collect()
}

/// Every kind of bad line stops the build with exit 2, naming the file and
/// line and never the hash; no store and no temporary file is left.
#[test]
fn build_errors_name_the_line_and_leave_nothing() {
    let wd = Workdir::new();
    let corpus = random_corpus(6, 1);
    let lines: Vec<String> = corpus_text(&corpus).lines().map(String::from).collect();
    let with = |i: usize, line: &str| {
        let mut l = lines.clone();
        l[i] = line.to_string();
        l.join("\n") + "\n"
    };
    let ntlm_line = format!("{}:3", &lines[1][..32]);
    let cases = [
        (with(2, &lines[0]), 3, "not sorted"),
        (with(1, &format!("G{}", &lines[1][1..])), 2, "malformed"),
        (with(1, &ntlm_line), 2, "a ntlm hash in a sha1 corpus"),
        (with(3, &lines[2]), 4, "duplicate corpus line"),
        (
            lines.join("\n")[..lines.join("\n").len() - 20].to_string(),
            6,
            "malformed",
        ),
    ];
    for (text, line, problem) in cases {
        wd.write("c.txt", &text);
        let run = wd
            .cmd(&["index", "build", "--out", "s.cas", "c.txt"])
            .run()
            .code(2);
        assert!(
            run.stderr.contains(&format!("c.txt:{line}: ")),
            "{problem}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(problem), "{problem}: {}", run.stderr);
        for hash in corpus.keys() {
            assert!(!run.stderr.contains(&encode_hex(hash)), "a hash leaked");
        }
        assert_eq!(leftovers(&wd), Vec::<String>::new());
    }
    // Two good files given out of order.
    wd.write("a.txt", lines[..3].join("\n") + "\n");
    wd.write("b.txt", lines[3..].join("\n") + "\n");
    let run = wd
        .cmd(&[
            "index",
            "build",
            "--allow-missing",
            "--out",
            "s.cas",
            "b.txt",
            "a.txt",
        ])
        .run()
        .code(2);
    run.says("a.txt:1: corpus is not sorted");
    run.says("does not continue");
    wd.cmd(&[
        "index",
        "build",
        "-q",
        "--allow-missing",
        "--out",
        "s.cas",
        "a.txt",
        "b.txt",
    ])
    .run()
    .code(0);
}

/// Passwords of ordinary accounts: long and distinct.
fn password(i: usize) -> String {
    format!("Store-Test-{i:05}!")
}

fn export(n: usize) -> String {
    let mut csv = String::from("email,password\n");
    for i in 0..n {
        csv.push_str(&format!("user{i}@example.com,{}\n", password(i)));
    }
    csv
}

/// The first 30 % of a corpus is refused unless `--allow-missing`; with it,
/// the store records what is missing and every account there is
/// unchecked (exit 3), never clean.
#[test]
fn a_partial_corpus_needs_allow_missing_and_its_gap_stays_unchecked() {
    let wd = Workdir::new();
    let n = 2000;
    let mut corpus = random_corpus(20_000, 3);
    for i in (0..n).step_by(10) {
        corpus.insert(sha1(password(i).as_bytes()), 5);
    }
    let all: Vec<([u8; 20], u64)> = corpus.into_iter().collect();
    let cut: BTreeMap<[u8; 20], u64> = all[..all.len() * 3 / 10].iter().copied().collect();
    let last = *cut.keys().last().unwrap();
    wd.write("cut.txt", corpus_text(&cut));
    wd.write("u.csv", export(n));
    let refused = wd
        .cmd(&["index", "build", "--out", "s.cas", "cut.txt"])
        .run()
        .code(2);
    refused.says("--allow-missing");
    refused.says("density gaps");
    assert_eq!(leftovers(&wd), Vec::<String>::new());
    wd.cmd(&[
        "index",
        "build",
        "-q",
        "--allow-missing",
        "--out",
        "s.cas",
        "cut.txt",
    ])
    .run()
    .code(0);
    let info = wd.cmd(&["index", "info", "s.cas"]).run().code(0).stdout;
    assert!(
        info.contains("INCOMPLETE, built with --allow-missing"),
        "{info}"
    );
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus", "s.cas", "--summary", "s.json"])
        .run()
        .code(3);
    let reasons = |r: &str| -> BTreeSet<String> {
        run.rows()
            .into_iter()
            .filter(|row| row[2].split(';').any(|x| x == r))
            .map(|row| row[0].clone())
            .collect()
    };
    let beyond: BTreeSet<String> = (0..n)
        .filter(|&i| sha1(password(i).as_bytes()) > last)
        .map(|i| format!("user{i}@example.com"))
        .collect();
    let pwned: BTreeSet<String> = (0..n)
        .step_by(10)
        .filter(|&i| sha1(password(i).as_bytes()) <= last)
        .map(|i| format!("user{i}@example.com"))
        .collect();
    assert!(beyond.len() > 1000 && pwned.len() > 20);
    assert_eq!(reasons("unchecked"), beyond);
    assert_eq!(reasons("pwned"), pwned);
    run.says("--allow-missing");
    let summary: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    let gaps = &summary["sources"][0]["corpus"]["coverage_gaps"];
    assert_eq!(gaps.as_array().unwrap().len(), 1, "{gaps}");
}

/// A mirror directory (one file per prefix, what `download` writes) builds
/// the same store as the sorted file; the prefixes without a file are
/// refused, or with `--allow-missing` unchecked.
#[test]
fn a_mirror_directory_builds_and_its_missing_prefixes_are_unchecked() {
    let wd = Workdir::new();
    let text = std::fs::read_to_string(fixture("hibp/sha1-sample.txt")).unwrap();
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines() {
        files
            .entry(line[..5].to_string())
            .or_default()
            .push_str(&format!("{}\r\n", &line[5..]));
    }
    for (prefix, body) in &files {
        wd.write(&format!("mirror/{prefix}.txt"), body);
    }
    let refused = wd
        .cmd(&["index", "build", "--out", "m.cas", "mirror"])
        .run()
        .code(2);
    refused.says("rule: prefix files");
    wd.cmd(&[
        "index",
        "build",
        "-q",
        "--allow-missing",
        "--out",
        "m.cas",
        "mirror",
    ])
    .run()
    .code(0);
    let store = Store::open(&wd.path("m.cas")).unwrap();
    assert_eq!(store.header().entries, 3009);
    // One stretch before the first file, one between each two files that
    // are not neighbours, one after the last.
    let covered: Vec<u32> = files
        .keys()
        .map(|k| u32::from_str_radix(k, 16).unwrap())
        .collect();
    let between = covered.windows(2).filter(|w| w[1] > w[0] + 1).count();
    let ends = usize::from(covered[0] > 0) + usize::from(*covered.last().unwrap() < 0xFFFFF);
    assert_eq!(store.meta().missing.len(), between + ends);
    // "password" is in the sample (prefix 5BAA6, a file); the SHA-1 of
    // "Store-Test-00000!" falls in a prefix without one.
    wd.write(
        "u.csv",
        format!("email,password\nalice@x,password\nbob@x,{}\n", password(0)),
    );
    let run = wd
        .cmd(&["audit", "u.csv", "--corpus", "m.cas"])
        .run()
        .code(3);
    let rows = run.rows();
    assert_eq!(rows[0][0..3], ["alice@x", "u.csv:2", "pwned"]);
    assert_eq!(rows[1][0..3], ["bob@x", "u.csv:3", "unchecked"]);
}

/// `--min-count N` at build time is recorded; audits adopt it, and asking
/// for less is a usage error (exit 2), since the store cannot tell the
/// hashes it left out from clean ones.
#[test]
fn min_count_is_recorded_and_enforced() {
    let wd = Workdir::new();
    let corpus = wd.write(
        "c.txt",
        hibp_file(&[(SHA1_PASSWORD, 3_861_493), (SHA1_123456, 7)]),
    );
    wd.write("u.csv", "email,password\nalice@x,password\nbob@x,123456\n");
    wd.cmd(&[
        "index",
        "build",
        "-q",
        "--allow-missing",
        "--min-count",
        "10",
        "--out",
        "s.cas",
    ])
    .arg(&corpus)
    .run()
    .code(0);
    let info: serde_json::Value =
        serde_json::from_str(&wd.cmd(&["index", "info", "--json", "s.cas"]).run().stdout).unwrap();
    assert_eq!(
        (info["min_count"].as_u64(), info["entries"].as_u64()),
        (Some(10), Some(1))
    );
    assert_eq!(info["meta"]["dropped_below_min_count"], 1);
    let run = wd
        .cmd(&[
            "audit",
            "u.csv",
            "--corpus",
            "s.cas",
            "--summary",
            "s.json",
            "--exclude",
            "short",
        ])
        .run()
        .code(1);
    assert_eq!(run.accounts(), ["alice@x"]);
    let summary: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(summary["min_count"], 10);
    let low = wd
        .cmd(&["audit", "u.csv", "--corpus", "s.cas", "--min-count", "5"])
        .run()
        .code(2);
    assert!(
        low.stderr
            .contains("--min-count 5 is below the 10 that s.cas was built with"),
        "{}",
        low.stderr
    );
    wd.cmd(&[
        "audit",
        "u.csv",
        "--corpus",
        "s.cas",
        "--min-count",
        "4000000",
        "--exclude",
        "short",
    ])
    .run()
    .code(0);
}

/// A store cut short, from another format version, with a damaged header
/// or table, or grown at the end, is refused at open with exit 2 naming
/// the file; a flipped record byte passes the open and `index verify`
/// finds it. Never a crash.
#[test]
fn damaged_stores_are_clean_errors() {
    let wd = Workdir::new();
    let text = corpus_text(&random_corpus(50_000, 11));
    wd.write("c.txt", text);
    wd.cmd(&["index", "build", "-q", "--out", "good.cas", "c.txt"])
        .run()
        .code(0);
    let good = std::fs::read(wd.path("good.cas")).unwrap();
    let store = Store::open(&wd.path("good.cas")).unwrap();
    let table = store.header().table.offset as usize;
    let record = 4096 + store.header().shape.record_bytes() * 1000 + 3;
    let damage = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = good.clone();
        edit(&mut bytes);
        bytes
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (good[..good.len() / 2].to_vec(), "the file is truncated"),
        (good[..100].to_vec(), "truncated inside its header"),
        (
            damage(&|b| b.extend_from_slice(b"junk")),
            "longer than written",
        ),
        (damage(&|b| b[8] = 2), "store format version 2"),
        (damage(&|b| b[40] ^= 0x10), "corrupt header"),
        (damage(&|b| b[table + 8 * 100] ^= 0x01), "corrupt table"),
    ];
    for (bytes, message) in cases {
        wd.write("bad.cas", &bytes);
        for args in [
            &["index", "info", "bad.cas"][..],
            &["audit", "--corpus", "bad.cas", "u.csv"][..],
        ] {
            wd.write("u.csv", "email,password\na@x,password\n");
            let run = wd.cmd(args).run().code(2);
            assert!(run.stderr.contains("bad.cas"), "{message}: {}", run.stderr);
            assert!(run.stderr.contains(message), "{message}: {}", run.stderr);
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        }
    }
    wd.write("text.cas", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:1\n");
    let run = wd.cmd(&["index", "info", "text.cas"]).run().code(2);
    run.says("text.cas: not a credaudit store");
    wd.write("flipped.cas", damage(&|b| b[record] ^= 0x04));
    wd.cmd(&["index", "info", "flipped.cas"]).run().code(0);
    let run = wd.cmd(&["index", "verify", "flipped.cas"]).run().code(2);
    run.says("block 0 (bytes 4096-");
    run.says("does not match its checksum");
    let ok = wd.cmd(&["index", "verify", "good.cas"]).run().code(0);
    assert!(ok.stdout.contains("good.cas: OK"), "{}", ok.stdout);
}
