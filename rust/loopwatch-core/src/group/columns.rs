//! Output columns for group keys: `bucket_start` typed like the time column, then the `by`
//! columns in their input types.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Int64Array, StringArray, UInt64Array};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field};

use super::{GroupKey, Grouping, SegmentValue};
use crate::error::{LwError, Result};

pub fn key_columns(grouping: &Grouping, keys: &[GroupKey]) -> Result<Vec<(Field, ArrayRef)>> {
    let mut out = Vec::new();
    if let Some(b) = &grouping.buckets {
        let starts: Vec<Option<i64>> = keys
            .iter()
            .map(|k| match k.bucket {
                None => Ok(None),
                Some(idx) => idx.checked_mul(b.every).map(Some).ok_or_else(|| {
                    LwError::Data(format!(
                        "time: a bucket start of column {:?} is outside the int64 range",
                        b.column
                    ))
                }),
            })
            .collect::<Result<_>>()?;
        let starts: ArrayRef = Arc::new(Int64Array::from(starts));
        out.push((
            Field::new("bucket_start", b.data_type.clone(), true),
            exact_cast(&starts, &b.data_type, "bucket_start")?,
        ));
    }
    for (c, column) in grouping.by.iter().enumerate() {
        let values = keys.iter().map(|k| &k.segment[c]);
        let plain: ArrayRef = match column.output_type {
            DataType::Boolean => Arc::new(BooleanArray::from_iter(values.map(|v| match v {
                SegmentValue::Bool(b) => Some(*b),
                _ => None,
            }))),
            DataType::UInt64 => Arc::new(UInt64Array::from_iter(values.map(|v| match v {
                SegmentValue::Int(i) => Some(*i as u64),
                SegmentValue::UInt(u) => Some(*u),
                _ => None,
            }))),
            ref t if t.is_integer() => Arc::new(Int64Array::from_iter(values.map(|v| match v {
                SegmentValue::Int(i) => Some(*i),
                _ => None,
            }))),
            _ => Arc::new(StringArray::from_iter(values.map(|v| match v {
                SegmentValue::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
                _ => None,
            }))),
        };
        out.push((
            Field::new(&column.name, column.output_type.clone(), true),
            exact_cast(&plain, &column.output_type, &column.name)?,
        ));
    }
    Ok(out)
}

fn exact_cast(array: &ArrayRef, to: &DataType, column: &str) -> Result<ArrayRef> {
    if array.data_type() == to {
        return Ok(array.clone());
    }
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(array, to, &options).map_err(|e| {
        LwError::Data(format!(
            "column {column:?}: cannot build output values: {e}"
        ))
    })
}
