//! Popularity metrics across the boundary: `Popularity` sources, `popularity_metrics`, its
//! mergeable state, and `hit_rate_by_popularity`.

use std::sync::Arc;

use loopwatch_core::duration::DurationArg;
use loopwatch_core::input::{load, Source};
use loopwatch_core::pool::run_in_pool;
use loopwatch_core::popularity::{
    self, Compat, CountBy, HitRateOptions, MetricsOptions, Popularity, PopularityMetricsState,
    SourceOptions, TailRule, DEFAULT_CHUNK_ROWS,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use pyo3_arrow::PyTable;

use crate::args::source;
use crate::errors::{detached, to_py};

fn duration(arg: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<DurationArg>> {
    let Some(arg) = arg else { return Ok(None) };
    if let Ok(text) = arg.cast::<PyString>() {
        return Ok(Some(DurationArg::Text(text.to_str()?.to_string())));
    }
    arg.extract::<i64>()
        .map(|v| Some(DurationArg::Int(v)))
        .map_err(|_| {
            PyTypeError::new_err(format!("{name}: expected a duration string or an integer"))
        })
}

/// A popularity source: φ per item, fixed or trailing.
#[pyclass(module = "loopwatch._core", name = "PopularitySource", frozen)]
pub struct PyPopularity {
    inner: Arc<Popularity>,
}

#[pymethods]
impl PyPopularity {
    #[new]
    #[pyo3(signature = (interactions, item, user, count, time=None, lookback=None))]
    fn new(
        py: Python<'_>,
        interactions: &Bound<'_, PyAny>,
        item: String,
        user: Option<String>,
        count: String,
        time: Option<String>,
        lookback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let src = source(interactions, "interactions")?;
        let count = CountBy::parse(&count).map_err(|e| to_py(py, e))?;
        let trailing = match (time, duration(lookback, "lookback")?) {
            (Some(t), Some(l)) => Some((t, l)),
            _ => None,
        };
        let options = SourceOptions {
            item,
            user,
            count,
            trailing,
        };
        let pop = detached(py, || {
            run_in_pool(None, || Popularity::build(src, &options))?
        })?;
        Ok(PyPopularity {
            inner: Arc::new(pop),
        })
    }

    #[getter]
    fn ignored_rows(&self) -> u64 {
        self.inner.ignored_rows
    }
    #[getter]
    fn is_trailing(&self) -> bool {
        self.inner.is_trailing()
    }
    #[getter]
    fn count(&self) -> &'static str {
        self.inner.count.name()
    }
    #[getter]
    fn n_items(&self) -> usize {
        self.inner.items.len()
    }
    #[getter]
    fn has_users(&self) -> bool {
        self.inner.has_users
    }
}

#[allow(clippy::too_many_arguments)]
fn options(
    py: Python<'_>,
    list_id: Vec<String>,
    item: String,
    position: Option<String>,
    k: Option<i64>,
    time: Option<String>,
    every: Option<&Bound<'_, PyAny>>,
    by: Vec<String>,
    head_share: f64,
    tail_ratio: Option<f64>,
    max_count: Option<i64>,
    compat: Option<String>,
) -> PyResult<MetricsOptions> {
    let err = |m: String| to_py(py, loopwatch_core::LwError::Config(m));
    let k = match k {
        Some(k) if k < 1 => return Err(err(format!("k: expected k >= 1, got {k}"))),
        Some(k) => Some(k as usize),
        None => None,
    };
    let max_count = match max_count {
        Some(m) if m < 0 => return Err(err(format!("max_count: expected a count >= 0, got {m}"))),
        Some(m) => Some(m as u64),
        None => None,
    };
    let compat = Compat::parse(compat.as_deref()).map_err(|e| to_py(py, e))?;
    let rule =
        TailRule::new(head_share, tail_ratio, max_count, compat).map_err(|e| to_py(py, e))?;
    Ok(MetricsOptions {
        list_id,
        item,
        position,
        k,
        time,
        every: duration(every, "every")?,
        by,
        rule,
    })
}

#[pyfunction]
#[pyo3(signature = (recommendations, pop, list_id, item, position, k, time, every, by, catalog,
                    head_share, tail_ratio, max_count, compat, threads=None, chunk_rows=None))]
