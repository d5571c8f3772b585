//! Waiting for a started replica: where ragd answers (from the container's
//! inspect document) and polling its `/ready` until 200, the deadline, or
//! the container stopping.

use std::time::{Duration, Instant};

use bollard::Docker;
use serde_json::Value;

use super::inspect;
use crate::docker::explain;
use crate::error::ReadyError;

/// Base URL of ragd in a container, from an inspect document.
pub fn url_from_inspect(v: &Value, port: u16) -> Option<String> {
    if let Some(bs) = v
        .pointer(&format!("/NetworkSettings/Ports/{port}~1tcp"))
        .and_then(Value::as_array)
    {
        for b in bs {
            let hp = b.get("HostPort").and_then(Value::as_str).unwrap_or("");
            if hp.is_empty() {
                continue;
            }
            let ip = match b.get("HostIp").and_then(Value::as_str).unwrap_or("") {
                "" | "0.0.0.0" => "127.0.0.1".to_string(),
                "::" => "[::1]".to_string(),
                ip if ip.contains(':') => format!("[{ip}]"),
                ip => ip.to_string(),
            };
            return Some(format!("http://{ip}:{hp}"));
        }
    }
    if v.pointer("/HostConfig/NetworkMode").and_then(Value::as_str) == Some("host") {
        return Some(format!("http://127.0.0.1:{port}"));
    }
    v.pointer("/NetworkSettings/Networks")
        .and_then(Value::as_object)?
        .values()
        .filter_map(|n| n.get("IPAddress").and_then(Value::as_str))
        .find(|ip| !ip.is_empty())
        .map(|ip| format!("http://{ip}:{port}"))
}

/// Wait until `/ready` of the container answers 200; fails early if the
/// container stops. Returns the URL that answered.
pub(crate) async fn wait_ready(
    d: &Docker,
    id: &str,
    port: u16,
    timeout: Duration,
) -> Result<String, ReadyError> {
    let client = crate::ragd::client();
    let deadline = Instant::now() + timeout;
    let mut url = None;
    loop {
        let v = inspect(d, id)
            .await
            .map_err(|e| ReadyError::Docker(explain(&e)))?;
        if let Some(exited) = exited(&v, id) {
            return Err(exited);
        }
        if url.is_none() {
            url = url_from_inspect(&v, port);
        }
        if let Some(u) = &url
            && let Ok(r) = client.get(format!("{u}/ready")).send().await
            && r.status().is_success()
        {
            return Ok(u.clone());
        }
        if Instant::now() >= deadline {
            return Err(match url {
                Some(url) => ReadyError::Timeout { url, timeout },
                None => ReadyError::NoAddress { port },
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// [`ReadyError::Exited`] if the inspect document says the container stopped.
fn exited(v: &Value, id: &str) -> Option<ReadyError> {
    if v.pointer("/State/Running").and_then(Value::as_bool) != Some(false) {
        return None;
    }
    let code = v
        .pointer("/State/ExitCode")
        .and_then(Value::as_i64)
        .unwrap_or(-1);
    Some(ReadyError::Exited {
        code,
        container: id[..id.len().min(12)].to_string(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn url_from_inspect_prefers_published_port() {
        let v = json!({"NetworkSettings": {
            "Ports": {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49160"}]},
            "Networks": {"n": {"IPAddress": "172.20.0.5"}}}});
        assert_eq!(
            url_from_inspect(&v, 8080).as_deref(),
            Some("http://127.0.0.1:49160")
        );
        assert_eq!(
            url_from_inspect(&v, 9000).as_deref(),
            Some("http://172.20.0.5:9000")
        );
    }

    #[test]
    fn ready_errors_read_as_before() {
        let stopped = json!({"State": {"Running": false, "ExitCode": 101}});
        assert_eq!(
            exited(&stopped, "0123456789abcdef0123")
                .unwrap()
                .to_string(),
            "container exited (code 101) before it was ready; see `docker logs 0123456789ab`"
        );
        assert!(exited(&json!({"State": {"Running": true}}), "x").is_none());
        let timeout = ReadyError::Timeout {
            url: "http://127.0.0.1:49160".into(),
            timeout: Duration::from_secs(60),
        };
        assert_eq!(
            timeout.to_string(),
            "http://127.0.0.1:49160/ready did not answer 200 within 60 s"
        );
        assert_eq!(
            ReadyError::NoAddress { port: 8080 }.to_string(),
            "no address for container port 8080/tcp"
        );
    }
}
