//! The `ragd` binary as a newcomer meets it: help, bad flags, bad config
//! files, environment overrides.

use std::process::Command;

fn ragd(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ragd"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env_remove("RAGD_CONFIG");
    let out = cmd.output().expect("ragd runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().to_string()
}

#[test]
fn help_lists_the_commands() {
    let (code, out, _) = ragd(&["--help"], &[]);
    assert_eq!(code, 0);
    for cmd in ["serve", "check-config", "demo", "bench-embed"] {
        assert!(out.contains(cmd), "--help lacks {cmd}:\n{out}");
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let (code, _, err) = ragd(&["serve", "--no-such-flag"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("--no-such-flag"), "{err}");
}

#[test]
fn defaults_are_valid_and_printed() {
    let (code, out, err) = ragd(&["check-config"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("listen = \"127.0.0.1:8080\""), "{out}");
    assert!(out.contains("data_dir = \"./data\""), "{out}");
}

#[test]
fn a_missing_config_file_is_named() {
    let (code, _, err) = ragd(&["check-config", "--config", "/nonexistent/ragd.toml"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("/nonexistent/ragd.toml") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn bad_config_files_name_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("unknown.toml", "[server]\nlisten_on = \"x\"\n", "listen_on"),
        (
            "type.toml",
            "[server]\nmax_in_flight = \"many\"\n",
            "server.max_in_flight",
        ),
        (
            "addr.toml",
            "[server]\nlisten = \"nowhere\"\n",
            "server.listen",
        ),
        (
            "overlap.toml",
            "[chunking]\nsize = 100\noverlap = 100\n",
            "chunking.overlap",
        ),
        ("variant.toml", "[cache]\nkind = \"memcached\"\n", "cache"),
        (
            "url.toml",
            "[generator]\nkind = \"openai\"\nurl = \"localhost\"\nmodel = \"m\"\n",
            "generator.url",
        ),
        ("syntax.toml", "[server\n", "syntax.toml"),
    ];
    for (name, text, needle) in cases {
        let path = write(&dir, name, text);
        let (code, _, err) = ragd(&["check-config", "--config", &path], &[]);
        assert_eq!(code, 2, "{name} accepted");
        assert!(
            err.contains(needle),
            "{name}: error does not name {needle:?}: {err}"
        );
    }
}

#[test]
fn other_variants_and_env_overrides_apply() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "ok.toml",
        "[cache]\nkind = \"off\"\n\n[generator]\nkind = \"openai\"\nurl = \"http://127.0.0.1:9\"\nmodel = \"m\"\n",
    );
    let (code, out, err) = ragd(
        &["check-config", "--json", "--config", &path],
        &[
            ("RAGD_SERVER__MAX_IN_FLIGHT", "7"),
            ("RAGD_CONFIG", "ignored-because-flag-wins"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["server"]["max_in_flight"], 7);
    assert_eq!(v["cache"]["kind"], "off");
    assert_eq!(v["generator"]["kind"], "openai");
    assert_eq!(v["generator"]["max_tokens"], 512);
}

#[test]
fn completions_for_each_shell_name_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = ragd(&["completions", shell], &[]);
        assert_eq!(code, 0, "{shell}: {err}");
        for cmd in ["serve", "check-config", "bench-embed"] {
            assert!(out.contains(cmd), "{shell} completions lack {cmd}");
        }
    }
    let (code, _, err) = ragd(&["completions", "tcsh"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("bash") && err.contains("zsh"), "{err}");
}

#[test]
fn man_pages_on_stdout_and_in_a_directory() {
    let (code, out, err) = ragd(&["man"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(".ie") || out.contains(".TH ragd 1"),
        "{out}"
    );
    assert!(out.contains("check\\-config"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let (code, _, err) = ragd(&["man", "--out-dir", pages.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    for page in ["ragd.1", "ragd-serve.1", "ragd-check-config.1"] {
        let text = std::fs::read_to_string(pages.join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}: {text}");
    }
    let file = write(&dir, "not-a-dir", "");
    let (code, _, err) = ragd(&["man", "--out-dir", &format!("{file}/x")], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("not-a-dir"), "{err}");
}

/// Starts `ragd serve` with `args`, returns its stderr up to the
/// "ragd listening" line, then stops it.
fn first_log_lines(args: &[&str], env: &[(&str, &str)]) -> String {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ragd"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(args)
        .env_remove("RAGD_CONFIG")
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("ragd starts");
    let mut text = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref().take(200) {
        let line = line.unwrap();
        text.push_str(&line);
        text.push('\n');
        if line.contains("ragd listening") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("ragd listening"), "{text}");
    text
}

#[test]
fn log_colours_follow_color_and_no_color() {
    // stderr is a pipe here: auto means no colour.
    assert!(!first_log_lines(&[], &[]).contains('\x1b'));
    assert!(first_log_lines(&["--color", "always"], &[]).contains("\x1b["));
    assert!(first_log_lines(&["--color", "always"], &[("NO_COLOR", "1")]).contains("\x1b["));
    assert!(!first_log_lines(&["--color", "never"], &[]).contains('\x1b'));
}
