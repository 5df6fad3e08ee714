//! Stored password hashes, every scheme: `verify::detect` runs the prefix
//! dispatch and the scheme's parser (bcrypt, WordPress, Argon2, scrypt PHC
//! and `$7$`, PBKDF2 PHC and Django, sha-crypt, phpass, LDAP `{SSHA}`,
//! `{SHA}`, `{CRYPT}`, bare SHA-1 and MD5/NTLM hex). Only the cheap schemes
//! are also verified (against the canary): a slow one's cost comes from the
//! fuzzer's bytes, and hashing with it would make executions slow and
//! memory unbounded. `verify` must agree with `detect` on what parses, and
//! the canary's own SHA-1 must verify.
#![no_main]

use credaudit::verify::{detect, verify};
use credaudit_fuzz::{assert_clean, splice, CANARY};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (stored, check) = splice(data);
    match detect(&stored) {
        Err(error) => {
            assert_clean(check, "a hash error", &error.to_string());
            assert_clean(check, "a hash error's Debug", &format!("{error:?}"));
        }
        Ok(scheme) => {
            assert_clean(check, "a scheme name", scheme.name());
            if !scheme.is_slow() {
                let right = verify(&stored, CANARY.as_bytes()).expect("detect accepted it");
                if stored == credaudit_fuzz::canary_sha1_hex().as_bytes() {
                    assert!(right, "the canary's SHA-1 does not verify");
                }
            }
        }
    }
});
