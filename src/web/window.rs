//! The last minute of the market, one bucket per second: sales, answered
//! buys and their response times, for the page's two small charts.

use std::{collections::VecDeque, time::Duration};

use serde::Serialize;

/// How many seconds the charts show.
pub const SECONDS_SHOWN: usize = 60;

/// Response times kept per second at most: a bound on memory however fast
/// the market runs (the quantiles of a second with more are of its first).
const SAMPLES_PER_SECOND: usize = 4_096;

/// One second of the chart, as the page draws it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChartPoint {
    /// Seconds since the market started.
    pub second: u64,
    /// Sales the trader made in that second.
    pub sales: u64,
    /// Buys answered in that second.
    pub buys: u64,
    /// Median response time of those buys, in milliseconds.
    pub p50_ms: Option<f64>,
    /// 99th percentile response time, in milliseconds.
    pub p99_ms: Option<f64>,
}

/// One second still being filled.
#[derive(Debug, Default)]
struct Filling {
    second: u64,
    sales: u64,
    buys: u64,
    latencies: Vec<Duration>,
}

impl Filling {
    fn close(&mut self) -> ChartPoint {
        self.latencies.sort_unstable();
        ChartPoint {
            second: self.second,
            sales: self.sales,
            buys: self.buys,
            p50_ms: quantile_ms(&self.latencies, 0.5),
            p99_ms: quantile_ms(&self.latencies, 0.99),
        }
    }
}

/// The last [`SECONDS_SHOWN`] whole seconds as points, and the current one
/// as it fills.
#[derive(Debug, Default)]
pub struct LastMinute {
    closed: VecDeque<ChartPoint>,
    filling: Filling,
}

impl LastMinute {
    /// A sale at `second` (since the start).
    pub fn sale(&mut self, second: u64) {
        self.at(second).sales += 1;
    }

    /// A buy answered at `second`, after `latency`.
    pub fn answered(&mut self, second: u64, latency: Duration) {
        let filling = self.at(second);
        filling.buys += 1;
        if filling.latencies.len() < SAMPLES_PER_SECOND {
            filling.latencies.push(latency);
        }
    }

    /// The points to draw, oldest first: the whole seconds before `second`
    /// (the current one, still filling, would always look like a drop;
    /// quiet seconds are zero).
    pub fn points(&mut self, second: u64) -> Vec<ChartPoint> {
        self.at(second);
        self.closed.iter().copied().collect()
    }

    /// The bucket of `second`, closing the ones before it. A report that
    /// arrives a little late counts in the current second.
    fn at(&mut self, second: u64) -> &mut Filling {
        while self.filling.second < second {
            let point = self.filling.close();
            self.closed.push_back(point);
            if self.closed.len() > SECONDS_SHOWN {
                self.closed.pop_front();
            }
            self.filling = Filling {
                second: point.second + 1,
                ..Filling::default()
            };
            // A long quiet stretch: jump over it rather than close each
            // empty second one by one.
            if second - self.filling.second > SECONDS_SHOWN as u64 {
                self.filling.second = second - SECONDS_SHOWN as u64;
            }
        }
        &mut self.filling
    }
}

/// The `q` quantile of `sorted`, in milliseconds; `None` when empty.
pub fn quantile_ms(sorted: &[Duration], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let index = ((last as f64) * q).round() as usize;
    Some(sorted[index.min(last)].as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn each_second_has_its_own_counts_and_quantiles() {
        let mut minute = LastMinute::default();
        minute.sale(0);
        minute.answered(0, MS(2));
        minute.answered(0, MS(4));
        minute.answered(2, MS(8));
        let points = minute.points(3);
        let seconds: Vec<u64> = points.iter().map(|p| p.second).collect();
        assert_eq!(seconds, [0, 1, 2]);
        assert_eq!((points[0].sales, points[0].buys), (1, 2));
        assert_eq!(points[1].p50_ms, None);
        assert_eq!(points[2].p99_ms, Some(8.0));
        assert_eq!(minute.points(3).len(), 3, "the current second is not drawn");
    }

    #[test]
    fn only_the_last_minute_is_kept() {
        let mut minute = LastMinute::default();
        for second in 0..500 {
            minute.sale(second);
        }
        let points = minute.points(500);
        assert_eq!(points.len(), SECONDS_SHOWN);
        assert_eq!(points.last().map(|p| p.second), Some(499));
    }

    #[test]
    fn a_long_quiet_stretch_is_jumped_over() {
        let mut minute = LastMinute::default();
        minute.sale(0);
        let points = minute.points(1_000_000);
        assert!(points.len() <= SECONDS_SHOWN);
        assert!(points.iter().all(|p| p.sales == 0));
    }
}
