//! The audit pipeline: read exports, hash secrets in parallel, sort the
//! hashes, ask every source, write the reset list and the summary.
//!
//! ```text
//! inputs ─reader thread─► batches ─rayon─► hashes ─► QuerySet per kind
//!        ─► sources (hits, unchecked) ─► findings ─► reset list + summary
//! ```
//!
//! Reading happens on its own thread. A CSV export comes from it in chunks
//! of whole records, parsed and hashed on every core while the chunk before
//! is absorbed in input order; a colon dump is parsed on the reading thread.
//! Plaintext lives only inside a chunk and a batch, and is wiped when they
//! are dropped.
//!
//! Lines that belong to an account (history, Kerberos keys, cleartext) are
//! gathered on the way and attached once every account is known ([`attach`]).

mod attach;

use crate::accounts::{Accounts, Flags, Origin};
use crate::atomic_file;
use crate::combolist::other_shards::OtherShards;
use crate::combolist::stored::{Stored, StoredSecrets};
use crate::combolist::{self, CombolistOptions};
use crate::findings::{Findings, Reason, Severity};
use crate::hash::{self, HashKind, NotUtf8};
use crate::input::columns::SecretKind;
use crate::input::{
    self, AccountRow, AccountStatus, Attachment, Chunk, CsvShape, InputOptions, RejectCause,
    RowSink, SkipPolicy,
};
use crate::outcome::FailOn;
use crate::policy::banned::{
    expand::Expansion, normalise::Matcher, org::OrgNames, Rule as BannedRule,
};
use crate::policy::{self, username, PolicyOptions};
use crate::progress::Progress;
use crate::queryset::{PendingSets, QuerySet};
use crate::report::summary::{
    Durations, InputSummary, LookupSummary, OrgWords, SharedGroupSummary, SourceSummary, Summary,
    Tally,
};
use crate::report::{html, reset_list};
use crate::shard::{self, Plan, Shard};
use crate::source::{self, Lookup, LookupMethod, Source};
use anyhow::{bail, Result};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::time::Instant;
use zeroize::Zeroizing;

/// Rows per batch handed from the reader to the hashers.
const BATCH_ROWS: usize = 32 * 1024;
/// Rejected rows described on stderr before the rest are only counted.
const MAX_REJECT_WARNINGS: u64 = 20;
/// Members of a shared-password group named in the summary.
const SHARED_MEMBERS_LISTED: usize = 20;
/// The source of the `--org` names.
const ORG_SOURCE: &str = "org-words";
/// The source of the organisation's names found in the export.
const FOUND_ORG_SOURCE: &str = "export-org-words";

/// Which sources to ask.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    pub corpora: Vec<PathBuf>,
    pub wordlists: Vec<PathBuf>,
    /// The organisation's banned words, expanded with mutations.
    pub banned: Vec<PathBuf>,
    /// The organisation's names (`--org`), banned like `--banned` words.
    pub org: Vec<String>,
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
    /// The HTML report (`--html`).
    pub html: Option<PathBuf>,
    pub strict: bool,
    pub fail_on: FailOn,
    pub quiet: bool,
    pub policy: PolicyOptions,
    /// The reasons looked for (`--only`, `--exclude`); unchecked is always on.
    pub reasons: Vec<Reason>,
    /// Leaked credential pairs to join and verify (`--combolist`).
    pub combolist: Option<CombolistOptions>,
    /// Ban the organisation's names found in the export's account names
    /// (`--no-auto-banned` turns it off; see [`OrgNames`]).
    pub auto_banned: bool,
    /// `--shard K/N`: only the accounts whose secret falls in shard K.
    pub shard: Option<Shard>,
}

