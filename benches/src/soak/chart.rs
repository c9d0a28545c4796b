//! The soak chart (`soak.svg`): four panels over elapsed time sharing one x axis: latency (p50,
//! p99), the WAF VM memory and Envoy's RSS (each with its growth limit dashed), and requests and
//! errors per interval. (The load comparison's chart is a bar chart of cells; a time series needs
//! lines, so this one is drawn here.)

use std::fmt::Write as _;

use super::series::{Growth, Row};
use crate::load::report::{escape, svg_start};

/// File name of the chart, next to the CSV.
pub const CHART_FILE: &str = "soak.svg";

const WIDTH: f64 = 960.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const PANEL: f64 = 150.0;
const GAP: f64 = 50.0;
const TOP: f64 = 40.0;

/// One line of a panel.
struct Line<'a> {
    label: &'a str,
    color: &'a str,
    points: Vec<(f64, f64)>,
}

/// The chart of `rows`; `vm` and `rss` are the growth limits drawn on their panels.
pub fn chart_svg(title: &str, rows: &[Row], vm: Option<Growth>, rss: Option<Growth>) -> String {
    let height = TOP + 4.0 * (PANEL + GAP);
    let x_max = rows.iter().map(|r| r.elapsed_s).fold(0.0, f64::max).max(1.0);
    let mut svg = svg_start(WIDTH, height, title);
    let series = |f: fn(&Row) -> Option<f64>| -> Vec<(f64, f64)> {
        rows.iter().filter_map(|r| f(r).map(|y| (r.elapsed_s, y))).collect()
    };
    let panels: [(&str, Vec<Line>, Option<f64>); 4] = [
        (
            "Latency per interval, ms",
            vec![
                Line {
                    label: "p50",
                    color: "#64b5f6",
                    points: series(|r| Some(r.p50_ms)),
                },
                Line {
                    label: "p99",
                    color: "#1565c0",
                    points: series(|r| Some(r.p99_ms)),
                },
            ],
            None,
        ),
        (
            "WAF VM linear memory (gauge), MiB",
            vec![Line {
                label: "wasm_memory_bytes",
                color: "#2e7d32",
                points: series(|r| r.vm_memory_bytes.map(mib_bytes)),
            }],
            vm.map(|g| mib_bytes(g.limit)),
        ),
        (
            "Envoy resident memory (VmRSS), MiB",
            vec![Line {
                label: "VmRSS",
                color: "#e65100",
                points: series(|r| r.rss_kib.map(mib_kib)),
            }],
            rss.map(|g| mib_kib(g.limit)),
        ),
        (
            "Requests and errors per interval",
            vec![
                Line {
                    label: "requests",
                    color: "#616161",
                    points: series(|r| Some(r.requests as f64)),
                },
                Line {
                    label: "errors",
                    color: "#c62828",
                    points: series(|r| Some(r.errors as f64)),
                },
            ],
            None,
        ),
    ];
    for (i, (name, lines, limit)) in panels.iter().enumerate() {
        let top = TOP + i as f64 * (PANEL + GAP) + 20.0;
        panel(&mut svg, top, name, lines, *limit, x_max);
    }
    svg.push_str("</svg>\n");
    svg
}

/// Draws one panel whose plot area starts at `top`: frame, y ticks at 0, half and max, x ticks,
/// the lines, the limit dashed, the legend.
fn panel(svg: &mut String, top: f64, name: &str, lines: &[Line], limit: Option<f64>, x_max: f64) {
    let plot_w = WIDTH - LEFT - RIGHT;
    let y_data = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let y_max = nice(y_data.max(limit.unwrap_or(0.0)) * 1.05);
    let x = |v: f64| LEFT + plot_w * v / x_max;
    let y = |v: f64| top + PANEL - PANEL * v / y_max;
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="{}" font-weight="bold">{}</text>"#,
        top - 6.0,
        escape(name)
    );
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL}" fill="none" stroke="#bdbdbd"/>"##
    );
    for tick in [0.0, y_max / 2.0, y_max] {
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y(tick) + 4.0,
            number(tick)
        );
    }
    for i in 0..=4 {
        let v = x_max * f64::from(i) / 4.0;
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{} s</text>"#,
            x(v),
            top + PANEL + 14.0,
            number(v)
        );
    }
    if let Some(limit) = limit {
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#c62828" stroke-dasharray="6 4"/><text x="{2:.1}" y="{3:.1}" text-anchor="end" fill="#c62828">growth limit {4}</text>"##,
            y(limit),
            LEFT + plot_w,
            LEFT + plot_w - 4.0,
            y(limit) - 4.0,
            number(limit)
        );
    }
    for (i, line) in lines.iter().enumerate() {
        let points: Vec<String> = line
            .points
            .iter()
            .map(|&(px, py)| format!("{:.1},{:.1}", x(px), y(py)))
            .collect();
        if !points.is_empty() {
            let _ = writeln!(
                svg,
                r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
                line.color,
                points.join(" ")
            );
        }
        let lx = LEFT + 8.0 + i as f64 * 150.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            top + 6.0,
            line.color,
            lx + 14.0,
            top + 15.0,
            escape(line.label)
        );
    }
}

/// A round axis maximum at or above `v` (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten:
/// fine steps, so that a series fills most of its panel and growth shows).
fn mib_bytes(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

fn mib_kib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A round axis maximum at or above `v` (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten:
/// fine steps, so that a series fills most of its panel and growth shows).
fn nice(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * power)
}

fn number(v: f64) -> String {
    if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(3.2), 4.0);
        assert_eq!(nice(17.0), 20.0);
        assert_eq!(nice(100.0), 100.0);
        assert_eq!(nice(230.0), 250.0);
        assert_eq!(nice(268.0), 300.0);
    }

    #[test]
    fn the_chart_has_a_line_per_series_and_the_limits() {
        let rows: Vec<Row> = (1..=4)
            .map(|i| Row {
                elapsed_s: f64::from(i) * 5.0,
                requests: 500,
                errors: 0,
                p50_ms: 2.0,
                p99_ms: 8.0,
                vm_memory_bytes: Some(16 << 20),
                rss_kib: Some(200 * 1024),
            })
            .collect();
        let limit = |reference: u64, limit: u64| Growth {
            reference,
            end: reference,
            limit,
        };
        let svg = chart_svg(
            "soak <1 min>",
            &rows,
            Some(limit(16 << 20, 18 << 20)),
            Some(limit(200 << 10, 232 << 10)),
        );
        assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(
            svg.matches("<polyline ").count(),
            6,
            "p50, p99, VM, RSS, requests, errors"
        );
        assert_eq!(svg.matches("growth limit").count(), 2);
        assert!(svg.contains("growth limit 18"), "{svg}");
        assert!(svg.contains("soak &lt;1 min&gt;"));
        // Four points per line, the last at the right edge.
        assert!(svg.contains(&format!("{:.1},", WIDTH - RIGHT)));
    }
}
