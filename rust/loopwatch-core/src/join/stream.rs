//! `label_join` in bounded memory (SPEC §7): a partitioned ("Grace") hash join of the few
//! predictions whose labels need it.
//!
//! 1. The feedback (key, time, value columns) is read in parallel by row groups and split by
//!    key hash into `P` partitions — in memory when everything fits the memory budget, else
//!    spilled to a private temporary directory. This pass fixes the watermark (the latest valid
//!    feedback time, unless given) and fills a filter of the keys with feedback.
//! 2. The predictions' key and time columns are read the same way. Most predictions are
//!    *settled* by their time alone (`settled`: no event of their key and every window closed,
//!    or pending); only the others go to their key's partition — every prediction of a key with
//!    feedback, so each partition joins exactly like the in-memory path. Each row's route (its
//!    partition, or how it is settled) is recorded, one byte a row.
//! 3. Each partition is joined by the in-memory engine, as many at once as fit the budget
//!    together; its label columns are kept (or spilled) in the partition's row order.
//! 4. The labeled rows come out in input order (`stream_output`): replaying the routes says
//!    which partition's labels, or which default labels, come next. Parquet to Parquet copies
//!    the predictions' column chunks as they are and encodes only the label columns.
//!
//! Results equal the in-memory path's exactly (tested with tiny budgets on small data).

use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use super::labeler::{LabelReader, Labeler};
use super::partition::HashFilter;
use super::plan::Plan;
use super::routes::Routes;
use super::settled::{default_labels, Settle, Settled};
use super::stream_output::{can_splice, write_decoded, write_spliced};
use super::stream_split::{split_side, Side};
use super::{join_tables, output_schema, JoinOptions, JoinOutput, JoinStats, STATS_KEY};
use crate::error::{LwError, Result};
use crate::input::{BatchSource, InputTable, Snapshot};
use crate::normalize::Chunk;
use crate::output::Destination;
use crate::progress::Progress;
use crate::spill::{partition_of, partitions_for, Partition, TempDir};
use crate::trace::Stages;

/// Rows per batch of a partition's labels. Pass 4 reads every partition's labels at once, a
/// batch each: 128 partitions of whole-partition batches took 0.2 GB at 100M rows.
const LABEL_BATCH_ROWS: usize = 8 * 1024;

/// How a streaming join may use memory and disk.
#[derive(Clone, Debug)]
pub struct StreamOptions {
    /// Budget in bytes for join state; partitions spill beyond it.
    pub memory_limit: u64,
    pub tmp_dir: Option<PathBuf>,
    pub progress: bool,
}

/// Where the labeled rows go.
pub enum StreamTarget {
    Parquet(String),
    Table,
}

/// Label `predictions` from `feedback` in bounded memory. With `StreamTarget::Parquet` the
/// returned output has no batches (they are in the file).
pub fn label_join_streaming(
    predictions: BatchSource,
    feedback: BatchSource,
    options: &JoinOptions,
    stream: &StreamOptions,
    target: StreamTarget,
) -> Result<JoinOutput> {
    // The input files must not change during the call (the predictions are read twice and the
    // reads paired row by row). A failed call is checked too: a changed file explains most of
    // the failures it causes (rows that no longer pair, chunks that end early) better.
    let snapshot = Snapshot::take(&[&predictions, &feedback])?;
    join_streaming(predictions, feedback, options, stream, target, &snapshot).map_err(|e| {
        match (e, snapshot.check()) {
            (e @ LwError::Interrupted, _) | (e, Ok(())) => e,
            (e, Err(LwError::Io { path, message })) => LwError::Io {
                path,
                message: format!("{message} (the call failed with: {e})"),
            },
            (_, Err(changed)) => changed,
        }
    })
}