/// The sources to ask, and what opening them settled.
pub struct Opened {
    pub sources: Vec<Box<dyn Source>>,
    /// Whether only the built-in list is among them.
    pub builtin_only: bool,
    /// The prevalence a hit needs: `--min-count`, or else the highest a
    /// store was built with (1 without stores).
    pub min_count: u64,
    /// The words of every `--banned` file, for matching plaintext.
    pub banned_words: Vec<Vec<u8>>,
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
    let mut banned_words = Vec::new();
    for path in &options.banned {
        let words = source::plain_list::read_words(path)?;
        sources.push(Box::new(source::banned_list::BannedList::from_file(
            path,
            &words,
            username::current_year(),
        )));
        banned_words.extend(words);
    }
    if !options.org.is_empty() {
        let words: Vec<Vec<u8>> = options.org.iter().map(|w| w.clone().into_bytes()).collect();
        sources.push(Box::new(source::banned_list::BannedList::org(
            ORG_SOURCE,
            &words,
            username::current_year(),
        )));
        banned_words.extend(words);
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
        banned_words,
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
    lm_hash: Vec<bool>,
    rejects: Vec<(u64, RejectCause, String)>,
    skips: BTreeMap<SkipPolicy, u64>,
    /// Counted in `skips` too.
    attachments: Vec<Attachment>,
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

/// What the reader thread hands on: rows already parsed (a colon dump),
/// or a chunk of a CSV export, parsed by whichever thread takes it.
enum Piece {
    Rows(Box<Batch>),
    Chunk {
        file: usize,
        shape: Arc<CsvShape>,
        chunk: Chunk,
    },
}

impl Piece {
    /// The rows of the piece, in a batch. A chunk stops at its first row
    /// that `--strict` refuses: the rows before it come back with the
    /// error, so that an earlier row's error (found when the batch is
    /// digested and absorbed) is the one reported.
    fn into_batch(self, ctx: &ReadContext<'_>) -> (Batch, Option<anyhow::Error>) {
        match self {
            Piece::Rows(batch) => (*batch, None),
            Piece::Chunk { file, shape, chunk } => {
                let mut sink = BatchSink {
                    tx: None,
                    batch: Batch {
                        file,
                        ..Batch::default()
                    },
                    display: &ctx.inputs[file],
                    strict: ctx.strict,
                };
                let stopped = shape.parse(&chunk, &mut sink).err();
                (sink.batch, stopped)
            }
        }
    }
}

/// Fills a batch; on the reader thread (with `tx`), sends each full one on.
struct BatchSink<'a> {
    tx: Option<&'a mpsc::SyncSender<Result<Piece>>>,
    batch: Batch,
    display: &'a str,
    strict: bool,
}

impl BatchSink<'_> {
    fn send(&mut self) -> Result<()> {
        let Some(tx) = self.tx else {
            return Ok(());
        };
        let next = Batch {
            file: self.batch.file,
            ..Batch::default()
        };
        let full = std::mem::replace(&mut self.batch, next);
        tx.send(Ok(Piece::Rows(Box::new(full))))
            .map_err(|_| anyhow::anyhow!("the audit stopped reading"))
    }

