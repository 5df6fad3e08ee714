//! The Pwned Passwords format module: one set of body rules for every
//! reader (`download --verify`, `--corpus DIR`, `--api`), file modes (public
//! mirror, private cache and reports), the cache's privacy (`check`, loose
//! directories), transport warnings and `--ca-cert`, and a mirror that
//! stopped early.
mod api_server;
mod common;

use api_server::{Fault, Options, Server};
use common::*;
use credaudit::hash::{encode_hex, sha1};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// "password" is 5BAA6 + this suffix.
const P: &str = "1E4C9B93F3F0682250B6CF8331B7EE68FD8";
/// Below `P` in 5BAA6.
const A: &str = "003D68EB55068C33ACE09247EE4C639306B";
/// Above `P`.
const Z: &str = "F00000000000000000000000000000000AB";

/// A prefix file body and whether the rules (README, "Pwned Passwords
/// format") accept it; `hit` is the count an accepted body gives
/// "password", if any.
struct Case {
    name: &'static str,
    body: String,
    accept: bool,
    hit: Option<&'static str>,
}

fn case(name: &'static str, body: impl Into<String>, hit: Option<&'static str>) -> Case {
    Case {
        name,
        body: body.into(),
        accept: true,
        hit,
    }
}

fn bad(name: &'static str, body: impl Into<String>) -> Case {
    Case {
        name,
        body: body.into(),
        accept: false,
        hit: None,
    }
}

fn cases() -> Vec<Case> {
    let lower = |s: &str| s.to_ascii_lowercase();
    vec![
        case("crlf", format!("{A}:12\r\n{P}:3\r\n{Z}:1\r\n"), Some("3")),
        case("lf", format!("{A}:12\n{P}:3\n{Z}:1\n"), Some("3")),
        case(
            "crlf, no final newline",
            format!("{A}:12\r\n{P}:3"),
            Some("3"),
        ),
        case("lf, no final newline", format!("{A}:12\n{P}:3"), Some("3")),
        case(
            "mixed line ends",
            format!("{A}:12\r\n{P}:3\n{Z}:1"),
            Some("3"),
        ),
        case(
            "lower-case hex",
            format!("{}:12\r\n{}:3", lower(A), lower(P)),
            Some("3"),
        ),
        case(
            "padding line",
            format!("{A}:12\r\n{Z}:0\r\n{P}:3"),
            Some("3"),
        ),
        case("padding line only", format!("{A}:12\r\n{P}:0"), None),
        case(
            "19-digit count",
            format!("{P}:9999999999999999999"),
            Some("9999999999999999999"),
        ),
        case("leading zeros", format!("{P}:007"), Some("7")),
        case("empty file", "", None),
        bad("blank line in the middle", format!("{A}:12\r\n\r\n{P}:3")),
        bad("blank line at the end", format!("{A}:12\r\n{P}:3\r\n\r\n")),
        bad("only a newline", "\n"),
        bad("unsorted", format!("{P}:3\r\n{A}:12")),
        bad("duplicate", format!("{A}:12\r\n{A}:12\r\n{P}:3")),
        bad(
            "duplicate in other case",
            format!("{A}:12\r\n{}:2\r\n{P}:3", lower(A)),
        ),
        bad("suffix one short", format!("{A}:12\r\n{}:3", &P[1..])),
        bad("suffix one long", format!("{A}:12\r\n{P}0:3")),
        bad("full hash, not a suffix", format!("5BAA6{P}:3")),
        bad("not hex", format!("{A}:12\r\nG{}:3", &P[1..])),
        bad("count of 20 digits", format!("{P}:10000000000000000000")),
        bad("no count", format!("{A}:12\r\n{P}:")),
        bad("signed count", format!("{P}:+3")),
        bad("trailing space", format!("{A}:12 \r\n{P}:3")),
        bad("leading space", format!(" {A}:12\r\n{P}:3")),
        bad("tab, not colon", format!("{A}\t12\r\n{P}:3")),
        bad("byte order mark", format!("\u{feff}{A}:12\r\n{P}:3")),
        bad("cut mid-line", format!("{A}:12\r\n{}", &P[..20])),
        bad("bare CR line ends", format!("{A}:12\r{P}:3")),
    ]
}

