//! Counts by cause with their total: rows rejected or skipped, combolist
//! lines malformed, pairs refused. Kept apart from the summary that prints
//! them so that the passes which count (input, combolist) do not depend on
//! the report, which depends on them.

use serde::Serialize;
use std::collections::BTreeMap;

/// Counts by cause, with their total.
#[derive(Serialize, Debug, Default)]
pub struct Tally {
    pub total: u64,
    #[serde(flatten)]
    pub by_cause: BTreeMap<String, u64>,
}

impl Tally {
    pub fn add(&mut self, cause: &str, n: u64) {
        self.total += n;
        *self.by_cause.entry(cause.to_string()).or_default() += n;
    }
}
