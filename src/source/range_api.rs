//! `--api [URL]`: the Pwned Passwords k-anonymity range API as a source.
//!
//! For users without a local corpus. The sorted query hashes are grouped by
//! their 5-hex prefix and each distinct prefix is fetched once (see
//! [`crate::range_client`] for exactly what is sent), however many accounts
//! share it; the returned suffixes are matched locally. Requests run
//! concurrently on a tokio runtime that lives only for the lookup, so the rest
//! of the pipeline stays synchronous.
//!
//! Responses are cached on disk by server, mode and prefix with their
//! validators. Within `--max-age` a cached prefix costs no request; after it
//! the entry is revalidated (`If-None-Match`/`If-Modified-Since`), so an
//! hourly cron job mostly sees cache hits and 304s. Cache files are written
//! atomically and parsed in full when read: a corrupt one is refetched, never
//! trusted. A prefix that fails after its retries is not guessed at: its
//! hashes go to [`Answer::unchecked`] and the audit reports them (fail
//! closed).

use super::{Answer, Hits, Lookup, RequestStats, Source, SourceInfo};
use crate::hash::HashKind;
use crate::range_client::{
    prefix_hex, replace_file, ClientOptions, Fetched, Range, RangeClient, Stats, Validators,
};
use anyhow::{bail, Context, Result};
use futures_util::StreamExt;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Over this many distinct prefixes a local mirror is the better tool.
const MIRROR_HINT_PREFIXES: usize = 100_000;
/// First line of a cache file; bumped when the format changes.
const CACHE_MAGIC: &str = "credaudit range cache v1";

/// Options of `--api`.
#[derive(Clone, Debug)]
pub struct ApiOptions {
    pub client: ClientOptions,
    /// Send `Add-Padding: true` (the server pads responses to hide their size).
    pub padding: bool,
    /// `None` with `--no-cache`.
    pub cache: Option<CacheOptions>,
}

#[derive(Clone, Debug)]
pub struct CacheOptions {
    pub dir: PathBuf,
    /// How long a cached prefix is used without asking the server.
    pub max_age: Duration,
}

/// `$XDG_CACHE_HOME/credaudit`, else `~/.cache/credaudit`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let nonempty = |v: std::ffi::OsString| (!v.is_empty()).then(|| PathBuf::from(v));
    std::env::var_os("XDG_CACHE_HOME")
        .and_then(nonempty)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(nonempty)
                .map(|h| h.join(".cache"))
        })
        .map(|d| d.join("credaudit"))
}

pub struct RangeApi {
    options: ApiOptions,
    name: String,
    cache: Option<Cache>,
}

const KINDS: [HashKind; 2] = [HashKind::Sha1, HashKind::Ntlm];

impl RangeApi {
    pub fn new(options: ApiOptions) -> Result<RangeApi> {
        let url = reqwest::Url::parse(&options.client.url)
            .with_context(|| format!("invalid --api URL {:?}", options.client.url))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            bail!("--api URL must be http:// or https:// with a host, not {url}");
        }
        let host = url.host_str().unwrap_or_default();
        let name = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let cache = options.cache.as_ref().map(|c| Cache {
            dir: c.dir.join("range").join(server_key(&options.client.url)),
            max_age: c.max_age,
            corrupt: AtomicU64::new(0),
            write_error: Mutex::new(None),
        });
        Ok(RangeApi {
            options,
            name,
            cache,
        })
    }

    /// The range of one prefix: from the cache while fresh, else from the
    /// server (revalidating what the cache holds).
    async fn range(
        &self,
        client: &RangeClient,
        prefix: u32,
        kind: HashKind,
        cache_hits: &AtomicU64,
        writes: &SyncSender<(PathBuf, Vec<u8>)>,
    ) -> Result<Range, String> {
        let cached = self.cache.as_ref().and_then(|c| c.load(prefix, kind));
        if let Some(entry) = &cached {
            if entry.fresh {
                cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(entry.range.clone());
            }
        }
        let validators = cached.as_ref().map(|e| &e.validators);
        let fetched = client
            .fetch(prefix, kind, self.options.padding, validators)
            .await?;
        let (range, validators) = match (fetched, cached) {
            (Fetched::Fresh { range, validators }, _) => (range, validators),
            (Fetched::NotModified, Some(entry)) => (entry.range, entry.validators),
            (Fetched::NotModified, None) => unreachable!("304 only answers validators sent"),
        };
        if let Some(cache) = &self.cache {
            // Fails only if the writer is gone, which the lookup reports.
            let _ = writes.send(cache.entry_file(prefix, kind, &range, &validators));
        }
        Ok(range)
    }
}