#[allow(clippy::too_many_arguments)]
pub fn popularity_metrics<'py>(
    py: Python<'py>,
    recommendations: &Bound<'py, PyAny>,
    pop: &PyPopularity,
    list_id: Vec<String>,
    item: String,
    position: Option<String>,
    k: Option<i64>,
    time: Option<String>,
    every: Option<&Bound<'py, PyAny>>,
    by: Vec<String>,
    catalog: Option<&Bound<'py, PyAny>>,
    head_share: f64,
    tail_ratio: Option<f64>,
    max_count: Option<i64>,
    compat: Option<String>,
    threads: Option<usize>,
    chunk_rows: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let recs = source(recommendations, "recommendations")?;
    let catalog = catalog.map(|c| source(c, "catalog")).transpose()?;
    let opts = options(
        py, list_id, item, position, k, time, every, by, head_share, tail_ratio, max_count, compat,
    )?;
    let pop = pop.inner.clone();
    let (schema, batch) = detached(py, || {
        popularity::popularity_metrics(
            recs,
            pop,
            opts,
            catalog,
            threads,
            chunk_rows.unwrap_or(DEFAULT_CHUNK_ROWS),
        )
    })?;
    PyTable::try_new(vec![batch], schema)?.into_pyarrow(py)
}

/// The mergeable state of `popularity_metrics`.
#[pyclass(module = "loopwatch._core", name = "PopularityMetricsState")]
pub struct PyMetricsState {
    inner: PopularityMetricsState,
}

#[pymethods]
impl PyMetricsState {
    #[new]
    #[pyo3(signature = (pop, list_id, item, position, k, time, every, by, catalog, head_share,
                        tail_ratio, max_count, compat))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        pop: &PyPopularity,
        list_id: Vec<String>,
        item: String,
        position: Option<String>,
        k: Option<i64>,
        time: Option<String>,
        every: Option<&Bound<'_, PyAny>>,
        by: Vec<String>,
        catalog: Option<&Bound<'_, PyAny>>,
        head_share: f64,
        tail_ratio: Option<f64>,
        max_count: Option<i64>,
        compat: Option<String>,
    ) -> PyResult<Self> {
        let opts = options(
            py, list_id, item, position, k, time, every, by, head_share, tail_ratio, max_count,
            compat,
        )?;
        let catalog = catalog.map(|c| source(c, "catalog")).transpose()?;
        let pop = pop.inner.clone();
        let inner = detached(py, || {
            let catalog = match catalog {
                Some(c) => Some(load(c, None, "catalog")?),
                None => None,
            };
            PopularityMetricsState::new(pop, opts, catalog)
        })?;
        Ok(PyMetricsState { inner })
    }

    #[pyo3(signature = (recommendations, threads=None, chunk_rows=None))]
    fn update(
        &mut self,
        py: Python<'_>,
        recommendations: &Bound<'_, PyAny>,
        threads: Option<usize>,
        chunk_rows: Option<usize>,
    ) -> PyResult<()> {
        let recs: Source = source(recommendations, "recommendations")?;
        let state = &mut self.inner;
        detached(py, || {
            run_in_pool(threads, || {
                state.update_source(recs, chunk_rows.unwrap_or(DEFAULT_CHUNK_ROWS).max(1))
            })?
        })
    }

    fn merge(&mut self, py: Python<'_>, other: PyRef<'_, PyMetricsState>) -> PyResult<()> {
        self.inner.merge(&other.inner).map_err(|e| to_py(py, e))
    }

    fn finalize<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = &self.inner;
        let (schema, batch) = detached(py, || {
            run_in_pool(None, || popularity::metrics_batch(state))?
        })?;
        PyTable::try_new(vec![batch], schema)?.into_pyarrow(py)
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let inner = PopularityMetricsState::from_bytes(data).map_err(|e| to_py(py, e))?;
        Ok(PyMetricsState { inner })
    }
}

/// The hit-rate table, then the head rate, tail rate and head/tail ratio.
type HitRateResult<'py> = (Bound<'py, PyAny>, Option<f64>, Option<f64>, Option<f64>);

#[pyfunction]
#[pyo3(signature = (labeled, pop, label, item, quantiles, time, every, head_share))]
#[allow(clippy::too_many_arguments)]
pub fn hit_rate_by_popularity<'py>(
    py: Python<'py>,
    labeled: &Bound<'py, PyAny>,
    pop: &PyPopularity,
    label: String,
    item: String,
    quantiles: Option<usize>,
    time: Option<String>,
    every: Option<&Bound<'py, PyAny>>,
    head_share: f64,
) -> PyResult<HitRateResult<'py>> {
    let src = source(labeled, "labeled")?;
    let options = HitRateOptions {
        label,
        item,
        quantiles,
        time,
        every: duration(every, "every")?,
        head_share,
    };
    let pop = pop.inner.clone();
    let out = detached(py, || {
        run_in_pool(None, || {
            popularity::hit_rate_by_popularity(src, &pop, &options)
        })?
    })?;
    let table = PyTable::try_new(vec![out.batch], out.schema)?.into_pyarrow(py)?;
    Ok((table, out.head_rate, out.tail_rate, out.head_tail_ratio))
}
