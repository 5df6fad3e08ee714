//! Hash kinds and the parallel hashing of plaintext secrets.
//!
//! Breach corpora come in two kinds: SHA-1 (Have I Been Pwned's default
//! download) and NTLM (MD4 over the UTF-16LE password, what Active Directory
//! stores). Plaintext secrets are hashed once, in parallel, into whichever
//! kinds the configured sources can answer; the plaintext is dropped right
//! after.

use md4::Md4;
use sha1::{Digest, Sha1};
use std::fmt;

/// The unsalted hash kinds that breach corpora are published in.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum HashKind {
    Sha1,
    Ntlm,
}

impl HashKind {
    pub const ALL: [HashKind; 2] = [HashKind::Sha1, HashKind::Ntlm];

    /// Digest length in bytes.
    pub fn bytes(self) -> usize {
        match self {
            HashKind::Sha1 => 20,
            HashKind::Ntlm => 16,
        }
    }

    /// Digest length in hex characters.
    pub fn hex_len(self) -> usize {
        self.bytes() * 2
    }

    /// The kind whose hex form has `len` characters, if any.
    pub fn from_hex_len(len: usize) -> Option<HashKind> {
        match len {
            40 => Some(HashKind::Sha1),
            32 => Some(HashKind::Ntlm),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HashKind::Sha1 => "sha1",
            HashKind::Ntlm => "ntlm",
        }
    }
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// SHA-1 of the raw password bytes. A password of up to 55 bytes (nearly
/// all) is one padded block, compressed directly: the streaming API's
/// buffering cost a third of the time of hashing every plaintext.
pub fn sha1(password: &[u8]) -> [u8; 20] {
    const INIT: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let n = password.len();
    if n > 55 {
        return Sha1::digest(password).into();
    }
    let mut block = [0u8; 64];
    block[..n].copy_from_slice(password);
    block[n] = 0x80;
    block[56..].copy_from_slice(&(n as u64 * 8).to_be_bytes());
    let mut state = INIT;
    sha1::compress(&mut state, &[block.into()]);
    // One volatile store of the whole block (a byte-wise wipe cost as much
    // as the hashing).
    // SAFETY: `block` is a live, aligned local.
    unsafe { std::ptr::write_volatile(&mut block, [0u8; 64]) };
    let mut out = [0u8; 20];
    for (word, bytes) in state.iter().zip(out.chunks_exact_mut(4)) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Why a plaintext could not be hashed into a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8;

/// NTLM: MD4 over the UTF-16LE encoding of the password.
///
/// Windows stores passwords as UTF-16 strings, so the bytes given must be
/// valid UTF-8 to know which characters they are. Bytes that are not UTF-8
/// have no defined NTLM hash and are refused rather than guessed at.
pub fn ntlm(password: &[u8]) -> Result<[u8; 16], NotUtf8> {
    if password.is_ascii() && password.len() <= MD4_ONE_BLOCK_ASCII {
        return Ok(ntlm_short_ascii(password));
    }
    let text = std::str::from_utf8(password).map_err(|_| NotUtf8)?;
    // Encode into a stack buffer and hash in one call: most passwords are
    // short, and per-character updates cost more than the MD4 itself.
    let mut buf = [0u8; 256];
    let mut len = 0;
    let mut hasher = Md4::new();
    for unit in text.encode_utf16() {
        if len == buf.len() {
            hasher.update(&buf[..len]);
            len = 0;
        }
        buf[len..len + 2].copy_from_slice(&unit.to_le_bytes());
        len += 2;
    }
    hasher.update(&buf[..len]);
    Ok(hasher.finalize().into())
}

/// Longest ASCII password whose UTF-16LE form fits one MD4 block with its
/// padding (55 bytes).
const MD4_ONE_BLOCK_ASCII: usize = 27;

/// NTLM of a short ASCII password in one MD4 block: the common case, and
/// the one username-variant checks hash millions of times. ASCII widens to
/// UTF-16LE by a zero byte after each character.
fn ntlm_short_ascii(password: &[u8]) -> [u8; 16] {
    md4_block(&one_block_words(password))
}

/// The padded one-block MD4 input of a short ASCII password, as 16 words:
/// each character widened to a UTF-16LE unit, `0x80`, zeros, the length in
/// bits in word 14.
fn one_block_words(password: &[u8]) -> [u32; 16] {
    let mut words = [0u32; 16];
    for (i, &b) in password.iter().enumerate() {
        words[i / 2] |= u32::from(b) << (16 * (i % 2));
    }
    let n = password.len();
    words[n / 2] |= 0x80 << (16 * (n % 2));
    words[14] = (n as u32) * 16;
    words
}

/// Passwords hashed together by [`NtlmLanes`].
pub const LANES: usize = 8;

/// Can [`NtlmLanes`] hash the password made of these parts?
pub fn fits_one_block(parts: &[&[u8]]) -> bool {
    parts.iter().all(|p| p.is_ascii())
        && parts.iter().map(|p| p.len()).sum::<usize>() <= MD4_ONE_BLOCK_ASCII
}

/// Up to eight short ASCII passwords, NTLM-hashed together: the same MD4
/// steps on eight lanes of AVX2 registers where the CPU has them.
/// Username-variant checks hash about fifteen candidates for every account
/// of a dump, and only ask whether any of them is the account's hash.
///
/// The passwords are written straight into the padded one-block MD4 input,
/// word-major (`words[k][lane]`), which is how the registers load it.
pub struct NtlmLanes {
    words: [[u32; LANES]; 16],
    used: usize,
}

impl Default for NtlmLanes {
    fn default() -> Self {
        NtlmLanes {
            words: [[0; LANES]; 16],
            used: 0,
        }
    }
}

impl NtlmLanes {
    pub fn is_full(&self) -> bool {
        self.used == LANES
    }

    /// Add `password` to the next free lane. It must satisfy
    /// [`fits_one_block`].
    pub fn push(&mut self, password: &[u8]) {
        assert!(!self.is_full(), "eight lanes at most");
        debug_assert!(fits_one_block(&[password]));
        let lane = self.used;
        for (k, word) in one_block_words(password).into_iter().enumerate() {
            self.words[k][lane] = word;
        }
        self.used += 1;
    }

    /// Add the password of lane `base` followed by `suffix` to the next
    /// free lane, copying whole words: a name and its suffixed variants
    /// share every word but the last few. Together they must satisfy
    /// [`fits_one_block`].
    pub fn push_suffixed(&mut self, base: usize, suffix: &NtlmSuffix) {
        assert!(base < self.used, "a lane before the free one");
        let prefix = NtlmPrefix {
            words: std::array::from_fn(|k| self.words[k][base]),
            len: (self.words[14][base] / 16) as usize,
        };
        self.push_joined(&prefix, suffix);
    }

    /// Add `prefix` followed by `suffix` to the next free lane, copying
    /// whole words. Together they must satisfy [`fits_one_block`].
    pub fn push_joined(&mut self, prefix: &NtlmPrefix, suffix: &NtlmSuffix) {
        assert!(!self.is_full(), "eight lanes at most");
        let lane = self.used;
        let n = prefix.len;
        debug_assert!(n + suffix.len <= MD4_ONE_BLOCK_ASCII);
        for k in 0..n / 2 {
            self.words[k][lane] = prefix.words[k];
        }
        let (from, tail) = if n % 2 == 1 {
            let last = prefix.words[n / 2] & 0xFFFF;
            self.words[n / 2][lane] = last | (suffix.odd_first << 16);
            (n / 2 + 1, &suffix.odd)
        } else {
            (n / 2, &suffix.even)
        };
        for (k, &word) in (from..14).zip(tail) {
            self.words[k][lane] = word;
        }
        self.words[14][lane] = ((n + suffix.len) * 16) as u32;
        self.used += 1;
    }

    /// The NTLM hashes of the eight lanes, in the order pushed (lanes past
    /// those pushed hold no password: ignore them). The banned-word
    /// expansion looks every one up; username checks only ask
    /// [`NtlmLanes::contains`].
    pub fn digests(&self) -> [[u8; 16]; LANES] {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            let state = unsafe { md4_x8_state(&self.words) };
            return std::array::from_fn(|lane| digest_of(std::array::from_fn(|i| state[i][lane])));
        }
        std::array::from_fn(|lane| self.lane_digest(lane))
    }

    /// Is `want` the NTLM hash of any password pushed?
    pub fn contains(&self, want: &[u8; 16]) -> bool {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            let found = unsafe { md4_x8_find(&self.words, want) };
            return found & ((1 << self.used) - 1) != 0;
        }
        (0..self.used).any(|lane| self.lane_digest(lane) == *want)
    }

