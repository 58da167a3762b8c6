//! Pipelines: a producer thread (e.g. decoding Parquet) feeding the current thread (e.g.
//! encoding Parquet) through a small bounded channel, so the stages overlap on several cores.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::time::{Duration, Instant};

use crate::error::{LwError, Result};

/// Send `items` until the first error (sent too) or until the receiver is gone.
fn feed<T>(items: impl Iterator<Item = Result<T>>, tx: &SyncSender<Result<T>>) {
    for item in items {
        let failed = item.is_err();
        if tx.send(item).is_err() || failed {
            break;
        }
    }
}

/// Run `items` on a helper thread while `consume` takes them here, in order. Stops at the
/// first error from either side (the producer then stops at its next item).
pub fn pipeline<T: Send>(
    items: impl Iterator<Item = Result<T>> + Send,
    mut consume: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<Result<T>>(2);
        let producer = scope.spawn(move || feed(items, &tx));
        let mut outcome = Ok(());
        for item in rx.iter() {
            if let Err(e) = item.and_then(&mut consume) {
                outcome = Err(e);
                break;
            }
        }
        drop(rx);
        if producer.join().is_err() && outcome.is_ok() {
            outcome = Err(LwError::Data(
                "internal error: a reader thread panicked".into(),
            ));
        }
        outcome
    })
}

/// Windows of work in order, overlapped: window `k` is consumed (e.g. written out) while window
/// `k + 1` is produced (e.g. decoded in parallel), both on the rayon pool. `produce` returns
/// `None` when done. At one thread the two simply alternate. `name` labels the time each side
/// was busy in the trace (`LOOPWATCH_TRACE`).
pub fn overlapped<W: Send>(
    name: &str,
    mut produce: impl FnMut() -> Result<Option<W>> + Send,
    mut consume: impl FnMut(W) -> Result<()> + Send,
) -> Result<()> {
    let timed = |busy: &mut Duration, work: &mut dyn FnMut() -> Result<()>| {
        let start = Instant::now();
        let outcome = work();
        *busy += start.elapsed();
        outcome
    };
    let (mut producing, mut consuming) = (Duration::ZERO, Duration::ZERO);
    let mut ready = None;
    timed(&mut producing, &mut || {
        ready = produce()?;
        Ok(())
    })?;
    while let Some(current) = ready.take() {
        crate::interrupt::check()?;
        let mut current = Some(current);
        let mut next = None;
        let (consumed, produced) = rayon::join(
            || {
                timed(&mut consuming, &mut || {
                    current.take().map_or(Ok(()), &mut consume)
                })
            },
            || {
                timed(&mut producing, &mut || {
                    next = produce()?;
                    Ok(())
                })
            },
        );
        consumed?;
        produced?;
        ready = next;
    }
    crate::trace::busy(name, producing, consuming);
    Ok(())
}
