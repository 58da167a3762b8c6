//! Output columns for one chunk of predictions: labels per window, feedback count, first
//! delay and value sum.
//!
//! Most predictions get nothing from the credit step: their columns follow from their time
//! and the watermark alone, so each column is first built for all rows in one branch-light
//! pass, then the few credited rows are patched in.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, Int8Array, PrimitiveArray};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::{
    DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType, DurationSecondType,
    TimeUnit,
};

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

/// A bitmap over the chunk's rows: `row_bit(i, credit_of_row_i)`, with the credits of the
/// chunk visited in row order alongside.
fn bitmap(
    n: usize,
    credits: &[Credit],
    mut row_bit: impl FnMut(usize, Option<&Credit>) -> bool,
) -> BooleanBuffer {
    let mut next = 0;
    BooleanBuffer::collect_bool(n, |i| {
        let credit = credits.get(next).filter(|c| split_row_id(c.row).1 == i);
        if credit.is_some() {
            next += 1;
        }
        row_bit(i, credit)
    })
}

fn nulls(valid: BooleanBuffer) -> Option<NullBuffer> {
    Some(NullBuffer::new(valid)).filter(|n| n.null_count() > 0)
}

/// Build the appended columns for `chunk`, given its credits sorted by row.
pub fn chunk_columns(
    plan: &Plan,
    chunk: &Chunk,
    credits: &[Credit],
    watermark: Option<i64>,
) -> ChunkColumns {
    let n = chunk.len;
    let row_of = |c: &Credit| split_row_id(c.row).1;
    let valid_rows = n - chunk.valid.as_ref().map_or(0, |v| v.null_count());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(plan.windows.len() + 3);
    let mut labels = Vec::with_capacity(plan.windows.len());
    for w in &plan.windows {
        let width = w.width as i128;
        // Closed by the watermark: A >= t + w (wide arithmetic: no overflow at the edges).
        let closed =
            |i: usize| watermark.is_some_and(|a| a as i128 >= chunk.time[i] as i128 + width);
        let positive = |c: &Credit| c.count > 0 && c.min_delay <= w.width;
        let known = bitmap(n, credits, |i, credit| {
            chunk.is_valid(i)
                && (closed(i) || credit.is_some_and(|c| positive(c) || c.closed_by_successor))
        });
        let mut values = vec![0i8; n];
        let mut positives = 0;
        for c in credits.iter().filter(|c| positive(c)) {
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
    for c in credits.iter().filter(|c| c.count > 0) {
        count[row_of(c)] = c.count as i64;
        delay[row_of(c)] = c.min_delay;
    }
    columns.push(Arc::new(Int64Array::from(count)));
    let delayed = bitmap(n, credits, |_, credit| credit.is_some_and(|c| c.count > 0));
    columns.push(delay_array(plan.unit, delay, nulls(delayed)));
    if plan.value_column.is_some() {
        let mut sums = vec![0f64; n];
        for c in credits.iter().filter(|c| c.has_value) {
            sums[row_of(c)] = c.value_sum;
        }
        let summed = bitmap(n, credits, |_, credit| credit.is_some_and(|c| c.has_value));
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
