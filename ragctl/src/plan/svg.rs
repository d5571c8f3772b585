//! Charts of a replica plan: an SVG (or an HTML page holding it) a person
//! would rather look at than read, and the same in the terminal.
//!
//! Left panel: throughput against replicas, measured (dots, hollow for
//! counts left out of the fit), the fitted USL curve, the demand line with
//! headroom and the recommended count. Right panel: P95 at saturation
//! against replicas with the SLO line. Hand-written SVG: two panels of
//! lines and dots do not need a plotting crate.

use std::fmt::Write;

use super::replicas::ReplicaPlan;

const W: f64 = 440.0;
const H: f64 = 300.0;
const PAD_L: f64 = 60.0;
const PAD_R: f64 = 16.0;
const PAD_T: f64 = 36.0;
const PAD_B: f64 = 44.0;

/// A "nice" axis maximum above `v` (1, 2, 2.5, 5 × 10^k).
fn nice_max(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let k = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * k >= v {
            return m * k;
        }
    }
    10.0 * k
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One panel: axes, ticks, title; returns the mapping closures' parameters.
struct Panel {
    x0: f64,
    max_n: f64,
    max_y: f64,
}

impl Panel {
    fn px(&self, n: f64) -> f64 {
        self.x0 + PAD_L + (n / self.max_n) * (W - PAD_L - PAD_R)
    }
    fn py(&self, y: f64) -> f64 {
        PAD_T + (1.0 - (y / self.max_y).clamp(0.0, 1.05)) * (H - PAD_T - PAD_B)
    }

    fn frame(&self, out: &mut String, title: &str, y_label: &str) {
        let (l, r, t, b) = (self.x0 + PAD_L, self.x0 + W - PAD_R, PAD_T, H - PAD_B);
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="20" font-size="14" font-weight="bold">{}</text>"##,
            l,
            esc(title)
        );
        let _ = writeln!(
            out,
            r##"<path d="M{l:.1},{t:.1} V{b:.1} H{r:.1}" stroke="#333" fill="none"/>"##
        );
        for i in 0..=4 {
            let y = self.max_y * f64::from(i) / 4.0;
            let py = self.py(y);
            let _ = writeln!(
                out,
                r##"<line x1="{l:.1}" x2="{r:.1}" y1="{py:.1}" y2="{py:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
                l - 6.0,
                py + 4.0,
                short(y)
            );
        }
        for n in 0..=self.max_n as u32 {
            let px = self.px(f64::from(n));
            let _ = writeln!(
                out,
                r##"<text x="{px:.1}" y="{:.1}" font-size="11" text-anchor="middle">{n}</text>"##,
                b + 16.0
            );
        }
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">replicas</text>"##,
            (l + r) / 2.0,
            b + 34.0
        );
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" transform="rotate(-90 {:.1} {:.1})">{}</text>"##,
            self.x0 + 14.0,
            (t + b) / 2.0,
            self.x0 + 14.0,
            (t + b) / 2.0,
            esc(y_label)
        );
    }
}

fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The largest replica count a chart shows.
fn max_count(p: &ReplicaPlan) -> f64 {
    let rec = p.recommendation.as_ref().map_or(0, |r| r.replicas);
    f64::from(
        p.rows
            .iter()
            .map(|r| r.replicas)
            .max()
            .unwrap_or(1)
            .max(rec),
    ) + 1.0
}

