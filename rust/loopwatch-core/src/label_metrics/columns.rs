//! The label and score columns of one chunk, checked: labels 0/1/null, scores in [0, 1].

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Float64Type, Int64Type, Schema};

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

/// Labels as `Some(false/true)` / `None` (pending).
pub fn read_labels(array: &ArrayRef, column: &str) -> Result<Vec<Option<bool>>> {
    if let Some(b) = array.as_boolean_opt() {
        return Ok(b.iter().collect());
    }
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    let wide = cast_with_options(array, &DataType::Int64, &options)
        .map_err(|_| bad_label(column, "a value outside the int64 range".into()))?;
    let values = wide.as_primitive::<Int64Type>();
    values
        .iter()
        .map(|v| match v {
            None => Ok(None),
            Some(0) => Ok(Some(false)),
            Some(1) => Ok(Some(true)),
            Some(other) => Err(bad_label(column, other.to_string())),
        })
        .collect()
}

fn bad_label(column: &str, value: String) -> LwError {
    LwError::Data(format!(
        "label: column {column:?} holds {value}; labels must be 0, 1 or null (pending)"
    ))
}

/// Scores as `f64`, checked on the rows whose label is known (`None` where no score is needed).
pub fn read_scores(array: &ArrayRef, column: &str, labels: &[Option<bool>]) -> Result<Vec<f64>> {
    let wide = cast_with_options(array, &DataType::Float64, &CastOptions::default())?;
    let scores = wide.as_primitive::<Float64Type>();
    let mut out = Vec::with_capacity(scores.len());
    for (i, label) in labels.iter().enumerate() {
        if label.is_none() {
            out.push(0.0);
            continue;
        }
        if scores.is_null(i) {
            return Err(LwError::Data(format!(
                "score: column {column:?} is null on a labeled row; fill or filter such rows \
                 (scores may be null only where the label is pending)"
            )));
        }
        let p = scores.value(i);
        if !(0.0..=1.0).contains(&p) {
            return Err(LwError::Data(format!(
                "score: column {column:?} holds {p}; scores must be probabilities in [0, 1] \
                 (NaN is not allowed)"
            )));
        }
        out.push(p);
    }
    Ok(out)
}
