//! bcrypt (`$2a$`, `$2b$`, `$2y$`) and WordPress 6.8's `$wp$` wrapper.
//!
//! bcrypt keys Blowfish with the password as a C string: its bytes, a NUL,
//! all cut to 72 bytes. A password longer than 72 bytes is refused here
//! rather than cut (see the module docs of `verify` for why), so the cut
//! never happens; the NUL is added exactly as every implementation does.
//!
//! `$2a$`, `$2b$` and `$2y$` compute the same function for every password
//! (they differ only in bugs of old writers that never produced them), so
//! the version only needs checking, not remembering.
//!
//! WordPress 6.8 stores `'$wp' . password_hash(base64_encode(hash_hmac(
//! 'sha384', trim($password), 'wp-sha384', true)), PASSWORD_BCRYPT)` and
//! `wp_check_password` checks the same pre-hash of the password *as given*
//! (not trimmed), against the stored value minus its `$wp`. The pre-hash is
//! 64 characters, so there is no 72-byte limit. Like WordPress, passwords
//! over 4096 bytes never verify.

use super::{ascii, digests_equal, encoding, malformed, HashError, Scheme};
use hmac::{Hmac, Mac};
use sha2::Sha384;
use zeroize::Zeroize;

/// The most password bytes bcrypt hashes.
pub(super) const MAX_PASSWORD: usize = 72;

/// WordPress refuses longer passwords outright.
const WORDPRESS_MAX_PASSWORD: usize = 4096;

pub(super) struct Bcrypt {
    cost: u32,
    salt: [u8; 16],
    digest: [u8; 23],
}

/// `$2?$NN$` + 22 salt characters + 31 digest characters.
pub(super) fn parse(stored: &[u8], scheme: Scheme) -> Result<Bcrypt, HashError> {
    let text = ascii(stored, scheme)?;
    if !text.starts_with("$2a$") && !text.starts_with("$2b$") && !text.starts_with("$2y$") {
        return Err(malformed(scheme, "not a $2a$, $2b$ or $2y$ bcrypt hash"));
    }
    if text.len() != 60 {
        return Err(malformed(scheme, "not 60 characters"));
    }
    let cost_text = &text[4..6];
    if !cost_text.bytes().all(|c| c.is_ascii_digit()) {
        return Err(malformed(scheme, "cost is not two digits"));
    }
    let cost: u32 = cost_text.parse().unwrap_or(0);
    if !(4..=31).contains(&cost) {
        return Err(malformed(scheme, "cost outside 4..=31"));
    }
    if text.as_bytes()[6] != b'$' {
        return Err(malformed(scheme, "no '$' after the cost"));
    }
    let mut salt = [0u8; 16];
    let mut digest = [0u8; 23];
    if !encoding::bcrypt_base64(&text[7..29], &mut salt) {
        return Err(malformed(scheme, "salt is not bcrypt base64"));
    }
    if !encoding::bcrypt_base64(&text[29..], &mut digest) {
        return Err(malformed(scheme, "digest is not bcrypt base64"));
    }
    Ok(Bcrypt { cost, salt, digest })
}

impl Bcrypt {
    /// The password as given; longer than 72 bytes never verifies.
    pub(super) fn verify(&self, password: &[u8]) -> bool {
        if password.len() > MAX_PASSWORD {
            return false;
        }
        let mut key = [0u8; MAX_PASSWORD];
        key[..password.len()].copy_from_slice(password);
        // The terminating NUL, unless the password fills all 72 bytes.
        let used = (password.len() + 1).min(MAX_PASSWORD);
        let output = ::bcrypt::bcrypt(self.cost, self.salt, &key[..used]);
        key.zeroize();
        digests_equal(&output[..23], &self.digest)
    }

    /// WordPress 6.8+: bcrypt over base64(HMAC-SHA384("wp-sha384", pw)).
    pub(super) fn verify_wordpress(&self, password: &[u8]) -> bool {
        if password.len() > WORDPRESS_MAX_PASSWORD {
            return false;
        }
        let mut prehash = wordpress_prehash(password);
        let matched = self.verify(prehash.as_bytes());
        prehash.zeroize();
        matched
    }
}

/// `base64_encode(hash_hmac('sha384', $password, 'wp-sha384', true))`.
fn wordpress_prehash(password: &[u8]) -> String {
    let mut mac = Hmac::<Sha384>::new_from_slice(b"wp-sha384").expect("HMAC takes any key");
    mac.update(password);
    encoding::base64_encode(&mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // pyca/bcrypt 5.0.0, cost 4 (fixtures/hashes/reference.csv).
    const HUNTER2: &[u8] = b"$2b$04$c95AwdWMKEAwA9X70Mw95e7OKFkUkUFVw2Z06eUddyiRtrgAhl6mW";

    #[test]
    fn known_answer() {
        let hash = parse(HUNTER2, Scheme::Bcrypt).unwrap();
        assert!(hash.verify(b"hunter2"));
        assert!(!hash.verify(b"hunter2\0"));
        assert!(!hash.verify(b"hunter"));
    }

    #[test]
    fn wordpress_prehash_known_answer() {
        // PHP 8.2: base64_encode(hash_hmac('sha384', 'hunter2', 'wp-sha384', true))
        assert_eq!(
            wordpress_prehash(b"hunter2"),
            "byjNOd1hcJl6Ha9aMulIh1B4jC2XIrZ3pA4bk7esW9eZejmwarUqDdoJ4Z/8qwZV"
        );
    }

    #[test]
    fn structure_errors_name_what_is_wrong() {
        let with = |at: usize, byte: u8| {
            let mut v = HUNTER2.to_vec();
            v[at] = byte;
            parse(&v, Scheme::Bcrypt).err()
        };
        let bad = |why| Some(HashError::Malformed("bcrypt", why));
        assert_eq!(with(5, b'3'), bad("cost outside 4..=31"));
        assert_eq!(with(4, b'x'), bad("cost is not two digits"));
        assert_eq!(with(6, b'x'), bad("no '$' after the cost"));
        assert_eq!(with(10, b'!'), bad("salt is not bcrypt base64"));
        assert_eq!(with(59, b'+'), bad("digest is not bcrypt base64"));
        assert_eq!(
            parse(&HUNTER2[..59], Scheme::Bcrypt).err(),
            bad("not 60 characters")
        );
        assert_eq!(
            parse(b"$argon2id$v=19$m=256", Scheme::WordPress).err(),
            Some(HashError::Malformed(
                "wordpress",
                "not a $2a$, $2b$ or $2y$ bcrypt hash"
            ))
        );
    }
}
