//! `credaudit serve`: the Pwned Passwords range API served from a local
//! corpus, driven by real clients (credaudit's own `audit --api` and
//! `download --api`, curl, raw sockets, and the third-party downloader
//! `hibp-downloader`) and checked against the corpus it serves: every
//! protocol point of the contract, each bad request included.
//!
//! curl must be installed (it is the HTTP client of most of these tests).
//! The `hibp-downloader` test passes with a message when python3 or the
//! package (`pip install hibp-downloader`) is absent.
mod common;

use common::*;
use credaudit::hash::{encode_hex, ntlm, sha1};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------
// The corpora served, and what they say each prefix holds.

/// A corpus as the tests know it: upper-case hex hash -> count, in order.
type Corpus = BTreeMap<String, u64>;

/// Counts of every width a store keeps differently: inline (1..=254),
/// just over (255), and large ones in the overflow table.
const COUNTS: [u64; 7] = [1, 17, 254, 255, 1_000, 3_861_493, 1 << 40];

/// Passwords planted in the SHA-1 corpus with their counts.
const PLANTED: [(&str, u64); 4] = [
    ("password", 9_659_365),
    ("123456", 37_359_195),
    ("letmein", 1_034_827),
    ("qwerty", 10_556_095),
];

/// The range around "password" (5BAA6) is dense: every prefix of it has
/// lines, and 5BAAC has the most of any prefix in the corpus.
const DENSE: std::ops::RangeInclusive<u32> = 0x5BAA0..=0x5BAAF;
const BIGGEST_PREFIX: u32 = 0x5BAAC;
const BIGGEST: usize = 90;

/// Accounts of the plaintext export; every fourth password is in the corpus.
const USERS: usize = 300;

/// "1E4C9B93F3F0682250B6CF8331B7EE68FD8" at 5BAA6: SHA-1("password").
const PASSWORD_LINE: &str = "1E4C9B93F3F0682250B6CF8331B7EE68FD8:9659365\r\n";

fn user_password(i: usize) -> String {
    format!("Serve-Test-{i:04}!")
}

fn sha1_hex(password: &str) -> String {
    encode_hex(&sha1(password.as_bytes()))
}

fn ntlm_hex(password: &str) -> String {
    encode_hex(&ntlm(password.as_bytes()).unwrap())
}

/// 3,000 random hashes over the whole space, a dense block of prefixes
/// around "password", the planted passwords and a quarter of the users'.
fn sha1_corpus() -> Corpus {
    let mut rng = Rng(0x5EED_0000_5E12_7E01);
    let mut corpus = Corpus::new();
    for i in 0..3000 {
        corpus.insert(encode_hex(&rng.hash()), COUNTS[i % COUNTS.len()]);
    }
    for prefix in DENSE {
        let n = if prefix == BIGGEST_PREFIX {
            BIGGEST
        } else {
            4 + 2 * (prefix & 0xF) as usize
        };
        for j in 0..n {
            let mut h = rng.hash();
            h[0] = (prefix >> 12) as u8;
            h[1] = (prefix >> 4) as u8;
            h[2] = ((prefix & 0xF) as u8) << 4 | (h[2] & 0x0F);
            corpus.insert(encode_hex(&h), COUNTS[j % COUNTS.len()] + j as u64);
        }
    }
    for (password, count) in PLANTED {
        corpus.insert(sha1_hex(password), count);
    }
    for i in (0..USERS).step_by(4) {
        corpus.insert(sha1_hex(&user_password(i)), COUNTS[i % COUNTS.len()]);
    }
    corpus
}

/// A `HASH:COUNT` file (the downloader's single-file layout).
fn read_corpus(path: &Path) -> Corpus {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let (h, c) = l.trim_end().split_once(':').unwrap();
            (h.to_ascii_uppercase(), c.parse().unwrap())
        })
        .collect()
}

/// The corpus as a sorted `HASH:COUNT` CRLF file.
fn corpus_text<'a>(entries: impl IntoIterator<Item = (&'a String, &'a u64)>) -> String {
    entries
        .into_iter()
        .map(|(h, c)| format!("{h}:{c}\r\n"))
        .collect()
}

/// What the source says a prefix holds, as a range body: `SUFFIX:COUNT`
/// CRLF lines, sorted.
fn body_of(corpus: &Corpus, prefix: &str) -> String {
    let prefix = prefix.to_ascii_uppercase();
    corpus
        .range(prefix.clone()..)
        .take_while(|(h, _)| h.starts_with(&prefix))
        .map(|(h, c)| format!("{}:{c}\r\n", &h[5..]))
        .collect()
}

/// Entries per 5-hex prefix, at most.
fn max_prefix_entries(corpus: &Corpus) -> u64 {
    let mut per: BTreeMap<&str, u64> = BTreeMap::new();
    for h in corpus.keys() {
        *per.entry(&h[..5]).or_default() += 1;
    }
    per.into_values().max().unwrap()
}

fn hex5(p: u32) -> String {
    format!("{p:05X}")
}

/// A prefix past the dense block that has no line but lies inside the
/// corpus's coverage (lines before and after it).
fn empty_prefix(corpus: &Corpus) -> String {
    (0x5BAB0..)
        .map(hex5)
        .find(|p| body_of(corpus, p).is_empty())
        .unwrap()
}

/// A working directory with the corpora every server test serves:
/// `sha1.txt` (generated) and `ntlm.txt` (the NTLM fixture), both as text
/// and as `--full-keys` stores (`sha1.cas`, `ntlm.cas`).
struct Setup {
    wd: Workdir,
    sha1: Corpus,
    ntlm: Corpus,
}

fn setup() -> Setup {
    let wd = Workdir::new();
    let sha1 = sha1_corpus();
    let text = wd.write("sha1.txt", corpus_text(&sha1));
    // An old modification time, so that Last-Modified (if it is the
    // source's) leaves room for later If-Modified-Since dates.
    let jan_2024 = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
    std::fs::File::options()
        .write(true)
        .open(&text)
        .unwrap()
        .set_modified(jan_2024)
        .unwrap();
    let ntlm_fixture = fixture("hibp/ntlm-sample.txt");
    wd.write("ntlm.txt", std::fs::read(&ntlm_fixture).unwrap());
    let ntlm = read_corpus(&ntlm_fixture);
    for (out, source) in [("sha1.cas", "sha1.txt"), ("ntlm.cas", "ntlm.txt")] {
        wd.cmd(&["index", "build", "-q", "--full-keys", "--out", out, source])
            .run()
            .code(0);
    }
    std::fs::create_dir_all(wd.path("tmp")).unwrap();
    Setup { wd, sha1, ntlm }
}

/// The plaintext export: the planted passwords, then USERS accounts.
fn write_users(wd: &Workdir) -> BTreeSet<String> {
    let mut csv = String::from("email,password\n");
    for (i, (password, _)) in PLANTED.iter().enumerate() {
        csv.push_str(&format!("planted{i}@example.com,{password}\n"));
    }
    for i in 0..USERS {
        csv.push_str(&format!("user{i}@example.com,{}\n", user_password(i)));
    }
    wd.write("users.csv", csv);
    PLANTED
        .iter()
        .map(|(p, _)| p.to_string())
        .chain((0..USERS).map(user_password))
        .map(|p| sha1_hex(&p)[..5].to_string())
        .collect()
}

/// An NTLM dump (`user:nthash`): fixture passwords and clean ones.
fn write_ntlm_dump(wd: &Workdir) {
    let mut dump = String::new();
    for (user, password) in [
        ("jdoe", "password"),
        ("root", "qwerty"),
        ("eve", "pässwörd"),
        ("sam", "rarely-seen-pw"),
    ] {
        dump.push_str(&format!("{user}:{}\n", ntlm_hex(password)));
    }
    for i in 0..40 {
        dump.push_str(&format!("u{i}:{}\n", ntlm_hex(&user_password(i))));
    }
    wd.write("dump.txt", dump);
}

/// Reset-list rows without the `sources` column (a file name in one run,
/// the server's address in the other).
fn without_sources(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|mut r| {
            r[4].clear();
            r
        })
        .collect()
}

fn with_reason(run: &Run, reason: &str) -> BTreeSet<String> {
    run.rows()
        .into_iter()
        .filter(|r| r[2].split(';').any(|x| x == reason))
        .map(|r| r[0].clone())
        .collect()
}

