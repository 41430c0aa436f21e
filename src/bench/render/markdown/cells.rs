//! How the report writes a figure in a table cell: microseconds to the
//! right precision, ratios, rates; a figure that was not measured is "–",
//! never 0.

use crate::{bench::experiments::Summary, books::BooksKind};

/// The cell of a figure that was not measured.
pub const MISSING: &str = "–";

/// Microseconds, in µs or ms to three significant figures or so.
pub fn us(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1} ms", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0} µs")
    } else {
        format!("{v:.1} µs")
    }
}

/// Microseconds if measured, else [`MISSING`].
pub fn us_or_missing(v: Option<f64>) -> String {
    v.map_or_else(|| MISSING.into(), us)
}

/// A ratio to one decimal (`1.3×`), or [`MISSING`].
pub fn times(x: Option<f64>) -> String {
    x.map_or_else(|| MISSING.into(), |x| format!("{x:.1}×"))
}

/// A rate per second (`88018/s`), or [`MISSING`].
pub fn per_s(v: Option<f64>) -> String {
    v.map_or_else(|| MISSING.into(), |v| format!("{v:.0}/s"))
}

/// Milliseconds, whole (`54 ms`), or [`MISSING`].
pub fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| MISSING.into(), |v| format!("{v:.0} ms"))
}

/// Any figure as `shown`, or [`MISSING`].
pub fn or_missing<T>(v: Option<T>, shown: impl FnOnce(T) -> String) -> String {
    v.map_or_else(|| MISSING.into(), shown)
}

/// How the report names where the books were: store off or on.
pub const fn store_label(store: BooksKind) -> &'static str {
    match store {
        BooksKind::Mem => "store off",
        BooksKind::Sqlite => "store on",
        BooksKind::Postgres => "store on (postgres)",
    }
}

/// A distribution's mean, p50, p99 and max cells.
pub fn summary(s: &Summary) -> String {
    let s = s.measured();
    let cell = |figure: fn(&Summary) -> f64| us_or_missing(s.map(figure));
    format!(
        "{} | {} | {} | {}",
        cell(|s| s.mean_us),
        cell(|s| s.p50_us),
        cell(|s| s.p99_us),
        cell(|s| s.max_us)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_distribution_of_no_samples_shows_dashes_not_zeros() {
        assert_eq!(summary(&Summary::default()), "– | – | – | –");
    }

    #[test]
    fn microseconds_keep_three_figures() {
        assert_eq!(us(42.31), "42.3 µs");
        assert_eq!(us(420.0), "420 µs");
        assert_eq!(us(42_000.0), "42.0 ms");
    }
}