#[test]
fn verify_corpus_dir_and_api_accept_and_reject_the_same_files() {
    let wd = Workdir::new();
    write_alice(&wd);
    let server = Server::start();
    for (i, c) in cases().iter().enumerate() {
        let dir = format!("m{i}");
        // A good neighbour to tell the hash kind by, as in a real mirror.
        wd.write(&format!("{dir}/00000.txt"), format!("{A}:1\r\n"));
        wd.write(&format!("{dir}/5BAA6.txt"), &c.body);
        let what = format!("case {:?}", c.name);

        let verify = wd
            .cmd(&["download", "--verify", "--out", &dir, "--prefixes", "5BAA6"])
            .run();
        let corpus = wd.cmd(&["audit", "users.csv", "--corpus", &dir]).run();
        server.fail_always("5BAA6", Fault::Body(c.body.clone()));
        let api = wd
            .cmd(&["audit", "users.csv", "--no-cache", "--retries", "0"])
            .arg(format!("--api={}", server.url))
            .run();

        if c.accept {
            assert_eq!(verify.code, 0, "{what}: verify\n{}", verify.stderr);
            for (reader, run) in [("--corpus DIR", &corpus), ("--api", &api)] {
                let count: Vec<String> = run.rows().iter().map(|r| r[3].clone()).collect();
                match c.hit {
                    Some(n) => {
                        assert_eq!(run.code, 1, "{what}: {reader}\n{}", run.stderr);
                        assert_eq!(count, [n], "{what}: {reader}");
                    }
                    None => assert_eq!(run.code, 0, "{what}: {reader}\n{}", run.stderr),
                }
            }
        } else {
            assert_eq!(verify.code, 3, "{what}: verify\n{}", verify.stderr);
            assert!(
                verify.stderr.contains("5BAA6.txt: line "),
                "{what}: verify\n{}",
                verify.stderr
            );
            assert_eq!(corpus.code, 2, "{what}: --corpus DIR\n{}", corpus.stderr);
            assert!(
                corpus.stderr.contains("5BAA6.txt: line "),
                "{what}: --corpus DIR\n{}",
                corpus.stderr
            );
            // The API fails closed: a malformed response is retried, then
            // its accounts are unchecked.
            assert_eq!(api.code, 3, "{what}: --api\n{}", api.stderr);
            assert_eq!(api.rows()[0][2], "unchecked", "{what}: --api");
            assert!(
                api.stderr.contains("malformed response: line "),
                "{what}: --api\n{}",
                api.stderr
            );
        }
        // The same error names the same line in both file readers.
        let line = |s: &str| {
            s.split("5BAA6.txt: ")
                .nth(1)
                .map(|r| r.split(':').next().unwrap().to_string())
        };
        assert_eq!(line(&verify.stderr), line(&corpus.stderr), "{what}");
        for run in [&verify, &corpus, &api] {
            assert!(
                !run.stderr.contains(P) && !run.stderr.contains(&P.to_ascii_lowercase()),
                "{what}: a suffix in a message\n{}",
                run.stderr
            );
        }
    }
}

/// Run credaudit under `umask 022` with extra environment and standard
/// input from a file of the work directory (or none), and check its exit
/// code.
fn run_022(wd: &Workdir, args: &[&str], env: &[(&str, PathBuf)], stdin: Option<&str>, code: i32) {
    let mut cmd = Command::new("sh");
    cmd.current_dir(wd.path(""))
        .arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_credaudit"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(match stdin {
            Some(file) => Stdio::from(std::fs::File::open(wd.path(file)).unwrap()),
            None => Stdio::null(),
        });
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn words(command: &str) -> Vec<&str> {
    command.split(' ').collect()
}

/// An export of one account whose password is "password".
fn write_alice(wd: &Workdir) {
    wd.write(
        "users.csv",
        format!("email,sha1\nalice@example.com,{SHA1_PASSWORD}\n"),
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Every file and directory below `dir`, with its mode.
fn modes_below(dir: &Path) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push((p.display().to_string(), mode(&p)));
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

#[test]
fn mirror_files_are_public_cache_and_reports_private() {
    let wd = Workdir::new();
    let server = Server::start();
    let url = format!("--api={}", server.url);
    let download =
        format!("download --out mirror --prefixes 5BAA0-5BAA7 {url} --sorted-file all.txt");
    run_022(&wd, &words(&download), &[], None, 0);
    assert_eq!(mode(&wd.path("mirror/5BAA6.txt")), 0o644);
    assert_eq!(mode(&wd.path("mirror/.credaudit-mirror")), 0o644);
    assert_eq!(mode(&wd.path("all.txt")), 0o644);

    write_alice(&wd);
    let audit = format!("audit users.csv {url} --cache-dir cache -o reset.csv --summary s.json");
    run_022(&wd, &words(&audit), &[], None, 1);
    assert_eq!(mode(&wd.path("reset.csv")), 0o600);
    assert_eq!(mode(&wd.path("s.json")), 0o600);
    assert_eq!(mode(&wd.path("cache")), 0o700);
    let below = modes_below(&wd.path("cache"));
    assert!(
        below.iter().any(|(p, _)| p.ends_with("/sha1/5BAA6")),
        "{below:?}"
    );
    for (path, m) in &below {
        let want = if Path::new(path).is_dir() {
            0o700
        } else {
            0o600
        };
        assert_eq!(*m, want, "{path}");
    }
}

#[test]
fn check_writes_no_cache_unless_cache_dir_is_given() {
    let wd = Workdir::new();
    let server = Server::start();
    let env = [
        ("XDG_CACHE_HOME", wd.path("xdg")),
        ("HOME", wd.path("home")),
    ];
    wd.write("password.txt", "password\n");
    let url = format!("--api={}", server.url);
    let check = |extra: &[&str]| {
        let args: Vec<&str> = ["check", url.as_str()]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        run_022(&wd, &args, &env, Some("password.txt"), 1);
    };
    check(&[]);
    assert!(
        !wd.path("xdg").exists() && !wd.path("home").exists(),
        "no cache by default"
    );
    check(&["--cache-dir", "mine"]);
    let files: Vec<_> = modes_below(&wd.path("mine"))
        .into_iter()
        .filter(|(p, _)| !Path::new(p).is_dir())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].0.ends_with("/sha1/5BAA6"), "{files:?}");
    // An audit still caches by default (an hourly cron job relies on it).
    write_alice(&wd);
    run_022(&wd, &["audit", "users.csv", &url], &env, None, 1);
    assert!(wd.path("xdg/credaudit/range").is_dir());
}

