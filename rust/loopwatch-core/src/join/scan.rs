//! The two scans: feedback rows become events; predictions that may matter become candidates.
//!
//! Only predictions whose key has a live event (a hash filter says "maybe") or, under
//! last-touch, whose windows are still open at the watermark (they may be closed by a later
//! prediction of their key) can differ from the default label, so only those are kept.

use arrow::array::{Array, AsArray, Float64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use rayon::prelude::*;

use super::partition::{Buckets, HashFilter};
use super::plan::Plan;
use crate::error::Result;
use crate::normalize::Chunk;

/// Position of a row in input order: chunk index in the high half, row in the low half.
pub type RowId = u64;

pub fn row_id(chunk: usize, row: usize) -> RowId {
    ((chunk as u64) << 32) | row as u64
}

pub fn split_row_id(id: RowId) -> (usize, usize) {
    ((id >> 32) as usize, (id & 0xffff_ffff) as usize)
}

/// A valid feedback event at or before the watermark.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub hash: u64,
    pub time: i64,
    pub row: RowId,
    /// The exact key when the plan's keys fit inline (else zeros).
    pub key: [u64; 2],
    /// The event's value (0 when it has none).
    pub value: f64,
    pub has_value: bool,
}

/// A valid prediction at or before the watermark that may be credited or closed by another.
#[derive(Clone, Copy, Debug)]
pub struct Candidate {
    pub hash: u64,
    pub time: i64,
    pub row: RowId,
    /// The exact key when the plan's keys fit inline (else zeros).
    pub key: [u64; 2],
}

/// The exact key of row `i` when the plan's keys fit inline, else zeros (not compared).
fn inline_key(plan: &Plan, chunk: &Chunk, i: usize) -> [u64; 2] {
    if plan.inline_keys {
        chunk.inline_key(i)
    } else {
        [0; 2]
    }
}

/// The feedback side, normalized.
pub struct FeedbackChunk {
    pub chunk: Chunk,
    pub values: Option<Float64Array>,
}

impl FeedbackChunk {
    pub fn new(
        chunk: Chunk,
        batch: &arrow::record_batch::RecordBatch,
        plan: &Plan,
    ) -> Result<Self> {
        let values = match plan.value_column {
            None => None,
            Some(column) => {
                let as_float = cast(batch.column(column), &DataType::Float64)?;
                Some(as_float.as_primitive::<Float64Type>().clone())
            }
        };
        Ok(FeedbackChunk { chunk, values })
    }
}

/// The greatest time of the valid feedback events (the default watermark).
pub fn max_event_time(feedback: &[FeedbackChunk]) -> Option<i64> {
    feedback
        .par_iter()
        .filter_map(|f| {
            let c = &f.chunk;
            (0..c.len)
                .filter(|&i| c.is_valid(i))
                .map(|i| c.time[i])
                .max()
        })
        .max()
}

#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedbackCounts {
    pub invalid: u64,
    pub after_watermark: u64,
}

/// Live events (valid, at or before `watermark`) in input order, and what was set aside.
pub fn collect_events(
    feedback: &[FeedbackChunk],
    watermark: i64,
    plan: &Plan,
) -> (Vec<Event>, FeedbackCounts) {
    let parts: Vec<(Vec<Event>, FeedbackCounts)> = feedback
        .par_iter()
        .enumerate()
        .map(|(index, f)| {
            let c = &f.chunk;
            let hashes = c.key_hashes(plan.hash_mask);
            let mut events = Vec::new();
            let mut counts = FeedbackCounts::default();
            for (i, &hash) in hashes.iter().enumerate() {
                if !c.is_valid(i) {
                    counts.invalid += 1;
                } else if c.time[i] > watermark {
                    counts.after_watermark += 1;
                } else {
                    let value = f
                        .values
                        .as_ref()
                        .filter(|v| v.is_valid(i))
                        .map(|v| v.value(i));
                    events.push(Event {
                        hash,
                        time: c.time[i],
                        row: row_id(index, i),
                        key: inline_key(plan, c, i),
                        value: value.unwrap_or(0.0),
                        has_value: value.is_some(),
                    });
                }
            }
            (events, counts)
        })
        .collect();
    let mut counts = FeedbackCounts::default();
    let mut events = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum());
    for (part, c) in parts {
        events.extend(part);
        counts.invalid += c.invalid;
        counts.after_watermark += c.after_watermark;
    }
    (events, counts)
}

/// Predictions that may differ from the default label: per prediction chunk, per hash bucket,
/// in input order.
pub fn collect_candidates(
    predictions: &[Chunk],
    filter: &HashFilter,
    watermark: i64,
    open_after: Option<i128>,
    plan: &Plan,
    buckets: &Buckets,
) -> Vec<Vec<Vec<Candidate>>> {
    predictions
        .par_iter()
        .enumerate()
        .map(|(index, c)| {
            let hashes = c.key_hashes(plan.hash_mask);
            // Branch-free selection: with no unpredictable branch in the loop, the filter's
            // cache misses overlap instead of stalling one after another.
            let mut kept = vec![0u32; c.len];
            let mut n = 0;
            for (i, (&t, &hash)) in c.time.iter().zip(&hashes).enumerate() {
                let open = open_after.is_some_and(|after| t as i128 > after);
                let keep = (t <= watermark) & c.is_valid(i) & (open | filter.may_contain(hash));
                kept[n] = i as u32;
                n += keep as usize;
            }
            // Exact capacities first: growing thousands of small vectors costs more than
            // counting.
            let mut sizes = vec![0usize; buckets.count()];
            for &i in &kept[..n] {
                sizes[buckets.of(hashes[i as usize])] += 1;
            }
            let mut out: Vec<Vec<Candidate>> =
                sizes.iter().map(|&size| Vec::with_capacity(size)).collect();
            for &i in &kept[..n] {
                let i = i as usize;
                let hash = hashes[i];
                let candidate = Candidate {
                    hash,
                    time: c.time[i],
                    row: row_id(index, i),
                    key: inline_key(plan, c, i),
                };
                out[buckets.of(hash)].push(candidate);
            }
            out
        })
        .collect()
}
