//! A Pwned Passwords range API on 127.0.0.1, started in-process by the tests
//! (and by `benches/api.rs`), answering the way the real one does: `GET
//! /range/{5 hex}` with `SUFFIX:COUNT` CRLF lines sorted by suffix, count-0
//! padding lines when `Add-Padding: true` is sent, `?mode=ntlm`, an ETag and
//! 304 on `If-None-Match`, gzip when asked, 400 for a bad prefix or mode.
//!
//! Every prefix has content: the planted entries (the fixture corpora, or
//! what a test adds) plus a few filler lines made from the prefix, so any
//! range can be mirrored. Faults are injected per prefix, in order, and
//! every request is recorded (path, query, headers, status) so the tests can
//! check what left the client.
#![allow(dead_code)]

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const LAST_MODIFIED: &str = "Mon, 01 Jan 2024 00:00:00 GMT";

/// What a request of one prefix gets instead of a normal answer.
#[derive(Clone, Debug)]
pub enum Fault {
    /// This status, empty body.
    Status(u16),
    /// 429 with `Retry-After: secs`.
    TooMany(u64),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// A 200 whose body stops in the middle of a line.
    Truncated,
    /// A 200 whose suffixes are one digit short.
    WrongWidth,
    /// A 200 with a non-hex character in a suffix.
    NotHex,
    /// Send part of the body, then drop the connection.
    Drop,
    /// A 200 with exactly this body.
    Body(String),
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub status: u16,
    pub gzip: bool,
    pub at: Instant,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn prefix(&self) -> &str {
        self.path.trim_start_matches("/range/")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Sha1,
    Ntlm,
}

impl Mode {
    fn suffix_len(self) -> usize {
        match self {
            Mode::Sha1 => 35,
            Mode::Ntlm => 27,
        }
    }
}

#[derive(Default)]
struct Shared {
    /// Planted entries: (mode, prefix) -> suffix -> count.
    corpus: Mutex<HashMap<(Mode, u32), BTreeMap<String, u64>>>,
    faults: Mutex<HashMap<String, VecDeque<Fault>>>,
    sticky: Mutex<HashMap<String, Fault>>,
    log: Mutex<Vec<Seen>>,
    requests: std::sync::atomic::AtomicU64,
    filler: usize,
    delay: Duration,
    record: bool,
    gzip: bool,
}

pub struct Options {
    /// Filler lines per prefix (besides planted entries).
    pub filler: usize,
    /// Added to every request.
    pub delay: Duration,
    /// Keep every request in the log (off for the benchmark).
    pub record: bool,
    /// Tokio worker threads serving.
    pub workers: usize,
    /// Compress when the client accepts gzip.
    pub gzip: bool,
    /// Serve https with this certificate chain and PKCS#8 key (DER).
    pub tls: Option<(Vec<Vec<u8>>, Vec<u8>)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            filler: 8,
            delay: Duration::ZERO,
            record: true,
            workers: 1,
            gzip: true,
            tls: None,
        }
    }
}

pub struct Server {
    pub url: String,
    shared: Arc<Shared>,
}

impl Server {
    /// A server holding the fixture corpora (SHA-1 and NTLM samples).
    pub fn start() -> Server {
        let server = Server::with(Options::default());
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hibp");
        for (file, mode) in [
            ("sha1-sample.txt", Mode::Sha1),
            ("ntlm-sample.txt", Mode::Ntlm),
        ] {
            let text = std::fs::read_to_string(fixtures.join(file)).unwrap();
            for line in text.lines() {
                let (hash, count) = line.split_once(':').unwrap();
                server.add(mode, hash, count.trim().parse().unwrap());
            }
        }
        server
    }

