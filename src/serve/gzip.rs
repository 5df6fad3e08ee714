//! gzip for range bodies, written for what they are: random hex digits,
//! counts and line ends, about twenty distinct bytes with no repeats worth
//! a back-reference.
//!
//! A general deflate encoder spends its time on the match finder and, per
//! response, on setting up its tables (a fresh `GzEncoder` allocates and
//! clears some 300 KB: two thirds of the server's CPU when it was used).
//! Here a body is one dynamic-Huffman block of literals only (RFC 1951
//! 3.2.7): count the bytes, build a length-limited Huffman code, write
//! each byte's code. That is the whole gain there is in hex (it compresses
//! as well as zlib's level 6 to within a few percent) at a few nanoseconds
//! a byte. Any inflater reads it: curl, Python's zlib and the tests check.

/// Literal/length codes: bytes, end of block.
const LITERALS: usize = 257;
const END_OF_BLOCK: usize = 256;
/// Longest code deflate allows for literals, and for code lengths.
const MAX_BITS: u8 = 15;
const MAX_CODE_LENGTH_BITS: u8 = 7;
/// The order code-length code lengths are sent in (RFC 1951 3.2.7).
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];
/// gzip member header: deflate, no flags, no time, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// `body` as one gzip member.
pub fn gzip(body: &[u8]) -> Vec<u8> {
    let mut freq = [0u32; LITERALS];
    for &b in body {
        freq[b as usize] += 1;
    }
    freq[END_OF_BLOCK] = 1;
    let lengths = limited_lengths(&freq, MAX_BITS);
    let codes = canonical_codes(&lengths);

    let mut out = BitWriter::with_capacity(body.len() * 5 / 8 + 128);
    out.bytes.extend_from_slice(&GZIP_HEADER);
    out.put(1, 1); // last block
    out.put(2, 2); // dynamic Huffman
                   // All 257 literal lengths, then two distance codes of one bit each
                   // (none is used; zlib sends the same).
    let mut all: Vec<u8> = lengths.to_vec();
    all.extend_from_slice(&[1, 1]);
    let runs = run_length(&all);
    let mut cl_freq = [0u32; 19];
    for &(symbol, _) in &runs {
        cl_freq[symbol as usize] += 1;
    }
    let cl_lengths = limited_lengths(&cl_freq, MAX_CODE_LENGTH_BITS);
    let cl_codes = canonical_codes(&cl_lengths);
    let hclen = CODE_LENGTH_ORDER
        .iter()
        .rposition(|&s| cl_lengths[s] > 0)
        .map_or(4, |i| (i + 1).max(4));
    out.put(0, 5); // 257 literal/length codes
    out.put(1, 5); // two distance codes
    out.put((hclen - 4) as u32, 4);
    for &s in &CODE_LENGTH_ORDER[..hclen] {
        out.put(u32::from(cl_lengths[s]), 3);
    }
    for &(symbol, extra) in &runs {
        let s = symbol as usize;
        out.put(cl_codes[s], cl_lengths[s]);
        match symbol {
            16 => out.put(u32::from(extra), 2),
            17 => out.put(u32::from(extra), 3),
            18 => out.put(u32::from(extra), 7),
            _ => {}
        }
    }
    for &b in body {
        out.put(codes[b as usize], lengths[b as usize]);
    }
    out.put(codes[END_OF_BLOCK], lengths[END_OF_BLOCK]);
    let mut bytes = out.finish();
    bytes.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
    bytes
}

/// Huffman code lengths for `freq`, none longer than `limit`: where the
/// optimal code is too deep, frequencies are halved (kept above zero) and
/// the code rebuilt, as zlib-style encoders do. At least two symbols get a
/// code, so that the code is complete.
fn limited_lengths<const N: usize>(freq: &[u32; N], limit: u8) -> [u8; N] {
    let mut f = *freq;
    let mut used = f.iter().filter(|&&x| x > 0).count();
    for x in f.iter_mut() {
        if used >= 2 {
            break;
        }
        if *x == 0 {
            *x = 1;
            used += 1;
        }
    }
    loop {
        let lengths = huffman_lengths(&f);
        if lengths.iter().all(|&l| l <= limit) {
            return lengths;
        }
        for x in f.iter_mut().filter(|x| **x > 0) {
            *x = (*x >> 1).max(1);
        }
    }
}

/// Optimal (unlimited) Huffman code lengths of the symbols with a nonzero
/// frequency (at least two).
fn huffman_lengths<const N: usize>(freq: &[u32; N]) -> [u8; N] {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    // Nodes: leaves 0..N, then internal nodes; parent links give depths.
    let mut parent: Vec<usize> = vec![usize::MAX; 2 * N];
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = freq
        .iter()
        .enumerate()
        .filter(|(_, &f)| f > 0)
        .map(|(i, &f)| Reverse((u64::from(f), i)))
        .collect();
    let mut next = N;
    while heap.len() > 1 {
        let Reverse((fa, a)) = heap.pop().expect("two nodes");
        let Reverse((fb, b)) = heap.pop().expect("two nodes");
        parent[a] = next;
        parent[b] = next;
        heap.push(Reverse((fa + fb, next)));
        next += 1;
    }
    let mut lengths = [0u8; N];
    for (i, length) in lengths.iter_mut().enumerate() {
        if freq[i] == 0 {
            continue;
        }
        let (mut node, mut depth) = (i, 0u8);
        while parent[node] != usize::MAX {
            node = parent[node];
            depth = depth.saturating_add(1);
        }
        *length = depth;
    }
    lengths
}

