//! The report's SVG plots (plotters, no font or bitmap dependency):
//! latency against peers, latency over time across re-elections, and
//! the load curve per transport and store.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::{
    json::curve,
    results::{BenchResults, LatencyResult},
    scenarios::{Disruption, Group, StoreKind, TRANSPORTS},
};

/// A plot that could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw {path}: {detail}")]
pub struct PlotError {
    /// The SVG file.
    pub path: PathBuf,
    /// What plotters said.
    pub detail: String,
}

/// The plots drawn, as file names relative to the report.
#[derive(Debug, Clone, Default)]
pub struct Plots {
    /// Latency against the number of peers.
    pub peers: Option<String>,
    /// Latency over time while the trader is killed.
    pub killed: Option<String>,
    /// Latency over time while the trader resigns.
    pub resigned: Option<String>,
    /// The load curves: p99 against buys per second, per transport and
    /// store.
    pub throughput: Option<String>,
    /// Open time and live state against the length of history.
    pub history: Option<String>,
    /// Response time against the delay between hosts.
    pub remote: Option<String>,
}

const SIZE: (u32, u32) = (800, 460);
const FONT: (&str, u32) = ("sans-serif", 20);

/// Draws every plot the results have data for into `dir`.
///
/// # Errors
/// A [`PlotError`] naming the file.
pub fn draw_all(results: &BenchResults, dir: &Path) -> Result<Plots, PlotError> {
    let mut plots = Plots::default();
    let peers: Vec<&LatencyResult> = results
        .latency
        .iter()
        .filter(|r| r.scenario.group == Group::Peers)
        .collect();
    if !peers.is_empty() {
        let name = "latency-vs-peers.svg";
        guard(dir.join(name), |path| latency_vs_peers(path, &peers))?;
        plots.peers = Some(name.into());
    }
    for r in &results.latency {
        let (slot, name) = match r.scenario.disruption {
            Disruption::Kill { .. } => (&mut plots.killed, "latency-over-time-killed.svg"),
            Disruption::Resign { .. } => (&mut plots.resigned, "latency-over-time-resigned.svg"),
            Disruption::None => continue,
        };
        if !r.samples.is_empty() {
            guard(dir.join(name), |path| over_time(path, r))?;
            *slot = Some(name.into());
        }
    }
    if results.remote.len() >= 2 {
        let name = "remote.svg";
        guard(dir.join(name), |path| remote(path, &results.remote))?;
        plots.remote = Some(name.into());
    }
    if results.history.len() >= 2 {
        let name = "history.svg";
        guard(dir.join(name), |path| history(path, &results.history))?;
        plots.history = Some(name.into());
    }
    if !results.load.is_empty() {
        let name = "load-curve.svg";
        guard(dir.join(name), |path| load_curves(path, results))?;
        plots.throughput = Some(name.into());
    }
    Ok(plots)
}

type Drawn = Result<(), Box<dyn std::error::Error>>;

fn guard(path: PathBuf, draw: impl FnOnce(&Path) -> Drawn) -> Result<(), PlotError> {
    draw(&path).map_err(|e| PlotError {
        detail: e.to_string(),
        path,
    })
}

/// Microsecond axes span whole decades around the data.
fn decades(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::MAX, 1.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let lo = 10f64.powf(lo.max(1.0).log10().floor());
    let hi = 10f64.powf(hi.log10().ceil()).max(lo * 10.0);
    lo..hi
}

fn latency_vs_peers(path: &Path, rows: &[&LatencyResult]) -> Drawn {
    let max_peers = rows.iter().map(|r| r.scenario.peers).max().unwrap_or(6);
    let y = decades(
        rows.iter()
            .flat_map(|r| [r.latency.p50_us, r.latency.max_us]),
    );
    let line = |value: fn(&LatencyResult) -> f64| -> Vec<(f64, f64)> {
        rows.iter()
            .map(|r| (f64::from(r.scenario.peers), value(r)))
            .collect()
    };
    lines_over_log_micros(
        path,
        LogMicros {
            caption: "Buy response time against peers (tcp, store off)",
            x_desc: "peers (half buyers)",
            x_end: f64::from(max_peers) * 1.05,
            y,
        },
        vec![
            ("p50", BLUE, line(|r| r.latency.p50_us)),
            ("mean", GREEN, line(|r| r.latency.mean_us)),
            ("p99", RED, line(|r| r.latency.p99_us)),
            ("max", BLACK, line(|r| r.latency.max_us)),
        ],
    )
}

/// The frame of a chart of response times: a linear x axis from zero to
/// `x_end` and a logarithmic y axis over `y` microseconds.
struct LogMicros {
    caption: &'static str,
    x_desc: &'static str,
    x_end: f64,
    y: std::ops::Range<f64>,
}

/// One line of a chart: its label, its colour and its points.
type Line<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

