//! Is this leaked plaintext the password behind this account's stored hash?
//!
//! User databases and directory exports do not hold plaintext: they hold
//! whatever their software stored, from deliberately slow KDFs (bcrypt,
//! Argon2, scrypt, PBKDF2, sha-crypt, phpass) down to bare hex digests. A
//! leaked `account:password` pair only matters if that password still opens
//! the account, so each pair is checked against the stored value here, in
//! whatever scheme it uses.
//!
//! The scheme is read from the stored value itself (`$2b$`, `$argon2id$`,
//! `{SSHA}`, 40 hex digits, ...), never guessed from where it came from, and
//! its structure is validated before any hashing: [`detect`] is cheap, and
//! [`verify`] refuses a broken value rather than hashing with made-up
//! parameters. One module per scheme family parses its strings into a
//! [`Parsed`] value that knows how to check a password; this file only
//! dispatches on the prefix.
//!
//! Rules shared by every scheme:
//! - The password is the bytes given, never trimmed or normalised: a leaked
//!   `"hunter2 "` is not `"hunter2"`.
//! - bcrypt only hashes the first 72 bytes. A candidate longer than that is
//!   refused (`Ok(false)`), not truncated: the software that stored the hash
//!   saw at most 72 bytes, so a longer leaked password cannot be told apart
//!   from a different password with the same prefix, and we would rather
//!   miss that pair than report a password that never was the account's.
//!   WordPress 6.8's `$wp$` pre-hashes, so it has no such limit.
//! - The final digest comparison is constant-time.
//! - Errors never contain the stored value or any part of it: their messages
//!   are static strings naming the scheme and what is wrong.
//! - A value that asks for more memory than [`MAX_MEMORY_BYTES`] (scrypt,
//!   Argon2) is refused as malformed instead of risking an allocation
//!   failure, which aborts the process. Time is bounded only by the stored
//!   parameters: a bcrypt cost of 31 takes days, as it would for the server.
//!
//! Not supported (reported as [`HashError::Unknown`]): yescrypt `$y$`,
//! MD5-crypt `$1$`/`$apr1$`, DES crypt, `{SSHA256}`/`{SSHA512}`, and
//! crypt_blowfish's `$2x$` (its sign-extension bug changes the hash of any
//! password with a byte above 0x7F, which the `bcrypt` crate does not
//! reproduce; guessing would silently give wrong answers).

mod argon2;
mod bcrypt;
mod encoding;
mod ldap;
mod pbkdf2;
mod phpass;
mod scrypt;
mod sha_crypt;
mod unsalted;

use subtle::ConstantTimeEq;

/// A stored-hash scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    Bcrypt,
    Argon2,
    Scrypt,
    Pbkdf2,
    ShaCrypt,
    Phpass,
    /// kebab-case would make this "word-press"; keep it equal to `name()`.
    #[serde(rename = "wordpress")]
    WordPress,
    LdapSsha,
    LdapSha,
    Sha1,
    Md5OrNtlm,
}

impl Scheme {
    pub const ALL: [Scheme; 11] = [
        Scheme::Bcrypt,
        Scheme::Argon2,
        Scheme::Scrypt,
        Scheme::Pbkdf2,
        Scheme::ShaCrypt,
        Scheme::Phpass,
        Scheme::WordPress,
        Scheme::LdapSsha,
        Scheme::LdapSha,
        Scheme::Sha1,
        Scheme::Md5OrNtlm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scheme::Bcrypt => "bcrypt",
            Scheme::Argon2 => "argon2",
            Scheme::Scrypt => "scrypt",
            Scheme::Pbkdf2 => "pbkdf2",
            Scheme::ShaCrypt => "sha-crypt",
            Scheme::Phpass => "phpass",
            Scheme::WordPress => "wordpress",
            Scheme::LdapSsha => "ldap-ssha",
            Scheme::LdapSha => "ldap-sha",
            Scheme::Sha1 => "sha1",
            Scheme::Md5OrNtlm => "md5-or-ntlm",
        }
    }

    /// True for the deliberately slow KDFs, whose every check costs
    /// milliseconds or more (worth a progress bar and a thread pool).
    pub fn is_slow(self) -> bool {
        !matches!(
            self,
            Scheme::LdapSsha | Scheme::LdapSha | Scheme::Sha1 | Scheme::Md5OrNtlm
        )
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a stored value cannot be used. Display messages must NEVER contain
/// the stored value or any part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error("unknown hash scheme")]
    Unknown,
    /// Scheme name, then what is wrong.
    #[error("malformed {0} hash: {1}")]
    Malformed(&'static str, &'static str),
}

/// The most memory one check may ask for (scrypt's and Argon2's cost
/// parameters): 4 GiB, well above any deployed setting.
pub const MAX_MEMORY_BYTES: u64 = 4 << 30;

