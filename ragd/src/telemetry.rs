//! Logs and traces: the `[log]` and `[trace]` configuration sections and the
//! one `tracing` subscriber ragd installs at start.
//!
//! Logs go to stderr as text (the default, for terminals; ANSI colours only
//! when asked or when stderr is a terminal) or as one JSON object per line
//! (`[log] format = "json"`, for log collectors). Which events are written is
//! an `EnvFilter` directive: `RUST_LOG` when set (the Rust convention, handy
//! for a one-off debug run), else `[log] filter`.
//!
//! With the cargo feature `otel`, spans are also exported over OTLP/HTTP
//! when `[trace] otlp_endpoint` (or `OTEL_EXPORTER_OTLP_ENDPOINT`) is set.
//! Without it the spans (`request`, `embed`, `search`, `join`, `generate`,
//! `cache`, `store`) still exist: they carry the request id onto every log
//! line of a request.

use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter used when neither `RUST_LOG` nor `[log] filter` says otherwise.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,qdrant_edge=error";

/// `[log]`: how ragd writes its log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (human-readable lines) or `json` (one object per line).
    pub format: LogFormat,
    /// `EnvFilter` directives, e.g. `info,ragd::access=warn`; `RUST_LOG`
    /// overrides it when set.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: DEFAULT_FILTER.to_string(),
        }
    }
}

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// `[trace]`: OpenTelemetry trace export (cargo feature `otel`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TraceConfig {
    /// OTLP/HTTP collector base URL, e.g. `http://127.0.0.1:4318` (spans go
    /// to `/v1/traces` under it). Empty: `OTEL_EXPORTER_OTLP_ENDPOINT` if
    /// set, else no export.
    pub otlp_endpoint: String,
    /// `service.name` of the exported spans.
    pub service_name: String,
    /// Share of traces exported, 0.0..=1.0 (parent-based: a request whose
    /// caller sampled it stays sampled).
    pub sample_ratio: f64,
}

impl Default for TraceConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: String::new(),
            service_name: "ragd".to_string(),
            sample_ratio: 1.0,
        }
    }
}

impl TraceConfig {
    /// Checks serde cannot express; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            return Err(format!(
                "trace.sample_ratio is a share in 0.0..=1.0, got {}",
                self.sample_ratio
            ));
        }
        let e = &self.otlp_endpoint;
        if !e.is_empty() && !(e.starts_with("http://") || e.starts_with("https://")) {
            return Err(format!(
                "trace.otlp_endpoint must start with http:// or https:// (OTLP/HTTP, usually port 4318), got {e:?}"
            ));
        }
        if self.service_name.trim().is_empty() {
            return Err("trace.service_name must not be empty".into());
        }
        Ok(())
    }

    /// The endpoint to export to: the setting, else the standard variable.
    pub fn endpoint(&self) -> Option<String> {
        let from_env = || std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok();
        Some(self.otlp_endpoint.clone())
            .filter(|e| !e.is_empty())
            .or_else(from_env)
            .filter(|e| !e.is_empty())
    }
}

/// Why the subscriber could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("log.filter: {0}")]
    Filter(String),
    #[error("trace: {0}")]
    Trace(String),
    #[error("a global subscriber is already installed: {0}")]
    Init(String),
}

/// Flushes and stops the trace exporter when dropped (keep it alive in
/// `main` until the server has stopped).
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        #[cfg(feature = "otel")]
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("trace export: shutdown: {e}");
        }
    }
}

/// The filter: `RUST_LOG` when set and non-empty, else `[log] filter`.
pub fn filter(log: &LogConfig) -> Result<EnvFilter, TelemetryError> {
    let directives = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| log.filter.clone());
    EnvFilter::try_new(&directives)
        .map_err(|e| TelemetryError::Filter(format!("{directives:?}: {e}")))
}

/// Install the global subscriber: logs on stderr in `log.format` (`ansi`
/// colours for text only), plus the OTLP exporter when `otel` is built in
/// and an endpoint is configured.
pub fn init(
    log: &LogConfig,
    trace: &TraceConfig,
    ansi: bool,
) -> Result<TelemetryGuard, TelemetryError> {
    let text = (log.format == LogFormat::Text).then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
    });
    let json = (log.format == LogFormat::Json).then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .with_writer(std::io::stderr)
    });
    let registry = tracing_subscriber::registry()
        .with(filter(log)?)
        .with(text)
        .with(json);
    #[cfg(feature = "otel")]
    {
        let (layer, provider) = match trace.endpoint() {
            Some(endpoint) => {
                let (layer, provider) = otel::layer(&endpoint, trace)?;
                (Some(layer), Some(provider))
            }
            None => (None, None),
        };
        registry
            .with(layer)
            .try_init()
            .map_err(|e| TelemetryError::Init(e.to_string()))?;
        Ok(TelemetryGuard { provider })
    }
    #[cfg(not(feature = "otel"))]
    {
        registry
            .try_init()
            .map_err(|e| TelemetryError::Init(e.to_string()))?;
        if !trace.otlp_endpoint.is_empty() {
            tracing::warn!(
                endpoint = %trace.otlp_endpoint,
                "trace.otlp_endpoint is set but this ragd was built without the `otel` feature: no spans are exported"
            );
        }
        Ok(TelemetryGuard {})
    }
}

#[cfg(feature = "otel")]
mod otel {
    //! The OTLP/HTTP exporter behind `tracing-opentelemetry`.

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{SpanExporter, WithExportConfig};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

    use super::{TelemetryError, TraceConfig};

    /// The `tracing` layer exporting spans to `endpoint`/v1/traces, and its
    /// provider (flushed on shutdown).
    pub fn layer<S>(
        endpoint: &str,
        cfg: &TraceConfig,
    ) -> Result<
        (
            tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::SdkTracer>,
            SdkTracerProvider,
        ),
        TelemetryError,
    >
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
        let exporter = SpanExporter::builder()
            .with_http()
            .with_endpoint(url)
            .with_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| TelemetryError::Trace(e.to_string()))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                cfg.sample_ratio,
            ))))
            .with_resource(
                Resource::builder()
                    .with_service_name(cfg.service_name.clone())
                    .build(),
            )
            .build();
        let tracer = provider.tracer("ragd");
        Ok((tracing_opentelemetry::layer().with_tracer(tracer), provider))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_settings_are_checked() {
        let mut t = TraceConfig::default();
        assert!(t.validate().is_ok());
        t.sample_ratio = 1.5;
        assert!(t.validate().unwrap_err().contains("sample_ratio"));
        t.sample_ratio = 0.5;
        t.otlp_endpoint = "127.0.0.1:4318".into();
        assert!(t.validate().unwrap_err().contains("otlp_endpoint"));
        t.otlp_endpoint = "http://127.0.0.1:4318".into();
        assert!(t.validate().is_ok());
    }

    #[test]
    fn a_bad_filter_is_an_error_naming_it() {
        let log = LogConfig {
            format: LogFormat::Json,
            filter: "info,ragd=notalevel".into(),
        };
        if std::env::var_os("RUST_LOG").is_none() {
            let e = filter(&log).unwrap_err().to_string();
            assert!(e.contains("notalevel"), "{e}");
        }
    }
}