#[test]
fn a_cache_directory_open_to_others_is_warned_about_and_closed() {
    let wd = Workdir::new();
    let server = Server::start();
    write_alice(&wd);
    std::fs::create_dir(wd.path("cache")).unwrap();
    std::fs::set_permissions(wd.path("cache"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let audit = || {
        wd.cmd(&["audit", "users.csv", "--cache-dir", "cache"])
            .arg(format!("--api={}", server.url))
            .run()
            .code(1)
    };
    let run = audit();
    assert!(
        run.stderr
            .contains("cache directory cache was open to group or others (mode 755)")
            && run.stderr.contains("set to 0700"),
        "{}",
        run.stderr
    );
    assert_eq!(mode(&wd.path("cache")), 0o700);
    let run = audit();
    assert!(!run.stderr.contains("cache directory"), "{}", run.stderr);
}

#[test]
fn plain_http_is_warned_about_unless_loopback() {
    let wd = Workdir::new();
    let server = Server::start();
    write_alice(&wd);
    let run = wd
        .cmd(&["audit", "users.csv", "--no-cache"])
        .arg(format!("--api={}", server.url))
        .run()
        .code(1);
    assert!(!run.stderr.contains("in clear"), "{}", run.stderr);
    // TEST-NET-1 never answers: each run fails closed after the warning.
    let remote = [
        "--api=http://192.0.2.1:9",
        "--timeout",
        "0.5",
        "--retries",
        "0",
    ];
    for command in [
        &["audit", "users.csv", "--no-cache"][..],
        &["download", "--out", "m", "--prefixes", "5BAA6"][..],
    ] {
        let args: Vec<&str> = command.iter().chain(&remote).copied().collect();
        let run = wd
            .cmd(&args)
            .run_within(std::time::Duration::from_secs(30))
            .code(3);
        assert!(
            run.stderr.contains(
                "http://192.0.2.1:9 is plain http: the hash prefixes asked travel in clear"
            ),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_bad_ca_cert_is_a_usage_error_naming_the_file() {
    let wd = Workdir::new();
    wd.write("users.csv", "email,password\na@example.com,password\n");
    wd.write("not-a-cert.pem", "-----BEGIN NOTHING-----\n");
    for (file, why) in [
        ("not-a-cert.pem", "no PEM certificate"),
        ("absent.pem", "cannot read"),
    ] {
        let run = wd
            .cmd(&[
                "audit",
                "users.csv",
                "--api=https://127.0.0.1:9",
                "--ca-cert",
                file,
            ])
            .run()
            .code(2);
        assert!(
            run.stderr.contains(&format!("--ca-cert {file}: {why}")),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "nothing audited: {}", run.stdout);
        let run = wd
            .cmd(&words(&format!(
                "download --out m --prefixes 5BAA6 --api=https://127.0.0.1:9 --ca-cert {file}"
            )))
            .run()
            .code(2);
        assert!(run.stderr.contains(file), "{}", run.stderr);
        assert!(!wd.path("m").exists());
    }
}

/// A CA made for the test and a server certificate for 127.0.0.1 it
/// signed: (CA certificate PEM, server chain DER, server key PKCS#8 DER).
fn internal_ca() -> (String, Vec<Vec<u8>>, Vec<u8>) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "credaudit test internal CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    (ca.pem(), vec![cert.der().to_vec()], key.serialize_der())
}

#[test]
fn ca_cert_trusts_a_mirror_behind_an_internal_ca_and_nothing_else_does() {
    let wd = Workdir::new();
    let (ca_pem, chain, key) = internal_ca();
    // Another CA in the same bundle first: every certificate of the file counts.
    let (other_ca, _, _) = internal_ca();
    wd.write("bundle.pem", format!("{other_ca}{ca_pem}"));
    wd.write("other.pem", &other_ca);
    let server = Server::with(Options {
        tls: Some((chain, key)),
        ..Options::default()
    });
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    server.add(api_server::Mode::Sha1, SHA1_PASSWORD, 42);
    write_alice(&wd);
    let audit = |extra: &[&str]| {
        let mut cmd = wd
            .cmd(&["audit", "users.csv", "--no-cache", "--retries", "0"])
            .arg(format!("--api={}", server.url));
        for a in extra {
            cmd = cmd.arg(a);
        }
        cmd.run()
    };
    let run = audit(&["--ca-cert", "bundle.pem"]).code(1);
    assert_eq!(run.rows()[0][3], "42");
    assert!(!run.stderr.contains("in clear"), "{}", run.stderr);
    // Without the CA, or with another one, the server is not trusted: the
    // account is unchecked, never clean, and nothing was answered.
    let served = server.requests();
    for extra in [&[][..], &["--ca-cert", "other.pem"][..]] {
        let run = audit(extra).code(3);
        assert_eq!(run.rows()[0][2], "unchecked", "{extra:?}");
        assert!(
            run.stderr.contains("1 prefix(es) failed")
                && run
                    .stderr
                    .contains("connection failed: invalid peer certificate"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(
        server.requests(),
        served,
        "no request got past the handshake"
    );
    // download trusts it the same way.
    let run = wd
        .cmd(&words(
            "download --out m --prefixes 5BAA6 --ca-cert bundle.pem",
        ))
        .arg(format!("--api={}", server.url))
        .run()
        .code(0);
    assert!(
        run.stderr.contains("1 of 1 prefixes present"),
        "{}",
        run.stderr
    );
}

/// A mirror whose download stopped at 4C910 (about 30 % of the prefixes):
/// the accounts whose prefix file is missing are unchecked, never clean, and
/// the run exits 3. Only the prefix files of the queried hashes are written
/// (the source reads no others), so the test stays small.
#[test]
fn a_mirror_that_stopped_early_leaves_the_rest_unchecked() {
    const LAST: u32 = 0x4C910;
    let wd = Workdir::new();
    let mut csv = String::from("email,password\n");
    let mut files: std::collections::BTreeMap<u32, Vec<(String, u32)>> = Default::default();
    let (mut planted, mut beyond) = (Vec::new(), Vec::new());
    for i in 0..3000 {
        let (account, password) = (format!("u{i}@example.com"), format!("pw-{i}"));
        csv.push_str(&format!("{account},{password}\n"));
        let hex = encode_hex(&sha1(password.as_bytes()));
        let prefix = u32::from_str_radix(&hex[..5], 16).unwrap();
        let lines = files.entry(prefix).or_default();
        if prefix > LAST {
            beyond.push(account);
        } else if i % 7 == 0 {
            lines.push((hex[5..].to_string(), 7));
            planted.push(account);
        }
    }
    wd.write("users.csv", csv);
    for (&prefix, lines) in files.range(..=LAST) {
        let mut lines = lines.clone();
        lines.push(("0".repeat(35), 1)); // every real prefix file holds hashes
        lines.sort();
        lines.dedup();
        let body: String = lines.iter().map(|(s, c)| format!("{s}:{c}\r\n")).collect();
        wd.write(&format!("mirror/{prefix:05X}.txt"), body);
    }
    assert!(
        beyond.len() > 1500 && planted.len() > 100,
        "{} {}",
        beyond.len(),
        planted.len()
    );
    let run = wd
        .cmd(&[
            "audit",
            "users.csv",
            "--corpus",
            "mirror",
            "--summary",
            "s.json",
            "--min-length",
            "0",
        ])
        .run()
        .code(3);
    let mut unchecked = Vec::new();
    let mut pwned = Vec::new();
    for row in run.rows() {
        match row[2].as_str() {
            "unchecked" => unchecked.push(row[0].clone()),
            "pwned" => pwned.push(row[0].clone()),
            other => panic!("{}: {other}", row[0]),
        }
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(unchecked), sorted(beyond.clone()));
    assert_eq!(sorted(pwned), sorted(planted));
    let s: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(s["accounts_unchecked"], beyond.len());
    assert!(
        run.stderr.contains(&format!(
            "{} prefix file(s) missing",
            files.range(LAST + 1..).count()
        )) && run.stderr.contains("could not be checked"),
        "{}",
        run.stderr
    );
    // download --verify calls the same mirror incomplete.
    let run = wd
        .cmd(&["download", "--verify", "--out", "mirror"])
        .run()
        .code(3);
    assert!(run.stderr.contains("missing (first: "), "{}", run.stderr);
}
