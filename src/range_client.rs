//! The client side of the Pwned Passwords k-anonymity range protocol, shared
//! by the `--api` source and `credaudit download`.
//!
//! `GET {URL}/range/{PREFIX}` (plus `?mode=ntlm` for NTLM) answers with every
//! known hash that starts with the 5-hex prefix, as `SUFFIX:COUNT` lines. The
//! prefix is the only thing about a hash that ever leaves the machine: it is
//! shared by about a million SHA-1 values of the corpus alone, so the server
//! learns nothing about which password was meant. The path, the optional
//! `mode` query, fixed headers (`User-Agent`, `Add-Padding`, `Accept-Encoding`)
//! and the server's own validators (`If-None-Match`, `If-Modified-Since`) are
//! all a request carries.
//!
//! A response is data only once every line has parsed: a body cut short, of
//! the wrong width or not hex is a failed attempt and is retried like a 5xx,
//! because a half-read prefix would make its missing hashes look clean.
//! Connection errors, timeouts, 5xx and 429 are retried with exponential
//! backoff and jitter (honouring `Retry-After` seconds); other statuses are
//! final. What still fails is handed back to the caller, which must fail
//! closed.

use crate::hash::{decode_hex, is_hex, HashKind};
use crate::source::hibp_line;
use anyhow::{Context, Result};
use reqwest::header::{
    HeaderMap, HeaderValue, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use reqwest::StatusCode;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The public Pwned Passwords range API.
pub const DEFAULT_URL: &str = "https://api.pwnedpasswords.com";
/// Environment variable naming another compatible server (a company mirror).
pub const URL_ENV: &str = "CREDAUDIT_API_URL";
/// Number of 5-hex prefixes: `00000` to `FFFFF`.
pub const PREFIXES: u32 = 1 << 20;
/// Longest wait a server's `Retry-After` can impose before one retry.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(30);
/// First backoff; it doubles with each retry up to [`BACKOFF_CAP`].
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(10);

/// How to reach the server and how hard to try.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Base URL, without the `/range/` part.
    pub url: String,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Limit for connecting, and for a whole request including its body.
    pub timeout: Duration,
    /// Further attempts after the first fails.
    pub retries: u32,
}

/// The server to use when `--api` names none: `CREDAUDIT_API_URL`, else
/// the public API.
pub fn url_from_env() -> String {
    std::env::var(URL_ENV)
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string())
}

/// A prefix as the 5 upper-case hex digits the protocol uses.
pub fn prefix_hex(prefix: u32) -> String {
    format!("{prefix:05X}")
}

/// A validated range: `SUFFIX:COUNT` lines, upper-case, CRLF, sorted by
/// suffix, without count-0 padding lines. This is also the content of a
/// mirror's prefix file and of a cache entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    text: Vec<u8>,
    lines: usize,
    /// Whether the input was sorted by suffix (what `--corpus DIR` needs).
    sorted: bool,
    /// Whether the input already was in this form, byte for byte.
    canonical: bool,
}

impl Range {
    /// Parse a response body or prefix file of `kind`. The error names the
    /// first bad line (never its content).
    pub fn parse(body: &[u8], kind: HashKind) -> Result<Range, String> {
        let width = kind.hex_len() - 5;
        let mut entries: Vec<(&[u8], u64)> = Vec::new();
        let mut canonical = true;
        let mut sorted = true;
        let mut lines = body.split(|&b| b == b'\n').peekable();
        let mut n = 0;
        while let Some(line) = lines.next() {
            n += 1;
            if line.is_empty() && lines.peek().is_none() {
                break;
            }
            let (suffix, count) = hibp_line::split(line, width)
                .filter(|(s, _)| is_hex(s))
                .ok_or_else(|| format!("line {n} is not a {width}-hex suffix, ':' and a count"))?;
            canonical &= line.ends_with(b"\r") && !suffix.iter().any(u8::is_ascii_lowercase);
            if count == 0 {
                canonical = false;
                continue;
            }
            if let Some((prev, _)) = entries.last() {
                sorted &= cmp_hex(prev, suffix).is_le();
            }
            entries.push((suffix, count));
        }
        canonical &= sorted && (body.is_empty() || body.ends_with(b"\n"));
        if !sorted {
            entries.sort_by(|a, b| cmp_hex(a.0, b.0));
        }
        let mut text = Vec::with_capacity(entries.len() * (width + 10));
        for (suffix, count) in &entries {
            text.extend(suffix.iter().map(u8::to_ascii_uppercase));
            text.push(b':');
            text.extend_from_slice(count.to_string().as_bytes());
            text.extend_from_slice(b"\r\n");
        }
        Ok(Range {
            text,
            lines: entries.len(),
            sorted,
            canonical,
        })
    }

    /// The canonical text.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// Number of (non-padding) entries.
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// True when the parsed input was byte for byte the canonical form.
    pub fn was_canonical(&self) -> bool {
        self.canonical
    }

