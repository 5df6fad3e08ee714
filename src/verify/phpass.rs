//! phpass "portable" hashes: `$P$` (WordPress before 6.8, Drupal 7 imports,
//! many PHP apps) and `$H$` (phpBB3), the same algorithm.
//!
//! `$P$` + one itoa64 character c (2^c iterations, 7..=30) + 8 salt
//! characters + 22 digest characters. The digest is MD5(salt . password),
//! then 2^c times MD5(digest . password), written with crypt(3)'s itoa64.
//! phpass compares the whole string, so we compare the encoded digest.

use super::{ascii, digests_equal, encoding, malformed, HashError, Scheme};
use md5::{Digest, Md5};

const SCHEME: Scheme = Scheme::Phpass;

pub(super) struct Phpass<'a> {
    log2_count: u32,
    salt: &'a str,
    digest: &'a str,
}

pub(super) fn parse(stored: &[u8]) -> Result<Phpass<'_>, HashError> {
    let text = ascii(stored, SCHEME)?;
    if text.len() != 34 {
        return Err(malformed(SCHEME, "not 34 characters"));
    }
    let log2_count = encoding::itoa64_value(text.as_bytes()[3])
        .filter(|c| (7..=30).contains(c))
        .ok_or(malformed(SCHEME, "iteration count outside 2^7..=2^30"))?;
    let digest = &text[12..];
    if !encoding::is_itoa64(digest.as_bytes()) {
        return Err(malformed(SCHEME, "digest is not itoa64"));
    }
    Ok(Phpass {
        log2_count,
        salt: &text[4..12],
        digest,
    })
}

impl Phpass<'_> {
    pub(super) fn verify(&self, password: &[u8]) -> bool {
        let mut digest = Md5::new()
            .chain_update(self.salt.as_bytes())
            .chain_update(password)
            .finalize();
        for _ in 0..1u64 << self.log2_count {
            digest = Md5::new()
                .chain_update(digest)
                .chain_update(password)
                .finalize();
        }
        digests_equal(
            encoding::itoa64_encode(&digest).as_bytes(),
            self.digest.as_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phpass_reference_known_answer() {
        // The test vector in Openwall phpass 0.3's test.php: "test12345".
        let hash = parse(b"$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0").unwrap();
        assert!(hash.verify(b"test12345"));
        assert!(!hash.verify(b"test12346"));
    }

    #[test]
    fn structure_errors() {
        let why = |w| Err(HashError::Malformed("phpass", w));
        let check = |s: &[u8]| parse(s).map(|_| ());
        assert_eq!(
            check(b"$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L"),
            why("not 34 characters")
        );
        assert_eq!(
            check(b"$P$4IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"),
            why("iteration count outside 2^7..=2^30")
        );
        assert_eq!(
            check(b"$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L!"),
            why("digest is not itoa64")
        );
    }
}
