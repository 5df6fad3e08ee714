//! The accounts of an audit, stored compactly: ten million accounts must fit
//! in well under a gigabyte, so names live in one byte arena and each
//! account's origin (file, line) and status are packed into one `u64`.
//! Secrets are not stored here at all; only their hashes, in the query sets.

use crate::input::AccountStatus;

const LINE_BITS: u32 = 46;
const FILE_BITS: u32 = 16;
const LINE_MASK: u64 = (1 << LINE_BITS) - 1;
const FILE_MASK: u64 = (1 << FILE_BITS) - 1;

/// Index of an account in the table, in input order.
pub type AccountId = u32;

#[derive(Default)]
pub struct Accounts {
    names: Vec<u8>,
    name_ends: Vec<u64>,
    packed: Vec<u64>,
}

/// Where an account came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: usize,
    pub line: u64,
}

impl Accounts {
    pub fn len(&self) -> usize {
        self.packed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packed.is_empty()
    }

    /// Add an account; fails past 2^32 accounts or 2^16 input files.
    pub fn push(
        &mut self,
        name: &[u8],
        file: usize,
        line: u64,
        status: AccountStatus,
    ) -> anyhow::Result<AccountId> {
        let id = AccountId::try_from(self.packed.len())
            .map_err(|_| anyhow::anyhow!("more than 4 billion accounts in one audit"))?;
        anyhow::ensure!((file as u64) <= FILE_MASK, "too many input files");
        let status_bits = match status {
            AccountStatus::Unknown => 0u64,
            AccountStatus::Enabled => 1,
            AccountStatus::Disabled => 2,
        };
        self.names.extend_from_slice(name);
        self.name_ends.push(self.names.len() as u64);
        self.packed.push(
            (status_bits << (LINE_BITS + FILE_BITS))
                | ((file as u64) << LINE_BITS)
                | (line.min(LINE_MASK)),
        );
        Ok(id)
    }

    pub fn name(&self, id: AccountId) -> &[u8] {
        let i = id as usize;
        let start = if i == 0 {
            0
        } else {
            self.name_ends[i - 1] as usize
        };
        &self.names[start..self.name_ends[i] as usize]
    }

    pub fn origin(&self, id: AccountId) -> Origin {
        let p = self.packed[id as usize];
        Origin {
            file: ((p >> LINE_BITS) & FILE_MASK) as usize,
            line: p & LINE_MASK,
        }
    }

    pub fn status(&self, id: AccountId) -> AccountStatus {
        match self.packed[id as usize] >> (LINE_BITS + FILE_BITS) {
            1 => AccountStatus::Enabled,
            2 => AccountStatus::Disabled,
            _ => AccountStatus::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut a = Accounts::default();
        let x = a.push(b"alice", 0, 2, AccountStatus::Unknown).unwrap();
        let y = a
            .push(b"CORP\\bob", 3, 1 << 40, AccountStatus::Disabled)
            .unwrap();
        assert_eq!(a.name(x), b"alice");
        assert_eq!(a.name(y), b"CORP\\bob");
        assert_eq!(
            a.origin(y),
            Origin {
                file: 3,
                line: 1 << 40
            }
        );
        assert_eq!(a.status(y), AccountStatus::Disabled);
        assert_eq!(a.status(x), AccountStatus::Unknown);
    }
}
