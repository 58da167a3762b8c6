//! Time columns: timestamps of any unit (as instants in the common unit) or plain integers.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::buffer::ScalarBuffer;
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Int64Type, TimeUnit};

use crate::error::{schema_err, LwError, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeKind {
    Timestamp {
        unit: TimeUnit,
        zone: Option<String>,
    },
    Int,
}

pub fn time_kind(
    data_type: &DataType,
    column: &str,
    input: &str,
    argument: &str,
) -> Result<TimeKind> {
    match data_type {
        DataType::Timestamp(unit, zone) => Ok(TimeKind::Timestamp {
            unit: *unit,
            zone: zone.as_ref().map(|z| z.to_string()),
        }),
        t if t.is_integer() => Ok(TimeKind::Int),
        other => Err(schema_err(format!(
            "{argument}: time column {column:?} in {input} is {other}; expected a timestamp or an \
             integer column"
        ))),
    }
}

/// The column's values as `i64` in the common unit (`factor` = stored units per common unit).
pub fn to_common_unit(
    array: &ArrayRef,
    factor: i64,
    column: &str,
    input: &str,
) -> Result<ScalarBuffer<i64>> {
    let values: ScalarBuffer<i64> = match array.data_type() {
        DataType::Timestamp(_, _) | DataType::Int64 => {
            let as_int = cast_with_options(array, &DataType::Int64, &CastOptions::default())?;
            as_int.as_primitive::<Int64Type>().values().clone()
        }
        _ => {
            let options = CastOptions {
                safe: false,
                ..Default::default()
            };
            let wide = cast_with_options(array, &DataType::Int64, &options).map_err(|_| {
                LwError::Data(format!(
                    "time column {column:?} in {input} exceeds the int64 range"
                ))
            })?;
            wide.as_primitive::<Int64Type>().values().clone()
        }
    };
    if factor == 1 {
        return Ok(values);
    }
    let nulls = array.logical_nulls();
    let mut out = Vec::with_capacity(values.len());
    for (i, &v) in values.iter().enumerate() {
        let scaled = v.checked_mul(factor);
        match scaled {
            Some(s) => out.push(s),
            None if nulls.as_ref().is_some_and(|n| n.is_null(i)) => out.push(0),
            None => {
                return Err(LwError::Data(format!(
                    "time column {column:?} in {input}: value {v} overflows int64 when converted \
                     to the finer unit of the other side or of the windows"
                )))
            }
        }
    }
    Ok(out.into())
}
