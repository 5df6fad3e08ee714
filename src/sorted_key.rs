//! The key a sorted corpus is ordered by: a hash as integers, so that the
//! hot search loop and the coverage checks compare in one or two integer
//! comparisons instead of byte by byte.

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
