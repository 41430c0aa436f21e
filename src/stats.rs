//! Response times and counts per peer, for the demo's table and the bench.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Response times in microseconds, with exact mean and HDR percentiles.
#[derive(Debug, Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
    sum_us: u128,
}

impl Default for Latencies {
    fn default() -> Self {
        Self {
            // Three significant figures from 1 µs to an hour.
            histogram: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("static histogram bounds are valid"),
            sum_us: 0,
        }
    }
}

impl Latencies {
    /// Records one response time.
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.histogram.saturating_record(us);
        self.sum_us += u128::from(us);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Self) {
        self.histogram
            .add(&other.histogram)
            .expect("histograms share bounds");
        self.sum_us += other.sum_us;
    }

    /// How many samples there are.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The mean, or zero with no samples.
    pub fn mean(&self) -> Duration {
        match self.count() {
            0 => Duration::ZERO,
            n => micros(u64::try_from(self.sum_us / u128::from(n)).unwrap_or(u64::MAX)),
        }
    }

    /// The `q`-quantile (0.5 for the median), or zero with no samples.
    pub fn quantile(&self, q: f64) -> Duration {
        micros(self.histogram.value_at_quantile(q))
    }

    /// The largest sample, or zero with no samples.
    pub fn max(&self) -> Duration {
        micros(self.histogram.max())
    }
}

/// Response times as a file holds them: the exact sum, and the count of
/// samples per recorded value (at the histogram's three significant
/// figures), so that another process can merge them with its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyCounts {
    /// The sum of every sample, in microseconds.
    pub sum_us: u64,
    /// `(microseconds, samples)` per recorded value, ascending.
    pub counts: Vec<(u64, u64)>,
}

impl From<&Latencies> for LatencyCounts {
    fn from(l: &Latencies) -> Self {
        Self {
            sum_us: u64::try_from(l.sum_us).unwrap_or(u64::MAX),
            counts: l
                .histogram
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        }
    }
}

impl From<&LatencyCounts> for Latencies {
    fn from(c: &LatencyCounts) -> Self {
        let mut l = Self::default();
        for &(us, n) in &c.counts {
            l.histogram.saturating_record_n(us.max(1), n);
        }
        l.sum_us = u128::from(c.sum_us);
        l
    }
}

const fn micros(us: u64) -> Duration {
    Duration::from_micros(us)
}

/// A duration as a short human figure: `850µs`, `1.25ms`, `3.4s`.
pub fn human(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1_000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        format!("{:.2}ms", us as f64 / 1e3)
    } else {
        format!("{:.2}s", us as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_quantiles_of_known_samples() {
        let mut l = Latencies::default();
        for us in [100, 200, 300, 400] {
            l.record(Duration::from_micros(us));
        }
        assert_eq!(l.count(), 4);
        assert_eq!(l.mean(), Duration::from_micros(250));
        assert_eq!(l.quantile(0.5), Duration::from_micros(200));
        assert_eq!(l.max(), Duration::from_micros(400));
    }

    #[test]
    fn no_samples_read_zero() {
        let l = Latencies::default();
        assert_eq!(
            (l.mean(), l.quantile(0.99)),
            (Duration::ZERO, Duration::ZERO)
        );
    }

    #[test]
    fn counts_carry_the_samples_to_another_process() {
        let mut l = Latencies::default();
        for us in [100, 200, 300, 400, 400] {
            l.record(Duration::from_micros(us));
        }
        let json = serde_json::to_string(&LatencyCounts::from(&l)).unwrap();
        let back = Latencies::from(&serde_json::from_str::<LatencyCounts>(&json).unwrap());
        assert_eq!(back.count(), 5);
        assert_eq!(back.mean(), l.mean());
        assert_eq!(back.quantile(0.5), l.quantile(0.5));
        assert_eq!(back.max(), l.max());
    }

    #[test]
    fn human_figures() {
        assert_eq!(human(Duration::from_micros(850)), "850µs");
        assert_eq!(human(Duration::from_micros(1_250)), "1.25ms");
        assert_eq!(human(Duration::from_millis(3_400)), "3.40s");
    }
}
