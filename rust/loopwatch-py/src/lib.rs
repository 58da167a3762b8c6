//! `loopwatch._core`: the thin PyO3 layer over `loopwatch-core`.
//!
//! Arrow data crosses through the PyCapsule stream interface (pyo3-arrow, zero copy); all work
//! runs with the GIL released; errors become the exception classes of `loopwatch.errors`.

mod args;
mod delays;
mod errors;
mod join;
mod label_metrics;
mod popularity;

use pyo3::prelude::*;

/// The engine's own allocations (Arrow buffers, Parquet pages, scratch vectors) come from
/// mimalloc, which keeps freed pages for reuse a little while: the bounded-memory join
/// allocates and frees megabytes per batch, and the system allocator handed them back to the
/// kernel each time (a page fault per 4 KiB on the next use; 100M-row join: 0.5-0.9M faults,
/// 45-55k with mimalloc). Memory allocated here is also freed here (Arrow's release callbacks).
/// Version 2 returns freed memory to the system after 10 ms (v3 waits a second); local-dynamic
/// TLS, so loading the extension late (dlopen) never needs static TLS space.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// True when this extension was built without optimizations (timings are meaningless).
#[pyfunction]
fn is_debug_build() -> bool {
    cfg!(debug_assertions)
}

/// Worker threads a call uses by default (`LOOPWATCH_NUM_THREADS`, else all cores).
#[pyfunction]
fn default_threads(py: Python<'_>) -> PyResult<usize> {
    loopwatch_core::pool::default_threads().map_err(|e| errors::to_py(py, e))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(is_debug_build, m)?)?;
    m.add_function(wrap_pyfunction!(default_threads, m)?)?;
    m.add_function(wrap_pyfunction!(join::label_join, m)?)?;
    m.add_function(wrap_pyfunction!(label_metrics::label_metrics, m)?)?;
    m.add_class::<label_metrics::LabelMetricsState>()?;
    m.add_class::<delays::DelayProfileState>()?;
    m.add_function(wrap_pyfunction!(delays::window_tradeoff, m)?)?;
    m.add_function(wrap_pyfunction!(popularity::popularity_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(popularity::hit_rate_by_popularity, m)?)?;
    m.add_class::<popularity::PyPopularity>()?;
    m.add_class::<popularity::PyMetricsState>()?;
    Ok(())
}