    /// One lane hashed alone: the fallback without AVX2, as fast as eight
    /// scalar lanes would be.
    fn lane_digest(&self, lane: usize) -> [u8; 16] {
        md4_block(&std::array::from_fn(|k| self.words[k][lane]))
    }
}

/// The start of passwords hashed by [`NtlmLanes::push_joined`]: a short
/// ASCII string widened to UTF-16 words once, for all its suffixes.
pub struct NtlmPrefix {
    words: [u32; 16],
    len: usize,
}

impl NtlmPrefix {
    /// `prefix` must satisfy [`fits_one_block`].
    pub fn new(prefix: &[u8]) -> NtlmPrefix {
        debug_assert!(fits_one_block(&[prefix]));
        NtlmPrefix {
            words: one_block_words(prefix),
            len: prefix.len(),
        }
    }
}

/// A password suffix (`1`, `2026!`) as UTF-16 words with the MD4 padding
/// after it, ready for [`NtlmLanes::push_suffixed`] after a password of
/// either parity.
pub struct NtlmSuffix {
    len: usize,
    /// Words after a password of even length.
    even: [u32; 4],
    /// After a password of odd length: the unit that completes its last
    /// word, then whole words.
    odd_first: u32,
    odd: [u32; 4],
}

impl NtlmSuffix {
    /// Longest suffix, in ASCII characters.
    pub const MAX: usize = 7;

