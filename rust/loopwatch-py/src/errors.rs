//! Engine errors → `loopwatch.errors` exceptions; panics → `LoopwatchError`, never a
//! `PanicException` (which `except Exception` does not catch).

use std::panic::{catch_unwind, AssertUnwindSafe};

use loopwatch_core::LwError;
use pyo3::prelude::*;

fn raise(py: Python<'_>, class: &str, message: String) -> PyErr {
    let made = py
        .import("loopwatch.errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call1((message.clone(),)));
    match made {
        Ok(instance) => PyErr::from_value(instance),
        Err(e) => e,
    }
}

pub fn to_py(py: Python<'_>, err: LwError) -> PyErr {
    let class = match &err {
        LwError::Schema(_) => "SchemaError",
        LwError::Config(_) => "ConfigError",
        LwError::Data(_) => "DataError",
        LwError::Io { .. } => "InputFileError",
        LwError::Arrow(_) | LwError::Parquet(_) => "LoopwatchError",
    };
    raise(py, class, err.to_string())
}

/// Run engine work without the GIL; a panic becomes an error instead of unwinding into Python.
pub fn detached<T: Send>(
    py: Python<'_>,
    work: impl FnOnce() -> Result<T, LwError> + Send,
) -> PyResult<T> {
    let outcome = py.detach(|| catch_unwind(AssertUnwindSafe(work)));
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(to_py(py, err)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(raise(
                py,
                "LoopwatchError",
                format!("internal error, please report it: {what}"),
            ))
        }
    }
}
