//! The HTML report (`--html FILE`): one self-contained page for people who
//! would rather look than read: the headline counts, the sources, charts
//! (inline SVG) of findings by reason and severity, of breach prevalence
//! and of shared-password group sizes, the largest shared groups, the
//! privileged accounts affected, what to do per reason, and what the run
//! read and how.
//!
//! Self-contained and inert: no script, no external style, font or image,
//! and a `Content-Security-Policy` of `default-src 'none'` (inline styles
//! only), so a browser refuses any fetch the page might attempt. Every
//! name is HTML-escaped ([`escape`]) and cut to [`NAME_CHARS`].
//!
//! A summary, not a listing: memory and size are bounded whatever the
//! audit's size ([`GROUPS_LISTED`] groups of [`MEMBERS_LISTED`] members,
//! [`PRIVILEGED_LISTED`] privileged accounts, counts for the rest); the
//! reset list has every account. Like the summary it holds no password,
//! hash or hash prefix: only names, counts, paths and file digests.

mod advice;
mod svg;

use crate::accounts::{AccountId, Accounts};
use crate::audit::AuditConfig;
use crate::findings::{Finding, Findings, Reason, Severity};
use crate::policy::shared::Group;
use crate::report::summary::Summary;
use std::cmp::Reverse;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use svg::Bar;

/// Shared-password groups listed, largest first.
pub const GROUPS_LISTED: usize = 50;
/// Members listed per group, privileged first.
pub const MEMBERS_LISTED: usize = 20;
/// Privileged accounts with findings listed, most severe first.
pub const PRIVILEGED_LISTED: usize = 200;
/// Characters of an account name shown (names may be 1,024 bytes).
pub const NAME_CHARS: usize = 64;
/// Decades of prevalence counts: a u64 is below 10^20.
const DECADES: usize = 20;

/// An account as the report names it.
pub struct Named {
    pub name: String,
    /// `file:line` of its row.
    pub origin: String,
    pub privileged: bool,
}

/// One of the largest shared-password groups.
pub struct TopGroup {
    pub id: u32,
    pub size: u32,
    pub privileged: u32,
    /// The first [`MEMBERS_LISTED`], privileged first, then in input order.
    pub members: Vec<Named>,
}

/// A privileged account with findings.
pub struct Affected {
    pub account: Named,
    pub severity: Option<Severity>,
    pub reasons: Vec<Reason>,
}

/// What the page needs beyond the summary: counts, and names only for
/// what is listed, so what is kept is bounded whatever the audit's size.
pub struct Details {
    /// Accounts by the decade of their highest corpus count: `[d]` holds
    /// counts in `10^d..10^(d+1)`.
    prevalence: [u64; DECADES],
    /// `pwned` accounts found only by lists, which have no count.
    listed_only: u64,
    pub groups: Vec<TopGroup>,
    pub privileged: Vec<Affected>,
    /// Privileged accounts with findings, listed or not.
    pub privileged_total: u64,
}

/// How the run was asked for: shown under "This run".
pub struct RunInfo {
    pub started: SystemTime,
    pub options: Vec<(&'static str, String)>,
}

/// `s` with `& < > " '` escaped: safe in text and in quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An account name as shown: lossy UTF-8, at most [`NAME_CHARS`]
/// characters (an ellipsis says it was cut). Not yet escaped.
fn display_name(name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    match name.char_indices().nth(NAME_CHARS) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.into_owned(),
    }
}

fn named(accounts: &Accounts, inputs: &[String], id: AccountId) -> Named {
    let origin = accounts.origin(id);
    Named {
        name: display_name(accounts.name(id)),
        origin: format!("{}:{}", inputs[origin.file], origin.line),
        privileged: accounts.privileged(id),
    }
}

/// The decade of `count`: 0 for 1..9, 1 for 10..99, ...
fn decade(mut count: u64) -> usize {
    let mut d = 0;
    while count >= 10 {
        count /= 10;
        d += 1;
    }
    d
}