/// The plan as a standalone SVG document.
pub fn svg(p: &ReplicaPlan) -> String {
    let m = p.fit.model;
    let max_n = max_count(p);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}" viewBox="0 0 {:.0} {:.0}" font-family="sans-serif">"##,
        2.0 * W,
        H + 30.0,
        2.0 * W,
        H + 30.0
    );
    let _ = writeln!(out, r##"<rect width="100%" height="100%" fill="white"/>"##);

    // Left: throughput.
    let top_x = p
        .rows
        .iter()
        .flat_map(|r| [r.measured.unwrap_or(0.0), r.fitted])
        .chain(p.recommendation.as_ref().map(|r| r.required_rps))
        .fold(1.0, f64::max);
    let left = Panel {
        x0: 0.0,
        max_n,
        max_y: nice_max(top_x * 1.1),
    };
    left.frame(&mut out, "Throughput vs replicas", "req/s");
    let curve: Vec<String> = (0..=100)
        .map(|i| {
            let n = 1.0 + (max_n - 1.0) * f64::from(i) / 100.0;
            format!("{:.1},{:.1}", left.px(n), left.py(m.throughput(n)))
        })
        .collect();
    let _ = writeln!(
        out,
        r##"<polyline points="{}" fill="none" stroke="#1f77b4" stroke-width="2"/>"##,
        curve.join(" ")
    );
    if let Some(r) = &p.recommendation {
        let y = left.py(r.required_rps);
        let _ = writeln!(
            out,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#d62728" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#d62728">demand + headroom {:.0} req/s</text>"##,
            left.px(0.0),
            left.px(max_n),
            left.px(0.0) + 4.0,
            y - 5.0,
            r.required_rps
        );
        let x = left.px(f64::from(r.replicas));
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}" stroke="#2ca02c" stroke-width="2"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#2ca02c">recommended: {}</text>"##,
            PAD_T,
            H - PAD_B,
            x + 4.0,
            PAD_T + 12.0,
            r.replicas
        );
    }
    for r in &p.rows {
        if let Some(x) = r.measured {
            let _ = writeln!(
                out,
                r##"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{}" stroke="#ff7f0e" stroke-width="2"><title>{} replicas: {:.1} req/s measured, {:.1} fitted</title></circle>"##,
                left.px(f64::from(r.replicas)),
                left.py(x),
                if r.in_fit { "#ff7f0e" } else { "white" },
                r.replicas,
                x,
                r.fitted
            );
        }
    }

    // Right: P95 at saturation.
    let slo = p.question.map(|q| q.p95_target_ms);
    let top_p = p
        .rows
        .iter()
        .filter_map(|r| r.p95_ms)
        .chain(slo)
        .fold(1.0, f64::max);
    let right = Panel {
        x0: W,
        max_n,
        max_y: nice_max(top_p * 1.1),
    };
    right.frame(&mut out, "P95 at saturation vs replicas", "P95 ms");
    if let Some(slo) = slo {
        let y = right.py(slo);
        let _ = writeln!(
            out,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#d62728" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#d62728" text-anchor="end">SLO {slo} ms</text>"##,
            right.px(0.0),
            right.px(max_n),
            right.px(max_n),
            y - 5.0
        );
    }
    let pts: Vec<(f64, f64)> = p
        .rows
        .iter()
        .filter_map(|r| Some((f64::from(r.replicas), r.p95_ms?)))
        .collect();
    if pts.len() > 1 {
        let line: Vec<String> = pts
            .iter()
            .map(|(n, v)| format!("{:.1},{:.1}", right.px(*n), right.py(*v)))
            .collect();
        let _ = writeln!(
            out,
            r##"<polyline points="{}" fill="none" stroke="#9467bd" stroke-width="1.5"/>"##,
            line.join(" ")
        );
    }
    for (n, v) in &pts {
        let _ = writeln!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#9467bd"><title>{n} replicas: P95 {v:.1} ms</title></circle>"##,
            right.px(*n),
            right.py(*v)
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="#555">● measured (fitted)  ○ measured (predicted, not fitted)  — USL fit σ={:.4} κ={:.2e} λ={:.1}</text>"##,
        PAD_L,
        H + 18.0,
        m.sigma,
        m.kappa,
        m.lambda
    );
    out.push_str("</svg>\n");
    out
}

/// An HTML page holding the SVG and the plan's summary.
pub fn html(p: &ReplicaPlan) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>ragctl capacity plan</title></head>\n<body style=\"font-family:sans-serif\">\n",
    );
    out += &svg(p);
    out += "<ul>\n";
    for l in super::replicas::summary_lines(p) {
        let _ = writeln!(out, "<li>{}</li>", esc(l.trim()));
    }
    out += "</ul>\n</body></html>\n";
    out
}

