//! The audit pipeline: read exports, hash secrets in parallel, sort the
//! hashes, ask every source, write the reset list and the summary.
//!
//! ```text
//! inputs ─reader thread─► batches ─rayon─► hashes ─► QuerySet per kind
//!        ─► sources (hits, unchecked) ─► findings ─► reset list + summary
//! ```
//!
//! Reading happens on its own thread while the previous batch is hashed, so
//! parsing and hashing overlap. Plaintext lives only inside a batch and is
//! wiped when the batch has been hashed.

use crate::accounts::{Accounts, Flags, Origin};
use crate::atomic_file;
use crate::combolist::stored::{Stored, StoredSecrets};
use crate::combolist::{self, CombolistOptions};
use crate::findings::{Findings, Reason, Severity};
use crate::hash::{self, HashKind, NotUtf8};
use crate::input::columns::SecretKind;
use crate::input::{
    self, AccountRow, AccountStatus, InputOptions, RejectCause, RowSink, SkipPolicy,
};
use crate::outcome::FailOn;
use crate::policy::{self, username, PolicyOptions};
use crate::progress::Progress;
use crate::queryset::{Pending, QuerySet};
use crate::report::reset_list;
use crate::report::summary::{
    Durations, InputSummary, LookupSummary, SharedGroupSummary, SourceSummary, Summary, Tally,
};
use crate::source::{self, Lookup, LookupMethod, Source};
use anyhow::{bail, Result};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;
use zeroize::Zeroizing;

/// Rows per batch handed from the reader to the hashers.
const BATCH_ROWS: usize = 32 * 1024;
/// Rejected rows described on stderr before the rest are only counted.
const MAX_REJECT_WARNINGS: u64 = 20;
/// Members of a shared-password group named in the summary.
const SHARED_MEMBERS_LISTED: usize = 20;

/// Which sources to ask.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    pub corpora: Vec<PathBuf>,
    pub wordlists: Vec<PathBuf>,
    /// The organisation's banned words, expanded with mutations.
    pub banned: Vec<PathBuf>,
    pub method: LookupMethod,
    /// How sorted corpus files are verified before they are trusted.
    pub verify: source::VerifyOptions,
    /// `--min-count` as given (None: the highest a store was built with,
    /// else 1; see [`Opened::min_count`]).
    pub min_count: Option<u64>,
    /// `--api`: the Pwned Passwords range API.
    pub api: Option<source::range_api::ApiOptions>,
}

/// A validated audit configuration.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    pub inputs: Vec<PathBuf>,
    pub input: InputOptions,
    pub sources: SourceOptions,
    pub output: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub strict: bool,
    pub fail_on: FailOn,
    pub quiet: bool,
    pub policy: PolicyOptions,
    /// The reasons looked for (`--only`, `--exclude`); unchecked is always on.
    pub reasons: Vec<Reason>,
    /// Leaked credential pairs to join and verify (`--combolist`).
    pub combolist: Option<CombolistOptions>,
}

/// The sources to ask, and what opening them settled.
pub struct Opened {
    pub sources: Vec<Box<dyn Source>>,
    /// Whether only the built-in list is among them.
    pub builtin_only: bool,
    /// The prevalence a hit needs: `--min-count`, or else the highest a
    /// store was built with (1 without stores).
    pub min_count: u64,
}

