//! The frame every response-time chart shares: the size, the font, axes
//! over whole decades, and lines of dots with a legend.

use std::path::Path;

use plotters::{
    chart::SeriesLabelStyle,
    coord::{CoordTranslate, Shift},
    prelude::*,
};

/// Every plot's size, in pixels.
pub const SIZE: (u32, u32) = (800, 460);

/// Every caption's font.
pub const FONT: (&str, u32) = ("sans-serif", 20);

/// What drawing a plot returns: plotters' errors, whatever their backend.
pub type Drawn = Result<(), Box<dyn std::error::Error>>;

/// Ends a chart: the legend of `labels` at `position`, on a white box
/// with a black border, then the file written.
pub fn finish<'a, CT: CoordTranslate>(
    root: &DrawingArea<SVGBackend<'a>, Shift>,
    mut labels: SeriesLabelStyle<'a, '_, SVGBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> Drawn {
    labels
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Microsecond axes span whole decades around the data.
pub fn decades(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::MAX, 1.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let lo = 10f64.powf(lo.max(1.0).log10().floor());
    let hi = 10f64.powf(hi.log10().ceil()).max(lo * 10.0);
    lo..hi
}

/// The words of a chart of response times: a linear x axis from zero
/// past its last point, and a logarithmic y axis in microseconds over
/// whole decades around its points.
pub struct LogMicros {
    /// The title.
    pub caption: &'static str,
    /// What the x axis counts.
    pub x_desc: &'static str,
}

/// One line of a chart: its label, its colour and its points.
pub type Series<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

/// Draws `lines`, each with a dot at every point,
/// in the frame `axes`, with a legend in the upper left.
pub fn lines_over_log_micros(path: &Path, axes: LogMicros, lines: Vec<Series<'_>>) -> Drawn {
    let points = || lines.iter().flat_map(|(_, _, points)| points);
    let x_end = points().map(|p| p.0).fold(1.0, f64::max) * 1.05;
    let y = decades(points().map(|p| p.1));
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(axes.caption, FONT)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..x_end, y.log_scale())?;
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
    finish(
        &root,
        chart.configure_series_labels(),
        SeriesLabelPosition::UpperLeft,
    )
}
