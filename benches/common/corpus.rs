//! Generated benchmark data: deterministic passwords, HIBP-format corpora
//! of random hashes merged with known leaked ones (streamed in order, never
//! sorted in memory), and exports. Shared by `audit` and `store`.

use credaudit::hash;
pub use credaudit::report::csv_row::push_decimal;
use rayon::prelude::*;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Every `LEAK_EVERY`-th account (index 0, 10, 20, ...) uses a leaked password.
pub const LEAK_EVERY: u64 = 10;
/// Salt for the unique, never-leaked passwords of the other accounts.
pub const PASSWORD_SALT: u64 = 0x5EED_0FC0_FFEE_u64;
/// Corpus lines generated per chunk: one unit of parallel work and one write.
pub const CHUNK_LINES: u64 = 1 << 18;
/// Size of the generated files' write buffers.
pub const WRITE_BUF: usize = 8 << 20;

// ---------------------------------------------------------------------------
// Deterministic randomness and passwords
// ---------------------------------------------------------------------------

/// The SplitMix64 finaliser: a bijection on u64, so distinct inputs give
/// distinct outputs (which is what makes the random passwords unique).
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: small, fast, and good enough for uniform test hashes.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The password of the `k`-th leaked password: `leaked-<k>`.
pub fn leaked_password(k: u64, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(b"leaked-");
    push_decimal(out, k);
}

/// Account `i`'s password: leaked for every tenth account (each its own
/// leaked password), otherwise [`unique_password`].
pub fn account_password(i: u64, out: &mut Vec<u8>) {
    if i.is_multiple_of(LEAK_EVERY) {
        return leaked_password(i / LEAK_EVERY, out);
    }
    unique_password(i, out);
}

/// 11 base-62 characters of a bijective mix of `i`: unique per account
/// (62^11 > 2^64) and never leaked (no `-`, unlike `leaked-<k>`).
pub fn unique_password(i: u64, out: &mut Vec<u8>) {
    out.clear();
    let mut v = mix64(i ^ PASSWORD_SALT);
    for _ in 0..11 {
        out.push(BASE62[(v % 62) as usize]);
        v /= 62;
    }
}

/// The realistic shape: every `POPULAR_EVERY`-th account (20 %) uses one of
/// a few popular leaked passwords, the rest [`unique_password`].
pub const POPULAR_EVERY: u64 = 5;
/// How many popular passwords the full-size realistic export draws from.
pub const POPULAR_PASSWORDS: u64 = 32_000;
/// Salt of the draw of a popular password.
const POPULAR_SALT: u64 = 0x00DD_BA11_5EED_u64;

/// Account `i`'s password in an export shaped like real users: every
/// `POPULAR_EVERY`-th account uses `leaked-<r>`, `r` drawn from the first
/// `popular` leaked passwords, Zipf-like: `r = floor((popular + 1)^u) - 1`
/// for `u` uniform in [0, 1) (log-uniform, so the share of rank `r` falls
/// as 1/(r+1), as real password popularity does). Of 32,000, the top password
/// takes 6.7 % of the popular accounts, rank 100 about 0.1 %, the last
/// about 0.0003 %: at 10M accounts, groups from 134,000 members down to a
/// handful, half of the popular accounts in groups of a thousand or more.
pub fn popular_password(popular: u64, i: u64, out: &mut Vec<u8>) {
    if !i.is_multiple_of(POPULAR_EVERY) {
        return unique_password(i, out);
    }
    let u = (mix64(i ^ POPULAR_SALT) >> 11) as f64 / (1u64 << 53) as f64;
    let rank = ((popular as f64 + 1.0).powf(u) as u64).saturating_sub(1);
    leaked_password(rank.min(popular - 1), out);
}

/// All of `n` accounts' passwords in one arena (for the hashing benchmark).
pub struct Passwords {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Passwords {
    pub fn generate(n: u64) -> Passwords {
        let mut p = Passwords {
            bytes: Vec::with_capacity(n as usize * 12),
            ends: Vec::with_capacity(n as usize),
        };
        let mut pw = Vec::new();
        for i in 0..n {
            account_password(i, &mut pw);
            p.bytes.extend_from_slice(&pw);
            p.ends.push(p.bytes.len());
        }
        p
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }
}

// ---------------------------------------------------------------------------
// Hex and corpus lines
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sha1,
    Ntlm,
}

impl Kind {
    pub fn bytes(self) -> usize {
        match self {
            Kind::Sha1 => 20,
            Kind::Ntlm => 16,
        }
    }

    /// The digest, zero-padded to 20 bytes so both kinds share one key type.
    pub fn digest(self, password: &[u8]) -> [u8; 20] {
        let mut key = [0u8; 20];
        match self {
            Kind::Sha1 => key = hash::sha1(password),
            Kind::Ntlm => {
                key[..16].copy_from_slice(&hash::ntlm(password).expect("passwords are ASCII"))
            }
        }
        key
    }
}

