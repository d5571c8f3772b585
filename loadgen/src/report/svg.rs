//! Line charts as inline SVG, for the HTML report: axes scaled to the
//! data, a few labelled ticks, one polyline per series.

use std::fmt::Write as _;

use crate::threshold::fmt_num;

/// A line chart as inline SVG.
pub(super) fn svg_chart(title: &str, xs: &[f64], series: &[(&str, &str, Vec<f64>)]) -> String {
    let (w, h, pad) = (1000.0, 260.0, 45.0);
    let xmax = xs.iter().cloned().fold(1.0, f64::max);
    let ymax = series
        .iter()
        .flat_map(|s| s.2.iter().cloned())
        .fold(1e-9, f64::max)
        * 1.1;
    let mut out = format!(
        "<h3>{title}</h3><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
         <rect x=\"{pad}\" y=\"10\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>",
        w - pad - 10.0,
        h - pad - 10.0
    );
    let px = |x: f64| pad + x / xmax * (w - pad - 10.0);
    let py = |y: f64| 10.0 + (1.0 - y / ymax) * (h - pad - 10.0);
    for i in 0..=4 {
        let y = ymax * i as f64 / 4.0;
        let _ = write!(
            out,
            "<text x=\"2\" y=\"{:.0}\" font-size=\"11\">{}</text>",
            py(y) + 4.0,
            fmt_num(y)
        );
    }
    let _ = write!(
        out,
        "<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"11\">{} s</text>",
        w - 60.0,
        h - 15.0,
        fmt_num(xmax)
    );
    for (k, (name, color, ys)) in series.iter().enumerate() {
        let pts: Vec<String> = xs
            .iter()
            .zip(ys)
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>\
             <text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\" fill=\"{color}\">{name}</text>",
            pts.join(" "),
            pad + 10.0 + k as f64 * 80.0,
            h - 15.0
        );
    }
    out.push_str("</svg>");
    out
}
