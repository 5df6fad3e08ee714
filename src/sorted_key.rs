//! The key a sorted corpus is ordered by: a hash as integers, so that the
//! hot search loop and the coverage checks compare in one or two integer
//! comparisons instead of byte by byte.

use crate::hash;

/// A hash as numbers: its first 16 bytes and the rest (SHA-1's last 4,
/// zero for NTLM), big-endian, so that keys order as their bytes do and
/// compare in one or two integer comparisons.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    head: u128,
    tail: u32,
}

impl Key {
    /// Above every hash.
    pub(crate) const MAX: Key = Key {
        head: u128::MAX,
        tail: u32::MAX,
    };

    /// From the 16 bytes of an NTLM hash or the 20 of a SHA-1.
    #[inline]
    pub(crate) fn new(hash: &[u8]) -> Key {
        let head = u128::from_be_bytes(hash[..16].try_into().expect("hashes have 16+ bytes"));
        let tail = match hash.get(16..20) {
            Some(t) => u32::from_be_bytes(t.try_into().expect("4 bytes")),
            None => 0,
        };
        Key { head, tail }
    }

    /// From the 32 hex digits of an NTLM hash or the 40 of a SHA-1 (either
    /// case), without a round trip through bytes: a store build reads
    /// every line's key this way. None for any other length or a non-hex
    /// digit.
    #[inline]
    pub(crate) fn from_hex(hex: &[u8]) -> Option<Key> {
        let digits = |at: usize| -> &[u8; 16] { hex[at..at + 16].try_into().expect("16 digits") };
        let (tail, tail_valid) = match hex.len() {
            32 => (0, true),
            // The last 8 digits, as the low half of an overlapping window.
            40 => {
                let (v, valid) = hash::hex16_value(digits(24));
                (v as u32, valid)
            }
            _ => return None,
        };
        let (high, high_valid) = hash::hex16_value(digits(0));
        let (low, low_valid) = hash::hex16_value(digits(16));
        (high_valid & low_valid & tail_valid).then_some(Key {
            head: u128::from(high) << 64 | u128::from(low),
            tail,
        })
    }

    /// The key whose first 8 bytes are `top` and the rest zero.
    #[cfg(test)]
    pub(crate) fn from_top(top: u64) -> Key {
        Key {
            head: u128::from(top) << 64,
            tail: 0,
        }
    }

    /// Back to bytes (NTLM uses the first 16).
    pub(crate) fn bytes(self) -> [u8; 20] {
        let mut out = [0u8; 20];
        out[..16].copy_from_slice(&self.head.to_be_bytes());
        out[16..].copy_from_slice(&self.tail.to_be_bytes());
        out
    }

    /// The first 8 bytes, what interpolation works with.
    #[inline]
    pub(crate) fn top(self) -> u64 {
        (self.head >> 64) as u64
    }

    /// The 5-hex prefix (top 20 bits) the key falls in, for messages:
    /// corpus data, never an audited hash.
    pub(crate) fn prefix(self) -> String {
        format!("{:05X}", self.head >> 108)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_give_the_key_of_the_bytes() {
        for hex in [
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8", // SHA-1("password")
            "8846F7EAEE8FB117AD06BDD830B7586C",         // NTLM("password")
            "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8",
        ] {
            let mut bytes = [0u8; 20];
            let n = hex.len() / 2;
            assert!(hash::decode_hex(hex.as_bytes(), &mut bytes[..n]));
            assert_eq!(Key::from_hex(hex.as_bytes()), Some(Key::new(&bytes[..n])));
        }
        let sha1 = Key::from_hex(b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8").unwrap();
        assert_eq!(sha1.top(), 0x5BAA_61E4_C9B9_3F3F);
        assert_eq!(sha1.prefix(), "5BAA6");
    }

    #[test]
    fn other_lengths_and_non_hex_digits_are_refused() {
        assert_eq!(
            Key::from_hex(b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD"),
            None
        );
        assert_eq!(
            Key::from_hex(b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FDX"),
            None
        );
        assert_eq!(Key::from_hex(b"X846F7EAEE8FB117AD06BDD830B7586C"), None);
        assert_eq!(Key::from_hex(b""), None);
    }
}