/// Terminal chart: `*` fitted, `X` measured (fitted on), `x` measured but
/// left out of the fit (a prediction's check), `R` the recommended count
/// on the demand line `-`.
pub fn terminal(p: &ReplicaPlan, width: usize, height: usize) -> String {
    let m = p.fit.model;
    let max_n = max_count(p);
    let demand = p.recommendation.as_ref().map(|r| r.required_rps);
    let max_x = p
        .rows
        .iter()
        .flat_map(|r| [r.measured.unwrap_or(0.0), r.fitted])
        .chain(demand)
        .fold(1.0, f64::max)
        * 1.1;
    let mut c = super::Canvas::new(width, height, max_n, max_x);
    if let Some(d) = demand {
        let row = height - 1 - c.row_of(d);
        c.grid[row].fill('-');
    }
    for col in 0..width {
        let n = c.n_at(col);
        if n >= 1.0 {
            c.put_in_column(col, m.throughput(n), '*');
        }
    }
    for r in &p.rows {
        if let Some(x) = r.measured {
            c.put(f64::from(r.replicas), x, if r.in_fit { 'X' } else { 'x' });
        }
    }
    if let Some(r) = &p.recommendation {
        c.put(f64::from(r.replicas), r.required_rps, 'R');
    }
    let mut out = c.rows(&format!("{max_x:.0}"));
    let mut axis = vec![' '; width + 1];
    for n in 0..=max_n as usize {
        let col = c.col_of(n as f64);
        for (k, ch) in n.to_string().chars().enumerate() {
            if col + k <= width {
                axis[col + k] = ch;
            }
        }
    }
    let _ = writeln!(
        out,
        "{:>8}  {}  replicas",
        "",
        axis.iter().collect::<String>().trim_end()
    );
    let _ = writeln!(
        out,
        "{:>8}  * fitted  X measured  x measured, not fitted{}",
        "",
        if demand.is_some() {
            "  - demand+headroom  R recommended"
        } else {
            ""
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::replicas::{ReplicaPoint, ReplicaSweepFile, build};
    use super::*;
    use crate::plan::Question;

    fn plan() -> ReplicaPlan {
        let f = ReplicaSweepFile {
            axis: "replicas".into(),
            service: "ragd".into(),
            clients_per_replica: 8,
            step_secs: 5.0,
            points: [
                (1, 100.0, 20.0),
                (2, 180.0, 25.0),
                (3, 240.0, 40.0),
                (4, 270.0, 60.0),
            ]
            .iter()
            .map(|&(n, x, p)| ReplicaPoint {
                replicas: n,
                clients: 8 * n,
                throughput: x,
                p95_ms: Some(p),
                mean_ms: Some(p / 2.0),
                errors: 0,
                containers: vec![],
            })
            .collect(),
        };
        let q = Question {
            users: 1000.0,
            think_time_s: 5.0,
            p95_target_ms: 300.0,
            headroom: 0.2,
            db_hold_ms: None,
            redis_hold_ms: None,
        };
        build(&f, Some(&[1, 2, 3]), Some(q)).unwrap()
    }

    #[test]
    fn the_svg_has_both_panels_the_slo_and_the_recommendation() {
        let p = plan();
        let s = svg(&p);
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert!(s.contains("Throughput vs replicas") && s.contains("P95 at saturation"));
        assert!(s.contains("SLO 300 ms"), "{s}");
        let rec = p.recommendation.as_ref().unwrap().replicas;
        assert!(s.contains(&format!("recommended: {rec}")), "{s}");
        // Four measured points, one of them hollow (not fitted).
        assert_eq!(s.matches(r##"stroke="#ff7f0e""##).count(), 4);
        assert_eq!(s.matches(r##"fill="white" stroke="#ff7f0e""##).count(), 1);
        assert!(html(&p).contains("<svg"));
    }

    #[test]
    fn the_terminal_chart_marks_fit_prediction_and_recommendation() {
        let t = terminal(&plan(), 60, 14);
        assert!(t.contains('X') && t.contains('x') && t.contains('R'), "{t}");
        assert!(t.contains("replicas"), "{t}");
    }

    #[test]
    fn nice_axis_maxima() {
        assert_eq!(nice_max(87.0), 100.0);
        assert_eq!(nice_max(130.0), 200.0);
        assert_eq!(nice_max(240.0), 250.0);
        assert_eq!(nice_max(0.0), 1.0);
    }
}
