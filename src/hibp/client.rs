//! The client side of the Pwned Passwords k-anonymity range protocol, shared
//! by the `--api` source and `credaudit download` (through
//! [`crate::hibp::fetch`]).
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
//! A response is data only once it has passed the body rules of
//! [`crate::hibp::body`]: a body cut short, of the wrong width, not hex or
//! unsorted is a failed attempt and is retried like a 5xx,
//! because a half-read prefix would make its missing hashes look clean.
//! Connection errors, timeouts, 5xx and 429 are retried with exponential
//! backoff and jitter (honouring `Retry-After` seconds); other statuses are
//! final. What still fails is handed back to the caller, which must fail
//! closed.
//!
//! Trust: the system's web PKI roots (webpki-roots, through rustls), plus
//! any `--ca-cert FILE` (a company mirror behind an internal CA). Plain
//! `http://` to another host than loopback is allowed but warned about: the
//! prefixes, and which of them a run asked, then travel in clear.

use crate::hash::HashKind;
use crate::hibp::body::SuffixList;
use crate::hibp::prefix;
use anyhow::{Context, Result};
use reqwest::header::{
    HeaderMap, HeaderValue, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use reqwest::StatusCode;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The public Pwned Passwords range API.
pub const DEFAULT_URL: &str = "https://api.pwnedpasswords.com";
/// Environment variable naming another compatible server (a company mirror).
pub const URL_ENV: &str = "CREDAUDIT_API_URL";
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
    /// PEM files of extra trust roots (`--ca-cert`).
    pub ca_certs: Vec<PathBuf>,
}

impl ClientOptions {
    /// The extra trust roots, read and parsed. A file that cannot be read
    /// or holds no certificate is an error naming it.
    pub fn load_ca_certs(&self) -> Result<Vec<reqwest::Certificate>> {
        let mut roots = Vec::new();
        for path in &self.ca_certs {
            let pem = std::fs::read(path)
                .with_context(|| format!("--ca-cert {}: cannot read", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .with_context(|| {
                    format!(
                        "--ca-cert {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
                        path.display()
                    )
                })?;
            roots.extend(certs);
        }
        Ok(roots)
    }

    /// A warning when requests to this server would travel in clear: an
    /// `http://` URL whose host is not loopback.
    pub fn cleartext_warning(&self) -> Option<String> {
        let url = reqwest::Url::parse(&self.url).ok()?;
        let host = url
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let loopback = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => host == "localhost" || host.ends_with(".localhost"),
        };
        // Scheme, host and port only: a URL may carry a password.
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        (url.scheme() == "http" && !loopback).then(|| {
            format!(
                "http://{}{port} is plain http: the hash prefixes asked travel in clear (use https://)",
                url.host_str().unwrap_or_default()
            )
        })
    }
}

/// The server to use when `--api` names none: `CREDAUDIT_API_URL`, else
/// the public API.
pub fn url_from_env() -> String {
    std::env::var(URL_ENV)
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string())
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
        list: SuffixList,
        validators: Validators,
    },
    /// 304: the validators sent still hold.
    NotModified,
}

/// Counters shared by all requests of one client.
#[derive(Default, Debug)]
pub struct Counters {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub not_modified: AtomicU64,
    /// Response body bytes as received (after decompression).
    pub bytes: AtomicU64,
}

impl Counters {
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
            // The innermost cause says why (refused, an untrusted
            // certificate); it names no URL.
            let mut cause: &dyn std::error::Error = &e;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            format!("connection failed: {cause}")
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
    pub counters: Counters,
}

impl RangeClient {
    pub fn new(options: &ClientOptions) -> Result<RangeClient> {
        let mut builder = reqwest::Client::builder();
        for root in options.load_ca_certs()? {
            builder = builder.add_root_certificate(root);
        }
        let http = builder
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
            counters: Counters::default(),
        })
    }

    /// The URL a prefix is fetched from: the only place any of a hash goes.
    fn url(&self, prefix: u32, kind: HashKind) -> String {
        let mode = match kind {
            HashKind::Sha1 => "",
            HashKind::Ntlm => "?mode=ntlm",
        };
        format!("{}/range/{}{mode}", self.base, prefix::hex(prefix))
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
            Counters::add(&self.counters.retries, 1);
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
        Counters::add(&self.counters.requests, 1);
        let response = request.send().await.map_err(Failure::transport)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED && validators.is_some_and(|v| !v.is_empty()) {
            Counters::add(&self.counters.not_modified, 1);
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
        Counters::add(&self.counters.bytes, body.len() as u64);
        let list = SuffixList::parse(&body, kind).map_err(|e| Failure {
            reason: format!("malformed response: {e}"),
            retry: true,
            wait: None,
        })?;
        Ok(Fetched::Fresh { list, validators })
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

#[cfg(test)]
mod tests {
    use super::*;

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

    fn options(url: &str) -> ClientOptions {
        ClientOptions {
            url: url.into(),
            concurrency: 1,
            timeout: Duration::from_secs(1),
            retries: 0,
            ca_certs: Vec::new(),
        }
    }

    #[test]
    fn cleartext_is_warned_about_except_on_loopback() {
        for quiet in [
            "https://api.pwnedpasswords.com",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:80/",
            "http://localhost:3000",
        ] {
            assert_eq!(options(quiet).cleartext_warning(), None, "{quiet}");
        }
        for loud in [
            "http://hibp.example.com",
            "http://10.0.0.7:8080",
            "http://[fe80::1]",
        ] {
            let w = options(loud).cleartext_warning().unwrap();
            assert!(w.contains("travel in clear"), "{w}");
        }
    }

    #[test]
    fn ca_cert_files_are_read_or_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "not a certificate\n").unwrap();
        let mut o = options("https://mirror.example");
        for path in [bad, dir.path().join("absent.pem")] {
            o.ca_certs = vec![path.clone()];
            let e = format!("{:#}", o.load_ca_certs().unwrap_err());
            assert!(e.contains(&path.display().to_string()), "{e}");
            assert!(RangeClient::new(&o).is_err());
        }
    }

    #[test]
    fn only_the_prefix_is_in_the_url() {
        let c = RangeClient::new(&options("http://127.0.0.1:1/")).unwrap();
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
