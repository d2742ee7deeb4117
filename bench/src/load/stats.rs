//! Exact latency percentiles from every sample of a run.
//!
//! A run keeps every latency (a few hundred thousand numbers for a ten-second run), so the
//! percentiles are exact rather than bucketed: the p-th percentile is the smallest sample
//! that at least p % of the samples do not exceed (the nearest-rank definition).

/// The latency distribution of a run, nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latencies {
    /// The median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// The slowest sample.
    pub max: u64,
}

impl Latencies {
    /// The distribution of `samples` (sorted in place), or `None` when there are none.
    pub fn of(samples: &mut [u64]) -> Option<Latencies> {
        samples.sort_unstable();
        Some(Latencies {
            p50: percentile(samples, 50.0)?,
            p90: percentile(samples, 90.0)?,
            p99: percentile(samples, 99.0)?,
            p999: percentile(samples, 99.9)?,
            max: *samples.last()?,
        })
    }
}

/// The nearest-rank `percent`-th percentile of `sorted` (ascending): the sample at rank
/// ⌈percent/100 · n⌉, counting from 1, so at least `percent` % of the samples are at most
/// it. `None` for no samples; a `percent` outside 0–100 is clamped.
pub fn percentile(sorted: &[u64], percent: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let fraction = percent.clamp(0.0, 100.0) / 100.0;
    // Multiply in integers of parts per million, so 99.9 % of 1000 is rank 999 exactly
    // rather than whatever rounding 0.999 * 1000.0 gives.
    let parts = (fraction * 1_000_000.0).round() as u128;
    let rank = (parts * n as u128).div_ceil(1_000_000).max(1) as usize;
    sorted.get(rank.min(n) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_samples_have_no_percentiles() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(Latencies::of(&mut []), None);
    }

    #[test]
    fn one_sample_is_every_percentile() {
        for percent in [0.0, 50.0, 99.9, 100.0] {
            assert_eq!(percentile(&[7], percent), Some(7));
        }
    }

    #[test]
    fn nearest_rank_on_one_to_a_hundred() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50.0), Some(50));
        assert_eq!(percentile(&samples, 90.0), Some(90));
        assert_eq!(percentile(&samples, 99.0), Some(99));
        // 99.9 % of 100 samples is rank 99.9, rounded up to the last.
        assert_eq!(percentile(&samples, 99.9), Some(100));
        assert_eq!(percentile(&samples, 100.0), Some(100));
        // Rank 0 does not exist: the 0th percentile is the smallest sample.
        assert_eq!(percentile(&samples, 0.0), Some(1));
    }

    #[test]
    fn ranks_that_are_whole_numbers_are_not_rounded_up() {
        let samples: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&samples, 99.9), Some(999));
        assert_eq!(percentile(&samples, 99.0), Some(990));
        let samples: Vec<u64> = (1..=10).collect();
        // 50 % of 10 is rank 5 exactly; 51 % is rank 5.1, so the 6th.
        assert_eq!(percentile(&samples, 50.0), Some(5));
        assert_eq!(percentile(&samples, 51.0), Some(6));
    }

    #[test]
    fn distribution_sorts_its_samples_and_reads_the_tail() {
        // 1000 samples of 1 µs and 10 slow ones: p99 is still fast, p99.9 and max are slow.
        let mut samples = vec![1_000u64; 1000];
        samples.extend([50_000u64; 9]);
        samples.push(90_000);
        samples.reverse();
        let latencies = Latencies::of(&mut samples).expect("samples");
        assert_eq!(latencies.p50, 1_000);
        assert_eq!(latencies.p90, 1_000);
        assert_eq!(latencies.p99, 1_000);
        assert_eq!(latencies.p999, 50_000);
        assert_eq!(latencies.max, 90_000);
    }

    #[test]
    fn out_of_range_percents_are_clamped() {
        let samples = [1, 2, 3];
        assert_eq!(percentile(&samples, -5.0), Some(1));
        assert_eq!(percentile(&samples, 250.0), Some(3));
    }
}
