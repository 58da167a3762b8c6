//! Popularity, long tail and feedback-loop metrics (SPEC §5).
//!
//! `source` (φ per item: fixed, or a trailing window per bucket) → `lists` (rows to ordered,
//! cut lists, counted per group, list length and item) → `state` (the mergeable counts; as
//! bytes: `state_bytes`) → `long_tail` (Γ by rule) + `metrics` (finalize to columns);
//! `hit_rate` buckets labeled predictions by φ.

mod hit_rate;
mod items;
mod lists;
mod long_tail;
mod metrics;
mod source;
mod state;
mod state_bytes;
mod stream;

use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

pub use hit_rate::{hit_rate_by_popularity, HitRate, HitRateOptions};
pub use long_tail::{Compat, TailRule};
pub use metrics::METRIC_COLUMNS;
pub use source::{CountBy, Popularity, SourceOptions};
pub use state::{MetricsOptions, PopularityMetricsState};

use crate::error::Result;
use crate::input::{load, Source};
use crate::pool::run_in_pool;

/// Rows per work chunk.
pub const DEFAULT_CHUNK_ROWS: usize = 64 * 1024;

/// One metrics table from the finalized columns.
pub fn metrics_batch(state: &PopularityMetricsState) -> Result<(SchemaRef, RecordBatch)> {
    let mut stages = crate::trace::Stages::start();
    let columns = metrics::finalize(state)?;
    stages.mark("pop: finalize");
    let (fields, arrays): (Vec<_>, Vec<_>) = columns.into_iter().unzip();
    let schema = Arc::new(Schema::new(fields));
    let n = arrays.first().map_or(0, |a| a.len());
    let batch = RecordBatch::try_new_with_options(
        schema.clone(),
        arrays,
        &RecordBatchOptions::new().with_row_count(Some(n)),
    )?;
    Ok((schema, batch))
}

/// `popularity_metrics`: one state, the recommendations added (Parquet paths streamed in
/// bounded memory), finalize.
pub fn popularity_metrics(
    recommendations: Source,
    pop: Arc<Popularity>,
    options: MetricsOptions,
    catalog: Option<Source>,
    threads: Option<usize>,
    chunk_rows: usize,
) -> Result<(SchemaRef, RecordBatch)> {
    run_in_pool(threads, || {
        let catalog = match catalog {
            Some(c) => Some(load(c, None, "catalog")?),
            None => None,
        };
        let mut stages = crate::trace::Stages::start();
        let mut state = PopularityMetricsState::new(pop, options, catalog)?;
        stages.mark("pop: new state");
        state.update_source(recommendations, chunk_rows.max(1))?;
        stages.mark("pop: update");
        metrics_batch(&state)
    })?
}
