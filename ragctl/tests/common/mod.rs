//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The ragd binary built by `cargo build --workspace` (one copy, shared
/// with loadgen's tests).
pub use ragkit_tests::docker::ragd_bin;

/// Run the ragctl binary with `args` and extra environment.
pub fn ragctl(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ragctl"));
    c.args(args)
        .env_remove("RAGCTL_TARGET")
        .env_remove("RAGCTL_PROJECT");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("ragctl runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A ragd process on embedded defaults, killed on drop.
pub struct Ragd {
    pub child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Ragd {
    pub fn start() -> Ragd {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(ragd_bin())
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ragd starts");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "ragd did not listen within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Ragd {
            child,
            url,
            _dir: dir,
        }
    }
}

impl Drop for Ragd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
