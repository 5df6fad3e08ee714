//! Measuring benchmark children: wall time, CPU time and peak RSS of one
//! process, reaped with `wait4`. Shared by the benchmarks in `benches/`.
#![allow(dead_code)]

pub mod corpus;

use std::fs;
use std::io;
use std::process::Command;
use std::time::{Duration, Instant};

/// How a child process ended, and what it cost.
pub struct Run {
    pub wall: Duration,
    /// Peak RSS in bytes: `ru_maxrss` of the child, which Linux takes as the
    /// maximum over the child and the descendants it reaped (a pipeline's
    /// largest process, not the sum of them).
    pub rss: u64,
    /// User + system CPU seconds of the child and its reaped descendants:
    /// less sensitive than wall time to other work on the machine.
    pub cpu: f64,
    pub exit: Exit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit {c}"),
            Exit::Signal(s) => write!(f, "signal {s}"),
        }
    }
}

/// Spawn `cmd` and reap it with `wait4`, which (unlike `Child::wait`) also
/// returns the child's resource usage.
pub fn measure(cmd: &mut Command) -> io::Result<Run> {
    release_own_memory();
    let started = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data; zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own unreaped child; the pointers are valid.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    let wall = started.elapsed();
    // The child is reaped: dropping the handle only closes its pipes.
    drop(child);
    let exit = if libc::WIFEXITED(status) {
        Exit::Code(libc::WEXITSTATUS(status))
    } else {
        Exit::Signal(libc::WTERMSIG(status))
    };
    Ok(Run {
        wall,
        rss: usage.ru_maxrss as u64 * 1024,
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        exit,
    })
}

fn seconds(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// Keep this process's memory out of its children's peak RSS.
///
/// A child runs in this process's address space (fork or vfork) until it
/// execs, and at exec Linux folds that address space's peak RSS into the
/// child's `ru_maxrss`: every child would report at least this process's own
/// peak. So give freed heap back to the kernel, then reset the peak mark
/// (`VmHWM`) to the current RSS (`clear_refs` 5). What remains is the floor
/// that `measure_floor` reports.
pub fn release_own_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
    let _ = fs::write("/proc/self/clear_refs", "5");
}

/// The 1-minute load average: other work on the machine skews timings.
pub fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}
