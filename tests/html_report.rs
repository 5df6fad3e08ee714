//! The HTML report (`--html`): a private (0600), self-contained page with
//! no password, hash or hash prefix and every name escaped; then loaded by
//! a real browser (headless Chromium, where installed): its bars counted
//! in the rendered DOM against the audit's known findings, its log read
//! for console messages and refused loads, and a screenshot taken.
mod common;
use common::*;
use credaudit::hash::{encode_hex, ntlm, sha1};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An export with hostile names beside `users.csv`: the privileged
/// `<script>` (pwned, seen 2,330,995 times), `a"b'c` and the privileged `x&y` sharing one
/// password, three accounts sharing another, the privileged `root` with a
/// short one, and an empty password.
const HOSTILE: &str = "email,password\n\
<script>alert(1)</script>,iloveyou\n\
\"a\"\"b'c\",Winter-shared-77\n\
x&y,Winter-shared-77\n\
root,Qz7!\n\
ops1,Onboard-2026-xyz\n\
ops2,Onboard-2026-xyz\n\
ops3,Onboard-2026-xyz\n\
blank,\"\"\n";

/// The passwords of both exports that could show up in the page if it
/// leaked them. Left out: `password` and `123456`, which the page's own
/// words and numbers may hold by chance, and the empty password (their
/// hashes are checked below all the same).
const PASSWORDS: [&str; 12] = [
    "correct horse battery staple",
    "pa,ss\"word",
    "multi\nline",
    " letmein",
    "letmein",
    "qwerty",
    "Tr0ub4dor&3",
    "rarely-seen-pw",
    "iloveyou",
    "Winter-shared-77",
    "Onboard-2026-xyz",
    "Qz7!",
];

/// Every password of both exports, for the hash checks.
const ALL_PASSWORDS: [&str; 15] = [
    "password",
    "correct horse battery staple",
    "123456",
    "pa,ss\"word",
    "multi\nline",
    " letmein",
    "letmein",
    "qwerty",
    "Tr0ub4dor&3",
    "rarely-seen-pw",
    "iloveyou",
    "Winter-shared-77",
    "Onboard-2026-xyz",
    "Qz7!",
    "",
];

struct Audit {
    wd: Workdir,
    html: String,
    summary: serde_json::Value,
}

fn audit() -> Audit {
    let wd = Workdir::new();
    wd.write("hostile.csv", HOSTILE);
    wd.write("admins.txt", "x&y\n<script>alert(1)</script>\nroot\n");
    wd.cmd(&[
        "audit",
        "--admins",
        "admins.txt",
        "-o",
        "reset.csv",
        "--summary",
        "summary.json",
        "--html",
        "report.html",
        "--corpus",
    ])
    .arg(fixture("hibp/sha1-sample.txt"))
    .arg(fixture("exports/users.csv"))
    .arg("hostile.csv")
    .run()
    .code(1);
    let html = wd.read("report.html");
    let summary = serde_json::from_str(&wd.read("summary.json")).unwrap();
    Audit { wd, html, summary }
}

