//! LDAP `userPassword` values: `{SSHA}` and `{SHA}` (RFC 2307 style).
//!
//! `{SSHA}` is base64(SHA-1(password . salt) . salt), the salt being
//! whatever follows the 20 digest bytes (OpenLDAP writes 4 or 8 bytes, and
//! refuses a value with none). `{SHA}` is base64(SHA-1(password)). The
//! scheme name is case-insensitive, as OpenLDAP reads it. `{CRYPT}` is
//! unwrapped by the dispatcher.

use super::{digests_equal, encoding, HashError, Scheme};
use sha1::{Digest, Sha1};

pub(super) struct Ssha {
    digest: [u8; 20],
    salt: Vec<u8>,
}

/// The base64 after `{SSHA}`.
pub(super) fn parse_ssha(rest: &[u8]) -> Result<Ssha, HashError> {
    let scheme = Scheme::LdapSsha;
    let decoded = decode(rest, scheme)?;
    if decoded.len() <= 20 {
        return Err(super::malformed(scheme, "no salt after the 20-byte digest"));
    }
    let (digest, salt) = decoded.split_at(20);
    Ok(Ssha {
        digest: digest.try_into().expect("split at 20"),
        salt: salt.to_vec(),
    })
}

/// The base64 after `{SHA}`: exactly 20 bytes.
pub(super) fn parse_sha(rest: &[u8]) -> Result<[u8; 20], HashError> {
    let scheme = Scheme::LdapSha;
    decode(rest, scheme)?
        .try_into()
        .map_err(|_| super::malformed(scheme, "digest is not 20 bytes"))
}

fn decode(rest: &[u8], scheme: Scheme) -> Result<Vec<u8>, HashError> {
    let text = super::ascii(rest, scheme)?;
    encoding::base64(text).ok_or(super::malformed(scheme, "not base64"))
}

impl Ssha {
    pub(super) fn verify(&self, password: &[u8]) -> bool {
        let digest = Sha1::new()
            .chain_update(password)
            .chain_update(&self.salt)
            .finalize();
        digests_equal(&digest, &self.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssha_known_answer() {
        // slappasswd-style value: SHA-1("secret" . "salt") . "salt".
        let mut raw = Sha1::new()
            .chain_update(b"secret")
            .chain_update(b"salt")
            .finalize()
            .to_vec();
        raw.extend_from_slice(b"salt");
        let hash = parse_ssha(encoding::base64_encode(&raw).as_bytes()).unwrap();
        assert!(hash.verify(b"secret"));
        assert!(!hash.verify(b"secretsalt"));
    }

    #[test]
    fn sha_structure() {
        // {SHA} of "password": W6ph5Mm5Pz8GgiULbPgzG37mj9g=
        assert!(parse_sha(b"W6ph5Mm5Pz8GgiULbPgzG37mj9g=").is_ok());
        assert_eq!(
            parse_sha(b"W6ph5Mm5Pz8GgiULbPgzG37mj9").err(),
            Some(HashError::Malformed("ldap-sha", "digest is not 20 bytes"))
        );
        assert_eq!(
            parse_ssha(b"W6ph5Mm5Pz8GgiULbPgzG37mj9g=").err(),
            Some(HashError::Malformed(
                "ldap-ssha",
                "no salt after the 20-byte digest"
            ))
        );
    }
}
