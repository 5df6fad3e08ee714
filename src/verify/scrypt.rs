//! scrypt, in its two stored forms.
//!
//! - PHC strings `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<digest>` (passlib,
//!   RustCrypto): salt and digest are base64, the digest's length is the
//!   output length.
//! - libxcrypt's `$7$`: one itoa64 character for log2 N, five each for r and
//!   p (30-bit little-endian), then the salt *as text* (it is hashed as the
//!   characters written, not decoded), `$`, and 32 bytes of digest in 43
//!   itoa64 characters. libxcrypt compares the whole text, so we compare the
//!   encoded digest.
//!
//! scrypt's memory is 128 * r * (N + p) bytes: values above
//! [`MAX_MEMORY_BYTES`](super::MAX_MEMORY_BYTES) are refused.

use super::{ascii, digests_equal, encoding, malformed, HashError, Scheme, MAX_MEMORY_BYTES};
use ::scrypt::Params;

const SCHEME: Scheme = Scheme::Scrypt;

pub(super) struct Scrypt<'a> {
    params: Params,
    salt: Salt<'a>,
    digest: Digest,
}

enum Salt<'a> {
    Bytes(Vec<u8>),
    Text(&'a str),
}

enum Digest {
    Bytes(Vec<u8>),
    /// `$7$`: the 43 itoa64 characters.
    Itoa64(String),
}

/// `$scrypt$ln=..,r=..,p=..$salt$digest`.
pub(super) fn parse_phc(stored: &[u8]) -> Result<Scrypt<'_>, HashError> {
    let text = ascii(stored, SCHEME)?;
    let fields: Vec<&str> = text.split('$').collect();
    let [_, _, params, salt, digest] = fields[..] else {
        return Err(malformed(SCHEME, "not $scrypt$params$salt$digest"));
    };
    let (mut ln, mut r, mut p) = (None, None, None);
    for pair in params.split(',') {
        let (name, value) = pair
            .split_once('=')
            .ok_or(malformed(SCHEME, "parameter without '='"))?;
        let slot = match name {
            "ln" => &mut ln,
            "r" => &mut r,
            "p" => &mut p,
            _ => return Err(malformed(SCHEME, "unknown parameter")),
        };
        if slot.is_some() {
            return Err(malformed(SCHEME, "a parameter is repeated"));
        }
        *slot = Some(decimal(value)?);
    }
    let (Some(ln), Some(r), Some(p)) = (ln, r, p) else {
        return Err(malformed(SCHEME, "ln, r or p missing"));
    };
    let salt = encoding::base64(salt).ok_or(malformed(SCHEME, "salt is not base64"))?;
    let digest = encoding::base64(digest).ok_or(malformed(SCHEME, "digest is not base64"))?;
    let params = params_for(ln, r, p, digest.len())?;
    Ok(Scrypt {
        params,
        salt: Salt::Bytes(salt),
        digest: Digest::Bytes(digest),
    })
}

/// libxcrypt `$7$NrrrrrppppSALT$DIGEST`.
pub(super) fn parse_xcrypt(stored: &[u8]) -> Result<Scrypt<'_>, HashError> {
    let text = ascii(stored, SCHEME)?;
    let bytes = text.as_bytes();
    if bytes.len() < 14 {
        return Err(malformed(SCHEME, "$7$ parameters cut short"));
    }
    let ln = encoding::itoa64_value(bytes[3]);
    let r = encoding::itoa64_u30(&bytes[4..9]);
    let p = encoding::itoa64_u30(&bytes[9..14]);
    let (Some(ln), Some(r), Some(p)) = (ln, r, p) else {
        return Err(malformed(SCHEME, "$7$ parameters are not itoa64"));
    };
    let rest = &text[14..];
    let (salt, digest) = rest
        .rsplit_once('$')
        .ok_or(malformed(SCHEME, "no '$' before the digest"))?;
    if !salt
        .bytes()
        .all(|c| c == b'$' || encoding::itoa64_value(c).is_some())
    {
        return Err(malformed(SCHEME, "salt is not itoa64"));
    }
    if digest.len() != 43 || !encoding::is_itoa64(digest.as_bytes()) {
        return Err(malformed(SCHEME, "digest is not 43 itoa64 characters"));
    }
    let params = params_for(ln, r, p, 32)?;
    Ok(Scrypt {
        params,
        salt: Salt::Text(salt),
        digest: Digest::Itoa64(digest.to_owned()),
    })
}