#[test]
fn html_report_is_private_self_contained_escaped_and_holds_no_secret() {
    let Audit { wd, html, summary } = audit();
    let mode = std::fs::metadata(wd.path("report.html"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    ));
    // Nothing to fetch: no attribute that loads, no CSS that does.
    for needle in [
        "src=", "href=", "url(", "@import", "<script", "<link", "<iframe",
    ] {
        assert!(!html.contains(needle), "{needle} in the page");
    }
    // Names escaped, never raw.
    for (raw, escaped) in [
        (
            "<script>alert(1)</script>",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
        ),
        ("a\"b'c", "a&quot;b&#39;c"),
        ("x&y", "x&amp;y"),
    ] {
        assert!(!html.contains(raw), "{raw} unescaped");
        assert!(html.contains(escaped), "{escaped} missing");
    }
    // The inputs are identified by size and BLAKE3, as in the summary.
    let blake3s: Vec<String> = summary["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["blake3"].as_str().unwrap().to_string())
        .collect();
    let users = std::fs::read(fixture("exports/users.csv")).unwrap();
    assert_eq!(blake3s[0], blake3::hash(&users).to_hex().to_string());
    assert_eq!(summary["inputs"][1]["size_bytes"], HOSTILE.len());
    for digest in &blake3s {
        assert!(html.contains(digest.as_str()));
    }
    // No password, no hash, no 5-hex hash prefix. The prefixes are looked
    // for outside the inputs' digests and the style sheet's colours, which
    // are hex by nature.
    for password in PASSWORDS {
        let escaped = credaudit::report::html::escape(password);
        assert!(!html.contains(password), "password {password:?}");
        assert!(!html.contains(&escaped), "password {password:?}");
    }
    let style_end = html.find("</style>").unwrap();
    let mut scrubbed = html[style_end..].to_lowercase();
    for digest in &blake3s {
        scrubbed = scrubbed.replace(digest.as_str(), "");
    }
    for password in ALL_PASSWORDS {
        let mut hashes = vec![encode_hex(&sha1(password.as_bytes()))];
        hashes.extend(ntlm(password.as_bytes()).ok().map(|h| encode_hex(&h)));
        for hash in hashes {
            let hash = hash.to_lowercase();
            assert!(!scrubbed.contains(&hash), "hash of {password:?}");
            assert!(!scrubbed.contains(&hash[..5]), "prefix of {password:?}");
        }
    }
    // The tables: groups largest first, privileged members first; the
    // privileged accounts most severe first; advice for each reason found.
    let groups = &html[html.find("<table class=\"groups\">").unwrap()..];
    let groups = &groups[..groups.find("</table>").unwrap()];
    assert_eq!(groups.matches("<tr><td class=\"num\">").count(), 2);
    let ops = groups.find("ops1").unwrap();
    let x = groups.find("x&amp;y").unwrap();
    let ab = groups.find("a&quot;b&#39;c").unwrap();
    assert!(
        ops < x && x < ab,
        "size 3 first; x&y (privileged) first in its group"
    );
    let privileged = &html[html.find("<table class=\"privileged\">").unwrap()..];
    let privileged = &privileged[..privileged.find("</table>").unwrap()];
    let order = ["x&amp;y", "&lt;script&gt;", ">root<"].map(|n| privileged.find(n).unwrap());
    assert!(order.windows(2).all(|w| w[0] < w[1]), "critical, high, low");
    let advice = &html[html.find("<table class=\"advice\">").unwrap()..];
    let advice = &advice[..advice.find("</table>").unwrap()];
    assert_eq!(
        advice.matches("<tr>").count(),
        1 + 5,
        "header and 5 reasons"
    );
}

/// The browser, if one is installed.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// What headless Chromium made of a page: its rendered DOM and its log.
struct Rendered {
    dom: String,
    log: String,
}

/// Load `page` in headless Chromium with a fresh profile, log on stderr,
/// and a screenshot to `screenshot`.
fn render(browser: &Path, wd: &Workdir, page: &str, screenshot: &Path) -> Rendered {
    let profile = wd.path(&format!("profile-{page}"));
    let log_path = wd.path(&format!("{page}.log"));
    let dom_path = wd.path(&format!("{page}.dom"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,1800",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", wd.path(page).display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&dom_path).unwrap())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium still running after 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(status.success(), "chromium failed: {status}\n{log}");
    Rendered {
        dom: std::fs::read_to_string(&dom_path).unwrap(),
        log,
    }
}

/// Lines of a Chromium log about the page: console messages (errors,
/// CSP violations) and refused or failed loads.
fn page_complaints(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains(":CONSOLE")
                || l.contains("Content Security Policy")
                || l.contains("net::ERR_")
                || l.contains("Refused to")
        })
        .collect()
}

/// `attr="value"` in an element's opening tag.
fn attribute<'a>(tag: &'a str, attr: &str) -> &'a str {
    let start = tag
        .find(&format!(" {attr}=\""))
        .unwrap_or_else(|| panic!("no {attr} in {tag}"))
        + attr.len()
        + 3;
    &tag[start..start + tag[start..].find('"').unwrap()]
}

