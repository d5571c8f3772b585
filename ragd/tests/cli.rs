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