pub fn open_sources(options: &SourceOptions) -> Result<Opened> {
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    for path in &options.corpora {
        sources.push(source::open_corpus(path, options.method, &options.verify)?);
    }
    for path in &options.wordlists {
        sources.push(Box::new(source::plain_list::PlainList::from_file(path)?));
    }
    if let Some(api) = &options.api {
        sources.push(Box::new(source::range_api::RangeApi::new(api.clone())?));
    }
    let builtin_only = sources.is_empty();
    if builtin_only {
        sources.push(Box::new(source::plain_list::PlainList::builtin()));
    }
    for path in &options.banned {
        sources.push(Box::new(source::plain_list::PlainList::banned(path)?));
    }
    let floor = sources.iter().max_by_key(|s| s.min_count_kept());
    let min_count = match (options.min_count, floor) {
        (Some(asked), Some(store)) if asked < store.min_count_kept() => bail!(
            "--min-count {asked} is below the {kept} that {} was built with: hashes seen fewer than \
             {kept} times were left out of it, so it cannot tell them from clean (ask for \
             --min-count {kept} or more, or rebuild the store with a lower --min-count)",
            store.name(),
            kept = store.min_count_kept()
        ),
        (Some(asked), _) => asked,
        (None, floor) => floor.map_or(1, |s| s.min_count_kept()),
    };
    Ok(Opened {
        sources,
        builtin_only,
        min_count,
    })
}

/// The kinds plaintext must be hashed into: every kind a fixed-kind source
/// (a corpus) answers, or SHA-1 when only lists (which answer any) are used.
pub fn plaintext_kinds(sources: &[Box<dyn Source>]) -> Vec<HashKind> {
    let mut kinds: Vec<HashKind> = sources
        .iter()
        .filter(|s| s.kinds().len() == 1)
        .map(|s| s.kinds()[0])
        .collect();
    kinds.sort();
    kinds.dedup();
    if kinds.is_empty() {
        kinds.push(HashKind::Sha1);
    }
    kinds
}

/// Rows of one export, accumulated for hashing.
#[derive(Default)]
struct Batch {
    file: usize,
    names: Vec<u8>,
    name_ends: Vec<usize>,
    /// Plaintext lives only here, and is wiped when the batch is dropped.
    secrets: Zeroizing<Vec<u8>>,
    secret_ends: Vec<usize>,
    kinds: Vec<SecretKind>,
    lines: Vec<u64>,
    statuses: Vec<AccountStatus>,
    privileged: Vec<bool>,
    rejects: Vec<(u64, RejectCause, String)>,
    skips: BTreeMap<SkipPolicy, u64>,
}

impl Batch {
    fn len(&self) -> usize {
        self.lines.len()
    }

    /// The byte range of item `i` in an arena whose item ends are `ends`.
    fn span(ends: &[usize], i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 { 0 } else { ends[i - 1] };
        start..ends[i]
    }

    fn name(&self, i: usize) -> &[u8] {
        &self.names[Self::span(&self.name_ends, i)]
    }

    fn secret(&self, i: usize) -> &[u8] {
        &self.secrets[Self::span(&self.secret_ends, i)]
    }
}

/// The reader thread's sink: fills batches and sends them on.
struct BatchSink<'a> {
    tx: &'a mpsc::SyncSender<Result<Batch>>,
    batch: Batch,
    display: &'a str,
    strict: bool,
}

impl BatchSink<'_> {
    fn send(&mut self) -> Result<()> {
        let next = Batch {
            file: self.batch.file,
            ..Batch::default()
        };
        let full = std::mem::replace(&mut self.batch, next);
        self.tx
            .send(Ok(full))
            .map_err(|_| anyhow::anyhow!("the audit stopped reading"))
    }

    fn maybe_send(&mut self) -> Result<()> {
        if self.batch.len() + self.batch.rejects.len() >= BATCH_ROWS {
            self.send()?;
        }
        Ok(())
    }
}

impl RowSink for BatchSink<'_> {
    fn account(&mut self, row: AccountRow<'_>) -> Result<()> {
        let b = &mut self.batch;
        b.names.extend_from_slice(row.account);
        b.name_ends.push(b.names.len());
        crate::secret_buf::reserve(&mut b.secrets, row.secret.len());
        b.secrets.extend_from_slice(row.secret);
        b.secret_ends.push(b.secrets.len());
        b.kinds.push(row.kind);
        b.lines.push(row.line);
        b.statuses.push(row.status);
        b.privileged.push(row.privileged);
        self.maybe_send()
    }

    fn rejected(&mut self, line: u64, cause: RejectCause, detail: &str) -> Result<()> {
        if self.strict {
            bail!(
                "{}:{line}: row rejected ({}): {detail} (--strict)",
                self.display,
                cause.name()
            );
        }
        self.batch.rejects.push((line, cause, detail.to_string()));
        self.maybe_send()
    }

    fn skipped(&mut self, _line: u64, policy: SkipPolicy) {
        *self.batch.skips.entry(policy).or_default() += 1;
    }
}