/// The range API source's request counters from a summary file.
fn api_requests(wd: &Workdir, summary: &str) -> serde_json::Value {
    let s: serde_json::Value = serde_json::from_str(&wd.read(summary)).unwrap();
    s["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["kind"] == "range-api")
        .expect("range API in summary")["lookups"][0]["requests"]
        .clone()
}

fn cmd(wd: &Workdir, args: &[String]) -> Cmd {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    wd.cmd(&args)
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

// ---------------------------------------------------------------------------
// The server under test.

/// A running `credaudit serve`, killed when dropped.
struct Server {
    child: Option<Child>,
    /// Where clients connect: the printed URL, with 127.0.0.1 for an
    /// unspecified host.
    url: String,
    /// The URL as printed on the listening line.
    printed: String,
    addr: SocketAddr,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    /// Stderr lines up to and including the listening line.
    startup: usize,
}

/// The URL of a line containing `listening on http://HOST:PORT`.
fn listening_url(line: &str) -> Option<String> {
    let at = line.find("listening on http")?;
    let url = line[at + "listening on ".len()..]
        .split_whitespace()
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit());
    Some(url.to_string())
}

impl Server {
    /// Start serving (on 127.0.0.1:0 unless `args` has `--listen`) and
    /// wait for the listening line.
    fn start(wd: &Workdir, args: &[&str]) -> Server {
        match Server::try_start(wd, args) {
            Ok(server) => server,
            Err(run) => panic!(
                "serve {args:?} exited with {} before listening\n--- stderr\n{}\n--- stdout\n{}",
                run.code, run.stderr, run.stdout
            ),
        }
    }

    /// The server, or how it ended when it exited before listening.
    fn try_start(wd: &Workdir, args: &[&str]) -> Result<Server, Run> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_credaudit"));
        command
            .current_dir(wd.path(""))
            .arg("serve")
            .args(args)
            .env("XDG_CACHE_HOME", wd.path(".cache"))
            .env("TMPDIR", wd.path("tmp"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::fs::create_dir_all(wd.path("tmp")).unwrap();
        if !args.contains(&"--listen") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        let mut child = command.spawn().expect("spawn credaudit serve");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let lines = stderr.clone();
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match err.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf)
                            .trim_end_matches(['\r', '\n'])
                            .to_string();
                        lines.lock().unwrap().push(line.clone());
                        let _ = tx.send(line);
                    }
                }
            }
        });
        let mut out = child.stdout.take().unwrap();
        let bytes = stdout.clone();
        let out_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                bytes.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = 0;
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    seen += 1;
                    if let Some(printed) = listening_url(&line) {
                        let (scheme, hostport) = printed.split_once("://").unwrap();
                        let mut addr: SocketAddr = hostport
                            .parse()
                            .unwrap_or_else(|e| panic!("{hostport:?} in {line:?}: {e}"));
                        if addr.ip().is_unspecified() {
                            addr.set_ip([127, 0, 0, 1].into());
                        }
                        return Ok(Server {
                            child: Some(child),
                            url: format!("{scheme}://{addr}"),
                            printed: printed.clone(),
                            addr,
                            stderr,
                            stdout,
                            readers: vec![err_reader, out_reader],
                            startup: seen,
                        });
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().unwrap();
                    let _ = err_reader.join();
                    let _ = out_reader.join();
                    let stderr = stderr.lock().unwrap().join("\n");
                    let stdout = String::from_utf8_lossy(&stdout.lock().unwrap()).into_owned();
                    return Err(Run {
                        code: status.code().unwrap_or(-1),
                        stdout,
                        stderr,
                    });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "serve {args:?}: no listening line within 60 s\n{}",
                        stderr.lock().unwrap().join("\n")
                    );
                }
            }
        }
    }

    fn range(&self, prefix: &str) -> String {
        format!("{}/range/{prefix}", self.url)
    }

    fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Send `signal`, wait (at most 15 s) for the exit, and return how it
    /// ended, with all it printed.
    fn stop(mut self, signal: i32) -> Run {
        let mut child = self.child.take().unwrap();
        // SAFETY: kill(2) on the pid of a child not yet reaped.
        unsafe {
            libc::kill(child.id() as libc::pid_t, signal);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "serve still running 15 s after signal {signal}\n{}",
                    self.stderr_lines().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        // Killed by a signal: minus its number (-15: SIGTERM's default action).
        let code = status.code().unwrap_or_else(|| {
            -std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(1)
        });
        Run {
            code,
            stdout: String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned(),
            stderr: self.stderr_lines().join("\n"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How serve ended when it refused to start.
fn refused(wd: &Workdir, args: &[&str]) -> Run {
    match Server::try_start(wd, args) {
        Ok(server) => panic!(
            "serve {args:?} started on {}: expected a refusal",
            server.printed
        ),
        Err(run) => {
            assert!(
                !run.stderr.contains("panicked"),
                "{args:?} panicked:\n{}",
                run.stderr
            );
            run
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP clients: curl, and raw sockets for what curl will not send.

/// One HTTP response.
#[derive(Debug)]
struct Resp {
    status: u16,
    /// `1.1` or `2` (curl's `%{http_version}`; from the status line for
    /// raw responses).
    version: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    fn expect(&self, status: u16) -> &Resp {
        assert_eq!(
            self.status,
            status,
            "headers {:?}\nbody {:?}",
            self.headers,
            self.text()
        );
        self
    }
}

/// Status and headers of the last response head in `text`.
fn parse_head(text: &str) -> (u16, String, Vec<(String, String)>) {
    let lines: Vec<&str> = text.split("\r\n").collect();
    let start = lines
        .iter()
        .rposition(|l| l.starts_with("HTTP/"))
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let mut words = lines[start].split_whitespace();
    let version = words
        .next()
        .unwrap()
        .trim_start_matches("HTTP/")
        .to_string();
    let status = words.next().unwrap().parse().unwrap();
    let headers = lines[start + 1..]
        .iter()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, version, headers)
}

fn curl_features() -> &'static str {
    static FEATURES: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FEATURES.get_or_init(|| {
        let out = Command::new("curl")
            .arg("-V")
            .output()
            .unwrap_or_else(|e| panic!("tests/serve.rs needs curl (apt-get install curl): {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
}

/// Run curl with `args` (the URL among them); the body is not decoded
/// unless `--compressed` is given.
fn curl(args: &[&str]) -> Resp {
    curl_features();
    let head = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-D"])
        .arg(head.path())
        .args(["-w", "%{stderr}%{http_version}\n"])
        .args(args)
        .output()
        .expect("run curl");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "curl {args:?}: {stderr}");
    let text = std::fs::read_to_string(head.path()).unwrap();
    let (status, _, headers) = parse_head(&text);
    Resp {
        status,
        version: stderr.lines().last().unwrap_or("").trim().to_string(),
        headers,
        body: out.stdout,
    }
}

fn get(url: &str) -> Resp {
    curl(&[url])
}

/// A request with `Connection: close`.
fn request(method: &str, target: &str, headers: &[&str]) -> Vec<u8> {
    let mut r = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    r.push_str("Connection: close\r\n\r\n");
    r.into_bytes()
}

/// Send raw bytes on a new connection and read everything until the
/// server closes it.
fn raw(addr: SocketAddr, request: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(request);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if buf.is_empty() => panic!("no response: {e}"),
            Err(_) => break,
        }
    }
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(&buf)));
    let (status, version, headers) = parse_head(&String::from_utf8_lossy(&buf[..end + 2]));
    Resp {
        status,
        version,
        headers,
        body: buf[end + 4..].to_vec(),
    }
}

/// Read one response from a keep-alive connection: (status, body).
fn read_response(r: &mut impl BufRead) -> std::io::Result<(u16, Vec<u8>)> {
    let (mut status, mut length, mut chunked) = (0u16, 0usize, false);
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end();
        if status == 0 {
            status = l.split_whitespace().nth(1).unwrap().parse().unwrap();
        } else if l.is_empty() {
            break;
        } else if let Some((n, v)) = l.split_once(':') {
            match n.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse().unwrap(),
                "transfer-encoding" => chunked = v.contains("chunked"),
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16).unwrap();
            let mut chunk = vec![0u8; size + 2];
            r.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk[..size]);
            if size == 0 {
                break;
            }
        }
    } else {
        body.resize(length, 0);
        r.read_exact(&mut body)?;
    }
    Ok((status, body))
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip body");
    out
}

/// Sum of a Prometheus metric's series whose labels include `want`.
fn metric(text: &str, name: &str, want: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if n != name {
                return None;
            }
            let labels: Vec<(&str, &str)> = labels
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.trim(), v.trim_matches('"')))
                .collect();
            want.iter()
                .all(|w| labels.contains(w))
                .then(|| value.parse::<f64>().unwrap())
        })
        .sum()
}

// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), both ways, as Unix seconds.

