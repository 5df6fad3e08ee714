//! Which stretch of hash space a sorted corpus file really covers.
//!
//! A download that stopped early (the official downloader has reported
//! "finished" at 6 to 39 % of the corpus) or a file cut at a line boundary
//! parses perfectly: every line is well formed and in order, and a lookup
//! past its end finds nothing, which would read as "clean". Hashes are
//! uniform, so the file itself says how dense it must be: N lines over the
//! key span they cover give the mean gap g between consecutive lines, and
//! for uniform hashes a gap longer than x·g has a chance of about e^-x.
//!
//! * **Ends**: the stretch before the first line or after the last longer
//!   than 20 g (e^-20 at each end) is a coverage gap.
//! * **Middle**: a gap between two consecutive lines longer than
//!   (ln N + 20) g (e^-20 over all N gaps together) is a hole. The verifying
//!   pass sees every gap. At open, density samples spread over the file flag
//!   a segment whose key span is far beyond what its share of the bytes
//!   allows, and only that segment is scanned to find the hole.
//!
//! Queries that fall into a gap are unchecked, never clean. The rule scales
//! with each file's own density: a 3,000-line sample and a complete
//! 2-billion-line corpus both have none.

use super::sorted_key::Key;
use crate::queryset::Hashes;

/// An end gap is longer than this many mean gaps.
const END_GAP_MEAN_GAPS: f64 = 20.0;
/// A hole between consecutive lines is longer than (ln N + this) mean gaps.
const HOLE_MARGIN: f64 = 20.0;
/// A sampled segment is scanned for holes when its key span exceeds its
/// expected span by this many standard deviations (plus one hole's length).
const SEGMENT_SIGMAS: f64 = 6.0;

/// An open interval of hash space without a corpus line: from just after
/// `after` (None: from the lowest hash) to just before `before` (None: to
/// past the highest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Gap {
    pub after: Option<Key>,
    pub before: Option<Key>,
}

impl Gap {
    fn contains(&self, key: Key) -> bool {
        self.after.is_none_or(|a| key > a) && self.before.is_none_or(|b| key < b)
    }

    /// `30000-3FFFF`: the prefixes the gap spans (its bounding lines' own
    /// prefixes are partly covered; this names the stretch as users see it).
    pub fn prefixes(&self) -> String {
        let from = self.after.map_or_else(|| "00000".to_string(), Key::prefix);
        let to = self.before.map_or_else(|| "FFFFF".to_string(), Key::prefix);
        format!("{from}-{to}")
    }
}

/// How dense a corpus is: `lines` lines from `first` to `last`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Density {
    pub lines: u64,
    pub first: Key,
    pub last: Key,
}

impl Density {
    /// The mean distance between consecutive lines, in units of the keys'
    /// top 64 bits; None with fewer than two lines (nothing to infer from).
    fn mean_gap(&self) -> Option<f64> {
        (self.lines >= 2)
            .then(|| (self.last.top() - self.first.top()) as f64 / (self.lines - 1) as f64)
    }

    /// The gaps at either end, if any.
    pub fn end_gaps(&self) -> Vec<Gap> {
        let Some(g) = self.mean_gap() else {
            return Vec::new();
        };
        let limit = END_GAP_MEAN_GAPS * g;
        let mut gaps = Vec::new();
        if self.first.top() as f64 > limit {
            gaps.push(Gap {
                after: None,
                before: Some(self.first),
            });
        }
        if (u64::MAX - self.last.top()) as f64 > limit {
            gaps.push(Gap {
                after: Some(self.last),
                before: None,
            });
        }
        gaps
    }

    /// The smallest distance between consecutive lines (top 64 bits) that
    /// is a hole; u64::MAX (never) with fewer than two lines.
    pub fn hole_length(&self) -> u64 {
        self.mean_gap().map_or(u64::MAX, |g| {
            (((self.lines as f64).ln() + HOLE_MARGIN) * g) as u64
        })
    }

