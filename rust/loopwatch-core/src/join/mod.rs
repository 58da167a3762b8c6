//! `label_join`: natural labels from delayed feedback (SPEC §2).
//!
//! Stages: plan + times (check options against schemas) → normalize both sides into chunks →
//! scan (events; candidate predictions, narrowed and bucketed by `partition`) → credit (key by
//! key; the rules themselves in `attribute`) → labels (output columns per chunk) + stats.

mod attribute;
mod credit;
mod interleave;
mod labeler;
mod labels;
mod options;
mod partition;
mod plan;
mod routes;
mod scan;
mod settled;
mod stats;
mod stream;
mod stream_output;
mod stream_split;
mod times;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

pub use options::{Attribution, JoinOptions, WatermarkArg, WindowArg, DEFAULT_CHUNK_ROWS};
pub use stats::{JoinStats, LabelCounts, STATS_KEY};
pub use stream::{label_join_streaming, StreamOptions, StreamTarget};

use crate::duration::unit_name;
use crate::error::Result;
use crate::input::{load, rechunk, source_schema, InputTable, Source};
use crate::normalize::Chunk;
use crate::pool::run_in_pool;
use crate::trace::Stages;
use credit::{credit_all, EventOutcomes, Sides};
use partition::{Buckets, HashFilter};
use plan::Plan;
use scan::{collect_candidates, collect_events, max_event_time, FeedbackChunk, FeedbackCounts};

/// The labeled predictions (input order) and the counts.
pub struct JoinOutput {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub stats: JoinStats,
}

/// Label `predictions` from `feedback` as SPEC §2 says. Fails before reading data when the
/// options do not fit the schemas.
pub fn label_join(
    predictions: Source,
    feedback: Source,
    options: &JoinOptions,
) -> Result<JoinOutput> {
    Plan::new(
        options,
        &*source_schema(&predictions, "predictions")?,
        &*source_schema(&feedback, "feedback")?,
    )?;
    let mut feedback_columns: Vec<&str> = options.on.iter().map(String::as_str).collect();
    feedback_columns.push(&options.feedback_time);
    if let Some(value) = &options.value {
        feedback_columns.push(value);
    }
    run_in_pool(options.threads, || {
        let predictions = load(predictions, None, "predictions")?;
        let feedback = load(feedback, Some(&feedback_columns), "feedback")?;
        // Planned again: a Parquet projection moves the feedback columns.
        let plan = Plan::new(options, &predictions.schema, &feedback.schema)?;
        join_tables(&plan, predictions, feedback)
    })?
}

fn join_tables(plan: &Plan, predictions: InputTable, feedback: InputTable) -> Result<JoinOutput> {
    let mut stages = Stages::start();
    let pred_batches = rechunk(&predictions, plan.chunk_rows)?;
    let fb_batches = rechunk(&feedback, plan.chunk_rows)?;
    let pred_chunks: Vec<Chunk> = pred_batches
        .par_iter()
        .map(|b| Chunk::from_batch(b, &plan.predictions))
        .collect::<Result<_>>()?;
    let fb_chunks: Vec<FeedbackChunk> = fb_batches
        .par_iter()
        .map(|b| FeedbackChunk::new(Chunk::from_batch(b, &plan.feedback)?, b, plan))
        .collect::<Result<_>>()?;
    stages.mark("normalize");

    let watermark = plan.watermark.or_else(|| max_event_time(&fb_chunks));
    let sides = Sides {
        predictions: &pred_chunks,
        feedback: &fb_chunks,
        attribution: plan.attribution,
        max_window: plan.max_window,
        inline_keys: plan.inline_keys,
    };
    let (credits, outcomes, fb_counts) = match watermark {
        // No watermark: no valid feedback row at all, so every row is invalid, nothing is
        // credited and nothing closes.
        None => (
            Vec::new(),
            EventOutcomes::default(),
            FeedbackCounts {
                invalid: feedback.num_rows() as u64,
                after_watermark: 0,
            },
        ),
        Some(a) => {
            let (events, fb_counts) = collect_events(&fb_chunks, a, plan);
            let filter = HashFilter::new(&events);
            let buckets = Buckets::for_events(events.len());
            let events = buckets.split_events(&events);
            stages.mark("events");
            let open_after = (plan.attribution == Attribution::Last)
                .then(|| a as i128 - plan.max_window as i128);
            let candidates =
                collect_candidates(&pred_chunks, &filter, a, open_after, plan, &buckets);
            stages.mark("candidates");
            stages.count("events", events.iter().map(Vec::len).sum());
            stages.count(
                "candidates",
                candidates.iter().flatten().map(Vec::len).sum(),
            );
            let (credits, outcomes) = credit_all(&sides, &candidates, events);
            stages.mark("credit");
            (credits, outcomes, fb_counts)
        }
    };

    let per_chunk: Vec<labels::ChunkColumns> = pred_chunks
        .par_iter()
        .enumerate()
        .map(|(index, chunk)| {
            let credits_of_chunk = || credits.iter().flat_map(move |bucket| &bucket[index]);
            labels::chunk_columns(plan, chunk, credits_of_chunk, watermark)
        })
        .collect();
    stages.mark("label columns");

    let mut stats = JoinStats {
        attribution: plan.attribution.name().to_string(),
        time_unit: plan.unit.map(|u| unit_name(u).to_string()),
        watermark,
        predictions_total: predictions.num_rows() as u64,
        events_total: feedback.num_rows() as u64,
        events_credited: outcomes.credited,
        events_orphan: outcomes.orphan,
        events_late: outcomes.late,
        events_after_watermark: fb_counts.after_watermark,
        events_invalid: fb_counts.invalid,
        labels: plan
            .windows
            .iter()
            .map(|w| (w.name.clone(), LabelCounts::default()))
            .collect(),
        ..JoinStats::default()
    };
    for part in &per_chunk {
        stats.predictions_invalid += part.invalid;
        for ((_, total), counts) in stats.labels.iter_mut().zip(&part.labels) {
            total.add(counts);
        }
    }

    let schema = output_schema(plan, &predictions.schema, &stats);
    let batches = pred_batches
        .into_iter()
        .zip(per_chunk)
        .map(|(batch, added)| {
            let mut columns = batch.columns().to_vec();
            columns.extend(added.columns);
            RecordBatch::try_new(schema.clone(), columns)
        })
        .collect::<std::result::Result<_, _>>()?;
    Ok(JoinOutput {
        schema,
        batches,
        stats,
    })
}

fn output_schema(plan: &Plan, predictions: &Schema, stats: &JoinStats) -> SchemaRef {
    let mut fields: Vec<Field> = predictions
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.extend(plan.output_fields());
    let mut metadata: HashMap<String, String> = predictions.metadata().clone();
    metadata.insert(STATS_KEY.to_string(), stats.to_json());
    Arc::new(Schema::new_with_metadata(fields, metadata))
}
