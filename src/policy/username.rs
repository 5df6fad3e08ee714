//! Passwords made from the account name: `alice` / `Alice2026!` for alice,
//! `jsmith` for `CONTOSO\jsmith`, `john.smith1` for john.smith@example.com,
//! `ecila` (reversed).
//!
//! A plaintext is checked by rule: strip trailing digits and symbols,
//! compare case-insensitively with the name's variants. A hash cannot be
//! unwound, so a bounded set of candidates (case forms × common suffixes) is
//! hashed per account and compared with the stored hash.

use crate::hash::{fits_one_block, hash_into, HashKind, NtlmLanes, NtlmSuffix};

/// Variants shorter than this are not matched: too many false alarms.
const MIN_BASE: usize = 3;
/// The symbols stripped from a password's end with its digits.
fn is_symbol(c: u8) -> bool {
    // A match rather than `b"!@#...".contains(&c)`, which is a `memchr`
    // call per byte: this runs on every plaintext.
    matches!(
        c,
        b'!' | b'@' | b'#' | b'$' | b'%' | b'^' | b'&' | b'*' | b'?' | b'.' | b'_' | b'-' | b'+'
    )
}

/// The part of a name after `DOMAIN\`.
pub fn sam_part(name: &[u8]) -> &[u8] {
    match memchr::memrchr(b'\\', name) {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// Lower-cased forms of the name a password may be built on: the name, the
/// part after `DOMAIN\`, an email's local part, each without `.`/`_`/`-`,
/// and each reversed.
pub fn bases(name: &[u8]) -> Vec<Vec<u8>> {
    let lower = String::from_utf8_lossy(name).to_lowercase().into_bytes();
    let sam = sam_part(&lower).to_vec();
    let local = match sam.iter().position(|&b| b == b'@') {
        Some(i) => sam[..i].to_vec(),
        None => sam.clone(),
    };
    let mut out: Vec<Vec<u8>> = Vec::new();
    for base in [lower.clone(), sam, local] {
        let joined: Vec<u8> = base
            .iter()
            .copied()
            .filter(|b| !matches!(b, b'.' | b'_' | b'-'))
            .collect();
        for form in [base, joined] {
            let reversed: Vec<u8> = String::from_utf8_lossy(&form)
                .chars()
                .rev()
                .collect::<String>()
                .into_bytes();
            for f in [form, reversed] {
                if f.len() >= MIN_BASE && !out.contains(&f) {
                    out.push(f);
                }
            }
        }
    }
    out
}

/// Does this plaintext look like the account name?
pub fn matches_plaintext(name: &[u8], password: &[u8]) -> bool {
    let end = password
        .iter()
        .rposition(|&c| !(c.is_ascii_digit() || is_symbol(c)))
        .map_or(0, |i| i + 1);
    let core = &password[..end];
    if core.len() < MIN_BASE {
        return false;
    }
    if name.is_ascii() && core.is_ascii() {
        return matches_ascii(name, core);
    }
    let core = String::from_utf8_lossy(core).to_lowercase().into_bytes();
    bases(name).contains(&core)
}

/// [`matches_plaintext`] for ASCII, without allocating: it runs once per
/// plaintext account, millions of times, so the name is cut with `memchr`
/// rather than byte loops.
fn matches_ascii(name: &[u8], core: &[u8]) -> bool {
    let sam = sam_part(name);
    let local = memchr::memchr(b'@', sam).map_or(sam, |i| &sam[..i]);
    let lower = |b: &u8| b.to_ascii_lowercase();
    let kept = |b: &&u8| !matches!(b, b'.' | b'_' | b'-');
    let first = core[0].to_ascii_lowercase();
    [name, sam, local].iter().any(|base| {
        // Every form is at most as long as the base, and starts with the
        // base's first or last letter: most passwords fail here, cheaply.
        let ends = [
            base.first(),
            base.last(),
            base.iter().find(kept),
            base.iter().rev().find(kept),
        ];
        if core.len() > base.len() || !ends.iter().flatten().any(|&&b| lower(&b) == first) {
            return false;
        }
        core.eq_ignore_ascii_case(base)
            || core.iter().map(lower).eq(base.iter().rev().map(lower))
            || core
                .iter()
                .map(lower)
                .eq(base.iter().filter(kept).map(lower))
            || core
                .iter()
                .map(lower)
                .eq(base.iter().rev().filter(kept).map(lower))
    })
}

/// The current year (UTC), for year suffixes.
pub fn current_year() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Days to civil year, good for 1970..=9999.
    let days = secs / 86_400;
    let mut year = 1970;
    let mut left = days;
    loop {
        let len = if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
            366
        } else {
            365
        };
        if left < len {
            return year as u32;
        }
        left -= len;
        year += 1;
    }
}

