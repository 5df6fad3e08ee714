//! `--shard K/N`: one run audits only the accounts whose secret falls in
//! shard K of N, so that the slow part (verifying leaked pairs against
//! bcrypt and friends) spreads over the machines a scheduler already runs
//! (Kubernetes Indexed Jobs, Slurm job arrays, GNU parallel), and
//! `credaudit merge` puts the shards' reports back together.
//!
//! Why the secret and not the account name: accounts that share a password
//! must meet in one run, or the `shared` groups would break apart. The key
//! is therefore the hash that links accounts in [`crate::policy::shared`]:
//!
//! * the NTLM hash of a plaintext when an NTLM export is in the run (plaintext
//!   and NTLM-dump accounts share groups through NTLM), else its SHA-1;
//! * a SHA-1 or NTLM export's hash as given;
//! * for a salted stored hash (bcrypt, argon2, ...), the stored string.
//!
//! The shard of a key is fixed and documented, never a per-process hash:
//! hash keys are uniform already, so their first 8 bytes read as a
//! little-endian integer, modulo N; a stored-hash string goes through
//! XXH3-64 (seed 0) first. Rows that have no usable secret (rejected and
//! skipped rows, which include the history, key and cleartext lines) are
//! counted by shard 0 alone; what an attached line tells follows its
//! account, since it attaches by name to the accounts present. Every shard
//! reads every row, so per-input counters (`rows_read`, combolist lines) are
//! the same in all of them.

pub mod identity;

use crate::hash::{self, HashKind};
use crate::input::columns::SecretKind;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;

/// Shard `index` of `count` (`--shard K/N`, K counted from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parse `K/N`, or `auto/N` with K from the scheduler's environment
    /// (`env` looks a variable up: `std::env::var` in the binary).
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard> {
        let (k, n) = text
            .split_once('/')
            .with_context(|| format!("--shard {text:?}: expected K/N or auto/N, e.g. 0/4"))?;
        let count: u32 =
            n.parse().ok().filter(|&n| n > 0).with_context(|| {
                format!("--shard {text:?}: N must be a whole number of 1 or more")
            })?;
        let index = if k == "auto" {
            from_scheduler(&env)?
        } else {
            k.parse()
                .with_context(|| format!("--shard {text:?}: K must be a whole number or `auto`"))?
        };
        if index >= count {
            bail!("--shard {index}/{count}: K counts from 0, so it must be below N ({count})");
        }
        Ok(Shard { index, count })
    }

    /// The shard a key belongs to: a hash key's first 8 bytes,
    /// little-endian, modulo N; shorter keys are zero-padded.
    fn of_hash(self, key: &[u8]) -> u32 {
        let mut first = [0u8; 8];
        let n = key.len().min(8);
        first[..n].copy_from_slice(&key[..n]);
        (u64::from_le_bytes(first) % u64::from(self.count)) as u32
    }
}

/// K from `JOB_COMPLETION_INDEX` (Kubernetes Indexed Jobs, 0-based) or
/// `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN` (Slurm job arrays).
fn from_scheduler(env: &impl Fn(&str) -> Option<String>) -> Result<u32> {
    let number = |name: &str| -> Result<Option<u32>> {
        env(name)
            .map(|v| {
                v.trim()
                    .parse::<u32>()
                    .with_context(|| format!("--shard auto: {name}={v:?} is not a whole number"))
            })
            .transpose()
    };
    if let Some(k) = number("JOB_COMPLETION_INDEX")? {
        return Ok(k);
    }
    if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
        let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        return id.checked_sub(min).with_context(|| {
            format!("--shard auto: SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")
        });
    }
    bail!(
        "--shard auto/N needs JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID \
         (Slurm job array) in the environment; elsewhere give K/N"
    )
}

/// How one run decides which rows are its own.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub shard: Shard,
    /// Plaintext is keyed by its NTLM hash (an NTLM export is in the run).
    by_ntlm: bool,
    /// Plaintext is hashed into NTLM, so one that is not UTF-8 is rejected.
    ntlm_hashed: bool,
}

/// What the plan needs to know about one export.
pub struct InputKind<'a> {
    pub display: &'a str,
    pub kind: SecretKind,
}