/// Cache entries live under a key of the server's URL, so a company mirror
/// and the public API never answer for each other.
fn server_key(url: &str) -> String {
    crate::hash::encode_hex(&crate::hash::sha1(url.trim_end_matches('/').as_bytes()))[..16]
        .to_ascii_lowercase()
}

/// One prefix's hits and corpus lines, or why it could not be fetched.
type PrefixAnswer = Result<(Hits, u64), String>;

/// Hits among the queries `[start, end)` (all of `prefix`) in `range`.
fn hits_in(range: &Range, prefix: u32, query: &Lookup<'_>, start: usize, end: usize) -> Hits {
    let n = query.kind.bytes();
    let mut hits = Vec::new();
    let mut qi = start;
    for (hash, count) in range.entries(prefix, query.kind) {
        while qi < end && query.hashes.get(qi) < &hash[..n] {
            qi += 1;
        }
        if qi == end {
            break;
        }
        if query.hashes.get(qi) == &hash[..n] {
            hits.push((qi, Some(count)));
        }
    }
    hits
}

impl Source for RangeApi {
    fn name(&self) -> &str {
        &self.name
    }

    fn kinds(&self) -> &[HashKind] {
        &KINDS
    }

    fn counts(&self) -> bool {
        true
    }

    fn lookup(&self, query: &Lookup<'_>) -> Result<Answer> {
        let hashes = query.hashes;
        if hashes.is_empty() {
            return Ok(Answer::default());
        }
        let groups = hashes.prefix_groups();
        let hint = (groups.len() > MIRROR_HINT_PREFIXES).then(|| {
            format!(
                "{} distinct prefixes to fetch: for audits this large, mirror the corpus once with `credaudit download --out DIR` and audit with `--corpus DIR`",
                groups.len()
            )
        });
        if let Some(h) = &hint {
            query.progress.println(format!("credaudit: note: {h}"));
        }
        if let Some(cache) = &self.cache {
            cache.prepare(query.kind);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let _entered = runtime.enter();
        let client = RangeClient::new(&self.options.client)?;
        let cache_hits = AtomicU64::new(0);
        let started = Instant::now();
        let mut shown = Instant::now();
        // Cache files are written on their own thread: creating files is
        // slow on some filesystems and must not stall the requests in flight.
        let (writes, entries) = sync_channel(1024);
        let results: Vec<(usize, PrefixAnswer)> = std::thread::scope(|scope| {
            if let Some(cache) = &self.cache {
                scope.spawn(move || cache.write_entries(entries));
            }
            let writes = writes;
            runtime.block_on(
                futures_util::stream::iter(groups.iter().enumerate())
                    .map(|(gi, &(prefix, start, end))| {
                        let (client, cache_hits, writes) = (&client, &cache_hits, &writes);
                        async move {
                            let found = self
                                .range(client, prefix, query.kind, cache_hits, writes)
                                .await;
                            (
                                gi,
                                found.map(|r| {
                                    (hits_in(&r, prefix, query, start, end), r.lines() as u64)
                                }),
                            )
                        }
                    })
                    .buffer_unordered(self.options.client.concurrency.max(1))
                    .inspect(|(gi, _)| {
                        let (_, start, end) = groups[*gi];
                        query.progress.inc((end - start) as u64);
                        if shown.elapsed() >= Duration::from_millis(200) {
                            shown = Instant::now();
                            let requests = Stats::get(&client.stats.requests);
                            query.progress.set_message(format!(
                                "{} ({}): {requests} requests ({:.0}/s), {} retries, {} cached",
                                self.name,
                                query.kind,
                                requests as f64 / started.elapsed().as_secs_f64(),
                                Stats::get(&client.stats.retries),
                                cache_hits.load(Ordering::Relaxed),
                            ));
                        }
                    })
                    .collect(),
            )
        });
        let mut answer = Answer {
            method: "range-api",
            lines_read: Some(0),
            ..Answer::default()
        };
        let mut failed: Vec<(u32, String)> = Vec::new();
        for (gi, found) in results {
            let (prefix, start, end) = groups[gi];
            match found {
                Ok((hits, lines)) => {
                    answer.hits.extend(hits);
                    answer.lines_read = answer.lines_read.map(|l| l + lines);
                }
                Err(reason) => {
                    failed.push((prefix, reason));
                    answer.unchecked.extend(start..end);
                }
            }
        }
        answer.hits.sort_unstable();
        answer.unchecked.sort_unstable();
        failed.sort();
        let mut warnings: Vec<String> = hint.into_iter().collect();
        if let Some((prefix, reason)) = failed.first() {
            warnings.push(format!(
                "range API {}: {} prefix(es) failed after {} attempt(s) (first: {}: {reason}); {} hash(es) could not be checked",
                self.name,
                failed.len(),
                client.attempts(),
                prefix_hex(*prefix),
                answer.unchecked.len()
            ));
        }
        if let Some(cache) = &self.cache {
            warnings.extend(cache.warnings());
        }
        answer.warning = (!warnings.is_empty()).then(|| warnings.join("; "));
        answer.requests = Some(RequestStats {
            prefixes: groups.len() as u64,
            requests: Stats::get(&client.stats.requests),
            retries: Stats::get(&client.stats.retries),
            cache_hits: cache_hits.into_inner(),
            not_modified: Stats::get(&client.stats.not_modified),
            failed_prefixes: failed.len() as u64,
        });
        Ok(answer)
    }

    fn info(&self) -> SourceInfo {
        SourceInfo {
            kind: "range-api",
            name: self.name.clone(),
            path: None,
            hash_kinds: KINDS.to_vec(),
            size_bytes: None,
            modified_unix: None,
            entries: None,
            words_before_expansion: None,
        }
    }
}

/// The on-disk response cache of one server.
struct Cache {
    dir: PathBuf,
    max_age: Duration,
    corrupt: AtomicU64,
    /// The first failure to write an entry: reported once, never fatal.
    write_error: Mutex<Option<String>>,
}

/// Parse a response-cache file as a lookup does when it loads one: the range
/// it holds, or `None` for a corrupt entry (which a lookup counts and
/// refetches). For the `cache_entry` fuzz target in `fuzz/`.
pub fn parse_cache_entry(bytes: &[u8], kind: HashKind) -> Option<Range> {
    Cache::parse(bytes, kind, Duration::ZERO).map(|entry| entry.range)
}

/// A cache entry that parsed in full.
struct Entry {
    range: Range,
    validators: Validators,
    fresh: bool,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Cache {
    fn path(&self, prefix: u32, kind: HashKind) -> PathBuf {
        self.dir.join(kind.name()).join(prefix_hex(prefix))
    }

    /// Create the kind's directory (0700: it shows which prefixes were asked).
    fn prepare(&self, kind: HashKind) {
        let dir = self.dir.join(kind.name());
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
        {
            self.note_write_error(format!("cannot create {}: {e}", dir.display()));
        }
    }

    fn note_write_error(&self, message: String) {
        let mut first = self.write_error.lock().expect("not poisoned");
        first.get_or_insert(message);
    }

    /// The entry for a prefix, if there is one that parses in full. A corrupt
    /// one counts as absent (and is counted).
    fn load(&self, prefix: u32, kind: HashKind) -> Option<Entry> {
        let bytes = std::fs::read(self.path(prefix, kind)).ok()?;
        let entry = Self::parse(&bytes, kind, self.max_age);
        if entry.is_none() {
            self.corrupt.fetch_add(1, Ordering::Relaxed);
        }
        entry
    }

    fn parse(bytes: &[u8], kind: HashKind, max_age: Duration) -> Option<Entry> {
        let split = bytes.windows(2).position(|w| w == b"\n\n")?;
        let header = std::str::from_utf8(&bytes[..split]).ok()?;
        let mut lines = header.lines();
        if lines.next()? != CACHE_MAGIC {
            return None;
        }
        let mut validators = Validators::default();
        let mut fetched = None;
        for line in lines {
            let (key, value) = line.split_once(' ')?;
            match key {
                "etag" => validators.etag = Some(value.to_string()),
                "last-modified" => validators.last_modified = Some(value.to_string()),
                "fetched" => fetched = Some(value.parse::<u64>().ok()?),
                _ => return None,
            }
        }
        let range = Range::parse(&bytes[split + 2..], kind).ok()?;
        if !range.was_canonical() {
            return None;
        }
        let age = now_unix().checked_sub(fetched?);
        Some(Entry {
            range,
            validators,
            fresh: age.is_some_and(|a| a < max_age.as_secs()),
        })
    }

    /// A cache file's path and content.
    fn entry_file(
        &self,
        prefix: u32,
        kind: HashKind,
        range: &Range,
        validators: &Validators,
    ) -> (PathBuf, Vec<u8>) {
        let mut bytes = format!("{CACHE_MAGIC}\n");
        if let Some(etag) = &validators.etag {
            bytes.push_str(&format!("etag {etag}\n"));
        }
        if let Some(date) = &validators.last_modified {
            bytes.push_str(&format!("last-modified {date}\n"));
        }
        bytes.push_str(&format!("fetched {}\n\n", now_unix()));
        let mut bytes = bytes.into_bytes();
        bytes.extend_from_slice(range.text());
        (self.path(prefix, kind), bytes)
    }

    /// Write the entries sent until the channel closes, each atomically
    /// (temporary file, rename). No fsync: a torn entry after a crash fails
    /// to parse and is refetched.
    fn write_entries(&self, entries: Receiver<(PathBuf, Vec<u8>)>) {
        for (path, bytes) in entries {
            if let Err(e) = replace_file(&path, |f| f.write_all(&bytes)) {
                self.note_write_error(format!("cannot write {}: {e}", path.display()));
            }
        }
    }

    fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let corrupt = self.corrupt.load(Ordering::Relaxed);
        if corrupt > 0 {
            out.push(format!(
                "{corrupt} corrupt cache file(s) in {} were ignored and refetched",
                self.dir.display()
            ));
        }
        if let Some(e) = self.write_error.lock().expect("not poisoned").as_ref() {
            out.push(format!("response cache not updated: {e}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_entries_round_trip_and_corruption_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache {
            dir: dir.path().to_path_buf(),
            max_age: Duration::from_secs(3600),
            corrupt: AtomicU64::new(0),
            write_error: Mutex::new(None),
        };
        cache.prepare(HashKind::Sha1);
        let range =
            Range::parse(b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:3\r\n", HashKind::Sha1).unwrap();
        let validators = Validators {
            etag: Some("\"abc\"".into()),
            last_modified: None,
        };
        let (tx, rx) = sync_channel(1);
        tx.send(cache.entry_file(0x5BAA6, HashKind::Sha1, &range, &validators))
            .unwrap();
        drop(tx);
        cache.write_entries(rx);
        let entry = cache.load(0x5BAA6, HashKind::Sha1).unwrap();
        assert!(entry.fresh);
        assert_eq!(entry.range, range);
        assert_eq!(entry.validators, validators);
        let path = cache.path(0x5BAA6, HashKind::Sha1);
        let text = std::fs::read_to_string(&path).unwrap();
        for broken in [
            text.replace("FD8:3", "FD:3"),
            text.replace("v1", "v0"),
            text[..text.len() - 5].to_string(),
            "garbage".to_string(),
        ] {
            std::fs::write(&path, broken).unwrap();
            assert!(cache.load(0x5BAA6, HashKind::Sha1).is_none());
        }
        assert_eq!(cache.corrupt.load(Ordering::Relaxed), 4);
        assert!(
            Cache::parse(text.as_bytes(), HashKind::Sha1, Duration::ZERO).is_some_and(|e| !e.fresh)
        );
        assert!(Cache::parse(text.as_bytes(), HashKind::Ntlm, Duration::MAX).is_none());
    }
}
