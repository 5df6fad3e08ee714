//! Leaked credential pairs (`--combolist`): find the export's accounts in
//! lists of leaked username+password pairs, and check whether the leaked
//! password is the account's current one against its own stored hash.
//!
//! An account whose current password sits in a leak next to its own name is
//! the most urgent reset there is (`pair-leaked`, critical). An account that
//! appears in a leak with some other password gets an advisory
//! (`account-in-leak`, low): its owner reuses the address elsewhere.
//!
//! The export side is in memory (the account table, an index of 12 bytes an
//! account, and each account's stored secret); combolists, tens of GB in real
//! life, are streamed in batches whose lines are parsed and joined in
//! parallel. Fast checks (plaintext, unsalted hashes) are done on the fly;
//! slow ones (bcrypt and friends, up to ~100 ms each) are de-duplicated by
//! (account, password), capped per account, and run in parallel at the end,
//! so the number of slow verifications equals the matched pairs, never
//! accounts × lines.

pub mod budget;
pub mod join;
pub mod line;
pub mod other_shards;
pub mod stored;

use crate::accounts::{AccountId, Accounts};
use crate::findings::{Findings, Reason};
use crate::input::decompress;
use crate::match_tier::Tier;
use crate::progress::Progress;
use crate::tally::Tally;
use anyhow::{Context, Result};
use budget::Budget;
use other_shards::{OtherShards, ShardedIndex};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use stored::StoredSecrets;
use zeroize::Zeroizing;

/// A line's accounts and how they matched, and whether this run counts it
/// as matched (see [`other_shards`]); or why the line is malformed.
type Joined = Result<(Vec<(AccountId, Tier)>, bool), line::Malformed>;

/// Lines parsed and joined per batch.
const BATCH_LINES: usize = 64 * 1024;

#[derive(Clone, Debug)]
pub struct CombolistOptions {
    pub paths: Vec<PathBuf>,
    /// Leaked passwords checked per account at most.
    pub max_candidates: usize,
    /// `--strict`: a combolist without one usable line is an error, not a
    /// warning.
    pub strict: bool,
}

/// What the summary says about the combolist pass.
#[derive(Debug, Default, serde::Serialize)]
pub struct Stats {
    pub files: Vec<PathBuf>,
    pub lines_read: u64,
    pub lines_malformed: Tally,
    pub lines_matched: u64,
    pub matches_by_tier: BTreeMap<Tier, u64>,
    /// Distinct (account, leaked password) pairs checked.
    pub pairs_checked: u64,
    pub duplicate_pairs: u64,
    /// Pairs not checked because their account reached `--max-candidates`.
    pub pairs_over_cap: u64,
    pub accounts_over_cap: u64,
    pub fast_checks: u64,
    pub slow_verifications: u64,
    pub pairs_verified: u64,
    /// Stored hashes that could not be used (counted, never "not leaked").
    pub verify_errors: u64,
    /// Pairs not verified, by cause (`memory_limit`: the stored hash needs
    /// more memory than the process may take); their accounts are
    /// `unchecked`.
    pub pairs_refused: Tally,
    /// Bytes the memory-hard verifications (scrypt, Argon2) may use at once
    /// (null: no limit could be read).
    pub verify_memory_budget: Option<u64>,
    /// Streaming, parsing and joining the combolists (with fast checks).
    pub join_ms: u64,
    /// The parallel slow verifications at the end.
    pub verify_ms: u64,
    pub duration_ms: u64,
}

/// A matched pair waiting for a slow verification.
struct Pending {
    account: AccountId,
    tier: Tier,
    password: Zeroizing<Vec<u8>>,
}

/// State of the pass while streaming.
struct Pass<'a> {
    stored: &'a StoredSecrets,
    max_candidates: usize,
    seen: HashSet<(AccountId, [u8; 20])>,
    per_account: HashMap<AccountId, u32>,
    slow: Vec<Pending>,
    stats: Stats,
}

impl Pass<'_> {
    /// Take one matched pair: check it now if cheap, queue it if slow.
    fn take(&mut self, account: AccountId, tier: Tier, password: &[u8], findings: &mut Findings) {
        if !self.seen.insert((account, crate::hash::sha1(password))) {
            self.stats.duplicate_pairs += 1;
            return;
        }
        let n = self.per_account.entry(account).or_default();
        if *n as usize >= self.max_candidates {
            if *n as usize == self.max_candidates {
                self.stats.accounts_over_cap += 1;
                *n += 1;
            }
            self.stats.pairs_over_cap += 1;
            return;
        }
        *n += 1;
        self.stats.pairs_checked += 1;
        let stored = self.stored.get(account);
        if stored.is_slow() {
            self.slow.push(Pending {
                account,
                tier,
                password: Zeroizing::new(password.to_vec()),
            });
            return;
        }
        self.stats.fast_checks += 1;
        let verdict = stored.matches(password);
        self.record(account, tier, verdict, findings);
    }

    fn record(
        &mut self,
        account: AccountId,
        tier: Tier,
        verdict: Result<bool, crate::verify::HashError>,
        findings: &mut Findings,
    ) {
        match verdict {
            Ok(true) => {
                self.stats.pairs_verified += 1;
                findings.leak(account, Reason::PairLeaked, tier);
            }
            Ok(false) => findings.leak(account, Reason::AccountInLeak, tier),
            Err(_) => {
                self.stats.verify_errors += 1;
                findings.add(account, Reason::Unchecked);
            }
        }
    }
}

