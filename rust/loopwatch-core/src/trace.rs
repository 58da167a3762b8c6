//! Stage timings on stderr when `LOOPWATCH_TRACE` is set: where the time of a call goes.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("LOOPWATCH_TRACE").is_some())
}

/// Times the stages of one operation.
pub struct Stages {
    last: Instant,
}

impl Stages {
    pub fn start() -> Stages {
        Stages {
            last: Instant::now(),
        }
    }

    /// Report a count (rows, candidates...) under `name`.
    pub fn count(&self, name: &str, n: usize) {
        if enabled() {
            eprintln!("loopwatch: {name:<24} {n:>12}");
        }
    }

    /// Report the time since the previous mark under `name`.
    pub fn mark(&mut self, name: &str) {
        if enabled() {
            let now = Instant::now();
            eprintln!(
                "loopwatch: {name:<24} {:>9.2} ms",
                (now - self.last).as_secs_f64() * 1e3
            );
            self.last = now;
        }
    }
}

/// Report how long the two sides of an overlapped stage were busy (their sum over the stage's
/// time says how much they overlapped).
pub fn busy(name: &str, producing: Duration, consuming: Duration) {
    if enabled() {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        eprintln!(
            "loopwatch: {name:<24} produce {:.2} ms, consume {:.2} ms (busy)",
            ms(producing),
            ms(consuming)
        );
    }
}
