//! PBKDF2-HMAC, in the three stored forms that hold nearly all of it.
//!
//! - Django: `pbkdf2_sha256$<iterations>$<salt>$<base64 digest>` (and
//!   `pbkdf2_sha1$`). The salt is hashed as the text written; the digest is
//!   the hash function's full output.
//! - PHC strings: `$pbkdf2-sha256$i=<iterations>[,l=<length>]$<salt>$<digest>`
//!   (`$pbkdf2-sha512$`, `$pbkdf2$` for SHA-1), salt and digest base64.
//! - passlib's older spelling of the same identifiers:
//!   `$pbkdf2-sha256$<iterations>$<salt>$<digest>`, with `.` for `+` in its
//!   base64 (see `encoding`).
//!
//! The identifiers are shared, so the parameter field decides: all digits is
//! passlib, `name=value` pairs is PHC.

use super::{ascii, digests_equal, encoding, malformed, HashError, Scheme};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

const SCHEME: Scheme = Scheme::Pbkdf2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prf {
    Sha1,
    Sha256,
    Sha512,
}

pub(super) struct Pbkdf2<'a> {
    prf: Prf,
    iterations: u32,
    salt: Salt<'a>,
    digest: Vec<u8>,
}

enum Salt<'a> {
    Bytes(Vec<u8>),
    Text(&'a str),
}

/// `pbkdf2_sha256$iterations$salt$digest`.
pub(super) fn parse_django(stored: &[u8]) -> Result<Pbkdf2<'_>, HashError> {
    let text = ascii(stored, SCHEME)?;
    let fields: Vec<&str> = text.split('$').collect();
    let [algorithm, iterations, salt, digest] = fields[..] else {
        return Err(malformed(SCHEME, "not algorithm$iterations$salt$digest"));
    };
    let prf = match algorithm {
        "pbkdf2_sha256" => Prf::Sha256,
        "pbkdf2_sha1" => Prf::Sha1,
        _ => return Err(malformed(SCHEME, "unknown Django algorithm")),
    };
    let iterations = iterations_from(iterations)?;
    let digest = encoding::base64(digest).ok_or(malformed(SCHEME, "digest is not base64"))?;
    if digest.len() != prf.output_len() {
        return Err(malformed(SCHEME, "digest length is not the hash's"));
    }
    Ok(Pbkdf2 {
        prf,
        iterations,
        salt: Salt::Text(salt),
        digest,
    })
}

/// `$pbkdf2-sha256$i=1000,l=32$salt$digest` or passlib's `$...$1000$...`.
pub(super) fn parse_phc(stored: &[u8]) -> Result<Pbkdf2<'_>, HashError> {
    let text = ascii(stored, SCHEME)?;
    let fields: Vec<&str> = text.split('$').collect();
    let [_, ident, params, salt, digest] = fields[..] else {
        return Err(malformed(SCHEME, "not $ident$params$salt$digest"));
    };
    let prf = match ident {
        "pbkdf2" => Prf::Sha1,
        "pbkdf2-sha256" => Prf::Sha256,
        "pbkdf2-sha512" => Prf::Sha512,
        _ => return Err(malformed(SCHEME, "unknown PBKDF2 identifier")),
    };
    let (iterations, length) = if params.bytes().all(|c| c.is_ascii_digit()) {
        (iterations_from(params)?, None)
    } else {
        phc_params(params)?
    };
    let salt = encoding::base64(salt).ok_or(malformed(SCHEME, "salt is not base64"))?;
    let digest = encoding::base64(digest).ok_or(malformed(SCHEME, "digest is not base64"))?;
    if length.is_some_and(|l| l != digest.len()) {
        return Err(malformed(SCHEME, "l= does not match the digest length"));
    }
    if !(10..=64).contains(&digest.len()) {
        return Err(malformed(SCHEME, "digest length outside 10..=64 bytes"));
    }
    Ok(Pbkdf2 {
        prf,
        iterations,
        salt: Salt::Bytes(salt),
        digest,
    })
}

/// `i=<iterations>` and optionally `l=<length>`, in any order.
fn phc_params(params: &str) -> Result<(u32, Option<usize>), HashError> {
    let (mut iterations, mut length) = (None, None);
    for pair in params.split(',') {
        match pair.split_once('=') {
            Some(("i", value)) if iterations.is_none() => {
                iterations = Some(iterations_from(value)?)
            }
            Some(("l", value)) if length.is_none() => length = Some(number(value)? as usize),
            _ => return Err(malformed(SCHEME, "unknown or repeated parameter")),
        }
    }
    let iterations = iterations.ok_or(malformed(SCHEME, "no i= (iterations)"))?;
    Ok((iterations, length))
}

fn iterations_from(value: &str) -> Result<u32, HashError> {
    match number(value)? {
        0 => Err(malformed(SCHEME, "zero iterations")),
        n => Ok(n),
    }
}

fn number(value: &str) -> Result<u32, HashError> {
    if value.is_empty() || !value.bytes().all(|c| c.is_ascii_digit()) {
        return Err(malformed(SCHEME, "a parameter is not a number"));
    }
    value
        .parse()
        .map_err(|_| malformed(SCHEME, "a parameter is out of range"))
}

impl Prf {
    fn output_len(self) -> usize {
        match self {
            Prf::Sha1 => 20,
            Prf::Sha256 => 32,
            Prf::Sha512 => 64,
        }
    }
}

impl Pbkdf2<'_> {
    pub(super) fn verify(&self, password: &[u8]) -> bool {
        let salt = match &self.salt {
            Salt::Bytes(bytes) => bytes.as_slice(),
            Salt::Text(text) => text.as_bytes(),
        };
        let mut out = vec![0u8; self.digest.len()];
        let rounds = self.iterations;
        match self.prf {
            Prf::Sha1 => ::pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, rounds, &mut out),
            Prf::Sha256 => ::pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, rounds, &mut out),
            Prf::Sha512 => ::pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, rounds, &mut out),
        }
        digests_equal(&out, &self.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6070_sha1_known_answer() {
        // RFC 6070 test vector 2: "password", "salt", 2 iterations.
        let stored = "$pbkdf2$i=2,l=20$c2FsdA$6mwBTcctb4zNHtkqzh1B8NjeiVc";
        let hash = parse_phc(stored.as_bytes()).unwrap();
        assert_eq!(hash.prf, Prf::Sha1);
        assert!(hash.verify(b"password"));
        assert!(!hash.verify(b"passwor"));
    }

    #[test]
    fn params_either_spelling() {
        assert_eq!(phc_params("i=1000,l=32"), Ok((1000, Some(32))));
        assert_eq!(phc_params("l=32,i=1000"), Ok((1000, Some(32))));
        assert_eq!(phc_params("i=1000"), Ok((1000, None)));
        let why = |w| Err(HashError::Malformed("pbkdf2", w));
        assert_eq!(phc_params("l=32"), why("no i= (iterations)"));
        assert_eq!(phc_params("i=1,i=2"), why("unknown or repeated parameter"));
        assert_eq!(phc_params("i=0"), why("zero iterations"));
        assert_eq!(
            phc_params("i=99999999999"),
            why("a parameter is out of range")
        );
    }
}
