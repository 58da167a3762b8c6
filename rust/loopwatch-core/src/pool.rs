//! The rayon pool every parallel stage runs in.
//!
//! A pool built before `fork()` hangs in the child (multiprocessing, Spark workers), so the
//! shared pool remembers the process that built it and is rebuilt in a forked child.

use std::sync::{Arc, Mutex};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::{config_err, Result};

static SHARED: Mutex<Option<(u32, Arc<ThreadPool>)>> = Mutex::new(None);

fn build(threads: usize) -> Result<ThreadPool> {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("loopwatch-{i}"))
        .build()
        .map_err(|e| config_err(format!("threads: cannot start a pool of {threads}: {e}")))
}

fn shared_pool() -> Result<Arc<ThreadPool>> {
    let pid = std::process::id();
    let mut guard = SHARED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((owner, pool)) = guard.as_ref() {
        if *owner == pid {
            return Ok(pool.clone());
        }
    }
    let threads = std::env::var("LOOPWATCH_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = Arc::new(build(threads)?);
    *guard = Some((pid, pool.clone()));
    Ok(pool)
}

/// Worker threads of the shared pool (the default for every call).
pub fn default_threads() -> Result<usize> {
    Ok(shared_pool()?.current_num_threads())
}

/// Run `work` on `threads` workers (`None`: the shared pool, sized to the machine or
/// `LOOPWATCH_NUM_THREADS`).
pub fn run_in_pool<R: Send>(threads: Option<usize>, work: impl FnOnce() -> R + Send) -> Result<R> {
    match threads {
        Some(0) => Err(config_err(
            "threads: expected a positive number of threads, got 0",
        )),
        Some(n) => Ok(build(n)?.install(work)),
        None => Ok(shared_pool()?.install(work)),
    }
}
