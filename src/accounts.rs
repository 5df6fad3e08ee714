//! The accounts of an audit, stored compactly: a hundred million accounts
//! must fit beside their hashes in 8 GB, so names live in one byte arena
//! whose ends are kept as 32-bit offsets (with the few accounts where the
//! arena passes a multiple of 4 GiB), and each account's origin (file,
//! line), status and flags are packed into one `u64`: 12 bytes an account
//! besides its name. Secrets are not stored here at all; only their hashes,
//! in the query sets.

const LINE_BITS: u32 = 44;
const FILE_BITS: u32 = 16;
const LINE_MASK: u64 = (1 << LINE_BITS) - 1;
const FILE_MASK: u64 = (1 << FILE_BITS) - 1;
const STATUS_SHIFT: u32 = LINE_BITS + FILE_BITS;
const PRIVILEGED_BIT: u64 = 1 << 62;

/// Index of an account in the table, in input order.
pub type AccountId = u32;

pub struct Accounts {
    names: Vec<u8>,
    /// The low `wrap_bits` bits of where each name ends in `names`.
    name_ends: Vec<u32>,
    /// The first account whose name ends past each multiple of 4 GiB.
    wraps: Vec<AccountId>,
    /// 32, or fewer to test the wraps without 4 GiB of names.
    wrap_bits: u32,
    packed: Vec<u64>,
    /// Whether any account is privileged: most exports mark none, and then
    /// millions of accounts need not be looked up one by one to know it.
    any_privileged: bool,
}

impl Default for Accounts {
    fn default() -> Self {
        Accounts {
            names: Vec::new(),
            name_ends: Vec::new(),
            wraps: Vec::new(),
            wrap_bits: 32,
            packed: Vec::new(),
            any_privileged: false,
        }
    }
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
        let end = self.names.len() as u64;
        while (end >> self.wrap_bits) as usize > self.wraps.len() {
            self.wraps.push(id);
        }
        self.name_ends
            .push((end & ((1 << self.wrap_bits) - 1)) as u32);
        self.packed.push(
            (status_bits << STATUS_SHIFT)
                | if flags.privileged { PRIVILEGED_BIT } else { 0 }
                | ((file as u64) << LINE_BITS)
                | (line.min(LINE_MASK)),
        );
        Ok(id)
    }

    pub fn name(&self, id: AccountId) -> &[u8] {
        let start = if id == 0 { 0 } else { self.name_end(id - 1) };
        &self.names[start..self.name_end(id)]
    }

    /// Where account `id`'s name ends in the arena.
    fn name_end(&self, id: AccountId) -> usize {
        let high = self.wraps.partition_point(|&w| w <= id) as u64;
        ((high << self.wrap_bits) | u64::from(self.name_ends[id as usize])) as usize
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
