//! `credaudit serve`: the organisation's own Pwned Passwords range API,
//! answering from the same verified store audits use.
//!
//! Teams that audit from many hosts run one internal range server instead
//! of having each host ask a third party or hold a 40 GB corpus. It speaks
//! the public protocol ([`respond`]), so `audit --api`, `download --api`,
//! password managers and in-house clients work unchanged.
//!
//! The network side is hyper: HTTP/1.1 with keep-alive on plain TCP;
//! HTTP/2 or HTTP/1.1 by ALPN over TLS (rustls). It is built to stay up
//! under hostile clients: a bounded number of connections (accept waits for
//! a free slot), a deadline for every request head and TLS handshake (a
//! slowloris connection is closed, and so is an idle keep-alive one), and a
//! cap on the size of a request head. SIGTERM and Ctrl-C stop accepting,
//! let in-flight requests finish, and exit 0. Nothing per request is logged
//! unless asked ([`access_log`]).

mod access_log;
mod corpora;
mod encoding;
mod gzip;
mod metrics;
mod padding;
mod respond;
mod tls;

use access_log::AccessLog;
use anyhow::{Context, Result};
use bytes::Bytes;
use corpora::Corpora;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use respond::{Request, Server};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Largest request head (request line and headers), bytes.
pub const MAX_HEAD: usize = 8192;
/// How long in-flight requests may take to finish after a stop signal.
const DRAIN: Duration = Duration::from_secs(10);

pub struct ServeConfig {
    pub corpora: Vec<PathBuf>,
    pub listen: SocketAddr,
    /// Certificate chain and private key, PEM.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub access_log: Option<PathBuf>,
    pub log_prefixes: bool,
    pub quiet: bool,
}

/// Everything a connection task shares.
struct Shared {
    server: Server,
    log: Option<AccessLog>,
}

/// Serve until SIGTERM or Ctrl-C; exit code 0. Errors (a bad source, a
/// port in use, a bad certificate) happen before the first request.
pub fn run(cfg: &ServeConfig) -> Result<u8> {
    let say = |line: String| {
        if !cfg.quiet {
            eprintln!("credaudit serve: {line}");
        }
    };
    let corpora = Corpora::open(&cfg.corpora, &mut |line| say(line))?;
    let tls = cfg
        .tls
        .as_ref()
        .map(|(cert, key)| tls::acceptor(cert, key))
        .transpose()?;
    let log = cfg
        .access_log
        .as_ref()
        .map(|p| AccessLog::open(p, cfg.log_prefixes))
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(async {
        // Handlers first: a supervisor may stop the server as soon as it
        // says it is listening.
        let stop = stop_signal()?;
        let listener = TcpListener::bind(cfg.listen)
            .await
            .with_context(|| format!("cannot listen on {}", cfg.listen))?;
        let bound = listener.local_addr()?;
        if !bound.ip().is_loopback() {
            // Always said, even with --quiet: it is a choice with a reach.
            eprintln!(
                "credaudit serve: listening on {bound}, not a loopback address: anyone who can reach this host can query it"
            );
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        let served: Vec<String> = [&corpora.sha1, &corpora.ntlm]
            .into_iter()
            .flatten()
            .map(|c| format!("{} ({} hashes)", c.kind(), c.entries()))
            .collect();
        eprintln!(
            "credaudit serve: listening on {scheme}://{bound} ({})",
            served.join(", ")
        );
        let shared = Arc::new(Shared {
            server: Server {
                corpora,
                metrics: Default::default(),
            },
            log,
        });
        accept_loop(listener, shared, tls, cfg, stop).await;
        say("stopped".into());
        Ok(0)
    })
}

/// Accept until a stop signal, then drain.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    cfg: &ServeConfig,
    stop: impl std::future::Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(cfg.max_connections));
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut stop => break,
        };
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                // Out of descriptors and the like: back off, keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let timeout = cfg.header_timeout;
        tokio::spawn(async move {
            shared.server.metrics.connection_opened();
            connection(tcp, shared.clone(), tls, timeout, watcher).await;
            shared.server.metrics.connection_closed();
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {}
    }
}

/// One connection, to its end: HTTP/1.1 on plain TCP; over TLS, HTTP/2
/// when ALPN chose it.
async fn connection(
    tcp: TcpStream,
    shared: Arc<Shared>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    timeout: Duration,
    watcher: Watcher,
) {
    let service = service_fn(move |req: hyper::Request<Incoming>| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(&shared, &req)) }
    });
    let Some(acceptor) = tls else {
        let _ = watcher
            .watch(http1(timeout).serve_connection(TokioIo::new(tcp), service))
            .await;
        return;
    };
    let Ok(Ok(stream)) = tokio::time::timeout(timeout, acceptor.accept(tcp)).await else {
        return;
    };
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    let io = TokioIo::new(stream);
    if h2 {
        let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .max_header_list_size(MAX_HEAD as u32)
            .max_concurrent_streams(100)
            .keep_alive_interval(timeout)
            .keep_alive_timeout(timeout);
        let _ = watcher.watch(builder.serve_connection(io, service)).await;
    } else {
        let _ = watcher
            .watch(http1(timeout).serve_connection(io, service))
            .await;
    }
}

fn http1(timeout: Duration) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .max_buf_size(MAX_HEAD)
        .keep_alive(true);
    builder
}

fn handle(shared: &Shared, req: &hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let started = Instant::now();
    let answer = shared.server.respond(
        &Request {
            method: req.method(),
            path: req.uri().path(),
            query: req.uri().query(),
            headers: req.headers(),
        },
        started,
    );
    shared.server.metrics.record(&answer.answered);
    if let Some(log) = &shared.log {
        let target = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().path(), |p| p.as_str());
        log.log(
            req.method().as_str(),
            target,
            answer.coding.label(),
            &answer.answered,
        );
    }
    answer.response
}

/// A future that resolves at SIGTERM or SIGINT; the handlers are in place
/// when this returns.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
