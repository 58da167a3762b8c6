//! Passes 1 and 2 of the streaming join: one side read, each row routed — to a partition by its key
//! hash, or (predictions whose labels follow from their time alone) to none — and the routed
//! rows appended to their partitions in input order.
//!
//! The side is read in windows of units (Parquet row groups, slices of in-memory batches):
//! every unit of a window is decoded, routed and grouped by partition on its own thread; then
//! each partition appends its rows from the window's units, in unit order, on its own thread —
//! while the next window is being decoded. Rows of one key therefore reach their partition in
//! input order whatever the thread count.

use arrow::array::UInt32Array;
use arrow::compute::{concat_batches, take_record_batch};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use crate::error::Result;
use crate::input::{BatchSource, Unit, UnitBatches, Units, BATCH_ROWS};
use crate::normalize::{Chunk, SideLayout};
use crate::pipeline::overlapped;
use crate::spill::Partition;

/// One side to split: where it comes from, what to read of it, how to read its keys.
pub(super) struct Side<'a> {
    pub source: &'a BatchSource,
    pub columns: &'a [String],
    pub layout: &'a SideLayout,
    /// The Arrow schema of `columns` (what the partitions hold).
    pub schema: &'a SchemaRef,
}

/// Rows of one batch, reordered so that each partition's rows are contiguous (in their input
/// order): partition `p` holds rows `offsets[p]..offsets[p + 1]`.
struct Grouped {
    batch: RecordBatch,
    offsets: Vec<usize>,
}

/// A batch, split: its rows grouped by partition, each row's route, and what `route` said of
/// it besides.
struct SplitBatch<S> {
    grouped: Grouped,
    routes: Vec<u8>,
    summary: S,
}