impl Details {
    /// One pass over the findings; names are looked up only for what is
    /// listed.
    pub fn gather(
        findings: &Findings,
        accounts: &Accounts,
        groups: &[Group],
        inputs: &[String],
    ) -> Details {
        let mut prevalence = [0; DECADES];
        let mut listed_only = 0;
        let mut privileged: Vec<(Reverse<Option<Severity>>, AccountId, &Finding)> = Vec::new();
        for (id, f) in findings.sorted() {
            match f.max_count() {
                Some(count) => prevalence[decade(count)] += 1,
                None if f.has(Reason::Pwned) => listed_only += 1,
                None => {}
            }
            if accounts.privileged(id) {
                privileged.push((Reverse(f.severity()), id, f));
            }
        }
        let privileged_total = privileged.len() as u64;
        privileged.sort_unstable_by_key(|&(severity, id, _)| (severity, id));
        privileged.truncate(PRIVILEGED_LISTED);
        let privileged = privileged
            .into_iter()
            .map(|(Reverse(severity), id, f)| Affected {
                account: named(accounts, inputs, id),
                severity,
                reasons: f.reasons().collect(),
            })
            .collect();
        Details {
            prevalence,
            listed_only,
            groups: top_groups(groups, accounts, inputs),
            privileged,
            privileged_total,
        }
    }
}

/// The [`GROUPS_LISTED`] largest groups (ties: by id), each with its
/// first [`MEMBERS_LISTED`] members, privileged ones first.
fn top_groups(groups: &[Group], accounts: &Accounts, inputs: &[String]) -> Vec<TopGroup> {
    let mut largest: Vec<&Group> = groups.iter().collect();
    largest.sort_by_key(|g| (Reverse(g.size), g.id));
    largest.truncate(GROUPS_LISTED);
    largest
        .into_iter()
        .map(|g| {
            let first = g.members.iter().filter(|&&a| accounts.privileged(a));
            let then = g.members.iter().filter(|&&a| !accounts.privileged(a));
            TopGroup {
                id: g.id,
                size: g.size,
                privileged: g.privileged,
                members: first
                    .chain(then)
                    .take(MEMBERS_LISTED)
                    .map(|&a| named(accounts, inputs, a))
                    .collect(),
            }
        })
        .collect()
}

/// The options that shaped the run, as `--name value` pairs (no secret
/// ever reaches an option: passwords come only from files and prompts).
pub fn options(cfg: &AuditConfig, min_count: u64) -> Vec<(&'static str, String)> {
    let list = |reasons: &[Reason]| {
        if reasons.len() == Reason::ALL.len() {
            "all".to_string()
        } else {
            reasons
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(",")
        }
    };
    let paths = |paths: &[std::path::PathBuf]| {
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fail_on = &cfg.fail_on;
    let mut fail: Vec<String> = if fail_on.reasons.len() == Reason::ALL.len() {
        vec!["any reason".to_string()]
    } else {
        fail_on
            .reasons
            .iter()
            .map(|r| r.name().to_string())
            .collect()
    };
    fail.extend(
        fail_on
            .min_severity
            .map(|s| format!("{} or worse", s.name())),
    );
    if fail_on.rejected {
        fail.push("rejected".to_string());
    }
    let mut out = vec![
        ("reasons looked for", list(&cfg.reasons)),
        (
            "--fail-on",
            if fail.is_empty() {
                "none".to_string()
            } else {
                fail.join(", ")
            },
        ),
        ("--min-count", min_count.to_string()),
        ("--min-length", cfg.policy.min_length.to_string()),
        ("--min-shared", cfg.policy.min_shared.to_string()),
        (
            "--lookup",
            format!("{:?}", cfg.sources.method).to_lowercase(),
        ),
    ];
    let flags = [
        ("--trust-corpus", cfg.sources.verify.trust),
        ("--include-history", !cfg.input.skip.history),
        ("--include-machine", !cfg.input.skip.machine),
        ("--skip-disabled", cfg.input.skip.disabled),
        ("--strict", cfg.strict),
        ("--api", cfg.sources.api.is_some()),
        ("--admin-col", cfg.input.admin_col.is_some()),
        ("--no-auto-banned", !cfg.auto_banned),
    ];
    out.extend(
        flags
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| (name, "yes".to_string())),
    );
    if !cfg.policy.admins.is_empty() {
        out.push(("--admins", format!("{} names", cfg.policy.admins.len())));
    }
    if !cfg.sources.banned.is_empty() {
        out.push(("--banned", paths(&cfg.sources.banned)));
    }
    if !cfg.sources.org.is_empty() {
        out.push(("--org", cfg.sources.org.join(", ")));
    }
    if let Some(c) = &cfg.combolist {
        out.push(("--combolist", paths(&c.paths)));
        out.push(("--max-candidates", c.max_candidates.to_string()));
    }
    out
}