fn decimal(value: &str) -> Result<u32, HashError> {
    if value.is_empty() || !value.bytes().all(|c| c.is_ascii_digit()) {
        return Err(malformed(SCHEME, "a parameter is not a number"));
    }
    value
        .parse()
        .map_err(|_| malformed(SCHEME, "a parameter is out of range"))
}

/// Validated parameters, within the memory limit.
fn params_for(ln: u32, r: u32, p: u32, len: usize) -> Result<Params, HashError> {
    if !(1..64).contains(&ln) {
        return Err(malformed(SCHEME, "log2 N outside 1..=63"));
    }
    if memory_bytes(ln, r, p) > u128::from(MAX_MEMORY_BYTES) {
        return Err(malformed(SCHEME, "memory cost above 4 GiB"));
    }
    Params::new(ln as u8, r, p, len).map_err(|_| malformed(SCHEME, "parameters out of range"))
}

/// What one check allocates: V is 128 * r * N bytes, B 128 * r * p, XY
/// 256 * r.
fn memory_bytes(ln: u32, r: u32, p: u32) -> u128 {
    128 * u128::from(r) * ((1u128 << ln) + u128::from(p) + 2)
}

impl Scrypt<'_> {
    /// Bytes one check allocates (at most `MAX_MEMORY_BYTES`, checked at
    /// parse time).
    pub(super) fn memory_cost(&self) -> u64 {
        let p = &self.params;
        memory_bytes(u32::from(p.log_n()), p.r(), p.p()) as u64
    }

    pub(super) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        let salt = match &self.salt {
            Salt::Bytes(bytes) => bytes.as_slice(),
            Salt::Text(text) => text.as_bytes(),
        };
        let len = match &self.digest {
            Digest::Bytes(bytes) => bytes.len(),
            Digest::Itoa64(_) => 32,
        };
        let mut out = vec![0u8; len];
        ::scrypt::scrypt(password, salt, &self.params, &mut out)
            .map_err(|_| malformed(SCHEME, "digest length refused by the scrypt library"))?;
        Ok(match &self.digest {
            Digest::Bytes(expected) => digests_equal(&out, expected),
            Digest::Itoa64(expected) => digests_equal(
                encoding::itoa64_encode(&out).as_bytes(),
                expected.as_bytes(),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // libxcrypt 4.4.33 crypt(3), N = 2^4, r = 8, p = 1.
    const XCRYPT: &str =
        "$7$26..../....TvCUoaEgV/FxGrLuhNr40V$v6ne6hU0YRDLuqscOLwwvYY08ufrYXr7xUm68Baf7SC";

    #[test]
    fn xcrypt_parameters() {
        let hash = parse_xcrypt(XCRYPT.as_bytes()).unwrap();
        assert_eq!(
            (hash.params.log_n(), hash.params.r(), hash.params.p()),
            (4, 8, 1)
        );
        assert_eq!(hash.verify(b"pa:ss word 1"), Ok(true));
        assert_eq!(hash.verify(b"pa:ss word 2"), Ok(false));
    }

    #[test]
    fn structure_errors() {
        let phc = "$scrypt$ln=4,r=8,p=1$hUTCFqik5fBDZk6mIA/xDg$OE0xcBTn++42sNp8BcqbcV6f/J9UItEXuyg9WGxK3R4";
        assert!(parse_phc(phc.as_bytes()).is_ok());
        let why = |w| Some(HashError::Malformed("scrypt", w));
        let bad = |from: &str, to: &str| parse_phc(phc.replace(from, to).as_bytes()).err();
        assert_eq!(bad("ln=4", "ln=0"), why("log2 N outside 1..=63"));
        assert_eq!(bad("ln=4", "ln=32"), why("memory cost above 4 GiB"));
        assert_eq!(bad("p=1", "p=33554432"), why("memory cost above 4 GiB"));
        assert_eq!(bad("ln=4", "ln=-4"), why("a parameter is not a number"));
        assert_eq!(bad("p=1", "p=1,p=1"), why("a parameter is repeated"));
        assert_eq!(bad("p=1", "q=1"), why("unknown parameter"));
        assert_eq!(bad(",r=8", ""), why("ln, r or p missing"));
        assert_eq!(bad("r=8", "r=0"), why("parameters out of range"));
        assert_eq!(
            bad("$OE0x", "$$OE0x"),
            why("not $scrypt$params$salt$digest")
        );
        assert_eq!(
            parse_xcrypt(&XCRYPT.as_bytes()[..13]).err(),
            why("$7$ parameters cut short")
        );
    }
}
