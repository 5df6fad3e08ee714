//! The two text encodings stored hashes use for binary salts and digests.
//!
//! - Base64 with the standard alphabet (PHC strings, Django, LDAP). Writers
//!   disagree on padding and on whether unused trailing bits are zero, and
//!   neither changes the decoded bytes, so decoding accepts both. passlib
//!   writes `.` where the standard alphabet has `+` ("ab64"); no PHC writer
//!   uses `.`, so it is read as `+` everywhere.
//! - crypt(3)'s "itoa64": the alphabet `./0-9A-Za-z`, little-endian 6-bit
//!   groups (phpass, libxcrypt's `$7$`). Those schemes compare the encoded
//!   text, so only encoding is needed, plus decoding of small integers.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(true)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);

/// Standard alphabet, padding optional, trailing bits ignored.
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);

/// bcrypt's alphabet (`./A-Za-z0-9`), no padding, trailing bits ignored.
const BCRYPT: GeneralPurpose = GeneralPurpose::new(&alphabet::BCRYPT, LENIENT);

/// Decode standard base64 (padded or not; `.` read as `+`).
pub(super) fn base64(text: &str) -> Option<Vec<u8>> {
    if text.contains('.') {
        STANDARD.decode(text.replace('.', "+")).ok()
    } else {
        STANDARD.decode(text).ok()
    }
}

/// Standard base64 with padding.
pub(super) fn base64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decode bcrypt's base64 into exactly `out.len()` bytes.
pub(super) fn bcrypt_base64(text: &str, out: &mut [u8]) -> bool {
    matches!(BCRYPT.decode_slice(text, out), Ok(n) if n == out.len())
}

pub(super) const ITOA64: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Value of one itoa64 character.
pub(super) fn itoa64_value(c: u8) -> Option<u32> {
    ITOA64.iter().position(|&a| a == c).map(|v| v as u32)
}

/// Little-endian itoa64 number of up to 5 characters (30 bits).
pub(super) fn itoa64_u30(text: &[u8]) -> Option<u32> {
    text.iter()
        .take(5)
        .enumerate()
        .try_fold(0u32, |acc, (i, &c)| Some(acc | itoa64_value(c)? << (6 * i)))
}

/// True when every byte is an itoa64 character.
pub(super) fn is_itoa64(text: &[u8]) -> bool {
    text.iter().all(|&c| itoa64_value(c).is_some())
}

/// crypt(3)'s encoding: bytes taken three at a time as a little-endian
/// 24-bit number, written low 6 bits first; a final partial group writes
/// only the characters its bits need (16 bytes give 22 characters).
pub(super) fn itoa64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let value = group
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (8 * i));
        for i in 0..(group.len() * 8).div_ceil(6) {
            out.push(ITOA64[(value >> (6 * i)) as usize & 63] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_accepts_padding_either_way_and_ab64() {
        assert_eq!(base64("aGk=").unwrap(), b"hi");
        assert_eq!(base64("aGk").unwrap(), b"hi");
        assert_eq!(base64("+/8").unwrap(), [0xfb, 0xff]);
        assert_eq!(base64("./8").unwrap(), [0xfb, 0xff]);
        assert_eq!(base64("aGl"), Some(b"hi".to_vec())); // non-zero trailing bits
        assert_eq!(base64("a"), None);
        assert_eq!(base64("a!b="), None);
        assert_eq!(base64_encode(b"hi"), "aGk=");
    }

    #[test]
    fn itoa64_known_answers() {
        // Known answers from passlib's h64 (the same encoding).
        assert_eq!(itoa64_encode(&[0xd4, 0x1d, 0x8c]), "Ir/X");
        assert_eq!(itoa64_encode(&[0xff]), "z1");
        assert_eq!(itoa64_encode(&[1, 2]), "/6.");
        assert_eq!(itoa64_encode(&[0u8; 16]).len(), 22);
        assert_eq!(itoa64_encode(&[0u8; 32]).len(), 43);
        assert_eq!(itoa64_u30(b"6...."), Some(8));
        assert_eq!(itoa64_u30(b"/...."), Some(1));
        assert_eq!(itoa64_u30(b"6..!."), None);
        assert_eq!(itoa64_value(b'z'), Some(63));
    }

    #[test]
    fn bcrypt_alphabet() {
        let mut out = [0u8; 16];
        assert!(bcrypt_base64("c95AwdWMKEAwA9X70Mw95e", &mut out));
        assert!(!bcrypt_base64("c95AwdWMKEAwA9X70Mw95", &mut out));
        assert!(!bcrypt_base64("c95AwdWMKEAwA9X70Mw9+e", &mut out));
    }
}
