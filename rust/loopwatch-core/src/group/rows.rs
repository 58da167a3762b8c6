//! Assigning the rows of one batch to dense local groups.

use std::collections::HashMap;

use arrow::array::Array;
use arrow::buffer::NullBuffer;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;

use super::{BatchGroups, GroupKey, Grouping, SegmentValue};
use crate::error::Result;
use crate::normalize::{combine, fmix64, to_common_unit, KeyColumn};

/// Bucket ranges up to this many buckets use a dense table instead of a hash map.
const DENSE_BUCKETS: i64 = 1 << 16;
const NULL_HASH: u64 = 0x6e75_6c6c_6e75_6c6c;

/// A segment column of one batch, with its nulls.
struct Segment {
    values: KeyColumn,
    nulls: Option<NullBuffer>,
    unsigned64: bool,
}

impl Segment {
    #[inline]
    fn is_null(&self, i: usize) -> bool {
        self.nulls.as_ref().is_some_and(|n| n.is_null(i))
    }

    #[inline]
    fn equal(&self, i: usize, j: usize) -> bool {
        match (self.is_null(i), self.is_null(j)) {
            (true, true) => true,
            (false, false) => self.values.equal(i, &self.values, j),
            _ => false,
        }
    }

    fn owned(&self, i: usize) -> SegmentValue {
        if self.is_null(i) {
            return SegmentValue::Null;
        }
        match &self.values {
            KeyColumn::Int(v) if self.unsigned64 && v[i] < 0 => SegmentValue::UInt(v[i] as u64),
            KeyColumn::Int(v) => SegmentValue::Int(v[i]),
            KeyColumn::Bool(b) => SegmentValue::Bool(b.value(i)),
            other => SegmentValue::Str(other.str_bytes(i).unwrap_or_default().to_vec()),
        }
    }
}

pub fn assign(grouping: &Grouping, batch: &RecordBatch) -> Result<BatchGroups> {
    let n = batch.num_rows();
    // Bucket index per row (0 without buckets) and which rows have a time.
    let (bucket, has_time): (Vec<i64>, Option<NullBuffer>) = match &grouping.buckets {
        None => (vec![0; n], None),
        Some(b) => {
            let array = batch.column(super::column_index(batch.schema_ref(), &b.column, "time")?);
            let times = to_common_unit(array, 1, &b.column, "the input")?;
            let nulls = array.logical_nulls().filter(|v| v.null_count() > 0);
            if grouping.by.is_empty() {
                if let Some(groups) = by_time_order(&times, nulls.as_ref(), b.every) {
                    return Ok(groups);
                }
            }
            (bucket_indices(&times, b.every), nulls)
        }
    };
    let timed = |i: usize| has_time.as_ref().is_none_or(|v| v.is_valid(i));
    let mut segments = Vec::with_capacity(grouping.by.len());
    for column in &grouping.by {
        let array = batch.column(super::column_index(batch.schema_ref(), &column.name, "by")?);
        let unsigned64 = matches!(column.output_type, DataType::UInt64);
        segments.push(Segment {
            values: KeyColumn::new(array, unsigned64, &column.name, "the input")?,
            nulls: array.logical_nulls().filter(|v| v.null_count() > 0),
            unsigned64,
        });
    }

    let mut rep_rows: Vec<usize> = Vec::new();
    let mut row_group = vec![0u32; n];
    if segments.is_empty() {
        assign_buckets_only(&bucket, &timed, &mut rep_rows, &mut row_group);
    } else {
        assign_segments(&bucket, &timed, &segments, &mut rep_rows, &mut row_group);
    }
    let keys = rep_rows
        .iter()
        .map(|&r| GroupKey {
            bucket: if grouping.buckets.is_none() {
                Some(0)
            } else if timed(r) {
                Some(bucket[r])
            } else {
                None
            },
            segment: segments.iter().map(|s| s.owned(r)).collect(),
        })
        .collect();
    Ok(BatchGroups { keys, row_group })
}

