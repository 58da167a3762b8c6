//! Parquet recommendations in bounded memory: a Grace-style split by list id.
//!
//! A list's rows may lie anywhere in the input (across batches and files) and counting needs
//! each list whole, so the columns the metrics use are read batch by batch and split by list id
//! hash into `P` partitions — in memory when the input fits the memory budget (`P = 1`), else
//! spilled to a private temporary directory. Every row of a list lands in the same partition,
//! in input order (so its first row, its group and its position ties are those of the whole
//! table), and the partitions are counted one after another into one set of counts: results
//! equal the in-memory path's exactly.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::Schema;

use super::lists::list_hashes;
use super::state::{add_counts, MetricsOptions, PopularityMetricsState};
use crate::error::Result;
use crate::group::column_index;
use crate::input::{expand_paths, first_schema, BatchSource, InputTable, Source};
use crate::pipeline::pipeline;
use crate::spill::{default_memory_limit, split, Partition, TempDir};
use crate::trace::Stages;

const INPUT: &str = "recommendations";

impl PopularityMetricsState {
    /// Add the lists of `source`: a table in memory as `update` does; Parquet paths streamed in
    /// bounded memory (see the module). Lists may span files. Like `update`, a failure leaves
    /// the counts and items as they were.
    pub fn update_source(&mut self, source: Source, chunk_rows: usize) -> Result<()> {
        match source {
            Source::Batches(table) => self.update(&table, chunk_rows),
            Source::Paths(paths) => self.update_paths(&paths, chunk_rows, default_memory_limit()?),
        }
    }

    /// Add the lists of Parquet `paths`, holding about `memory_limit` bytes of rows at a time.
    pub fn update_paths(
        &mut self,
        paths: &[String],
        chunk_rows: usize,
        memory_limit: u64,
    ) -> Result<()> {
        let files = expand_paths(paths, INPUT)?;
        let schema = first_schema(&files)?;
        let grouping = self.check_schema(&schema)?; // fail before reading data
        let columns = needed_columns(&self.options);
        let mut indices: Vec<usize> = columns
            .iter()
            .map(|c| column_index(&schema, c, INPUT))
            .collect::<Result<_>>()?;
        indices.sort_unstable();
        indices.dedup();
        let projected = Arc::new(schema.project(&indices)?);
        let files = BatchSource::Files(files);
        let parts = partition_count(memory_limit, files.total_rows()?, &projected);
        let temp = if parts > 1 {
            Some(TempDir::new(None)?)
        } else {
            None
        };
        let mut partitions: Vec<Partition> = (0..parts)
            .map(|p| match &temp {
                Some(dir) => Partition::on_disk(dir, &format!("{INPUT}-{p}"), projected.clone()),
                None => Partition::in_memory(),
            })
            .collect();
        let mut stages = Stages::start();
        stages.count("pop: partitions", parts);

        let layout = self.layout();
        let mut offset = 0usize;
        let hashed = files.batches(Some(&columns), INPUT)?.map(|batch| {
            let batch = batch?;
            // One partition: nothing to route (counting checks nulls with whole-table rows).
            let ids = if parts == 1 {
                Vec::new()
            } else {
                partition_ids(&list_hashes(&batch, &layout, offset)?, parts)
            };
            offset += batch.num_rows();
            Ok((batch, ids))
        });
        pipeline(hashed, |(batch, ids)| {
            crate::interrupt::check()?;
            split(&batch, &ids, &mut partitions)
        })?;
        for part in &mut partitions {
            part.seal()?;
        }
        stages.mark("pop: split by list");

        // Count into local copies, so that a failing partition changes nothing.
        let mut items = self.items.clone();
        let mut groups = BTreeMap::new();
        for part in &mut partitions {
            crate::interrupt::check()?;
            let batches = part.take_all()?;
            if batches.is_empty() {
                continue;
            }
            let table = InputTable {
                schema: projected.clone(),
                batches,
            };
            add_counts(
                &mut groups,
                self.count(&table, &grouping, chunk_rows, &mut items)?,
            );
        }
        stages.mark("pop: count partitions");
        self.items = items;
        add_counts(
            &mut self.groups,
            groups.into_iter().map(|(k, g)| (k, g.n_lists, g.lengths)),
        );
        drop(temp);
        Ok(())
    }
}

/// The recommendations columns counting reads.
fn needed_columns(o: &MetricsOptions) -> Vec<String> {
    let mut columns = o.list_id.clone();
    columns.push(o.item.clone());
    columns.extend(o.position.clone());
    if o.every.is_some() {
        columns.extend(o.time.clone()); // without buckets the time column is never read
    }
    columns.extend(o.by.iter().cloned());
    columns
}

/// Bytes a row of `schema` takes while its partition is counted: its columns (strings as 32
/// bytes) as read and as re-chunked, plus the list key, item id, position and run links built
/// from them.
fn row_bytes(schema: &Schema) -> u64 {
    2 * crate::spill::row_width(schema) + 64
}

/// Enough partitions for one partition's counting to fit `limit`.
fn partition_count(limit: u64, rows: u64, schema: &Schema) -> usize {
    crate::spill::partitions_for(rows.saturating_mul(row_bytes(schema)), limit)
}

/// The partition of each row, from the high bits of its list id hash.
fn partition_ids(hashes: &[u64], parts: usize) -> Vec<u32> {
    hashes
        .iter()
        .map(|&h| crate::spill::partition_of(h, parts))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spill::MAX_PARTITIONS;
    use arrow::datatypes::{DataType, Field};

    #[test]
    fn partitions_grow_with_rows_and_stay_capped() {
        let schema = Schema::new(vec![
            Field::new("request_id", DataType::Int64, false),
            Field::new("item_id", DataType::Utf8, false),
        ]);
        assert_eq!(row_bytes(&schema), 2 * (8 + 32) + 64);
        assert_eq!(partition_count(1 << 30, 1000, &schema), 1);
        assert_eq!(partition_count(144 * 1000, 1000, &schema), 1);
        assert_eq!(partition_count(144 * 1000 - 1, 1000, &schema), 2);
        assert_eq!(
            partition_count(1, u64::MAX, &schema),
            MAX_PARTITIONS as usize
        );
        assert_eq!(partition_count(0, 0, &schema), 1);
    }

    #[test]
    fn partition_ids_are_in_range() {
        let ids = partition_ids(&[0, u64::MAX, 1 << 40, 7 << 32], 5);
        assert_eq!(ids, vec![0, (u32::MAX % 5), ((1u64 << 8) % 5) as u32, 2]);
    }
}
