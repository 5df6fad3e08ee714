//! Combolist and stealer-log lines: `combolist::line::split`, including
//! hashcat's `$HEX[...]` passwords. Each `\n`-separated line of the input is
//! split. The identity must be a piece of the line; a password is a piece
//! of it too unless it was `$HEX[]`-decoded, when encoding it back must give
//! the hex of the line. A rejection must not echo the canary.
#![no_main]

use credaudit::combolist::line::{split, Password};
use credaudit_fuzz::{assert_clean, splice};
use libfuzzer_sys::fuzz_target;

/// Whether `part` is a sub-slice of `whole` (same memory).
fn within(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    p >= w && p + part.len() <= w + whole.len()
}

fuzz_target!(|data: &[u8]| {
    let (data, check) = splice(data);
    for line in data.split(|&b| b == b'\n') {
        match split(line) {
            Err(malformed) => {
                assert_clean(check, "a combolist rejection", &format!("{malformed:?}"));
                assert_clean(check, "a combolist rejection", malformed.name());
            }
            Ok(pair) => {
                assert!(!pair.identity.is_empty() && within(pair.identity, line));
                assert!(!pair.password.is_empty());
                match &pair.password {
                    Password::Raw(password) => assert!(within(password, line)),
                    Password::Decoded(decoded) => {
                        let hex = credaudit::hash::encode_hex(decoded);
                        let line = String::from_utf8_lossy(line).to_ascii_uppercase();
                        assert!(line.contains(&format!("$HEX[{hex}]")));
                    }
                }
            }
        }
    }
});
