//! Test harness: a temporary working directory and a builder for running the
//! real `credaudit` binary in it (the ripgrep/xsv way).
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Path of a committed fixture.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// A `credaudit` command running in this directory, with its cache
    /// (range responses, corpus verification stamps) in `.cache` here, never
    /// in the home directory of whoever runs the tests.
    pub fn cmd(&self, args: &[&str]) -> Cmd {
        let mut command = Command::new(env!("CARGO_BIN_EXE_credaudit"));
        command
            .current_dir(self.dir.path())
            .args(args)
            .env("XDG_CACHE_HOME", self.dir.path().join(".cache"));
        Cmd {
            command,
            stdin: None,
        }
    }
}

pub struct Cmd {
    command: Command,
    stdin: Option<Vec<u8>>,
}

/// What a run produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Cmd {
    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Cmd {
        self.command.arg(a);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Cmd {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Cmd {
        self.command.env_remove(key);
        self
    }

    /// Run under an address-space limit (`ulimit -v`), in bytes.
    pub fn address_space_limit(mut self, bytes: u64) -> Cmd {
        use std::os::unix::process::CommandExt;
        let limit = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: bytes,
        };
        // SAFETY: only setrlimit, which is async-signal-safe, runs between
        // fork and exec.
        unsafe {
            self.command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        self
    }

    pub fn stdin(mut self, data: impl AsRef<[u8]>) -> Cmd {
        self.stdin = Some(data.as_ref().to_vec());
        self
    }

    /// [`Cmd::run`], failing the test instead of hanging when the run
    /// takes longer than `limit`.
    pub fn run_within(self, limit: std::time::Duration) -> Run {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(self.run());
        });
        rx.recv_timeout(limit)
            .unwrap_or_else(|_| panic!("credaudit still running after {limit:?}"))
    }

    pub fn run(mut self) -> Run {
        self.command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.command.spawn().expect("spawn credaudit");
        if let Some(data) = self.stdin.take() {
            let mut stdin = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&data);
            });
        }
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().unwrap();
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

impl Run {
    /// Assert the exit code, showing both streams when it differs.
    pub fn code(self, expected: i32) -> Run {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Assert that standard error says `text`.
    #[track_caller]
    pub fn says(&self, text: &str) -> &Run {
        assert!(
            self.stderr.contains(text),
            "{text:?} not in:\n{}",
            self.stderr
        );
        self
    }

    /// The reset list's rows: account, origin, reasons, max_count, sources,
    /// account_status, severity, shared_group, shared_size.
    pub fn rows(&self) -> Vec<Vec<String>> {
        parse_csv(&self.stdout)
    }

    /// Accounts listed in the reset list, in order.
    pub fn accounts(&self) -> Vec<String> {
        self.rows().into_iter().map(|r| r[0].clone()).collect()
    }
}

/// Parse a reset list (header checked) into its data rows.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "account",
            "origin",
            "reasons",
            "max_count",
            "sources",
            "account_status",
            "severity",
            "shared_group",
            "shared_size",
            "match_tier",
            "banned_rule"
        ]
    );
    reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

/// A Pwned Passwords file (CRLF, sorted) from (hash, count) pairs.
pub fn hibp_file(entries: &[(&str, u64)]) -> String {
    let mut sorted: Vec<_> = entries.to_vec();
    sorted.sort();
    sorted.iter().map(|(h, c)| format!("{h}:{c}\r\n")).collect()
}

pub const SHA1_PASSWORD: &str = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8";
pub const NTLM_PASSWORD: &str = "8846F7EAEE8FB117AD06BDD830B7586C";
pub const SHA1_123456: &str = "7C4A8D09CA3762AF61E59520943DC26494F8941B";

/// xorshift64*: the same random data on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A random 20-byte hash.
    pub fn hash(&mut self) -> [u8; 20] {
        let mut h = [0u8; 20];
        for chunk in h.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_be_bytes()[..chunk.len()]);
        }
        h
    }
}

/// The shell recipe a document marks with `<!-- recipe: NAME -->`: the
/// body of the fenced code block right after the marker. Tests run these
/// as written, so the documentation cannot drift from what is tested.
pub fn recipe(doc: &str, name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
    let text = std::fs::read_to_string(&path).unwrap();
    let marker = format!("<!-- recipe: {name} -->");
    let mut found = text.matches(&marker);
    assert!(found.next().is_some(), "{doc} has no {marker}");
    assert!(found.next().is_none(), "{doc} has {marker} twice");
    let after = &text[text.find(&marker).unwrap() + marker.len()..];
    let mut lines = after.lines().skip_while(|l| l.trim().is_empty());
    let fence = lines.next().unwrap_or("");
    assert!(
        fence.starts_with("```"),
        "{doc}: {marker} is not followed by a code block"
    );
    let body: Vec<&str> = lines.take_while(|l| !l.starts_with("```")).collect();
    body.join("\n") + "\n"
}

/// The directory of the `credaudit` binary under test, to put first on
/// `PATH` when a shell recipe calls `credaudit`.
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_credaudit"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `PATH` with the binary under test first.
pub fn path_with_bin() -> std::ffi::OsString {
    let mut dirs = vec![bin_dir()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

/// Is `program` on `PATH` (and runnable)?
pub fn have(program: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|dir| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(dir.join(program))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}
