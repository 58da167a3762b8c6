//! Engine errors → `loopwatch.errors` exceptions; panics → `LoopwatchError`, never a
//! `PanicException` (which `except Exception` does not catch).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use loopwatch_core::{interrupt, LwError};
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
        LwError::Interrupted => {
            return pyo3::exceptions::PyKeyboardInterrupt::new_err("interrupted");
        }
        LwError::Schema(_) => "SchemaError",
        LwError::Config(_) => "ConfigError",
        LwError::Data(_) => "DataError",
        LwError::Io { .. } => "InputFileError",
        LwError::Arrow(_) | LwError::Parquet(_) => "LoopwatchError",
    };
    raise(py, class, err.to_string())
}

/// Run engine work without the GIL, on a thread of its own, while this (the caller's) thread
/// watches for Ctrl-C: Python runs signal handlers only on the main thread, between bytecodes,
/// so a long call would otherwise ignore Ctrl-C until it returned. On a signal the work is asked
/// to stop (`interrupt::request`), cleans up as it ends, and the signal's exception (usually
/// `KeyboardInterrupt`) is raised. A panic becomes an error instead of unwinding into Python.
pub fn detached<T: Send>(
    py: Python<'_>,
    work: impl FnOnce() -> Result<T, LwError> + Send,
) -> PyResult<T> {
    let _call = interrupt::Call::begin();
    let done = (Mutex::new(false), Condvar::new());
    let done = &done;
    let (outcome, signal) = std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("loopwatch-call".into())
            .stack_size(8 << 20)
            .spawn_scoped(scope, move || {
                let outcome = catch_unwind(AssertUnwindSafe(work));
                *done.0.lock().unwrap_or_else(PoisonError::into_inner) = true;
                done.1.notify_all();
                outcome
            });
        let worker = match worker {
            Ok(w) => w,
            Err(e) => {
                return (
                    Ok(Err(LwError::Data(format!("cannot start a thread: {e}")))),
                    None,
                )
            }
        };
        let mut signal: Option<PyErr> = None;
        loop {
            let finished = py.detach(|| {
                let flag = done.0.lock().unwrap_or_else(PoisonError::into_inner);
                let (flag, _) = done
                    .1
                    .wait_timeout_while(flag, Duration::from_millis(50), |f| !*f)
                    .unwrap_or_else(PoisonError::into_inner);
                *flag
            });
            if finished {
                break;
            }
            if signal.is_none() {
                if let Err(e) = py.check_signals() {
                    interrupt::request();
                    signal = Some(e);
                }
            }
        }
        let outcome = py.detach(|| worker.join()).unwrap_or_else(Err);
        (outcome, signal)
    });
    if let Some(e) = signal {
        return Err(e);
    }
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
