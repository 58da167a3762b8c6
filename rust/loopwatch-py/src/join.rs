//! `label_join` across the boundary: Python arguments in, a pyarrow Table (or counts) out.

use loopwatch_core::input::{InputTable, Source};
use loopwatch_core::join::STATS_KEY;
use loopwatch_core::join::{WatermarkArg, DEFAULT_CHUNK_ROWS};
use loopwatch_core::output::write_parquet;
use loopwatch_core::{JoinOptions, WindowArg};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use pyo3_arrow::PyTable;

use crate::errors::{detached, to_py};

/// A table argument: a list of Parquet paths, or anything exporting `__arrow_c_stream__`.
pub(crate) fn source(arg: &Bound<'_, PyAny>, name: &str) -> PyResult<Source> {
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

fn window(arg: &Bound<'_, PyAny>) -> PyResult<WindowArg> {
    if let Ok(text) = arg.cast::<PyString>() {
        return Ok(WindowArg::Text(text.to_str()?.to_string()));
    }
    arg.extract::<i64>().map(WindowArg::Int).map_err(|_| {
        PyTypeError::new_err(format!(
            "windows: expected a duration string, a datetime.timedelta or an integer, got {}",
            arg.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}

fn watermark(arg: Option<(String, i64, i64)>) -> Option<WatermarkArg> {
    arg.map(|(kind, a, b)| match kind.as_str() {
        "int" => WatermarkArg::Int(a),
        k => WatermarkArg::Instant {
            seconds: a,
            nanos: b,
            aware: k == "aware",
        },
    })
}

#[pyfunction]
#[pyo3(signature = (predictions, feedback, on, windows, time, feedback_time, watermark_parts,
                    attribution, value, output, threads, hash_mask=None, chunk_rows=None))]
#[allow(clippy::too_many_arguments)]
pub fn label_join<'py>(
    py: Python<'py>,
    predictions: &Bound<'py, PyAny>,
    feedback: &Bound<'py, PyAny>,
    on: Vec<String>,
    windows: Vec<Bound<'py, PyAny>>,
    time: String,
    feedback_time: String,
    watermark_parts: Option<(String, i64, i64)>,
    attribution: String,
    value: Option<String>,
    output: Option<String>,
    threads: Option<usize>,
    hash_mask: Option<u64>,
    chunk_rows: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let predictions = source(predictions, "predictions")?;
    let feedback = source(feedback, "feedback")?;
    let options = JoinOptions {
        windows: windows.iter().map(window).collect::<PyResult<_>>()?,
        time,
        feedback_time,
        watermark: watermark(watermark_parts),
        attribution: attribution.parse().map_err(|e| to_py(py, e))?,
        value,
        threads,
        hash_mask: hash_mask.unwrap_or(u64::MAX),
        chunk_rows: chunk_rows.unwrap_or(DEFAULT_CHUNK_ROWS),
        ..JoinOptions::new(on, Vec::new())
    };
    let joined = detached(py, || {
        let joined = loopwatch_core::label_join(predictions, feedback, &options)?;
        if let Some(path) = &output {
            let metadata = [(STATS_KEY.to_string(), joined.stats.to_json())];
            write_parquet(path, &joined.schema, &joined.batches, &metadata)?;
        }
        Ok(joined)
    })?;
    match output {
        Some(_) => Ok(PyString::new(py, &joined.stats.to_json()).into_any()),
        None => PyTable::try_new(joined.batches, joined.schema)?.into_pyarrow(py),
    }
}
