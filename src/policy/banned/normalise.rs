//! Banned words in plaintext, matched the way Microsoft Entra Password
//! Protection and Lithnet Password Protection match them: normalise the
//! password, match each word exactly, within one edit, or as a substring,
//! then score what is left.
//!
//! No enumeration of mutations can reach `C0ntos0Blank12` (two words, two
//! substitutions, a suffix); normalising does. The rules are the public
//! ones (Microsoft's "Eliminate bad passwords" page, Lithnet's
//! normalisation rules):
//! * **match form**: lower-cased; leading and trailing digits, symbols and
//!   separators stripped, *then* the substitutions mapped back
//!   (`0o 1l/i 2z 3e 4a 5s 6g 7t 8b @a $s !i ^a (c`). Stripping first keeps
//!   `Password123` from becoming `passwordlze`.
//! * **score form**: lower-cased and mapped, not stripped.
//! * A word matches if it equals the match form ([`Rule::Exact`]), is
//!   within edit distance 1 of it ([`Rule::Fuzzy`]), or, for words of 4
//!   characters or more, is a substring of the score form
//!   ([`Rule::SubstringScore`]).
//! * When a word matched, the score form is scored: each word found is 1
//!   point, each other character 1 point. Under 5 points is `banned`. A
//!   match alone is not a verdict: `Contoso2025!` scores 6 (the expansion
//!   finds it instead).
//!
//! Where a character has two readings (`1`: `l` or `i`), both are tried.

use super::Rule;

/// A password scoring fewer points than this is banned.
const PASSING_SCORE: usize = 5;
/// Shortest word matched as a substring of the score form.
const MIN_SUBSTRING: usize = 4;
/// Characters with two readings tried in every combination; past this
/// many, only the all-first and all-second readings are.
const MAX_AMBIGUOUS: usize = 4;

/// The banned words, normalised, ready to match plaintext.
#[derive(Clone, Debug, Default)]
pub struct Matcher {
    words: Vec<Vec<char>>,
}

impl Matcher {
    pub fn new(words: &[Vec<u8>]) -> Matcher {
        let mut words: Vec<Vec<char>> = words
            .iter()
            .map(|w| {
                String::from_utf8_lossy(w)
                    .to_lowercase()
                    .chars()
                    .map(|c| readings(c).first().copied().unwrap_or(c))
                    .collect::<Vec<char>>()
            })
            .filter(|w| !w.is_empty())
            .collect();
        words.sort();
        words.dedup();
        Matcher { words }
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The rule by which `password` is banned, if it is. Words equal to a
    /// form of the account's own name (`own_name`, lower-cased forms as
    /// `username::bases` gives them) are the `username` check's business
    /// and are ignored here.
    pub fn check(&self, password: &[u8], own_name: impl Fn() -> Vec<Vec<u8>>) -> Option<Rule> {
        let lower: Vec<char> = String::from_utf8_lossy(password)
            .to_lowercase()
            .chars()
            .collect();
        let is_kept = |c: &char| c.is_alphabetic();
        let lead = lower.iter().position(is_kept)?;
        let end = lower.iter().rposition(is_kept).map_or(lead, |i| i + 1);
        let mut own: Option<Vec<Vec<u8>>> = None;
        let mut best: Option<Rule> = None;
        for score_form in mapped_forms(&lower) {
            let mut spans = self.spans(&score_form, lead..end);
            if spans.is_empty() {
                continue;
            }
            let own = own.get_or_insert_with(&own_name);
            spans.retain(|s| {
                let word: String = self.words[s.word].iter().collect();
                !own.iter().any(|o| o == word.as_bytes())
            });
            if let Some(rule) = score(&spans, score_form.len()) {
                best = Some(best.map_or(rule, |b| b.min(rule)));
            }
        }
        best
    }

    /// Where words match in one score form whose match form is `core`.
    fn spans(&self, score_form: &[char], core: std::ops::Range<usize>) -> Vec<Span> {
        let match_form = &score_form[core.clone()];
        let mut spans = Vec::new();
        for (word, w) in self.words.iter().enumerate() {
            let rule = if w == match_form {
                Some(Rule::Exact)
            } else if within_one_edit(w, match_form) {
                Some(Rule::Fuzzy)
            } else {
                None
            };
            if let Some(rule) = rule {
                spans.push(Span {
                    range: core.clone(),
                    rule,
                    word,
                });
            }
            if w.len() >= MIN_SUBSTRING && w.len() <= score_form.len() {
                // The first character alone rules out most places, without
                // a call to compare the rest.
                for start in 0..=score_form.len() - w.len() {
                    if score_form[start] == w[0] && score_form[start + 1..start + w.len()] == w[1..]
                    {
                        spans.push(Span {
                            range: start..start + w.len(),
                            rule: Rule::SubstringScore,
                            word,
                        });
                    }
                }
            }
        }
        spans
    }
}

/// A banned word found in a score form.
struct Span {
    range: std::ops::Range<usize>,
    rule: Rule,
    /// Index into [`Matcher::words`].
    word: usize,
}

/// Entra's score: 1 point per word found (longest first, not overlapping),
/// 1 per character left. Below [`PASSING_SCORE`], the strongest rule by
/// which a word matched (`@cme` is a fuzzy match of `acme`, although its
/// score form holds `acme` whole).
fn score(spans: &[Span], len: usize) -> Option<Rule> {
    let rule = spans.iter().map(|s| s.rule).min()?;
    let mut order: Vec<&Span> = spans.iter().collect();
    order.sort_by_key(|s| std::cmp::Reverse(s.range.len()));
    let mut covered = vec![false; len];
    let mut points = 0;
    for s in order {
        if covered[s.range.clone()].iter().any(|&c| c) {
            continue;
        }
        covered[s.range.clone()].iter_mut().for_each(|c| *c = true);
        points += 1;
    }
    points += covered.iter().filter(|&&c| !c).count();
    (points < PASSING_SCORE).then_some(rule)
}

/// What a character may stand for: itself, or the letters it substitutes.
fn readings(c: char) -> &'static [char] {
    match c {
        '0' => &['o'],
        '1' => &['l', 'i'],
        '2' => &['z'],
        '3' => &['e'],
        '4' => &['a'],
        '5' => &['s'],
        '6' => &['g'],
        '7' => &['t'],
        '8' => &['b'],
        '@' => &['a'],
        '$' => &['s'],
        '!' => &['i'],
        '^' => &['a'],
        '(' => &['c'],
        _ => &[],
    }
}

