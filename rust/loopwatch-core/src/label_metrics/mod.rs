//! `label_metrics` (SPEC §4): label status and score quality per time bucket and segment.
//!
//! Stages: `columns` (read and check the label and score columns of a chunk) → `state` (per
//! group counts and every labeled row's (score, label) as one sortable word; mergeable) →
//! `finalize` (sort each group's words once, then AUC, log loss, Brier, ECE in that order, so
//! the result does not depend on how rows were split).

mod columns;
mod finalize;
mod state;

pub use state::{LabelMetricsConfig, LabelMetricsState};

use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use crate::error::Result;
use crate::input::{for_each_group, Source};
use crate::pool::run_in_pool;
use crate::trace::Stages;

/// Rows per unit of parallel work.
pub const CHUNK_ROWS: usize = 1 << 16;

/// One pass over `source`: update a fresh state chunk by chunk (in parallel), merge, finalize.
pub fn label_metrics(
    source: Source,
    config: LabelMetricsConfig,
    threads: Option<usize>,
) -> Result<RecordBatch> {
    run_in_pool(threads, || {
        let mut stages = Stages::start();
        let mut state = LabelMetricsState::new(config);
        state.update_source(source)?;
        stages.mark("label_metrics update");
        let table = state.finalize();
        stages.mark("label_metrics finalize");
        table
    })?
}

impl LabelMetricsState {
    /// Add every row of `source` (in the current rayon pool; Parquet paths are read a group
    /// of batches at a time, each group's chunks in parallel, merged in order).
    pub fn update_source(&mut self, source: Source) -> Result<()> {
        let columns = self.config.columns();
        for_each_group(source, &columns, "labeled", CHUNK_ROWS, |schema, chunks| {
            self.resolve(schema)?;
            let partials: Vec<LabelMetricsState> = chunks
                .par_iter()
                .map(|chunk| self.partial(chunk))
                .collect::<Result<_>>()?;
            for partial in partials {
                self.merge(partial)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// The state of one chunk alone (same configuration and grouping as `self`).
    fn partial(&self, chunk: &RecordBatch) -> Result<LabelMetricsState> {
        let mut part = self.empty_like();
        part.update_batch(chunk)?;
        Ok(part)
    }
}