    pub fn new(suffix: &[u8]) -> NtlmSuffix {
        assert!(suffix.is_ascii() && suffix.len() <= Self::MAX);
        let mut units = [0u32; Self::MAX + 2];
        for (unit, &b) in units.iter_mut().zip(suffix) {
            *unit = u32::from(b);
        }
        units[suffix.len()] = 0x80;
        let pair = |i: usize| units[i] | (units[i + 1] << 16);
        NtlmSuffix {
            len: suffix.len(),
            even: std::array::from_fn(|j| pair(2 * j)),
            odd_first: units[0],
            odd: std::array::from_fn(|j| pair(2 * j + 1)),
        }
    }
}

/// The final MD4 state of eight one-block inputs: `state[word][lane]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn md4_x8_state(words: &[[u32; LANES]; 16]) -> [[u32; LANES]; 4] {
    use std::arch::x86_64::*;
    let mut state = [[0u32; LANES]; 4];
    for (i, v) in md4_x8(words).into_iter().enumerate() {
        // SAFETY: the store writes the eight u32 of one array of eight u32.
        unsafe { _mm256_storeu_si256(state[i].as_mut_ptr().cast(), v) };
    }
    state
}

/// A bit per lane whose MD4 is `want`, compared in the registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn md4_x8_find(words: &[[u32; LANES]; 16], want: &[u8; 16]) -> u32 {
    use std::arch::x86_64::*;
    let mut equal = _mm256_set1_epi32(-1);
    for (i, v) in md4_x8(words).into_iter().enumerate() {
        let word = u32::from_le_bytes(want[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
        let same = _mm256_cmpeq_epi32(v, _mm256_set1_epi32(word as i32));
        equal = _mm256_and_si256(equal, same);
    }
    _mm256_movemask_ps(_mm256_castsi256_ps(equal)) as u32
}

/// The MD4 steps on eight lanes: one 256-bit register holds the same state
/// word of all eight inputs. Returns the final state (initial value added).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn md4_x8(words: &[[u32; LANES]; 16]) -> [std::arch::x86_64::__m256i; 4] {
    use std::arch::x86_64::*;
    // SAFETY: each load reads the eight u32 of one array of eight u32.
    let w: [__m256i; 16] =
        std::array::from_fn(|k| unsafe { _mm256_loadu_si256(words[k].as_ptr().cast()) });
    macro_rules! rotl {
        ($x:expr, $s:literal) => {{
            let x = $x;
            _mm256_or_si256(
                _mm256_slli_epi32::<$s>(x),
                _mm256_srli_epi32::<{ 32 - $s }>(x),
            )
        }};
    }
    macro_rules! f {
        ($x:expr, $y:expr, $z:expr) => {
            _mm256_or_si256(_mm256_and_si256($x, $y), _mm256_andnot_si256($x, $z))
        };
    }
    macro_rules! g {
        ($x:expr, $y:expr, $z:expr) => {
            _mm256_or_si256(
                _mm256_and_si256($x, _mm256_or_si256($y, $z)),
                _mm256_and_si256($y, $z),
            )
        };
    }
    macro_rules! h {
        ($x:expr, $y:expr, $z:expr) => {
            _mm256_xor_si256(_mm256_xor_si256($x, $y), $z)
        };
    }
    macro_rules! add3 {
        ($a:expr, $b:expr, $c:expr) => {
            _mm256_add_epi32(_mm256_add_epi32($a, $b), $c)
        };
    }
    let k2 = _mm256_set1_epi32(0x5A82_7999);
    let k3 = _mm256_set1_epi32(0x6ED9_EBA1);
    let init = MD4_INIT.map(|v| _mm256_set1_epi32(v as i32));
    let [mut a, mut b, mut c, mut d] = init;
    for k in [0, 4, 8, 12] {
        a = rotl!(add3!(a, f!(b, c, d), w[k]), 3);
        d = rotl!(add3!(d, f!(a, b, c), w[k + 1]), 7);
        c = rotl!(add3!(c, f!(d, a, b), w[k + 2]), 11);
        b = rotl!(add3!(b, f!(c, d, a), w[k + 3]), 19);
    }
    for k in [0, 1, 2, 3] {
        a = rotl!(_mm256_add_epi32(add3!(a, g!(b, c, d), w[k]), k2), 3);
        d = rotl!(_mm256_add_epi32(add3!(d, g!(a, b, c), w[k + 4]), k2), 5);
        c = rotl!(_mm256_add_epi32(add3!(c, g!(d, a, b), w[k + 8]), k2), 9);
        b = rotl!(_mm256_add_epi32(add3!(b, g!(c, d, a), w[k + 12]), k2), 13);
    }
    for k in [0, 2, 1, 3] {
        a = rotl!(_mm256_add_epi32(add3!(a, h!(b, c, d), w[k]), k3), 3);
        d = rotl!(_mm256_add_epi32(add3!(d, h!(a, b, c), w[k + 8]), k3), 9);
        c = rotl!(_mm256_add_epi32(add3!(c, h!(d, a, b), w[k + 4]), k3), 11);
        b = rotl!(_mm256_add_epi32(add3!(b, h!(c, d, a), w[k + 12]), k3), 15);
    }
    [
        _mm256_add_epi32(a, init[0]),
        _mm256_add_epi32(b, init[1]),
        _mm256_add_epi32(c, init[2]),
        _mm256_add_epi32(d, init[3]),
    ]
}

