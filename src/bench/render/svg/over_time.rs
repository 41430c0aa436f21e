//! Response time over time across re-elections: a dot per buy, a mark
//! per election by its cause.

use std::path::Path;

use plotters::prelude::*;

use super::chart::{Drawn, SIZE, decades, finish};
use crate::bench::experiments::latency::{Cause, LatencyResult};

/// Every buy of `r` over time, and its elections.
pub fn draw(path: &Path, r: &LatencyResult) -> Drawn {
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
    let marks = Cause::ALL.into_iter().zip([RED, MAGENTA, GREEN, BLACK]);
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
    finish(
        &root,
        chart.configure_series_labels(),
        SeriesLabelPosition::UpperRight,
    )
}