fn parse_http_date(s: &str) -> i64 {
    let t = httpdate::parse_http_date(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
    assert_eq!(httpdate::fmt_http_date(t), s, "a well-formed IMF-fixdate");
    t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn fmt_http_date(secs: i64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs as u64))
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Body lines (each `SUFFIX:COUNT`, CRLF after each).
fn body_lines(body: &str) -> Vec<&str> {
    assert!(
        body.is_empty() || body.ends_with("\r\n"),
        "CRLF after every line: {:?}",
        &body[body.len().saturating_sub(50)..]
    );
    body.split_terminator("\r\n").collect()
}

/// Every line well formed: `width` upper-case hex digits, `:`, a count.
fn assert_lines_well_formed(lines: &[&str], width: usize) {
    for line in lines {
        let (suffix, count) = line.split_once(':').expect("SUFFIX:COUNT");
        assert!(
            suffix.len() == width
                && suffix
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
            "suffix of {line:?}"
        );
        assert!(
            !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()),
            "count of {line:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// 1. credaudit's own clients get exactly the source's answers.

/// `download --api` against the server writes exactly the source's lines
/// for each prefix (and the sorted file of the range), revalidates an
/// unchanged mirror with 304s, mirrors NTLM and an empty prefix.
#[test]
fn download_through_the_server_mirrors_exactly_the_source() {
    let s = setup();
    let server = Server::start(&s.wd, &["--corpus", "sha1.cas", "--corpus", "ntlm.txt"]);
    let api = format!("--api={}", server.url);
    let download = |extra: &str| {
        let mut args = words(&format!(
            "download --out mirror --prefixes 5BAA0-5BAAF --sorted-file all.txt {extra}"
        ));
        args.push(api.clone());
        cmd(&s.wd, &args).run()
    };
    download("")
        .code(0)
        .says("16 of 16 prefixes present; 16 fetched");
    for p in DENSE.map(hex5) {
        let expected = body_of(&s.sha1, &p);
        assert!(!expected.is_empty());
        assert_eq!(s.wd.read(&format!("mirror/{p}.txt")), expected, "{p}");
    }
    assert!(s.wd.read("mirror/5BAA6.txt").contains(PASSWORD_LINE));
    let range: String = corpus_text(s.sha1.range("5BAA0".to_string().."5BAB0".to_string()));
    assert_eq!(s.wd.read("all.txt"), range);
    // Revalidation: the unchanged mirror is all 304s.
    download("--refresh")
        .code(0)
        .says("0 fetched, 16 not modified");
    s.wd.cmd(&[
        "download",
        "--verify",
        "--out",
        "mirror",
        "--prefixes",
        "5BAA0-5BAAF",
    ])
    .run()
    .code(0);

    // NTLM, through the source compiled at start.
    let mut args = words("download --ntlm --out nt --prefixes 8846F");
    args.push(api.clone());
    cmd(&s.wd, &args).run().code(0);
    let nt = s.wd.read("nt/8846F.txt");
    assert_eq!(nt, body_of(&s.ntlm, "8846F"));
    assert!(nt.contains(&format!("{}:9659365\r\n", &NTLM_PASSWORD[5..])));

    // A prefix without lines, inside the corpus's coverage: an empty 200,
    // an empty mirror file.
    let empty = empty_prefix(&s.sha1);
    let mut args = words(&format!("download --out m2 --prefixes {empty}"));
    args.push(api);
    cmd(&s.wd, &args).run().code(0);
    assert_eq!(s.wd.read(&format!("m2/{empty}.txt")), "");
}

/// `audit --api` against the server flags exactly the accounts (with the
/// same counts) that an audit of the source corpus does, padded or not; a
/// cached run revalidated with `--max-age 0` gets a 304 for every prefix.
#[test]
fn audit_api_through_the_server_gives_the_corpus_answers() {
    let s = setup();
    let prefixes = write_users(&s.wd);
    let server = Server::start(&s.wd, &["--corpus", "sha1.cas", "--corpus", "ntlm.cas"]);
    let local =
        s.wd.cmd(&["audit", "users.csv", "--no-cache", "--corpus", "sha1.txt"])
            .run()
            .code(1);
    let pwned = with_reason(&local, "pwned");
    assert_eq!(pwned.len(), PLANTED.len() + USERS / 4, "{}", local.stdout);
    for extra in [&[][..], &["--no-padding"][..]] {
        let api =
            s.wd.cmd(&["audit", "users.csv", "--no-cache"])
                .arg(format!("--api={}", server.url));
        let api = extra
            .iter()
            .fold(api, |c, a| c.arg(a))
            .run()
            .code(local.code);
        assert_eq!(
            without_sources(api.rows()),
            without_sources(local.rows()),
            "{extra:?}"
        );
        assert!(with_reason(&api, "unchecked").is_empty(), "{}", api.stderr);
    }
    // Cached, then revalidated: one 304 per prefix, the same answers.
    let cached = |max_age: &str| {
        s.wd.cmd(&[
            "audit",
            "users.csv",
            "--cache-dir",
            "cache",
            "--summary",
            "s.json",
            "--max-age",
            max_age,
        ])
        .arg(format!("--api={}", server.url))
        .run()
        .code(local.code)
    };
    cached("3600");
    let run = cached("0");
    assert_eq!(without_sources(run.rows()), without_sources(local.rows()));
    let requests = api_requests(&s.wd, "s.json");
    assert_eq!(requests["not_modified"], prefixes.len(), "{requests}");
    assert_eq!(requests["failed_prefixes"], 0, "{requests}");
}

/// NTLM hashes are asked with `?mode=ntlm`: the same answers as the NTLM
/// corpus, from a text source compiled at start.
#[test]
fn audit_api_in_ntlm_mode_gives_the_corpus_answers() {
    let s = setup();
    write_ntlm_dump(&s.wd);
    let server = Server::start(&s.wd, &["--corpus", "ntlm.txt", "--corpus", "sha1.cas"]);
    let local =
        s.wd.cmd(&["audit", "dump.txt", "--no-cache", "--corpus", "ntlm.txt"])
            .run()
            .code(1);
    assert_eq!(
        with_reason(&local, "pwned"),
        ["eve", "jdoe", "root", "sam"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let api =
        s.wd.cmd(&["audit", "dump.txt", "--no-cache"])
            .arg(format!("--api={}", server.url))
            .run()
            .code(1);
    assert_eq!(without_sources(api.rows()), without_sources(local.rows()));
}

// ---------------------------------------------------------------------------
// 2. The protocol, with curl and raw sockets.

/// A 200 has every header of the contract and exactly the source's lines;
/// a lower-case prefix is the same resource; `mode=sha1` is the default.
#[test]
fn range_responses_carry_the_contract_headers() {
    let s = setup();
    let server = Server::start(&s.wd, &["--corpus", "sha1.cas", "--corpus", "ntlm.cas"]);
    let r = get(&server.range("5BAA6"));
    r.expect(200);
    assert_eq!(r.text(), body_of(&s.sha1, "5BAA6"));
    assert!(r.text().contains(PASSWORD_LINE));
    assert_lines_well_formed(&body_lines(&r.text()), 35);
    assert!(
        r.header("content-type").unwrap().starts_with("text/plain"),
        "{:?}",
        r.headers
    );
    let cache = r.header("cache-control").unwrap().to_ascii_lowercase();
    assert!(cache.contains("public"), "{cache}");
    let max_age = cache
        .split(',')
        .find_map(|d| d.trim().strip_prefix("max-age="))
        .unwrap_or_else(|| panic!("no max-age in {cache}"));
    assert!(max_age.parse::<u64>().unwrap() > 0, "{cache}");
    let etag = r.header("etag").unwrap();
    assert!(
        etag.starts_with("W/\"") && etag.ends_with('"') && etag.len() > 4,
        "{etag}"
    );
    let modified = parse_http_date(r.header("last-modified").unwrap());
    assert!(modified <= now_unix() + 1);
    let vary = r.header("vary").unwrap().to_ascii_lowercase();
    assert!(vary.contains("accept-encoding"), "{vary}");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("content-encoding"),
        None,
        "curl asked for no coding"
    );
    if let Some(length) = r.header("content-length") {
        assert_eq!(length.parse::<usize>().unwrap(), r.body.len());
    }

    // Case does not matter in the prefix; suffixes are upper-case.
    for p in ["5baa6", "5bAa6"] {
        let lower = get(&server.range(p));
        lower.expect(200);
        assert_eq!(lower.body, r.body, "{p}");
        assert_eq!(lower.header("etag"), Some(etag), "{p}");
    }
    let explicit = get(&format!("{}?mode=sha1", server.range("5BAA6")));
    explicit.expect(200);
    assert_eq!(explicit.body, r.body);

    // The largest prefix, and one without lines inside the coverage.
    let big = get(&server.range(&hex5(BIGGEST_PREFIX)));
    big.expect(200);
    assert_eq!(big.text(), body_of(&s.sha1, &hex5(BIGGEST_PREFIX)));
    assert_eq!(body_lines(&big.text()).len(), BIGGEST);
    let empty = get(&server.range(&empty_prefix(&s.sha1)));
    empty.expect(200);
    assert_eq!(empty.text(), "");

    // NTLM: 27-hex suffixes.
    let nt = get(&format!("{}?mode=ntlm", server.range("8846F")));
    nt.expect(200);
    assert_eq!(nt.text(), body_of(&s.ntlm, "8846F"));
    assert_lines_well_formed(&body_lines(&nt.text()), 27);
    assert!(nt.header("etag").unwrap().starts_with("W/\""));
    let nt_lower = get(&format!("{}?mode=ntlm", server.range("8846f")));
    assert_eq!(nt_lower.body, nt.body);

    // HEAD: the same head, no body (raw, to see that none is sent).
    let head = raw(server.addr, &request("HEAD", "/range/5BAA6", &[]));
    head.expect(200);
    assert!(head.body.is_empty(), "HEAD sent a body: {:?}", head.text());
    assert_eq!(head.header("etag"), Some(etag));
    assert_eq!(head.header("last-modified"), r.header("last-modified"));
    if let Some(length) = head.header("content-length") {
        assert_eq!(length.parse::<usize>().unwrap(), r.body.len());
    }
    let curl_head = curl(&["-I", &server.range("5BAA6")]);
    curl_head.expect(200);
    assert_eq!(curl_head.header("etag"), Some(etag));
}

/// 304 on a matching `If-None-Match` (also with padding asked, as
/// credaudit's cache revalidates) or on `If-Modified-Since` not before
/// `Last-Modified`; 200 otherwise.
#[test]
fn conditional_requests_get_304() {
    let s = setup();
    let server = Server::start(&s.wd, &["--corpus", "sha1.cas"]);
    let url = server.range("5BAA6");
    let r = get(&url);
    r.expect(200);
    let etag = r.header("etag").unwrap().to_string();
    let last_modified = r.header("last-modified").unwrap().to_string();
    let modified = parse_http_date(&last_modified);
    let conditional = |headers: &[String]| {
        let mut args: Vec<&str> = Vec::new();
        for h in headers {
            args.extend(["-H", h.as_str()]);
        }
        args.push(&url);
        curl(&args)
    };
    for headers in [
        vec![format!("If-None-Match: {etag}")],
        vec![format!("If-None-Match: W/\"other\", {etag}")],
        vec![format!("If-None-Match: {etag}"), "Add-Padding: true".into()],
        vec![
            format!("If-None-Match: {etag}"),
            "Accept-Encoding: gzip".into(),
        ],
        vec![format!("If-Modified-Since: {last_modified}")],
        vec![
            format!("If-Modified-Since: {last_modified}"),
            "Add-Padding: true".into(),
        ],
    ] {
        let r = conditional(&headers);
        assert_eq!(r.status, 304, "{headers:?}: {:?}", r.headers);
        assert!(r.body.is_empty(), "{headers:?}: a 304 has no body");
        assert_eq!(r.header("etag"), Some(etag.as_str()), "{headers:?}");
    }
    if modified + 86400 < now_unix() {
        let later = fmt_http_date(modified + 86400);
        conditional(&[format!("If-Modified-Since: {later}")]).expect(304);
    }
    for headers in [
        vec!["If-None-Match: W/\"other\"".to_string()],
        vec![format!(
            "If-Modified-Since: {}",
            fmt_http_date(modified - 1)
        )],
        vec![format!(
            "If-Modified-Since: {}",
            fmt_http_date(modified - 86400)
        )],
        vec!["If-Modified-Since: not a date".to_string()],
    ] {
        let r = conditional(&headers);
        assert_eq!(r.status, 200, "{headers:?}");
        assert_eq!(r.text(), body_of(&s.sha1, "5BAA6"), "{headers:?}");
    }
    // Another prefix's validator does not make this one fresh.
    let other = get(&server.range("5BAA7"));
    other.expect(200);
    if other.header("etag") != Some(etag.as_str()) {
        conditional(&[format!("If-None-Match: {}", other.header("etag").unwrap())]).expect(200);
    }
}

/// RFC 9110 details of `If-None-Match`: weak comparison (the strong form
/// of the weak tag matches), `*` matches, and when it is present and does
/// not match, `If-Modified-Since` is ignored.
#[test]
fn if_none_match_follows_rfc_9110() {
    let s = setup();
    let server = Server::start(&s.wd, &["--corpus", "sha1.cas"]);
    let url = server.range("5BAA6");
    let r = get(&url);
    let etag = r.header("etag").unwrap().to_string();
    let last_modified = r.header("last-modified").unwrap().to_string();
    let strong = etag.trim_start_matches("W/").to_string();
    let h = |v: String| curl(&["-H", &v, &url]);
    h(format!("If-None-Match: {strong}")).expect(304);
    h("If-None-Match: *".into()).expect(304);
    let both = curl(&[
        "-H",
        "If-None-Match: W/\"stale\"",
        "-H",
        &format!("If-Modified-Since: {last_modified}"),
        &url,
    ]);
    both.expect(200);
    assert_eq!(both.text(), body_of(&s.sha1, "5BAA6"));
}

/// Every malformed request gets its 4xx with the contract's body.
#[test]
fn bad_requests_get_400_404_and_405() {
    let s = setup();
    let server = Server::start(&s.wd, &["--corpus", "sha1.cas"]);
    for bad in ["5BAA", "5BAA61", "5BAAG", "ZZZZZ", "5BA-6", "5BAA6%00"] {
        let r = get(&server.range(bad));
        r.expect(400);
        assert_eq!(
            r.text().trim(),
            "The hash prefix was not in a valid format",
            "{bad}"
        );
    }
    for mode in ["bogus", "sha256", "ntlm2", "md5"] {
        let r = get(&format!("{}?mode={mode}", server.range("5BAA6")));
        assert_eq!(r.status, 400, "mode={mode}: {}", r.text());
    }
    // This server has no NTLM corpus: mode=ntlm names what is missing.
    let r = get(&format!("{}?mode=ntlm", server.range("8846F")));
    r.expect(400);
    assert_eq!(r.text().trim(), "This server has no NTLM corpus");
    assert_eq!(r.text().trim_end().lines().count(), 1);

    for path in [
        "/",
        "/range",
        "/ranges/5BAA6",
        "/foo",
        "/range5BAA6",
        "/healthz/x",
    ] {
        let r = get(&format!("{}{path}", server.url));
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.text().trim(), "Not found", "{path}");
    }

    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        for path in ["/range/5BAA6", "/healthz", "/metrics"] {
            let r = curl(&["-X", method, &format!("{}{path}", server.url)]);
            assert_eq!(r.status, 405, "{method} {path}");
            assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method} {path}");
        }
    }
    // A method curl does not know, raw.
    let r = raw(server.addr, &request("BREW", "/range/5BAA6", &[]));
    r.expect(405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
}

/// A server with only an NTLM corpus refuses SHA-1 requests, naming the
/// corpus it lacks.
#[test]
fn an_ntlm_only_server_refuses_sha1_requests() {
    let s = setup();
    let server = Server::start(&s.wd, &["--corpus", "ntlm.cas"]);
    for url in [
        server.range("5BAA6"),
        format!("{}?mode=sha1", server.range("5BAA6")),
    ] {
        let r = get(&url);
        r.expect(400);
        let body = r.text();
        assert_eq!(body.trim_end().lines().count(), 1, "{body}");
        assert!(
            body.contains("no SHA-1 corpus") || body.contains("no SHA1 corpus"),
            "{body}"
        );
    }
    let nt = get(&format!("{}?mode=ntlm", server.range("8846F")));
    nt.expect(200);
    assert_eq!(nt.text(), body_of(&s.ntlm, "8846F"));
}

/// A store built with `--allow-missing` from a corpus that stops early:
/// prefixes past its end answer 503 with Retry-After and no-store; those
/// before it answer; `audit --api` leaves exactly the same accounts
/// unchecked as an audit of the store itself.
#[test]
fn prefixes_without_data_answer_503() {
    let s = setup();
    // The first 30 % of the corpus: it ends before the dense block's
    // neighbours beyond it.
    let cut: Corpus = s
        .sha1
        .iter()
        .take(s.sha1.len() * 3 / 10)
        .map(|(h, c)| (h.clone(), *c))
        .collect();
    let last = cut.keys().last().unwrap().clone();
    s.wd.write("cut.txt", corpus_text(&cut));
    s.wd.cmd(&[
        "index",
        "build",
        "-q",
        "--full-keys",
        "--allow-missing",
        "--out",
        "cut.cas",
        "cut.txt",
    ])
    .run()
    .code(0);
    let server = Server::start(&s.wd, &["--corpus", "cut.cas"]);
    for p in ["FFFFF", "C0000", "5BAA6"] {
        assert!(p > &last[..5]);
        let r = get(&server.range(p));
        r.expect(503);
        let retry = r.header("retry-after").expect("Retry-After");
        assert!(retry.parse::<u64>().is_ok(), "Retry-After: {retry}");
        assert!(
            r.header("cache-control")
                .unwrap_or("")
                .to_ascii_lowercase()
                .contains("no-store"),
            "{:?}",
            r.headers
        );
    }
    let first = &cut.keys().next().unwrap()[..5];
    let r = get(&server.range(first));
    r.expect(200);
    assert_eq!(r.text(), body_of(&cut, first));

    write_users(&s.wd);
    let local =
        s.wd.cmd(&["audit", "users.csv", "--corpus", "cut.cas"])
            .run()
            .code(3);
    let api =
        s.wd.cmd(&["audit", "users.csv", "--no-cache", "--retries", "0"])
            .arg(format!("--api={}", server.url))
            .run()
            .code(3);
    let unchecked = with_reason(&local, "unchecked");
    assert!(unchecked.len() > USERS / 2, "{}", local.stdout);
    assert_eq!(with_reason(&api, "unchecked"), unchecked);
    assert_eq!(with_reason(&api, "pwned"), with_reason(&local, "pwned"));
}

/// gzip and br as the client rates them (gzip on a tie, identity when
/// neither is acceptable), decoding to the identity body.
#[test]
fn gzip_and_brotli_are_negotiated() {
    let s = setup();
    let server = Server::start(&s.wd, &["--corpus", "sha1.cas"]);
    let url = server.range("5BAA6");
    let plain = body_of(&s.sha1, "5BAA6");
    let with = |accept: &str| curl(&["-H", &format!("Accept-Encoding: {accept}"), &url]);
    for (accept, coding) in [
        ("gzip", Some("gzip")),
        ("gzip, br", Some("gzip")),
        ("br, gzip", Some("gzip")),
        ("gzip, deflate, br, zstd", Some("gzip")),
        ("br", Some("br")),
        ("br;q=1.0, gzip;q=0.5", Some("br")),
        ("deflate", None),
        ("identity", None),
        ("gzip;q=0", None),
    ] {
        let r = with(accept);
        r.expect(200);
        assert_eq!(r.header("content-encoding"), coding, "{accept}");
        let vary = r.header("vary").unwrap_or("").to_ascii_lowercase();
        assert!(vary.contains("accept-encoding"), "{accept}: {vary}");
        match coding {
            Some("gzip") => {
                assert_eq!(&r.body[..2], b"\x1f\x8b", "{accept}");
                assert_eq!(String::from_utf8(gunzip(&r.body)).unwrap(), plain);
            }
            Some(_) => assert_ne!(r.body, plain.as_bytes(), "{accept}: compressed"),
            None => assert_eq!(r.text(), plain, "{accept}"),
        }
    }
    // curl decodes what it asked for.
    let r = curl(&["--compressed", &url]);
    assert_eq!(r.text(), plain);
    if curl_features().contains("brotli") {
        let r = curl(&["--compressed", "-H", "Accept-Encoding: br", &url]);
        assert_eq!(r.header("content-encoding"), Some("br"));
        assert_eq!(r.text(), plain, "br decoded by curl");
    } else {
        eprintln!("curl without brotli: br bodies not decoded");
    }
    // Padded and compressed.
    let r = curl(&[
        "-H",
        "Accept-Encoding: gzip",
        "-H",
        "Add-Padding: true",
        &url,
    ]);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let padded = String::from_utf8(gunzip(&r.body)).unwrap();
    let real: String = body_lines(&padded)
        .into_iter()
        .filter(|l| !l.ends_with(":0"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    assert_eq!(real, plain);
    // An empty body compresses too.
    let empty = empty_prefix(&s.sha1);
    let r = curl(&["-H", "Accept-Encoding: gzip", &server.range(&empty)]);
    r.expect(200);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(gunzip(&r.body).is_empty());
}

// ---------------------------------------------------------------------------
// 3. Padding.

/// `Add-Padding: true`: M..=M+200 lines (M from `index info`), sorted, the
/// real lines exactly once among `:0` ones, fresh every time; without it,
/// no padding.
#[test]
fn padding_fills_every_response_to_m_plus_up_to_200_lines() {
    let s = setup();
    let info = |store: &str| -> u64 {
        let info: serde_json::Value = serde_json::from_str(
            &s.wd
                .cmd(&["index", "info", "--json", store])
                .run()
                .code(0)
                .stdout,
        )
        .unwrap();
        info["meta"]["max_prefix_entries"].as_u64().unwrap()
    };
    let (m_sha1, m_ntlm) = (info("sha1.cas"), info("ntlm.cas"));
    assert_eq!(m_sha1, max_prefix_entries(&s.sha1));
    assert_eq!(m_sha1, BIGGEST as u64);
    assert_eq!(m_ntlm, max_prefix_entries(&s.ntlm));
    let server = Server::start(&s.wd, &["--corpus", "sha1.cas", "--corpus", "ntlm.cas"]);
    let cases = [
        (s.sha1.clone(), m_sha1, 35, hex5(BIGGEST_PREFIX), ""),
        (s.sha1.clone(), m_sha1, 35, "5BAA6".to_string(), ""),
        (s.sha1.clone(), m_sha1, 35, empty_prefix(&s.sha1), ""),
        (
            s.ntlm.clone(),
            m_ntlm,
            27,
            "8846F".to_string(),
            "?mode=ntlm",
        ),
    ];
    for (corpus, m, width, prefix, query) in cases {
        let url = format!("{}{query}", server.range(&prefix));
        let plain = body_of(&corpus, &prefix);
        let unpadded = get(&url);
        assert_eq!(unpadded.text(), plain, "{prefix}");
        let false_padding = curl(&["-H", "Add-Padding: false", &url]);
        assert_eq!(false_padding.text(), plain, "{prefix}: Add-Padding: false");
        let mut bodies = BTreeSet::new();
        let mut totals = BTreeSet::new();
        for _ in 0..12 {
            let r = curl(&["-H", "Add-Padding: true", &url]);
            r.expect(200);
            let text = r.text();
            let lines = body_lines(&text);
            let total = lines.len() as u64;
            assert!(
                (m..=m + 200).contains(&total),
                "{prefix}: {total} lines, M = {m}"
            );
            totals.insert(total);
            assert_lines_well_formed(&lines, width);
            let suffixes: Vec<&str> = lines.iter().map(|l| &l[..width]).collect();
            assert!(
                suffixes.windows(2).all(|w| w[0] < w[1]),
                "{prefix}: sorted, no suffix twice"
            );
            let real: String = lines
                .iter()
                .filter(|l| !l.ends_with(":0"))
                .map(|l| format!("{l}\r\n"))
                .collect();
            assert_eq!(real, plain, "{prefix}: the real lines, exactly");
            bodies.insert(text);
        }
        assert_eq!(bodies.len(), 12, "{prefix}: padding is fresh every time");
        assert!(totals.len() > 1, "{prefix}: the total varies: {totals:?}");
    }
}

// ---------------------------------------------------------------------------
// /healthz, /metrics, big heads, limits.

/// `/healthz` is ok; `/metrics` counts requests by status and mode, bytes,
/// latency and padding, and names no prefix.
#[test]
fn healthz_and_metrics() {
    let s = setup();
    let server = Server::start(&s.wd, &["--corpus", "sha1.cas", "--corpus", "ntlm.cas"]);
    let health = get(&format!("{}/healthz", server.url));
    health.expect(200);
    assert_eq!(health.text().trim(), "ok");
    let metrics_url = format!("{}/metrics", server.url);
    let before = get(&metrics_url);
    before.expect(200);
    assert!(
        before
            .header("content-type")
            .unwrap_or("")
            .starts_with("text/plain"),
        "{:?}",
        before.headers
    );
    let before = before.text();

    let mut bytes = 0;
    let url = server.range("5BAA6");
    for _ in 0..2 {
        bytes += get(&url).expect(200).body.len();
    }
    let padded = curl(&["-H", "Add-Padding: true", &url]);
    bytes += padded.expect(200).body.len();
    let etag = padded.header("etag").unwrap().to_string();
    bytes += get(&format!("{}?mode=ntlm", server.range("8846F")))
        .expect(200)
        .body
        .len();
    get(&server.range("5BAAG")).expect(400);
    get(&format!("{url}?mode=bogus")).expect(400);
    get(&format!("{}/nowhere", server.url)).expect(404);
    curl(&["-H", &format!("If-None-Match: {etag}"), &url]).expect(304);
    curl(&["-X", "POST", &url]).expect(405);

    let after = get(&metrics_url).text();
    let delta = |name: &str, labels: &[(&str, &str)]| {
        metric(&after, name, labels) - metric(&before, name, labels)
    };
    let requests = "credaudit_serve_requests_total";
    assert_eq!(
        delta(requests, &[("status", "200"), ("mode", "sha1")]),
        3.0,
        "{after}"
    );
    assert_eq!(
        delta(requests, &[("status", "200"), ("mode", "ntlm")]),
        1.0,
        "{after}"
    );
    assert_eq!(delta(requests, &[("status", "400")]), 2.0, "{after}");
    assert_eq!(delta(requests, &[("status", "404")]), 1.0, "{after}");
    assert_eq!(delta(requests, &[("status", "304")]), 1.0, "{after}");
    assert_eq!(delta(requests, &[("status", "405")]), 1.0, "{after}");
    assert!(
        delta("credaudit_serve_response_bytes_total", &[]) >= bytes as f64,
        "{after}"
    );
    let hist = "credaudit_serve_request_duration_seconds";
    let count = metric(&after, &format!("{hist}_count"), &[]);
    assert!(
        count - metric(&before, &format!("{hist}_count"), &[]) >= 9.0,
        "{after}"
    );
    assert_eq!(
        metric(&after, &format!("{hist}_bucket"), &[("le", "+Inf")]),
        count
    );
    assert!(metric(&after, &format!("{hist}_sum"), &[]) > 0.0);
    let buckets: Vec<f64> = after
        .lines()
        .filter(|l| l.starts_with(&format!("{hist}_bucket{{")))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
        .collect();
    assert!(buckets.len() > 2 && buckets.windows(2).all(|w| w[0] <= w[1]));
    let padding = "credaudit_serve_padded_responses_total";
    assert_eq!(delta(padding, &[("padding", "on")]), 1.0, "{after}");
    assert!(delta(padding, &[("padding", "off")]) >= 3.0, "{after}");
    assert!(
        !after.to_ascii_uppercase().contains("5BAA"),
        "a prefix in /metrics"
    );
}

/// A request head over 8 KiB gets 431 or 414 and the server goes on
/// answering.
#[test]
fn an_oversized_request_head_gets_431_or_414() {
    let s = setup();
    let server = Server::start(&s.wd, &["--corpus", "sha1.cas"]);
    let big_header = format!("X-Filler: {}", "a".repeat(9 * 1024));
    let long_target = format!("/range/5BAA6?{}", "b".repeat(9 * 1024));
    for req in [
        request("GET", "/range/5BAA6", &[&big_header]),
        request("GET", &long_target, &[]),
    ] {
        let r = raw(server.addr, &req);
        assert!(
            r.status == 431 || r.status == 414,
            "{} for a {}-byte head",
            r.status,
            req.len()
        );
        let ok = get(&server.range("5BAA6"));
        ok.expect(200);
        assert_eq!(ok.text(), body_of(&s.sha1, "5BAA6"));
    }
    let r = curl(&["-H", &big_header, &server.range("5BAA6")]);
    assert!(r.status == 431 || r.status == 414, "curl: {}", r.status);
    // Just under the limit is fine.
    let fits = format!("X-Filler: {}", "a".repeat(6 * 1024));
    raw(server.addr, &request("GET", "/range/5BAA6", &[&fits])).expect(200);
}

/// With 4 connection slots taken by clients that never finish a request
/// head, a fresh request waits for the header timeout to free a slot and
/// is then answered; the stalled connections are closed by the server.
#[test]
fn stalled_connections_time_out_and_free_their_slots() {
    let s = setup();
    let server = Server::start(
        &s.wd,
        &[
            "--corpus",
            "sha1.cas",
            "--max-connections",
            "4",
            "--header-timeout",
            "1",
        ],
    );
    let addr = server.addr;
    let silent: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // Two that trickle a head that never ends, a byte every 100 ms.
    let trickling: Vec<std::thread::JoinHandle<TcpStream>> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                let mut head = b"GET /range/5BAA6 HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter();
                let until = Instant::now() + Duration::from_secs(5);
                while Instant::now() < until {
                    let byte = head.next().copied().unwrap_or(b'a');
                    if s.write_all(&[byte]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                s
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let r = curl(&["--max-time", "15", &server.range("5BAA6")]);
    let took = started.elapsed();
    r.expect(200);
    assert_eq!(r.text(), body_of(&s.sha1, "5BAA6"));
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    assert!(
        took >= Duration::from_millis(400),
        "answered after {took:?}: the four slots were taken, so it had to wait for the header timeout"
    );
    let mut stalled = silent;
    stalled.extend(trickling.into_iter().map(|t| t.join().unwrap()));
    for (i, mut conn) in stalled.into_iter().enumerate() {
        conn.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
        let mut rest = Vec::new();
        match conn.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) => assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "connection {i} still open: {e}"
            ),
        }
        if !rest.is_empty() {
            let text = String::from_utf8_lossy(&rest);
            assert!(!text.contains(":9659365"), "connection {i} was answered");
        }
    }
}

/// 500 bad requests (400s) over a few keep-alive connections, while good
/// requests keep being answered promptly.
#[test]
fn a_flood_of_bad_requests_does_not_stop_good_ones() {
    let s = setup();
    let server = Server::start(&s.wd, &["--corpus", "sha1.cas"]);
    let addr = server.addr;
    const BAD: [&str; 7] = [
        "5BAA",
        "5BAA61",
        "5BAAG",
        "ZZZZZ",
        "5BAA6?mode=bogus",
        "../../etc/passwd",
        "%2e%2e%2f",
    ];
    // Five keep-alive connections send bad requests as fast as they are
    // answered, at least 100 each, until the good requests below are done.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..5)
        .map(|w| {
            let done = done.clone();
            std::thread::spawn(move || {
                let conn = TcpStream::connect(addr).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut writer = conn;
                let mut codes = Vec::new();
                while codes.len() < 100 || !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let bad = BAD[(w + codes.len()) % BAD.len()];
                    writer
                        .write_all(
                            format!("GET /range/{bad} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
                        )
                        .unwrap();
                    codes.push(read_response(&mut reader).unwrap().0);
                }
                codes
            })
        })
        .collect();
    let plain = body_of(&s.sha1, "5BAA6");
    for _ in 0..10 {
        let started = Instant::now();
        let r = get(&server.range("5BAA6"));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a good request took {:?} during the flood",
            started.elapsed()
        );
        r.expect(200);
        assert_eq!(r.text(), plain);
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let codes: Vec<u16> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(codes.len() >= 500, "{} bad requests", codes.len());
    let statuses: BTreeSet<u16> = codes.iter().copied().collect();
    assert_eq!(statuses, BTreeSet::from([400]));
    let r = get(&server.range("5BAA6"));
    r.expect(200);
    assert_eq!(r.text(), plain);
    let metrics = get(&format!("{}/metrics", server.url)).text();
    assert!(
        metric(
            &metrics,
            "credaudit_serve_requests_total",
            &[("status", "400")]
        ) >= 500.0
    );
}

// ---------------------------------------------------------------------------
// 5. Start and stop.

/// Sources serve cannot use are refused at start with exit 2, never a
/// panic: a store without whole keys (with the hint), a missing file, a
/// damaged store or corpus, two sources of one kind, no source.
#[test]
fn unusable_sources_are_refused_at_start() {
    let s = setup();
    s.wd.cmd(&["index", "build", "-q", "--out", "short.cas", "sha1.txt"])
        .run()
        .code(0);
    let run = refused(&s.wd, &["--corpus", "short.cas"]).code(2);
    run.says("rebuild it with `credaudit index build --full-keys`");
    run.says("short.cas");

    let run = refused(&s.wd, &["--corpus", "absent.cas"]).code(2);
    run.says("absent.cas");
    let run = refused(&s.wd, &["--corpus", "sha1.cas", "--corpus", "absent-dir/"]).code(2);
    run.says("absent-dir");

    let store = std::fs::read(s.wd.path("sha1.cas")).unwrap();
    s.wd.write("cut.cas", &store[..store.len() / 2]);
    refused(&s.wd, &["--corpus", "cut.cas"])
        .code(2)
        .says("cut.cas");
    let text = s.wd.read("sha1.txt");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(10, 11);
    s.wd.write("unsorted.txt", lines.join("\n") + "\n");
    // Lines 11 and 12 swapped: line 12 is out of order.
    refused(&s.wd, &["--corpus", "unsorted.txt"])
        .code(2)
        .says("unsorted.txt:12");
    s.wd.write("garbage.txt", "this is not a corpus\n");
    refused(&s.wd, &["--corpus", "garbage.txt"])
        .code(2)
        .says("garbage.txt");

    for pair in [
        ["sha1.cas", "sha1.txt"],
        ["sha1.txt", "sha1.cas"],
        ["ntlm.cas", "ntlm.txt"],
    ] {
        refused(&s.wd, &["--corpus", pair[0], "--corpus", pair[1]]).code(2);
    }
    refused(&s.wd, &[]).code(2);
}

/// A sorted text corpus and a mirror directory are compiled at start (one
/// stderr line says so) and served exactly; the mirror's missing prefixes
/// answer 503.
#[test]
fn text_corpora_and_mirror_directories_are_compiled_at_start() {
    let s = setup();
    let server = Server::start(&s.wd, &["--corpus", "sha1.txt", "--corpus", "ntlm.txt"]);
    let startup = server.stderr_lines()[..server.startup].join("\n");
    for source in ["sha1.txt", "ntlm.txt"] {
        assert!(
            startup
                .lines()
                .any(|l| l.contains(source) && l.contains("compiled")),
            "no line says {source} was compiled:\n{startup}"
        );
    }
    for p in [hex5(BIGGEST_PREFIX), "5BAA6".into(), empty_prefix(&s.sha1)] {
        let r = get(&server.range(&p));
        r.expect(200);
        assert_eq!(r.text(), body_of(&s.sha1, &p), "{p}");
    }
    let nt = get(&format!("{}?mode=ntlm", server.range("8846F")));
    assert_eq!(nt.text(), body_of(&s.ntlm, "8846F"));
    // The compiled store is not left in $TMPDIR after a clean stop.
    let run = server.stop(libc::SIGTERM);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let left: Vec<_> = std::fs::read_dir(s.wd.path("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in $TMPDIR: {left:?}");

    // A mirror of the dense block only.
    for p in DENSE.map(hex5) {
        s.wd.write(&format!("mirror/{p}.txt"), body_of(&s.sha1, &p));
    }
    let server = Server::start(&s.wd, &["--corpus", "mirror"]);
    let startup = server.stderr_lines()[..server.startup].join("\n");
    assert!(
        startup
            .lines()
            .any(|l| l.contains("mirror") && l.contains("compiled")),
        "{startup}"
    );
    for p in DENSE.map(hex5) {
        let r = get(&server.range(&p));
        r.expect(200);
        assert_eq!(r.text(), body_of(&s.sha1, &p), "{p}");
    }
    for p in ["5BA9F", "5BAB0", "00000", "FFFFF"] {
        let r = get(&server.range(p));
        assert_eq!(r.status, 503, "{p} has no file in the mirror");
        assert!(r.header("retry-after").is_some());
    }
}

/// SIGTERM and SIGINT stop the server with exit 0, promptly, even with a
/// keep-alive connection open; afterwards nothing listens.
#[test]
fn sigterm_and_sigint_exit_0() {
    let s = setup();
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let server = Server::start(&s.wd, &["--corpus", "sha1.cas"]);
        let addr = server.addr;
        get(&server.range("5BAA6")).expect(200);
        // A keep-alive connection that asked once and stays open.
        let idle = TcpStream::connect(addr).unwrap();
        idle.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        (&idle)
            .write_all(b"GET /range/5BAA6 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut reader = BufReader::new(idle.try_clone().unwrap());
        assert_eq!(read_response(&mut reader).unwrap().0, 200);
        let started = Instant::now();
        let run = server.stop(signal);
        assert_eq!(run.code, 0, "signal {signal}:\n{}", run.stderr);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "signal {signal}: exit took {:?}",
            started.elapsed()
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(TcpStream::connect(addr).is_err(), "still listening");
        drop(idle);
    }
}

/// SIGTERM while a response is on its way: the listener closes at once
/// (new connections are refused), the response in flight is sent whole,
/// then the server exits 0. The response (one prefix of 600,000 lines,
/// 23 MB) is far larger than the socket buffers, and the client reads it
/// only after the signal.
#[test]
fn sigterm_stops_accepting_and_finishes_the_response_in_flight() {
    let wd = Workdir::new();
    let mut rng = Rng(0xD2A1_4000_0000_0001);
    let mut hashes: Vec<[u8; 20]> = (0..600_000)
        .map(|_| {
            let mut h = rng.hash();
            h[0] = 0x5B;
            h[1] = 0xAA;
            h[2] = 0x60 | (h[2] & 0x0F);
            h
        })
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    // A mirror directory of that one prefix covers it whole.
    let mut expected = String::with_capacity(hashes.len() * 45);
    for (i, h) in hashes.iter().enumerate() {
        expected.push_str(&format!("{}:{}\r\n", &encode_hex(h)[5..], 1 + i % 5000));
    }
    wd.write("big/5BAA6.txt", &expected);
    wd.cmd(&[
        "index",
        "build",
        "-q",
        "--full-keys",
        "--allow-missing",
        "--out",
        "big.cas",
        "big",
    ])
    .run()
    .code(0);
    let server = Server::start(&wd, &["--corpus", "big.cas"]);
    let addr = server.addr;
    let conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    (&conn)
        .write_all(b"GET /range/5BAA6 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::with_capacity(4096, &conn);
    let mut length = None;
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line.trim_end().is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            if n.eq_ignore_ascii_case("content-length") {
                length = Some(v.trim().parse::<usize>().unwrap());
            }
        }
        assert!(
            !line.starts_with("HTTP/") || line.contains(" 200 "),
            "{line}"
        );
    }
    let length = length.expect("Content-Length");
    assert_eq!(length, expected.len());
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body[..16 * 1024]).unwrap();
    let stopping = std::thread::spawn(move || server.stop(libc::SIGTERM));
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after SIGTERM"
    );
    assert!(!stopping.is_finished(), "exited with a response half sent");
    reader.read_exact(&mut body[16 * 1024..]).unwrap();
    assert!(body == expected.as_bytes(), "the response in flight, whole");
    let run = stopping.join().unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// The listening line means ready, for a supervisor too: a SIGTERM sent
/// as soon as it is printed is a clean stop (exit 0), not a death by the
/// signal's default action.
#[test]
fn sigterm_right_after_the_listening_line_exits_0() {
    let s = setup();
    for attempt in 0..5 {
        let server = Server::start(&s.wd, &["--corpus", "sha1.cas"]);
        let run = server.stop(libc::SIGTERM);
        assert_eq!(
            run.code, 0,
            "attempt {attempt}: SIGTERM at once after the listening line (-15: killed by it, no handler installed yet)\n{}",
            run.stderr
        );
    }
}

/// Listening on a non-loopback address says so on stderr; a loopback one
/// does not.
#[test]
fn a_non_loopback_listen_address_is_pointed_out() {
    let s = setup();
    let server = Server::start(&s.wd, &["--corpus", "sha1.cas", "--listen", "0.0.0.0:0"]);
    assert!(
        server.printed.starts_with("http://0.0.0.0:"),
        "{}",
        server.printed
    );
    let r = get(&server.range("5BAA6"));
    r.expect(200);
    let run = server.stop(libc::SIGTERM).code(0);
    run.says("not a loopback address");
    let server = Server::start(&s.wd, &["--corpus", "sha1.cas", "--listen", "127.0.0.1:0"]);
    assert!(server.printed.starts_with("http://127.0.0.1:"));
    get(&server.range("5BAA6")).expect(200);
    let run = server.stop(libc::SIGTERM).code(0);
    assert!(
        !run.stderr.contains("not a loopback address"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------
// 7. TLS.

/// (CA certificate PEM, server certificate PEM, server key PEM): a test CA
/// and a certificate for 127.0.0.1 it signed, with the extensions strict
/// verifiers (Python 3.13's VERIFY_X509_STRICT) want.
fn tls_files() -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.distinguished_name
        .push(DnType::CommonName, "credaudit serve test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let cert = leaf.signed_by(&key, &ca).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

/// A TLS server for `sha1.cas`, its CA in `ca.pem`.
fn start_tls(wd: &Workdir) -> Server {
    let (ca, cert, key) = tls_files();
    wd.write("ca.pem", ca);
    wd.write("cert.pem", cert);
    wd.write("key.pem", key);
    let args = "--corpus sha1.cas --tls-cert cert.pem --tls-key key.pem";
    Server::start(wd, &args.split(' ').collect::<Vec<_>>())
}

/// Over TLS: HTTP/2 and HTTP/1.1 with curl, credaudit's `audit --api` and
/// `download --api` trusting the test CA with `--ca-cert`, and a silent
/// connection closed by the header timeout (the handshake counts).
#[test]
fn tls_serves_http2_and_http1_to_curl_and_credaudit() {
    let s = setup();
    let server = start_tls(&s.wd);
    assert!(
        server.printed.starts_with("https://127.0.0.1:"),
        "{}",
        server.printed
    );
    let ca = s.wd.path("ca.pem");
    let ca = ca.to_str().unwrap();
    let url = server.range("5BAA6");
    let plain = body_of(&s.sha1, "5BAA6");
    let h2 = curl(&["--cacert", ca, "--http2", &url]);
    h2.expect(200);
    if curl_features().contains("HTTP2") {
        assert_eq!(h2.version, "2");
    } else {
        eprintln!("curl without HTTP2: HTTP/2 not checked with curl");
    }
    assert_eq!(h2.text(), plain);
    assert!(h2.header("etag").is_some());
    let h1 = curl(&["--cacert", ca, "--http1.1", &url]);
    h1.expect(200);
    assert_eq!(h1.version, "1.1");
    assert_eq!(h1.text(), plain);
    let gz = curl(&[
        "--cacert",
        ca,
        "--http2",
        "-H",
        "Accept-Encoding: gzip",
        &url,
    ]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(String::from_utf8(gunzip(&gz.body)).unwrap(), plain);
    let etag = h2.header("etag").unwrap();
    curl(&[
        "--cacert",
        ca,
        "--http2",
        "-H",
        &format!("If-None-Match: {etag}"),
        &url,
    ])
    .expect(304);
    curl(&["--cacert", ca, "--http2", &server.range("5BAAG")]).expect(400);

    write_users(&s.wd);
    let local =
        s.wd.cmd(&["audit", "users.csv", "--no-cache", "--corpus", "sha1.txt"])
            .run()
            .code(1);
    let api =
        s.wd.cmd(&["audit", "users.csv", "--no-cache", "--ca-cert", "ca.pem"])
            .arg(format!("--api={}", server.url))
            .run()
            .code(1);
    assert_eq!(without_sources(api.rows()), without_sources(local.rows()));
    s.wd.cmd(&[
        "download",
        "--out",
        "mirror",
        "--prefixes",
        "5BAA6",
        "--ca-cert",
        "ca.pem",
    ])
    .arg(format!("--api={}", server.url))
    .run()
    .code(0);
    assert_eq!(s.wd.read("mirror/5BAA6.txt"), plain);

    // Plain HTTP on the TLS port is not served.
    let mut plain_http = TcpStream::connect(server.addr).unwrap();
    plain_http
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = plain_http.write_all(&request("GET", "/range/5BAA6", &[]));
    let mut answer = Vec::new();
    let _ = plain_http.read_to_end(&mut answer);
    assert!(
        !String::from_utf8_lossy(&answer).contains(":9659365"),
        "answered in clear"
    );
    drop(server);

    // A client that never starts its handshake is closed by the header
    // timeout.
    let server = Server::start(
        &s.wd,
        &[
            "--corpus",
            "sha1.cas",
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
            "--header-timeout",
            "1",
        ],
    );
    let mut silent = TcpStream::connect(server.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    if let Err(e) = silent.read_to_end(&mut rest) {
        assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the silent TLS connection is still open after {:?}",
            started.elapsed()
        );
    }
    assert!(started.elapsed() < Duration::from_secs(4));
    let r = curl(&["--cacert", ca, "--http2", &server.range("5BAA6")]);
    r.expect(200);
    assert_eq!(r.text(), plain);
}

/// Certificate options that cannot work are refused at start.
#[test]
fn bad_tls_options_are_refused_at_start() {
    let s = setup();
    let (_, cert, key) = tls_files();
    s.wd.write("cert.pem", cert);
    s.wd.write("key.pem", key);
    s.wd.write("junk.pem", "-----BEGIN NOTHING-----\n");
    refused(&s.wd, &["--corpus", "sha1.cas", "--tls-cert", "cert.pem"]).code(2);
    refused(&s.wd, &["--corpus", "sha1.cas", "--tls-key", "key.pem"]).code(2);
    refused(
        &s.wd,
        &[
            "--corpus",
            "sha1.cas",
            "--tls-cert",
            "junk.pem",
            "--tls-key",
            "key.pem",
        ],
    )
    .code(2)
    .says("junk.pem");
    refused(
        &s.wd,
        &[
            "--corpus",
            "sha1.cas",
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "junk.pem",
        ],
    )
    .code(2)
    .says("junk.pem");
    refused(
        &s.wd,
        &[
            "--corpus",
            "sha1.cas",
            "--tls-cert",
            "absent.pem",
            "--tls-key",
            "key.pem",
        ],
    )
    .code(2)
    .says("absent.pem");
}

// ---------------------------------------------------------------------------
// 8. Access log and privacy.

/// The requests the access-log test makes: (path, status).
const LOGGED: [(&str, u16); 5] = [
    ("/range/5BAA6", 200),
    ("/range/5baa7", 200),
    ("/range/5BAAG", 400),
    ("/range/8846F?mode=ntlm", 200),
    ("/secret-path", 404),
];

fn make_logged_requests(server: &Server) {
    for (path, status) in LOGGED {
        get(&format!("{}{path}", server.url)).expect(status);
    }
}

/// Without `--access-log` nothing per request reaches stderr; with it, one
/// line per request in the file, without the path (and so the prefix)
/// unless `--log-prefixes`.
#[test]
fn requests_are_logged_only_when_asked_and_prefixes_only_with_log_prefixes() {
    let s = setup();
    let mentions_a_path = |text: &str| {
        let upper = text.to_ascii_uppercase();
        ["5BAA6", "5BAA7", "5BAAG", "8846F", "SECRET-PATH"]
            .iter()
            .find(|p| upper.contains(*p))
            .copied()
    };
    let corpora = ["--corpus", "sha1.cas", "--corpus", "ntlm.cas"];

    let server = Server::start(&s.wd, &corpora);
    let startup = server.startup;
    make_logged_requests(&server);
    let run = server.stop(libc::SIGTERM).code(0);
    let later: Vec<&str> = run.stderr.lines().skip(startup).collect();
    assert!(
        later.len() < LOGGED.len(),
        "per-request lines on stderr: {later:?}"
    );
    assert_eq!(mentions_a_path(&run.stderr), None, "{}", run.stderr);

    for prefixes in [false, true] {
        let log = format!("access-{prefixes}.log");
        let mut args = corpora.to_vec();
        args.extend(["--access-log", log.as_str()]);
        if prefixes {
            args.push("--log-prefixes");
        }
        let server = Server::start(&s.wd, &args);
        let startup = server.startup;
        make_logged_requests(&server);
        let run = server.stop(libc::SIGTERM).code(0);
        let later: Vec<&str> = run.stderr.lines().skip(startup).collect();
        assert!(later.len() < LOGGED.len(), "stderr: {later:?}");
        assert_eq!(mentions_a_path(&run.stderr), None, "{}", run.stderr);
        let text = s.wd.read(&log);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), LOGGED.len(), "{text}");
        for (line, (path, status)) in lines.iter().zip(LOGGED) {
            assert!(
                line.split_whitespace().any(|w| w == status.to_string()),
                "{status} not in {line:?}"
            );
            if prefixes {
                assert!(line.contains(path), "{path} not in {line:?}");
            } else {
                assert_eq!(mentions_a_path(line), None, "{line:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 4. A third-party client: hibp-downloader (PyPI).

/// Points hibp-downloader at the server: `PWNEDPASSWORDS_API_URL` is read
/// by `hibp_downloader.commands.hibp_download` (imported by name there),
/// so both module constants are patched, in a process whose workers are
/// forked (and so inherit the patch).
const HIBP_DOWNLOADER_DRIVER: &str = r#"
import multiprocessing, sys
multiprocessing.set_start_method("fork", force=True)
url, data, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
import hibp_downloader
from hibp_downloader.commands import hibp_download
hibp_downloader.PWNEDPASSWORDS_API_URL = url
hibp_download.PWNEDPASSWORDS_API_URL = url
from hibp_downloader.lib.app import invoke_app
sys.argv = ["hibp-downloader", "--data-path", data, "download", *rest]
invoke_app()
"#;

fn hibp_downloader_available() -> bool {
    match Command::new("python3")
        .args(["-c", "import hibp_downloader"])
        .output()
    {
        Ok(out) if out.status.success() => true,
        Ok(_) => {
            eprintln!("SKIPPED: the Python package hibp-downloader is not installed (pip install hibp-downloader)");
            false
        }
        Err(_) => {
            eprintln!("SKIPPED: python3 is not installed");
            false
        }
    }
}

/// Run the driver; fail the test after 120 s.
fn hibp_downloader(wd: &Workdir, url: &str, data: &str, args: &[&str]) -> Run {
    let mut command = Command::new("python3");
    command
        .current_dir(wd.path(""))
        .arg("hibpdl.py")
        .arg(url)
        .arg(data)
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(command.output());
    });
    let out = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("hibp-downloader still running after 120 s")
        .expect("run python3");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// hibp-downloader (which asks for gzip, checks that the body is gzip and
/// stores it as received) downloads the dense block and NTLM's "password"
/// prefix over HTTP and over TLS with HTTP/2: every stored file decodes to
/// the source's lines. A second run revalidates by ETag: all 304s.
#[test]
fn hibp_downloader_mirrors_exactly_the_source() {
    if !hibp_downloader_available() {
        return;
    }
    let s = setup();
    s.wd.write("hibpdl.py", HIBP_DOWNLOADER_DRIVER);
    let server = Server::start(
        &s.wd,
        &[
            "--corpus",
            "sha1.cas",
            "--corpus",
            "ntlm.cas",
            "--access-log",
            "access.log",
            "--log-prefixes",
        ],
    );
    let sha1_args = [
        "--hash-type",
        "sha1",
        "--first-hash",
        "5BAA0",
        "--last-hash",
        "5BAAF",
        "--processes",
        "2",
    ];
    let check = |data: &str| {
        for p in DENSE.map(hex5) {
            let lower = p.to_ascii_lowercase();
            let file = s.wd.path(&format!(
                "{data}/sha1/{}/{}/{lower}.gz",
                &lower[..2],
                &lower[2..4]
            ));
            let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert_eq!(
                String::from_utf8(gunzip(&bytes)).unwrap(),
                body_of(&s.sha1, &p),
                "{p}"
            );
        }
    };
    let run = hibp_downloader(&s.wd, &server.url, "data", &sha1_args);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    check("data");
    let run = hibp_downloader(
        &s.wd,
        &server.url,
        "data",
        &[
            "--hash-type",
            "ntlm",
            "--first-hash",
            "8846F",
            "--last-hash",
            "8846F",
            "--processes",
            "1",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let nt = std::fs::read(s.wd.path("data/ntlm/88/46/8846f.gz")).unwrap();
    assert_eq!(
        String::from_utf8(gunzip(&nt)).unwrap(),
        body_of(&s.ntlm, "8846F")
    );

    // It asked in lower case, for gzip.
    let log = s.wd.read("access.log");
    assert!(log.contains("/range/5baa6"), "{log}");
    assert!(log.contains("/range/8846f?mode=ntlm"), "{log}");
    assert!(log.lines().all(|l| l.contains("gzip")), "{log}");

    // Revalidation by ETag: a 304 for each of the 16 prefixes.
    let metrics = || get(&format!("{}/metrics", server.url)).text();
    let before = metric(
        &metrics(),
        "credaudit_serve_requests_total",
        &[("status", "304")],
    );
    let mut again = sha1_args.to_vec();
    again.extend(["--local-cache-ttl", "0"]);
    let run = hibp_downloader(&s.wd, &server.url, "data", &again);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let after = metric(
        &metrics(),
        "credaudit_serve_requests_total",
        &[("status", "304")],
    );
    assert_eq!(after - before, 16.0);
    check("data");

    // Over TLS (httpx negotiates HTTP/2).
    let tls = start_tls(&s.wd);
    let mut args = sha1_args.to_vec();
    args.extend(["--http-certificates", "ca.pem"]);
    let run = hibp_downloader(&s.wd, &tls.url, "data-tls", &args);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    check("data-tls");
}