/// The MD4 digest bytes of a final state (initial value added).
fn digest_of(state: [u32; 4]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, v) in state.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    out
}

const MD4_INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// MD4 (RFC 1320) of one already padded 64-byte block, as 16 words.
fn md4_block(x: &[u32; 16]) -> [u8; 16] {
    const INIT: [u32; 4] = MD4_INIT;
    let [mut a, mut b, mut c, mut d] = INIT;
    let f = |x: u32, y: u32, z: u32| (x & y) | (!x & z);
    let g = |x: u32, y: u32, z: u32| (x & y) | (x & z) | (y & z);
    let h = |x: u32, y: u32, z: u32| x ^ y ^ z;
    for k in [0, 4, 8, 12] {
        a = a.wrapping_add(f(b, c, d)).wrapping_add(x[k]).rotate_left(3);
        d = d
            .wrapping_add(f(a, b, c))
            .wrapping_add(x[k + 1])
            .rotate_left(7);
        c = c
            .wrapping_add(f(d, a, b))
            .wrapping_add(x[k + 2])
            .rotate_left(11);
        b = b
            .wrapping_add(f(c, d, a))
            .wrapping_add(x[k + 3])
            .rotate_left(19);
    }
    for k in [0, 1, 2, 3] {
        let r2 = |v: u32| v.wrapping_add(0x5A82_7999);
        a = r2(a.wrapping_add(g(b, c, d)).wrapping_add(x[k])).rotate_left(3);
        d = r2(d.wrapping_add(g(a, b, c)).wrapping_add(x[k + 4])).rotate_left(5);
        c = r2(c.wrapping_add(g(d, a, b)).wrapping_add(x[k + 8])).rotate_left(9);
        b = r2(b.wrapping_add(g(c, d, a)).wrapping_add(x[k + 12])).rotate_left(13);
    }
    for k in [0, 2, 1, 3] {
        let r3 = |v: u32| v.wrapping_add(0x6ED9_EBA1);
        a = r3(a.wrapping_add(h(b, c, d)).wrapping_add(x[k])).rotate_left(3);
        d = r3(d.wrapping_add(h(a, b, c)).wrapping_add(x[k + 8])).rotate_left(9);
        c = r3(c.wrapping_add(h(d, a, b)).wrapping_add(x[k + 4])).rotate_left(11);
        b = r3(b.wrapping_add(h(c, d, a)).wrapping_add(x[k + 12])).rotate_left(15);
    }
    digest_of([
        a.wrapping_add(INIT[0]),
        b.wrapping_add(INIT[1]),
        c.wrapping_add(INIT[2]),
        d.wrapping_add(INIT[3]),
    ])
}

