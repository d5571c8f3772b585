//! The HTML report ([`Report::to_html`]): one self-contained page, the
//! terminal report beside charts of latency and throughput over time (no
//! scripts, no external files).

use super::Report;
use super::svg::svg_chart;

impl Report {
    /// A self-contained HTML page: tables plus inline SVG charts of latency
    /// percentiles and throughput over time (no scripts, no external files).
    pub fn to_html(&self) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let t0 = self.timeline.first().map(|i| i.t).unwrap_or(0);
        let xs: Vec<f64> = self.timeline.iter().map(|i| (i.t - t0) as f64).collect();
        let lat = svg_chart(
            "Latency percentiles over time (ms, from intended start)",
            &xs,
            &[
                (
                    "p50",
                    "#2b8a3e",
                    self.timeline.iter().map(|i| i.p50_ms).collect(),
                ),
                (
                    "p95",
                    "#e67700",
                    self.timeline.iter().map(|i| i.p95_ms).collect(),
                ),
                (
                    "p99",
                    "#c92a2a",
                    self.timeline.iter().map(|i| i.p99_ms).collect(),
                ),
            ],
        );
        let thr = svg_chart(
            "Throughput over time (completed req/s; errors/s)",
            &xs,
            &[
                (
                    "req/s",
                    "#1864ab",
                    self.timeline.iter().map(|i| i.count as f64).collect(),
                ),
                (
                    "errors/s",
                    "#c92a2a",
                    self.timeline.iter().map(|i| i.errors as f64).collect(),
                ),
            ],
        );
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>loadgen: {title}</title><style>\
             body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;margin:1em 0}}\
             td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
             .pass{{color:#2b8a3e;font-weight:bold}}.fail{{color:#c92a2a;font-weight:bold}}pre{{background:#f8f9fa;padding:1em}}</style></head><body>\
             <h1>loadgen: {title}</h1>{lat}{thr}<pre>{text}</pre></body></html>",
            title = esc(&self.meta.profile),
            text = esc(&self.to_text()),
        )
    }
}
