//! The accounts of an audit, stored compactly: ten million accounts must fit
//! in well under a gigabyte, so names live in one byte arena and each
//! account's origin (file, line), status and flags are packed into one `u64`.
//! Secrets are not stored here at all; only their hashes, in the query sets.

const LINE_BITS: u32 = 44;
const FILE_BITS: u32 = 16;
const LINE_MASK: u64 = (1 << LINE_BITS) - 1;
const FILE_MASK: u64 = (1 << FILE_BITS) - 1;
const STATUS_SHIFT: u32 = LINE_BITS + FILE_BITS;
const PRIVILEGED_BIT: u64 = 1 << 62;

/// Index of an account in the table, in input order.
pub type AccountId = u32;

#[derive(Default)]
pub struct Accounts {
    names: Vec<u8>,
    name_ends: Vec<u64>,
    packed: Vec<u64>,
    /// Whether any account is privileged: most exports mark none, and then
    /// millions of accounts need not be looked up one by one to know it.
    any_privileged: bool,
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
    pub fn push(&mut self, name: &[u8], origin: Origin, flags: Flags) -> anyhow::Result<AccountId> {
        let Origin { file, line } = origin;
        let id = AccountId::try_from(self.packed.len())
            .map_err(|_| anyhow::anyhow!("more than 4 billion accounts in one audit"))?;
        anyhow::ensure!((file as u64) <= FILE_MASK, "too many input files");
        let status_bits = match flags.status {
            AccountStatus::Unknown => 0u64,
            AccountStatus::Enabled => 1,
            AccountStatus::Disabled => 2,
        };
        self.any_privileged |= flags.privileged;
        self.names.extend_from_slice(name);
        self.name_ends.push(self.names.len() as u64);
        self.packed.push(
            (status_bits << STATUS_SHIFT)
                | if flags.privileged { PRIVILEGED_BIT } else { 0 }
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
        match (self.packed[id as usize] >> STATUS_SHIFT) & 3 {
            1 => AccountStatus::Enabled,
            2 => AccountStatus::Disabled,
            _ => AccountStatus::Unknown,
        }
    }

    /// Marked privileged (`--admin-col`, `--admins`).
    pub fn privileged(&self, id: AccountId) -> bool {
        self.packed[id as usize] & PRIVILEGED_BIT != 0
    }

    /// Is any account privileged?
    pub fn any_privileged(&self) -> bool {
        self.any_privileged
    }
}

/// Whether an account is enabled, where the export says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountStatus {
    Unknown,
    Enabled,
    Disabled,
}

impl AccountStatus {
    pub fn label(self) -> &'static str {
        match self {
            AccountStatus::Unknown => "",
            AccountStatus::Enabled => "enabled",
            AccountStatus::Disabled => "disabled",
        }
    }
}

/// What is known about an account besides its name and origin.
#[derive(Clone, Copy, Debug)]
pub struct Flags {
    pub status: AccountStatus,
    pub privileged: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut a = Accounts::default();
        let plain = Flags {
            status: AccountStatus::Unknown,
            privileged: false,
        };
        let admin = Flags {
            status: AccountStatus::Disabled,
            privileged: true,
        };
        let x = a
            .push(b"alice", Origin { file: 0, line: 2 }, plain)
            .unwrap();
        let far = Origin {
            file: 3,
            line: 1 << 40,
        };
        let y = a.push(b"CORP\\bob", far, admin).unwrap();
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
        assert!(a.privileged(y));
        assert!(!a.privileged(x));
        assert!(a.any_privileged());
        assert!(!Accounts::default().any_privileged());
    }
}