/// Canonical codes (RFC 1951 3.2.2), bit-reversed for LSB-first output.
fn canonical_codes<const N: usize>(lengths: &[u8; N]) -> [u32; N] {
    let mut count = [0u32; 16];
    for &l in lengths {
        count[l as usize] += 1;
    }
    count[0] = 0;
    let mut next = [0u32; 16];
    let mut code = 0;
    for bits in 1..16 {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
    }
    let mut codes = [0u32; N];
    for (i, &l) in lengths.iter().enumerate() {
        if l > 0 {
            let c = next[l as usize];
            next[l as usize] += 1;
            codes[i] = c.reverse_bits() >> (32 - u32::from(l));
        }
    }
    codes
}

/// Code lengths as code-length symbols: 0-15 literally, 16 (repeat the
/// previous 3-6 times), 17 (3-10 zeros), 18 (11-138 zeros); with the value
/// of each symbol's extra bits.
fn run_length(lengths: &[u8]) -> Vec<(u8, u8)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lengths.len() {
        let l = lengths[i];
        let run = lengths[i..].iter().take_while(|&&x| x == l).count();
        if l == 0 && run >= 3 {
            let n = run.min(138);
            if n >= 11 {
                out.push((18, (n - 11) as u8));
            } else {
                out.push((17, (n - 3) as u8));
            }
            i += n;
        } else if l != 0 && run >= 4 {
            out.push((l, 0));
            let n = (run - 1).min(6);
            out.push((16, (n - 3) as u8));
            i += 1 + n;
        } else {
            out.push((l, 0));
            i += 1;
        }
    }
    out
}

/// Bits out, least significant first, as deflate wants them.
struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    bits: u32,
}

impl BitWriter {
    fn with_capacity(n: usize) -> BitWriter {
        BitWriter {
            bytes: Vec::with_capacity(n),
            acc: 0,
            bits: 0,
        }
    }

    #[inline]
    fn put(&mut self, value: u32, bits: u8) {
        self.acc |= u64::from(value) << self.bits;
        self.bits += u32::from(bits);
        if self.bits >= 32 {
            self.bytes
                .extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.bits -= 32;
        }
    }

    fn finish(mut self) -> Vec<u8> {
        while self.bits > 0 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.bits = self.bits.saturating_sub(8);
        }
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    }

    fn range_body(lines: usize, seed: u64) -> Vec<u8> {
        let mut s = seed | 1;
        let mut body = Vec::new();
        for _ in 0..lines {
            for _ in 0..35 {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                body.push(b"0123456789ABCDEF"[(s & 15) as usize]);
            }
            body.extend_from_slice(format!(":{}\r\n", s % 100_000).as_bytes());
        }
        body
    }

    #[test]
    fn range_bodies_round_trip_and_shrink_like_zlib() {
        for (lines, seed) in [(1, 3), (95, 7), (2_000, 11)] {
            let body = range_body(lines, seed);
            let packed = gzip(&body);
            assert_eq!(gunzip(&packed), body, "{lines} lines");
            if lines >= 95 {
                use std::io::Write;
                let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
                z.write_all(&body).unwrap();
                let zlib = z.finish().unwrap().len();
                assert!(
                    packed.len() as f64 <= zlib as f64 * 1.05,
                    "{} vs zlib 6's {zlib}",
                    packed.len()
                );
            }
        }
    }

    #[test]
    fn edge_bodies_round_trip() {
        let skewed: Vec<u8> = (0..100_000u32)
            .map(|i| {
                if i % 50_000 == 0 {
                    b'x'
                } else {
                    b'A' + (i.trailing_zeros() as u8 % 20)
                }
            })
            .collect();
        for body in [
            &b""[..],
            b"A",
            b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &skewed,
            &(0..=255u8).cycle().take(10_000).collect::<Vec<u8>>(),
        ] {
            assert_eq!(gunzip(&gzip(body)), body, "{} bytes", body.len());
        }
    }

    #[test]
    fn deep_codes_are_limited_to_fifteen_bits() {
        // Fibonacci frequencies make the optimal code 20+ bits deep.
        let mut freq = [0u32; 257];
        let (mut a, mut b) = (1u32, 1u32);
        for f in freq.iter_mut().take(25) {
            *f = a;
            (a, b) = (b, a + b);
        }
        assert!(huffman_lengths(&freq).iter().any(|&l| l > 15));
        let lengths = limited_lengths(&freq, 15);
        assert!(lengths.iter().all(|&l| l <= 15));
        // Kraft: the code is complete.
        let kraft: f64 = lengths
            .iter()
            .filter(|&&l| l > 0)
            .map(|&l| 0.5f64.powi(i32::from(l)))
            .sum();
        assert!((kraft - 1.0).abs() < 1e-9, "{kraft}");
    }
}