/// The lower-cased password with substitutions mapped, once per way of
/// reading its ambiguous characters.
fn mapped_forms(lower: &[char]) -> Vec<Vec<char>> {
    let ambiguous: Vec<usize> = (0..lower.len())
        .filter(|&i| readings(lower[i]).len() > 1)
        .collect();
    let choices: Vec<u32> = if ambiguous.len() <= MAX_AMBIGUOUS {
        (0..1u32 << ambiguous.len()).collect()
    } else {
        vec![0, u32::MAX]
    };
    choices
        .into_iter()
        .map(|choice| {
            lower
                .iter()
                .enumerate()
                .map(|(i, &c)| match readings(c) {
                    [] => c,
                    [one] => *one,
                    two => {
                        let k = ambiguous.iter().position(|&a| a == i).unwrap_or(0);
                        two[usize::from(choice >> k.min(31) & 1 == 1)]
                    }
                })
                .collect()
        })
        .collect()
}

/// Are `a` and `b` one insertion, deletion or substitution apart?
fn within_one_edit(a: &[char], b: &[char]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        short[prefix..].len() <= 1 || short[prefix + 1..] == long[prefix + 1..]
    } else {
        short[prefix..] == long[prefix + 1..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(words: &[&str], password: &str) -> Option<Rule> {
        let words: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        Matcher::new(&words).check(password.as_bytes(), Vec::new)
    }

    #[test]
    fn microsofts_examples() {
        let words = ["contoso", "blank"];
        // contoso + blank + "l" + "z": 4 points.
        assert_eq!(check(&words, "C0ntos0Blank12"), Some(Rule::SubstringScore));
        // contoso + blank + "f" + "9" + "i": 5 points.
        assert_eq!(check(&words, "ContoS0Bl@nkf9!"), None);
        // contoso + "z" "o" "z" "s" "i": 6 points (the expansion finds it).
        assert_eq!(check(&words, "Contoso2025!"), None);
    }

    #[test]
    fn exact_after_stripping_and_mapping() {
        assert_eq!(check(&["password"], "P@ssword"), Some(Rule::Exact));
        assert_eq!(check(&["password"], "!P@ssw0rd1"), Some(Rule::Exact));
        assert_eq!(
            check(&["password"], "Password123"),
            Some(Rule::Exact),
            "1 + 3 points"
        );
        assert_eq!(check(&["password"], "Password1234"), None, "1 + 4 points");
        assert_eq!(check(&["password"], "Password12"), Some(Rule::Exact));
        // `1` read as `l`: both readings are tried.
        assert_eq!(
            check(&["london"], "1ondon"),
            Some(Rule::Fuzzy),
            "stripped: ondon"
        );
        assert_eq!(check(&["london"], "L0nd0n"), Some(Rule::Exact));
        // The match form is `bi` (digits stripped), the score form `bill`.
        assert_eq!(check(&["bill"], "Bi11"), Some(Rule::SubstringScore));
        assert_eq!(check(&["liam"], "xl1am"), Some(Rule::Fuzzy));
    }

    #[test]
    fn fuzzy_within_one_edit() {
        assert_eq!(check(&["acme"], "@cme"), Some(Rule::Fuzzy), "@ stripped");
        assert_eq!(check(&["contoso"], "Contozo!"), Some(Rule::Fuzzy));
        assert_eq!(check(&["contoso"], "Cntoso1"), Some(Rule::Fuzzy));
        assert_eq!(check(&["contoso"], "Conttoso"), Some(Rule::Fuzzy));
        assert_eq!(check(&["contoso"], "Cantaso"), None, "two edits");
        assert!(within_one_edit(&['a', 'b'], &['a', 'b']));
        assert!(within_one_edit(&['a', 'b'], &['b']));
        assert!(!within_one_edit(&['a', 'b', 'c'], &['c', 'b', 'a']));
    }

    #[test]
    fn substring_only_feeds_the_score() {
        assert_eq!(check(&["summer"], "MySummer"), Some(Rule::SubstringScore));
        assert_eq!(check(&["summer"], "HotSummerNights"), None, "1 + 9 points");
        assert_eq!(check(&["sum"], "MySum"), None, "too short for a substring");
    }

    #[test]
    fn own_name_is_not_banned() {
        let m = Matcher::new(&[b"alice".to_vec(), b"acme".to_vec()]);
        let own = || vec![b"alice".to_vec()];
        assert_eq!(m.check(b"Alice1", own), None);
        assert_eq!(m.check(b"Acme1", own), Some(Rule::Exact));
        assert_eq!(m.check(b"1234", own), None, "no letters at all");
    }
}