/// The bars of the rendered DOM: chart -> label -> value.
fn bars(dom: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut charts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for piece in dom.split("<rect ").skip(1) {
        let tag = &piece[..piece.find('>').unwrap()];
        let tag = format!(" {tag}");
        assert!(attribute(&tag, "class").starts_with("bar "), "{tag}");
        let previous = charts
            .entry(attribute(&tag, "data-chart").to_string())
            .or_default()
            .insert(
                attribute(&tag, "data-label").to_string(),
                attribute(&tag, "data-value").parse().unwrap(),
            );
        assert_eq!(previous, None, "one bar per label: {tag}");
    }
    charts
}

/// Non-zero counts of a summary tally, by cause.
fn non_zero(tally: &serde_json::Value) -> BTreeMap<String, u64> {
    tally
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, v)| *k != "total" && v.as_u64() != Some(0))
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

fn expect(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        println!("SKIPPED: no chromium in PATH (apt-get install chromium); the HTML report was not loaded in a browser");
        return;
    };
    let Audit { wd, html, summary } = audit();
    // Where the README's screenshot is made: CREDAUDIT_SCREENSHOT=path.
    let screenshot = std::env::var_os("CREDAUDIT_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| wd.path("report.png"));
    let rendered = render(&browser, &wd, "report.html", &screenshot);
    assert_eq!(
        page_complaints(&rendered.log),
        Vec::<&str>::new(),
        "the browser complained about the page"
    );
    assert!(
        rendered.dom.contains("Credential audit"),
        "{}",
        rendered.dom
    );
    // The hostile name stayed text: no script element in the live DOM.
    assert!(!rendered.dom.contains("<script"));
    assert!(rendered
        .dom
        .contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    // Every bar, against the known findings (and the summary's counts).
    let charts = bars(&rendered.dom);
    let reasons = expect(&[
        ("pwned", 6),
        ("shared", 5),
        ("short", 4),
        ("empty", 1),
        ("privileged-shared", 1),
    ]);
    assert_eq!(charts["reasons"], reasons);
    assert_eq!(charts["reasons"], non_zero(&summary["accounts_flagged"]));
    let severity = expect(&[("critical", 2), ("high", 6), ("medium", 4), ("low", 1)]);
    assert_eq!(charts["severity"], severity);
    assert_eq!(
        charts["severity"],
        non_zero(&summary["accounts_by_severity"])
    );
    // ivan: 1; alice 9,659,365, grace 1,034,827, <script> 2,330,995;
    // carol 37,359,195, the =HYPERLINK account 10,556,095.
    assert_eq!(
        charts["prevalence"],
        expect(&[("1–10", 1), ("1M–10M", 3), ("10M–100M", 2)])
    );
    assert_eq!(
        charts["groups"],
        expect(&[("2 accounts", 1), ("3–4 accounts", 1)])
    );
    assert_eq!(charts.len(), 4);
    assert_eq!(
        rendered.dom.matches("<rect ").count(),
        5 + 4 + 3 + 2,
        "no other rect"
    );

    // The screenshot is a PNG of the page.
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(png.len() > 10_000, "{} bytes", png.len());

    // The log check sees what it must: the same page with an image to
    // fetch and an inline script is refused twice, and says so.
    let tampered = html.replacen(
        "<h1>",
        "<img src=\"https://example.invalid/x.png\"><script>console.error(1)</script><h1>",
        1,
    );
    wd.write("tampered.html", tampered);
    let refused = render(&browser, &wd, "tampered.html", &wd.path("tampered.png"));
    let complaints = page_complaints(&refused.log);
    assert!(
        complaints
            .iter()
            .any(|l| l.contains("Content Security Policy") && l.contains("x.png")),
        "{complaints:?}"
    );
    assert!(
        complaints.iter().any(|l| l.contains("inline script")),
        "{complaints:?}"
    );
}