    fn maybe_send(&mut self) -> Result<()> {
        let b = &self.batch;
        if b.len() + b.rejects.len() + b.attachments.len() >= BATCH_ROWS {
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
        b.lm_hash.push(row.lm_hash);
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

    fn attached(&mut self, line: u64, attachment: Attachment) -> Result<()> {
        self.skipped(line, attachment.policy());
        self.batch.attachments.push(attachment);
        self.maybe_send()
    }
}

/// Hashes, findings and bookkeeping gathered while reading.
struct Gathered {
    accounts: Accounts,
    hashes: PendingSets,
    findings: Findings,
    /// History, key and cleartext lines, until their accounts are known.
    attached: attach::Attached,
    /// Each account's secret as kept for `--combolist` (None without one).
    stored: Option<StoredSecrets>,
    /// Stored-hash schemes seen, for the summary.
    schemes: BTreeMap<String, u64>,
    /// The organisation's names in the account names (None: not looked for).
    org: Option<OrgNames>,
    /// The kinds of hash that accounts came as (not plaintext).
    hashed_kinds: BTreeSet<HashKind>,
    rows_read: u64,
    rejected: Tally,
    skipped: Tally,
    /// Account rows left to other shards.
    other_shards: u64,
    /// Their accounts, for joining leaked pairs as one run would (with
    /// `--shard` and `--combolist`).
    others: Option<OtherShards>,
    warned: u64,
}

/// What the reading side needs to know about the run.
struct ReadContext<'a> {
    /// Kinds plaintext is hashed into.
    kinds: &'a [HashKind],
    inputs: &'a [String],
    progress: &'a Progress,
    bar: &'a crate::progress::Reading,
    strict: bool,
    policy: &'a PolicyOptions,
    /// Keep each account's secret (as a hash) for combolist verification.
    keep_secrets: bool,
    /// Username variants to hash for accounts that come as hashes (None
    /// when `username` findings are off).
    hashed_username: Option<username::Candidates>,
    /// The banned words, for plaintext (None when `banned` is off or no
    /// words were given).
    banned: Option<Matcher>,
    /// Collect the organisation's names from the account names.
    find_org: bool,
    /// The sources that enumerate candidates (`--banned`, `--org`), by
    /// index: plaintext is looked for among their candidates here.
    expansions: Vec<(usize, &'a Expansion)>,
    /// `--shard`: which rows are this run's.
    shard: Option<Plan>,
}

impl ReadContext<'_> {
    /// Is row `i` of `batch` an account of this run (not another shard's)?
    fn owns(&self, batch: &Batch, i: usize) -> bool {
        self.shard
            .is_none_or(|p| p.owns(batch.kinds[i], batch.secret(i)))
    }

    /// Does this run count the rows that are no account's?
    fn counts_unkeyed(&self) -> bool {
        self.shard.is_none_or(|p| p.counts_unkeyed())
    }
}

/// What one secret yields: its hashes per kind asked, and what the
/// plaintext alone tells (empty, short, username).
struct Digests {
    sha1: Option<[u8; 20]>,
    ntlm: Option<Result<[u8; 16], NotUtf8>>,
    policy: Vec<Reason>,
    /// Plaintext: the rule by which its normalised form is banned.
    banned: Option<BannedRule>,
    /// Plaintext: the sources among whose candidates it is.
    expanded: Vec<usize>,
}

/// The digests of plaintext `secret` of account `name`.
fn digest_plain(name: &[u8], secret: &[u8], ctx: &ReadContext<'_>) -> Digests {
    Digests {
        sha1: (ctx.keep_secrets || ctx.kinds.contains(&HashKind::Sha1)).then(|| hash::sha1(secret)),
        ntlm: ctx
            .kinds
            .contains(&HashKind::Ntlm)
            .then(|| hash::ntlm(secret)),
        policy: policy::check_plaintext(name, secret, ctx.policy),
        banned: ctx
            .banned
            .as_ref()
            .and_then(|m| m.check(secret, || username::bases(name))),
        expanded: ctx
            .expansions
            .iter()
            .filter(|(_, e)| e.contains(secret))
            .map(|&(si, _)| si)
            .collect(),
    }
}

fn digest(batch: &Batch, i: usize, ctx: &ReadContext<'_>) -> Digests {
    let secret = batch.secret(i);
    match batch.kinds[i] {
        SecretKind::Plain => digest_plain(batch.name(i), secret, ctx),
        SecretKind::Sha1 => Digests {
            sha1: secret.try_into().ok(),
            ntlm: None,
            policy: hashed_policy(batch.name(i), HashKind::Sha1, secret, ctx),
            banned: None,
            expanded: Vec::new(),
        },
        SecretKind::Ntlm => Digests {
            sha1: None,
            ntlm: secret.try_into().ok().map(Ok),
            policy: hashed_policy(batch.name(i), HashKind::Ntlm, secret, ctx),
            banned: None,
            expanded: Vec::new(),
        },
        SecretKind::Salted => Digests {
            sha1: None,
            ntlm: None,
            policy: Vec::new(),
            banned: None,
            expanded: Vec::new(),
        },
    }
}

/// What a hash alone tells: `username`, by hashing the name's variants,
/// and `default-computer-password` for a machine account's NT hash.
/// Run here, on batches still in input order, rather than on the sorted
/// hashes: the names are then read in order instead of at random.
fn hashed_policy(name: &[u8], kind: HashKind, hash: &[u8], ctx: &ReadContext<'_>) -> Vec<Reason> {
    let mut found = Vec::new();
    if let Some(candidates) = &ctx.hashed_username {
        if candidates.matches_hash(name, kind, hash) {
            found.push(Reason::Username);
        }
    }
    if kind == HashKind::Ntlm && policy::computer::has_default_password(name, hash) {
        found.push(Reason::DefaultComputerPassword);
    }
    found
}

impl Gathered {
    fn new(
        reasons: &[Reason],
        keep_secrets: bool,
        find_org: bool,
        shard: Option<Plan>,
    ) -> Gathered {
        Gathered {
            org: find_org.then(OrgNames::default),
            hashed_kinds: BTreeSet::new(),
            accounts: Accounts::default(),
            hashes: PendingSets::default(),
            findings: Findings::new(reasons),
            attached: attach::Attached::default(),
            stored: keep_secrets.then(StoredSecrets::default),
            schemes: BTreeMap::new(),
            rows_read: 0,
            rejected: Tally::default(),
            skipped: Tally::default(),
            other_shards: 0,
            others: shard
                .filter(|_| keep_secrets)
                .map(|p| OtherShards::new(p.shard.index)),
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
            ctx.bar.bar.suspend(|| ctx.progress.warn(&message));
        }
    }

