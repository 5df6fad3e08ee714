//! The README's psql recipes ("Database exports: NULL is not empty"), run
//! as written against a real PostgreSQL server that the test starts itself:
//! a throwaway cluster in a temporary directory, listening on a Unix socket
//! only, stopped when the test ends (also when it fails).
//!
//! PostgreSQL refuses to run as root: as root the server runs as the
//! `postgres` user through `runuser`; without the server binaries, or as
//! root without `runuser` or a `postgres` user, the test prints "SKIPPED"
//! and passes.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A running throwaway cluster.
struct Cluster {
    dir: tempfile::TempDir,
    /// Run the server's programs as this user (`runuser -u`), when root.
    user: Option<String>,
}

impl Cluster {
    /// initdb, then start the server; `Err` is the reason to skip.
    fn start() -> Result<Cluster, String> {
        for program in ["initdb", "pg_ctl", "postgres", "psql"] {
            if !have(program) {
                return Err(format!("{program} is not on PATH"));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: geteuid has no preconditions.
        let user = if unsafe { libc::geteuid() } == 0 {
            if !have("runuser") {
                return Err("running as root and runuser is missing".into());
            }
            let name = CString::new("postgres").unwrap();
            // SAFETY: a valid C string; the result is read at once.
            let pw = unsafe { libc::getpwnam(name.as_ptr()) };
            if pw.is_null() {
                return Err("running as root and there is no postgres user".into());
            }
            // SAFETY: non-null, from getpwnam just above.
            let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
            Some("postgres".to_string())
        } else {
            None
        };
        let cluster = Cluster { dir, user };
        let data = cluster.data();
        let initdb = cluster
            .server_cmd("initdb")
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8"])
            .args(["--locale=C", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            initdb.status.success(),
            "initdb failed:\n{}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let options = format!(
            "-k {} -c listen_addresses='' -c fsync=off -c dynamic_shared_memory_type=mmap",
            cluster.dir.path().display()
        );
        let start = cluster
            .server_cmd("pg_ctl")
            .args(["-w", "-t", "60", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(cluster.dir.path().join("server.log"))
            .args(["-o", &options, "start"])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        let log = std::fs::read_to_string(cluster.dir.path().join("server.log"));
        assert!(
            start.status.success(),
            "pg_ctl start failed:\n{}\n{}",
            String::from_utf8_lossy(&start.stderr),
            log.unwrap_or_default()
        );
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A server program (initdb, pg_ctl), as the server's user.
    fn server_cmd(&self, program: &str) -> Command {
        match &self.user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--", program]);
                command
            }
            None => Command::new(program),
        }
    }

    /// The libpq environment that points psql at this server.
    fn env(&self, command: &mut Command) {
        command
            .env("PGHOST", self.dir.path())
            .env("PGUSER", "postgres")
            .env("PGDATABASE", "postgres")
            .env_remove("PGPORT")
            .env_remove("PGSERVICE")
            .env_remove("PGPASSWORD");
    }

    /// Run SQL through psql, stopping at the first error.
    fn sql(&self, script: &str) {
        let file = self.dir.path().join("setup.sql");
        std::fs::write(&file, script).unwrap();
        let mut psql = Command::new("psql");
        self.env(&mut psql);
        let out = psql
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .server_cmd("pg_ctl")
            .args(["-w", "-m", "immediate", "-D"])
            .arg(self.data())
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// NTLM: MD4 of the UTF-16LE password, upper-case hex.
fn ntlm_hex(password: &str) -> String {
    use md4::{Digest, Md4};
    let utf16: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    Md4::digest(&utf16)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// A SQL string literal (standard_conforming_strings: only `'` doubles).
fn lit(value: Option<&str>) -> String {
    match value {
        Some(v) => format!("'{}'", v.replace('\'', "''")),
        None => "NULL".into(),
    }
}

const DAVE: &str = "Dave \"DJ\" Jones, Ops <dave@example.com>";
const ERIN_PASSWORD: &str = "cor\"rect,horse\nbattery staple";

/// The users table: (email, password, deleted). `password_hash` is
/// bcrypt made by pgcrypto's `crypt`, `nt_hash` computed here.
const USERS: &[(&str, Option<&str>, bool)] = &[
    ("alice@example.com", Some("password"), false),
    // SSO accounts: no password at all.
    ("bob@example.com", None, false),
    ("carol@example.com", Some(""), false),
    (DAVE, Some("letmein"), false),
    ("erin@example.com", Some(ERIN_PASSWORD), false),
    ("frank@example.com", None, false),
    ("grace@example.com", Some("P@ssw0rd"), false),
    // Two quote characters: short, neither empty nor NULL.
    ("heidi@example.com", Some("\"\""), false),
    ("ivan@example.com", Some("Summer2024!"), true),
];

fn setup_sql() -> String {
    let mut sql = String::from(
        "create extension pgcrypto;\n\
         create table users (id serial primary key, email text not null, password text,\n\
         password_hash text, nt_hash text, deleted_at timestamptz);\n",
    );
    for (email, password, deleted) in USERS {
        sql += &format!(
            "insert into users (email, password, nt_hash, deleted_at) values ({}, {}, {}, {});\n",
            lit(Some(email)),
            lit(*password),
            lit(password.map(ntlm_hex).as_deref()),
            if *deleted { "now()" } else { "NULL" }
        );
    }
    sql + "update users set password_hash = crypt(password, gen_salt('bf', 4)) \
           where password is not null;\n"
}

/// Run a README recipe in `work` (its file names are relative) against
/// the cluster; the exit code, the reset list's (account, reasons,
/// severity) rows, and the summary.
fn run_recipe(
    cluster: &Cluster,
    work: &Path,
    name: &str,
    edit: impl Fn(String) -> String,
) -> (i32, BTreeSet<(String, String, String)>, serde_json::Value) {
    let script = edit(recipe("README.md", name));
    let _ = std::fs::remove_file(work.join("reset.csv"));
    let mut sh = Command::new("sh");
    cluster.env(&mut sh);
    let out = sh
        .arg("-c")
        .arg(&script)
        .current_dir(work)
        .env("PATH", path_with_bin())
        .env("XDG_CACHE_HOME", work.join(".cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "{name}: exit {code}\n{script}\n{stderr}"
    );
    let reset = std::fs::read_to_string(work.join("reset.csv")).unwrap();
    let rows = parse_csv(&reset)
        .into_iter()
        .map(|r| (r[0].clone(), r[2].clone(), r[6].clone()))
        .collect();
    let summary = std::fs::read_to_string(work.join("summary.json")).unwrap();
    (code, rows, serde_json::from_str(&summary).unwrap())
}

fn row(account: &str, reasons: &str, severity: &str) -> (String, String, String) {
    (account.into(), reasons.into(), severity.into())
}

/// rows_read, accounts_checked, rows_rejected.total, rows_skipped.no_hash
fn counts(summary: &serde_json::Value) -> (u64, u64, u64, u64) {
    let skipped = &summary["rows_skipped"];
    let no_hash = skipped["no_hash"].as_u64().unwrap_or(0);
    assert_eq!(skipped["total"], no_hash, "only no_hash skips: {skipped}");
    (
        summary["rows_read"].as_u64().unwrap(),
        summary["accounts_checked"].as_u64().unwrap(),
        summary["rows_rejected"]["total"].as_u64().unwrap(),
        no_hash,
    )
}

#[test]
fn readme_psql_recipes_against_a_real_server() {
    assert_eq!(ntlm_hex("password"), NTLM_PASSWORD, "the test's own MD4");
    let cluster = match Cluster::start() {
        Ok(cluster) => cluster,
        Err(why) => {
            println!("SKIPPED readme_psql_recipes_against_a_real_server: {why}");
            return;
        }
    };
    cluster.sql(&setup_sql());
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    std::fs::copy(fixture("hibp/sha1-sample.txt"), work.join("pwned-sha1.txt")).unwrap();
    std::fs::copy(fixture("hibp/ntlm-sample.txt"), work.join("pwned-ntlm.txt")).unwrap();
    std::fs::write(
        work.join("leak.txt"),
        "alice@example.com:password\ngrace@example.com:Winter2025!\nbob@example.com:sso-has-none\n",
    )
    .unwrap();
    let same = |s: String| s;

    // Plaintext: NULL (bob, frank) is no password; '' (carol) is empty;
    // quotes, commas and newlines inside values are read whole.
    let (code, rows, summary) = run_recipe(&cluster, work, "psql-plain", same);
    assert_eq!(code, 1);
    let expected: BTreeSet<_> = [
        row("alice@example.com", "pwned", "high"),
        row("carol@example.com", "empty", "critical"),
        row(DAVE, "pwned;short", "high"),
        row("grace@example.com", "pwned", "high"),
        row("heidi@example.com", "short", "low"),
        row("ivan@example.com", "pwned", "high"),
    ]
    .into();
    assert_eq!(rows, expected);
    assert_eq!(counts(&summary), (9, 7, 0, 2));

    // The same export without --null psql: the default is unchanged, an
    // empty field is an empty password, so the SSO accounts are `empty`
    // (and share it with carol). This is what --null psql is for.
    let (code, rows, summary) = run_recipe(&cluster, work, "psql-plain", |s| {
        s.replace(" --null psql", "")
    });
    assert_eq!(code, 1);
    for account in ["bob@example.com", "carol@example.com", "frank@example.com"] {
        assert!(
            rows.contains(&row(account, "empty;shared", "critical")),
            "{account}: {rows:?}"
        );
    }
    assert_eq!(counts(&summary), (9, 9, 0, 0));

    // SHA-1 computed in SQL: digest(NULL) is NULL, digest('') the empty
    // string's SHA-1. No plaintext, so no `short`.
    let (code, rows, summary) = run_recipe(&cluster, work, "psql-sha1", same);
    assert_eq!(code, 1);
    let expected: BTreeSet<_> = [
        row("alice@example.com", "pwned", "high"),
        row("carol@example.com", "empty", "critical"),
        row(DAVE, "pwned", "high"),
        row("grace@example.com", "pwned", "high"),
        row("ivan@example.com", "pwned", "high"),
    ]
    .into();
    assert_eq!(rows, expected);
    assert_eq!(counts(&summary), (9, 7, 0, 2));
    assert_eq!(summary["inputs"][0]["secret_kind"], "sha1", "{summary}");

    // NTLM values the test computed and inserted.
    let (code, rows, summary) = run_recipe(&cluster, work, "psql-ntlm", same);
    assert_eq!(code, 1);
    assert_eq!(rows, expected);
    assert_eq!(counts(&summary), (9, 7, 0, 2));

    // bcrypt from pgcrypto, checked against leaked pairs; the deleted
    // account (ivan) is left out by the query.
    let (code, rows, summary) = run_recipe(&cluster, work, "psql-salted", same);
    assert_eq!(code, 1);
    let expected: BTreeSet<_> = [
        row("alice@example.com", "pair-leaked", "critical"),
        row("grace@example.com", "account-in-leak", "low"),
    ]
    .into();
    assert_eq!(rows, expected);
    assert_eq!(counts(&summary), (8, 6, 0, 2));
}
