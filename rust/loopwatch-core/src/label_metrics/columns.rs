//! The label and score columns of one chunk, checked: labels 0/1/null, scores in [0, 1].

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Float64Type, Int8Type, Schema};

use crate::error::{schema_err, LwError, Result};

/// Refuse label/score column types before reading any data.
pub fn check_types(schema: &Schema, label: &str, score: Option<&str>) -> Result<()> {
    let field = schema.field(crate::group::column_index(schema, label, "label")?);
    match field.data_type() {
        t if t.is_integer() || *t == DataType::Boolean => {}
        other => {
            return Err(schema_err(format!(
                "label: column {label:?} is {other}; expected an integer or boolean column of \
                 0/1 with null for pending labels"
            )))
        }
    }
    if let Some(score) = score {
        let field = schema.field(crate::group::column_index(schema, score, "score")?);
        if !field.data_type().is_floating() {
            return Err(schema_err(format!(
                "score: column {score:?} is {}; expected a floating-point probability in [0, 1]",
                field.data_type()
            )));
        }
    }
    Ok(())
}

/// A chunk's labels: 0/1 per row, and which rows are labeled (`None`: all).
pub struct Labels {
    pub values: ScalarBuffer<i8>,
    pub known: Option<NullBuffer>,
}

impl Labels {
    #[inline]
    pub fn is_known(&self, i: usize) -> bool {
        self.known.as_ref().is_none_or(|k| k.is_valid(i))
    }
}

/// Read and check labels: 0, 1 or null (pending).
pub fn read_labels(array: &ArrayRef, column: &str) -> Result<Labels> {
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    let narrow = cast_with_options(array, &DataType::Int8, &options)
        .map_err(|_| bad_label(column, "a value outside 0/1".into()))?;
    let narrow = narrow.as_primitive::<Int8Type>();
    let labels = Labels {
        values: narrow.values().clone(),
        known: narrow.logical_nulls().filter(|n| n.null_count() > 0),
    };
    // Every slot at once first (vectorized); a pending row's slot may hold anything, so only
    // a failure needs the row-by-row search that skips them.
    let any_above_one = labels
        .values
        .iter()
        .fold(0u8, |acc, &v| acc | (v as u8 & !1))
        != 0;
    if any_above_one {
        let bad = (0..labels.values.len())
            .find(|&i| labels.is_known(i) && !matches!(labels.values[i], 0 | 1));
        if let Some(i) = bad {
            return Err(bad_label(column, labels.values[i].to_string()));
        }
    }
    Ok(labels)
}

fn bad_label(column: &str, value: String) -> LwError {
    LwError::Data(format!(
        "label: column {column:?} holds {value}; labels must be 0, 1 or null (pending)"
    ))
}

/// Scores as `f64`: every non-null score must be in [0, 1]; labeled rows need a score.
pub fn read_scores(array: &ArrayRef, column: &str, labels: &Labels) -> Result<ScalarBuffer<f64>> {
    let wide = cast_with_options(array, &DataType::Float64, &CastOptions::default())?;
    let scores = wide.as_primitive::<Float64Type>();
    let nulls = scores.logical_nulls().filter(|n| n.null_count() > 0);
    let values = scores.values();
    // Fast checks (vectorized): every non-null score in [0, 1], and no null score where the
    // label is known. Only a failure walks the rows to name it.
    let in_range = all_in_unit_range(values, nulls.as_ref());
    let null_on_labeled = match (&nulls, &labels.known) {
        (None, _) => false,
        (Some(n), None) => n.null_count() > 0,
        (Some(n), Some(known)) => (known.inner() & &!n.inner()).count_set_bits() > 0,
    };
    if in_range && !null_on_labeled {
        return Ok(values.clone());
    }
    for i in 0..values.len() {
        let null = nulls.as_ref().is_some_and(|n| n.is_null(i));
        if null && labels.is_known(i) {
            return Err(LwError::Data(format!(
                "score: column {column:?} is null on a labeled row; fill or filter such rows \
                 (scores may be null only where the label is pending)"
            )));
        }
        let p = values[i];
        if !null && !(0.0..=1.0).contains(&p) {
            return Err(LwError::Data(format!(
                "score: column {column:?} holds {p}; scores must be probabilities in [0, 1] \
                 (NaN is not allowed)"
            )));
        }
    }
    Ok(values.clone())
}

/// Whether every non-null value is in [0, 1] (NaN is not), 64 rows at a time: a mask of the
/// values out of range, then the validity word, so the values under nulls (pandas leaves NaN
/// there) do not matter.
fn all_in_unit_range(values: &[f64], nulls: Option<&NullBuffer>) -> bool {
    let out_of_range = |block: &[f64]| {
        block.iter().enumerate().fold(0u64, |mask, (j, &p)| {
            mask | ((!(0.0..=1.0).contains(&p) as u64) << j)
        })
    };
    match nulls {
        None => values.chunks(64).all(|block| out_of_range(block) == 0),
        Some(nulls) => values
            .chunks(64)
            .zip(nulls.inner().bit_chunks().iter_padded())
            .all(|(block, valid)| out_of_range(block) & valid == 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_range_check_skips_values_under_nulls_at_any_offset() {
        // 150 values, every 7th null and holding NaN or 5.0; the rest in [0, 1].
        let values: Vec<f64> = (0..150)
            .map(|i| match (i % 7, i % 2) {
                (0, 0) => f64::NAN,
                (0, _) => 5.0,
                _ => i as f64 / 150.0,
            })
            .collect();
        let valid: Vec<bool> = (0..150).map(|i| i % 7 != 0).collect();
        let nulls = NullBuffer::from(valid);
        assert!(all_in_unit_range(&values, Some(&nulls)));
        assert!(!all_in_unit_range(&values, None));
        for start in [0, 1, 5, 63, 64, 65, 100] {
            let len = 150 - start;
            let sliced = nulls.slice(start, len);
            assert!(
                all_in_unit_range(&values[start..], Some(&sliced)),
                "{start}"
            );
            // A bad value on a valid row is still seen, wherever it is.
            let mut bad = values[start..].to_vec();
            let last_valid = (0..len).rev().find(|&i| sliced.is_valid(i)).unwrap();
            bad[last_valid] = 1.5;
            assert!(!all_in_unit_range(&bad, Some(&sliced)), "{start}");
        }
    }
}
