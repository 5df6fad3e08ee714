//! sha-crypt: `$5$` (SHA-256) and `$6$` (SHA-512), Ulrich Drepper's
//! crypt(3) methods, the default of most Linux distributions until yescrypt.
//!
//! Format: `$6$[rounds=N$]<salt>$<digest>`. Without `rounds=` the count is
//! 5000. The salt is at most 16 characters (glibc and libxcrypt cut longer
//! salts when hashing, so a stored value with a longer one cannot have come
//! from them) and is hashed as the text written. libxcrypt refuses a
//! `rounds=` outside 1000..=999,999,999 or not a number, and so do we.
//!
//! The `sha-crypt` crate's own `sha512_check` takes the password as `&str`;
//! we call its byte-level `sha512_crypt_b64` instead, so non-UTF-8 passwords
//! are checked as the bytes they are, and compare the encoded digest as
//! crypt(3) callers compare the whole string.

use super::{ascii, digests_equal, encoding, malformed, HashError, Scheme};
use sha_crypt::{Sha256Params, Sha512Params};

const SCHEME: Scheme = Scheme::ShaCrypt;

const DEFAULT_ROUNDS: usize = 5000;
const MAX_SALT: usize = 16;

pub(super) struct ShaCrypt<'a> {
    sha512: bool,
    rounds: usize,
    salt: &'a str,
    digest: &'a str,
}

pub(super) fn parse(stored: &[u8]) -> Result<ShaCrypt<'_>, HashError> {
    let text = ascii(stored, SCHEME)?;
    let sha512 = text.starts_with("$6$");
    let mut rest = &text[3..];
    let mut rounds = DEFAULT_ROUNDS;
    if let Some(after) = rest.strip_prefix("rounds=") {
        let (count, tail) = after
            .split_once('$')
            .ok_or(malformed(SCHEME, "nothing after rounds="))?;
        if count.is_empty() || !count.bytes().all(|c| c.is_ascii_digit()) {
            return Err(malformed(SCHEME, "rounds is not a number"));
        }
        rounds = count.parse().unwrap_or(usize::MAX);
        if !(sha_crypt::ROUNDS_MIN..=sha_crypt::ROUNDS_MAX).contains(&rounds) {
            return Err(malformed(SCHEME, "rounds outside 1000..=999999999"));
        }
        rest = tail;
    }
    let (salt, digest) = rest
        .split_once('$')
        .ok_or(malformed(SCHEME, "no '$' between salt and digest"))?;
    if salt.len() > MAX_SALT {
        return Err(malformed(SCHEME, "salt longer than 16 characters"));
    }
    let expected_len = if sha512 { 86 } else { 43 };
    if digest.len() != expected_len || !encoding::is_itoa64(digest.as_bytes()) {
        return Err(malformed(
            SCHEME,
            "digest is not 43 or 86 itoa64 characters",
        ));
    }
    Ok(ShaCrypt {
        sha512,
        rounds,
        salt,
        digest,
    })
}

impl ShaCrypt<'_> {
    pub(super) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        let refused = |_| malformed(SCHEME, "rounds refused by the sha-crypt library");
        let salt = self.salt.as_bytes();
        let computed = if self.sha512 {
            let params = Sha512Params::new(self.rounds).map_err(refused)?;
            sha_crypt::sha512_crypt_b64(password, salt, &params)
        } else {
            let params = Sha256Params::new(self.rounds).map_err(refused)?;
            sha_crypt::sha256_crypt_b64(password, salt, &params)
        }
        .map_err(refused)?;
        Ok(digests_equal(computed.as_bytes(), self.digest.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drepper_known_answers() {
        // From the SHA-crypt specification's test vectors.
        let cases: [(&str, &[u8]); 2] = [
            (
                "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
                b"Hello world!",
            ),
            (
                "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
                b"Hello world!",
            ),
        ];
        for (stored, password) in cases {
            let hash = parse(stored.as_bytes()).unwrap();
            assert_eq!(hash.verify(password), Ok(true), "{stored}");
            assert_eq!(hash.verify(b"Hello world"), Ok(false));
        }
    }

    #[test]
    fn structure_errors() {
        let why = |w| Err(HashError::Malformed("sha-crypt", w));
        let check = |s: &str| parse(s.as_bytes()).map(|_| ());
        assert_eq!(check("$5$rounds=$x$y"), why("rounds is not a number"));
        assert_eq!(check("$5$rounds=12"), why("nothing after rounds="));
        assert_eq!(
            check("$5$rounds=999$s$d"),
            why("rounds outside 1000..=999999999")
        );
        assert_eq!(
            check("$5$rounds=99999999999999999999999$s$d"),
            why("rounds outside 1000..=999999999")
        );
        assert_eq!(check("$6$saltonly"), why("no '$' between salt and digest"));
        assert_eq!(
            check("$6$s$short"),
            why("digest is not 43 or 86 itoa64 characters")
        );
    }
}
