//! Sorting the query keys: a most-significant-digit radix sort, one
//! first-byte bucket at a time (the buckets come partitioned from
//! [`super::buckets`], each bucket sorted on its own core).
//!
//! Ten million (hash, account) pairs went through a parallel comparison
//! sort: some 23 rounds of comparisons and moves over 240 MB, the largest
//! cost after reading on an export where a fifth of the accounts share a few
//! popular passwords. Hashes are uniformly distributed, so a byte at a time
//! splits them evenly: a bucket's pairs are scattered by their second byte
//! into a scratch array (stable, so pairs of one key keep their push
//! order, which is mostly the accounts'), and each part is sorted by the
//! next bytes through a second, small scratch array that stays in cache,
//! down to runs of a few pairs that an insertion sort finishes. A popular
//! password's pairs share their key: a run of one key is seen in one pass
//! and only sorted by account when it is not already.
//!
//! The order is exactly a comparison sort's by (hash, account).

use super::buckets::Bucket;
use super::{Entry, AHEAD};
use crate::prefetch::prefetch;

/// Runs of at most this many pairs are insertion-sorted.
const LEAF: usize = 24;

/// The pairs of `bucket` (which share their first byte), sorted by
/// (hash, account), in `out`; `scratch` is reused across calls.
pub fn sort_bucket<const N: usize>(
    bucket: &Bucket<N>,
    out: &mut Vec<Entry<N>>,
    scratch: &mut Vec<Entry<N>>,
) {
    let mut counts = [0usize; 256];
    for e in bucket.iter() {
        counts[usize::from(e.0[1])] += 1;
    }
    let mut starts = [0usize; 256];
    let mut at = 0;
    for (start, count) in starts.iter_mut().zip(counts) {
        *start = at;
        at += count;
    }
    // Resized, not cleared: every pair is overwritten below.
    out.resize(bucket.len(), ([0; N], 0));
    let mut fill = starts;
    for e in bucket.iter() {
        let digit = usize::from(e.0[1]);
        out[fill[digit]] = *e;
        fill[digit] += 1;
        // 256 write heads are more streams than the CPU's prefetcher
        // follows: without this nearly every head's next line is a miss.
        if let Some(ahead) = out.get(fill[digit] + AHEAD) {
            prefetch(ahead);
        }
    }
    for (start, count) in starts.into_iter().zip(counts) {
        if count > 1 {
            sort_from(&mut out[start..start + count], 2, scratch);
        }
    }
}

/// Sort `run`, whose keys agree before byte `byte`, by (key, account);
/// `scratch` is reused across calls.
fn sort_from<const N: usize>(run: &mut [Entry<N>], mut byte: usize, scratch: &mut Vec<Entry<N>>) {
    loop {
        if run.len() <= LEAF {
            return insertion_sort(run);
        }
        if byte == N {
            // One key throughout: the order is the accounts'.
            if !run.is_sorted_by_key(|e| e.1) {
                run.sort_unstable_by_key(|e| e.1);
            }
            return;
        }
        let mut counts = [0usize; 256];
        for e in run.iter() {
            counts[usize::from(e.0[byte])] += 1;
        }
        if counts[usize::from(run[0].0[byte])] == run.len() {
            // A popular password's run: one pass instead of one per byte.
            let key = run[0].0;
            byte = if run.iter().all(|e| e.0 == key) {
                N
            } else {
                byte + 1
            };
            continue;
        }
        let mut starts = [0usize; 256];
        let mut at = 0;
        for (start, count) in starts.iter_mut().zip(counts) {
            *start = at;
            at += count;
        }
        // Stable: pairs of one digit keep their order.
        scratch.clear();
        scratch.extend_from_slice(run);
        let mut fill = starts;
        for e in scratch.iter() {
            let digit = usize::from(e.0[byte]);
            run[fill[digit]] = *e;
            fill[digit] += 1;
        }
        if counts.iter().all(|&c| c <= LEAF) {
            // Every part is a leaf: no pair is more than a leaf away from
            // its place, and one insertion sort of the run finishes them
            // all without a call per part.
            return insertion_sort(run);
        }
        for (start, count) in starts.into_iter().zip(counts) {
            if count > 1 {
                sort_from(&mut run[start..start + count], byte + 1, scratch);
            }
        }
        return;
    }
}

fn insertion_sort<const N: usize>(run: &mut [Entry<N>]) {
    for i in 1..run.len() {
        let e = run[i];
        let mut j = i;
        while j > 0 && less(&e, &run[j - 1]) {
            run[j] = run[j - 1];
            j -= 1;
        }
        run[j] = e;
    }
}

