//! `delay_profile` (and its state) and `window_tradeoff` across the boundary.

use loopwatch_core::delays::TradeoffConfig;
use loopwatch_core::delays::{window_tradeoff_source, AsOf, DelayProfileState as CoreState};
use loopwatch_core::pool::run_in_pool;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::args::{duration, source};
use crate::errors::{detached, to_py};
use crate::label_metrics::table;

/// The state behind `loopwatch.DelayProfileState`.
#[pyclass(module = "loopwatch._core")]
pub struct DelayProfileState {
    inner: CoreState,
}

#[pymethods]
impl DelayProfileState {
    #[new]
    fn new(delay: String, by: Vec<String>) -> Self {
        DelayProfileState {
            inner: CoreState::new(delay, by),
        }
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

    fn merge(&mut self, py: Python<'_>, other: &DelayProfileState) -> PyResult<()> {
        self.inner
            .merge(other.inner.clone())
            .map_err(|e| to_py(py, e))
    }

    /// `(summary, histogram)` as pyarrow Tables.
    fn finalize<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let inner = &self.inner;
        let (summary, histogram) = detached(py, || inner.finalize())?;
        Ok((table(py, summary)?, table(py, histogram)?))
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let inner = CoreState::from_bytes(data).map_err(|e| to_py(py, e))?;
        Ok(DelayProfileState { inner })
    }
}

/// `watermark_parts`: ("int", value, 0) or ("naive" | "aware", seconds, nanoseconds).
#[pyfunction]
#[pyo3(signature = (labeled, delay, time, reference, windows, watermark_parts, target_recall, by,
                    threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn window_tradeoff<'py>(
    py: Python<'py>,
    labeled: &Bound<'py, PyAny>,
    delay: String,
    time: String,
    reference: (String, Bound<'py, PyAny>),
    windows: Vec<(String, Bound<'py, PyAny>)>,
    watermark_parts: (String, i64, i64),
    target_recall: f64,
    by: Vec<String>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let source = source(labeled, "labeled")?;
    let (kind, a, b) = watermark_parts;
    let watermark = match kind.as_str() {
        "int" => AsOf::Int(a),
        _ => AsOf::Nanos(a as i128 * 1_000_000_000 + b as i128),
    };
    let config = TradeoffConfig {
        delay,
        time,
        reference: (reference.0, duration(&reference.1, "reference")?),
        windows: windows
            .iter()
            .map(|(name, w)| Ok((name.clone(), duration(w, "windows")?)))
            .collect::<PyResult<_>>()?,
        watermark,
        target_recall,
        by,
    };
    let batch = detached(py, || {
        run_in_pool(threads, || window_tradeoff_source(&config, source))?
    })?;
    table(py, batch)
}
