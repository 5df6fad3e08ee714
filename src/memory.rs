//! How much more memory this process may take before an allocation fails.
//!
//! Memory-hard password hashes (scrypt, Argon2) ask for up to 4 GiB each,
//! and a failed allocation aborts the whole run: there is no error to catch.
//! So before running them, the verification pass asks here how much room is
//! left, and runs no more of them at once than fits. The room is the
//! smallest of what each of the limits a process meets still allows:
//! - the machine: `MemAvailable` in `/proc/meminfo`;
//! - its control group (containers, Kubernetes pods, systemd units), the
//!   cgroup itself and every cgroup above it: v2 `memory.max` less
//!   `memory.current`, or v1 `memory.limit_in_bytes` less
//!   `memory.usage_in_bytes`;
//! - its address space (`ulimit -v`): `RLIMIT_AS` less the `VmSize` already
//!   mapped.
//!
//! A limit that cannot be read (another OS, no `/proc`) is no limit.

use std::path::{Path, PathBuf};

/// The room left under every limit that could be read, in bytes; `None`
/// when none could.
pub fn room() -> Option<u64> {
    [machine_room(), cgroup_room(), address_space_room()]
        .into_iter()
        .flatten()
        .min()
}

/// `MemAvailable` from `/proc/meminfo`.
fn machine_room() -> Option<u64> {
    kib_field(
        &std::fs::read_to_string("/proc/meminfo").ok()?,
        "MemAvailable:",
    )
}

/// `RLIMIT_AS` less the address space already mapped (`VmSize`).
fn address_space_room() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let mapped = kib_field(&status, "VmSize:")?;
    Some(limit.rlim_cur.saturating_sub(mapped))
}

/// The room left in this process's memory cgroups (v2, then v1).
fn cgroup_room() -> Option<u64> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let root = Path::new("/sys/fs/cgroup");
    let v2 = cgroup_path(&membership, |controllers| controllers.is_empty())
        .and_then(|rel| room_up_the_tree(root, &rel, "memory.max", "memory.current"));
    v2.or_else(|| {
        let rel = cgroup_path(&membership, |c| c.split(',').any(|c| c == "memory"))?;
        room_up_the_tree(
            &root.join("memory"),
            &rel,
            "memory.limit_in_bytes",
            "memory.usage_in_bytes",
        )
    })
}

/// The cgroup path of the `/proc/self/cgroup` line whose controller list
/// satisfies `wanted` (`0::/path` is v2: an empty list).
fn cgroup_path(membership: &str, wanted: impl Fn(&str) -> bool) -> Option<String> {
    membership.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        wanted(controllers).then(|| path.trim_start_matches('/').to_string())
    })
}

/// The smallest `limit - usage` of the cgroup `root/rel` and of each cgroup
/// above it up to `root`. Inside a container the path seen may not exist
/// under the mount (a cgroup namespace puts the container's own cgroup at
/// the root): then only `root` is read.
fn room_up_the_tree(root: &Path, rel: &str, limit: &str, usage: &str) -> Option<u64> {
    let mut dir: PathBuf = root.join(rel);
    if !dir.is_dir() {
        dir = root.to_path_buf();
    }
    let mut smallest: Option<u64> = None;
    loop {
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        if let (Some(max), Some(used)) = (read(limit), read(usage)) {
            if let (Some(max), Ok(used)) = (limit_value(&max), used.trim().parse::<u64>()) {
                let room = max.saturating_sub(used);
                smallest = Some(smallest.map_or(room, |s| s.min(room)));
            }
        }
        if dir == root || !dir.pop() || !dir.starts_with(root) {
            return smallest;
        }
    }
}

/// A cgroup limit: bytes, or `max` (none).
fn limit_value(text: &str) -> Option<u64> {
    match text.trim() {
        "max" => None,
        bytes => bytes.parse().ok(),
    }
}

/// A `Name:   1234 kB` field of `/proc/meminfo` or `/proc/self/status`, in
/// bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fields() {
        let meminfo = "MemTotal:       24683520 kB\nMemFree:        21702000 kB\nMemAvailable:   23730000 kB\n";
        assert_eq!(kib_field(meminfo, "MemAvailable:"), Some(23_730_000 * 1024));
        assert_eq!(kib_field(meminfo, "VmSize:"), None);
        assert_eq!(limit_value("max\n"), None);
        assert_eq!(limit_value("2147483648\n"), Some(1 << 31));
    }

    #[test]
    fn cgroup_membership() {
        let hybrid = "4:memory:/process_api/4e15\n1:cpu:/\n0::/user.slice/x.scope\n";
        assert_eq!(
            cgroup_path(hybrid, |c| c.is_empty()).as_deref(),
            Some("user.slice/x.scope")
        );
        assert_eq!(
            cgroup_path(hybrid, |c| c.split(',').any(|c| c == "memory")).as_deref(),
            Some("process_api/4e15")
        );
    }

    #[test]
    fn the_tightest_cgroup_up_the_tree_wins() {
        let root = tempfile::tempdir().unwrap();
        let leaf = root.path().join("pod/app");
        std::fs::create_dir_all(&leaf).unwrap();
        let write = |dir: &Path, max: &str, current: &str| {
            std::fs::write(dir.join("memory.max"), max).unwrap();
            std::fs::write(dir.join("memory.current"), current).unwrap();
        };
        write(&leaf, "max\n", "100\n");
        write(&root.path().join("pod"), "1000\n", "700\n");
        write(root.path(), "max\n", "5000\n");
        let room = room_up_the_tree(root.path(), "pod/app", "memory.max", "memory.current");
        assert_eq!(room, Some(300));
        let unknown = room_up_the_tree(root.path(), "gone", "memory.max", "memory.current");
        assert_eq!(unknown, None, "the mount root has no limit");
    }
}
