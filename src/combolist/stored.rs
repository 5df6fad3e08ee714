//! What each account's secret is kept as while combolists are checked:
//! enough to tell whether a leaked password is the current one, and no more.
//! A plaintext export keeps only the SHA-1 of each password (so plaintext
//! still does not outlive its batch); hashed exports keep their hash.

use crate::accounts::AccountId;
use crate::hash;
use crate::redact::Redacted;
use crate::verify::{self, HashError};

const TAG_SHA1: u8 = 0;
const TAG_NTLM: u8 = 1;
const TAG_STORED: u8 = 2;

/// One account's secret as kept. Its `Debug` shows lengths only.
#[derive(Clone, Copy)]
pub enum Stored<'a> {
    /// SHA-1 of the plaintext, or a SHA-1 export.
    Sha1(&'a [u8]),
    Ntlm(&'a [u8]),
    /// A stored-hash string (bcrypt, argon2, ...), verified with its scheme.
    Hashed(&'a [u8]),
}

impl std::fmt::Debug for Stored<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, bytes) = match self {
            Stored::Sha1(b) => ("Sha1", b),
            Stored::Ntlm(b) => ("Ntlm", b),
            Stored::Hashed(b) => ("Hashed", b),
        };
        f.debug_tuple(kind).field(&Redacted(bytes)).finish()
    }
}

impl Stored<'_> {
    /// Is the check costly (a deliberately slow password hash)?
    pub fn is_slow(&self) -> bool {
        match self {
            Stored::Hashed(s) => verify::detect(s).is_ok_and(|scheme| scheme.is_slow()),
            _ => false,
        }
    }

    /// Bytes one check allocates (scrypt, Argon2; else 0).
    pub fn memory_cost(&self) -> u64 {
        match self {
            Stored::Hashed(s) => verify::memory_cost(s).unwrap_or(0),
            _ => 0,
        }
    }

    /// Is `password` this secret?
    pub fn matches(&self, password: &[u8]) -> Result<bool, HashError> {
        Ok(match self {
            Stored::Sha1(d) => hash::sha1(password)[..] == **d,
            Stored::Ntlm(d) => hash::ntlm(password).is_ok_and(|h| h[..] == **d),
            Stored::Hashed(s) => verify::verify(s, password)?,
        })
    }
}

/// Per-account secrets in one arena, indexed by account id.
#[derive(Default)]
pub struct StoredSecrets {
    tags: Vec<u8>,
    data: Vec<u8>,
    ends: Vec<u64>,
}

impl StoredSecrets {
    pub fn push(&mut self, id: AccountId, stored: Stored<'_>) {
        debug_assert_eq!(id as usize, self.tags.len(), "pushed in account order");
        let (tag, bytes) = match stored {
            Stored::Sha1(b) => (TAG_SHA1, b),
            Stored::Ntlm(b) => (TAG_NTLM, b),
            Stored::Hashed(b) => (TAG_STORED, b),
        };
        self.tags.push(tag);
        self.data.extend_from_slice(bytes);
        self.ends.push(self.data.len() as u64);
    }

    pub fn get(&self, id: AccountId) -> Stored<'_> {
        let i = id as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let bytes = &self.data[start..self.ends[i] as usize];
        match self.tags[i] {
            TAG_SHA1 => Stored::Sha1(bytes),
            TAG_NTLM => Stored::Ntlm(bytes),
            _ => Stored::Hashed(bytes),
        }
    }
}
