//! `--api [URL]`: the Pwned Passwords k-anonymity range API as a source.
//!
//! For users without a local corpus. The sorted query hashes are grouped by
//! their 5-hex prefix and each distinct prefix is fetched once (see
//! [`crate::hibp::client`] for exactly what is sent), however many accounts
//! share it; the returned suffixes are matched locally.
//!
//! With a cache ([`crate::hibp::cache`]), a prefix younger than `--max-age`
//! costs no request, an older one is revalidated (`If-None-Match`,
//! `If-Modified-Since`), so an hourly cron job mostly sees cache hits and
//! 304s. A prefix that fails after its retries is not guessed at: its hashes
//! go to [`Answer::unchecked`] and the audit reports them (fail closed).

use super::{prefix_hits, Answer, Lookup, RequestStats, Source, SourceInfo};
use crate::hash::HashKind;
use crate::hibp::body::SuffixList;
use crate::hibp::cache::{Cache, CacheOptions};
use crate::hibp::client::{ClientOptions, Counters, Fetched, RangeClient};
use crate::hibp::fetch::{with_writer, Fetcher};
use crate::hibp::prefix;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;

/// Over this many distinct prefixes a local mirror is the better tool.
const MIRROR_HINT_PREFIXES: usize = 100_000;

/// Options of `--api`.
#[derive(Clone, Debug)]
pub struct ApiOptions {
    pub client: ClientOptions,
    /// Send `Add-Padding: true` (the server pads responses to hide their size).
    pub padding: bool,
    /// `None` without a cache (`--no-cache`; `check` without `--cache-dir`).
    pub cache: Option<CacheOptions>,
}

pub struct RangeApi {
    options: ApiOptions,
    name: String,
    cache: Option<Cache>,
}

const KINDS: [HashKind; 2] = [HashKind::Sha1, HashKind::Ntlm];

impl RangeApi {
    /// Check the options (URL, `--ca-cert` files) before any input is read.
    pub fn new(options: ApiOptions) -> Result<RangeApi> {
        // Neither message quotes the URL: it may carry `user:password@`.
        let url = reqwest::Url::parse(&options.client.url).context("invalid --api URL")?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            bail!(
                "--api URL must be http:// or https:// with a host, not a {}: URL{}",
                url.scheme(),
                if url.host_str().is_none() {
                    " without a host"
                } else {
                    ""
                }
            );
        }
        options.client.load_ca_certs()?;
        let host = url.host_str().unwrap_or_default();
        let name = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let cache = options
            .cache
            .as_ref()
            .map(|c| Cache::new(c, &options.client.url));
        Ok(RangeApi {
            options,
            name,
            cache,
        })
    }

    /// The suffix list of one prefix: from the cache while fresh, else from
    /// the server (revalidating what the cache holds).
    async fn list(
        &self,
        client: &RangeClient,
        prefix: u32,
        kind: HashKind,
        cache_hits: &AtomicU64,
        writes: &SyncSender<(PathBuf, Vec<u8>)>,
    ) -> Result<SuffixList, String> {
        let cached = self.cache.as_ref().and_then(|c| c.load(prefix, kind));
        if let Some(entry) = &cached {
            if entry.fresh {
                cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(entry.list.clone());
            }
        }
        let validators = cached.as_ref().map(|e| &e.validators);
        let fetched = client
            .fetch(prefix, kind, self.options.padding, validators)
            .await?;
        let (list, validators) = match (fetched, cached) {
            (Fetched::Fresh { list, validators }, _) => (list, validators),
            (Fetched::NotModified, Some(entry)) => (entry.list, entry.validators),
            (Fetched::NotModified, None) => unreachable!("304 only answers validators sent"),
        };
        if let Some(cache) = &self.cache {
            // Fails only if the writer stopped on an error, which the
            // lookup reports.
            let _ = writes.send(cache.entry_file(prefix, kind, &list, &validators));
        }
        Ok(list)
    }
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
        let mut warnings: Vec<String> = self
            .options
            .client
            .cleartext_warning()
            .into_iter()
            .collect();
        if groups.len() > MIRROR_HINT_PREFIXES {
            let hint = format!(
                "{} distinct prefixes to fetch: for audits this large, mirror the corpus once with `credaudit download --out DIR` and audit with `--corpus DIR`",
                groups.len()
            );
            query.progress.println(format!("credaudit: note: {hint}"));
            warnings.push(hint);
        }
        if let Some(cache) = &self.cache {
            cache.prepare(query.kind);
        }
        let fetcher = Fetcher::new(&self.options.client)?;
        let client = &fetcher.client;
        let cache_hits = AtomicU64::new(0);
        let mut answer = Answer {
            method: "range-api",
            lines_read: Some(0),
            ..Answer::default()
        };
        let mut failed: Vec<(u32, String)> = Vec::new();
        let ((), written) = with_writer(Cache::write, |writes| {
            fetcher.run(
                groups.iter(),
                |&(prefix, start, end)| {
                    let cache_hits = &cache_hits;
                    async move {
                        let list = self
                            .list(client, prefix, query.kind, cache_hits, writes)
                            .await;
                        (prefix, start, end, list)
                    }
                },
                |(prefix, start, end, list)| {
                    match list {
                        Ok(list) => {
                            answer
                                .hits
                                .extend(prefix_hits(&list, prefix, query, start, end));
                            answer.lines_read =
                                answer.lines_read.map(|l| l + list.entry_count() as u64);
                        }
                        Err(reason) => {
                            failed.push((prefix, reason));
                            answer.unchecked.extend(start..end);
                        }
                    }
                    query.progress.inc((end - start) as u64);
                    if let Some(rates) = fetcher.progress_due() {
                        query.progress.set_message(format!(
                            "{} ({}): {rates}, {} cached",
                            self.name,
                            query.kind,
                            cache_hits.load(Ordering::Relaxed),
                        ));
                    }
                },
            )
        });
        answer.hits.sort_unstable();
        answer.unchecked.sort_unstable();
        failed.sort();
        if let Some((prefix, reason)) = failed.first() {
            warnings.push(format!(
                "range API {}: {} prefix(es) failed after {} attempt(s) (first: {}: {reason}); {} hash(es) could not be checked",
                self.name,
                failed.len(),
                client.attempts(),
                prefix::hex(*prefix),
                answer.unchecked.len()
            ));
        }
        if let Some(cache) = &self.cache {
            warnings.extend(cache.warnings(written));
        }
        answer.warning = (!warnings.is_empty()).then(|| warnings.join("; "));
        answer.requests = Some(RequestStats {
            prefixes: groups.len() as u64,
            requests: Counters::get(&client.counters.requests),
            retries: Counters::get(&client.counters.retries),
            cache_hits: cache_hits.into_inner(),
            not_modified: Counters::get(&client.counters.not_modified),
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
