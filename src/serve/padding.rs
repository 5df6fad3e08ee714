//! `Add-Padding: true`: random `SUFFIX:0` lines mixed into a range body,
//! so that the size of an encrypted response does not tell which prefix
//! was asked.
//!
//! Padding to a random size near the real count would still leak it (a
//! prefix with 3,000 lines padded by 0-200 stays distinguishable from one
//! with 1,500). Every response is padded to a total drawn uniformly from
//! [M, M+200] lines, M being the largest prefix's line count in the corpus,
//! so the total says nothing of the prefix. Padding lines are sorted in
//! with the real ones; a client that drops count-0 lines sees exactly the
//! real answer. Randomness comes from a per-thread generator seeded by the
//! operating system.

use crate::hash::hex_digit;
use std::cell::RefCell;

/// Lines drawn above M.
pub const SPREAD: u64 = 200;

/// Insert padding into `body` (`real` lines of `width`-hex suffixes), to
/// a total of M..=M+200 lines for `max_lines` = M.
pub fn pad(body: &[u8], real: u64, max_lines: u64, width: usize) -> Vec<u8> {
    let target = max_lines + RNG.with(|r| r.borrow_mut().below(SPREAD + 1));
    let extra = target.saturating_sub(real) as usize;
    let line = width + 4; // SUFFIX:0\r\n
    let mut fake = vec![0u8; extra * width];
    RNG.with(|r| {
        let mut rng = r.borrow_mut();
        for digits in fake.chunks_exact_mut(width) {
            let mut bits = 0u64;
            for (i, d) in digits.iter_mut().enumerate() {
                if i % 16 == 0 {
                    bits = rng.next();
                }
                *d = hex_digit((bits >> (4 * (i % 16))) as u8);
            }
        }
    });
    let mut suffixes: Vec<&[u8]> = fake.chunks_exact(width).collect();
    suffixes.sort_unstable();
    let mut out = Vec::with_capacity(body.len() + extra * line);
    let mut fake = suffixes.into_iter().peekable();
    for real_line in body.split_inclusive(|&b| b == b'\n') {
        let suffix = &real_line[..width.min(real_line.len())];
        while let Some(f) = fake.next_if(|f| *f <= suffix) {
            // A random suffix equal to a real one (about 2^-108 a line)
            // is left out rather than shown twice.
            if f != suffix {
                push_padding(&mut out, f);
            }
        }
        out.extend_from_slice(real_line);
    }
    for f in fake {
        push_padding(&mut out, f);
    }
    out
}

fn push_padding(out: &mut Vec<u8>, suffix: &[u8]) {
    out.extend_from_slice(suffix);
    out.extend_from_slice(b":0\r\n");
}

thread_local! {
    static RNG: RefCell<Xoshiro> = RefCell::new(Xoshiro::from_os());
}

/// xoshiro256**: fast, and seeded from the operating system per thread, so
/// that padding sizes cannot be predicted from outside.
struct Xoshiro([u64; 4]);

impl Xoshiro {
    fn from_os() -> Xoshiro {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).expect("the operating system's random source");
        let mut s = [0u64; 4];
        for (word, bytes) in s.iter_mut().zip(seed.chunks_exact(8)) {
            *word = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Xoshiro(s)
    }

    fn next(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (multiply-shift; the bias is below 2^-55 here).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(body: &[u8]) -> Vec<&[u8]> {
        body.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect()
    }

    #[test]
    fn padded_bodies_are_sorted_sized_and_hide_only_zero_lines() {
        let body = b"0001E4C9B93F3F0682250B6CF8331B7EE68:3\r\n\
                     1E4C9B93F3F0682250B6CF8331B7EE68FD8:10434004\r\n\
                     FFFFC9B93F3F0682250B6CF8331B7EE68FD:1\r\n";
        let mut sizes = std::collections::HashSet::new();
        for _ in 0..50 {
            let padded = pad(body, 3, 40, 35);
            let all = lines(&padded);
            assert!((40..=240).contains(&all.len()), "{}", all.len());
            sizes.insert(all.len());
            let suffixes: Vec<&[u8]> = all.iter().map(|l| &l[..35]).collect();
            assert!(suffixes.windows(2).all(|w| w[0] < w[1]), "sorted, distinct");
            assert!(all.iter().all(|l| l.ends_with(b"\r") && l[35] == b':'));
            let kept: Vec<u8> = padded
                .split_inclusive(|&b| b == b'\n')
                .filter(|l| !l.ends_with(b":0\r\n"))
                .flatten()
                .copied()
                .collect();
            assert_eq!(kept, body);
        }
        assert!(sizes.len() > 10, "sizes vary: {sizes:?}");
    }

    #[test]
    fn an_empty_body_is_padded_too() {
        let padded = pad(b"", 0, 5, 27);
        let all = lines(&padded);
        assert!((5..=205).contains(&all.len()));
        assert!(all
            .iter()
            .all(|l| l.len() == 27 + 3 && l.ends_with(b":0\r")));
    }
}