    /// Whether a segment holding `share` of the file's bytes (about
    /// `share * lines` lines) spans suspiciously much of hash space: more
    /// than its expected span by several standard deviations plus a hole.
    pub fn segment_suspicious(&self, share: f64, span: u64) -> bool {
        let Some(g) = self.mean_gap() else {
            return false;
        };
        let lines = share * self.lines as f64;
        let expected = share * (self.last.top() - self.first.top()) as f64;
        span as f64 > expected + SEGMENT_SIGMAS * lines.sqrt() * g + self.hole_length() as f64
    }
}

/// Indices of the sorted `hashes` that fall into any of `gaps`.
pub(crate) fn unchecked(hashes: Hashes<'_>, gaps: &[Gap]) -> Vec<usize> {
    let mut out = Vec::new();
    for gap in gaps {
        let from = gap.after.map_or(0, |a| {
            let bytes = a.bytes();
            let i = hashes.lower_bound(&bytes[..hashes.width()]);
            // The bounding line itself is covered.
            i + usize::from(i < hashes.len() && Key::new(hashes.get(i)) == a)
        });
        out.extend((from..hashes.len()).take_while(|&i| gap.contains(Key::new(hashes.get(i)))));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// One line for the user: what the file covers and what it does not.
pub(crate) fn describe(name: &str, density: &Density, gaps: &[Gap], hashes: usize) -> String {
    let mut holes: Vec<String> = gaps.iter().take(3).map(Gap::prefixes).collect();
    if gaps.len() > 3 {
        holes.push(format!("and {} more", gaps.len() - 3));
    }
    format!(
        "corpus {name} has coverage gaps: its lines run from prefix {} to {}, with no lines in {} \
         (a download cut short or a part missing); {hashes} hash(es) fall there and are unchecked",
        density.first.prefix(),
        density.last.prefix(),
        holes.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn density(lines: u64, first: u64, last: u64) -> Density {
        Density {
            lines,
            first: Key::from_top(first),
            last: Key::from_top(last),
        }
    }

    /// The 3,009-line SHA-1 fixture starts at prefix 00283: 1.85 mean gaps
    /// from the start, no gap. The same density ending at prefix 4C910 (the
    /// first 30 % of a corpus) has a gap after it.
    #[test]
    fn end_gaps_scale_with_density() {
        let prefix = |p: u64| p << 44;
        let fixture = density(3009, prefix(0x00283), prefix(0xFFE00));
        assert!(fixture.end_gaps().is_empty());
        let cut = density(900, prefix(0x00283), prefix(0x4C910));
        let gaps = cut.end_gaps();
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].prefixes(), "4C910-FFFFF");
        let late_start = density(900, prefix(0x30000), prefix(0xFFF00));
        assert_eq!(late_start.end_gaps()[0].prefixes(), "00000-30000");
        assert!(density(1, 5, 5).end_gaps().is_empty(), "nothing to infer");
    }

    #[test]
    fn a_segment_with_a_hole_is_suspicious_an_ordinary_one_is_not() {
        let d = density(1_000_000, 1 << 40, u64::MAX - (1 << 40));
        let span = |share: f64| (share * (d.last.top() - d.first.top()) as f64) as u64;
        assert!(!d.segment_suspicious(1.0 / 256.0, span(1.0 / 256.0)));
        assert!(!d.segment_suspicious(1.0 / 256.0, span(1.0 / 256.0) * 101 / 100));
        assert!(d.segment_suspicious(1.0 / 256.0, span(1.0 / 256.0) + span(1.0 / 16.0)));
    }

    #[test]
    fn queries_inside_gaps_are_unchecked_bounding_lines_are_not() {
        let keys = [1u64, 10, 11, 19, 20, 21, 500];
        let flat: Vec<u8> = keys
            .iter()
            .flat_map(|k| Key::from_top(*k).bytes().to_vec())
            .collect();
        let hashes = Hashes::new(20, &flat);
        let gaps = [
            Gap {
                after: None,
                before: Some(Key::from_top(10)),
            },
            Gap {
                after: Some(Key::from_top(10)),
                before: Some(Key::from_top(20)),
            },
            Gap {
                after: Some(Key::from_top(400)),
                before: None,
            },
        ];
        assert_eq!(unchecked(hashes, &gaps), vec![0, 2, 3, 6]);
    }
}