/// Hash one plaintext into `kind`, writing the digest into `out`.
pub fn hash_into(kind: HashKind, password: &[u8], out: &mut [u8]) -> Result<(), NotUtf8> {
    match kind {
        HashKind::Sha1 => out.copy_from_slice(&sha1(password)),
        HashKind::Ntlm => out.copy_from_slice(&ntlm(password)?),
    }
    Ok(())
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Hex digit values (either case); 0xFF marks a byte that is not a digit.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'A' as usize + i] = 10 + i as u8;
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Decode `hex` (either case) into `out`; false if any digit is not hex or
/// the lengths disagree. Branch-free per digit: corpus merges decode every
/// line of a 40 GB file through here.
#[inline]
pub fn decode_hex(hex: &[u8], out: &mut [u8]) -> bool {
    if hex.len() != out.len() * 2 {
        return false;
    }
    let mut valid = true;
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    while done + 16 <= hex.len() {
        let digits = hex[done..done + 16].try_into().expect("16 digits");
        valid &= decode_hex16(digits, &mut out[done / 2..done / 2 + 8]);
        done += 16;
    }
    let mut invalid = 0u8;
    for (pair, byte) in hex[done..].chunks_exact(2).zip(&mut out[done / 2..]) {
        let (h, l) = (HEX_VALUE[pair[0] as usize], HEX_VALUE[pair[1] as usize]);
        invalid |= h | l;
        *byte = (h << 4) | (l & 0x0F);
    }
    valid && invalid & 0xF0 == 0
}

/// Sixteen hex digits (either case) into eight bytes, in SSE2 (every
/// x86-64 CPU has it): a corpus merge decodes every line of the corpus.
#[cfg(target_arch = "x86_64")]
#[inline]
fn decode_hex16(hex: &[u8; 16], out: &mut [u8]) -> bool {
    let (value, valid) = hex16_value(hex);
    out[..8].copy_from_slice(&value.to_be_bytes());
    valid
}