    pub fn with(options: Options) -> Server {
        let shared = Arc::new(Shared {
            filler: options.filler,
            delay: options.delay,
            record: options.record,
            gzip: options.gzip,
            ..Shared::default()
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let scheme = if options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let state = shared.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(options.workers)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let tcp = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(handle).with_state(state);
                match options.tls {
                    None => axum::serve(tcp, app).await.unwrap(),
                    Some((chain, key)) => {
                        let acceptor = tls_acceptor(chain, key);
                        axum::serve(TlsListener { tcp, acceptor }, app)
                            .await
                            .unwrap()
                    }
                }
            });
        });
        Server { url, shared }
    }

    /// Plant (or change) a full hash's count; a count of 0 is served as a
    /// padding-style line.
    pub fn add(&self, mode: Mode, hash: &str, count: u64) {
        let hash = hash.to_ascii_uppercase();
        let prefix = u32::from_str_radix(&hash[..5], 16).unwrap();
        self.shared
            .corpus
            .lock()
            .unwrap()
            .entry((mode, prefix))
            .or_default()
            .insert(hash[5..].to_string(), count);
    }

    /// The next requests of `prefix` get these faults, one each, in order.
    pub fn fail_next(&self, prefix: &str, faults: &[Fault]) {
        self.shared
            .faults
            .lock()
            .unwrap()
            .entry(prefix.to_string())
            .or_default()
            .extend(faults.iter().cloned());
    }

    /// Every request of `prefix` gets this fault (after any `fail_next`).
    pub fn fail_always(&self, prefix: &str, fault: Fault) {
        self.shared
            .sticky
            .lock()
            .unwrap()
            .insert(prefix.to_string(), fault);
    }

    pub fn heal(&self, prefix: &str) {
        self.shared.sticky.lock().unwrap().remove(prefix);
        self.shared.faults.lock().unwrap().remove(prefix);
    }

    pub fn log(&self) -> Vec<Seen> {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn clear_log(&self) {
        self.shared.log.lock().unwrap().clear();
    }

    /// Requests served so far (also when not recording).
    pub fn requests(&self) -> u64 {
        self.shared
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The unpadded body the server gives for a prefix.
    pub fn body(&self, mode: Mode, prefix: u32) -> String {
        lines(&self.shared, mode, prefix, false)
    }
}

fn tls_acceptor(chain: Vec<Vec<u8>>, key: Vec<u8>) -> tokio_rustls::TlsAcceptor {
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let chain = chain.into_iter().map(CertificateDer::from).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Connections that completed a TLS handshake; failed handshakes (a client
/// that does not trust the certificate) are dropped.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A cheap deterministic generator (splitmix64).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn random_suffix(seed: u64, len: usize) -> String {
    let s = format!(
        "{:016X}{:016X}{:016X}",
        mix(seed),
        mix(seed ^ 1),
        mix(seed ^ 2)
    );
    s[..len].to_string()
}

/// The body for a prefix: planted and filler entries (and with `padding`
/// some count-0 lines), sorted by suffix, CRLF-separated like the real API
/// (no line ending after the last line).
fn lines(shared: &Shared, mode: Mode, prefix: u32, padding: bool) -> String {
    let len = mode.suffix_len();
    let mut entries: BTreeMap<String, u64> = shared
        .corpus
        .lock()
        .unwrap()
        .get(&(mode, prefix))
        .cloned()
        .unwrap_or_default();
    let seed = (u64::from(prefix) << 24) ^ ((mode as u64) << 60);
    for i in 0..shared.filler as u64 {
        let r = mix(seed ^ i);
        entries
            .entry(random_suffix(seed ^ (i << 4) ^ 0xF1, len))
            .or_insert(1 + r % 5000);
    }
    if padding {
        for i in 0..4u64 {
            entries
                .entry(random_suffix(seed ^ (i << 4) ^ 0xAD ^ mix(i), len))
                .or_insert(0);
        }
    }
    entries
        .iter()
        .map(|(s, c)| format!("{s}:{c}"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn etag_of(body: &str) -> String {
    // FNV-1a: a stable tag that changes with the content.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    shared
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = request.uri().path().to_string();
    let query = request.uri().query().map(str::to_string);
    let headers = request.headers().clone();
    let entry = shared.record.then(|| {
        let mut log = shared.log.lock().unwrap();
        log.push(Seen {
            path: path.clone(),
            query: query.clone(),
            headers: headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            status: 0,
            gzip: false,
            at: Instant::now(),
        });
        log.len() - 1
    });
    let (response, gzip) = answer(&shared, &path, query.as_deref(), &headers).await;
    if let Some(i) = entry {
        let mut log = shared.log.lock().unwrap();
        log[i].status = response.status().as_u16();
        log[i].gzip = gzip;
    }
    response
}

async fn answer(
    shared: &Shared,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> (Response, bool) {
    if !shared.delay.is_zero() {
        tokio::time::sleep(shared.delay).await;
    }
    let Some(prefix) = path.strip_prefix("/range/") else {
        return (StatusCode::NOT_FOUND.into_response(), false);
    };
    let bad = || {
        (
            (
                StatusCode::BAD_REQUEST,
                "The hash prefix was not in a valid format",
            )
                .into_response(),
            false,
        )
    };
    if prefix.len() != 5 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return bad();
    }
    let mode = match query {
        None | Some("mode=sha1") => Mode::Sha1,
        Some("mode=ntlm") => Mode::Ntlm,
        Some(_) => return bad(),
    };
    let key = prefix.to_ascii_uppercase();
    let fault = {
        let next = shared
            .faults
            .lock()
            .unwrap()
            .get_mut(&key)
            .and_then(VecDeque::pop_front);
        next.or_else(|| shared.sticky.lock().unwrap().get(&key).cloned())
    };
    let number = u32::from_str_radix(&key, 16).unwrap();
    let padding = header_str(headers, "add-padding") == Some("true");
    let plain = lines(shared, mode, number, false);
    let etag = etag_of(&plain);
    let mut body = if padding {
        lines(shared, mode, number, true)
    } else {
        plain
    };
    match fault {
        None => {}
        Some(Fault::Status(code)) => {
            return (StatusCode::from_u16(code).unwrap().into_response(), false)
        }
        Some(Fault::TooMany(secs)) => {
            return (
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", secs.to_string())],
                )
                    .into_response(),
                false,
            )
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Truncated) => {
            let cut = body.find("\r\n").map_or(body.len() / 2, |i| i + 12);
            body.truncate(cut);
        }
        Some(Fault::WrongWidth) => {
            body = body
                .split("\r\n")
                .map(|l| l[1..].to_string())
                .collect::<Vec<_>>()
                .join("\r\n");
        }
        Some(Fault::NotHex) => body.replace_range(0..1, "G"),
        Some(Fault::Body(text)) => body = text,
        Some(Fault::Drop) => {
            let half = Bytes::from(body[..body.len() / 2].to_string());
            let chunks: Vec<Result<Bytes, std::io::Error>> =
                vec![Ok(half), Err(std::io::Error::other("connection dropped"))];
            let stream = futures_util::stream::iter(chunks);
            return (
                (StatusCode::OK, Body::from_stream(stream)).into_response(),
                false,
            );
        }
    }
    let validators = [
        ("etag", etag.clone()),
        ("last-modified", LAST_MODIFIED.to_string()),
    ];
    if header_str(headers, "if-none-match") == Some(etag.as_str()) {
        return (
            (StatusCode::NOT_MODIFIED, validators).into_response(),
            false,
        );
    }
    let gzip =
        shared.gzip && header_str(headers, "accept-encoding").is_some_and(|e| e.contains("gzip"));
    if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(body.as_bytes()).unwrap();
        let compressed = enc.finish().unwrap();
        let response = (
            StatusCode::OK,
            validators,
            [
                ("content-type", "text/plain".to_string()),
                ("content-encoding", "gzip".to_string()),
            ],
            compressed,
        )
            .into_response();
        return (response, true);
    }
    (
        (
            StatusCode::OK,
            validators,
            [("content-type", "text/plain".to_string())],
            body,
        )
            .into_response(),
        false,
    )
}
