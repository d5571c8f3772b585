//! https targets: loadgen's own connections (src/http.rs) speak TLS with
//! rustls and trust what the system's certificate store trusts, here a
//! self-signed certificate named by `SSL_CERT_FILE`.

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Serve ragd's /health body over TLS on 127.0.0.1:0; returns the base URL.
async fn serve_tls(cert: &Path, key: &Path) -> String {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(|_req: Request<hyper::body::Incoming>| async {
                    let body = serde_json::to_vec(&ragd_api::Health {
                        status: "ok".into(),
                        version: "tls-test".into(),
                    })
                    .unwrap();
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from(body)))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    format!("https://127.0.0.1:{}", addr.port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_targets_are_load_tested_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = ragkit_tests::self_signed(dir.path());
    let base = serve_tls(&cert, &key).await;
    let profile = dir.path().join("tls.toml");
    std::fs::write(
        &profile,
        "model = \"closed\"\nthresholds = [\"error_rate < 1%\"]\n[think_time]\nmin = \"5ms\"\nmax = \"10ms\"\n\
         [[stages]]\nduration = \"1s\"\nusers = 3\n[[scenarios]]\nkind = \"health\"\n",
    )
    .unwrap();
    let run = |trust: bool| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"));
        cmd.args(["run", profile.to_str().unwrap(), "--target", &base])
            .args(["--no-setup", "--json", "--quiet"]);
        if trust {
            cmd.env("SSL_CERT_FILE", &cert);
        } else {
            // An empty store: the certificate is not trusted.
            cmd.env("SSL_CERT_FILE", dir.path().join("none.pem"));
        }
        cmd.env_remove("SSL_CERT_DIR");
        cmd.output()
    };

    // Trusted: every request succeeds over TLS.
    let out = run(true).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: loadgen::Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.total.failed, 0, "{:?}", report.total.errors);
    assert!(report.total.count > 50, "{} requests", report.total.count);

    // Not trusted: the run does not start, and says why.
    let out = run(false).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&base), "{stderr}");
}
