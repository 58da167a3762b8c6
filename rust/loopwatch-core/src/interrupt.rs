//! Stopping long work when the user asks (Ctrl-C in Python). The caller's thread watches for the
//! signal and calls `request`; the work calls `check` between batches, partitions and row groups
//! and ends with `LwError::Interrupted`, unwinding through the usual clean-up (temporary files
//! and unfinished outputs are removed as they are dropped).
//!
//! Process-wide: a request stops every call running at that moment (at its next check), and
//! stays until the last of them has ended (so a call started meanwhile stops at once too).
//! Work without checks (in-memory joins, one partition's join, finalizing) runs to its end.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::{LwError, Result};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// A running call, from `Call::begin` until dropped.
pub struct Call(());

impl Call {
    pub fn begin() -> Call {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        Call(())
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if RUNNING.fetch_sub(1, Ordering::SeqCst) == 1 {
            REQUESTED.store(false, Ordering::SeqCst);
        }
    }
}

/// Ask running work to stop at its next `check`.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// `Err(Interrupted)` once a stop was requested.
pub fn check() -> Result<()> {
    if REQUESTED.load(Ordering::Relaxed) {
        return Err(LwError::Interrupted);
    }
    Ok(())
}