/// Hashes, findings and bookkeeping gathered while reading.
struct Gathered {
    accounts: Accounts,
    sha1: Pending<20>,
    ntlm: Pending<16>,
    findings: Findings,
    /// Each account's secret as kept for `--combolist` (None without one).
    stored: Option<StoredSecrets>,
    /// Stored-hash schemes seen, for the summary.
    schemes: BTreeMap<String, u64>,
    rows_read: u64,
    rejected: Tally,
    skipped: Tally,
    warned: u64,
}

/// What the reading side needs to know about the run.
struct ReadContext<'a> {
    /// Kinds plaintext is hashed into.
    kinds: &'a [HashKind],
    inputs: &'a [String],
    progress: &'a Progress,
    bar: &'a indicatif::ProgressBar,
    strict: bool,
    policy: &'a PolicyOptions,
    /// Keep each account's secret (as a hash) for combolist verification.
    keep_secrets: bool,
    /// Username variants to hash for accounts that come as hashes (None
    /// when `username` findings are off).
    hashed_username: Option<username::Candidates>,
}

/// What one secret yields: its hashes per kind asked, and what the
/// plaintext alone tells (empty, short, username).
struct Digests {
    sha1: Option<[u8; 20]>,
    ntlm: Option<Result<[u8; 16], NotUtf8>>,
    policy: Vec<Reason>,
}

fn digest(batch: &Batch, i: usize, ctx: &ReadContext<'_>) -> Digests {
    let secret = batch.secret(i);
    match batch.kinds[i] {
        SecretKind::Plain => Digests {
            sha1: (ctx.keep_secrets || ctx.kinds.contains(&HashKind::Sha1))
                .then(|| hash::sha1(secret)),
            ntlm: ctx
                .kinds
                .contains(&HashKind::Ntlm)
                .then(|| hash::ntlm(secret)),
            policy: policy::check_plaintext(batch.name(i), secret, ctx.policy),
        },
        SecretKind::Sha1 => Digests {
            sha1: secret.try_into().ok(),
            ntlm: None,
            policy: hashed_policy(batch.name(i), HashKind::Sha1, secret, ctx),
        },
        SecretKind::Ntlm => Digests {
            sha1: None,
            ntlm: secret.try_into().ok().map(Ok),
            policy: hashed_policy(batch.name(i), HashKind::Ntlm, secret, ctx),
        },
        SecretKind::Salted => Digests {
            sha1: None,
            ntlm: None,
            policy: Vec::new(),
        },
    }
}

/// What a hash alone tells: `username`, by hashing the name's variants.
/// Run here, on batches still in input order, rather than on the sorted
/// hashes: the names are then read in order instead of at random.
fn hashed_policy(name: &[u8], kind: HashKind, hash: &[u8], ctx: &ReadContext<'_>) -> Vec<Reason> {
    match &ctx.hashed_username {
        Some(candidates) if candidates.matches_hash(name, kind, hash) => vec![Reason::Username],
        _ => Vec::new(),
    }
}

impl Gathered {
    fn new(reasons: &[Reason], keep_secrets: bool) -> Gathered {
        Gathered {
            accounts: Accounts::default(),
            sha1: Pending::default(),
            ntlm: Pending::default(),
            findings: Findings::new(reasons),
            stored: keep_secrets.then(StoredSecrets::default),
            schemes: BTreeMap::new(),
            rows_read: 0,
            rejected: Tally::default(),
            skipped: Tally::default(),
            warned: 0,
        }
    }

