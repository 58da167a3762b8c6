//! Inputs: Arrow batches already in memory, or Parquet files read here.

mod batches;
mod parquet_files;
mod snapshot;
mod units;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::Result;

pub use batches::{BatchIter, BatchSource};
pub use parquet_files::{expand_paths, first_schema, read_parquet};
pub use snapshot::Snapshot;
pub use units::{Unit, UnitBatches, Units, BATCH_ROWS};

/// Where a table comes from.
pub enum Source {
    /// Batches in memory (zero-copy from Python through the Arrow C stream interface).
    Batches(InputTable),
    /// Parquet paths: files, directories of parts, or globs, in the caller's order.
    Paths(Vec<String>),
}

/// A table as a schema and its batches, in input order.
#[derive(Clone)]
pub struct InputTable {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl InputTable {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

/// Materialize a source. `columns` restricts what Parquet inputs read (projection).
pub fn load(source: Source, columns: Option<&[&str]>, input: &str) -> Result<InputTable> {
    match source {
        Source::Batches(table) => Ok(table),
        Source::Paths(paths) => read_parquet(&expand_paths(&paths, input)?, columns, input),
    }
}

/// The schema of a source, without reading its data (Parquet: the first file's footer).
pub fn source_schema(source: &Source, input: &str) -> Result<SchemaRef> {
    match source {
        Source::Batches(table) => Ok(table.schema.clone()),
        Source::Paths(paths) => parquet_files::first_schema(&expand_paths(paths, input)?),
    }
}

/// Re-cut batches into chunks of at most `rows` rows: big batches are sliced (no copy), runs of
/// small ones are concatenated, empty ones dropped.
pub fn rechunk(table: &InputTable, rows: usize) -> Result<Vec<RecordBatch>> {
    let mut out = Vec::new();
    let mut pending: Vec<RecordBatch> = Vec::new();
    let mut pending_rows = 0;
    let flush = |pending: &mut Vec<RecordBatch>, out: &mut Vec<RecordBatch>| -> Result<()> {
        match pending.len() {
            0 => {}
            1 => out.extend(pending.pop()),
            _ => out.push(arrow::compute::concat_batches(
                &table.schema,
                pending.iter(),
            )?),
        }
        pending.clear();
        Ok(())
    };
    for batch in &table.batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (rows - pending_rows).min(batch.num_rows() - offset);
            pending.push(batch.slice(offset, take));
            pending_rows += take;
            offset += take;
            if pending_rows == rows {
                flush(&mut pending, &mut out)?;
                pending_rows = 0;
            }
        }
    }
    flush(&mut pending, &mut out)?;
    Ok(out)
}

/// Rows per group handed to `for_each_group` when reading Parquet (bounded memory).
pub const STREAM_GROUP_ROWS: usize = 1 << 20;

/// Feed `source` to `work` in groups of batches of at most `chunk_rows` rows each: an
/// in-memory table in one group; Parquet paths read batch by batch, about `STREAM_GROUP_ROWS`
/// rows per group, so a path input is never materialized whole. Returns the schema.
pub fn for_each_group(
    source: Source,
    columns: &[String],
    input: &str,
    chunk_rows: usize,
    mut work: impl FnMut(&SchemaRef, Vec<RecordBatch>) -> Result<()>,
) -> Result<SchemaRef> {
    match source {
        Source::Batches(table) => {
            let schema = table.schema.clone();
            work(&schema, rechunk(&table, chunk_rows)?)?;
            Ok(schema)
        }
        Source::Paths(paths) => {
            let files = BatchSource::Files(expand_paths(&paths, input)?);
            let mut schema: Option<SchemaRef> = None;
            let mut group: Vec<RecordBatch> = Vec::new();
            let mut rows = 0;
            for batch in files.batches(Some(columns), input)? {
                crate::interrupt::check()?;
                let batch = batch?;
                schema.get_or_insert_with(|| batch.schema());
                rows += batch.num_rows();
                group.push(batch);
                if rows >= STREAM_GROUP_ROWS {
                    let s = schema.clone().expect("set above");
                    let table = InputTable {
                        schema: s.clone(),
                        batches: std::mem::take(&mut group),
                    };
                    work(&s, rechunk(&table, chunk_rows)?)?;
                    rows = 0;
                }
            }
            let schema = match schema {
                Some(s) => s,
                None => {
                    // No rows at all: the projected schema of the first file.
                    let full = source_schema(&Source::Paths(paths), input)?;
                    let mut indices: Vec<usize> = columns
                        .iter()
                        .filter_map(|c| full.index_of(c).ok())
                        .collect();
                    indices.sort_unstable();
                    indices.dedup();
                    std::sync::Arc::new(full.project(&indices)?)
                }
            };
            let table = InputTable {
                schema: schema.clone(),
                batches: group,
            };
            work(&schema, rechunk(&table, chunk_rows)?)?;
            Ok(schema)
        }
    }
}
