//! Python arguments shared by every function: table sources and durations.

use loopwatch_core::duration::DurationArg;
use loopwatch_core::input::{InputTable, Source};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use pyo3_arrow::PyTable;

/// A table argument: a list of Parquet paths, or anything exporting `__arrow_c_stream__`.
pub fn source(arg: &Bound<'_, PyAny>, name: &str) -> PyResult<Source> {
    if arg.is_instance_of::<PyList>() {
        return Ok(Source::Paths(arg.extract()?));
    }
    let table: PyTable = arg.extract().map_err(|e| {
        PyTypeError::new_err(format!(
            "{name}: expected an Arrow table (pyarrow, pandas, Polars, ... with \
             __arrow_c_stream__) or Parquet path(s): {e}"
        ))
    })?;
    let (batches, schema) = table.into_inner();
    Ok(Source::Batches(InputTable { schema, batches }))
}

/// A duration: a string (timedeltas arrive as their compact string) or an integer.
pub fn duration(arg: &Bound<'_, PyAny>, argument: &str) -> PyResult<DurationArg> {
    if let Ok(text) = arg.cast::<PyString>() {
        return Ok(DurationArg::Text(text.to_str()?.to_string()));
    }
    arg.extract::<i64>().map(DurationArg::Int).map_err(|_| {
        PyTypeError::new_err(format!(
            "{argument}: expected a duration string, a datetime.timedelta or an integer, got {}",
            arg.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}