/// Candidate passwords for a hashed account. A hash cannot be unwound, so
/// each candidate costs a hash per account: the set is kept to the forms
/// people actually use (about 15; lil-pwny tries 5). For the account's short
/// name (after `DOMAIN\`, or an email's local part): lower, Capitalised and
/// UPPER case, without `.`/`_`/`-`, reversed; lower and Capitalised also with
/// `1`, `123`, `!`, this year and this year plus `!`.
pub struct Candidates {
    suffixes: Vec<Vec<u8>>,
    /// The same suffixes, laid out for eight-lane NTLM.
    ntlm_suffixes: Vec<NtlmSuffix>,
    longest_suffix: Vec<u8>,
}

impl Candidates {
    pub fn new(this_year: u32) -> Candidates {
        let suffixes = [
            "1".to_string(),
            "123".into(),
            "!".into(),
            this_year.to_string(),
            format!("{this_year}!"),
        ];
        let suffixes: Vec<Vec<u8>> = suffixes.into_iter().map(String::into_bytes).collect();
        Candidates {
            ntlm_suffixes: suffixes.iter().map(|s| NtlmSuffix::new(s)).collect(),
            longest_suffix: suffixes
                .iter()
                .max_by_key(|s| s.len())
                .cloned()
                .unwrap_or_default(),
            suffixes,
        }
    }

    /// Does any candidate built from `name` hash to `hash` under `kind`?
    pub fn matches_hash(&self, name: &[u8], kind: HashKind, hash: &[u8]) -> bool {
        let short = short_name(name);
        if short.len() < MIN_BASE {
            return false;
        }
        if short.is_ascii() && short.len() <= MAX_CANDIDATE {
            let mut forms = [[0u8; MAX_CANDIDATE]; 5];
            let n = short.len();
            for (i, &b) in short.iter().enumerate() {
                forms[0][i] = b.to_ascii_lowercase();
                forms[1][i] = if i == 0 {
                    b.to_ascii_uppercase()
                } else {
                    b.to_ascii_lowercase()
                };
                forms[2][i] = b.to_ascii_uppercase();
                forms[4][n - 1 - i] = b.to_ascii_lowercase();
            }
            let mut joined = 0;
            for &b in short {
                if !matches!(b, b'.' | b'_' | b'-') {
                    forms[3][joined] = b.to_ascii_lowercase();
                    joined += 1;
                }
            }
            let [lower, capital, upper, joined, reversed] = [
                &forms[0][..n],
                &forms[1][..n],
                &forms[2][..n],
                &forms[3][..joined],
                &forms[4][..n],
            ];
            return self.try_forms(kind, hash, [lower, capital], [upper, joined, reversed]);
        }
        let lower = String::from_utf8_lossy(short).to_lowercase();
        let capital: String = lower
            .chars()
            .next()
            .map(|c| c.to_uppercase().chain(lower.chars().skip(1)).collect())
            .unwrap_or_default();
        let joined: String = lower
            .chars()
            .filter(|c| !matches!(c, '.' | '_' | '-'))
            .collect();
        let reversed: String = lower.chars().rev().collect();
        let upper = lower.to_uppercase();
        self.try_forms(
            kind,
            hash,
            [lower.as_bytes(), capital.as_bytes()],
            [upper.as_bytes(), joined.as_bytes(), reversed.as_bytes()],
        )
    }