/// `label_join_streaming`, checking `snapshot` before the output is committed or returned.
fn join_streaming(
    predictions: BatchSource,
    feedback: BatchSource,
    options: &JoinOptions,
    stream: &StreamOptions,
    target: StreamTarget,
    snapshot: &Snapshot,
) -> Result<JoinOutput> {
    let pred_schema = schema_of(&predictions)?;
    let fb_schema = schema_of(&feedback)?;
    Plan::new(options, &pred_schema, &fb_schema)?; // fail before reading data
    let mut pred_columns: Vec<String> = options.on.clone();
    pred_columns.push(options.time.clone());
    let mut fb_columns: Vec<String> = options.on.clone();
    fb_columns.push(options.feedback_time.clone());
    fb_columns.extend(options.value.clone());
    let pred_proj = project_schema(&pred_schema, &pred_columns)?;
    let fb_proj = project_schema(&fb_schema, &fb_columns)?;
    let mut plan = Plan::new(options, &pred_proj, &fb_proj)?;

    let pred_rows = predictions.total_rows()?;
    let fb_rows = feedback.total_rows()?;
    let need = join_state_bytes(pred_rows, &pred_proj, fb_rows, &fb_proj);
    let threads = rayon::current_num_threads().max(1) as u64;
    let mut parts = partitions_for(need, stream.memory_limit);
    if parts > 1 {
        // Spilling anyway: partitions are joined one per worker thread at a time, so each
        // should fit that thread's share of the budget.
        parts = partitions_for(need, stream.memory_limit / threads);
    }
    if let Some(dir) = &stream.tmp_dir {
        TempDir::check_parent(dir)?; // a typo shows now, not once the data outgrows the budget
    }
    // The output is set up now, so a bad path fails before any work (and unfinished output is
    // removed on any error, as the destination is dropped).
    let destination = match &target {
        StreamTarget::Parquet(path) => Some(Destination::create(path)?),
        StreamTarget::Table => None,
    };
    let temp = if parts > 1 {
        Some(TempDir::new(stream.tmp_dir.as_deref())?)
    } else {
        None
    };
    let new_parts = |name: &str, schema: &SchemaRef| -> Vec<Partition> {
        (0..parts)
            .map(|p| match &temp {
                Some(dir) => Partition::on_disk(dir, &format!("{name}-{p}"), schema.clone()),
                None => Partition::in_memory(),
            })
            .collect()
    };
    let mut progress = Progress::new("label_join", 2 * pred_rows + fb_rows, stream.progress);
    let mut stages = Stages::start();
    stages.count("partitions", parts);

    // 1. Split the feedback by key hash. The default watermark comes with this pass, and so
    //    does a filter of the keys that have feedback.
    let mut fb_parts = new_parts("feedback", &fb_proj);
    let feedback_side = Side {
        source: &feedback,
        columns: &fb_columns,
        layout: &plan.feedback,
        schema: &fb_proj,
    };
    let mut filter = HashFilter::sized(fb_rows, stream.memory_limit / 8);
    // What the passes may hold besides the filter.
    let split_budget = stream.memory_limit.saturating_sub(filter.bytes());
    let mut latest: Option<i64> = None;
    let route_feedback = |chunk: &Chunk| {
        let hashes = chunk.key_hashes(u64::MAX);
        let mut valid_hashes = Vec::with_capacity(chunk.len);
        let mut chunk_latest = None;
        let ids = (0..chunk.len)
            .map(|i| {
                if !chunk.is_valid(i) {
                    return 0; // counted as invalid by partition 0's join
                }
                valid_hashes.push(hashes[i]);
                chunk_latest = chunk_latest.max(Some(chunk.time[i]));
                partition_of(hashes[i], parts) as u8
            })
            .collect();
        (ids, (chunk_latest, valid_hashes))
    };
    split_side(
        &feedback_side,
        &mut fb_parts,
        split_budget,
        8, // the valid rows' key hashes, for the filter
        route_feedback,
        |ids, (batch_latest, hashes)| {
            latest = latest.max(batch_latest);
            hashes.iter().for_each(|&h| filter.insert(h));
            progress.advance(ids.len() as u64);
            Ok(())
        },
    )?;
    for part in &mut fb_parts {
        part.seal()?;
    }
    if plan.watermark.is_none() {
        plan.watermark = latest;
    }
    stages.mark("split feedback");

    // 2. Split the predictions that may be credited or closed by another prediction (see
    //    `Settled`); the others' labels follow from their time, and only their route is kept.
    let settle = Settle {
        watermark: plan.watermark,
        max_window: plan.max_window,
        filter: &filter,
        parts,
    };
    let mut pred_parts = new_parts("predictions", &pred_proj);
    let mut routes = Routes::new(temp.as_ref())?;
    let mut settled = Settled::default();
    let mut seen = 0u64;
    let predictions_side = Side {
        source: &predictions,
        columns: &pred_columns,
        layout: &plan.predictions,
        schema: &pred_proj,
    };
    split_side(
        &predictions_side,
        &mut pred_parts,
        split_budget,
        0, // counts only
        |chunk| settle.route(chunk),
        |ids, batch_settled| {
            routes.record(ids)?;
            seen += ids.len() as u64;
            settled.add(&batch_settled);
            progress.advance(ids.len() as u64);
            Ok(())
        },
    )?;
    for part in &mut pred_parts {
        part.seal()?;
    }
    drop(filter); // not needed by the joins, which take the whole budget
    stages.mark("split predictions");
    let routed = seen - settled.total();
    stages.count("predictions routed", routed as usize);
    // As many partitions at once as fit the budget together (fewer when the partition count
    // is capped and each holds more than a thread's share), by the rows actually routed.
    let need = join_state_bytes(routed, &pred_proj, fb_rows, &fb_proj);
    let at_once = (stream.memory_limit / need.div_ceil(parts as u64).max(1)).clamp(1, threads);
    stages.count("partitions at once", at_once as usize);

    // 3. Join the partitions; keep each one's label columns in its row order.
    let label_count = plan.output_fields().len();
    let label_schema = Arc::new(Schema::new(plan.output_fields()));
    let mut label_parts = new_parts("labels", &label_schema);
    // Partitions are joined in parallel, `at_once` at a time (each within its share of the
    // budget); each keeps its own label file, and the counts add up in partition order.
    let mut stats: Option<JoinStats> = None;
    let step = at_once as usize;
    for ((preds, fbs), labels) in pred_parts
        .chunks_mut(step)
        .zip(fb_parts.chunks_mut(step))
        .zip(label_parts.chunks_mut(step))
    {
        let batch: Vec<Result<JoinStats>> = preds
            .par_iter_mut()
            .zip(fbs.par_iter_mut())
            .zip(labels.par_iter_mut())
            .map(|((pred_part, fb_part), label_part)| {
                crate::interrupt::check()?;
                let joined = join_tables(
                    &plan,
                    InputTable {
                        schema: pred_proj.clone(),
                        batches: pred_part.take_all()?,
                    },
                    InputTable {
                        schema: fb_proj.clone(),
                        batches: fb_part.take_all()?,
                    },
                )?;
                for batch in &joined.batches {
                    let first = batch.num_columns() - label_count;
                    let columns = batch.columns()[first..].to_vec();
                    let labels = RecordBatch::try_new(label_schema.clone(), columns)?;
                    if let Partition::Memory(_) = label_part {
                        label_part.push(labels)?; // all in memory anyway: no slices to join
                        continue;
                    }
                    // In small batches: pass 4 holds one read batch of every partition.
                    for at in (0..labels.num_rows()).step_by(LABEL_BATCH_ROWS) {
                        let rows = LABEL_BATCH_ROWS.min(labels.num_rows() - at);
                        label_part.push(labels.slice(at, rows))?;
                    }
                }
                label_part.seal()?;
                Ok(joined.stats)
            })
            .collect();
        for part in batch {
            let part = part?; // the first failure ends the join here
            stats = Some(match stats {
                None => part,
                Some(total) => add_stats(total, &part),
            });
        }
    }
    let stats = settled.add_to(stats.unwrap_or_default());
    stages.mark("join partitions");

    // 4. The labeled predictions, in input order.
    let schema = output_schema(&plan, &pred_schema, &stats);
    let metadata = [(STATS_KEY.to_string(), stats.to_json())];
    let labeler = Labeler {
        readers: label_parts
            .into_iter()
            .map(|p| p.into_reader().map(LabelReader::new))
            .collect::<Result<_>>()?,
        routes,
        defaults: default_labels(&plan, &label_schema)?,
        schema: label_schema.clone(),
    };
    let mut batches = Vec::new();
    let spliceable = match (&destination, &predictions) {
        (Some(_), BatchSource::Files(files)) => {
            can_splice(files, &label_schema, stream.memory_limit)?
        }
        _ => None,
    };
    match (destination, spliceable) {
        (Some(destination), Some(inputs)) => {
            write_spliced(
                &inputs,
                labeler,
                &destination,
                &schema,
                &metadata,
                stream.memory_limit,
                &mut progress,
            )?;
            snapshot.check()?;
            destination.commit()?;
        }
        (Some(destination), None) => {
            let out = Some(&destination);
            write_decoded(
                &predictions,
                labeler,
                out,
                &schema,
                &metadata,
                &mut progress,
            )?;
            snapshot.check()?;
            destination.commit()?;
        }
        (None, _) => {
            batches = write_decoded(
                &predictions,
                labeler,
                None,
                &schema,
                &metadata,
                &mut progress,
            )?;
            snapshot.check()?;
        }
    }
    stages.mark("labeled output");
    progress.finish();
    drop(temp);
    Ok(JoinOutput {
        schema,
        batches,
        stats,
    })
}

