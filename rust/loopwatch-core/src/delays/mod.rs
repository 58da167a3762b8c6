//! How long feedback takes (SPEC §3): `delay_profile` (quantiles + histogram of delays per
//! segment, a mergeable state) and `window_tradeoff` (recall of shorter windows).

mod histogram;
mod profile;
mod sketch;
mod tradeoff;

pub use profile::DelayProfileState;
pub use tradeoff::{window_tradeoff, AsOf, TradeoffConfig, TradeoffCounter};

use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use crate::error::Result;
use crate::input::{for_each_group, Source};

const CHUNK_ROWS: usize = 1 << 16;

impl DelayProfileState {
    /// Add every row of `source` (Parquet paths a group of batches at a time; each group's
    /// chunks in parallel in the current pool, merged in order).
    pub fn update_source(&mut self, source: Source) -> Result<()> {
        let columns = self.columns();
        for_each_group(source, &columns, "labeled", CHUNK_ROWS, |schema, chunks| {
            self.resolve(schema)?;
            let partials: Vec<DelayProfileState> = chunks
                .par_iter()
                .map(|chunk| {
                    let mut part = self.empty_like();
                    part.update_batch(chunk)?;
                    Ok(part)
                })
                .collect::<Result<_>>()?;
            for partial in partials {
                self.merge(partial)?;
            }
            Ok(())
        })?;
        Ok(())
    }
}

/// `window_tradeoff` over a source.
pub fn window_tradeoff_source(config: &TradeoffConfig, source: Source) -> Result<RecordBatch> {
    let mut columns = vec![config.delay.clone(), config.time.clone()];
    columns.extend(config.by.iter().cloned());
    let mut counter: Option<TradeoffCounter> = None;
    for_each_group(source, &columns, "labeled", CHUNK_ROWS, |schema, chunks| {
        if counter.is_none() {
            counter = Some(TradeoffCounter::new(config, schema)?);
        }
        counter.as_mut().map_or(Ok(()), |c| c.add(&chunks))
    })?;
    match counter {
        Some(c) => c.finish(),
        None => Err(crate::error::config_err("labeled: no input was read")),
    }
}
