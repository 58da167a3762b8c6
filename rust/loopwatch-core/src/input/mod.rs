//! Inputs: Arrow batches already in memory, or Parquet files read here.

mod batches;
mod parquet_files;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::Result;

pub use batches::{BatchIter, BatchSource};
pub use parquet_files::{expand_paths, first_schema, read_parquet};

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