/// Sixteen hex digits (either case) as the number they spell, and whether
/// all sixteen are hex digits. The value stays in a register: a store
/// build reads every corpus line's key this way, and going through memory
/// would stall on store forwarding.
#[inline]
pub fn hex16_value(hex: &[u8; 16]) -> (u64, bool) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of x86-64; the load reads the 16 bytes of `hex`.
        unsafe {
            let x = _mm_loadu_si128(hex.as_ptr().cast());
            let between = |v, lo: u8, hi: u8| {
                _mm_and_si128(
                    _mm_cmpgt_epi8(v, _mm_set1_epi8(lo as i8 - 1)),
                    _mm_cmplt_epi8(v, _mm_set1_epi8(hi as i8 + 1)),
                )
            };
            let digit = between(x, b'0', b'9');
            let folded = _mm_or_si128(x, _mm_set1_epi8(0x20));
            let letter = between(folded, b'a', b'f');
            let nibbles = _mm_or_si128(
                _mm_and_si128(digit, _mm_sub_epi8(x, _mm_set1_epi8(b'0' as i8))),
                _mm_and_si128(letter, _mm_sub_epi8(folded, _mm_set1_epi8(b'a' as i8 - 10))),
            );
            // Each 16-bit lane holds (high digit, low digit): make it one byte.
            let high = _mm_slli_epi16::<4>(_mm_and_si128(nibbles, _mm_set1_epi16(0x00FF)));
            let bytes = _mm_or_si128(high, _mm_srli_epi16::<8>(nibbles));
            // The eight bytes in memory order are the value's big-endian bytes.
            let packed = _mm_cvtsi128_si64(_mm_packus_epi16(bytes, bytes)) as u64;
            let valid = _mm_movemask_epi8(_mm_or_si128(digit, letter)) == 0xFFFF;
            (packed.swap_bytes(), valid)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut value = 0u64;
        let mut invalid = 0u8;
        for &c in hex {
            let v = HEX_VALUE[c as usize];
            invalid |= v;
            value = value << 4 | u64::from(v & 0x0F);
        }
        (value, invalid & 0xF0 == 0)
    }
}

/// True when every byte is a hex digit.
pub fn is_hex(bytes: &[u8]) -> bool {
    bytes.iter().all(|&c| HEX_VALUE[c as usize] != 0xFF)
}

/// Upper-case hex of `bytes`.
pub fn encode_hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// The upper-case hex digit of the low four bits of `value`.
#[inline]
pub fn hex_digit(value: u8) -> u8 {
    HEX_UPPER[usize::from(value & 15)]
}

/// Append the upper-case hex of `bytes` to `out`.
#[inline]
pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.extend_from_slice(&[HEX_UPPER[(b >> 4) as usize], HEX_UPPER[(b & 15) as usize]]);
    }
}

