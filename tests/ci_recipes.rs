//! The CI recipes of docs/ci.md, run as written on fixtures: the GitHub
//! Actions job's `run` steps (under `bash -e -o pipefail`, as GitHub runs
//! them), the GitLab job's script lines (each a shell command that fails
//! the job when it exits non-zero), and docs/cron-audit.sh. The corpus is
//! served over loopback HTTP by the test; `credaudit` is the binary under
//! test. Each recipe must build the store from the corpus URL only when it
//! is not there, gate on `--fail-on` (1 on a high finding, 0 on a low one,
//! 3 on a rejected row), cache nothing but the store, and keep the reports
//! and nothing else as artifacts.
mod common;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use yaml_rust2::{Yaml, YamlLoader};

/// A loopback HTTP server with one file, `/pwned-sha1.txt` (the sorted
/// SHA-1 fixture corpus); anything else is 404. Counts the requests for it.
struct CorpusServer {
    url: String,
    hits: Arc<AtomicUsize>,
}

impl CorpusServer {
    fn start() -> CorpusServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let body = std::fs::read(fixture("hibp/sha1-sample.txt")).unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let found = request.starts_with("GET /pwned-sha1.txt ");
                let head = if found {
                    counter.fetch_add(1, Ordering::SeqCst);
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                } else {
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_string()
                };
                let _ = stream.write_all(head.as_bytes());
                if found {
                    let _ = stream.write_all(&body);
                }
            }
        });
        CorpusServer {
            url: format!("http://127.0.0.1:{port}/pwned-sha1.txt"),
            hits,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn missing(&self) -> String {
        self.url.replace("pwned-sha1.txt", "no-such-file.txt")
    }
}

/// The exports the gate is tried on, and the exit code each must give
/// under `--fail-on high,unchecked,rejected`.
const FINDINGS: i32 = 1;
const CLEAN: i32 = 0;
const INCOMPLETE: i32 = 3;

/// Put the export of `kind` at `dir/users.csv`.
fn export(dir: &Path, code: i32) {
    let target = dir.join("users.csv");
    match code {
        // pwned (high) and short (low) accounts.
        FINDINGS => {
            std::fs::copy(fixture("exports/users.csv"), target).unwrap();
        }
        // Only a short password (low): listed, but the gate passes.
        CLEAN => std::fs::write(
            target,
            "email,password\nbob@example.com,correct horse battery staple\nsam@example.com,Zq9#xv\n",
        )
        .unwrap(),
        // A row that cannot be read: the audit is incomplete.
        _ => std::fs::write(
            target,
            "email,password\nbob@example.com,correct horse battery staple\nbroken@example.com,a,b\n",
        )
        .unwrap(),
    }
}

fn have_curl() -> bool {
    if have("curl") {
        return true;
    }
    println!("SKIPPED: curl is not installed (.ci/run installs it)");
    false
}

/// Run `script` with `shell` in `dir`, the binary under test first on
/// PATH, `env` set; the exit code.
fn run_in(dir: &Path, shell: &[&str], script: &str, env: &[(&str, &str)]) -> (i32, String) {
    assert!(
        !script.contains("${{"),
        "a GitHub expression left in {script:?}"
    );
    let mut command = Command::new(shell[0]);
    command
        .args(&shell[1..])
        .arg(script)
        .current_dir(dir)
        .env("PATH", path_with_bin())
        .env("HOME", dir)
        .env("XDG_CACHE_HOME", dir.join(".cache"));
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stderr)
}

fn store_ok(dir: &Path) {
    let store = dir.join("pwned-sha1.cas");
    Workdir::new()
        .cmd(&["index", "info"])
        .arg(&store)
        .run()
        .code(0);
}

/// The reports are written, private, and no credaudit cache was made.
fn reports_ok(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for report in ["reset.csv", "summary.json"] {
        let mode = std::fs::metadata(dir.join(report))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{report}");
    }
    assert!(
        !dir.join(".cache/credaudit").exists(),
        "a cache was written: only the store is kept between runs"
    );
}