/// Draws `lines`, each with a dot at every point,
/// in the frame `axes`, with a legend in the upper left.
fn lines_over_log_micros(path: &Path, axes: LogMicros, lines: Vec<Line<'_>>) -> Drawn {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(axes.caption, FONT)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..axes.x_end, axes.y.log_scale())?;
    chart
        .configure_mesh()
        .x_desc(axes.x_desc)
        .y_desc("response time, µs (log)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    for (label, color, points) in lines {
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 4, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn over_time(path: &Path, r: &LatencyResult) -> Drawn {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let end = r.samples.iter().map(|s| s.at_s).fold(0.0, f64::max) * 1.02;
    let y = decades(r.samples.iter().map(|s| s.latency_us));
    let caption = format!("Response time over time: {}", r.scenario.name);
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..end.max(0.1), y.clone().log_scale())?;
    chart
        .configure_mesh()
        .x_desc("time since the market started, s")
        .y_desc("response time, µs (log)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    chart
        .draw_series(
            r.samples
                .iter()
                .map(|s| Circle::new((s.at_s, s.latency_us), 2, BLUE.mix(0.5).filled())),
        )?
        .label("one buy")
        .legend(|(x, y)| Circle::new((x + 10, y), 3, BLUE.filled()));
    let marks: [(&str, RGBColor); 4] = [
        ("killed", RED),
        ("resigned", MAGENTA),
        ("returned", GREEN),
        ("unplanned", BLACK),
    ];
    for (cause, color) in marks {
        let at: Vec<f64> = r
            .elections
            .iter()
            .filter(|e| e.cause == cause)
            .map(|e| e.at_s)
            .collect();
        if at.is_empty() {
            continue;
        }
        chart
            .draw_series(
                at.into_iter()
                    .map(|x| PathElement::new(vec![(x, y.start), (x, y.end)], color)),
            )?
            .label(format!("trader {cause}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The load curves: p99 response time against throughput, a line per
/// transport and store, each point a number of buyers.
fn load_curves(path: &Path, results: &BenchResults) -> Drawn {
    const COLOURS: [RGBColor; 4] = [BLUE, RED, GREEN, MAGENTA];
    let mut curves = Vec::new();
    for store in [StoreKind::Mem, StoreKind::Sqlite, StoreKind::Postgres] {
        for (kind, colour) in TRANSPORTS.into_iter().zip(COLOURS) {
            let points: Vec<(f64, f64)> = curve(results, kind, store)
                .map(|p| (p.buys_per_s, p.latency.p99_us))
                .collect();
            if points.is_empty() {
                continue;
            }
            let store_on = store != StoreKind::Mem;
            // Store on: the same hue, lighter.
            let colour = if store_on {
                RGBColor(colour.0 / 2 + 100, colour.1 / 2 + 100, colour.2 / 2 + 100)
            } else {
                colour
            };
            let label = if store_on {
                format!("{kind}, {}", store.name())
            } else {
                format!("{kind}, store off")
            };
            curves.push((label, colour, points));
        }
    }
    let x_end = curves
        .iter()
        .flat_map(|c| c.2.iter().map(|p| p.0))
        .fold(1.0, f64::max)
        * 1.05;
    let y = decades(curves.iter().flat_map(|c| c.2.iter().map(|p| p.1)));
    lines_over_log_micros(
        path,
        LogMicros {
            caption: "Load curve: p99 response time against buys per second",
            x_desc: "buys/s (a point per number of closed-loop buyers)",
            x_end,
            y,
        },
        curves
            .iter()
            .map(|(label, colour, points)| (label.as_str(), *colour, points.clone()))
            .collect(),
    )
}

fn history(path: &Path, rows: &[super::HistoryResult]) -> Drawn {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let x = decades(rows.iter().map(|h| h.sales as f64));
    let ms = decades(rows.iter().map(|h| h.open_ms * 1_000.0));
    let bytes = decades(rows.iter().map(|h| h.book_bytes as f64));
    let mut chart = ChartBuilder::on(&root)
        .caption("Opening the books against the history", FONT)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .right_y_label_area_size(70)
        .build_cartesian_2d(x.clone().log_scale(), ms.log_scale())?
        .set_secondary_coord(x.log_scale(), bytes.log_scale());
    chart
        .configure_mesh()
        .x_desc("sales in the history (log)")
        .y_desc("open the books, µs (log)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("live state, bytes (log)")
        .label_style(("sans-serif", 14))
        .draw()?;
    let open: Vec<(f64, f64)> = rows
        .iter()
        .map(|h| (h.sales as f64, h.open_ms * 1_000.0))
        .collect();
    chart
        .draw_series(LineSeries::new(open.clone(), BLUE.stroke_width(2)))?
        .label("open the books")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart.draw_series(open.into_iter().map(|p| Circle::new(p, 4, BLUE.filled())))?;
    let size: Vec<(f64, f64)> = rows
        .iter()
        .map(|h| (h.sales as f64, h.book_bytes as f64))
        .collect();
    chart
        .draw_secondary_series(LineSeries::new(size.clone(), RED.stroke_width(2)))?
        .label("live state")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart.draw_secondary_series(size.into_iter().map(|p| Circle::new(p, 4, RED.filled())))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Buy response time (p50, p99) against the delay each way between hosts.
fn remote(path: &Path, rows: &[super::RemoteResult]) -> Drawn {
    let max_delay = rows.iter().map(|r| r.delay_us).max().unwrap_or(1) as f64;
    let y = decades(rows.iter().flat_map(|r| [r.buy.p50_us, r.buy.p99_us]));
    let line = |value: fn(&super::RemoteResult) -> f64| -> Vec<(f64, f64)> {
        rows.iter().map(|r| (r.delay_us as f64, value(r))).collect()
    };
    lines_over_log_micros(
        path,
        LogMicros {
            caption: "Buy response time against the delay between hosts",
            x_desc: "delay each way, µs",
            x_end: max_delay.max(1.0) * 1.05,
            y,
        },
        vec![
            ("p50", BLUE, line(|r| r.buy.p50_us)),
            ("p99", RED, line(|r| r.buy.p99_us)),
        ],
    )
}