    /// Count a rejected row and describe the first few on stderr.
    fn reject(
        &mut self,
        ctx: &ReadContext<'_>,
        file: usize,
        line: u64,
        cause: RejectCause,
        detail: &str,
    ) {
        self.rejected.add(cause.name(), 1);
        self.warned += 1;
        if self.warned <= MAX_REJECT_WARNINGS {
            let message = format!(
                "{}:{line}: row rejected ({}): {detail}",
                ctx.inputs[file],
                cause.name()
            );
            ctx.bar.suspend(|| ctx.progress.warn(&message));
        }
    }

    /// Take in a batch and its digests: the part that must go in input
    /// order, one row after another.
    fn absorb(&mut self, digested: Digested, ctx: &ReadContext<'_>) -> Result<()> {
        let Digested { batch, digests } = digested;
        for (line, cause, detail) in &batch.rejects {
            self.reject(ctx, batch.file, *line, *cause, detail);
        }
        for (policy, n) in &batch.skips {
            let name = serde_json::to_value(policy)?;
            self.skipped.add(name.as_str().unwrap_or("policy"), *n);
        }
        for (i, d) in digests.into_iter().enumerate() {
            let line = batch.lines[i];
            if let Some(Err(NotUtf8)) = d.ntlm {
                let detail = "password is not valid UTF-8, so it has no NTLM hash";
                if ctx.strict {
                    bail!(
                        "{}:{line}: row rejected (invalid_utf8): {detail} (--strict)",
                        ctx.inputs[batch.file]
                    );
                }
                self.reject(ctx, batch.file, line, RejectCause::InvalidUtf8, detail);
                continue;
            }
            let name = batch.name(i);
            let flags = Flags {
                status: batch.statuses[i],
                privileged: batch.privileged[i] || ctx.policy.is_admin(name),
            };
            let id = self.accounts.push(
                name,
                Origin {
                    file: batch.file,
                    line,
                },
                flags,
            )?;
            let secret = batch.secret(i);
            if let Some(stored) = &mut self.stored {
                stored.push(
                    id,
                    match (batch.kinds[i], &d.sha1) {
                        (SecretKind::Ntlm, _) => Stored::Ntlm(secret),
                        (SecretKind::Salted, _) => Stored::Hashed(secret),
                        (_, Some(h)) => Stored::Sha1(h),
                        (_, None) => Stored::Sha1(secret),
                    },
                );
            }
            if batch.kinds[i] == SecretKind::Salted {
                let scheme = crate::verify::detect(secret).map_or("unknown", |s| s.name());
                *self.schemes.entry(scheme.to_string()).or_default() += 1;
            }
            if let Some(h) = d.sha1 {
                self.sha1.push(h, id);
            }
            if let Some(Ok(h)) = d.ntlm {
                self.ntlm.push(h, id);
            }
            for reason in d.policy {
                self.findings.add(id, reason);
            }
        }
        let rows = (batch.len() + batch.rejects.len()) as u64 + batch.skips.values().sum::<u64>();
        self.rows_read += rows;
        ctx.bar.inc(rows);
        Ok(())
    }
}

/// A batch with the digests of its rows, ready to be absorbed.
struct Digested {
    batch: Batch,
    digests: Vec<Digests>,
}

/// Hash a batch's secrets and run the per-row checks, on all cores.
fn digest_batch(batch: Batch, ctx: &ReadContext<'_>) -> Digested {
    let digests = (0..batch.len())
        .into_par_iter()
        .with_min_len(1024)
        .map(|i| digest(&batch, i, ctx))
        .collect();
    Digested { batch, digests }
}

/// What a finished audit tells its caller.
pub struct Outcome {
    pub exit_code: u8,
    pub summary: Summary,
}