fn yaml(name: &str) -> Yaml {
    let text = recipe("docs/ci.md", name);
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{name}: not YAML: {e}"))
        .remove(0)
}

fn strings(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::Array(items) => items.iter().flat_map(strings).collect(),
        Yaml::String(s) => s.lines().map(|l| l.trim().to_string()).collect(),
        other => panic!("not a string or list: {other:?}"),
    }
}

#[test]
fn github_actions_job() {
    let doc = yaml("github-actions");
    let steps = doc["jobs"]["audit"]["steps"].as_vec().unwrap();
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no step {name:?}"))
    };
    // What is cached: the store, under a key that changes with the corpus.
    let restore = step("Restore the store");
    let save = step("Save the store");
    assert!(restore["uses"]
        .as_str()
        .unwrap()
        .starts_with("actions/cache/restore@"));
    assert!(save["uses"]
        .as_str()
        .unwrap()
        .starts_with("actions/cache/save@"));
    for cache in [restore, save] {
        assert_eq!(strings(&cache["with"]["path"]), ["pwned-sha1.cas"]);
        assert!(cache["with"]["key"]
            .as_str()
            .unwrap()
            .contains("PWNED_CORPUS_VERSION"));
    }
    let cached: Vec<&Yaml> = steps
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache"))
        })
        .collect();
    assert_eq!(cached.len(), 2, "no other cache step");
    // What is kept: the reports, even when the gate fails the job.
    let upload = step("Keep the reset list");
    assert!(upload["uses"]
        .as_str()
        .unwrap()
        .starts_with("actions/upload-artifact@"));
    assert_eq!(upload["if"].as_str(), Some("always()"));
    assert_eq!(
        strings(&upload["with"]["path"]),
        ["reset.csv", "summary.json"]
    );
    assert!(recipe_context("GitHub Actions").contains("public"));

    if !have_curl() {
        return;
    }
    let server = CorpusServer::start();
    let build = step("Build the store")["run"].as_str().unwrap();
    let audit = step("Audit")["run"].as_str().unwrap();
    assert!(audit.contains("--fail-on high,unchecked,rejected"));
    let bash = [
        "bash",
        "--noprofile",
        "--norc",
        "-e",
        "-o",
        "pipefail",
        "-c",
    ];
    let wd = Workdir::new();
    let dir = wd.path("");

    // A corpus URL that fails: the step fails, and no store is left.
    let (code, _) = run_in(
        &dir,
        &bash,
        build,
        &[("PWNED_CORPUS_URL", &server.missing())],
    );
    assert_ne!(code, 0);
    assert!(!dir.join("pwned-sha1.cas").exists());

    let (code, stderr) = run_in(&dir, &bash, build, &[("PWNED_CORPUS_URL", &server.url)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(server.hits(), 1);
    store_ok(&dir);
    for expected in [FINDINGS, CLEAN, INCOMPLETE] {
        export(&dir, expected);
        let (code, stderr) = run_in(&dir, &bash, audit, &[]);
        assert_eq!(code, expected, "{stderr}");
        reports_ok(&dir);
    }
}

/// The prose around a recipe's section.
fn recipe_context(section: &str) -> String {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci.md")).unwrap();
    let start = text.find(&format!("## {section}")).unwrap();
    let rest = &text[start + 3..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
}

#[test]
fn gitlab_ci_job() {
    let doc = yaml("gitlab-ci");
    let job = &doc["password-audit"];
    assert_eq!(strings(&job["cache"]["paths"]), ["pwned-sha1.cas"]);
    assert!(job["cache"]["key"]
        .as_str()
        .unwrap()
        .contains("PWNED_CORPUS_VERSION"));
    assert_eq!(job["cache"]["when"].as_str(), Some("always"));
    assert_eq!(
        strings(&job["artifacts"]["paths"]),
        ["reset.csv", "summary.json"]
    );
    assert_eq!(job["artifacts"]["when"].as_str(), Some("always"));
    assert_eq!(job["artifacts"]["access"].as_str(), Some("developer"));
    assert!(recipe_context("GitLab CI").contains("public project"));

    if !have_curl() {
        return;
    }
    let lines: Vec<String> = job["script"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        // The export is the site's own command; the test puts users.csv there.
        .filter(|l| !l.starts_with("./scripts/export-users.sh"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].contains("--fail-on high,unchecked,rejected"));
    let server = CorpusServer::start();
    // A job: the script lines in order, the first non-zero exit fails it.
    let job_run = |dir: &Path, url: &str| -> i32 {
        for line in &lines {
            let (code, _) = run_in(dir, &["sh", "-c"], line, &[("PWNED_CORPUS_URL", url)]);
            if code != 0 {
                return code;
            }
        }
        0
    };
    let wd = Workdir::new();
    let dir = wd.path("");
    export(&dir, FINDINGS);
    assert_eq!(
        job_run(&dir, &server.missing()),
        2,
        "no corpus, no store: an error"
    );
    assert!(!dir.join("pwned-sha1.cas").exists());
    assert_eq!(job_run(&dir, &server.url), FINDINGS);
    assert_eq!(server.hits(), 1);
    store_ok(&dir);
    reports_ok(&dir);
    // The cache restored the store: it is not built again.
    for expected in [CLEAN, INCOMPLETE] {
        export(&dir, expected);
        assert_eq!(job_run(&dir, &server.url), expected);
        reports_ok(&dir);
    }
    assert_eq!(server.hits(), 1);
}

#[test]
fn cron_script() {
    if !have_curl() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cron-audit.sh");
    let server = CorpusServer::start();
    let wd = Workdir::new();
    let dir = wd.path("");
    let store = dir.join("state/pwned-sha1.cas");
    let reports = dir.join("reports");
    let run = |url: &str, fail_on: Option<&str>| -> (i32, String) {
        let mut env = vec![
            ("EXPORT", dir.join("users.csv").display().to_string()),
            ("STORE", store.display().to_string()),
            ("REPORTS", reports.display().to_string()),
            ("PWNED_CORPUS_URL", url.to_string()),
        ];
        if let Some(f) = fail_on {
            env.push(("FAIL_ON", f.to_string()));
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_in(&dir, &["sh"], script.to_str().unwrap(), &env)
    };
    std::fs::create_dir_all(dir.join("state")).unwrap();

    export(&dir, FINDINGS);
    let (code, stderr) = run(&server.missing(), None);
    assert_eq!(code, 2, "no store and no corpus: {stderr}");
    let (code, stderr) = run(&server.url, None);
    assert_eq!(code, FINDINGS, "{stderr}");
    assert!(
        stderr.contains("accounts must reset their password"),
        "{stderr}"
    );
    assert_eq!(server.hits(), 1);
    reports_ok(&reports);
    for expected in [CLEAN, INCOMPLETE] {
        export(&dir, expected);
        assert_eq!(run(&server.url, None).0, expected);
    }
    assert_eq!(server.hits(), 1, "a fresh store is not built again");
    // FAIL_ON changes the gate: `any` fails on the short password too.
    export(&dir, CLEAN);
    assert_eq!(run(&server.url, Some("any")).0, 1);

    // A store older than 30 days is rebuilt; when that fails, the old one
    // is used and the run says so.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86400);
    let age = |store: &Path| {
        std::fs::File::options()
            .write(true)
            .open(store)
            .unwrap()
            .set_modified(old)
            .unwrap()
    };
    age(&store);
    let (code, stderr) = run(&server.missing(), None);
    assert_eq!(code, CLEAN);
    assert!(
        stderr.contains("auditing against the previous store"),
        "{stderr}"
    );
    age(&store);
    assert_eq!(run(&server.url, None).0, CLEAN);
    assert_eq!(server.hits(), 2, "rebuilt");
    store_ok(&dir.join("state"));
}
