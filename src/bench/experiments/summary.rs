//! A latency distribution as plain figures, for every experiment that
//! times something.

use std::time::Duration;

use serde::{Serialize, Serializer, ser::SerializeStruct};

use crate::stats::Latencies;

/// A latency distribution in microseconds. One with no samples measured
/// nothing: its figures are not zeros but absent, `null` in JSON (see
/// [`Summary::measured`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest.
    pub max_us: f64,
}

impl Summary {
    /// The distribution if it has samples; `None` if it measured nothing,
    /// so that its zeros are never taken for figures.
    pub const fn measured(&self) -> Option<&Self> {
        if self.count > 0 { Some(self) } else { None }
    }
}

impl From<&Latencies> for Summary {
    fn from(l: &Latencies) -> Self {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        Self {
            count: l.count(),
            mean_us: us(l.mean()),
            p50_us: us(l.quantile(0.5)),
            p99_us: us(l.quantile(0.99)),
            max_us: us(l.max()),
        }
    }
}

impl Serialize for Summary {
    /// `count` always; the figures as numbers, or `null` with no samples.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let figure = |v: f64| self.measured().map(|_| v);
        let mut out = s.serialize_struct("Summary", 5)?;
        out.serialize_field("count", &self.count)?;
        out.serialize_field("mean_us", &figure(self.mean_us))?;
        out.serialize_field("p50_us", &figure(self.p50_us))?;
        out.serialize_field("p99_us", &figure(self.p99_us))?;
        out.serialize_field("max_us", &figure(self.max_us))?;
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_distribution_of_no_samples_has_null_figures_not_zeros() {
        let json = serde_json::to_value(Summary::default()).unwrap();
        assert_eq!(json["count"], 0);
        for key in ["mean_us", "p50_us", "p99_us", "max_us"] {
            assert!(json[key].is_null(), "{key}: {}", json[key]);
        }
    }

    #[test]
    fn a_measured_distribution_has_its_figures() {
        let mut latencies = Latencies::default();
        latencies.record(Duration::from_micros(40));
        let json = serde_json::to_value(Summary::from(&latencies)).unwrap();
        assert_eq!(json["count"], 1);
        assert!(json["p50_us"].as_f64().is_some_and(|p50| p50 > 0.0));
    }
}
