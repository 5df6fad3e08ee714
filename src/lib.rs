//! credaudit: a breach-exposure auditor.
//!
//! Credential exports in, reset list out: stream accounts and their secrets,
//! hash them once in parallel, ask every breach source which hashes it knows,
//! and write one CSV row per account that must be reset, with why. This crate
//! is the library behind the `credaudit` binary: no clap, no printing to
//! stdout (the caller hands in the writer).

pub mod accounts;
pub mod atomic_file;
pub mod audit;
pub mod check;
pub mod combolist;
pub mod core_dumps;
pub(crate) mod coverage;
pub mod digest;
pub mod findings;
pub mod hash;
pub mod hibp;
pub mod input;
pub mod match_tier;
pub mod memory;
pub mod outcome;
pub mod page_backing;
pub mod policy;
pub mod prefetch;
pub mod progress;
pub mod queryset;
pub mod redact;
pub mod report;
pub mod secret_buf;
pub mod serve;
pub mod shard;
pub(crate) mod sorted_key;
pub mod source;
pub mod store;
pub mod tally;
#[cfg(test)]
pub(crate) mod test_rng;
pub mod verify;