/// A time as `Thu, 03 Dec 2026 10:38:37 GMT`.
fn when(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// A serde enum's name (`csv`, `plain`, `gzip`).
fn name_of<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `10^d` in short form: 1, 10, 100, 1k, ..., 1M, ..., 1G, ...
fn power_label(d: usize) -> String {
    const UNITS: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
    format!("{}{}", 10u64.pow((d % 3) as u32), UNITS[d / 3])
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328;background:#f6f8fa;margin:0;padding:24px 32px;max-width:1200px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.sub{color:#57606a;margin:0 0 16px}
.warn{background:#fff8c5;border:1px solid #d4a72c;padding:8px 12px;border-radius:6px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:8px 12px;min-width:90px}
.card .n{font-size:26px;font-weight:600}.card .k{color:#57606a;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card.sev-critical .n{color:#a40e26}.card.sev-high .n{color:#bc4c00}.card.sev-medium .n{color:#9a6700}.card.sev-low .n{color:#1a7f37}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure.chart{background:#fff;border:1px solid #d0d7de;border-radius:8px;margin:0;padding:10px 12px;width:490px}
figcaption{font-weight:600;margin-bottom:6px}
svg text{font-size:12px;fill:#1f2328}svg text.value{fill:#57606a}
rect.sev-critical{fill:#cf222e}rect.sev-high{fill:#fb8500}rect.sev-medium{fill:#d4a72c}rect.sev-low{fill:#2da44e}
rect.count{fill:#0969da}rect.list{fill:#8250df}rect.group{fill:#bf3989}
table{border-collapse:collapse;background:#fff;width:100%;font-size:13px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eaeef2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.sev{font-weight:600}.sev.critical{color:#a40e26}.sev.high{color:#bc4c00}.sev.medium{color:#9a6700}.sev.low{color:#1a7f37}
.admin{font-weight:600;color:#a40e26}
ul.members{margin:0;padding-left:18px}ul.members .o{color:#57606a;font-size:12px}
footer{margin-top:32px;color:#57606a;font-size:12px}
";

/// Write the page for `summary` and `details` to `w`.
pub fn write(
    w: &mut dyn std::io::Write,
    summary: &Summary,
    details: &Details,
    run: &RunInfo,
) -> std::io::Result<()> {
    let mut p = String::with_capacity(64 * 1024);
    head(&mut p, summary, run);
    headline(&mut p, summary);
    sources(&mut p, summary);
    charts(&mut p, summary, details);
    to_do(&mut p, summary);
    privileged(&mut p, details);
    groups(&mut p, summary, details);
    this_run(&mut p, summary, run);
    p.push_str(
        "<footer>Written by credaudit. This page holds no password, hash or hash prefix; \
         the reset list (CSV) names every account to reset.</footer>\n</body>\n</html>\n",
    );
    w.write_all(p.as_bytes())
}

fn head(p: &mut String, summary: &Summary, run: &RunInfo) {
    let _ = write!(
        p,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>credaudit report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Credential audit</h1>\n<p class=\"sub\">credaudit {} &middot; started {} &middot; exit code {}</p>\n",
        escape(summary.credaudit_version),
        when(run.started),
        summary.exit_code
    );
    if summary.builtin_only {
        p.push_str(
            "<p class=\"warn\"><b>Only the built-in list</b> of the most common leaked passwords \
             was checked: pass <code>--corpus</code> for a full breach corpus.</p>\n",
        );
    }
}

fn card(p: &mut String, class: &str, label: &str, n: u64) {
    let _ = write!(
        p,
        "<div class=\"card {class}\"><div class=\"n\">{}</div><div class=\"k\">{label}</div></div>",
        thousands(n)
    );
}

fn headline(p: &mut String, summary: &Summary) {
    p.push_str("<section class=\"cards\">");
    card(p, "", "accounts checked", summary.accounts_checked);
    card(p, "", "to reset", summary.report_rows);
    for severity in Severity::ALL.iter().rev() {
        let n = by_name(&summary.accounts_by_severity, severity.name());
        card(p, &format!("sev-{}", severity.name()), severity.name(), n);
    }
    card(p, "", "unchecked", summary.accounts_unchecked);
    card(p, "", "rows rejected", summary.rows_rejected.total);
    p.push_str("</section>\n");
}

fn by_name(tally: &crate::tally::Tally, name: &str) -> u64 {
    tally.by_cause.get(name).copied().unwrap_or(0)
}

fn sources(p: &mut String, summary: &Summary) {
    p.push_str(
        "<h2>Sources</h2>\n<table><tr><th>source</th><th>kind</th><th>hashes</th>\
         <th>entries</th><th>size</th><th>modified</th><th>verification</th></tr>\n",
    );
    let mut corpus = 0;
    for s in &summary.sources {
        let info = &s.info;
        if info.words_before_expansion.is_none() {
            corpus += info.entries.unwrap_or(0);
        }
        let kinds: Vec<String> = info.hash_kinds.iter().map(name_of).collect();
        let verification = s
            .corpus
            .as_ref()
            .map(|c| {
                let gaps = if c.coverage_gaps.is_empty() {
                    String::new()
                } else {
                    format!("; coverage gaps: {}", c.coverage_gaps.join(", "))
                };
                format!("{}{gaps}", c.verification.unwrap_or("not verified"))
            })
            .unwrap_or_default();
        let _ = writeln!(
            p,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(
                &info
                    .path
                    .as_ref()
                    .map_or(info.name.clone(), |path| path.display().to_string())
            ),
            escape(info.kind),
            escape(&kinds.join(", ")),
            info.entries.map(thousands).unwrap_or_default(),
            info.size_bytes.map(thousands).unwrap_or_default(),
            info.modified_unix
                .map(|t| when(UNIX_EPOCH + Duration::from_secs(t)))
                .unwrap_or_default(),
            escape(&verification),
        );
    }
    let _ = writeln!(
        p,
        "</table>\n<p>Corpus size: {} entries in the breach sources; a hit counts from a prevalence of {}.{}</p>",
        thousands(corpus),
        summary.min_count,
        if summary.builtin_only {
            " Only the built-in list ran."
        } else {
            ""
        }
    );
}

fn charts(p: &mut String, summary: &Summary, details: &Details) {
    p.push_str("<h2>Findings</h2>\n<section class=\"charts\">\n");
    let reasons: Vec<Bar> = Reason::ALL
        .into_iter()
        .map(|r| Bar {
            label: r.name().to_string(),
            value: by_name(&summary.accounts_flagged, r.name()),
            class: severity_class(Some(r.severity())),
        })
        .filter(|b| b.value > 0)
        .collect();
    if reasons.is_empty() {
        p.push_str("<p>Nothing found: no account to reset.</p>\n");
    } else {
        svg::bar_chart(p, "reasons", "Accounts by reason", &reasons);
    }
    let severities: Vec<Bar> = Severity::ALL
        .iter()
        .rev()
        .map(|s| Bar {
            label: s.name().to_string(),
            value: by_name(&summary.accounts_by_severity, s.name()),
            class: severity_class(Some(*s)),
        })
        .collect();
    svg::bar_chart(p, "severity", "Accounts by highest severity", &severities);
    prevalence_chart(p, details);
    group_size_chart(p, summary);
    p.push_str("</section>\n");
}

fn severity_class(severity: Option<Severity>) -> &'static str {
    match severity {
        Some(Severity::Critical) => "sev-critical",
        Some(Severity::High) => "sev-high",
        Some(Severity::Medium) => "sev-medium",
        Some(Severity::Low) | None => "sev-low",
    }
}

/// Decades from the lowest to the highest that holds an account, then
/// the list-only hits.
fn prevalence_chart(p: &mut String, details: &Details) {
    let used = || (0..DECADES).filter(|&d| details.prevalence[d] > 0);
    let mut bars: Vec<Bar> = match (used().next(), used().next_back()) {
        (Some(lo), Some(hi)) => (lo..=hi)
            .map(|d| Bar {
                label: format!("{}–{}", power_label(d), power_label(d + 1)),
                value: details.prevalence[d],
                class: "count",
            })
            .collect(),
        _ => Vec::new(),
    };
    if details.listed_only > 0 {
        bars.push(Bar {
            label: "in a list (no count)".to_string(),
            value: details.listed_only,
            class: "list",
        });
    }
    if bars.is_empty() {
        p.push_str("<p>No breach hit.</p>\n");
    } else {
        svg::bar_chart(
            p,
            "prevalence",
            "Breached accounts by prevalence: times seen in the corpus (log buckets)",
            &bars,
        );
    }
}

/// Group sizes in powers of two: 2, 3–4, 5–8, ...
fn group_size_chart(p: &mut String, summary: &Summary) {
    let mut counts: Vec<u64> = Vec::new();
    for g in &summary.shared_groups {
        let bucket = (32 - (g.size.max(2) - 1).leading_zeros() - 1) as usize;
        if counts.len() <= bucket {
            counts.resize(bucket + 1, 0);
        }
        counts[bucket] += 1;
    }
    if counts.is_empty() {
        p.push_str("<p>No shared passwords.</p>\n");
        return;
    }
    let bars: Vec<Bar> = counts
        .iter()
        .enumerate()
        .map(|(b, &n)| Bar {
            label: match b {
                0 => "2 accounts".to_string(),
                _ => format!("{}–{} accounts", (1u64 << b) + 1, 1u64 << (b + 1)),
            },
            value: n,
            class: "group",
        })
        .collect();
    svg::bar_chart(p, "groups", "Shared-password groups by size", &bars);
}

fn to_do(p: &mut String, summary: &Summary) {
    let found: Vec<(Reason, u64)> = Reason::ALL
        .into_iter()
        .map(|r| (r, by_name(&summary.accounts_flagged, r.name())))
        .filter(|&(_, n)| n > 0)
        .collect();
    p.push_str("<h2>What to do</h2>\n");
    if found.is_empty() {
        p.push_str("<p>Nothing: no account has a finding.</p>\n");
        return;
    }
    p.push_str(
        "<table class=\"advice\"><tr><th>reason</th><th>severity</th><th>accounts</th><th>what to do</th></tr>\n",
    );
    for (reason, n) in found {
        let severity = reason.severity().name();
        let _ = writeln!(
            p,
            "<tr><td class=\"mono\">{}</td><td class=\"sev {severity}\">{severity}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            reason.name(),
            thousands(n),
            escape(advice::advice(reason))
        );
    }
    p.push_str("</table>\n");
}

fn account_cell(a: &Named) -> String {
    let admin = if a.privileged {
        " <span class=\"admin\">privileged</span>"
    } else {
        ""
    };
    format!(
        "<span class=\"mono\">{}</span>{admin} <span class=\"o\">{}</span>",
        escape(&a.name),
        escape(&a.origin)
    )
}

fn privileged(p: &mut String, details: &Details) {
    let _ = writeln!(
        p,
        "<h2>Privileged accounts affected</h2>\n<p>{} privileged accounts have findings{}.</p>",
        thousands(details.privileged_total),
        if details.privileged_total > details.privileged.len() as u64 {
            format!("; the {} most severe are listed", details.privileged.len())
        } else {
            String::new()
        }
    );
    if details.privileged.is_empty() {
        return;
    }
    p.push_str(
        "<table class=\"privileged\"><tr><th>account</th><th>origin</th><th>severity</th><th>reasons</th></tr>\n",
    );
    for a in &details.privileged {
        let severity = a.severity.map_or("", Severity::name);
        let reasons: Vec<&str> = a.reasons.iter().map(|r| r.name()).collect();
        let _ = writeln!(
            p,
            "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td>\
             <td class=\"sev {severity}\">{severity}</td><td class=\"mono\">{}</td></tr>",
            escape(&a.account.name),
            escape(&a.account.origin),
            reasons.join(", ")
        );
    }
    p.push_str("</table>\n");
}

fn groups(p: &mut String, summary: &Summary, details: &Details) {
    let total = summary.shared_groups.len();
    let _ = writeln!(
        p,
        "<h2>Shared-password groups</h2>\n<p>{} groups of accounts share a password{}.</p>",
        thousands(total as u64),
        if total > details.groups.len() {
            format!(
                "; the {} largest are listed, with their first {MEMBERS_LISTED} members",
                details.groups.len()
            )
        } else {
            String::new()
        }
    );
    if details.groups.is_empty() {
        return;
    }
    p.push_str(
        "<table class=\"groups\"><tr><th>group</th><th>accounts</th><th>privileged</th>\
         <th>members (privileged first)</th></tr>\n",
    );
    for g in &details.groups {
        let _ = write!(
            p,
            "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td><ul class=\"members\">",
            g.id,
            thousands(g.size as u64),
            g.privileged
        );
        for m in &g.members {
            let _ = write!(p, "<li>{}</li>", account_cell(m));
        }
        if g.size as usize > g.members.len() {
            let _ = write!(
                p,
                "<li class=\"o\">and {} more</li>",
                thousands(g.size as u64 - g.members.len() as u64)
            );
        }
        p.push_str("</ul></td></tr>\n");
    }
    p.push_str("</table>\n");
}

fn this_run(p: &mut String, summary: &Summary, run: &RunInfo) {
    let _ = writeln!(
        p,
        "<h2>This run</h2>\n<table class=\"run\">\
         <tr><th>credaudit</th><td>{}</td></tr>\
         <tr><th>started</th><td>{}</td></tr>\
         <tr><th>took</th><td>{:.1} s</td></tr>\
         <tr><th>rows read</th><td>{} ({} skipped by policy)</td></tr>\
         <tr><th>exit code</th><td>{}</td></tr></table>",
        escape(summary.credaudit_version),
        when(run.started),
        summary.durations_ms.total as f64 / 1000.0,
        thousands(summary.rows_read),
        thousands(summary.rows_skipped.total),
        summary.exit_code
    );
    p.push_str(
        "<h3>Inputs</h3>\n<table class=\"inputs\"><tr><th>input</th><th>format</th><th>secret</th>\
         <th>compression</th><th>bytes</th><th>BLAKE3 of the bytes as stored</th></tr>\n",
    );
    for i in &summary.inputs {
        let _ = writeln!(
            p,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"mono\">{}</td></tr>",
            escape(&i.path.display().to_string()),
            name_of(&i.format),
            name_of(&i.secret_kind),
            name_of(&i.compression),
            i.size_bytes.map(thousands).unwrap_or_default(),
            escape(i.blake3.as_deref().unwrap_or("")),
        );
    }
    p.push_str("</table>\n<h3>Options</h3>\n<table class=\"options\">");
    for (name, value) in &run.options {
        let _ = write!(
            p,
            "<tr><th class=\"mono\">{name}</th><td class=\"mono\">{}</td></tr>",
            escape(value)
        );
    }
    p.push_str("</table>\n");
    if !summary.notes.is_empty() {
        p.push_str("<h3>Notes</h3>\n<ul>");
        for note in &summary.notes {
            let _ = write!(p, "<li>{}</li>", escape(note));
        }
        p.push_str("</ul>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{AccountStatus, Flags, Origin};

    #[test]
    fn escapes_and_cuts_names() {
        assert_eq!(
            escape("<script>alert(1)</script> a\"b'c x&y"),
            "&lt;script&gt;alert(1)&lt;/script&gt; a&quot;b&#39;c x&amp;y"
        );
        let long = "é".repeat(NAME_CHARS + 10);
        let shown = display_name(long.as_bytes());
        assert_eq!(shown.chars().count(), NAME_CHARS + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(display_name(b"short"), "short");
    }

    #[test]
    fn labels() {
        assert_eq!(
            (decade(1), decade(9), decade(10), decade(37_359_195)),
            (0, 0, 1, 7)
        );
        assert_eq!(decade(u64::MAX), DECADES - 1);
        let labels: Vec<String> = [0, 1, 2, 3, 6, 7, 9].map(power_label).to_vec();
        assert_eq!(labels, ["1", "10", "100", "1k", "1M", "10M", "1G"]);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }

    /// 60 groups of 25 members: the 50 largest are kept, 20 members each,
    /// privileged members first.
    #[test]
    fn groups_are_bounded_and_privileged_come_first() {
        let mut accounts = Accounts::default();
        let mut groups = Vec::new();
        for g in 0..60u32 {
            let size = 25 + (g % 7);
            let mut members = Vec::new();
            for m in 0..size {
                // The last two members of each group are privileged.
                let privileged = m >= size - 2;
                let flags = Flags {
                    status: AccountStatus::Unknown,
                    privileged,
                };
                let id = accounts
                    .push(
                        format!("g{g}m{m}").as_bytes(),
                        Origin {
                            file: 0,
                            line: accounts.len() as u64 + 2,
                        },
                        flags,
                    )
                    .unwrap();
                members.push(id);
            }
            groups.push(Group {
                id: g + 1,
                size,
                privileged: 2,
                members,
            });
        }
        let top = top_groups(&groups, &accounts, &["users.csv".to_string()]);
        assert_eq!(top.len(), GROUPS_LISTED);
        let sizes: Vec<u32> = top.iter().map(|g| g.size).collect();
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
        // Sizes 25..=31 cycle; the 10 smallest groups (size 25 and some 26) are left out.
        assert_eq!(*sizes.last().unwrap(), 26);
        for g in &top {
            assert_eq!(g.members.len(), MEMBERS_LISTED);
            assert!(g.members[0].privileged && g.members[1].privileged);
            assert!(g.members[2..].iter().all(|m| !m.privileged));
            assert_eq!(g.members[2].name, format!("g{}m0", g.id - 1));
            assert!(g.members[2].origin.starts_with("users.csv:"));
        }
    }
}