/// Buckets only, for rows in (roughly) time order: one pass that keeps the current bucket's
/// range, so most rows need neither a division nor a lookup. Groups in first-seen order, as
/// `assign_buckets_only` gives them. `None` (nothing lost but the pass so far) when the times
/// jump between buckets too often for that to pay.
fn by_time_order(times: &[i64], nulls: Option<&NullBuffer>, every: i64) -> Option<BatchGroups> {
    let max_switches = 64 + times.len() / 32;
    let mut keys: Vec<GroupKey> = Vec::new();
    let mut row_group = Vec::with_capacity(times.len());
    let mut null_group: Option<u32> = None;
    let mut group_of: HashMap<i64, u32> = HashMap::new();
    let (mut lo, mut hi, mut current) = (1i64, 0i64, 0u32); // an empty range to start
    let mut switches = 0usize;
    for (i, &t) in times.iter().enumerate() {
        if nulls.is_some_and(|v| v.is_null(i)) {
            let g = *null_group.get_or_insert_with(|| {
                keys.push(GroupKey {
                    bucket: None,
                    segment: Vec::new(),
                });
                (keys.len() - 1) as u32
            });
            row_group.push(g);
            continue;
        }
        if t < lo || t >= hi {
            switches += 1;
            if switches > max_switches {
                return None;
            }
            let bucket = t.div_euclid(every);
            current = *group_of.entry(bucket).or_insert_with(|| {
                keys.push(GroupKey {
                    bucket: Some(bucket),
                    segment: Vec::new(),
                });
                (keys.len() - 1) as u32
            });
            (lo, hi) = match bucket.checked_mul(every) {
                Some(start) => (start, start.saturating_add(every)),
                None => (1, 0),
            };
        }
        row_group.push(current);
    }
    Some(BatchGroups { keys, row_group })
}

/// `floor(t / every)` per row. A division costs tens of cycles, so the last bucket's range is
/// kept and rows inside it (most rows, when times are near each other) skip the division.
fn bucket_indices(times: &[i64], every: i64) -> Vec<i64> {
    let (mut lo, mut hi, mut current) = (1i64, 0i64, 0i64); // an empty range to start
    times
        .iter()
        .map(|&t| {
            if t < lo || t >= hi {
                current = t.div_euclid(every);
                match current.checked_mul(every) {
                    Some(start) => {
                        lo = start;
                        hi = start.saturating_add(every);
                    }
                    None => (lo, hi) = (1, 0),
                }
            }
            current
        })
        .collect()
}

/// Groups are buckets: a dense table over the batch's bucket range when it is small.
fn assign_buckets_only(
    bucket: &[i64],
    timed: &impl Fn(usize) -> bool,
    rep_rows: &mut Vec<usize>,
    row_group: &mut [u32],
) {
    let (lo, hi) = (0..bucket.len())
        .filter(|&i| timed(i))
        .fold((i64::MAX, i64::MIN), |(lo, hi), i| {
            (lo.min(bucket[i]), hi.max(bucket[i]))
        });
    let mut null_group: Option<u32> = None;
    let dense = hi >= lo && hi.checked_sub(lo).is_some_and(|r| r < DENSE_BUCKETS);
    let mut table = vec![u32::MAX; if dense { (hi - lo + 1) as usize } else { 0 }];
    let mut map: HashMap<i64, u32> = HashMap::new();
    for i in 0..bucket.len() {
        let slot = if !timed(i) {
            null_group.get_or_insert_with(|| new_group(rep_rows, i))
        } else if dense {
            let s = &mut table[(bucket[i] - lo) as usize];
            if *s == u32::MAX {
                *s = new_group(rep_rows, i);
            }
            s
        } else {
            map.entry(bucket[i])
                .or_insert_with(|| new_group(rep_rows, i))
        };
        row_group[i] = *slot;
    }
}

fn new_group(rep_rows: &mut Vec<usize>, row: usize) -> u32 {
    rep_rows.push(row);
    (rep_rows.len() - 1) as u32
}

