//! Output columns for one chunk of predictions: labels per window, feedback count, first
//! delay and value sum.
//!
//! Most predictions get nothing from the credit step: their columns follow from their time
//! and the watermark alone, so each column is first built for all rows in one branch-light
//! pass, then the few credited rows are patched in.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, Int8Array, PrimitiveArray};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer};
use arrow::datatypes::{
    DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType, DurationSecondType,
    TimeUnit,
};
use arrow::util::bit_util;

use super::credit::Credit;
use super::plan::Plan;
use super::scan::split_row_id;
use super::stats::LabelCounts;
use crate::normalize::Chunk;

pub struct ChunkColumns {
    pub columns: Vec<ArrayRef>,
    pub labels: Vec<LabelCounts>,
    pub invalid: u64,
}

/// A bitmap of `n` rows: `base(i)` for every row, then set for the rows `patch` names.
fn bitmap(
    n: usize,
    base: impl FnMut(usize) -> bool,
    patch: impl Iterator<Item = usize>,
) -> BooleanBuffer {
    let mut bits = BooleanBuffer::collect_bool(n, base).into_inner().to_vec();
    for row in patch {
        bit_util::set_bit(&mut bits, row);
    }
    BooleanBuffer::new(Buffer::from_vec(bits), 0, n)
}

fn nulls(valid: BooleanBuffer) -> Option<NullBuffer> {
    Some(NullBuffer::new(valid)).filter(|n| n.null_count() > 0)
}

/// Build the appended columns for `chunk` from the credits of its rows, in any order
/// (`credits` may be iterated several times).
pub fn chunk_columns<'a, I>(
    plan: &Plan,
    chunk: &Chunk,
    credits: impl Fn() -> I,
    watermark: Option<i64>,
) -> ChunkColumns
where
    I: Iterator<Item = &'a Credit>,
{
    let n = chunk.len;
    let row_of = |c: &Credit| split_row_id(c.row).1;
    let valid_rows = n - chunk.valid.as_ref().map_or(0, |v| v.null_count());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(plan.windows.len() + 3);
    let mut labels = Vec::with_capacity(plan.windows.len());
    for w in &plan.windows {
        // Closed by the watermark: A >= t + w, i.e. t <= A - w (wide: no overflow at the edges).
        let last_closed = watermark.map(|a| a as i128 - w.width as i128);
        let closed = |i: usize| last_closed.is_some_and(|last| chunk.time[i] as i128 <= last);
        let positive = |c: &Credit| c.count > 0 && c.min_delay <= w.width;
        // Credited rows are valid rows; a positive or a successor decides their label.
        let decided_by_credit = credits()
            .filter(|c| positive(c) || c.closed_by_successor)
            .map(row_of);
        let known = bitmap(n, |i| chunk.is_valid(i) && closed(i), decided_by_credit);
        let mut values = vec![0i8; n];
        let mut positives = 0;
        for c in credits().filter(|c| positive(c)) {
            values[row_of(c)] = 1;
            positives += 1;
        }
        let decided = known.count_set_bits() as u64;
        labels.push(LabelCounts {
            positive: positives,
            negative: decided - positives,
            pending: valid_rows as u64 - decided,
        });
        columns.push(Arc::new(Int8Array::new(values.into(), nulls(known))));
    }
    let mut count = vec![0i64; n];
    let mut delay = vec![0i64; n];
    for c in credits().filter(|c| c.count > 0) {
        count[row_of(c)] = c.count as i64;
        delay[row_of(c)] = c.min_delay;
    }
    columns.push(Arc::new(Int64Array::from(count)));
    let delayed = bitmap(n, |_| false, credits().filter(|c| c.count > 0).map(row_of));
    columns.push(delay_array(plan.unit, delay, nulls(delayed)));
    if plan.value_column.is_some() {
        let mut sums = vec![0f64; n];
        for c in credits().filter(|c| c.has_value) {
            sums[row_of(c)] = c.value_sum;
        }
        let summed = bitmap(n, |_| false, credits().filter(|c| c.has_value).map(row_of));
        columns.push(Arc::new(Float64Array::new(sums.into(), nulls(summed))));
    }
    ChunkColumns {
        columns,
        labels,
        invalid: (n - valid_rows) as u64,
    }
}

fn delay_array(unit: Option<TimeUnit>, values: Vec<i64>, nulls: Option<NullBuffer>) -> ArrayRef {
    let values = values.into();
    match unit {
        None => Arc::new(Int64Array::new(values, nulls)),
        Some(TimeUnit::Second) => {
            Arc::new(PrimitiveArray::<DurationSecondType>::new(values, nulls))
        }
        Some(TimeUnit::Millisecond) => Arc::new(PrimitiveArray::<DurationMillisecondType>::new(
            values, nulls,
        )),
        Some(TimeUnit::Microsecond) => Arc::new(PrimitiveArray::<DurationMicrosecondType>::new(
            values, nulls,
        )),
        Some(TimeUnit::Nanosecond) => {
            Arc::new(PrimitiveArray::<DurationNanosecondType>::new(values, nulls))
        }
    }
}
