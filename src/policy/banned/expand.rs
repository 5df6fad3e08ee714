//! Candidate expansion of banned words, for exports that hold hashes: a
//! hash cannot be normalised, so the forms people make of a word are
//! enumerated and hashed instead, e.g. `contoso` → `Contoso2026!`,
//! `C0nt0$0`, `c0ntoso1`, `P@ssword` from `password`.
//!
//! Per word:
//! * case: as given, lower, Capitalised, UPPER;
//! * substitutions, from `a@4 e3 i1! o0 s$5 t7`: none; every substitutable
//!   letter at once (`a@ e3 i1 o0 s$`, and `a4 i! s5 t7 e3 o0`); and any
//!   one or two letters substituted, the rest kept (`P@ssword`,
//!   `Passw0rd`, `P@ssw0rd`): people substitute a letter or two far more
//!   often than all of them;
//! * suffix: none, one or two digits, `123`, `1234`, `12345`, a year from
//!   1950 to next year;
//! * then optionally one trailing symbol of `! @ # $ ? * .`.
//!
//! About 100,000 to 200,000 candidates a word. They are not materialised:
//! [`Expansion`] keeps the bases (case and substitution forms) and the
//! endings (suffix and symbol) apart, and the source that checks them
//! (`source::banned_list`) hashes each base with each ending on the fly.

use std::collections::HashSet;

/// Letters people substitute, and what they put instead.
const SUBSTITUTIONS: [(u8, &[u8]); 6] = [
    (b'a', b"@4"),
    (b'e', b"3"),
    (b'i', b"1!"),
    (b'o', b"0"),
    (b's', b"$5"),
    (b't', b"7"),
];
/// Longest ending: `12345` and a symbol.
const MAX_ENDING: usize = 6;
/// Substituted letters at most in a partial form.
const MAX_PARTIAL: usize = 2;
const SYMBOLS: [Option<u8>; 8] = [
    None,
    Some(b'!'),
    Some(b'@'),
    Some(b'#'),
    Some(b'$'),
    Some(b'?'),
    Some(b'*'),
    Some(b'.'),
];

/// The candidates of a list of words: every base followed by every ending.
pub struct Expansion {
    /// Case and substitution forms of every word, sorted, de-duplicated.
    pub bases: Vec<Vec<u8>>,
    /// Suffix and symbol combinations, the empty one included.
    pub endings: Vec<Vec<u8>>,
    /// The endings again, to tell a plaintext's ending at once.
    ending_set: HashSet<Vec<u8>>,
}

impl Expansion {
    pub fn new(words: &[Vec<u8>], this_year: u32) -> Expansion {
        let mut bases: Vec<Vec<u8>> = words.iter().flat_map(|w| bases(w)).collect();
        bases.sort_unstable();
        bases.dedup();
        let mut endings = Vec::new();
        for suffix in suffixes(this_year) {
            for symbol in SYMBOLS {
                let mut e = suffix.clone().into_bytes();
                e.extend(symbol);
                endings.push(e);
            }
        }
        Expansion {
            bases,
            ending_set: endings.iter().cloned().collect(),
            endings,
        }
    }

    /// Is `password` a candidate? A plaintext is split at each place where
    /// what follows is an ending (seven places at most) and what precedes
    /// it looked up among the bases: no candidate is hashed.
    pub fn contains(&self, password: &[u8]) -> bool {
        (0..=MAX_ENDING.min(password.len())).any(|n| {
            let (base, ending) = password.split_at(password.len() - n);
            self.ending_set.contains(ending)
                && self
                    .bases
                    .binary_search_by(|b| b.as_slice().cmp(base))
                    .is_ok()
        })
    }

    /// Number of candidates (a base ending like another base's start may
    /// make a few of them equal).
    pub fn candidate_count(&self) -> u64 {
        self.bases.len() as u64 * self.endings.len() as u64
    }

