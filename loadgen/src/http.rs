//! The HTTP/1.1 client of measured requests: each closed-model user and
//! each open-model in-flight slot owns one keep-alive [`Conn`], driven by
//! hyper directly (as oha and rewrk do).
//!
//! Why not reqwest, as setup and `loadgen eval` use: per request reqwest
//! clones its connector, looks the connection up in a hashed pool, runs
//! redirect and decompression layers and parses the response URL. That was
//! over a third of loadgen's user CPU per request against a trivial
//! endpoint (docs/BENCHMARKS.md, "loadgen's own ceiling"), and a load
//! generator's own cost caps what it can measure. A connection per user is
//! also what a closed model means: N users, N connections.
//!
//! https goes through rustls with the platform's certificate store, like
//! reqwest's default.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::HeaderValue;
use hyper::{Request, Response, body::Incoming};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Request bodies: whole, in memory.
pub type Body = Full<Bytes>;

/// Where requests go: host, port, the `Host` header and, for https, TLS.
pub struct Endpoint {
    host: String,
    port: u16,
    /// The `Host` header every request carries.
    pub authority: HeaderValue,
    tls: Option<Tls>,
    connect_timeout: Duration,
}

struct Tls {
    connector: tokio_rustls::TlsConnector,
    name: rustls::pki_types::ServerName<'static>,
}

/// Why a `--target` URL cannot be reached by measured requests.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("--target {base}: no host")]
    NoHost { base: reqwest::Url },
    #[error("--target {base}: no port")]
    NoPort { base: reqwest::Url },
    #[error("--target {base}: bad host ({source})")]
    BadHost {
        base: reqwest::Url,
        source: hyper::header::InvalidHeaderValue,
    },
    #[error("--target {base}: unsupported scheme {scheme:?}")]
    Scheme { base: reqwest::Url, scheme: String },
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Why https could not be set up for a target.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The crypto provider or the platform's certificate verifier.
    #[error("TLS setup: {0}")]
    Setup(#[source] rustls::Error),
    #[error("TLS server name {host:?}: {source}")]
    ServerName {
        host: String,
        source: rustls::pki_types::InvalidDnsNameError,
    },
}

impl Endpoint {
    /// Parse `base` (`http://host:port` or `https://...`); the path is
    /// ignored (requests carry their own).
    pub fn new(base: &reqwest::Url, connect_timeout: Duration) -> Result<Endpoint, EndpointError> {
        let host = base
            .host_str()
            .ok_or_else(|| EndpointError::NoHost { base: base.clone() })?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = base
            .port_or_known_default()
            .ok_or_else(|| EndpointError::NoPort { base: base.clone() })?;
        let authority = match base.port() {
            Some(p) => format!("{}:{p}", base.host_str().unwrap_or_default()),
            None => base.host_str().unwrap_or_default().to_string(),
        };
        let authority =
            HeaderValue::from_str(&authority).map_err(|source| EndpointError::BadHost {
                base: base.clone(),
                source,
            })?;
        let tls = match base.scheme() {
            "http" => None,
            "https" => Some(Tls::new(&host)?),
            other => {
                return Err(EndpointError::Scheme {
                    base: base.clone(),
                    scheme: other.to_string(),
                });
            }
        };
        Ok(Endpoint {
            host,
            port,
            authority,
            tls,
            connect_timeout,
        })
    }
}

impl Tls {
    fn new(host: &str) -> Result<Tls, TlsError> {
        use rustls_platform_verifier::BuilderVerifierExt;
        // An explicit provider: with more than one rustls backend compiled
        // into the workspace, rustls cannot pick a default by itself.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_platform_verifier())
            .map_err(TlsError::Setup)?
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|source| {
            TlsError::ServerName {
                host: host.to_string(),
                source,
            }
        })?;
        Ok(Tls {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            name,
        })
    }
}

/// Why an exchange failed; [`HttpError::kind`] names it in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// TCP connect or TLS handshake failed (or timed out).
    Connect,
    /// The request could not be sent or the response head not read.
    Request,
    /// The response body broke off.
    Body,
    /// The whole exchange outlasted the profile's `timeout`.
    Timeout,
}

impl HttpError {
    pub fn kind(self) -> &'static str {
        match self {
            HttpError::Connect => "connect",
            HttpError::Request => "request",
            HttpError::Body => "body",
            HttpError::Timeout => "timeout",
        }
    }
}

/// One keep-alive connection, opened on first use and re-opened when the
/// server closes it.
pub struct Conn {
    endpoint: Arc<Endpoint>,
    sender: Option<SendRequest<Body>>,
    /// Reused for every response body of this connection.
    pub buf: Vec<u8>,
}

/// A clone is a new, unopened connection to the same endpoint (goose
/// clones session data; two users must never share a connection).
impl Clone for Conn {
    fn clone(&self) -> Conn {
        Conn::new(self.endpoint.clone())
    }
}

impl Conn {
    pub fn new(endpoint: Arc<Endpoint>) -> Conn {
        Conn {
            endpoint,
            sender: None,
            buf: Vec::new(),
        }
    }

    /// Forget the connection (after a timeout or a broken body: its state
    /// is unknown); the next request opens a new one.
    pub fn reset(&mut self) {
        self.sender = None;
    }

    /// Send `req` and return the response head. A request refused because
    /// a kept-alive connection had just closed is sent once more on a new
    /// connection, as HTTP clients do; a request on a new connection is
    /// never repeated.
    pub async fn send(&mut self, mut req: Request<Body>) -> Result<Response<Incoming>, HttpError> {
        loop {
            let fresh = match &self.sender {
                Some(s) if !s.is_closed() => false,
                _ => {
                    self.sender = Some(self.connect().await?);
                    true
                }
            };
            let sender = self.sender.as_mut().expect("connected above");
            if sender.ready().await.is_err() {
                self.sender = None;
                if fresh {
                    return Err(HttpError::Request);
                }
                continue;
            }
            match sender.try_send_request(req).await {
                Ok(resp) => return Ok(resp),
                Err(mut e) => {
                    self.sender = None;
                    match e.take_message() {
                        Some(unsent) if !fresh => req = unsent,
                        _ => return Err(HttpError::Request),
                    }
                }
            }
        }
    }

    async fn connect(&self) -> Result<SendRequest<Body>, HttpError> {
        let ep = &self.endpoint;
        let open = async {
            let tcp = TcpStream::connect((ep.host.as_str(), ep.port))
                .await
                .map_err(|_| HttpError::Connect)?;
            let _ = tcp.set_nodelay(true);
            match &ep.tls {
                None => handshake(tcp).await,
                Some(tls) => {
                    let stream = tls
                        .connector
                        .connect(tls.name.clone(), tcp)
                        .await
                        .map_err(|_| HttpError::Connect)?;
                    handshake(stream).await
                }
            }
        };
        tokio::time::timeout(ep.connect_timeout, open)
            .await
            .map_err(|_| HttpError::Connect)?
    }
}

async fn handshake<S>(stream: S) -> Result<SendRequest<Body>, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|_| HttpError::Connect)?;
    // The connection task ends when the server closes or the sender drops.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}