/// Run an audit; the reset list goes to `cfg.output` or to `stdout`.
pub fn run(cfg: &AuditConfig, stdout: &mut dyn Write) -> Result<Outcome> {
    let started = Instant::now();
    let progress = Progress::new(cfg.quiet);
    let mut durations = Durations::default();
    // `audit - --combolist -` would leave the second reader an empty stream.
    let stdin_readers = cfg
        .inputs
        .iter()
        .chain(cfg.combolist.iter().flat_map(|c| &c.paths))
        .chain(&cfg.sources.wordlists)
        .chain(&cfg.sources.banned)
        .filter(|p| p.as_os_str() == "-")
        .count();
    if stdin_readers > 1 {
        bail!("standard input (-) can be read only once, by one input, --combolist, --wordlist or --banned");
    }
    let Opened {
        sources,
        builtin_only,
        min_count,
    } = open_sources(&cfg.sources)?;
    durations.open_sources = started.elapsed().as_millis() as u64;
    let mut opened = Vec::new();
    for path in &cfg.inputs {
        opened.push(input::open(path, &cfg.input)?);
    }
    for inp in &opened {
        for warning in &inp.warnings {
            progress.warn(warning);
        }
        if inp.kind == SecretKind::Salted && cfg.combolist.is_none() {
            bail!(
                "{} holds salted password hashes (bcrypt, argon2, ...), which no breach corpus can check: \
                 give leaked credential pairs with --combolist",
                inp.display
            );
        }
        if let Some(kind) = inp.kind.hash_kind() {
            if !sources.iter().any(|s| s.kinds().contains(&kind)) {
                bail!(
                    "{} holds {kind} hashes but no source can check {kind}: add a {kind} corpus (--corpus) or a --wordlist",
                    inp.display
                );
            }
        }
    }
    let inputs: Vec<String> = opened.iter().map(|i| i.display.clone()).collect();
    let input_summaries: Vec<InputSummary> = opened
        .iter()
        .map(|i| InputSummary {
            path: i.path.clone(),
            format: i.format,
            secret_kind: i.kind,
            compression: i.compression,
        })
        .collect();

    let t_read = Instant::now();
    let kinds = plaintext_kinds(&sources);
    let bar = progress.counter("reading");
    let ctx = ReadContext {
        kinds: &kinds,
        inputs: &inputs,
        progress: &progress,
        bar: &bar,
        strict: cfg.strict,
        policy: &cfg.policy,
        keep_secrets: cfg.combolist.is_some(),
        hashed_username: cfg
            .reasons
            .contains(&Reason::Username)
            .then(|| username::Candidates::new(username::current_year())),
    };
    let gathered = read_inputs(opened, &ctx, &cfg.reasons)?;
    bar.finish_and_clear();
    if gathered.warned > MAX_REJECT_WARNINGS {
        progress.warn(&format!(
            "{} more rejected rows not shown (see --summary for counts by cause)",
            gathered.warned - MAX_REJECT_WARNINGS
        ));
    }
    durations.read_and_hash = t_read.elapsed().as_millis() as u64;

    let t_sort = Instant::now();
    let Gathered {
        accounts,
        sha1,
        ntlm,
        mut findings,
        stored,
        schemes,
        rows_read,
        rejected,
        skipped,
        ..
    } = gathered;
    let querysets: Vec<QuerySet> = vec![sha1.build(HashKind::Sha1), ntlm.build(HashKind::Ntlm)];
    let groups = policy::check_hashes(&querysets, &accounts, &mut findings, &cfg.policy);
    durations.sort = t_sort.elapsed().as_millis() as u64;

    let t_lookup = Instant::now();
    let source_summaries = ask_sources(&sources, &querysets, &mut findings, min_count, &progress)?;
    durations.lookup = t_lookup.elapsed().as_millis() as u64;
    let combolist = match (&cfg.combolist, &stored) {
        (Some(options), Some(stored)) => Some(combolist::run(
            options,
            &accounts,
            stored,
            &mut findings,
            &progress,
        )?),
        _ => None,
    };
    drop(stored);

    let t_report = Instant::now();
    findings.arrange_in_input_order();
    let names: Vec<String> = sources.iter().map(|s| s.name().to_string()).collect();
    let report_rows = match &cfg.output {
        Some(path) => {
            let mut rows = 0;
            atomic_file::write(path, atomic_file::REPORT, |w| {
                rows = reset_list::write(w, &accounts, &findings, &inputs, &names)?;
                Ok(())
            })?;
            rows
        }
        None => reset_list::write(stdout, &accounts, &findings, &inputs, &names)?,
    };
    durations.report = t_report.elapsed().as_millis() as u64;

    let counts = findings.counts();
    let mut flagged = Tally::default();
    for reason in Reason::ALL {
        flagged.add(reason.name(), counts.reason(reason));
    }
    let mut by_severity = Tally::default();
    for severity in Severity::ALL {
        by_severity.add(severity.name(), counts.with_severity(severity));
    }
    let exit_code = cfg.fail_on.exit_code(&counts, rejected.total);
    let mut notes = Vec::new();
    if builtin_only {
        notes.push(format!(
            "only the built-in list of the {} most common leaked passwords was checked; pass --corpus for a full breach corpus",
            source_summaries[0].info.entries.unwrap_or(0)
        ));
    }
    for s in &source_summaries {
        if let (Some(words), Some(expanded)) = (s.info.words_before_expansion, s.info.entries) {
            notes.push(format!(
                "banned words {}: {words} words expanded to {expanded} candidates",
                s.info.name
            ));
        }
    }
    let mut distinct = BTreeMap::new();
    for qs in querysets.iter().filter(|q| !q.is_empty()) {
        distinct.insert(qs.kind, qs.len() as u64);
    }
    durations.total = started.elapsed().as_millis() as u64;
    let summary = Summary {
        credaudit_version: env!("CARGO_PKG_VERSION"),
        inputs: input_summaries,
        rows_read,
        accounts_checked: accounts.len() as u64,
        rows_rejected: rejected,
        rows_skipped: skipped,
        accounts_flagged: flagged,
        accounts_by_severity: by_severity,
        accounts_unchecked: counts.reason(Reason::Unchecked),
        report_rows,
        shared_groups: shared_summaries(&groups, &accounts, &inputs),
        stored_hash_schemes: schemes,
        combolist,
        distinct_hashes: distinct,
        min_count,
        sources: source_summaries,
        builtin_only,
        notes,
        durations_ms: durations,
        exit_code,
    };
    debug_assert_eq!(
        summary.rows_read,
        summary.accounts_checked + summary.rows_rejected.total + summary.rows_skipped.total
    );
    if let Some(path) = &cfg.summary {
        atomic_file::write(path, atomic_file::REPORT, |w| {
            serde_json::to_writer_pretty(&mut *w, &summary)?;
            w.write_all(b"\n")?;
            Ok(())
        })?;
    }
    if builtin_only {
        progress.warn(&summary.notes[0]);
    }
    Ok(Outcome { exit_code, summary })
}