/// Split `side` into `parts` (appending to them). `route` gives each row of a batch its route
/// — a partition, or any value from `parts.len()` on for a row that goes to none — and a
/// summary of the batch, which keeps at most `summary_row_bytes` a row; `on_batch` then sees
/// every batch's routes and summary in input order.
///
/// Units are decoded `window` at a time, `window` sized so that two windows take at most half
/// of `memory_limit`. A unit's task decodes one reader batch at a time and keeps its grouped
/// rows (at worst every row: its columns), routes and summary; so a unit takes that much a row,
/// plus a decoded batch with its hashes. A Parquet source whose row groups are too large for
/// that is read batch by batch on this thread instead. (In-memory units are slices of at most
/// a reader batch: at least one at a time.)
pub(super) fn split_side<S: Send>(
    side: &Side,
    parts: &mut [Partition],
    memory_limit: u64,
    summary_row_bytes: u64,
    route: impl Fn(&Chunk) -> (Vec<u8>, S) + Sync,
    mut on_batch: impl FnMut(&[u8], S) -> Result<()> + Send,
) -> Result<()> {
    let units = Units::new(side.source, Some(side.columns), side.layout.input)?;
    let width = crate::spill::row_width(side.schema);
    let kept_row_bytes = width + 1 + summary_row_bytes;
    let batch_rows = BATCH_ROWS.min(units.max_rows()) as u64;
    let batch_bytes = batch_rows.saturating_mul(2 * width + 32);
    let unit_bytes = (units.max_rows() as u64)
        .saturating_mul(kept_row_bytes)
        .saturating_add(batch_bytes);
    let threads = rayon::current_num_threads().max(1) as u64;
    let mut window = (memory_limit / 4 / unit_bytes.max(1)).min(2 * threads);
    if units.in_memory() {
        window = window.max(1);
    }
    let count = parts.len();
    let split_batches = |batches: UnitBatches| -> Result<Vec<SplitBatch<S>>> {
        crate::interrupt::check()?;
        batches
            .map(|batch| {
                let batch = batch?;
                let chunk = Chunk::from_batch(&batch, side.layout)?;
                let (routes, summary) = route(&chunk);
                Ok(SplitBatch {
                    grouped: group_by_partition(batch, &routes, count)?,
                    routes,
                    summary,
                })
            })
            .collect()
    };
    let mut append = |done: Vec<Vec<SplitBatch<S>>>| -> Result<()> {
        let grouped: Vec<&Grouped> = done.iter().flatten().map(|b| &b.grouped).collect();
        append_window(&grouped, parts, side.schema)?;
        for batch in done.into_iter().flatten() {
            on_batch(&batch.routes, batch.summary)?;
        }
        Ok(())
    };
    // What the next window reads: units, decoded in parallel; or, when units are too large to
    // hold a few at once, reader batches decoded here (and routed in parallel).
    let mut list = units.list.iter().copied();
    let mut batches = match window {
        0 => Some(side.source.batches(Some(side.columns), side.layout.input)?),
        _ => None,
    };
    let mut next_window = || -> Result<Vec<Piece>> {
        match batches.as_mut() {
            None => Ok(list
                .by_ref()
                .take(window as usize)
                .map(Piece::Unit)
                .collect()),
            Some(reader) => reader
                .by_ref()
                .take(threads as usize)
                .map(|batch| batch.map(Piece::Batch))
                .collect(),
        }
    };
    overlapped(
        side.layout.input,
        || {
            let next = next_window()?;
            if next.is_empty() {
                return Ok(None);
            }
            let split = next
                .into_par_iter()
                .map(|piece| match piece {
                    Piece::Unit(unit) => split_batches(units.read(unit)?),
                    Piece::Batch(batch) => split_batches(Box::new(std::iter::once(Ok(batch)))),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Some(split))
        },
        &mut append,
    )
}

/// What one task of a window splits.
enum Piece {
    Unit(Unit),
    Batch(RecordBatch),
}

/// `batch`'s rows grouped by partition, keeping their order within each (a counting sort);
/// rows routed to no partition (a route from `parts` on) are left out.
fn group_by_partition(batch: RecordBatch, ids: &[u8], parts: usize) -> Result<Grouped> {
    let mut offsets = vec![0usize; parts + 1];
    let mut counts = [0usize; 256];
    for &p in ids {
        counts[p as usize] += 1;
    }
    for p in 0..parts {
        offsets[p + 1] = offsets[p] + counts[p];
    }
    if offsets[parts] == batch.num_rows() && parts == 1 {
        return Ok(Grouped { batch, offsets }); // every row in the one partition: no copy
    }
    let mut next = offsets.clone();
    let mut order = vec![0u32; offsets[parts]];
    for (i, &p) in ids.iter().enumerate() {
        if let Some(slot) = next.get_mut(p as usize).filter(|_| (p as usize) < parts) {
            order[*slot] = i as u32;
            *slot += 1;
        }
    }
    let batch = take_record_batch(&batch, &UInt32Array::from(order))?;
    Ok(Grouped { batch, offsets })
}

/// Append a window's rows to every partition, partitions in parallel, units in order.
fn append_window(done: &[&Grouped], parts: &mut [Partition], schema: &SchemaRef) -> Result<()> {
    parts.par_iter_mut().enumerate().try_for_each(|(p, part)| {
        let pieces: Vec<RecordBatch> = done
            .iter()
            .filter(|g| g.offsets[p + 1] > g.offsets[p])
            .map(|g| g.batch.slice(g.offsets[p], g.offsets[p + 1] - g.offsets[p]))
            .collect();
        match (pieces.len(), &*part) {
            (0, _) => Ok(()),
            // In memory (a single partition), the pieces are kept as they are: no copy.
            (_, Partition::Memory(_)) | (1, _) => pieces.into_iter().try_for_each(|b| part.push(b)),
            // On disk, one batch per window: fewer, larger messages to write and read back.
            _ => part.push(concat_batches(schema, &pieces)?),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    #[test]
    fn grouping_keeps_each_partitions_rows_in_order_and_leaves_out_the_rest() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
        let values: Vec<Option<i64>> = (0..50).map(|i| (i % 7 != 3).then_some(i)).collect();
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values.clone()))]).unwrap();
        // Routes 5, 6, 7 and 255 name no partition.
        let ids: Vec<u8> = (0..50u32)
            .map(|i| {
                if i % 9 == 4 {
                    255
                } else {
                    ((i * 37 + 11) % 8) as u8
                }
            })
            .collect();
        let grouped = group_by_partition(batch, &ids, 5).unwrap();
        let column = grouped.batch.column(0);
        let column = column.as_any().downcast_ref::<Int64Array>().unwrap();
        for p in 0..5 {
            let expected: Vec<Option<i64>> = (0..50)
                .filter(|&i| ids[i] as usize == p)
                .map(|i| values[i])
                .collect();
            let got: Vec<Option<i64>> = (grouped.offsets[p]..grouped.offsets[p + 1])
                .map(|i| column.is_valid(i).then(|| column.value(i)))
                .collect();
            assert_eq!(got, expected, "partition {p}");
        }
        let routed = ids.iter().filter(|&&p| p < 5).count();
        assert!(routed < 40);
        assert_eq!(grouped.offsets[5], routed);
        assert_eq!(grouped.batch.num_rows(), routed);
    }
}
