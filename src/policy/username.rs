//! Passwords made from the account name: `alice` / `Alice2026!` for alice,
//! `jsmith` for `CONTOSO\jsmith`, `john.smith1` for john.smith@example.com,
//! `ecila` (reversed).
//!
//! A plaintext is checked by rule: strip trailing digits and symbols,
//! compare case-insensitively with the name's variants. A hash cannot be
//! unwound, so a bounded set of candidates (case forms × common suffixes) is
//! hashed per account and compared with the stored hash.

use crate::hash::{hash_into, HashKind};

/// Variants shorter than this are not matched: too many false alarms.
const MIN_BASE: usize = 3;
const SYMBOLS: &[u8] = b"!@#$%^&*?._-+";

/// The part of a name after `DOMAIN\`.
pub fn sam_part(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b'\\') {
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
        .rposition(|c| !(c.is_ascii_digit() || SYMBOLS.contains(c)))
        .map_or(0, |i| i + 1);
    let core = &password[..end];
    if core.len() < MIN_BASE {
        return false;
    }
    let core = String::from_utf8_lossy(core).to_lowercase().into_bytes();
    bases(name).contains(&core)
}

/// Suffixes tried on hashed passwords: digits, symbols and recent years.
fn suffixes(this_year: u32) -> Vec<String> {
    let mut s: Vec<String> = ["", "1", "12", "123", "1234", "01", "!", "1!", "123!"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for year in this_year.saturating_sub(6)..=this_year + 1 {
        s.push(year.to_string());
        s.push(format!("{year}!"));
    }
    s
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

/// Candidate passwords for a hashed account: case forms of each base with
/// each suffix.
pub struct Candidates {
    suffixes: Vec<String>,
}

impl Candidates {
    pub fn new(this_year: u32) -> Candidates {
        Candidates {
            suffixes: suffixes(this_year),
        }
    }

    /// Does any candidate built from `name` hash to `hash` under `kind`?
    pub fn matches_hash(&self, name: &[u8], kind: HashKind, hash: &[u8]) -> bool {
        let mut digest = [0u8; 20];
        let mut candidate = Vec::with_capacity(64);
        for base in bases(name) {
            let text = String::from_utf8_lossy(&base).into_owned();
            let mut capital = text.clone();
            if let Some(first) = text.chars().next() {
                capital = first.to_uppercase().chain(text.chars().skip(1)).collect();
            }
            let forms = [text.clone(), capital, text.to_uppercase()];
            for (i, form) in forms.iter().enumerate() {
                if forms[..i].contains(form) {
                    continue;
                }
                for suffix in &self.suffixes {
                    candidate.clear();
                    candidate.extend_from_slice(form.as_bytes());
                    candidate.extend_from_slice(suffix.as_bytes());
                    if hash_into(kind, &candidate, &mut digest[..kind.bytes()]).is_ok()
                        && digest[..kind.bytes()] == *hash
                    {
                        return true;
                    }
                }
            }
        }
        false
    }
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
    }

    #[test]
    fn hashed_variants() {
        let c = Candidates::new(2026);
        assert!(c.matches_hash(
            b"CONTOSO\\jdoe",
            HashKind::Ntlm,
            &ntlm(b"Jdoe2025!").unwrap()
        ));
        assert!(c.matches_hash(b"alice@example.com", HashKind::Sha1, &sha1(b"ALICE")));
        assert!(c.matches_hash(b"alice", HashKind::Sha1, &sha1(b"ecila123")));
        assert!(!c.matches_hash(b"alice", HashKind::Sha1, &sha1(b"alice1999")));
        assert!(current_year() >= 2026);
    }
}
