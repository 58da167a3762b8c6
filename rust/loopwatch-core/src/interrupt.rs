//! Stopping long work when the user asks (Ctrl-C in Python). The caller's thread watches for the
//! signal and calls `request`; the work calls `check` between batches and partitions and ends
//! with `LwError::Interrupted`, unwinding through the usual clean-up (temporary files and
//! unfinished outputs are removed as they are dropped).
//!
//! Process-wide: a Ctrl-C stops every loopwatch call running at that moment.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{LwError, Result};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Ask running work to stop at its next `check`.
pub fn request() {
    REQUESTED.store(true, Ordering::Relaxed);
}

/// Forget a request once the interrupted work has ended.
pub fn clear() {
    REQUESTED.store(false, Ordering::Relaxed);
}

/// `Err(Interrupted)` once a stop was requested.
pub fn check() -> Result<()> {
    if REQUESTED.load(Ordering::Relaxed) {
        return Err(LwError::Interrupted);
    }
    Ok(())
}
