//! The fixed, log-spaced bins of delay histograms: human durations for duration columns
//! (0, 1s, 2s, 5s, 10s, 20s, 30s, 1m, … 30d, then open), 1-2-5 per decade for integer ones.

use arrow::datatypes::TimeUnit;

use crate::duration::unit_nanos;

const DURATION_EDGES_S: [i64; 24] = [
    0, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1_200, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200,
    86_400, 172_800, 259_200, 604_800, 1_209_600, 2_592_000,
];

/// Lower edges of the bins, ascending, starting at 0; the last bin is open.
pub fn edges(unit: Option<TimeUnit>) -> Vec<i64> {
    match unit {
        Some(unit) => {
            let per_second = 1_000_000_000 / unit_nanos(unit);
            DURATION_EDGES_S.iter().map(|s| s * per_second).collect()
        }
        None => {
            let mut out = vec![0];
            let mut decade: i64 = 1;
            loop {
                for m in [1, 2, 5] {
                    out.push(decade * m);
                }
                match decade.checked_mul(10) {
                    Some(d) if d <= 1_000_000_000_000_000_000 => decade = d,
                    _ => break,
                }
            }
            out
        }
    }
}

/// The bin of `v >= 0` (the last edge at or below it).
pub fn bin_of(edges: &[i64], v: i64) -> usize {
    edges.partition_point(|&e| e <= v) - 1
}
