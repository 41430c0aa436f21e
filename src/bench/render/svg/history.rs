//! Opening the books against the length of history, beside the live
//! state's size.

use std::path::Path;

use plotters::prelude::*;

use super::chart::{Drawn, FONT, SIZE, decades, finish};
use crate::bench::experiments::history::HistoryResult;

/// Open time and live state against sales, both axes logarithmic.
pub fn draw(path: &Path, rows: &[HistoryResult]) -> Drawn {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let x = decades(rows.iter().map(|h| h.sales as f64));
    let ms = decades(rows.iter().map(|h| h.open_ms * 1_000.0));
    let bytes = decades(rows.iter().filter_map(|h| h.book_bytes).map(|b| b as f64));
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
        .filter_map(|h| h.book_bytes.map(|b| (h.sales as f64, b as f64)))
        .collect();
    chart
        .draw_secondary_series(LineSeries::new(size.clone(), RED.stroke_width(2)))?
        .label("live state")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart.draw_secondary_series(size.into_iter().map(|p| Circle::new(p, 4, RED.filled())))?;
    finish(
        &root,
        chart.configure_series_labels(),
        SeriesLabelPosition::UpperLeft,
    )
}