/// The 5-hex-character prefix of a hash: the only part of a hash that may
/// ever be shown or sent anywhere.
pub fn prefix5(hash: &[u8]) -> String {
    let mut s = encode_hex(&hash[..3]);
    s.truncate(5);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_hex_digits_are_one_number() {
        assert_eq!(
            hex16_value(b"5BAA61E4C9B93F3F"),
            (0x5BAA_61E4_C9B9_3F3F, true)
        );
        assert_eq!(
            hex16_value(b"5baa61e4c9b93f3f"),
            (0x5BAA_61E4_C9B9_3F3F, true)
        );
        assert!(!hex16_value(b"5BAA61E4C9B93F3G").1);
        assert!(!hex16_value(b"5BAA61E4:9B93F3F").1);
    }

    #[test]
    fn sha1_known_answer() {
        assert_eq!(
            encode_hex(&sha1(b"password")),
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
        );
        assert_eq!(
            encode_hex(&sha1(b"")),
            "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"
        );
        // The one-block path and the streaming one agree on every length
        // around the 55-byte limit, and past one block.
        let long: Vec<u8> = (0..130u8).map(|i| b'!' + i % 90).collect();
        for n in 0..long.len() {
            let want: [u8; 20] = Sha1::digest(&long[..n]).into();
            assert_eq!(sha1(&long[..n]), want, "length {n}");
        }
    }

    #[test]
    fn ntlm_known_answer() {
        assert_eq!(
            encode_hex(&ntlm(b"password").unwrap()),
            "8846F7EAEE8FB117AD06BDD830B7586C"
        );
        assert_eq!(
            encode_hex(&ntlm(b"").unwrap()),
            "31D6CFE0D16AE931B73C59D7E0C089C0"
        );
    }

    #[test]
    fn one_block_md4_agrees_with_the_md4_crate() {
        for len in 0..=MD4_ONE_BLOCK_ASCII + 3 {
            let pw: Vec<u8> = (0..len).map(|i| b'!' + (i * 7 % 90) as u8).collect();
            let utf16: Vec<u8> = pw.iter().flat_map(|&b| [b, 0]).collect();
            let expected: [u8; 16] = Md4::digest(&utf16).into();
            assert_eq!(ntlm(&pw).unwrap(), expected, "length {len}");
        }
    }

    #[test]
    fn eight_lane_md4_agrees_with_one_lane() {
        let words: Vec<Vec<u8>> = (0..8)
            .map(|l| {
                (0..(l * 3 + 1))
                    .map(|i| b'a' + ((i + l) % 26) as u8)
                    .collect()
            })
            .collect();
        let mut lanes = NtlmLanes::default();
        for w in &words {
            lanes.push(w);
        }
        assert!(lanes.is_full());
        let many = lanes.digests();
        for l in 0..LANES {
            assert_eq!(many[l], ntlm(&words[l]).unwrap(), "lane {l}");
            assert_eq!(lanes.lane_digest(l), many[l], "fallback lane {l}");
            assert!(lanes.contains(&many[l]));
        }
        // Suffixes after stems of both parities and many lengths, up to a
        // full block; a lane not pushed is never a match.
        for stem_len in 0..=20 {
            let stem: Vec<u8> = (0..stem_len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut lanes = NtlmLanes::default();
            lanes.push(&stem);
            for suffix in [&b""[..], b"1", b"!", b"123", b"2026", b"2026!", b"1234567"] {
                lanes.push_suffixed(0, &NtlmSuffix::new(suffix));
            }
            let digests = lanes.digests();
            for (lane, suffix) in ["", "", "1", "!", "123", "2026", "2026!", "1234567"]
                .iter()
                .enumerate()
            {
                let password = [&stem[..], suffix.as_bytes()].concat();
                assert_eq!(digests[lane], ntlm(&password).unwrap(), "{password:?}");
            }
        }
        let mut two = NtlmLanes::default();
        two.push(b"pass");
        two.push_suffixed(0, &NtlmSuffix::new(b"word"));
        assert_eq!(
            encode_hex(&two.digests()[1]),
            "8846F7EAEE8FB117AD06BDD830B7586C"
        );
        assert!(two.contains(&ntlm(b"password").unwrap()));
        assert!(!two.contains(&two.lane_digest(5)), "lane 5 is not in use");
        assert!(!two.contains(&ntlm(b"passwor").unwrap()));
    }

    #[test]
    fn ntlm_encodes_non_ascii_as_utf16() {
        // "é" is one UTF-16 unit 0x00E9; "😀" is a surrogate pair.
        let mut manual = Md4::new();
        manual.update([0xE9, 0x00]);
        let expected: [u8; 16] = manual.finalize().into();
        assert_eq!(ntlm("é".as_bytes()).unwrap(), expected);
        let mut pair = Md4::new();
        pair.update([0x3D, 0xD8, 0x00, 0xDE]);
        let expected: [u8; 16] = pair.finalize().into();
        assert_eq!(ntlm("😀".as_bytes()).unwrap(), expected);
        assert_eq!(ntlm(b"\xff\xfe"), Err(NotUtf8));
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        let mut out = [0u8; 2];
        assert!(decode_hex(b"aB0f", &mut out));
        assert_eq!(out, [0xAB, 0x0F]);
        assert!(!decode_hex(b"aB0g", &mut out));
        assert!(!decode_hex(b"aB0", &mut out));
        // Every byte value in every position of a 40-digit hash: the SIMD
        // chunks and the table agree on what is a digit and what it is worth.
        let sha = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8";
        let mut digest = [0u8; 20];
        assert!(decode_hex(sha.to_lowercase().as_bytes(), &mut digest));
        assert_eq!(encode_hex(&digest), sha);
        for pos in 0..40 {
            for byte in 0..=255u8 {
                let mut hex = sha.as_bytes().to_vec();
                hex[pos] = byte;
                let ok = decode_hex(&hex, &mut digest);
                assert_eq!(ok, byte.is_ascii_hexdigit(), "byte {byte:#x} at {pos}");
                if ok {
                    assert_eq!(
                        encode_hex(&digest),
                        String::from_utf8(hex).unwrap().to_uppercase()
                    );
                }
            }
        }
        assert_eq!(prefix5(&[0x5B, 0xAA, 0x61, 0xE4]), "5BAA6");
    }
}