    /// Every candidate, sorted and de-duplicated: for tests.
    #[cfg(test)]
    pub fn candidates(&self) -> Vec<Vec<u8>> {
        let mut all: Vec<Vec<u8>> = self
            .bases
            .iter()
            .flat_map(|b| self.endings.iter().map(move |e| [&b[..], e].concat()))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

fn suffixes(this_year: u32) -> Vec<String> {
    let mut s = vec![String::new(), "123".into(), "1234".into(), "12345".into()];
    s.extend((0..10).map(|d| d.to_string()));
    s.extend((0..100).map(|d| format!("{d:02}")));
    s.extend((1950..=this_year + 1).map(|y| y.to_string()));
    s
}

/// Case and substitution forms of one word.
fn bases(word: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(word).into_owned();
    let lower = text.to_lowercase();
    let capital: String = lower
        .chars()
        .next()
        .map(|c| c.to_uppercase().chain(lower.chars().skip(1)).collect())
        .unwrap_or_default();
    let cases = [text.clone(), lower, capital, text.to_uppercase()];
    let mut out: Vec<Vec<u8>> = Vec::new();
    for case in cases {
        let case = case.into_bytes();
        out.push(all_at_once(&case, 0));
        out.push(all_at_once(&case, 1));
        partial(&case, &mut out);
    }
    out.retain(|b| !b.is_empty());
    out.sort_unstable();
    out.dedup();
    out
}

/// What `letter` may become (nothing for letters nobody substitutes).
fn options(letter: u8) -> &'static [u8] {
    let lower = letter.to_ascii_lowercase();
    SUBSTITUTIONS
        .iter()
        .find(|(l, _)| *l == lower)
        .map_or(&[], |(_, with)| with)
}

/// Every substitutable letter replaced at once: `reading` 0 takes the first
/// option of each (`a@ e3 i1 o0 s$`), 1 the last (`a4 e3 i! o0 s5 t7`);
/// `t` has only one option and is left alone in the first reading.
fn all_at_once(case: &[u8], reading: usize) -> Vec<u8> {
    case.iter()
        .map(|&b| match options(b) {
            [] => b,
            [_] if b.eq_ignore_ascii_case(&b't') && reading == 0 => b,
            with => with[reading.min(with.len() - 1)],
        })
        .collect()
}

/// The forms with one to [`MAX_PARTIAL`] letters substituted, the word
/// itself included.
fn partial(case: &[u8], out: &mut Vec<Vec<u8>>) {
    let positions: Vec<usize> = (0..case.len())
        .filter(|&i| !options(case[i]).is_empty())
        .collect();
    out.push(case.to_vec());
    fn extend(form: &mut Vec<u8>, positions: &[usize], left: usize, out: &mut Vec<Vec<u8>>) {
        if left == 0 {
            return;
        }
        for (k, &i) in positions.iter().enumerate() {
            let letter = form[i];
            for &with in options(letter) {
                form[i] = with;
                out.push(form.clone());
                extend(form, &positions[k + 1..], left - 1, out);
            }
            form[i] = letter;
        }
    }
    let mut form = case.to_vec();
    extend(&mut form, &positions, MAX_PARTIAL, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(all: &[Vec<u8>], candidate: &str) -> bool {
        all.binary_search(&candidate.as_bytes().to_vec()).is_ok()
    }

    #[test]
    fn expands_the_usual_mutations() {
        let all = Expansion::new(&[b"Summer".to_vec()], 2026).candidates();
        for expected in [
            "Summer2026!",
            "summer",
            "SUMMER1",
            "$umm3r",
            "5umm3r99",
            "Summer123",
            "summer2027.",
        ] {
            assert!(has(&all, expected), "{expected}");
        }
        assert!(!has(&all, "Summer2028"));
        assert!(all.len() > 10_000 && all.len() < 100_000, "{}", all.len());
    }

    #[test]
    fn partial_substitutions() {
        let all = Expansion::new(&[b"password".to_vec(), b"acme".to_vec()], 2026).candidates();
        for expected in [
            "P@ssword",
            "Passw0rd",
            "P@ssw0rd!",
            "pa$sword1",
            "PA55WORD",
            "@cme",
            "@cme2024",
            "Acm3",
            "4cm3!",
        ] {
            assert!(has(&all, expected), "{expected}");
        }
        // Three letters substituted, but not all: not a candidate.
        assert!(!has(&all, "P@$$word"));
        assert!(!has(&all, "P@ssw0rd12345!!"));
    }

    #[test]
    fn contains_is_membership_in_the_candidates() {
        let e = Expansion::new(&[b"acme".to_vec(), b"acmecorp".to_vec()], 2026);
        let all = e.candidates();
        assert!(all.iter().all(|c| e.contains(c)));
        for near in [
            "acme2028",
            "acm",
            "xacme",
            "acme12345!!",
            "@cmecorp1234?x",
            "",
        ] {
            assert_eq!(e.contains(near.as_bytes()), has(&all, near), "{near}");
        }
        assert!(e.contains(b"@cmecorp1234?") && !e.contains(b"acme2028"));
    }

    #[test]
    fn the_expansion_counts_bases_times_endings() {
        let e = Expansion::new(&[b"acme".to_vec()], 2026);
        // 192 suffixes, each alone or with one of 7 symbols.
        assert_eq!(e.endings.len(), 192 * 8);
        assert_eq!(e.candidate_count(), e.bases.len() as u64 * 1536);
        assert_eq!(e.candidates().len() as u64, e.candidate_count());
    }
}