    /// Take in a batch and its digests: the part that must go in input
    /// order, one row after another.
    fn absorb(&mut self, digested: Digested, ctx: &ReadContext<'_>) -> Result<()> {
        let Digested { mut batch, digests } = digested;
        for attachment in std::mem::take(&mut batch.attachments) {
            self.attached.take(batch.file, attachment, ctx);
        }
        if ctx.counts_unkeyed() {
            for (line, cause, detail) in &batch.rejects {
                self.reject(ctx, batch.file, *line, *cause, detail);
            }
            for (policy, n) in &batch.skips {
                let name = serde_json::to_value(policy)?;
                self.skipped.add(name.as_str().unwrap_or("policy"), *n);
            }
        } else {
            self.other_shards += batch.rejects.len() as u64 + batch.skips.values().sum::<u64>();
        }
        for (i, d) in digests.into_iter().enumerate() {
            let line = batch.lines[i];
            let Some(d) = d else {
                self.other_shards += 1;
                // Another shard's account is still one of the run's names:
                // every shard finds the same organisation names and joins
                // leaked pairs against every account.
                let owner = ctx
                    .shard
                    .and_then(|p| p.owner(batch.kinds[i], batch.secret(i)));
                if let Some(owner) = owner {
                    let name = batch.name(i);
                    if let Some(org) = &mut self.org {
                        org.see(name);
                    }
                    if let Some(others) = &mut self.others {
                        let origin = Origin {
                            file: batch.file,
                            line,
                        };
                        others.push(name, origin, owner)?;
                    }
                }
                continue;
            };
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
            if let Some(org) = &mut self.org {
                org.see(name);
            }
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
            if let Some(kind) = batch.kinds[i].hash_kind() {
                self.hashed_kinds.insert(kind);
            }
            record_digests(&d, id, &mut self.hashes, &mut self.findings);
            if batch.lm_hash[i] {
                self.findings.add(id, Reason::LmHash);
            }
        }
        let rows = (batch.len() + batch.rejects.len()) as u64 + batch.skips.values().sum::<u64>();
        self.findings.cover(self.accounts.len());
        self.rows_read += rows;
        ctx.bar.rows(rows);
        Ok(())
    }
}

/// Look up `d`'s hashes for account `id` (into `hashes`) and record what
/// its plaintext alone tells.
fn record_digests(
    d: &Digests,
    id: crate::accounts::AccountId,
    hashes: &mut PendingSets,
    findings: &mut Findings,
) {
    if let Some(h) = d.sha1 {
        hashes.sha1.push(h, id);
    }
    if let Some(Ok(h)) = d.ntlm {
        hashes.ntlm.push(h, id);
    }
    for &reason in &d.policy {
        findings.add(id, reason);
    }
    if let Some(rule) = d.banned {
        findings.banned(id, rule);
    }
    for &si in &d.expanded {
        findings.hit(id, Reason::Banned, si, None);
        findings.banned(id, BannedRule::Expansion);
    }
}

/// A batch with the digests of its rows (None: another shard's row),
/// ready to be absorbed.
struct Digested {
    batch: Batch,
    digests: Vec<Option<Digests>>,
}

/// Hash a batch's secrets and run the per-row checks, on all cores.
fn digest_batch(batch: Batch, ctx: &ReadContext<'_>) -> Digested {
    let digests = (0..batch.len())
        .into_par_iter()
        .with_min_len(1024)
        .map(|i| ctx.owns(&batch, i).then(|| digest(&batch, i, ctx)))
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
    let started_at = std::time::SystemTime::now();
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
    if cfg.shard.is_some() && (cfg.output.is_none() || cfg.summary.is_none()) {
        bail!("--shard needs -o FILE and --summary FILE: credaudit merge reads the shards' reports from them");
    }
    // Before anything is read: the files as this run found them.
    let run_id = cfg
        .shard
        .map(|_| shard::identity::run_id(cfg))
        .transpose()?;
    let Opened {
        mut sources,
        builtin_only,
        min_count,
        banned_words,
    } = open_sources(&cfg.sources)?;
    let banning = cfg.reasons.contains(&Reason::Banned);
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
    let mut input_summaries: Vec<InputSummary> = opened
        .iter()
        .map(|i| InputSummary {
            path: i.path.clone(),
            format: i.format,
            secret_kind: i.kind,
            compression: i.compression,
            size_bytes: None,
            blake3: None,
        })
        .collect();
    let input_digests: Vec<_> = opened.iter().map(|i| i.digest.clone()).collect();

    let t_read = Instant::now();
    let kinds = plaintext_kinds(&sources);
    let checked_while_reading = if banning { sources.len() } else { 0 };
    let plan = match cfg.shard {
        Some(s) => {
            let exports: Vec<shard::InputKind> = opened
                .iter()
                .map(|i| shard::InputKind {
                    display: &i.display,
                    kind: i.kind,
                })
                .collect();
            Some(Plan::new(s, &exports, &kinds)?)
        }
        None => None,
    };
    let sizes: Vec<Option<u64>> = opened.iter().map(|i| i.measure.size).collect();
    let bar = progress.reading(
        crate::progress::reading_total(&sizes),
        opened.iter().map(|i| i.measure.read.clone()).collect(),
    );
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
        banned: Some(Matcher::new(&banned_words)).filter(|m| !m.is_empty() && banning),
        find_org: banning && cfg.auto_banned,
        expansions: sources
            .iter()
            .enumerate()
            .filter(|_| banning)
            .filter_map(|(si, s)| s.expansion().map(|e| (si, e)))
            .collect(),
        shard: plan,
    };
    let gathered = read_inputs(opened, &ctx, &cfg.reasons)?;
    bar.bar.finish_and_clear();
    if gathered.warned > MAX_REJECT_WARNINGS {
        progress.warn(&format!(
            "{} more rejected rows not shown (see --summary for counts by cause)",
            gathered.warned - MAX_REJECT_WARNINGS
        ));
    }
    durations.read_and_hash = t_read.elapsed().as_millis() as u64;
    for (summary, digest) in input_summaries.iter_mut().zip(&input_digests) {
        if let Some(digest) = digest {
            let tally = digest.lock().expect("no panic while digesting");
            summary.size_bytes = Some(tally.bytes());
            summary.blake3 = Some(tally.hex());
        }
    }

