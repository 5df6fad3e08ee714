//! The JSON summary (`--summary FILE`): what was read, what was checked,
//! what was rejected or skipped and why, what was found, which sources were
//! asked, how long it took. The counts always add up:
//! `rows_read = accounts_checked + rows_rejected.total + rows_skipped.total`.

use crate::hash::HashKind;
use crate::input::columns::SecretKind;
use crate::input::decompress::Compression;
use crate::input::Format;
use crate::source::{CorpusCheck, RequestStats, SourceInfo};
/// The counts the summary is made of; re-exported as part of its interface.
pub use crate::tally::Tally;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Serialize, Debug)]
pub struct Summary {
    pub credaudit_version: &'static str,
    pub inputs: Vec<InputSummary>,
    pub rows_read: u64,
    pub accounts_checked: u64,
    pub rows_rejected: Tally,
    pub rows_skipped: Tally,
    pub accounts_flagged: Tally,
    /// Accounts by their highest severity.
    pub accounts_by_severity: Tally,
    /// Accounts `banned`, by the rule that found the word (one account may
    /// count under several): `expansion`, `exact`, `fuzzy`,
    /// `substring-score`.
    pub banned_rules: Tally,
    /// The organisation's names banned besides `--banned` files.
    pub banned_org_words: OrgWords,
    pub accounts_unchecked: u64,
    pub report_rows: u64,
    pub shared_groups: Vec<SharedGroupSummary>,
    /// Salted-hash exports: accounts per stored-hash scheme.
    pub stored_hash_schemes: BTreeMap<String, u64>,
    /// The `--combolist` pass, when one was given.
    pub combolist: Option<crate::combolist::Stats>,
    pub distinct_hashes: BTreeMap<HashKind, u64>,
    pub min_count: u64,
    pub sources: Vec<SourceSummary>,
    /// True when no source was given and only the built-in list was used.
    pub builtin_only: bool,
    pub notes: Vec<String>,
    pub durations_ms: Durations,
    pub exit_code: u8,
    /// `--shard K/N`: which shard this is, of which run, and its reset list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::ShardSummary>,
}

/// Organisation names banned like `--banned` words.
#[derive(Serialize, Debug, Default)]
pub struct OrgWords {
    /// `--org NAME`, as given (lower-cased).
    pub given: Vec<String>,
    /// Found in the export: `DOMAIN\user` domains and the email domains of
    /// at least 1% of the accounts (none under `--no-auto-banned`).
    pub found: Vec<String>,
}

/// A group of accounts sharing one password (`group` is the report's
/// `shared_group`), with its first members by name and origin.
#[derive(Serialize, Debug)]
pub struct SharedGroupSummary {
    pub group: u32,
    pub size: u32,
    pub privileged: u32,
    pub accounts: Vec<String>,
}

#[derive(Serialize, Debug)]
pub struct InputSummary {
    pub path: PathBuf,
    pub format: Format,
    pub secret_kind: SecretKind,
    pub compression: Compression,
    /// Bytes as stored (for standard input: as read).
    pub size_bytes: Option<u64>,
    /// BLAKE3 of those bytes (what `b3sum` prints), taken while reading.
    pub blake3: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct SourceSummary {
    #[serde(flatten)]
    pub info: SourceInfo,
    /// Sorted corpus files: verification and coverage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corpus: Option<CorpusCheck>,
    /// One entry per hash kind asked.
    pub lookups: Vec<LookupSummary>,
}

#[derive(Serialize, Debug)]
pub struct LookupSummary {
    pub hash_kind: HashKind,
    /// Old passwords (`--include-history`) rather than current ones.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub history: bool,
    pub method: &'static str,
    pub queried: u64,
    pub hits: u64,
    pub hits_below_min_count: u64,
    pub unchecked: u64,
    pub lines_read: Option<u64>,
    /// Requests, retries, cache hits: for sources that ask a server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<RequestStats>,
    pub duration_ms: u64,
}

#[derive(Serialize, Debug, Default)]
pub struct Durations {
    pub open_sources: u64,
    pub read_and_hash: u64,
    pub sort: u64,
    pub lookup: u64,
    pub report: u64,
    pub total: u64,
}

/// Write a summary (one run's, or merged shards') as pretty JSON,
/// atomically, mode 0600.
pub fn write(path: &std::path::Path, summary: &impl Serialize) -> anyhow::Result<()> {
    crate::atomic_file::write(path, crate::atomic_file::REPORT, |w| {
        serde_json::to_writer_pretty(&mut *w, summary)?;
        w.write_all(b"\n")?;
        Ok(())
    })
}
