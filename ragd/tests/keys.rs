//! `ragd keys` and API keys as an operator meets them: the secret printed
//! once and never again (not by `keys list`, not in `/status`, not in the
//! log even at debug level), and the refusal to serve an open API on a
//! non-loopback address.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

fn ragd(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ragd"));
    cmd.args(args).env_remove("RAGD_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("ragd runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The secret part of a key (what must never be shown again).
fn secret_part(key: &str) -> &str {
    key.rsplit('_').next().unwrap()
}

#[test]
fn keys_create_list_revoke_offline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, out, err) = ragd(
        &[
            "keys",
            "create",
            "--name",
            "ci",
            "--scope",
            "ingest",
            "--collection",
            "kb",
            "--expires",
            "30d",
            "--data-dir",
            d,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let key = out.lines().last().unwrap().trim().to_string();
    assert!(
        key.starts_with("rgk_") && secret_part(&key).len() == 64,
        "{out}"
    );
    assert!(
        out.contains("ci") && out.contains("ingest") && out.contains("kb"),
        "{out}"
    );
    assert!(!err.contains(secret_part(&key)));

    let (code, out, err) = ragd(&["keys", "list", "--data-dir", d], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ci") && out.contains("expires"), "{out}");
    assert!(
        !out.contains(secret_part(&key)),
        "list shows the secret: {out}"
    );
    let (code, out, _) = ragd(&["keys", "list", "--json", "--data-dir", d], &[]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["keys"][0]["name"], "ci");
    assert_eq!(v["keys"][0]["collections"][0], "kb");
    assert!(!out.contains(secret_part(&key)));

    // The same name twice, a bad scope, a bad lifetime.
    let (code, _, err) = ragd(
        &[
            "keys",
            "create",
            "--name",
            "ci",
            "--scope",
            "query",
            "--data-dir",
            d,
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = ragd(
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--scope",
            "root",
            "--data-dir",
            d,
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("query, ingest or admin"), "{err}");
    let (code, _, err) = ragd(
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--scope",
            "query",
            "--expires",
            "soon",
            "--data-dir",
            d,
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("30d"), "{err}");

    let (code, out, err) = ragd(&["keys", "revoke", "ci", "--json", "--data-dir", d], &[]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["revoked_at"].is_string(), "{out}");
    let (code, _, err) = ragd(&["keys", "revoke", "nobody", "--data-dir", d], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("nobody"), "{err}");
}

#[test]
fn an_open_api_on_a_public_address_is_refused_with_the_way_out() {
    let (code, _, err) = ragd(&["check-config", "--listen", "0.0.0.0:8080"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("auth.enabled") && err.contains("auth.allow_unauthenticated"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, _, err) = ragd(&["serve", "--listen", "0.0.0.0:0", "--data-dir", d], &[]);
    assert_eq!(code, 2, "serve must refuse: {err}");
    assert!(err.contains("auth.allow_unauthenticated"), "{err}");
    for env in [
        ("RAGD_AUTH__ENABLED", "true"),
        ("RAGD_AUTH__ALLOW_UNAUTHENTICATED", "true"),
    ] {
        let (code, _, err) = ragd(&["check-config", "--listen", "0.0.0.0:8080"], &[env]);
        assert_eq!(code, 0, "{env:?}: {err}");
    }
    // Loopback needs neither.
    let (code, _, err) = ragd(&["check-config", "--listen", "127.0.0.1:8080"], &[]);
    assert_eq!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_never_reaches_the_log_or_status_even_at_debug_level() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, out, err) = ragd(
        &[
            "keys",
            "create",
            "--name",
            "ops",
            "--scope",
            "admin",
            "--data-dir",
            d,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let key = out.lines().last().unwrap().trim().to_string();

    let mut child = Command::new(env!("CARGO_BIN_EXE_ragd"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", d])
        .env_remove("RAGD_CONFIG")
        .env("RAGD_AUTH__ENABLED", "true")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ragd starts");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    let mut addr = None;
    for _ in 0..5000 {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        log.push_str(&line);
        if line.contains("ragd listening") {
            let at = line
                .split("addr=")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap();
            addr = Some(at.trim_end_matches(',').to_string());
            break;
        }
    }
    let addr = addr.unwrap_or_else(|| panic!("no listening line:\n{log}"));
    // Drain the rest of the log while requests run.
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let wrong = format!("{}0", &key[..key.len() - 1]);
    let mut status_text = String::new();
    for k in [key.as_str(), wrong.as_str()] {
        for path in [
            "/v1/collections",
            "/status",
            "/v1/keys",
            "/v1/collections/none/query",
        ] {
            let r = client
                .get(format!("{base}{path}"))
                .bearer_auth(k)
                .send()
                .await
                .unwrap();
            let body = r.text().await.unwrap();
            if path == "/status" && k == key {
                status_text = body.clone();
            }
            assert!(
                !body.contains(secret_part(&key)),
                "{path} shows the secret: {body}"
            );
        }
    }
    assert!(status_text.contains("uptime"), "{status_text}");
    // SIGTERM would be kinder; the log is what matters here.
    let _ = child.kill();
    let _ = child.wait();
    log.push_str(&rest.join().unwrap());
    assert!(log.contains("DEBUG"), "debug logging was on");
    assert!(
        !log.contains(secret_part(&key)),
        "the secret is in the log:\n{log}"
    );
    assert!(
        !log.contains(secret_part(&wrong)),
        "a presented key is in the log"
    );
}
