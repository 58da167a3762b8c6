//! Pipelines: a producer thread (e.g. decoding Parquet) feeding the current thread (e.g.
//! encoding Parquet) through a small bounded channel, so the stages overlap on several cores.

use std::sync::mpsc::{sync_channel, SyncSender};

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

/// Three stages: `items` on one helper thread, `middle` on another, `consume` here.
pub fn pipeline3<T: Send, U: Send>(
    items: impl Iterator<Item = Result<T>> + Send,
    mut middle: impl FnMut(T) -> Result<U> + Send,
    consume: impl FnMut(U) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<Result<T>>(2);
        let first = scope.spawn(move || feed(items, &tx));
        // The receiver goes with the middle stage: once that stops, the first one's next send
        // fails and it stops too.
        let outcome = pipeline(
            rx.into_iter().map(|item| item.and_then(&mut middle)),
            consume,
        );
        if first.join().is_err() && outcome.is_ok() {
            return Err(LwError::Data(
                "internal error: a reader thread panicked".into(),
            ));
        }
        outcome
    })
}
