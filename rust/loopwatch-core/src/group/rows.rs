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
            (
                bucket_indices(&times, b.every),
                array.logical_nulls().filter(|v| v.null_count() > 0),
            )
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