/// Upper-case hex pairs for every byte: formatting 100M lines is the cost of
/// generation, and a table lookup per byte beats `write!`.
const fn hex_pairs() -> [[u8; 2]; 256] {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [DIGITS[i >> 4], DIGITS[i & 15]];
        i += 1;
    }
    t
}

static HEX: [[u8; 2]; 256] = hex_pairs();

pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.extend_from_slice(&HEX[b as usize]);
    }
}

/// Tail exponent of [`prevalence`]: P(count >= x) = x^-ALPHA.
pub const PREVALENCE_ALPHA: f64 = 0.63;
/// The largest count [`prevalence`] gives (the real top is about 50 million).
pub const PREVALENCE_MAX: u64 = 50_000_000;

/// A prevalence count with HIBP's shape: mostly small, with a heavy
/// (Pareto) tail, P(count >= x) = x^-0.63: 35 % of hashes are seen once,
/// 3.0 % more than 254 times (what the store keeps in 16-byte overflow
/// entries), 0.07 % at least 100,000 times.
pub fn prevalence(r: u64) -> u64 {
    // u uniform in (0, 1]; floor(u^(-1/ALPHA)) >= x exactly when u <= x^-ALPHA.
    let u = ((r >> 11) + 1) as f64 / (1u64 << 53) as f64;
    (u.powf(-1.0 / PREVALENCE_ALPHA) as u64).min(PREVALENCE_MAX)
}

/// One `HEX:COUNT\r\n` line, CRLF like the real download.
pub fn push_corpus_line(out: &mut Vec<u8>, key: &[u8], count: u64) {
    push_hex(out, key);
    out.push(b':');
    push_decimal(out, count);
    out.extend_from_slice(b"\r\n");
}

// ---------------------------------------------------------------------------
// File generation
// ---------------------------------------------------------------------------

/// Create `path` by writing `path.tmp` and renaming it, unless `path` exists
/// (a file only ever gets its final name once complete). Returns the time
/// spent generating, if it was generated.
pub fn ensure_file(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<Option<Duration>> {
    if path.exists() {
        println!("  reusing   {}", path.display());
        return Ok(None);
    }
    let started = Instant::now();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut w = BufWriter::with_capacity(WRITE_BUF, File::create(&tmp)?);
    write(&mut w)?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    fs::rename(&tmp, path)?;
    let took = started.elapsed();
    println!(
        "  generated {} in {:.1} s",
        path.display(),
        took.as_secs_f64()
    );
    Ok(Some(took))
}

/// The sorted digests of the leaked passwords `leaked-0..leaked-(n-1)`.
pub fn leaked_digests(kind: Kind, n: u64) -> Vec<[u8; 20]> {
    let mut keys: Vec<[u8; 20]> = (0..n)
        .into_par_iter()
        .map_init(Vec::new, |pw, k| {
            leaked_password(k, pw);
            kind.digest(pw)
        })
        .collect();
    keys.par_sort_unstable();
    keys
}

/// A sorted corpus: `random` uniformly distributed hashes, generated in
/// order, merged with the sorted `leaked` hashes.
///
/// The 64-bit top of the hash space is cut into `random` equal slots and
/// each slot gets one random top, so the tops come out strictly ascending
/// without any sort; the remaining bytes are random too.
pub struct CorpusPlan<'a> {
    pub kind: Kind,
    pub random: u64,
    pub seed: u64,
    pub leaked: &'a [[u8; 20]],
}