/// Groups by bucket and segment values: hash, then an exact check against each candidate
/// group's first row (collisions only cost a comparison).
fn assign_segments(
    bucket: &[i64],
    timed: &impl Fn(usize) -> bool,
    segments: &[Segment],
    rep_rows: &mut Vec<usize>,
    row_group: &mut [u32],
) {
    let n = bucket.len();
    let mut hashes: Vec<u64> = (0..n)
        .map(|i| {
            if timed(i) {
                fmix64(bucket[i] as u64)
            } else {
                NULL_HASH
            }
        })
        .collect();
    for s in segments {
        let mut h = vec![0u64; n];
        s.values.hash_into(&mut h, true);
        for i in 0..n {
            let v = if s.is_null(i) { NULL_HASH } else { h[i] };
            hashes[i] = combine(hashes[i], v);
        }
    }
    let same = |i: usize, j: usize| {
        timed(i) == timed(j)
            && (!timed(i) || bucket[i] == bucket[j])
            && segments.iter().all(|s| s.equal(i, j))
    };
    let mut by_hash: HashMap<u64, Vec<u32>> = HashMap::new();
    for i in 0..n {
        let candidates = by_hash.entry(hashes[i]).or_default();
        let found = candidates
            .iter()
            .copied()
            .find(|&g| same(rep_rows[g as usize], i));
        row_group[i] = match found {
            Some(g) => g,
            None => {
                let g = new_group(rep_rows, i);
                candidates.push(g);
                g
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The general path for buckets only: `bucket_indices` then `assign_buckets_only`.
    fn general(
        times: &[i64],
        nulls: Option<&NullBuffer>,
        every: i64,
    ) -> (Vec<Option<i64>>, Vec<u32>) {
        let bucket = bucket_indices(times, every);
        let timed = |i: usize| nulls.is_none_or(|v| v.is_valid(i));
        let mut rep_rows = Vec::new();
        let mut row_group = vec![0u32; times.len()];
        assign_buckets_only(&bucket, &timed, &mut rep_rows, &mut row_group);
        let keys = rep_rows
            .iter()
            .map(|&r| timed(r).then(|| bucket[r]))
            .collect();
        (keys, row_group)
    }

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    #[test]
    fn time_order_pass_matches_the_general_path() {
        let mut seed = 7u64;
        for case in 0..40 {
            let n = [0usize, 1, 5, 300, 5000][case % 5];
            let every = [1i64, 7, 1000, i64::MAX][case % 4];
            // Ascending times from a negative start, with repeats and a few steps back.
            let mut t = -(lcg(&mut seed) as i64 % 5000);
            let times: Vec<i64> = (0..n)
                .map(|_| {
                    t += (lcg(&mut seed) % 40) as i64 - 2;
                    t
                })
                .collect();
            let nulls = (case % 3 == 0).then(|| {
                NullBuffer::from(
                    (0..n)
                        .map(|_| lcg(&mut seed) % 9 != 0)
                        .collect::<Vec<bool>>(),
                )
            });
            let Some(fast) = by_time_order(&times, nulls.as_ref(), every) else {
                // (Buckets narrower than the steps between rows: a switch almost every row.)
                assert!(every < 1000, "case {case}: ordered times fell back");
                continue;
            };
            let (keys, row_group) = general(&times, nulls.as_ref(), every);
            let fast_keys: Vec<Option<i64>> = fast.keys.iter().map(|k| k.bucket).collect();
            assert_eq!(fast_keys, keys, "case {case}");
            assert_eq!(fast.row_group, row_group, "case {case}");
        }
    }

    #[test]
    fn shuffled_times_fall_back() {
        let mut seed = 3u64;
        let times: Vec<i64> = (0..10_000)
            .map(|_| (lcg(&mut seed) % 100_000) as i64)
            .collect();
        assert!(by_time_order(&times, None, 100).is_none());
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let times = [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX];
        for every in [1, 3, i64::MAX] {
            let fast = by_time_order(&times, None, every).expect("few switches");
            let (keys, row_group) = general(&times, None, every);
            let fast_keys: Vec<Option<i64>> = fast.keys.iter().map(|k| k.bucket).collect();
            assert_eq!(fast_keys, keys);
            assert_eq!(fast.row_group, row_group);
        }
    }
}
