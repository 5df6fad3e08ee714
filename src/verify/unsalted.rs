//! Bare hex digests: 40 hex digits are SHA-1, 32 are MD5 or NTLM.
//!
//! A 32-digit value cannot say whether it is MD5 (old web apps, WordPress
//! before phpass) or NTLM (Active Directory, MD4 over UTF-16LE), so both are
//! tried and either match counts. NTLM needs the password's characters, so
//! for bytes that are not UTF-8 only MD5 is tried (see `hash::ntlm`). Both
//! digests are always computed and compared, so the time taken does not say
//! which one matched.

use super::{digests_equal, HashError, Parsed};
use crate::hash;
use md5::{Digest, Md5};

/// A value with no scheme prefix: hex digests, or nothing we know.
pub(super) fn parse(stored: &[u8]) -> Result<Parsed<'_>, HashError> {
    match stored.len() {
        40 => {
            let mut digest = [0u8; 20];
            hash::decode_hex(stored, &mut digest).then_some(Parsed::Sha1(digest))
        }
        32 => {
            let mut digest = [0u8; 16];
            hash::decode_hex(stored, &mut digest).then_some(Parsed::Md5OrNtlm(digest))
        }
        _ => None,
    }
    .ok_or(HashError::Unknown)
}

pub(super) fn verify_sha1(digest: &[u8; 20], password: &[u8]) -> bool {
    digests_equal(&hash::sha1(password), digest)
}

pub(super) fn verify_md5_or_ntlm(digest: &[u8; 16], password: &[u8]) -> bool {
    let md5: [u8; 16] = Md5::digest(password).into();
    let md5_matches = digests_equal(&md5, digest);
    let ntlm_matches = hash::ntlm(password).is_ok_and(|ntlm| digests_equal(&ntlm, digest));
    md5_matches | ntlm_matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let md5 = *b"5f4dcc3b5aa765d61d8327deb882cf99"; // MD5("password")
        let ntlm = *b"8846F7EAEE8FB117AD06BDD830B7586C"; // NTLM("password")
        for stored in [&md5, &ntlm] {
            let Ok(Parsed::Md5OrNtlm(digest)) = parse(stored) else {
                panic!("not md5-or-ntlm");
            };
            assert!(verify_md5_or_ntlm(&digest, b"password"));
            assert!(!verify_md5_or_ntlm(&digest, b"Password"));
        }
        let Ok(Parsed::Sha1(digest)) = parse(b"5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8") else {
            panic!("not sha1");
        };
        assert!(verify_sha1(&digest, b"password"));
        // Not UTF-8: no NTLM, MD5 still checked.
        let Ok(Parsed::Md5OrNtlm(digest)) = parse(b"00000000000000000000000000000000") else {
            panic!("not md5-or-ntlm");
        };
        assert!(!verify_md5_or_ntlm(&digest, b"\xff"));
        assert!(matches!(
            parse(b"5f4dcc3b5aa765d61d8327deb882cf9g"),
            Err(HashError::Unknown)
        ));
    }
}
