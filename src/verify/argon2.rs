//! Argon2 PHC strings: `$argon2id$v=19$m=65536,t=3,p=4$salt$digest`.
//!
//! Parsing is the `password-hash` crate's PHC parser; hashing is the
//! `argon2` crate, called with the exact variant, version and parameters
//! the string names. Two deliberate departures from the crate's own
//! `verify_password`:
//! - A string without `v=` is version 0x10, as the reference C library
//!   reads it (the crate would assume 0x13 and never match).
//! - A string with `keyid=` was hashed with a server-side secret we do not
//!   have; checking without it would say "no match" for every password, so
//!   it is refused as malformed instead.

use super::{ascii, digests_equal, malformed, HashError, Scheme, MAX_MEMORY_BYTES};
use ::argon2::password_hash::{Error as PhcError, PasswordHash};
use ::argon2::{Algorithm, Argon2, Params, Version};

const SCHEME: Scheme = Scheme::Argon2;

pub(super) struct Argon2Hash<'a> {
    hash: PasswordHash<'a>,
    algorithm: Algorithm,
    version: Version,
    params: Params,
}

pub(super) fn parse(stored: &[u8]) -> Result<Argon2Hash<'_>, HashError> {
    let text = ascii(stored, SCHEME)?;
    let hash = PasswordHash::new(text).map_err(phc_error)?;
    let algorithm = Algorithm::try_from(hash.algorithm)
        .map_err(|_| malformed(SCHEME, "unknown Argon2 variant"))?;
    let version = match hash.version {
        None => Version::V0x10,
        Some(v) => {
            Version::try_from(v).map_err(|_| malformed(SCHEME, "version is not 16 or 19"))?
        }
    };
    if hash.params.get("keyid").is_some() {
        return Err(malformed(SCHEME, "keyed with a server secret (keyid)"));
    }
    // The argon2 crate multiplies p by 8 before its own range check, which
    // overflows on a hostile p (found by the csv_export fuzz target): refuse
    // an out-of-range p first.
    if hash
        .params
        .get_decimal("p")
        .is_some_and(|p| p > Params::MAX_P_COST)
    {
        return Err(malformed(SCHEME, "parallelism above 2^24-1"));
    }
    let params = Params::try_from(&hash).map_err(phc_error)?;
    if u64::from(params.m_cost()) * 1024 > MAX_MEMORY_BYTES {
        return Err(malformed(SCHEME, "memory cost above 4 GiB"));
    }
    let salt_len = match (&hash.salt, &hash.hash) {
        (Some(salt), Some(_)) => salt.decode_b64(&mut [0u8; 64]).map_err(phc_error)?.len(),
        _ => return Err(malformed(SCHEME, "no salt or no digest")),
    };
    if salt_len < ::argon2::MIN_SALT_LEN {
        return Err(malformed(SCHEME, "salt shorter than 8 bytes"));
    }
    Ok(Argon2Hash {
        hash,
        algorithm,
        version,
        params,
    })
}

impl Argon2Hash<'_> {
    /// Bytes one check allocates: `m` KiB of blocks.
    pub(super) fn memory_cost(&self) -> u64 {
        u64::from(self.params.m_cost()) * 1024
    }

    pub(super) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        let (Some(salt), Some(expected)) = (&self.hash.salt, &self.hash.hash) else {
            return Err(malformed(SCHEME, "no salt or no digest"));
        };
        let mut salt_buf = [0u8; 64];
        let salt = salt.decode_b64(&mut salt_buf).map_err(phc_error)?;
        let mut out = vec![0u8; expected.len()];
        Argon2::new(self.algorithm, self.version, self.params.clone())
            .hash_password_into(password, salt, &mut out)
            .map_err(|_| malformed(SCHEME, "parameters refused by the Argon2 library"))?;
        Ok(digests_equal(&out, expected.as_bytes()))
    }
}

/// What is wrong, in words that never quote the value.
fn phc_error(error: PhcError) -> HashError {
    let why = match error {
        PhcError::B64Encoding(_) => "salt or digest is not base64",
        PhcError::OutputSize { .. } => "digest length outside 10..=64 bytes",
        PhcError::ParamNameDuplicated => "a parameter is repeated",
        PhcError::ParamNameInvalid => "unknown parameter",
        PhcError::ParamValueInvalid(_) => "a parameter value is out of range",
        PhcError::ParamsMaxExceeded => "too many parameters",
        PhcError::SaltInvalid(_) => "salt is not valid",
        PhcError::Version => "version is not 16 or 19",
        PhcError::Algorithm => "unknown Argon2 variant",
        _ => "not a PHC string",
    };
    malformed(SCHEME, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    // argon2-cffi 25.1.0 (libargon2), m=256, t=1, p=1.
    const ARGON2I_V16: &str =
        "$argon2i$v=16$m=256,t=1,p=1$eLS6xLu8OGJ4oyjyHpECwQ$9wkbIXubVtXSbzsSjaDUFSrRDs9QwkejX3VUix8m07M";

    /// Regression (fuzz target `csv_export`): p = 1333333333 overflowed in
    /// the argon2 crate's own check under debug assertions.
    #[test]
    fn a_parallelism_beyond_the_argon2_limit_is_malformed() {
        let stored = ARGON2I_V16.replace("p=1$", "p=1333333333$");
        assert_eq!(
            parse(stored.as_bytes()).err(),
            Some(malformed(SCHEME, "parallelism above 2^24-1"))
        );
    }

    #[test]
    fn missing_version_means_0x10() {
        let password = "pässwörd ü".as_bytes();
        let hash = parse(ARGON2I_V16.as_bytes()).unwrap();
        assert_eq!(hash.verify(password), Ok(true));
        let without = ARGON2I_V16.replace("v=16$", "");
        let hash = parse(without.as_bytes()).unwrap();
        assert_eq!(hash.verify(password), Ok(true));
    }

    #[test]
    fn structure_errors() {
        let bad = |s: &str| parse(s.as_bytes()).err();
        let why = |w| Some(HashError::Malformed("argon2", w));
        assert_eq!(
            bad(&ARGON2I_V16.replace("m=256", "m=4294967295")),
            why("memory cost above 4 GiB")
        );
        assert_eq!(
            bad(&ARGON2I_V16.replace("m=256", "m=256,x=1")),
            why("unknown parameter")
        );
        assert_eq!(
            bad(&ARGON2I_V16.replace("eLS6xLu8OGJ4oyjyHpECwQ", "eLS6xA")),
            why("salt shorter than 8 bytes")
        );
        assert_eq!(
            bad(ARGON2I_V16.rsplit_once('$').unwrap().0),
            why("no salt or no digest")
        );
    }
}
