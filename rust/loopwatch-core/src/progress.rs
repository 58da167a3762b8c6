//! A progress bar on stderr over rows read (`progress=True`, and always in the CLI), redrawn at
//! most a few times a second. Written from the coordinating thread only.

use std::io::Write;
use std::time::{Duration, Instant};

pub struct Progress {
    label: String,
    total: u64,
    done: u64,
    enabled: bool,
    started: Instant,
    last_draw: Option<Instant>,
}

impl Progress {
    pub fn new(label: &str, total: u64, enabled: bool) -> Progress {
        Progress {
            label: label.to_string(),
            total,
            done: 0,
            enabled,
            started: Instant::now(),
            last_draw: None,
        }
    }

    pub fn advance(&mut self, rows: u64) {
        self.done += rows;
        if !self.enabled {
            return;
        }
        let due = self
            .last_draw
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(250));
        if due {
            self.draw();
        }
    }

    fn draw(&mut self) {
        let share = if self.total == 0 {
            1.0
        } else {
            (self.done as f64 / self.total as f64).min(1.0)
        };
        let width = 30;
        let filled = (share * width as f64) as usize;
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = self.done as f64 / elapsed.max(1e-9);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{} [{}{}] {:>3.0}% {}/{} rows, {:.1}M rows/s ",
            self.label,
            "#".repeat(filled),
            " ".repeat(width - filled),
            share * 100.0,
            self.done,
            self.total,
            rate / 1e6
        );
        let _ = err.flush();
        self.last_draw = Some(Instant::now());
    }

    pub fn finish(&mut self) {
        if self.enabled {
            self.done = self.done.max(self.total);
            self.draw();
            let _ = writeln!(std::io::stderr());
        }
    }
}
