//! Process hygiene: no core dump can write passwords to disk.
mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Start `program` with a stdin pipe left open (so `credaudit check` waits
/// on it), as `nobody` when the tests run as root: a process is then told
/// from its /proc entry, which the kernel gives to root only while the
/// process is not dumpable.
fn spawn_waiting(program: &str, args: &[&str]) -> Child {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: getuid is always safe.
    if unsafe { libc::getuid() } == 0 {
        command.uid(65534).gid(65534);
    }
    command.spawn().expect("spawn")
}

/// (owner of /proc/PID/status, the "Max core file size" line of its limits).
fn observe(child: &Child) -> (u32, String) {
    let proc = format!("/proc/{}", child.id());
    let owner = std::fs::metadata(format!("{proc}/status")).unwrap().uid();
    let limits = std::fs::read_to_string(format!("{proc}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (owner, core)
}

#[test]
fn credaudit_turns_off_core_dumps_before_reading_a_password() {
    // The control: the same process shape, without credaudit, is dumpable
    // (its /proc entry belongs to its own user).
    let mut control = spawn_waiting("cat", &[]);
    std::thread::sleep(Duration::from_millis(200));
    let (control_owner, _) = observe(&control);
    control.kill().unwrap();
    control.wait().unwrap();
    assert_ne!(
        control_owner, 0,
        "the observation cannot tell dumpable apart"
    );

    // A copy `nobody` can run wherever the checkout lives.
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("credaudit");
    std::fs::copy(env!("CARGO_BIN_EXE_credaudit"), &exe).unwrap();
    for path in [dir.path(), exe.as_path()] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut child = spawn_waiting(exe.to_str().unwrap(), &["check"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        let seen = observe(&child);
        if seen.0 == 0 || Instant::now() > deadline {
            break seen;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (owner, core) = seen;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(owner, 0, "credaudit is still dumpable (PR_SET_DUMPABLE)");
    assert_eq!(core, "Max core file size 0 0 bytes", "RLIMIT_CORE");
}

/// A URL may carry `user:password@`: errors about it never quote it.
#[test]
fn a_bad_api_url_is_refused_without_quoting_it() {
    let wd = common::Workdir::new();
    wd.write("u.csv", "email,password\na@x.com,hunter2hunter2\n");
    for url in [
        "http://user:Secr3t-Pw@exa mple.com",
        "https://user:Secr3t-Pw@",
    ] {
        let run = wd
            .cmd(&["audit", "u.csv", "--no-cache"])
            .arg(format!("--api={url}"))
            .run()
            .code(2);
        assert!(run.stderr.contains("--api URL"), "{}", run.stderr);
        assert!(!run.stderr.contains("Secr3t-Pw"), "{}", run.stderr);
    }
}