fn schema_of(source: &BatchSource) -> Result<SchemaRef> {
    match source {
        BatchSource::Memory(t) => Ok(t.schema.clone()),
        BatchSource::Files(files) => crate::input::first_schema(files),
    }
}

/// The schema of `columns` (in the input's column order, as a Parquet projection reads them).
fn project_schema(schema: &Schema, columns: &[String]) -> Result<SchemaRef> {
    let mut indices: Vec<usize> = columns
        .iter()
        .map(|c| crate::group::column_index(schema, c, "on/time"))
        .collect::<Result<_>>()?;
    indices.sort_unstable();
    indices.dedup();
    Ok(Arc::new(schema.project(&indices)?))
}

/// Bytes a row of `schema` takes in the in-memory join (normalized columns, candidates,
/// buckets, label columns: about three times its width; strings counted as 32 bytes).
fn row_bytes(schema: &Schema) -> u64 {
    3 * (crate::spill::row_width(schema) + 16)
}

/// Bytes of join state for the whole input, as the in-memory join would hold it.
fn join_state_bytes(pred_rows: u64, pred: &Schema, fb_rows: u64, fb: &Schema) -> u64 {
    pred_rows
        .saturating_mul(row_bytes(pred))
        .saturating_add(fb_rows.saturating_mul(row_bytes(fb)))
}

fn add_stats(mut total: JoinStats, part: &JoinStats) -> JoinStats {
    total.predictions_total += part.predictions_total;
    total.predictions_invalid += part.predictions_invalid;
    total.events_total += part.events_total;
    total.events_credited += part.events_credited;
    total.events_orphan += part.events_orphan;
    total.events_late += part.events_late;
    total.events_after_watermark += part.events_after_watermark;
    total.events_invalid += part.events_invalid;
    for ((_, t), (_, c)) in total.labels.iter_mut().zip(&part.labels) {
        t.add(c);
    }
    total
}
