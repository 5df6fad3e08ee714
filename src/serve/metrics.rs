//! `GET /metrics`: what the server did, in the Prometheus text format.
//! Counters are plain atomics indexed by fixed label values, so recording a
//! request costs a few relaxed additions and no lock. Nothing here names a
//! prefix.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Statuses the handler answers with; anything else counts as `other`.
const STATUSES: [u16; 8] = [200, 304, 400, 404, 405, 500, 503, 0];
/// Request modes: the corpus asked for, or none (other paths).
pub const MODES: [&str; 3] = ["sha1", "ntlm", "none"];
/// Latency histogram bounds, seconds.
const BOUNDS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

#[derive(Default)]
pub struct Metrics {
    requests: [[AtomicU64; MODES.len()]; STATUSES.len()],
    bytes: AtomicU64,
    buckets: [AtomicU64; BOUNDS.len()],
    latency_nanos: AtomicU64,
    latency_count: AtomicU64,
    padded: [AtomicU64; 2],
    connections_open: AtomicI64,
    connections: AtomicU64,
}

/// One answered request.
pub struct Answered {
    pub status: u16,
    /// Index into [`MODES`].
    pub mode: usize,
    /// Body bytes sent.
    pub bytes: u64,
    pub took: Duration,
    /// Whether padding was asked for (range requests only).
    pub padded: Option<bool>,
}

impl Metrics {
    pub fn record(&self, a: &Answered) {
        let slot = STATUSES
            .iter()
            .position(|&s| s == a.status)
            .unwrap_or(STATUSES.len() - 1);
        self.requests[slot][a.mode].fetch_add(1, Relaxed);
        self.bytes.fetch_add(a.bytes, Relaxed);
        let seconds = a.took.as_secs_f64();
        if let Some(b) = BOUNDS.iter().position(|&le| seconds <= le) {
            self.buckets[b].fetch_add(1, Relaxed);
        }
        self.latency_nanos
            .fetch_add(a.took.as_nanos() as u64, Relaxed);
        self.latency_count.fetch_add(1, Relaxed);
        if let Some(padded) = a.padded {
            self.padded[usize::from(padded)].fetch_add(1, Relaxed);
        }
    }

    pub fn connection_opened(&self) {
        self.connections.fetch_add(1, Relaxed);
        self.connections_open.fetch_add(1, Relaxed);
    }

    pub fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP credaudit_serve_requests_total Requests answered, by status and mode.\n\
             # TYPE credaudit_serve_requests_total counter"
        );
        for (i, status) in STATUSES.iter().enumerate() {
            for (m, mode) in MODES.iter().enumerate() {
                let n = self.requests[i][m].load(Relaxed);
                if n > 0 {
                    let status = if *status == 0 {
                        "other".to_string()
                    } else {
                        status.to_string()
                    };
                    let _ = writeln!(
                        out,
                        "credaudit_serve_requests_total{{status=\"{status}\",mode=\"{mode}\"}} {n}"
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP credaudit_serve_response_bytes_total Body bytes sent (after compression).\n\
             # TYPE credaudit_serve_response_bytes_total counter\n\
             credaudit_serve_response_bytes_total {}",
            self.bytes.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP credaudit_serve_request_duration_seconds Time from request head to response.\n\
             # TYPE credaudit_serve_request_duration_seconds histogram"
        );
        let mut cumulative = 0;
        for (b, le) in BOUNDS.iter().enumerate() {
            cumulative += self.buckets[b].load(Relaxed);
            let _ = writeln!(
                out,
                "credaudit_serve_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(
            out,
            "credaudit_serve_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             credaudit_serve_request_duration_seconds_sum {}\n\
             credaudit_serve_request_duration_seconds_count {count}",
            self.latency_nanos.load(Relaxed) as f64 / 1e9
        );
        let _ = writeln!(
            out,
            "# HELP credaudit_serve_padded_responses_total Range requests by Add-Padding.\n\
             # TYPE credaudit_serve_padded_responses_total counter\n\
             credaudit_serve_padded_responses_total{{padding=\"off\"}} {}\n\
             credaudit_serve_padded_responses_total{{padding=\"on\"}} {}",
            self.padded[0].load(Relaxed),
            self.padded[1].load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP credaudit_serve_connections_open Connections open now.\n\
             # TYPE credaudit_serve_connections_open gauge\n\
             credaudit_serve_connections_open {}\n\
             # HELP credaudit_serve_connections_total Connections accepted.\n\
             # TYPE credaudit_serve_connections_total counter\n\
             credaudit_serve_connections_total {}",
            self.connections_open.load(Relaxed),
            self.connections.load(Relaxed)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_counts_by_status_mode_and_latency() {
        let m = Metrics::default();
        let answer = |status, mode, micros| Answered {
            status,
            mode,
            bytes: 100,
            took: Duration::from_micros(micros),
            padded: Some(status == 200),
        };
        m.record(&answer(200, 0, 50));
        m.record(&answer(200, 0, 300));
        m.record(&answer(400, 1, 2_000_000));
        m.record(&answer(418, 2, 10));
        let text = m.render();
        assert!(text.contains("credaudit_serve_requests_total{status=\"200\",mode=\"sha1\"} 2\n"));
        assert!(text.contains("credaudit_serve_requests_total{status=\"400\",mode=\"ntlm\"} 1\n"));
        assert!(text.contains("credaudit_serve_requests_total{status=\"other\",mode=\"none\"} 1\n"));
        assert!(text.contains("credaudit_serve_response_bytes_total 400\n"));
        assert!(text.contains("_bucket{le=\"0.0001\"} 2\n"), "{text}");
        assert!(text.contains("_bucket{le=\"0.0005\"} 3\n"));
        assert!(text.contains("_bucket{le=\"1\"} 3\n"));
        assert!(text.contains("_bucket{le=\"+Inf\"} 4\n"));
        assert!(text.contains("credaudit_serve_request_duration_seconds_count 4\n"));
        assert!(text.contains("padding=\"on\"} 2\n"));
        assert!(text.contains("padding=\"off\"} 2\n"));
    }
}
