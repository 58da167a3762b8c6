//! `label_metrics` and its mergeable state across the boundary.

use arrow::record_batch::RecordBatch;
use loopwatch_core::label_metrics::{LabelMetricsConfig, LabelMetricsState as CoreState};
use loopwatch_core::pool::run_in_pool;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3_arrow::PyTable;

use crate::args::{duration, source};
use crate::errors::{detached, to_py};

/// A result batch as a `pyarrow.Table`.
pub fn table(py: Python<'_>, batch: RecordBatch) -> PyResult<Bound<'_, PyAny>> {
    let schema = batch.schema();
    PyTable::try_new(vec![batch], schema)?.into_pyarrow(py)
}

/// One pass without keeping a state (no copy of it is made to finalize).
#[pyfunction]
#[pyo3(signature = (labeled, label, score, time, every, by, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn label_metrics<'py>(
    py: Python<'py>,
    labeled: &Bound<'py, PyAny>,
    label: String,
    score: Option<String>,
    time: String,
    every: Option<Bound<'py, PyAny>>,
    by: Vec<String>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let source = source(labeled, "labeled")?;
    let every = every.map(|e| duration(&e, "every")).transpose()?;
    let config = LabelMetricsConfig {
        label,
        score,
        time,
        every,
        by,
    };
    let batch = detached(py, || {
        loopwatch_core::label_metrics::label_metrics(source, config, threads)
    })?;
    table(py, batch)
}

/// The state behind `loopwatch.LabelMetricsState` (see the Python class for the contract).
#[pyclass(module = "loopwatch._core")]
pub struct LabelMetricsState {
    inner: CoreState,
}

#[pymethods]
impl LabelMetricsState {
    #[new]
    #[pyo3(signature = (label, score, time, every, by))]
    fn new(
        label: String,
        score: Option<String>,
        time: String,
        every: Option<Bound<'_, PyAny>>,
        by: Vec<String>,
    ) -> PyResult<Self> {
        let every = every.map(|e| duration(&e, "every")).transpose()?;
        Ok(LabelMetricsState {
            inner: CoreState::new(LabelMetricsConfig {
                label,
                score,
                time,
                every,
                by,
            }),
        })
    }

    #[pyo3(signature = (table, threads=None))]
    fn update(
        &mut self,
        py: Python<'_>,
        table: &Bound<'_, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<()> {
        let source = source(table, "labeled")?;
        let inner = &mut self.inner;
        detached(py, || run_in_pool(threads, || inner.update_source(source))?)
    }

    fn merge(&mut self, py: Python<'_>, other: &LabelMetricsState) -> PyResult<()> {
        let other = other.inner.clone();
        self.inner.merge(other).map_err(|e| to_py(py, e))
    }

    #[pyo3(signature = (threads=None))]
    fn finalize<'py>(
        &self,
        py: Python<'py>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let state = self.inner.clone();
        let batch = detached(py, || run_in_pool(threads, || state.finalize())?)?;
        table(py, batch)
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let inner = CoreState::from_bytes(data).map_err(|e| to_py(py, e))?;
        Ok(LabelMetricsState { inner })
    }
}