    let t_sort = Instant::now();
    let Gathered {
        accounts,
        mut hashes,
        mut findings,
        attached,
        stored,
        schemes,
        org,
        hashed_kinds,
        rows_read,
        rejected,
        skipped,
        other_shards,
        others,
        ..
    } = gathered;
    let found_org = found_org_words(org, &banned_words);
    if !found_org.is_empty() {
        let words: Vec<Vec<u8>> = found_org.iter().map(|w| w.clone().into_bytes()).collect();
        sources.push(Box::new(source::banned_list::BannedList::org(
            FOUND_ORG_SOURCE,
            &words,
            username::current_year(),
        )));
    }
    let mut history = PendingSets::default();
    attached.apply(&accounts, &mut findings, &mut hashes, &mut history);
    let querysets: Vec<QuerySet> = hashes.build();
    let history: Vec<QuerySet> = history.build();
    let groups = policy::check_hashes(&querysets, &accounts, &mut findings, &cfg.policy);
    durations.sort = t_sort.elapsed().as_millis() as u64;

    let t_lookup = Instant::now();
    let asked: Vec<(&QuerySet, Asked)> = querysets
        .iter()
        .map(|q| (q, Asked::Current))
        .chain(history.iter().map(|q| (q, Asked::History)))
        .collect();
    // Plaintext was already looked for among the candidates of the sources
    // open while reading: they need be asked only about hashes that came
    // as hashes.
    let checked_in_reading =
        |si: usize, kind: HashKind| si < checked_while_reading && !hashed_kinds.contains(&kind);
    let source_summaries = ask_sources(
        &sources,
        &asked,
        &checked_in_reading,
        &mut findings,
        min_count,
        &progress,
    )?;
    durations.lookup = t_lookup.elapsed().as_millis() as u64;
    let combolist = match (&cfg.combolist, &stored) {
        (Some(options), Some(stored)) => Some(combolist::run(
            options,
            &accounts,
            others.as_ref(),
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
    let mut reset_list_sha256 = String::new();
    let report_rows = match &cfg.output {
        Some(path) => {
            let mut rows = 0;
            atomic_file::write(path, atomic_file::REPORT, |w| {
                // Only a shard's summary records the list's digest (for
                // `credaudit merge`): at 100M accounts, SHA-256 of its
                // 1.3 GB is a second of the report.
                if cfg.shard.is_some() {
                    let mut w = shard::DigestWriter::new(w);
                    rows = reset_list::write(&mut w, &accounts, &findings, &inputs, &names)?;
                    reset_list_sha256 = w.finish();
                } else {
                    rows = reset_list::write(w, &accounts, &findings, &inputs, &names)?;
                }
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
    let mut banned_rules = Tally::default();
    for rule in BannedRule::ALL {
        banned_rules.add(rule.name(), counts.banned(rule));
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
    if !found_org.is_empty() {
        notes.push(format!(
            "organisation names found in the account names, checked as banned words: {} \
             (--no-auto-banned turns this off)",
            found_org.join(", ")
        ));
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
        banned_rules,
        banned_org_words: OrgWords {
            given: cfg.sources.org.clone(),
            found: found_org,
        },
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
        shard: match (plan, run_id, &cfg.output) {
            (Some(plan), Some(run), Some(path)) => Some(shard::ShardSummary {
                index: plan.shard.index,
                count: plan.shard.count,
                run,
                rows_other_shards: other_shards,
                reset_list: shard::ResetListDigest {
                    path: std::path::absolute(path)?,
                    sha256: reset_list_sha256,
                },
                group_first: groups
                    .iter()
                    .map(|g| {
                        let o = accounts.origin(g.members[0]);
                        (o.file, o.line)
                    })
                    .collect(),
            }),
            _ => None,
        },
    };
    debug_assert_eq!(
        summary.rows_read,
        summary.accounts_checked
            + summary.rows_rejected.total
            + summary.rows_skipped.total
            + other_shards
    );
    if let Some(path) = &cfg.summary {
        crate::report::summary::write(path, &summary)?;
    }
    if let Some(path) = &cfg.html {
        let details = html::Details::gather(&findings, &accounts, &groups, &inputs);
        let run = html::RunInfo {
            started: started_at,
            options: html::options(cfg, min_count),
        };
        atomic_file::write(path, atomic_file::REPORT, |w| {
            html::write(w, &summary, &details, &run)?;
            Ok(())
        })?;
    }
    if builtin_only {
        progress.warn(&summary.notes[0]);
    }
    Ok(Outcome { exit_code, summary })
}

/// The organisation's names found in the export (empty when not looked
/// for), less the words already banned. They are known only once every
/// account was read, when plaintext is gone, so they are checked by their
/// expansion alone, on plaintext and hashes alike.
fn found_org_words(org: Option<OrgNames>, banned_words: &[Vec<u8>]) -> Vec<String> {
    let mut words = org.map(|o| o.words()).unwrap_or_default();
    words.retain(|w| {
        !banned_words
            .iter()
            .any(|b| b.eq_ignore_ascii_case(w.as_bytes()))
    });
    words
}

/// Stream every input through a reader thread into batches, hashed here.
fn read_inputs(
    opened: Vec<input::Input>,
    ctx: &ReadContext<'_>,
    reasons: &[Reason],
) -> Result<Gathered> {
    let mut gathered = Gathered::new(reasons, ctx.keep_secrets, ctx.find_org, ctx.shard);
    let (tx, rx) = mpsc::sync_channel::<Result<Piece>>(4);
    let strict = ctx.strict;
    std::thread::scope(|scope| -> Result<()> {
        let reader = scope.spawn(move || {
            for (file, inp) in opened.into_iter().enumerate() {
                let display = inp.display.clone();
                let result = match inp.into_chunks() {
                    Ok((mut chunks, shape)) => {
                        let shape = Arc::new(shape);
                        send_chunks(&mut chunks, &shape, file, &tx)
                    }
                    Err(inp) => {
                        let mut sink = BatchSink {
                            tx: Some(&tx),
                            batch: Batch {
                                file,
                                ..Batch::default()
                            },
                            display: &display,
                            strict,
                        };
                        inp.read(&mut sink).and_then(|()| sink.send())
                    }
                };
                if let Err(e) = result {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        });
        // Owned here, so that returning early (a --strict error) hangs up
        // on the reader instead of leaving it blocked on a full channel.
        let rx = rx;
        // Parse and digest each piece while the one before is absorbed:
        // the in-order part then no longer leaves the cores idle.
        // A piece that stopped at an error carries it: its rows are
        // absorbed first, then the error is returned.
        let mut digested: Option<(Digested, Option<anyhow::Error>)> = None;
        for piece in rx.iter() {
            let previous = digested.take();
            let piece = match piece {
                Ok(piece) => piece,
                Err(e) => {
                    // Rows before the reader's error come first: a --strict
                    // failure among them is the one to report.
                    if let Some((d, stopped)) = previous {
                        gathered.absorb(d, ctx)?;
                        stopped.map_or(Ok(()), Err)?;
                    }
                    return Err(e);
                }
            };
            let previous = match previous {
                Some((d, Some(stopped))) => {
                    gathered.absorb(d, ctx)?;
                    return Err(stopped);
                }
                previous => previous.map(|(d, _)| d),
            };
            let (next, absorbed) = rayon::join(
                || {
                    let (batch, stopped) = piece.into_batch(ctx);
                    (digest_batch(batch, ctx), stopped)
                },
                || previous.map_or(Ok(()), |d| gathered.absorb(d, ctx)),
            );
            absorbed?;
            digested = Some(next);
        }
        if let Some((last, stopped)) = digested {
            gathered.absorb(last, ctx)?;
            stopped.map_or(Ok(()), Err)?;
        }
        reader.join().expect("reader thread does not panic");
        Ok(())
    })?;
    Ok(gathered)
}

/// Hand a CSV export's chunks to the parsing threads.
fn send_chunks(
    chunks: &mut input::ChunkReader,
    shape: &Arc<CsvShape>,
    file: usize,
    tx: &mpsc::SyncSender<Result<Piece>>,
) -> Result<()> {
    while let Some(chunk) = chunks.next_chunk()? {
        let piece = Piece::Chunk {
            file,
            shape: Arc::clone(shape),
            chunk,
        };
        tx.send(Ok(piece))
            .map_err(|_| anyhow::anyhow!("the audit stopped reading"))?;
    }
    Ok(())
}

/// Whose passwords a query set holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// The accounts' current passwords.
    Current,
    /// Their old passwords (`--include-history`): a hit is `history-pwned`.
    History,
}

impl Asked {
    /// The reason a hit of `src` gives an account, if any: an old password
    /// only matters when it is pwned.
    fn reason(self, src: &dyn Source) -> Option<Reason> {
        match (self, src.reason()) {
            (Asked::Current, reason) => Some(reason),
            (Asked::History, Reason::Pwned) => Some(Reason::HistoryPwned),
            (Asked::History, _) => None,
        }
    }
}

/// Ask every source about every query set of a kind it answers, and record
/// hits and unchecked hashes as findings.
fn ask_sources(
    sources: &[Box<dyn Source>],
    querysets: &[(&QuerySet, Asked)],
    checked_in_reading: &dyn Fn(usize, HashKind) -> bool,
    findings: &mut Findings,
    min_count: u64,
    progress: &Progress,
) -> Result<Vec<SourceSummary>> {
    let mut summaries = Vec::new();
    for (si, src) in sources.iter().enumerate() {
        let mut lookups = Vec::new();
        for &(qs, asked) in querysets.iter().filter(|(q, asked)| {
            !q.is_empty()
                && src.kinds().contains(&q.kind)
                && asked.reason(src.as_ref()).is_some()
                && !(src.expansion().is_some() && checked_in_reading(si, q.kind))
        }) {
            let reason = asked.reason(src.as_ref()).expect("filtered above");
            let t = Instant::now();
            let bar = progress.bar(qs.len() as u64, &format!("{} ({})", src.name(), qs.kind));
            let answer = src.lookup(&Lookup {
                kind: qs.kind,
                hashes: qs.hashes(),
                progress: &bar,
            })?;
            bar.finish_and_clear();
            let counted = |count: Option<u64>| !src.counts() || count.unwrap_or(0) >= min_count;
            let below = answer.hits.iter().filter(|(_, c)| !counted(*c)).count() as u64;
            let hits = answer.hits.iter().filter(|(_, c)| counted(*c));
            findings.hit_each(
                hits.flat_map(|&(qi, count)| qs.accounts_of(qi).iter().map(move |&a| (a, count))),
                reason,
                si,
                (reason == Reason::Banned).then_some(BannedRule::Expansion),
            );
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
                history: asked == Asked::History,
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