    /// Try `suffixed` forms alone and with each suffix, and `plain` forms
    /// alone (those equal to the first suffixed form are skipped).
    fn try_forms(
        &self,
        kind: HashKind,
        hash: &[u8],
        suffixed: [&[u8]; 2],
        plain: [&[u8]; 3],
    ) -> bool {
        let mut plain = plain.into_iter().filter(|form| *form != suffixed[0]);
        if let (HashKind::Ntlm, Ok(want)) = (kind, <&[u8; 16]>::try_from(hash)) {
            let fits = |form: &[u8]| fits_one_block(&[form, &self.longest_suffix]);
            if suffixed.iter().all(|f| fits(f)) && plain.clone().all(|f| fits_one_block(&[f])) {
                // A form and its suffixed variants in one set of lanes, the
                // plain forms in the lanes left over.
                return suffixed.iter().any(|form| {
                    let mut lanes = NtlmLanes::default();
                    lanes.push(form);
                    for suffix in &self.ntlm_suffixes {
                        lanes.push_suffixed(0, suffix);
                    }
                    while !lanes.is_full() {
                        match plain.next() {
                            Some(form) => lanes.push(form),
                            None => break,
                        }
                    }
                    lanes.contains(want)
                });
            }
        }
        let no_suffix: &[u8] = &[];
        let width = kind.bytes();
        let (mut joined, mut digest) = ([0u8; MAX_CANDIDATE], [0u8; 20]);
        let mut try_one = |form: &[u8], suffix: &[u8]| {
            let len = form.len() + suffix.len();
            if len > MAX_CANDIDATE {
                return false;
            }
            joined[..form.len()].copy_from_slice(form);
            joined[form.len()..len].copy_from_slice(suffix);
            hash_into(kind, &joined[..len], &mut digest[..width]).is_ok()
                && digest[..width] == *hash
        };
        suffixed.iter().any(|form| {
            std::iter::once(no_suffix)
                .chain(self.suffixes.iter().map(Vec::as_slice))
                .any(|suffix| try_one(form, suffix))
        }) || plain.any(|form| try_one(form, no_suffix))
    }
}

/// Longest candidate tried, in bytes.
const MAX_CANDIDATE: usize = 64;

/// The name a person would build a password from: the part after
/// `DOMAIN\`, or an email's local part.
fn short_name(name: &[u8]) -> &[u8] {
    let sam = sam_part(name);
    memchr::memchr(b'@', sam).map_or(sam, |i| &sam[..i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{ntlm, sha1};

    #[test]
    fn plaintext_variants() {
        assert!(matches_plaintext(b"alice", b"alice"));
        assert!(matches_plaintext(b"alice", b"Alice2026!"));
        assert!(matches_plaintext(b"CONTOSO\\jsmith", b"JSMITH1"));
        assert!(matches_plaintext(b"john.smith@example.com", b"john.smith1"));
        assert!(matches_plaintext(b"john.smith@example.com", b"johnsmith"));
        assert!(matches_plaintext(b"alice", b"ecila"));
        assert!(!matches_plaintext(b"alice", b"alicia"));
        assert!(!matches_plaintext(b"alice", b"xalice"));
        assert!(!matches_plaintext(b"al", b"al123"), "too short to judge");
        assert!(!matches_plaintext(b"alice", b"123"));
        assert!(matches_plaintext(b".alice", b".Alice1"), "separator first");
        assert!(matches_plaintext(b"alice.", b".ecila"), "separator last");
        assert!(matches_plaintext(b"_alice_", b"ecila"));
        assert!(!matches_plaintext(b"alice", b"alicealice"));
    }

    #[test]
    fn hashed_variants() {
        let c = Candidates::new(2026);
        let nt = |pw: &str| ntlm(pw.as_bytes()).unwrap();
        assert!(c.matches_hash(b"CONTOSO\\jdoe", HashKind::Ntlm, &nt("Jdoe2026!")));
        assert!(c.matches_hash(b"CONTOSO\\jdoe", HashKind::Ntlm, &nt("jdoe123")));
        assert!(c.matches_hash(b"alice@example.com", HashKind::Sha1, &sha1(b"ALICE")));
        assert!(c.matches_hash(b"alice", HashKind::Sha1, &sha1(b"ecila")));
        assert!(c.matches_hash(b"john.smith@x.com", HashKind::Sha1, &sha1(b"johnsmith")));
        assert!(!c.matches_hash(b"alice", HashKind::Sha1, &sha1(b"alice1999")));
        assert!(!c.matches_hash(b"al", HashKind::Sha1, &sha1(b"al")));
        // NTLM takes the eight-lane path: every candidate, in either set of
        // lanes, and nothing else.
        for password in [
            "john.smith",
            "john.smith1",
            "john.smith2026!",
            "John.smith",
            "John.smith123",
            "JOHN.SMITH",
            "johnsmith",
            "htims.nhoj",
        ] {
            assert!(
                c.matches_hash(b"CORP\\john.smith", HashKind::Ntlm, &nt(password)),
                "{password}"
            );
        }
        // Too long for one MD4 block with a suffix: hashed one at a time.
        let long = "averyveryverylongusername";
        assert!(c.matches_hash(
            long.as_bytes(),
            HashKind::Ntlm,
            &nt(&format!("{long}2026!"))
        ));
        for password in ["john.smith2025", "JOHN.SMITH1", "Johnsmith", "john.smith!!"] {
            assert!(
                !c.matches_hash(b"CORP\\john.smith", HashKind::Ntlm, &nt(password)),
                "{password}"
            );
        }
        assert!(current_year() >= 2026);
    }
}
