//! What a store says about itself beyond the fixed header: where its data
//! came from, what it covers, and how it was built. Kept as JSON in the
//! store (the `meta` section), printed by `index info`.

use serde::{Deserialize, Serialize};

/// One source a store was compiled from, as it was when read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceIdentity {
    /// As given on the command line (`-` for standard input).
    pub path: String,
    /// `sorted-file` or `prefix-directory`.
    pub layout: String,
    /// `none`, `gzip` or `zstd` (sorted files).
    pub compression: String,
    pub size_bytes: Option<u64>,
    pub modified_unix: Option<u64>,
    /// Corpus lines read (padding lines of a mirror excluded).
    pub lines: u64,
    /// BLAKE3 of the bytes as stored (compressed, if they are), computed in
    /// the same pass (`b3sum FILE` prints the same); for a directory, of its
    /// prefix files concatenated in prefix order.
    pub blake3: String,
}

/// Everything `index info` shows beyond the header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub credaudit_version: String,
    pub built_unix: u64,
    pub build_seconds: f64,
    pub sources: Vec<SourceIdentity>,
    /// Corpus lines read from all sources.
    pub lines: u64,
    /// Lines left out for `--min-count`.
    pub dropped_below_min_count: u64,
    /// 5-hex prefixes without a line (counted before `--min-count`).
    pub empty_prefixes: u64,
    /// How coverage was judged: `prefix files`, `every prefix has a line`
    /// (sources of 20M lines or more), or `density gaps` (smaller ones).
    pub coverage_rule: String,
    /// Stretches without data that `--allow-missing` accepted, as prefix
    /// ranges (`4C910-FFFFF`); lookups there are unchecked.
    pub missing: Vec<String>,
    /// The most entries any one 5-hex prefix holds (what `serve` pads to).
    pub max_prefix_entries: u64,
    /// Entries whose count is kept in the overflow table (above 254).
    pub overflow_counts: u64,
    /// Pairs of neighbouring entries whose truncated keys are equal (two
    /// distinct hashes sharing their first 64 bits; a lookup of either
    /// finds a hit with the larger count).
    pub truncated_key_collisions: u64,
}