/// Stream every input through a reader thread into batches, hashed here.
fn read_inputs(
    opened: Vec<input::Input>,
    ctx: &ReadContext<'_>,
    reasons: &[Reason],
) -> Result<Gathered> {
    let mut gathered = Gathered::new(reasons, ctx.keep_secrets);
    let (tx, rx) = mpsc::sync_channel::<Result<Batch>>(4);
    let strict = ctx.strict;
    std::thread::scope(|scope| -> Result<()> {
        let reader = scope.spawn(move || {
            for (file, inp) in opened.into_iter().enumerate() {
                let display = inp.display.clone();
                let mut sink = BatchSink {
                    tx: &tx,
                    batch: Batch {
                        file,
                        ..Batch::default()
                    },
                    display: &display,
                    strict,
                };
                let result = inp.read(&mut sink).and_then(|()| sink.send());
                if let Err(e) = result {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        });
        // Owned here, so that returning early (a --strict error) hangs up
        // on the reader instead of leaving it blocked on a full channel.
        let rx = rx;
        // Absorb each batch while the next one is being digested: the
        // in-order part then no longer leaves the cores idle.
        let mut digested: Option<Digested> = None;
        for batch in rx.iter() {
            let previous = digested.take();
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    // Rows before the reader's error come first: a --strict
                    // failure among them is the one to report.
                    if let Some(d) = previous {
                        gathered.absorb(d, ctx)?;
                    }
                    return Err(e);
                }
            };
            let (next, absorbed) = rayon::join(
                || digest_batch(batch, ctx),
                || previous.map_or(Ok(()), |d| gathered.absorb(d, ctx)),
            );
            absorbed?;
            digested = Some(next);
        }
        if let Some(last) = digested {
            gathered.absorb(last, ctx)?;
        }
        reader.join().expect("reader thread does not panic");
        Ok(())
    })?;
    Ok(gathered)
}

