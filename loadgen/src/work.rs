//! What a request does and how it is timed: the scenario mix, the request
//! bodies (built from `ragd-api` types), reading the response to its last
//! byte, and classifying the outcome into an error kind.
//!
//! Both engines call [`Workload::execute`]; only the HTTP client and the
//! moment of the call differ between them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue, USER_AGENT};
use hyper::{Method, Request, Uri};

use ragd_api::{
    DocumentFormat, DocumentInput, ErrorBody, Health, IngestRequest, IngestResponse, QueryRequest,
    QueryResponse, Status, sse,
};

use crate::http::{Body, Conn, Endpoint, EndpointError, HttpError};
use crate::profile::{Kind, Profile, Scenario};
use crate::record::Outcome;

/// Everything needed to issue requests; shared read-only by all tasks.
pub struct Workload {
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:8080`.
    pub base: String,
    pub scenarios: Vec<Scenario>,
    /// Cumulative weights, for picking a scenario from a random number.
    cumulative: Vec<u64>,
    pub questions: Vec<String>,
    pub ingest_ids: u64,
    /// Distinguishes documents of concurrent loadgen instances.
    pub instance: String,
    /// Where requests go, shared by every connection.
    endpoint: Arc<Endpoint>,
    /// Paths built once (a URL per request was ~2% of loadgen's CPU).
    paths: Paths,
    /// Bound on one exchange, send to last byte (the profile's `timeout`).
    timeout: Duration,
    /// `Authorization: Bearer <key>` from [`ragd_api::API_KEY_ENV`], if set.
    authorization: Option<HeaderValue>,
}

struct Paths {
    health: Uri,
    status: Uri,
    query: Uri,
    ingest: Uri,
}

/// Why a workload cannot be built for a target.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error(
        "{} holds characters an HTTP header cannot carry",
        ragd_api::API_KEY_ENV
    )]
    ApiKey,
    #[error("--target {base:?}: not a valid URL ({source})")]
    Url {
        base: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The collection's name does not make a request path.
    #[error("request path {path:?}: {source}")]
    Path {
        path: String,
        source: hyper::http::uri::InvalidUri,
    },
}

/// loadgen's reqwest client could not be built, even without CA
/// certificates.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(#[source] reqwest::Error);

/// Timings of one request relative to the caller's clock.
pub struct Timed {
    pub first_byte: Option<Instant>,
    pub end: Instant,
    pub outcome: Outcome,
}

/// splitmix64: a tiny, fast, well-mixed hash; the mix is deterministic per
/// request sequence number and needs no RNG crate.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Workload {
    /// Fails when `base` and the collection do not make valid URLs.
    pub fn new(profile: &Profile, base: &str, instance: &str) -> Result<Workload, WorkloadError> {
        let base = base.trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base).map_err(|e| WorkloadError::Url {
            base: base.clone(),
            source: Box::new(e),
        })?;
        let endpoint = Endpoint::new(&url, profile.timeout.min(Duration::from_secs(10)))?;
        let path = |p: String| {
            Uri::try_from(p.as_str()).map_err(|source| WorkloadError::Path { path: p, source })
        };
        let paths = Paths {
            health: path("/health".into())?,
            status: path("/status".into())?,
            query: path(format!("/v1/collections/{}/query", profile.collection))?,
            ingest: path(format!("/v1/collections/{}/documents", profile.collection))?,
        };
        let mut acc = 0u64;
        let cumulative = profile
            .scenarios
            .iter()
            .map(|s| {
                acc += s.weight as u64;
                acc
            })
            .collect();
        Ok(Workload {
            base,
            scenarios: profile.scenarios.clone(),
            cumulative,
            questions: profile.questions.clone(),
            ingest_ids: profile.ingest_ids,
            instance: instance.to_string(),
            endpoint: Arc::new(endpoint),
            paths,
            timeout: profile.timeout,
            authorization: authorization()?,
        })
    }

    /// A new (not yet opened) connection to the target.
    pub fn conn(&self) -> Conn {
        Conn::new(self.endpoint.clone())
    }

    /// Transaction names, in the order records index them.
    pub fn names(&self) -> Vec<String> {
        self.scenarios.iter().map(|s| s.name.clone()).collect()
    }

    /// The scenario for request number `seq` (weighted, deterministic).
    pub fn pick(&self, seq: u64) -> usize {
        let total = *self.cumulative.last().unwrap_or(&1);
        let r = mix(seq) % total.max(1);
        self.cumulative.iter().position(|c| r < *c).unwrap_or(0)
    }

    /// Issue request number `seq` of scenario `idx` on `conn` and read
    /// the response to its last byte, within the profile's timeout.
    pub async fn execute(&self, conn: &mut Conn, idx: usize, seq: u64) -> Timed {
        let sc = &self.scenarios[idx];
        let req = self.request(sc, seq);
        let mut first_byte = None;
        let exchanged =
            tokio::time::timeout(self.timeout, exchange(conn, req, &mut first_byte)).await;
        let end = Instant::now();
        let outcome = match exchanged {
            Err(_) => Err(HttpError::Timeout),
            Ok(r) => r,
        };
        let outcome = match outcome {
            Err(e) => {
                // The connection's state is unknown: the next request opens a new one.
                conn.reset();
                Outcome::Error(e.kind().into())
            }
            Ok(status) if !status.is_success() => {
                let code = serde_json::from_slice::<ErrorBody>(&conn.buf)
                    .map(|b| b.error.code)
                    .ok();
                Outcome::Error(match code {
                    Some(c) => format!("http_{}_{c}", status.as_u16()),
                    None => format!("http_{}", status.as_u16()),
                })
            }
            Ok(_) => classify_body(sc, &conn.buf),
        };
        Timed {
            first_byte: if sc.stream { first_byte } else { None },
            end,
            outcome,
        }
    }

    /// The HTTP request of scenario `sc` for request number `seq`.
    fn request(&self, sc: &Scenario, seq: u64) -> Request<Body> {
        let (method, uri, body) = match sc.kind {
            Kind::Health => (Method::GET, self.paths.health.clone(), None),
            Kind::Status => (Method::GET, self.paths.status.clone(), None),
            Kind::Query => {
                let q = &self.questions[(mix(seq ^ 0x51) % self.questions.len() as u64) as usize];
                // Built from JSON so that optional fields added to the API
                // (they all default) need no change here.
                let mut body: QueryRequest =
                    serde_json::from_value(serde_json::json!({"question": q, "top_k": sc.top_k}))
                        .expect("a question and top_k make a QueryRequest");
                if sc.unique {
                    body.question = format!("{q} (loadgen {} #{seq})", self.instance);
                }
                let json = serde_json::to_vec(&body).expect("a QueryRequest serializes");
                (Method::POST, self.paths.query.clone(), Some(json))
            }
            Kind::Ingest => {
                let n = seq % self.ingest_ids;
                let mut meta = ragd_api::Metadata::new();
                meta.insert("source".into(), "loadgen".into());
                meta.insert("instance".into(), self.instance.clone().into());
                let body = IngestRequest {
                    documents: vec![DocumentInput {
                        id: Some(format!("loadgen-{}-{n}", self.instance)),
                        text: self.document_text(seq),
                        metadata: Some(meta),
                        format: DocumentFormat::Text,
                    }],
                };
                let json = serde_json::to_vec(&body).expect("an IngestRequest serializes");
                (Method::POST, self.paths.ingest.clone(), Some(json))
            }
        };
        let mut req = Request::new(Body::new(body.map(Bytes::from).unwrap_or_default()));
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        let h = req.headers_mut();
        h.insert(HOST, self.endpoint.authority.clone());
        h.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("loadgen/", env!("CARGO_PKG_VERSION"))),
        );
        if let Some(a) = &self.authorization {
            h.insert(AUTHORIZATION, a.clone());
        }
        if sc.kind == Kind::Query || sc.kind == Kind::Ingest {
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if sc.stream {
            h.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        }
        req
    }

    /// A short, plausible document for the ingest transaction, made from the
    /// question set so it embeds like real content.
    fn document_text(&self, seq: u64) -> String {
        let mut text = format!(
            "Load-test note {seq} written by loadgen instance {}. ",
            self.instance
        );
        if self.questions.is_empty() {
            text.push_str("Operators asked how the service behaves under sustained load.");
        } else {
            for i in 0..3u64 {
                let q = &self.questions
                    [(mix(seq.wrapping_add(i)) % self.questions.len() as u64) as usize];
                text.push_str("Operators asked: ");
                text.push_str(q);
                text.push(' ');
            }
        }
        text
    }
}

/// Send `req` on `conn` and read the body into `conn.buf`, noting when its
/// first byte came; returns the status.
async fn exchange(
    conn: &mut Conn,
    req: Request<Body>,
    first_byte: &mut Option<Instant>,
) -> Result<hyper::StatusCode, HttpError> {
    use http_body_util::BodyExt;
    let resp = conn.send(req).await?;
    let status = resp.status();
    let mut body = resp.into_body();
    conn.buf.clear();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| HttpError::Body)?;
        if let Ok(data) = frame.into_data() {
            if first_byte.is_none() {
                *first_byte = Some(Instant::now());
            }
            conn.buf.extend_from_slice(&data);
        }
    }
    Ok(status)
}

/// Check that a 2xx body is what ragd promises, using its own types.
fn classify_body(sc: &Scenario, body: &[u8]) -> Outcome {
    let ok = match sc.kind {
        Kind::Health => serde_json::from_slice::<Health>(body).is_ok(),
        Kind::Status => serde_json::from_slice::<Status>(body).is_ok(),
        Kind::Ingest => serde_json::from_slice::<IngestResponse>(body).is_ok(),
        Kind::Query if !sc.stream => serde_json::from_slice::<QueryResponse>(body).is_ok(),
        Kind::Query => return classify_sse(body),
    };
    if ok {
        Outcome::Ok
    } else {
        Outcome::Error("invalid_body".into())
    }
}

/// A streamed answer succeeds when it ends with a `done` event carrying a
/// [`QueryResponse`]; an `error` event is classified by its code.
fn classify_sse(body: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(body);
    let mut event = String::new();
    let mut data = String::new();
    let mut last: Option<(String, String)> = None;
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if !event.is_empty() || !data.is_empty() {
                last = Some((std::mem::take(&mut event), std::mem::take(&mut data)));
            }
        } else if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
        if let Some((e, d)) = &last {
            if e == sse::ERROR {
                let code = serde_json::from_str::<ErrorBody>(d)
                    .map(|b| b.error.code)
                    .unwrap_or_else(|_| "unknown".into());
                return Outcome::Error(format!("sse_error_{code}"));
            }
            if e == sse::DONE {
                return if serde_json::from_str::<QueryResponse>(d).is_ok() {
                    Outcome::Ok
                } else {
                    Outcome::Error("invalid_body".into())
                };
            }
        }
    }
    Outcome::Error("incomplete_stream".into())
}

/// `Authorization: Bearer <key>` when [`ragd_api::API_KEY_ENV`] holds a key,
/// marked sensitive (never printed in debug output).
pub fn authorization() -> Result<Option<HeaderValue>, WorkloadError> {
    let Some(key) = ragd_api::api_key_from_env() else {
        return Ok(None);
    };
    let mut v =
        HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| WorkloadError::ApiKey)?;
    v.set_sensitive(true);
    Ok(Some(v))
}

/// loadgen's reqwest client for everything that is not measured load:
/// the start-up check, setup (collection and corpus) and `loadgen eval`.
///
/// A minimal container (a `docker import` of the binary, as in
/// docs/LOADGEN.md) may have no CA certificates; building the client then
/// failed and loadgen panicked before sending a request, although its
/// targets are usually plain http. It now falls back to a client that
/// trusts no certificate authority: http targets work, https targets fail
/// each request with a certificate error, and a warning says why.
///
/// With an API key in [`ragd_api::API_KEY_ENV`], every request sends it.
pub fn client(timeout: Duration, pool: usize) -> Result<reqwest::Client, ClientError> {
    let mut headers = hyper::HeaderMap::new();
    if let Ok(Some(a)) = authorization() {
        headers.insert(AUTHORIZATION, a);
    }
    let builder = || {
        reqwest::Client::builder()
            .default_headers(headers.clone())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(pool)
            .no_proxy()
            .tcp_nodelay(true)
    };
    match builder().build() {
        Ok(c) => Ok(c),
        Err(first) => {
            eprintln!(
                "loadgen: warning: no usable CA certificates ({first}); https targets will fail \
                 certificate checks (install ca-certificates), http targets are fine"
            );
            builder()
                .tls_certs_only(Vec::<reqwest::Certificate>::new())
                .build()
                .map_err(ClientError)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_outcomes() {
        let resp: QueryResponse = serde_json::from_value(serde_json::json!({
            "answer": "a", "citations": [], "mode": "dense", "cached": false,
            "timings": {"embed_ms": 0.0, "search_ms": 0.0, "generate_ms": 0.0, "total_ms": 0.0}
        }))
        .unwrap();
        let done = serde_json::to_string(&resp).unwrap();
        let ok = format!(
            "event: citations\ndata: []\n\nevent: delta\ndata: \"a\"\n\nevent: done\ndata: {done}\n\n"
        );
        assert_eq!(classify_sse(ok.as_bytes()), Outcome::Ok);
        let err = "event: error\ndata: {\"error\":{\"code\":\"overloaded\",\"message\":\"x\"}}\n\n";
        assert_eq!(
            classify_sse(err.as_bytes()),
            Outcome::Error("sse_error_overloaded".into())
        );
        assert_eq!(
            classify_sse(b"event: delta\ndata: \"a\"\n\n"),
            Outcome::Error("incomplete_stream".into())
        );
    }
}
