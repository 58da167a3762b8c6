//! Output columns for one chunk of predictions: labels per window, feedback count, first
//! delay and value sum, from the credits of that chunk's rows.

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

/// Build the appended columns for `chunk`, given its credits sorted by row.
pub fn chunk_columns(
    plan: &Plan,
    chunk: &Chunk,
    credits: &[Credit],
    watermark: Option<i64>,
) -> ChunkColumns {
    let n = chunk.len;
    let windows = &plan.windows;
    let mut label_values = vec![vec![0i8; n]; windows.len()];
    let mut label_valid = vec![vec![false; n]; windows.len()];
    let mut labels = vec![LabelCounts::default(); windows.len()];
    let mut count = vec![0i64; n];
    let mut delay = vec![0i64; n];
    let mut delay_valid = vec![false; n];
    let mut value_sum = vec![0f64; n];
    let mut value_valid = vec![false; n];
    let mut invalid = 0;
    let mut next = credits.iter().peekable();
    for i in 0..n {
        let credit = next.next_if(|c| split_row_id(c.row).1 == i);
        if !chunk.is_valid(i) {
            invalid += 1;
            continue;
        }
        let t = chunk.time[i] as i128;
        let (first_delay, closed_by_successor) = match credit {
            Some(c) => ((c.count > 0).then_some(c.min_delay), c.closed_by_successor),
            None => (None, false),
        };
        if let Some(c) = credit {
            count[i] = c.count as i64;
            value_sum[i] = c.value_sum;
            value_valid[i] = c.has_value;
        }
        if let Some(d) = first_delay {
            delay[i] = d;
            delay_valid[i] = true;
        }
        for (k, w) in windows.iter().enumerate() {
            let label = if first_delay.is_some_and(|d| d <= w.width) {
                Some(1)
            } else if watermark.is_some_and(|a| a as i128 >= t + w.width as i128)
                || closed_by_successor
            {
                Some(0)
            } else {
                None
            };
            match label {
                Some(v) => {
                    label_values[k][i] = v;
                    label_valid[k][i] = true;
                    if v == 1 {
                        labels[k].positive += 1;
                    } else {
                        labels[k].negative += 1;
                    }
                }
                None => labels[k].pending += 1,
            }
        }
    }
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(windows.len() + 3);
    for (values, valid) in label_values.into_iter().zip(label_valid) {
        columns.push(Arc::new(Int8Array::new(values.into(), nulls(valid))));
    }
    columns.push(Arc::new(Int64Array::from(count)));
    columns.push(delay_array(plan.unit, delay, nulls(delay_valid)));
    if plan.value_column.is_some() {
        columns.push(Arc::new(Float64Array::new(
            value_sum.into(),
            nulls(value_valid),
        )));
    }
    ChunkColumns {
        columns,
        labels,
        invalid,
    }
}

fn nulls(valid: Vec<bool>) -> Option<NullBuffer> {
    Some(NullBuffer::new(BooleanBuffer::from(valid))).filter(|n| n.null_count() > 0)
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