impl Plan {
    /// The plan for `shard` over these exports, whose plaintext is hashed
    /// into `kinds`. Refused where shards could not be merged faithfully.
    pub fn new(shard: Shard, inputs: &[InputKind<'_>], kinds: &[HashKind]) -> Result<Plan> {
        for (i, a) in inputs.iter().enumerate() {
            if let Some(b) = inputs[i + 1..].iter().find(|b| b.display == a.display) {
                bail!(
                    "--shard: two inputs are both named {}: the merge puts rows back in input order by \
                     their origin, so each input needs a name of its own",
                    b.display
                );
            }
        }
        let has = |k: SecretKind| inputs.iter().any(|i| i.kind == k);
        let ntlm_hashed = kinds.contains(&HashKind::Ntlm);
        if has(SecretKind::Plain)
            && has(SecretKind::Ntlm)
            && has(SecretKind::Sha1)
            && ntlm_hashed
            && kinds.contains(&HashKind::Sha1)
        {
            bail!(
                "--shard: plaintext links this run's NTLM and SHA-1 exports both, so no one key keeps \
                 shared-password groups within one shard; audit the SHA-1 exports in a run of their own"
            );
        }
        Ok(Plan {
            shard,
            by_ntlm: has(SecretKind::Ntlm),
            ntlm_hashed,
        })
    }

    /// Is an account row with this secret this shard's? (A row that will
    /// be rejected is shard 0's, which counts it.)
    pub fn owns(&self, kind: SecretKind, secret: &[u8]) -> bool {
        self.owner(kind, secret).unwrap_or(0) == self.shard.index
    }

    /// The shard that audits an account row with this secret; None for a
    /// row that is rejected however it is keyed.
    pub fn owner(&self, kind: SecretKind, secret: &[u8]) -> Option<u32> {
        let s = self.shard;
        Some(match kind {
            SecretKind::Sha1 | SecretKind::Ntlm => s.of_hash(secret),
            SecretKind::Salted => s.of_hash(&xxhash_rust::xxh3::xxh3_64(secret).to_le_bytes()),
            SecretKind::Plain => match hash::ntlm(secret) {
                // Rejected as invalid_utf8.
                Err(_) if self.ntlm_hashed => return None,
                Ok(nt) if self.by_ntlm => s.of_hash(&nt),
                // Not UTF-8, so it has no NTLM hash and shares no group
                // with an NTLM account: its SHA-1 keys it.
                _ => s.of_hash(&hash::sha1(secret)),
            },
        })
    }

    /// Does this shard count the rows that are no account's (rejected,
    /// skipped)?
    pub fn counts_unkeyed(&self) -> bool {
        self.shard.index == 0
    }
}

/// What a shard's summary adds (`shard` in the JSON): enough for
/// `credaudit merge` to check that the shards belong together and to put
/// their reports back together.
#[derive(serde::Serialize, Debug)]
pub struct ShardSummary {
    pub index: u32,
    pub count: u32,
    /// The run identity ([`identity::run_id`]): equal in every shard of one
    /// audit.
    pub run: String,
    /// Account rows that are other shards' (checked there), so that
    /// `rows_read = accounts_checked + rows_rejected.total +
    /// rows_skipped.total + rows_other_shards` holds in each shard.
    pub rows_other_shards: u64,
    pub reset_list: ResetListDigest,
    /// Input position (input index, line) of each shared-password group's
    /// first account, by the group's number in this shard: the merge
    /// renumbers groups in input order across shards.
    pub group_first: Vec<(usize, u64)>,
}

/// The reset list a shard wrote, as written.
#[derive(serde::Serialize, Debug)]
pub struct ResetListDigest {
    /// Absolute path (the merge also looks beside the summary, for shards
    /// whose outputs were collected elsewhere).
    pub path: PathBuf,
    pub sha256: String,
}

/// A writer that passes bytes on and digests them (SHA-256).
pub struct DigestWriter<'a> {
    inner: &'a mut dyn Write,
    digest: Sha256,
}

impl<'a> DigestWriter<'a> {
    pub fn new(inner: &'a mut dyn Write) -> DigestWriter<'a> {
        DigestWriter {
            inner,
            digest: Sha256::new(),
        }
    }

    /// The digest of everything written, in lower-case hex.
    pub fn finish(self) -> String {
        hash::encode_hex(&self.digest.finalize()).to_ascii_lowercase()
    }
}

impl Write for DigestWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 of a whole file, in lower-case hex.
pub fn file_sha256(path: &std::path::Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut digest = Sha256::new();
    std::io::copy(&mut file, &mut digest)?;
    Ok(hash::encode_hex(&digest.finalize()).to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn parses_k_of_n_and_refuses_nonsense() {
        let none = env(&[]);
        assert_eq!(
            Shard::parse("2/4", &none).unwrap(),
            Shard { index: 2, count: 4 }
        );
        for bad in ["4/4", "1/0", "x/4", "3", "-1/4", "1/-4"] {
            assert!(Shard::parse(bad, &none).is_err(), "{bad}");
        }
        let e = Shard::parse("auto/4", &none).unwrap_err().to_string();
        assert!(e.contains("JOB_COMPLETION_INDEX"), "{e}");
    }

    #[test]
    fn auto_reads_kubernetes_then_slurm() {
        let k8s = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(Shard::parse("auto/4", &k8s).unwrap().index, 3);
        let slurm = env(&[("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "5")]);
        assert_eq!(Shard::parse("auto/4", &slurm).unwrap().index, 2);
        let beyond = env(&[("SLURM_ARRAY_TASK_ID", "9"), ("SLURM_ARRAY_TASK_MIN", "5")]);
        assert!(Shard::parse("auto/4", &beyond).is_err());
        let below = env(&[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "5")]);
        assert!(Shard::parse("auto/4", &below).is_err());
    }

    #[test]
    fn the_shard_of_a_key_is_fixed() {
        let s = Shard { index: 0, count: 4 };
        // 0x0807060504030201 % 4 = 1: the first 8 bytes, little-endian.
        assert_eq!(s.of_hash(&[1, 2, 3, 4, 5, 6, 7, 8, 0xff]), 1);
        let plan = Plan {
            shard: s,
            by_ntlm: true,
            ntlm_hashed: true,
        };
        // NTLM("password") = 8846F7EAEE8FB117...: 0x17B18FEEEAF74688 % 4 = 0.
        assert_eq!(plan.owner(SecretKind::Plain, b"password"), Some(0));
        let nt = hash::ntlm(b"password").unwrap();
        assert_eq!(plan.owner(SecretKind::Ntlm, &nt), Some(0));
        // Not UTF-8 while plaintext is hashed into NTLM: rejected, which
        // shard 0 counts.
        assert_eq!(plan.owner(SecretKind::Plain, b"\xff\xfe"), None);
        assert!(plan.owns(SecretKind::Plain, b"\xff\xfe"));
        // SHA-1("password") = 5BAA61E4C9B93F3F...: 0x3F3FB9C9E461AA5B % 4 = 3.
        let by_sha1 = Plan {
            by_ntlm: false,
            ntlm_hashed: false,
            ..plan
        };
        assert_eq!(by_sha1.owner(SecretKind::Plain, b"password"), Some(3));
    }
}