/// `a < b` by (key, account), the key compared eight bytes at a time as
/// big-endian numbers (the standard comparison of byte arrays is a call
/// to `memcmp`, most of an insertion sort's time).
#[inline]
fn less<const N: usize>(a: &Entry<N>, b: &Entry<N>) -> bool {
    let word = |k: &[u8; N], at: usize| {
        let mut w = [0u8; 8];
        let n = (N - at).min(8);
        w[..n].copy_from_slice(&k[at..at + n]);
        u64::from_be_bytes(w)
    };
    let mut at = 0;
    while at < N {
        let (x, y) = (word(&a.0, at), word(&b.0, at));
        if x != y {
            return x < y;
        }
        at += 8;
    }
    a.1 < b.1
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::accounts::AccountId;
    use crate::queryset::buckets::Buckets;
    use crate::test_rng::SplitMix;

    /// The pairs pushed into buckets, each bucket sorted, in bucket order:
    /// what the build sees.
    fn sort<const N: usize>(entries: Vec<Entry<N>>) -> Vec<Entry<N>> {
        let mut buckets = Buckets::default();
        entries.into_iter().for_each(|e| buckets.push(e));
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        let mut sorted = Vec::new();
        for bucket in buckets.into_buckets() {
            sort_bucket(&bucket, &mut out, &mut scratch);
            sorted.extend_from_slice(&out);
        }
        sorted
    }

    fn random_key<const N: usize>(rng: &mut SplitMix) -> [u8; N] {
        let mut k = [0u8; N];
        for chunk in k.chunks_mut(8) {
            let n = chunk.len();
            chunk.copy_from_slice(&rng.next().to_be_bytes()[..n]);
        }
        k
    }

    /// The radix sort against the standard library's sort.
    fn check<const N: usize>(entries: Vec<Entry<N>>) {
        let mut want = entries.clone();
        want.sort();
        assert_eq!(sort(entries), want);
    }

    /// `n` pairs, a third of them on one of `popular` keys (none if 0);
    /// accounts ascending (as the audit pushes them) or at random.
    fn random<const N: usize>(
        rng: &mut SplitMix,
        n: u32,
        popular: u64,
        ascending: bool,
    ) -> Vec<Entry<N>> {
        let shared: Vec<[u8; N]> = (0..popular).map(|_| random_key(rng)).collect();
        (0..n)
            .map(|a| {
                let r = rng.next();
                let key = if popular > 0 && r.is_multiple_of(3) {
                    shared[(r / 3 % popular) as usize]
                } else {
                    random_key(rng)
                };
                (
                    key,
                    if ascending {
                        a
                    } else {
                        rng.next() as AccountId
                    },
                )
            })
            .collect()
    }

    #[test]
    fn matches_the_standard_sort_on_random_data() {
        let mut rng = SplitMix(7);
        for (n, popular) in [
            (1000, 0),
            (1 << 14, 0),
            (200_000, 0),
            (200_000, 3),
            (200_000, 1000),
        ] {
            for ascending in [true, false] {
                check::<20>(random(&mut rng, n, popular, ascending));
                check::<16>(random(&mut rng, n, popular, ascending));
            }
        }
    }

    #[test]
    fn edge_cases() {
        check::<20>(Vec::new());
        check::<16>(vec![([9; 16], 1)]);
        // Exactly a leaf, and one more.
        let mut rng = SplitMix(1);
        check::<20>(random(&mut rng, LEAF as u32, 0, false));
        check::<20>(random(&mut rng, LEAF as u32 + 1, 0, false));
        // One key for everything, accounts descending, then ascending.
        check::<20>((0..100_000).rev().map(|a| ([0xAB; 20], a)).collect());
        check::<20>((0..100_000).map(|a| ([0xAB; 20], a)).collect());
        // Keys that differ only in their last byte.
        check::<16>(
            (0..100_000)
                .map(|_| {
                    let mut k = [0u8; 16];
                    k[15] = rng.next() as u8;
                    (k, rng.next() as AccountId)
                })
                .collect(),
        );
        // The extremes of the key space, and keys equal but for byte 9.
        check::<20>(
            (0..100_000u32)
                .map(|a| {
                    let mut k = [0xFF; 20];
                    k[9] = (a % 7) as u8;
                    (
                        if a.is_multiple_of(11) { [0; 20] } else { k },
                        a.rotate_left(7),
                    )
                })
                .collect(),
        );
        // Already sorted, and reversed.
        let sorted: Vec<Entry<20>> = (0..100_000u32)
            .map(|a| {
                let mut k = [0u8; 20];
                k[..4].copy_from_slice(&a.to_be_bytes());
                (k, a)
            })
            .collect();
        check(sorted.clone());
        check(sorted.into_iter().rev().collect());
    }
}