    /// True when the parsed input was sorted by suffix, as `--corpus DIR`
    /// requires of a prefix file.
    pub fn was_sorted(&self) -> bool {
        self.sorted
    }

    /// Each entry as its full hash (prefix and suffix, `kind.bytes()` long)
    /// and count, in order.
    pub fn entries(
        &self,
        prefix: u32,
        kind: HashKind,
    ) -> impl Iterator<Item = ([u8; 20], u64)> + '_ {
        let width = kind.hex_len() - 5;
        let mut full_hex = [0u8; 40];
        full_hex[..5].copy_from_slice(prefix_hex(prefix).as_bytes());
        self.text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(move |line| {
                let (suffix, count) = hibp_line::split(line, width).expect("canonical line");
                full_hex[5..5 + width].copy_from_slice(suffix);
                let mut hash = [0u8; 20];
                let ok = decode_hex(&full_hex[..kind.hex_len()], &mut hash[..kind.bytes()]);
                debug_assert!(ok, "canonical lines are hex");
                (hash, count)
            })
    }
}

/// Order hex digits as numbers, whatever their case.
fn cmp_hex(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.iter()
        .map(u8::to_ascii_uppercase)
        .cmp(b.iter().map(u8::to_ascii_uppercase))
}

/// A cached response's validators, sent back to revalidate it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    fn from_headers(headers: &HeaderMap) -> Validators {
        let get = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        Validators {
            etag: get(ETAG),
            last_modified: get(LAST_MODIFIED),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// What a successful fetch brought.
pub enum Fetched {
    Fresh {
        range: Range,
        validators: Validators,
    },
    /// 304: the validators sent still hold.
    NotModified,
}

/// Counters shared by all requests of one client.
#[derive(Default, Debug)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub not_modified: AtomicU64,
    /// Response body bytes as received (after decompression).
    pub bytes: AtomicU64,
}

impl Stats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Why one attempt failed, and whether another may succeed.
struct Failure {
    reason: String,
    retry: bool,
    /// The server's `Retry-After`, capped.
    wait: Option<Duration>,
}

impl Failure {
    fn transport(e: reqwest::Error) -> Failure {
        let reason = if e.is_timeout() {
            "timed out".to_string()
        } else if e.is_connect() {
            "connection failed".to_string()
        } else if e.is_body() || e.is_decode() {
            "response body broken off".to_string()
        } else {
            // Without the URL: it holds nothing secret, but the prefix is
            // named by the caller already.
            format!("request failed: {}", e.without_url())
        };
        Failure {
            reason,
            retry: true,
            wait: None,
        }
    }
}

/// An HTTP client for one range server.
pub struct RangeClient {
    http: reqwest::Client,
    base: String,
    retries: u32,
    pub stats: Stats,
}

impl RangeClient {
    pub fn new(options: &ClientOptions) -> Result<RangeClient> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("credaudit/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.timeout)
            .timeout(options.timeout)
            .pool_max_idle_per_host(options.concurrency)
            .tcp_nodelay(true)
            .gzip(true)
            .brotli(true)
            .build()
            .context("cannot set up the HTTP client")?;
        let base = options.url.trim_end_matches('/').to_string();
        reqwest::Url::parse(&base).with_context(|| format!("invalid range API URL {base:?}"))?;
        Ok(RangeClient {
            http,
            base,
            retries: options.retries,
            stats: Stats::default(),
        })
    }

    /// The URL a prefix is fetched from: the only place any of a hash goes.
    fn url(&self, prefix: u32, kind: HashKind) -> String {
        let mode = match kind {
            HashKind::Sha1 => "",
            HashKind::Ntlm => "?mode=ntlm",
        };
        format!("{}/range/{}{mode}", self.base, prefix_hex(prefix))
    }

    /// Attempts (the first plus `retries`) the client makes before giving up.
    pub fn attempts(&self) -> u32 {
        self.retries + 1
    }

    /// Fetch one prefix, retrying as the module docs say. `Err` is the last
    /// attempt's reason once retries are spent or the failure is final.
    pub async fn fetch(
        &self,
        prefix: u32,
        kind: HashKind,
        padding: bool,
        validators: Option<&Validators>,
    ) -> Result<Fetched, String> {
        let mut retry = 0;
        loop {
            let failure = match self.attempt(prefix, kind, padding, validators).await {
                Ok(fetched) => return Ok(fetched),
                Err(f) => f,
            };
            if !failure.retry || retry >= self.retries {
                return Err(failure.reason);
            }
            retry += 1;
            Stats::add(&self.stats.retries, 1);
            tokio::time::sleep(failure.wait.unwrap_or_else(|| backoff(retry))).await;
        }
    }

