//! No core dumps: a crash while passwords are in memory must not write them
//! to disk (a core file, `systemd-coredump`'s journal, a crash reporter).
//! The binary calls [`disable`] before it reads anything.
//!
//! Two switches, since either alone leaves a way out: `RLIMIT_CORE` 0 stops
//! the kernel writing a core file, but not a `core_pattern` that pipes the
//! dump to a program (those ignore the limit); `PR_SET_DUMPABLE` 0 stops
//! both, and also keeps other processes of the same user from attaching
//! with ptrace or reading `/proc/<pid>/mem`.

use std::io;

/// Turn core dumps off for this process (and what it would spawn).
pub fn disable() -> io::Result<()> {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads one rlimit from a struct we own.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) } != 0 {
        return Err(io::Error::last_os_error());
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_DUMPABLE takes one integer argument; the rest are
        // ignored.
        if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