/// Ask every source about every query set of a kind it answers, and record
/// hits and unchecked hashes as findings.
fn ask_sources(
    sources: &[Box<dyn Source>],
    querysets: &[QuerySet],
    findings: &mut Findings,
    min_count: u64,
    progress: &Progress,
) -> Result<Vec<SourceSummary>> {
    let mut summaries = Vec::new();
    for (si, src) in sources.iter().enumerate() {
        let mut lookups = Vec::new();
        for qs in querysets
            .iter()
            .filter(|q| !q.is_empty() && src.kinds().contains(&q.kind))
        {
            let t = Instant::now();
            let bar = progress.bar(qs.len() as u64, &format!("{} ({})", src.name(), qs.kind));
            let answer = src.lookup(&Lookup {
                kind: qs.kind,
                hashes: qs.hashes(),
                progress: &bar,
            })?;
            bar.finish_and_clear();
            let mut below = 0;
            for &(qi, count) in &answer.hits {
                if src.counts() && count.unwrap_or(0) < min_count {
                    below += 1;
                    continue;
                }
                for &acc in qs.accounts_of(qi) {
                    findings.hit(acc, src.reason(), si, count);
                }
            }
            for &qi in &answer.unchecked {
                for &acc in qs.accounts_of(qi) {
                    findings.add(acc, Reason::Unchecked);
                }
            }
            if let Some(w) = &answer.warning {
                let accounts: usize = answer
                    .unchecked
                    .iter()
                    .map(|&qi| qs.accounts_of(qi).len())
                    .sum();
                if accounts > 0 {
                    progress.warn(&format!("{w} ({accounts} accounts)"));
                } else {
                    progress.warn(w);
                }
            }
            lookups.push(LookupSummary {
                hash_kind: qs.kind,
                method: answer.method,
                queried: qs.len() as u64,
                hits: answer.hits.len() as u64 - below,
                hits_below_min_count: below,
                unchecked: answer.unchecked.len() as u64,
                lines_read: answer.lines_read,
                requests: answer.requests,
                duration_ms: t.elapsed().as_millis() as u64,
            });
        }
        summaries.push(SourceSummary {
            info: src.info(),
            corpus: src.corpus_check(),
            lookups,
        });
    }
    Ok(summaries)
}

/// Shared-password groups for the summary, with their first members: tens
/// of thousands of groups on an export of millions, so built on every core.
fn shared_summaries(
    groups: &[policy::shared::Group],
    accounts: &Accounts,
    inputs: &[String],
) -> Vec<SharedGroupSummary> {
    groups
        .par_iter()
        .map(|g| SharedGroupSummary {
            group: g.id,
            size: g.size,
            privileged: g.privileged,
            accounts: g
                .members
                .iter()
                .take(SHARED_MEMBERS_LISTED)
                .map(|&a| member_label(accounts.name(a), accounts.origin(a), inputs))
                .collect(),
        })
        .collect()
}

/// `name (input:line)`, built in place: hundreds of thousands of them.
fn member_label(name: &[u8], origin: Origin, inputs: &[String]) -> String {
    let input = &inputs[origin.file];
    let mut label = String::with_capacity(name.len() + input.len() + 24);
    match std::str::from_utf8(name) {
        Ok(name) => label.push_str(name),
        Err(_) => label.push_str(&String::from_utf8_lossy(name)),
    }
    label.push_str(" (");
    label.push_str(input);
    // Writing to a String cannot fail.
    let _ = write!(label, ":{})", origin.line);
    label
}