/// Which scheme a stored value uses, validating its structure (cheap: no
/// hashing).
pub fn detect(stored: &[u8]) -> Result<Scheme, HashError> {
    parse(stored).map(|parsed| parsed.scheme())
}

/// Does `password` (raw bytes, never trimmed or normalised) hash to
/// `stored`? Constant-time comparison of the final digest.
pub fn verify(stored: &[u8], password: &[u8]) -> Result<bool, HashError> {
    parse(stored)?.verify(password)
}

/// The memory one check against `stored` allocates, in bytes: scrypt's and
/// Argon2's cost parameters; 0 for the other schemes, which need a few KiB.
pub fn memory_cost(stored: &[u8]) -> Result<u64, HashError> {
    parse(stored).map(|parsed| match parsed {
        Parsed::Scrypt(hash) => hash.memory_cost(),
        Parsed::Argon2(hash) => hash.memory_cost(),
        _ => 0,
    })
}

/// A stored value whose structure has been validated, ready to check
/// passwords against.
enum Parsed<'a> {
    Bcrypt(bcrypt::Bcrypt),
    WordPress(bcrypt::Bcrypt),
    Argon2(Box<argon2::Argon2Hash<'a>>),
    Scrypt(scrypt::Scrypt<'a>),
    Pbkdf2(pbkdf2::Pbkdf2<'a>),
    ShaCrypt(sha_crypt::ShaCrypt<'a>),
    Phpass(phpass::Phpass<'a>),
    LdapSsha(ldap::Ssha),
    LdapSha([u8; 20]),
    Sha1([u8; 20]),
    Md5OrNtlm([u8; 16]),
}

impl Parsed<'_> {
    fn scheme(&self) -> Scheme {
        match self {
            Parsed::Bcrypt(_) => Scheme::Bcrypt,
            Parsed::WordPress(_) => Scheme::WordPress,
            Parsed::Argon2(_) => Scheme::Argon2,
            Parsed::Scrypt(_) => Scheme::Scrypt,
            Parsed::Pbkdf2(_) => Scheme::Pbkdf2,
            Parsed::ShaCrypt(_) => Scheme::ShaCrypt,
            Parsed::Phpass(_) => Scheme::Phpass,
            Parsed::LdapSsha(_) => Scheme::LdapSsha,
            Parsed::LdapSha(_) => Scheme::LdapSha,
            Parsed::Sha1(_) => Scheme::Sha1,
            Parsed::Md5OrNtlm(_) => Scheme::Md5OrNtlm,
        }
    }

    fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        Ok(match self {
            Parsed::Bcrypt(hash) => hash.verify(password),
            Parsed::WordPress(hash) => hash.verify_wordpress(password),
            Parsed::Argon2(hash) => hash.verify(password)?,
            Parsed::Scrypt(hash) => hash.verify(password)?,
            Parsed::Pbkdf2(hash) => hash.verify(password),
            Parsed::ShaCrypt(hash) => hash.verify(password)?,
            Parsed::Phpass(hash) => hash.verify(password),
            Parsed::LdapSsha(hash) => hash.verify(password),
            Parsed::LdapSha(digest) => unsalted::verify_sha1(digest, password),
            Parsed::Sha1(digest) => unsalted::verify_sha1(digest, password),
            Parsed::Md5OrNtlm(digest) => unsalted::verify_md5_or_ntlm(digest, password),
        })
    }
}

/// Dispatch on the prefix; each family validates the rest.
fn parse(stored: &[u8]) -> Result<Parsed<'_>, HashError> {
    if let Some(inner) = strip_prefix_ignore_case(stored, b"{CRYPT}") {
        // OpenLDAP's `{CRYPT}` wraps a crypt(3) string; only `$`-schemes
        // here (no nesting, no DES crypt).
        return match inner.first() {
            Some(b'$') => parse(inner),
            _ => Err(HashError::Unknown),
        };
    }
    if let Some(rest) = strip_prefix_ignore_case(stored, b"{SSHA}") {
        return ldap::parse_ssha(rest).map(Parsed::LdapSsha);
    }
    if let Some(rest) = strip_prefix_ignore_case(stored, b"{SHA}") {
        return ldap::parse_sha(rest).map(Parsed::LdapSha);
    }
    let starts = |prefixes: &[&[u8]]| prefixes.iter().any(|p| stored.starts_with(p));
    if starts(&[b"$2a$", b"$2b$", b"$2y$"]) {
        return bcrypt::parse(stored, Scheme::Bcrypt).map(Parsed::Bcrypt);
    }
    if let Some(inner) = stored.strip_prefix(b"$wp") {
        if inner.starts_with(b"$") {
            return bcrypt::parse(inner, Scheme::WordPress).map(Parsed::WordPress);
        }
    }
    if starts(&[b"$argon2id$", b"$argon2i$", b"$argon2d$"]) {
        return argon2::parse(stored).map(|hash| Parsed::Argon2(Box::new(hash)));
    }
    if stored.starts_with(b"$scrypt$") {
        return scrypt::parse_phc(stored).map(Parsed::Scrypt);
    }
    if stored.starts_with(b"$7$") {
        return scrypt::parse_xcrypt(stored).map(Parsed::Scrypt);
    }
    if starts(&[b"$pbkdf2$", b"$pbkdf2-sha256$", b"$pbkdf2-sha512$"]) {
        return pbkdf2::parse_phc(stored).map(Parsed::Pbkdf2);
    }
    if starts(&[b"pbkdf2_sha256$", b"pbkdf2_sha1$"]) {
        return pbkdf2::parse_django(stored).map(Parsed::Pbkdf2);
    }
    if starts(&[b"$5$", b"$6$"]) {
        return sha_crypt::parse(stored).map(Parsed::ShaCrypt);
    }
    if starts(&[b"$P$", b"$H$"]) {
        return phpass::parse(stored).map(Parsed::Phpass);
    }
    unsalted::parse(stored)
}

/// `bytes` without `prefix`, compared ASCII-case-insensitively.
fn strip_prefix_ignore_case<'a>(bytes: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = bytes.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &bytes[prefix.len()..])
}

