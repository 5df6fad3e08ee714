//! `--access-log FILE`: one line per request, opt-in.
//!
//! The prefixes clients ask for are what their users' passwords look like,
//! so by default nothing per request is kept anywhere. The log holds time,
//! status, mode, coding, bytes and duration; the path (and so the prefix)
//! only with `--log-prefixes`. The file is created mode 0600 and appended
//! to.

use super::metrics::{Answered, MODES};
use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

pub struct AccessLog {
    file: Mutex<File>,
    prefixes: bool,
}

impl AccessLog {
    pub fn open(path: &Path, prefixes: bool) -> Result<AccessLog> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot open access log {}", path.display()))?;
        Ok(AccessLog {
            file: Mutex::new(file),
            prefixes,
        })
    }

    /// Log one request; `target` is its path and query. A failed write is
    /// dropped: the log must never stop the service.
    pub fn log(&self, method: &str, target: &str, coding: &str, a: &Answered) {
        let mut line = format!(
            "[{}] {} {} {} {} {} {:.3}ms",
            httpdate::fmt_http_date(SystemTime::now()),
            method,
            a.status,
            MODES[a.mode],
            coding,
            a.bytes,
            a.took.as_secs_f64() * 1e3
        );
        if self.prefixes {
            line.push(' ');
            line.push_str(target);
        }
        line.push('\n');
        if let Ok(mut file) = self.file.lock() {
            let _ = file.write_all(line.as_bytes());
        }
    }
}
