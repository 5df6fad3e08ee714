//! `--banned FILE`: an organisation's own words (company and product names,
//! seasons, cities) expanded with the mutations people use to satisfy
//! complexity rules, e.g. `contoso` → `Contoso2026!`, `C0nt0$0`, `CONTOSO1`.
//!
//! Expansion, per word:
//! * case: as given, lower, Capitalised, UPPER;
//! * leetspeak: none, `a@ e3 i1 o0 s$`, `a4 i! s5 t7 e3 o0` (all at once);
//! * suffix: none, one or two digits, `123`, `1234`, `12345`, a year from
//!   1950 to next year;
//! * then optionally one trailing symbol of `! @ # $ ? * .`.
//!
//! About 20,000 candidates a word, de-duplicated; 100 words expand and are
//! hashed in well under a second. The expansion is then checked like any
//! password list.

/// Expand `words` into the candidate passwords, de-duplicated.
pub fn expand(words: &[Vec<u8>], this_year: u32) -> Vec<Vec<u8>> {
    let suffixes = suffixes(this_year);
    let mut out: Vec<Vec<u8>> = Vec::new();
    for word in words {
        for base in bases(word) {
            for suffix in &suffixes {
                let mut candidate = base.clone();
                candidate.extend_from_slice(suffix.as_bytes());
                for symbol in [
                    None,
                    Some(b'!'),
                    Some(b'@'),
                    Some(b'#'),
                    Some(b'$'),
                    Some(b'?'),
                    Some(b'*'),
                    Some(b'.'),
                ] {
                    let mut c = candidate.clone();
                    c.extend(symbol);
                    out.push(c);
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn suffixes(this_year: u32) -> Vec<String> {
    let mut s = vec![String::new(), "123".into(), "1234".into(), "12345".into()];
    s.extend((0..10).map(|d| d.to_string()));
    s.extend((0..100).map(|d| format!("{d:02}")));
    s.extend((1950..=this_year + 1).map(|y| y.to_string()));
    s
}

/// Case and leetspeak forms of one word.
fn bases(word: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(word).into_owned();
    let lower = text.to_lowercase();
    let capital: String = lower
        .chars()
        .next()
        .map(|c| c.to_uppercase().chain(lower.chars().skip(1)).collect())
        .unwrap_or_default();
    let cases = [text.clone(), lower, capital, text.to_uppercase()];
    let leet1 = |c: char| match c {
        'a' | 'A' => '@',
        'e' | 'E' => '3',
        'i' | 'I' => '1',
        'o' | 'O' => '0',
        's' | 'S' => '$',
        other => other,
    };
    let leet2 = |c: char| match c {
        'a' | 'A' => '4',
        'i' | 'I' => '!',
        's' | 'S' => '5',
        't' | 'T' => '7',
        'e' | 'E' => '3',
        'o' | 'O' => '0',
        other => other,
    };
    let mut out: Vec<Vec<u8>> = Vec::new();
    for case in cases {
        for form in [
            case.clone(),
            case.chars().map(leet1).collect(),
            case.chars().map(leet2).collect(),
        ] {
            let bytes = form.into_bytes();
            if !bytes.is_empty() && !out.contains(&bytes) {
                out.push(bytes);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_the_usual_mutations() {
        let all = expand(&[b"Summer".to_vec()], 2026);
        for expected in [
            "Summer2026!",
            "summer",
            "SUMMER1",
            "$umm3r",
            "5umm3r99",
            "Summer123",
            "summer2027.",
        ] {
            assert!(
                all.binary_search(&expected.as_bytes().to_vec()).is_ok(),
                "{expected}"
            );
        }
        assert!(all.binary_search(&b"Summer2028".to_vec()).is_err());
        assert!(all.len() > 10_000 && all.len() < 40_000, "{}", all.len());
    }
}
