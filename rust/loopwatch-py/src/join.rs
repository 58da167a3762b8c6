//! `label_join` across the boundary: Python arguments in, a pyarrow Table (or counts) out.

use std::path::PathBuf;

use loopwatch_core::input::{expand_paths, BatchSource, Source};
use loopwatch_core::join::{label_join_streaming, StreamOptions, StreamTarget, STATS_KEY};
use loopwatch_core::join::{WatermarkArg, DEFAULT_CHUNK_ROWS};
use loopwatch_core::output::write_parquet;
use loopwatch_core::pool::run_in_pool;
use loopwatch_core::spill::default_memory_limit;
use loopwatch_core::JoinOptions;
use loopwatch_core::LwError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use pyo3_arrow::PyTable;

use crate::args::{duration, source};
use crate::errors::{detached, to_py};

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
                    attribution, value, output, threads, memory_limit=None, tmp_dir=None,
                    progress=false, hash_mask=None, chunk_rows=None))]
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
    memory_limit: Option<u64>,
    tmp_dir: Option<String>,
    progress: bool,
    hash_mask: Option<u64>,
    chunk_rows: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let predictions = source(predictions, "predictions")?;
    let feedback = source(feedback, "feedback")?;
    let options = JoinOptions {
        windows: windows
            .iter()
            .map(|w| duration(w, "windows"))
            .collect::<PyResult<_>>()?,
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
    // Parquet predictions, an explicit memory budget or a progress bar: the bounded-memory,
    // batch-by-batch path.
    let streaming = matches!(predictions, Source::Paths(_)) || memory_limit.is_some() || progress;
    if streaming {
        let memory_limit = match memory_limit {
            Some(limit) => limit,
            None => default_memory_limit().map_err(|e| to_py(py, e))?,
        };
        let stream = StreamOptions {
            memory_limit,
            tmp_dir: tmp_dir.map(PathBuf::from),
            progress,
        };
        let target = match &output {
            Some(path) => StreamTarget::Parquet(path.clone()),
            None => StreamTarget::Table,
        };
        let joined = detached(py, || {
            let predictions = batch_source(predictions, "predictions")?;
            let feedback = batch_source(feedback, "feedback")?;
            run_in_pool(options.threads, || {
                label_join_streaming(predictions, feedback, &options, &stream, target)
            })?
        })?;
        return match output {
            Some(_) => Ok(PyString::new(py, &joined.stats.to_json()).into_any()),
            None => PyTable::try_new(joined.batches, joined.schema)?.into_pyarrow(py),
        };
    }
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

/// A source as batches read one at a time (Parquet paths expanded in order).
fn batch_source(source: Source, input: &str) -> Result<BatchSource, LwError> {
    Ok(match source {
        Source::Batches(table) => BatchSource::Memory(table),
        Source::Paths(paths) => BatchSource::Files(expand_paths(&paths, input)?),
    })
}
