//! What hash space a build's sources cover, judged once every line is read.
//!
//! * A mirror directory covers the prefixes it has files for.
//! * A sorted file of 20M lines or more must have a line in every 5-hex
//!   prefix: about 19 lines per prefix, so an empty one by luck has a
//!   chance of e^-19 (0.006 over all 2^20 prefixes); an empty prefix is a
//!   broken download.
//! * A smaller file is judged by its own density, the rule of
//!   [`crate::coverage`]: gaps at the ends longer than 20 mean gaps, holes
//!   longer than (ln N + 20) mean gaps.
//!
//! What is not covered becomes stretches of hash space (top 64 bits,
//! inclusive) that the store answers as unchecked.

use crate::coverage::Density;
use crate::sorted_key::Key;

/// Sources of at least this many lines are judged prefix by prefix.
pub(super) const PREFIX_RULE_LINES: u64 = 20_000_000;
const PREFIXES: usize = 1 << 20;
/// Bits below a prefix in a hash's top 64.
const BELOW_PREFIX: u32 = 44;

pub(super) struct Coverage {
    /// Prefixes with at least one line.
    with_lines: Vec<u64>,
    /// Prefixes with a mirror file.
    with_files: Vec<u64>,
    /// Candidate holes between neighbouring lines (tops).
    gaps: Vec<(u64, u64)>,
    first: Option<Key>,
    last: Option<Key>,
}

impl Default for Coverage {
    fn default() -> Coverage {
        Coverage {
            with_lines: vec![0; PREFIXES / 64],
            with_files: vec![0; PREFIXES / 64],
            gaps: Vec::new(),
            first: None,
            last: None,
        }
    }
}

/// The verdict on a build's coverage.
pub(super) struct Judgement {
    pub rule: &'static str,
    /// Stretches without data (tops, inclusive), ascending.
    pub uncovered: Vec<(u64, u64)>,
    /// The same as prefix ranges, for people.
    pub missing: Vec<String>,
    pub empty_prefixes: u64,
}

fn set(bits: &mut [u64], prefix: u32) {
    bits[prefix as usize / 64] |= 1 << (prefix % 64);
}

fn get(bits: &[u64], prefix: u32) -> bool {
    bits[prefix as usize / 64] & (1 << (prefix % 64)) != 0
}

/// `5BAA6` or `30000-3FFFF`.
fn describe(lo: u64, hi: u64) -> String {
    let (a, b) = (lo >> BELOW_PREFIX, hi >> BELOW_PREFIX);
    if a == b {
        format!("{a:05X}")
    } else {
        format!("{a:05X}-{b:05X}")
    }
}

impl Coverage {
    pub fn line_in(&mut self, prefix: u32) {
        set(&mut self.with_lines, prefix);
    }

    pub fn file_for(&mut self, prefix: u32) {
        set(&mut self.with_files, prefix);
    }

    pub fn note_gap(&mut self, after: u64, before: u64) {
        self.gaps.push((after, before));
    }

    pub fn bounds(&mut self, first: Option<Key>, last: Option<Key>) {
        if self.first.is_none() {
            self.first = first;
        }
        if last.is_some() {
            self.last = last;
        }
    }

    /// Judge coverage of `lines` lines, from mirror directories or not.
    pub fn judge(&self, lines: u64, mirror: bool) -> Judgement {
        let empty_prefixes = (0..PREFIXES as u32)
            .filter(|&p| !get(&self.with_lines, p))
            .count() as u64;
        let (rule, uncovered) = if mirror {
            ("prefix files", self.prefixes_without(&self.with_files))
        } else if lines >= PREFIX_RULE_LINES {
            (
                "every prefix has a line (20M lines or more)",
                self.prefixes_without(&self.with_lines),
            )
        } else {
            (
                "density gaps (fewer than 20M lines)",
                self.density_gaps(lines),
            )
        };
        Judgement {
            rule,
            missing: uncovered.iter().map(|&(lo, hi)| describe(lo, hi)).collect(),
            uncovered,
            empty_prefixes,
        }
    }

    /// Runs of prefixes whose bit is not set.
    fn prefixes_without(&self, bits: &[u64]) -> Vec<(u64, u64)> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for p in (0..PREFIXES as u32).filter(|&p| !get(bits, p)) {
            let lo = u64::from(p) << BELOW_PREFIX;
            let hi = lo | ((1 << BELOW_PREFIX) - 1);
            match runs.last_mut() {
                Some(run) if run.1.wrapping_add(1) == lo => run.1 = hi,
                _ => runs.push((lo, hi)),
            }
        }
        runs
    }

    fn density_gaps(&self, lines: u64) -> Vec<(u64, u64)> {
        let (Some(first), Some(last)) = (self.first, self.last) else {
            return vec![(0, u64::MAX)];
        };
        let density = Density { lines, first, last };
        let hole = density.hole_length();
        let mut gaps: Vec<(u64, u64)> = density
            .end_gaps()
            .iter()
            .map(|g| {
                (
                    g.after.map_or(0, Key::top),
                    g.before.map_or(u64::MAX, Key::top),
                )
            })
            .collect();
        gaps.extend(self.gaps.iter().filter(|g| g.1 - g.0 >= hole));
        gaps.sort_unstable();
        // Stretches may touch (an end gap and a hole share a line): merge.
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for g in gaps {
            match merged.last_mut() {
                Some(m) if g.0 <= m.1 => m.1 = m.1.max(g.1),
                _ => merged.push(g),
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_prefix_files_become_merged_stretches() {
        let mut c = Coverage::default();
        for p in (0..PREFIXES as u32).filter(|p| !(0x30000..=0x3FFFF).contains(p) && *p != 0xFFFFF)
        {
            c.file_for(p);
        }
        let j = c.judge(0, true);
        assert_eq!(j.missing, ["30000-3FFFF", "FFFFF"]);
        assert_eq!(j.uncovered[1], (0xFFFFF << 44, u64::MAX));
        assert_eq!(j.rule, "prefix files");
    }

    #[test]
    fn large_sources_need_a_line_in_every_prefix() {
        let mut c = Coverage::default();
        for p in 0..PREFIXES as u32 {
            if p != 0x5BAA6 {
                c.line_in(p);
            }
        }
        let j = c.judge(PREFIX_RULE_LINES, false);
        assert_eq!(j.missing, ["5BAA6"]);
        assert_eq!(j.empty_prefixes, 1);
    }

    #[test]
    fn small_sources_are_judged_by_density() {
        let mut c = Coverage::default();
        // 1,001 lines evenly over the lower half, then nothing: the upper
        // half is an end gap; one hole of 100 mean gaps in the middle.
        let g = (u64::MAX / 2) / 1000;
        c.bounds(
            Some(Key::from_top(g / 2)),
            Some(Key::from_top(g / 2 + 1000 * g)),
        );
        c.note_gap(g * 300, g * 400);
        c.note_gap(g * 10, g * 18);
        let j = c.judge(1001, false);
        assert_eq!(j.uncovered.len(), 2, "{:?}", j.missing);
        assert_eq!(j.uncovered[0], (g * 300, g * 400));
        assert_eq!(j.uncovered[1].1, u64::MAX);
    }
}
