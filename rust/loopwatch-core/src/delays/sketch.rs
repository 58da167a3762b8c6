//! Quantiles of non-negative integer delays, mergeable: exact values while a group is small,
//! then log-spaced buckets whose representative is within `ALPHA` (relative) of every value in
//! it. numpy's linear interpolation between two such estimates keeps that bound, well inside
//! SPEC §3's 1%. The switch depends only on the total count, so a result never depends on how
//! rows were split.

use crate::error::Result;
use crate::state::codec::{Reader, Writer};

/// Exact up to this many values.
const EXACT_LIMIT: usize = 1024;
const ALPHA: f64 = 0.0025;

fn gamma_ln() -> f64 {
    ((1.0 + ALPHA) / (1.0 - ALPHA)).ln()
}

/// Bucket of `v > 0`: the `i` with γ^(i−1) < v <= γ^i.
fn bucket_of(v: i64) -> i32 {
    ((v as f64).ln() / gamma_ln()).ceil() as i32
}

/// A value within `ALPHA` of everything in bucket `i`: 2γ^i / (γ + 1).
fn representative(i: i32) -> f64 {
    let gamma = gamma_ln().exp();
    2.0 * (i as f64 * gamma_ln()).exp() / (gamma + 1.0)
}

#[derive(Clone, Debug, PartialEq)]
pub enum QuantileSketch {
    Exact(Vec<i64>),
    Buckets {
        zeros: u64,
        /// Counts of buckets `offset..offset + counts.len()`.
        offset: i32,
        counts: Vec<u64>,
        min: i64,
        max: i64,
    },
}

impl Default for QuantileSketch {
    fn default() -> Self {
        QuantileSketch::Exact(Vec::new())
    }
}

impl QuantileSketch {
    pub fn count(&self) -> u64 {
        match self {
            QuantileSketch::Exact(v) => v.len() as u64,
            QuantileSketch::Buckets { zeros, counts, .. } => zeros + counts.iter().sum::<u64>(),
        }
    }

    pub fn insert(&mut self, v: i64) {
        match self {
            QuantileSketch::Exact(values) => {
                values.push(v);
                if values.len() > EXACT_LIMIT {
                    self.switch_to_buckets();
                }
            }
            QuantileSketch::Buckets { .. } => self.insert_bucketed(v, 1),
        }
    }

    pub fn merge(&mut self, other: QuantileSketch) {
        match other {
            QuantileSketch::Exact(values) => values.into_iter().for_each(|v| self.insert(v)),
            QuantileSketch::Buckets {
                zeros,
                offset,
                counts,
                min,
                max,
            } => {
                self.switch_to_buckets();
                if let QuantileSketch::Buckets {
                    zeros: z,
                    min: lo,
                    max: hi,
                    ..
                } = self
                {
                    *z += zeros;
                    *lo = (*lo).min(min);
                    *hi = (*hi).max(max);
                }
                for (k, &c) in counts.iter().enumerate() {
                    if c > 0 {
                        self.add_to_bucket(offset + k as i32, c);
                    }
                }
            }
        }
    }

    fn switch_to_buckets(&mut self) {
        if let QuantileSketch::Exact(values) = self {
            let values = std::mem::take(values);
            *self = QuantileSketch::Buckets {
                zeros: 0,
                offset: 0,
                counts: Vec::new(),
                min: i64::MAX,
                max: i64::MIN,
            };
            for v in values {
                self.insert_bucketed(v, 1);
            }
        }
    }

    fn insert_bucketed(&mut self, v: i64, n: u64) {
        if n == 0 {
            return;
        }
        if let QuantileSketch::Buckets {
            zeros, min, max, ..
        } = self
        {
            *min = (*min).min(v);
            *max = (*max).max(v);
            if v == 0 {
                *zeros += n;
                return;
            }
        }
        self.add_to_bucket(bucket_of(v), n);
    }

    fn add_to_bucket(&mut self, i: i32, n: u64) {
        if let QuantileSketch::Buckets { offset, counts, .. } = self {
            if counts.is_empty() {
                *offset = i;
            }
            if i < *offset {
                let grow = (*offset - i) as usize;
                counts.splice(0..0, std::iter::repeat_n(0, grow));
                *offset = i;
            }
            let k = (i - *offset) as usize;
            if k >= counts.len() {
                counts.resize(k + 1, 0);
            }
            counts[k] += n;
        }
    }

    /// The value at 0-based `rank` of the sorted values (exact, or its bucket's representative
    /// clamped to the exact min and max).
    fn value_at(&self, sorted: &[i64], rank: u64) -> f64 {
        match self {
            QuantileSketch::Exact(_) => sorted[rank as usize] as f64,
            QuantileSketch::Buckets {
                zeros,
                offset,
                counts,
                min,
                max,
            } => {
                if rank < *zeros {
                    return 0.0;
                }
                let mut seen = *zeros;
                for (k, &c) in counts.iter().enumerate() {
                    seen += c;
                    if rank < seen {
                        let v = representative(*offset + k as i32);
                        return v.clamp(*min as f64, *max as f64);
                    }
                }
                *max as f64
            }
        }
    }

    /// numpy's default quantile (linear interpolation at `h = (n − 1) q`); `None` when empty.
    pub fn quantiles(&self, qs: &[f64]) -> Vec<Option<f64>> {
        let n = self.count();
        if n == 0 {
            return vec![None; qs.len()];
        }
        let mut sorted = Vec::new();
        if let QuantileSketch::Exact(values) = self {
            sorted = values.clone();
            sorted.sort_unstable();
        }
        qs.iter()
            .map(|&q| {
                let h = (n - 1) as f64 * q;
                let lo = h.floor() as u64;
                let hi = (lo + 1).min(n - 1);
                let (a, b) = (self.value_at(&sorted, lo), self.value_at(&sorted, hi));
                Some(a + (h - lo as f64) * (b - a))
            })
            .collect()
    }

    /// Could an update have produced this? (Exact values are non-negative and few; buckets
    /// have a min and max that fit their counts.)
    pub fn is_consistent(&self) -> bool {
        match self {
            QuantileSketch::Exact(values) => {
                values.len() <= EXACT_LIMIT && values.iter().all(|&v| v >= 0)
            }
            QuantileSketch::Buckets {
                zeros,
                counts,
                min,
                max,
                ..
            } => {
                let total = zeros + counts.iter().sum::<u64>();
                total > EXACT_LIMIT as u64 && *min >= 0 && min <= max
            }
        }
    }

    pub fn write(&self, out: &mut Writer) {
        match self {
            QuantileSketch::Exact(values) => {
                out.u8(0);
                let mut sorted = values.clone();
                sorted.sort_unstable();
                out.u64s(&sorted.iter().map(|&v| v as u64).collect::<Vec<_>>());
            }
            QuantileSketch::Buckets {
                zeros,
                offset,
                counts,
                min,
                max,
            } => {
                out.u8(1);
                out.u64(*zeros);
                out.i64(*offset as i64);
                out.u64s(counts);
                out.i64(*min);
                out.i64(*max);
            }
        }
    }

    pub fn read(input: &mut Reader) -> Result<QuantileSketch> {
        Ok(match input.u8()? {
            0 => QuantileSketch::Exact(input.u64s()?.into_iter().map(|v| v as i64).collect()),
            _ => QuantileSketch::Buckets {
                zeros: input.u64()?,
                offset: i32::try_from(input.i64()?).map_err(|_| input.corrupt("offset"))?,
                counts: input.u64s()?,
                min: input.i64()?,
                max: input.i64()?,
            },
        })
    }
}