/// Run every combolist against the export (`others`: under `--shard`, the
/// accounts that other shards audit).
pub fn run(
    options: &CombolistOptions,
    accounts: &Accounts,
    others: Option<&OtherShards>,
    stored: &StoredSecrets,
    findings: &mut Findings,
    progress: &Progress,
) -> Result<Stats> {
    let started = std::time::Instant::now();
    let index = ShardedIndex::new(accounts, others);
    let mut pass = Pass {
        stored,
        max_candidates: options.max_candidates,
        seen: HashSet::new(),
        per_account: HashMap::new(),
        slow: Vec::new(),
        stats: Stats {
            files: options.paths.clone(),
            ..Stats::default()
        },
    };
    for path in &options.paths {
        let before = (pass.stats.lines_read, pass.stats.lines_malformed.total);
        stream(path, &index, &mut pass, findings, progress)?;
        let read = pass.stats.lines_read - before.0;
        let malformed = pass.stats.lines_malformed.total - before.1;
        if read == malformed {
            let message = format!(
                "combolist {}: no usable lines ({read} read, {malformed} malformed): nothing in it was checked",
                path.display()
            );
            if options.strict {
                anyhow::bail!("{message} (--strict)");
            }
            progress.warn(&message);
        }
    }
    pass.stats.join_ms = started.elapsed().as_millis() as u64;
    let verify_started = std::time::Instant::now();
    let slow = std::mem::take(&mut pass.slow);
    pass.stats.slow_verifications = slow.len() as u64;
    let budget = Budget::for_room(crate::memory::room());
    pass.stats.verify_memory_budget = (budget.limit() != u64::MAX).then_some(budget.limit());
    let bar = progress.bar(slow.len() as u64, "verifying leaked pairs");
    let verdicts: Vec<_> = slow
        .par_iter()
        .map(|p| {
            let account = stored.get(p.account);
            let v = budget.run(account.memory_cost(), || account.matches(&p.password));
            bar.inc(1);
            v
        })
        .collect();
    bar.finish_and_clear();
    for (p, verdict) in slow.iter().zip(verdicts) {
        match verdict {
            Some(verdict) => pass.record(p.account, p.tier, verdict, findings),
            None => {
                pass.stats.pairs_refused.add("memory_limit", 1);
                findings.add(p.account, Reason::Unchecked);
            }
        }
    }
    if let Some(&refused) = pass.stats.pairs_refused.by_cause.get("memory_limit") {
        progress.warn(&format!(
            "{refused} leaked pairs not verified: their stored hashes need more memory than the {} MiB \
             this process may still take; their accounts are reported unchecked",
            budget.limit() >> 20
        ));
    }
    pass.stats.verify_ms = verify_started.elapsed().as_millis() as u64;
    pass.stats.duration_ms = started.elapsed().as_millis() as u64;
    Ok(pass.stats)
}

/// Stream one combolist: batches of lines, split and joined in parallel.
fn stream(
    path: &std::path::Path,
    index: &ShardedIndex<'_>,
    pass: &mut Pass<'_>,
    findings: &mut Findings,
    progress: &Progress,
) -> Result<()> {
    let (mut reader, compression) = decompress::open(path)
        .with_context(|| format!("cannot open combolist {}", path.display()))?;
    let bar = progress.counter(&format!("combolist {}", path.display()));
    bar.set_prefix("lines");
    // One buffer for a whole batch of lines (wiped after each batch), not
    // an allocation per line: combolists run to billions of lines.
    let mut text: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(BATCH_LINES * 64));
    let mut ends: Vec<usize> = Vec::with_capacity(BATCH_LINES);
    let mut done = false;
    while !done {
        text.clear();
        ends.clear();
        while ends.len() < BATCH_LINES {
            let n = crate::secret_buf::read_line(&mut reader, &mut text).map_err(|e| {
                anyhow::anyhow!(
                    "combolist {}: after line {}: {}",
                    path.display(),
                    pass.stats.lines_read + ends.len() as u64,
                    decompress::describe_read_error(&e, compression)
                )
            })?;
            if n == 0 {
                done = true;
                break;
            }
            ends.push(text.len());
        }
        let line = |i: usize| {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            let l = &text[start..ends[i]];
            l.strip_suffix(b"\n").unwrap_or(l)
        };
        // None for blank lines, which are not counted as read.
        let joined: Vec<Option<Joined>> = (0..ends.len())
            .into_par_iter()
            .map(|i| {
                let l = line(i);
                if l.trim_ascii().is_empty() {
                    return None;
                }
                Some(line::split(l).map(|pair| {
                    let mut out = Vec::new();
                    let counted = index.lookup(pair.identity, &mut out);
                    (out, counted)
                }))
            })
            .collect();
        for (i, result) in joined.into_iter().enumerate() {
            let Some(result) = result else { continue };
            pass.stats.lines_read += 1;
            match result {
                Err(cause) => pass.stats.lines_malformed.add(cause.name(), 1),
                Ok((matches, _)) if matches.is_empty() => {}
                Ok((matches, counted)) => {
                    pass.stats.lines_matched += u64::from(counted);
                    let pair = line::split(line(i)).expect("split succeeded above");
                    for (account, tier) in matches {
                        *pass.stats.matches_by_tier.entry(tier).or_default() += 1;
                        pass.take(account, tier, &pair.password, findings);
                    }
                }
            }
        }
        bar.inc(ends.len() as u64);
        zeroize::Zeroize::zeroize(&mut *text);
    }
    bar.finish_and_clear();
    Ok(())
}