impl CorpusPlan<'_> {
    pub fn chunks(&self) -> u64 {
        self.random.div_ceil(CHUNK_LINES).max(1)
    }

    /// Start of slot `k`'s top range: floor(k * 2^64 / random), as u128
    /// because the end of the last slot is 2^64.
    pub fn slot_start(&self, k: u64) -> u128 {
        ((k as u128) << 64) / self.random.max(1) as u128
    }

    pub fn top(key: &[u8; 20]) -> u128 {
        u64::from_be_bytes(key[..8].try_into().expect("8 bytes")) as u128
    }

    /// The formatted lines of chunk `c`: its slots' random hashes and the
    /// leaked hashes whose tops fall in the chunk's range, in order.
    pub fn chunk(&self, c: u64) -> Vec<u8> {
        let n = self.kind.bytes();
        let first = c * CHUNK_LINES;
        let last = ((c + 1) * CHUNK_LINES).min(self.random);
        let (lo, hi) = if c + 1 == self.chunks() {
            (self.slot_start(first), 1u128 << 64)
        } else {
            (self.slot_start(first), self.slot_start(last))
        };
        let leaked_from = self.leaked.partition_point(|k| Self::top(k) < lo);
        let leaked_to = self.leaked.partition_point(|k| Self::top(k) < hi);
        let mut leaked = self.leaked[leaked_from..leaked_to].iter().peekable();
        let mut out = Vec::with_capacity(
            (last - first + leaked_to as u64 - leaked_from as u64) as usize * 48,
        );
        let mut rng = SplitMix(mix64(self.seed ^ c.wrapping_mul(0xA076_1D64_78BD_642F)));
        let mut start = self.slot_start(first);
        for k in first..last {
            let end = self.slot_start(k + 1);
            let width = end - start;
            // Multiply-high keeps the top inside [start, end) without a modulo.
            let top = start + ((rng.next() as u128 * width) >> 64);
            let mut key = [0u8; 20];
            key[..8].copy_from_slice(&(top as u64).to_be_bytes());
            key[8..16].copy_from_slice(&rng.next().to_be_bytes());
            key[16..20].copy_from_slice(&rng.next().to_be_bytes()[..4]);
            while let Some(l) = leaked.next_if(|l| l[..n] < key[..n]) {
                push_corpus_line(&mut out, &l[..n], prevalence(mix64(Self::top(l) as u64)));
            }
            push_corpus_line(&mut out, &key[..n], prevalence(rng.next()));
            start = end;
        }
        for l in leaked {
            push_corpus_line(&mut out, &l[..n], prevalence(mix64(Self::top(l) as u64)));
        }
        out
    }

    /// Format chunks on every core (worker `w` takes chunks `w, w+P, ...`),
    /// and write them in order from this thread; each worker's channel holds
    /// two chunks, so memory stays bounded.
    pub fn write(&self, w: &mut impl Write) -> io::Result<()> {
        self.write_encoded(w, Ok)
    }

    /// [`write`](Self::write), each chunk passed through `encode` on the
    /// worker threads first (into a gzip member of its own, say, so that
    /// compressing runs on every core too).
    pub fn write_encoded(
        &self,
        w: &mut impl Write,
        encode: impl Fn(Vec<u8>) -> io::Result<Vec<u8>> + Sync,
    ) -> io::Result<()> {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
        let chunks = self.chunks();
        let encode = &encode;
        std::thread::scope(|scope| {
            let mut receivers = Vec::new();
            for worker in 0..workers {
                let (tx, rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(2);
                receivers.push(rx);
                scope.spawn(move || {
                    for c in (worker..chunks).step_by(workers as usize) {
                        if tx.send(encode(self.chunk(c))).is_err() {
                            return;
                        }
                    }
                });
            }
            for c in 0..chunks {
                let buf = receivers[(c % workers) as usize]
                    .recv()
                    .map_err(|_| io::Error::other("corpus worker stopped"))??;
                w.write_all(&buf)?;
            }
            Ok(())
        })
    }
}

pub fn generate_corpus(
    path: &Path,
    kind: Kind,
    lines: u64,
    seed: u64,
    leaked: &[[u8; 20]],
) -> io::Result<Option<Duration>> {
    assert!(
        lines > leaked.len() as u64,
        "corpus smaller than the leaked set"
    );
    let plan = CorpusPlan {
        kind,
        random: lines - leaked.len() as u64,
        seed,
        leaked,
    };
    ensure_file(path, |w| plan.write(w))
}

/// `email,password` CSV of `n` accounts, account `i`'s password written by
/// `password(i, buffer)` ([`account_password`], [`popular_password`]).
pub fn generate_export(
    path: &Path,
    n: u64,
    password: impl Fn(u64, &mut Vec<u8>),
) -> io::Result<Option<Duration>> {
    ensure_file(path, |w| {
        w.write_all(b"email,password\n")?;
        let (mut line, mut pw) = (Vec::with_capacity(64), Vec::with_capacity(32));
        for i in 0..n {
            password(i, &mut pw);
            line.clear();
            line.extend_from_slice(b"user");
            push_decimal(&mut line, i);
            line.extend_from_slice(b"@example.com,");
            line.extend_from_slice(&pw);
            line.push(b'\n');
            w.write_all(&line)?;
        }
        Ok(())
    })
}

/// The digests of the first `n` accounts' passwords, in account order.
pub fn account_digests(kind: Kind, n: u64) -> Vec<[u8; 20]> {
    (0..n)
        .into_par_iter()
        .map_init(Vec::new, |pw, i| {
            account_password(i, pw);
            kind.digest(pw)
        })
        .collect()
}

/// `user<i>:NTHASH` lines (hashcat / DSInternals format) for `n` accounts.
pub fn generate_ntlm_input(path: &Path, n: u64) -> io::Result<Option<Duration>> {
    ensure_file(path, |w| {
        let mut line = Vec::with_capacity(64);
        for (i, d) in account_digests(Kind::Ntlm, n).iter().enumerate() {
            line.clear();
            line.extend_from_slice(b"user");
            push_decimal(&mut line, i as u64);
            line.push(b':');
            push_hex(&mut line, &d[..16]);
            line.push(b'\n');
            w.write_all(&line)?;
        }
        Ok(())
    })
}

/// The upper-case SHA-1 hex of each of the first `n` passwords, one a line:
/// the input of the `sort | join` baseline.
pub fn generate_sha1_hashes(path: &Path, n: u64) -> io::Result<Option<Duration>> {
    ensure_file(path, |w| {
        let mut line = Vec::with_capacity(48);
        for d in account_digests(Kind::Sha1, n) {
            line.clear();
            push_hex(&mut line, &d);
            line.push(b'\n');
            w.write_all(&line)?;
        }
        Ok(())
    })
}
