//! The reading progress line: silent when stderr is not a terminal; on a
//! terminal (a real pseudo-terminal from util-linux `script`), bytes read
//! of the total with an ETA for a regular file (compressed bytes for a
//! gzip file), rows per second for a pipe; no colours or styles under
//! `NO_COLOR`.
mod common;
use common::*;
use std::process::Command;

/// Run `shell_command` on a pseudo-terminal; everything it drew.
fn on_a_terminal(shell_command: &str, env: &[(&str, &str)]) -> Option<String> {
    if !have("script") {
        println!("SKIPPED progress on a terminal: util-linux script is not installed");
        return None;
    }
    let wd = Workdir::new();
    let mut command = Command::new("script");
    command
        .args(["-q", "-e", "-c", shell_command, "/dev/null"])
        .current_dir(wd.path(""))
        .env("PATH", path_with_bin())
        .env("TERM", "xterm-256color")
        .env("COLUMNS", "100")
        .env("XDG_CACHE_HOME", wd.path(".cache"))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A style escape (colour, bold), as opposed to cursor movement.
fn has_style(text: &str) -> bool {
    text.split('\x1b').skip(1).any(|esc| {
        let Some(params) = esc.strip_prefix('[') else {
            return false;
        };
        let end = params.find(|c: char| c.is_ascii_alphabetic());
        end.is_some_and(|i| params.as_bytes()[i] == b'm')
    })
}

/// `text` without its escape sequences.
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut parts = text.split('\x1b');
    out.push_str(parts.next().unwrap_or(""));
    for esc in parts {
        let rest = esc.strip_prefix('[').map_or(esc, |params| {
            let end = params
                .find(|c: char| c.is_ascii_alphabetic())
                .map_or(params.len(), |i| i + 1);
            &params[end..]
        });
        out.push_str(rest);
    }
    out
}

fn export() -> String {
    fixture("exports/users.csv").display().to_string()
}

#[test]
fn not_a_terminal_no_progress() {
    let run = Workdir::new()
        .cmd(&["audit", &export(), "-o", "reset.csv"])
        .run()
        .code(1);
    assert!(!run.stderr.contains('\x1b'), "{:?}", run.stderr);
    assert!(!run.stderr.contains("reading"), "{:?}", run.stderr);
    assert!(run
        .stderr
        .lines()
        .all(|l| l.starts_with("credaudit: warning: ")));
}

#[test]
fn a_file_shows_bytes_of_its_size_and_an_eta() {
    let size = std::fs::metadata(fixture("exports/users.csv"))
        .unwrap()
        .len();
    let Some(drawn) = on_a_terminal(&format!("credaudit audit {} -o reset.csv", export()), &[])
    else {
        return;
    };
    assert!(has_style(&drawn), "colours by default: {drawn:?}");
    let drawn = strip(&drawn);
    assert!(drawn.contains("reading ["), "{drawn:?}");
    assert!(drawn.contains(&format!("{size} B/{size} B")), "{drawn:?}");
    assert!(drawn.contains(" rows eta "), "{drawn:?}");
}

#[test]
fn a_gzip_file_counts_compressed_bytes() {
    let gz = fixture("exports/users.csv.gz");
    let size = std::fs::metadata(&gz).unwrap().len();
    let Some(drawn) = on_a_terminal(
        &format!("credaudit audit {} -o reset.csv", gz.display()),
        &[],
    ) else {
        return;
    };
    assert!(
        strip(&drawn).contains(&format!("{size} B/{size} B")),
        "{drawn:?}"
    );
}

#[test]
fn a_pipe_shows_rows_per_second() {
    let Some(drawn) = on_a_terminal(
        &format!("cat {} | credaudit audit - -o reset.csv", export()),
        &[],
    ) else {
        return;
    };
    let drawn = strip(&drawn);
    assert!(drawn.contains("reading: "), "{drawn:?}");
    assert!(drawn.contains(" rows ["), "{drawn:?}");
    assert!(!drawn.contains(" B/"), "no total for a pipe: {drawn:?}");
}

#[test]
fn no_color_means_no_styles() {
    let command = format!("credaudit audit {} -o reset.csv", export());
    let Some(drawn) = on_a_terminal(&command, &[("NO_COLOR", "1")]) else {
        return;
    };
    assert!(drawn.contains("reading"), "{drawn:?}");
    assert!(!has_style(&drawn), "{drawn:?}");
}
