//! What the figures say: the lookups (a transport's floor, the six-peer
//! buy, a load curve and its knee), the ratios and means the report and
//! the JSON both show, and each target read against the run. Pure
//! functions of [`BenchResults`](super::experiments::BenchResults): no
//! formatting here, and a figure that was not measured is `None`, never 0.

pub mod floors;
pub mod latency;
pub mod load;
pub mod processes;
pub mod stores;
pub mod targets;

/// `figure ÷ reference`, where both were measured.
pub fn ratio(figure: Option<f64>, reference: Option<f64>) -> Option<f64> {
    figure.zip(reference).map(|(f, r)| f / r)
}

/// The mean of `values`; `None` if there are none.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The largest of `values`; `None` if there are none.
pub fn worst(values: &[f64]) -> Option<f64> {
    values.iter().copied().reduce(f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_values_have_no_mean_and_no_worst_rather_than_zero() {
        assert_eq!(mean(&[]), None);
        assert_eq!(worst(&[]), None);
        assert_eq!(mean(&[1.0, 3.0]), Some(2.0));
        assert_eq!(worst(&[1.0, 3.0]), Some(3.0));
    }

    #[test]
    fn a_ratio_needs_both_figures() {
        assert_eq!(ratio(Some(3.0), Some(2.0)), Some(1.5));
        assert_eq!(ratio(None, Some(2.0)), None);
        assert_eq!(ratio(Some(3.0), None), None);
    }
}