/// The stored value as text: every supported scheme is ASCII.
fn ascii(stored: &[u8], scheme: Scheme) -> Result<&str, HashError> {
    match std::str::from_utf8(stored) {
        Ok(text) if text.is_ascii() => Ok(text),
        _ => Err(malformed(scheme, "not ASCII")),
    }
}

fn malformed(scheme: Scheme, why: &'static str) -> HashError {
    HashError::Malformed(scheme.name(), why)
}

/// Constant-time equality of two digests (lengths are public).
fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names() {
        for scheme in Scheme::ALL {
            let json = serde_json::to_string(&scheme).unwrap();
            assert_eq!(json, format!("\"{}\"", scheme.name()));
        }
    }

    #[test]
    fn slow_schemes() {
        let slow: Vec<_> = Scheme::ALL.into_iter().filter(|s| s.is_slow()).collect();
        assert_eq!(
            slow,
            [
                Scheme::Bcrypt,
                Scheme::Argon2,
                Scheme::Scrypt,
                Scheme::Pbkdf2,
                Scheme::ShaCrypt,
                Scheme::Phpass,
                Scheme::WordPress
            ]
        );
    }

    #[test]
    fn memory_costs() {
        let scrypt = b"$scrypt$ln=21,r=8,p=1$hUTCFqik5fBDZk6mIA/xDg$OE0xcBTn++42sNp8BcqbcV6f/J9UItEXuyg9WGxK3R4";
        assert_eq!(memory_cost(scrypt), Ok(128 * 8 * ((1 << 21) + 1 + 2)));
        let argon2 = b"$argon2i$v=16$m=256,t=1,p=1$eLS6xLu8OGJ4oyjyHpECwQ$9wkbIXubVtXSbzsSjaDUFSrRDs9QwkejX3VUix8m07M";
        assert_eq!(memory_cost(argon2), Ok(256 * 1024));
        assert_eq!(
            memory_cost(b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"),
            Ok(0)
        );
        assert_eq!(memory_cost(b"nope"), Err(HashError::Unknown));
    }

    #[test]
    fn error_messages() {
        assert_eq!(HashError::Unknown.to_string(), "unknown hash scheme");
        assert_eq!(
            HashError::Malformed("bcrypt", "cost outside 4..=31").to_string(),
            "malformed bcrypt hash: cost outside 4..=31"
        );
    }

    #[test]
    fn crypt_wrapper_is_case_insensitive_and_not_nested() {
        let sha = b"$5$rounds=1000$lGfwyETz1yJkzwXM$PI2R2QarR4Mnt2ZlW6aUdmVZpBEe4MfgBYp6t5x8XO9";
        let mut wrapped = b"{crypt}".to_vec();
        wrapped.extend_from_slice(sha);
        assert_eq!(detect(&wrapped), Ok(Scheme::ShaCrypt));
        assert_eq!(verify(&wrapped, b"hunter2"), Ok(true));
        let mut nested = b"{CRYPT}".to_vec();
        nested.extend_from_slice(&wrapped);
        assert_eq!(detect(&nested), Err(HashError::Unknown));
    }

    #[test]
    fn non_ascii_after_a_known_prefix_is_malformed() {
        assert_eq!(
            detect("$6$sält$abc".as_bytes()),
            Err(HashError::Malformed("sha-crypt", "not ASCII"))
        );
        assert_eq!(detect(b"\xff\xfe"), Err(HashError::Unknown));
    }
}
