//! The benchmark's plot, written by hand as SVG: (a) grouped bars of
//! million ops/s, (b) ns/op against live blocks on log scales, (c) grouped
//! bars of efficiency.

use std::fmt::Write as _;

use crate::Results;

/// One colour per heap: ten heaps (Cairn's three paths, four peers, module
/// 7's three), one spare.
const COLORS: [&str; 11] = [
    "#d62728", "#ff9896", "#ffbb78", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf",
];
const PANEL_W: f64 = 400.0;
const PANEL_H: f64 = 300.0;
const MARGIN_L: f64 = 55.0;
const MARGIN_T: f64 = 80.0;
const GAP: f64 = 70.0;

/// A "nice" axis maximum at or above `x`.
fn nice_max(x: f64) -> f64 {
    let p = 10f64.powf(x.max(1e-9).log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= x {
            return m * p;
        }
    }
    10.0 * p
}

fn color(i: usize) -> &'static str {
    COLORS[i % COLORS.len()]
}

/// Grouped bar panel at x offset `x0`.
fn bars(s: &mut String, x0: f64, title: &str, unit: &str, groups: &[String], v: &[Vec<f64>]) {
    let ymax = nice_max(v.iter().flatten().cloned().fold(0.0, f64::max));
    let (y0, h) = (MARGIN_T, PANEL_H);
    axes(s, x0, title, unit);
    for k in 0..=5 {
        let val = ymax * k as f64 / 5.0;
        let y = y0 + h - h * k as f64 / 5.0;
        let _ = writeln!(
            s,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            x0 + PANEL_W,
            x0 - 5.0,
            y + 4.0,
            fmt_num(val)
        );
    }
    let gw = PANEL_W / groups.len() as f64;
    let bw = gw * 0.8 / v.len() as f64;
    for (j, g) in groups.iter().enumerate() {
        let gx = x0 + gw * j as f64 + gw * 0.1;
        for (i, row) in v.iter().enumerate() {
            let bh = h * row[j] / ymax;
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{:.2}</title></rect>"#,
                gx + bw * i as f64,
                y0 + h - bh,
                bw,
                bh,
                color(i),
                row[j]
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{g}</text>"#,
            gx + gw * 0.4,
            y0 + h + 16.0
        );
    }
}

/// Log-log line panel at x offset `x0`.
fn lines(s: &mut String, x0: f64, title: &str, unit: &str, xs: &[usize], v: &[Vec<f64>]) {
    let (y0, h) = (MARGIN_T, PANEL_H);
    axes(s, x0, title, unit);
    let all: Vec<f64> = v.iter().flatten().cloned().collect();
    let lo = 10f64.powf(all.iter().cloned().fold(f64::MAX, f64::min).log10().floor());
    let hi = 10f64.powf(all.iter().cloned().fold(0.0, f64::max).log10().ceil());
    let ly = |val: f64| y0 + h - h * (val.log10() - lo.log10()) / (hi.log10() - lo.log10());
    let (xl, xh) = ((xs[0] as f64).log10(), (xs[xs.len() - 1] as f64).log10());
    let lx = |n: usize| x0 + 20.0 + (PANEL_W - 40.0) * ((n as f64).log10() - xl) / (xh - xl);
    let mut d = lo;
    while d <= hi * 1.001 {
        let y = ly(d);
        let _ = writeln!(
            s,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            x0 + PANEL_W,
            x0 - 5.0,
            y + 4.0,
            fmt_num(d)
        );
        d *= 10.0;
    }
    for &n in xs {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{n}</text>"#,
            lx(n),
            y0 + h + 16.0
        );
    }
    for (i, row) in v.iter().enumerate() {
        let pts: Vec<String> = xs
            .iter()
            .zip(row)
            .map(|(&n, &val)| format!("{:.1},{:.1}", lx(n), ly(val)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5"/>"#,
            pts.join(" "),
            color(i)
        );
        for (&n, &val) in xs.iter().zip(row) {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}"><title>{val:.1}</title></circle>"#,
                lx(n),
                ly(val),
                color(i)
            );
        }
    }
}

fn axes(s: &mut String, x0: f64, title: &str, unit: &str) {
    let (y0, h) = (MARGIN_T, PANEL_H);
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-weight="bold">{title}</text>"#,
        x0 + PANEL_W / 2.0,
        y0 - 12.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11">{unit}</text>"#,
        x0 + PANEL_W / 2.0,
        y0 + h + 34.0
    );
    let _ = writeln!(
        s,
        r##"<rect x="{x0}" y="{y0}" width="{PANEL_W}" height="{h}" fill="none" stroke="#444"/>"##
    );
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 || v == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The whole plot.
pub fn svg(r: &Results, maxes: &[usize], live: &[usize]) -> String {
    let width = MARGIN_L + 3.0 * PANEL_W + 2.0 * GAP + 20.0;
    let height = MARGIN_T + PANEL_H + 50.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    // Legend.
    let (mut lx, mut ly) = (MARGIN_L, 10.0);
    for (i, name) in r.names.iter().enumerate() {
        let w = 30.0 + 7.0 * name.len() as f64;
        if lx + w > width {
            (lx, ly) = (MARGIN_L, ly + 20.0);
        }
        let _ = writeln!(
            s,
            r#"<rect x="{lx:.1}" y="{ly:.1}" width="14" height="14" fill="{}"/><text x="{:.1}" y="{:.1}">{name}</text>"#,
            color(i),
            lx + 18.0,
            ly + 12.0
        );
        lx += w;
    }
    let groups: Vec<String> = maxes.iter().map(|m| m.to_string()).collect();
    let x1 = MARGIN_L;
    let x2 = x1 + PANEL_W + GAP;
    let x3 = x2 + PANEL_W + GAP;
    bars(
        &mut s,
        x1,
        "(a) random actions, Mops/s (higher is better)",
        "max size (bytes)",
        &groups,
        &r.mops,
    );
    lines(
        &mut s,
        x2,
        "(b) scaling, ns/op (lower, flatter is better)",
        "live blocks",
        live,
        &r.ns,
    );
    bars(
        &mut s,
        x3,
        "(c) efficiency, % arena in use at first failure",
        "max size (bytes)",
        &groups,
        &r.eff,
    );
    let _ = writeln!(s, "</svg>");
    s
}
