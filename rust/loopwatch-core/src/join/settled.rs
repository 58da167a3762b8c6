//! Predictions settled by their time alone, in the streaming join.
//!
//! A prediction's labels can only differ from what its time and the watermark `A` say when its
//! key has an event (it may be credited), or when its windows are still open at `A` (under
//! last-touch a later prediction of its key may close them). Every other valid prediction at
//! or before `A` is *closed*: its key has no event and `t <= A - W_max`, so every window is
//! closed and nothing is credited (labels 0, count 0). Invalid predictions and those after `A`
//! are *pending* (labels null, count 0). Pass 2 routes only the rest to the partitions; the
//! settled ones keep just their route (`PENDING` / `CLOSED`), and their counts are added to the
//! partitions' counts.
//!
//! A key filter says "maybe" for every key with an event (and a few without): including a
//! prediction too many costs a little work, never a wrong label, since the partition's join is
//! exact for whatever rows it gets — and every prediction of a key with events does get there.

use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, Int64Array, Int8Array};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::partition::HashFilter;
use super::plan::Plan;
use super::routes::{CLOSED, PENDING};
use super::JoinStats;
use crate::error::Result;
use crate::normalize::Chunk;
use crate::spill::partition_of;

/// How pass 2 routes predictions.
pub(super) struct Settle<'a> {
    pub watermark: Option<i64>,
    pub max_window: i64,
    /// Keys of the valid feedback rows.
    pub filter: &'a HashFilter,
    pub parts: usize,
}

/// Counts of settled predictions.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Settled {
    pub invalid: u64,
    /// Valid, labels pending (after the watermark, or no watermark).
    pub pending: u64,
    pub closed: u64,
}

impl Settle<'_> {
    /// Each row's route (its partition, `PENDING` or `CLOSED`), and the settled rows' counts.
    pub fn route(&self, chunk: &Chunk) -> (Vec<u8>, Settled) {
        let mut settled = Settled::default();
        let Some(a) = self.watermark else {
            // No valid feedback and no watermark given: nothing is credited or closes.
            settled.invalid = chunk.valid.as_ref().map_or(0, |v| v.null_count()) as u64;
            settled.pending = chunk.len as u64 - settled.invalid;
            return (vec![PENDING; chunk.len], settled);
        };
        // Windows still open at A (wide: no overflow at the edges).
        let open_after = a as i128 - self.max_window as i128;
        let hashes = chunk.key_hashes(u64::MAX);
        // The filter first, for every row, in a loop without branches: its cache misses (the
        // filter outgrows the caches on large feedback) overlap instead of stalling one after
        // another.
        let maybe: Vec<bool> = hashes.iter().map(|&h| self.filter.may_contain(h)).collect();
        let routes = (0..chunk.len)
            .map(|i| {
                let t = chunk.time[i];
                if !chunk.is_valid(i) {
                    settled.invalid += 1;
                    PENDING
                } else if t > a {
                    settled.pending += 1;
                    PENDING
                } else if t as i128 > open_after || maybe[i] {
                    partition_of(hashes[i], self.parts) as u8
                } else {
                    settled.closed += 1;
                    CLOSED
                }
            })
            .collect();
        (routes, settled)
    }
}

impl Settled {
    pub fn add(&mut self, other: &Settled) {
        self.invalid += other.invalid;
        self.pending += other.pending;
        self.closed += other.closed;
    }

    pub fn total(&self) -> u64 {
        self.invalid + self.pending + self.closed
    }

    /// `stats` (the partitions' counts) with the settled predictions added.
    pub fn add_to(&self, mut stats: JoinStats) -> JoinStats {
        stats.predictions_total += self.total();
        stats.predictions_invalid += self.invalid;
        for (_, counts) in &mut stats.labels {
            counts.negative += self.closed;
            counts.pending += self.pending;
        }
        stats
    }
}

/// The label columns of settled rows: row 0 for `PENDING` (labels, delay and value sum null),
/// row 1 for `CLOSED` (labels 0, delay and value sum null); the feedback count is 0 in both.
pub(super) fn default_labels(plan: &Plan, schema: &SchemaRef) -> Result<RecordBatch> {
    let windows = plan.windows.len();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, field)| -> ArrayRef {
            if c < windows {
                Arc::new(Int8Array::from(vec![None, Some(0)]))
            } else if c == windows {
                Arc::new(Int64Array::from(vec![0, 0])) // feedback_count
            } else {
                new_null_array(field.data_type(), 2)
            }
        })
        .collect();
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}