    async fn attempt(
        &self,
        prefix: u32,
        kind: HashKind,
        padding: bool,
        validators: Option<&Validators>,
    ) -> Result<Fetched, Failure> {
        let mut request = self.http.get(self.url(prefix, kind));
        if padding {
            request = request.header("Add-Padding", "true");
        }
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(date) = &v.last_modified {
                request = request.header(IF_MODIFIED_SINCE, date);
            }
        }
        Stats::add(&self.stats.requests, 1);
        let response = request.send().await.map_err(Failure::transport)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED && validators.is_some_and(|v| !v.is_empty()) {
            Stats::add(&self.stats.not_modified, 1);
            return Ok(Fetched::NotModified);
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(Failure {
                reason: format!("HTTP {status}"),
                retry: true,
                wait: retry_after(response.headers()),
            });
        }
        if status != StatusCode::OK {
            return Err(Failure {
                reason: format!("HTTP {status}"),
                retry: false,
                wait: None,
            });
        }
        let validators = Validators::from_headers(response.headers());
        let body = response.bytes().await.map_err(Failure::transport)?;
        Stats::add(&self.stats.bytes, body.len() as u64);
        let range = Range::parse(&body, kind).map_err(|e| Failure {
            reason: format!("malformed response: {e}"),
            retry: true,
            wait: None,
        })?;
        Ok(Fetched::Fresh { range, validators })
    }
}

/// `Retry-After` in seconds, capped; an HTTP-date falls back to backoff.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(RETRY_AFTER_CAP))
}

/// The wait before retry `n` (1-based): exponential, capped, with jitter
/// between half and all of it so that many clients do not retry in step.
fn backoff(n: u32) -> Duration {
    let full = BACKOFF_BASE
        .saturating_mul(1 << (n - 1).min(16))
        .min(BACKOFF_CAP);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(n);
    let fraction = 0.5 + (h.finish() >> 11) as f64 / (1u64 << 53) as f64 / 2.0;
    full.mul_f64(fraction)
}

/// Replace `path` with what `fill` writes: a temporary file in the same
/// directory, renamed over it, so readers see the old file or the new one,
/// never half of one. Not synced to disk: cache entries and mirror files are
/// parsed in full before they are trusted, so a crash costs a refetch, and a
/// million fsyncs would cost the mirror its speed.
pub fn replace_file(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        fill(&mut w)?;
        w.flush()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_drops_padding_sorts_and_rejects_bad_lines() {
        let body = b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:3\r\n0000000000000000000000000000000000A:0\r\n003D68EB55068C33ACE09247EE4C639306B:12";
        let r = Range::parse(body, HashKind::Sha1).unwrap();
        assert_eq!(r.lines(), 2);
        assert!(!r.was_canonical());
        assert_eq!(
            r.text(),
            b"003D68EB55068C33ACE09247EE4C639306B:12\r\n1E4C9B93F3F0682250B6CF8331B7EE68FD8:3\r\n"
        );
        let again = Range::parse(r.text(), HashKind::Sha1).unwrap();
        assert!(again.was_canonical());
        let full: Vec<_> = r.entries(0x5BAA6, HashKind::Sha1).collect();
        assert_eq!(
            crate::hash::encode_hex(&full[1].0),
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
        );
        assert_eq!(full[1].1, 3);
        for bad in [
            &b"1E4C9B93F3F0682250B6CF8331B7EE68FD:3\r\n"[..],
            b"1E4C9B93F3F0682250B6CF8331B7EE68FDX:3\r\n",
            b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:\r\n",
            b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:3\r\n1E4C9B93F3F06",
        ] {
            assert!(Range::parse(bad, HashKind::Sha1).is_err());
        }
        assert!(Range::parse(b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:3", HashKind::Ntlm).is_err());
        assert_eq!(Range::parse(b"", HashKind::Ntlm).unwrap().lines(), 0);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        for n in 1..=20 {
            let d = backoff(n);
            let full = BACKOFF_BASE
                .saturating_mul(1 << (n - 1).min(16))
                .min(BACKOFF_CAP);
            assert!(d >= full / 2 && d <= full, "{n}: {d:?}");
        }
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("1"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(1)));
        h.insert("retry-after", HeaderValue::from_static("86400"));
        assert_eq!(retry_after(&h), Some(RETRY_AFTER_CAP));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn only_the_prefix_is_in_the_url() {
        let c = RangeClient::new(&ClientOptions {
            url: "http://127.0.0.1:1/".into(),
            concurrency: 1,
            timeout: Duration::from_secs(1),
            retries: 0,
        })
        .unwrap();
        assert_eq!(
            c.url(0x5BAA6, HashKind::Sha1),
            "http://127.0.0.1:1/range/5BAA6"
        );
        assert_eq!(
            c.url(0x00A, HashKind::Ntlm),
            "http://127.0.0.1:1/range/0000A?mode=ntlm"
        );
    }
}
