//! `ragd probe [--ready] [URL]`: the health check a container runtime runs
//! (Docker `HEALTHCHECK`, compose `healthcheck`). One `GET /health` (or
//! `/ready`) over plain HTTP/1.1 with a short timeout, one line of output,
//! healthy or not. No TLS and no async runtime: it must be cheap to run
//! every few seconds and must not hang.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Where `ragd probe` looks when given no URL.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// Why the probe failed: the one line it prints.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("bad URL {0:?}: expected http://HOST[:PORT][/PREFIX] (no TLS)")]
    Url(String),
    #[error("{url}: cannot connect: {source}")]
    Connect {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{url}: {source}")]
    Io {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{url}: not an HTTP response")]
    Garbled { url: String },
    #[error("{url}: HTTP {status} ({ms} ms){detail}")]
    Unhealthy {
        url: String,
        status: u16,
        ms: u128,
        detail: String,
    },
}

/// A healthy answer: the line printed on success.
#[derive(Debug)]
pub struct Healthy {
    pub url: String,
    pub status: u16,
    pub ms: u128,
}

impl std::fmt::Display for Healthy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: HTTP {} ({} ms)", self.url, self.status, self.ms)
    }
}

/// Host, port, `host[:port]` as written, and path prefix of an `http://` URL.
fn parse(base: &str) -> Result<(String, u16, String, String), ProbeError> {
    let bad = || ProbeError::Url(base.to_string());
    let rest = base.strip_prefix("http://").ok_or_else(bad)?;
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    let port = |p: &str| p.parse::<u16>().map_err(|_| bad());
    let (host, port) = if let Some(r) = authority.strip_prefix('[') {
        let (h, after) = r.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(p) => (h, port(p)?),
            None if after.is_empty() => (h, 80),
            None => return Err(bad()),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, port(p)?),
            None => (authority, 80),
        }
    };
    if host.is_empty() || !prefix.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok((
        host.to_string(),
        port,
        authority.to_string(),
        prefix.to_string(),
    ))
}

/// GET `/health` (or `/ready`) under `base`; healthy on a 2xx answer
/// within `timeout` (for connecting and for the whole answer each).
pub fn probe(base: &str, ready: bool, timeout: Duration) -> Result<Healthy, ProbeError> {
    let (host, port, authority, prefix) = parse(base)?;
    let path = format!("{prefix}{}", if ready { "/ready" } else { "/health" });
    let url = format!("http://{authority}{path}");
    let started = Instant::now();
    let io = |source| ProbeError::Io {
        url: url.clone(),
        source,
    };
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|source| ProbeError::Connect {
            url: url.clone(),
            source,
        })?
        .next()
        .ok_or_else(|| ProbeError::Url(base.to_string()))?;
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|source| ProbeError::Connect {
            url: url.clone(),
            source,
        })?;
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: ragd-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
    .map_err(io)?;
    // A health answer is small: read at most 64 KiB, until close or timeout.
    let mut buf = Vec::new();
    let deadline = started + timeout;
    let mut chunk = [0u8; 4096];
    while buf.len() < 64 * 1024 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        stream.set_read_timeout(Some(left)).map_err(io)?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if buf.is_empty() => return Err(io(e)),
            Err(_) => break,
        }
    }
    let ms = started.elapsed().as_millis();
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| ProbeError::Garbled { url: url.clone() })?;
    if (200..300).contains(&status) {
        return Ok(Healthy { url, status, ms });
    }
    // The body's error message or state, if any, on the same line.
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.trim())
        .unwrap_or("");
    let detail: String = body.chars().filter(|c| !c.is_control()).take(200).collect();
    Err(ProbeError::Unhealthy {
        url,
        status,
        ms,
        detail: if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_or_refused() {
        let p = |u: &str| {
            let (h, port, _, prefix) = parse(u).unwrap();
            (h, port, prefix)
        };
        assert_eq!(
            p("http://127.0.0.1:8080"),
            ("127.0.0.1".into(), 8080, "".into())
        );
        assert_eq!(
            p("http://localhost/api/"),
            ("localhost".into(), 80, "/api".into())
        );
        assert_eq!(p("http://[::1]:9000"), ("::1".into(), 9000, "".into()));
        for bad in [
            "https://x:1",
            "127.0.0.1:8080",
            "http://",
            "http://h:notaport",
            "http://u@h",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_closed_port_is_a_quick_failure() {
        // Bind, learn the port, close: nothing listens there now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = probe(
            &format!("http://127.0.0.1:{port}"),
            false,
            Duration::from_secs(2),
        )
        .unwrap_err();
        assert!(matches!(e, ProbeError::Connect { .. }), "{e}");
    }
}
