//! Reading a table batch by batch: Parquet files one after another (each with column
//! projection, never materialized whole), or batches already in memory.

use std::fs::File;
use std::path::PathBuf;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::InputTable;
use crate::error::{io_err, schema_err, Result};

/// Rows per batch read from Parquet (and per unit of an in-memory table).
pub const BATCH_ROWS: usize = 64 * 1024;

/// Where the batches come from.
pub enum BatchSource {
    Files(Vec<PathBuf>),
    Memory(InputTable),
}

impl BatchSource {
    /// Rows in total (Parquet: from the footers, without reading data).
    pub fn total_rows(&self) -> Result<u64> {
        match self {
            BatchSource::Memory(t) => Ok(t.num_rows() as u64),
            BatchSource::Files(files) => files.iter().try_fold(0u64, |acc, f| {
                Ok(acc + open(f)?.metadata().file_metadata().num_rows().max(0) as u64)
            }),
        }
    }

    /// Iterate the batches of the columns `columns` (`None`: all), in input order.
    pub fn batches(&self, columns: Option<&[String]>, input: &str) -> Result<BatchIter<'_>> {
        Ok(BatchIter {
            source: self,
            columns: columns.map(|c| c.to_vec()),
            input: input.to_string(),
            file: 0,
            reader: None,
            memory: 0,
            first_schema: None,
        })
    }
}

fn open(file: &PathBuf) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let name = file.display().to_string();
    let handle = File::open(file).map_err(|e| io_err(&name, e))?;
    ParquetRecordBatchReaderBuilder::try_new(handle)
        .map_err(|e| io_err(&name, format!("not a readable Parquet file: {e}")))
}

pub struct BatchIter<'a> {
    source: &'a BatchSource,
    columns: Option<Vec<String>>,
    input: String,
    file: usize,
    reader: Option<ParquetRecordBatchReader>,
    memory: usize,
    first_schema: Option<SchemaRef>,
}

impl BatchIter<'_> {
    fn open_next_file(&mut self, files: &[PathBuf]) -> Result<Option<ParquetRecordBatchReader>> {
        let Some(file) = files.get(self.file) else {
            return Ok(None);
        };
        let name = file.display().to_string();
        let builder = open(file)?;
        let builder = match &self.columns {
            Some(wanted) => super::parquet_files::project(builder, wanted, &name, &self.input)?,
            None => builder,
        };
        let reader = builder
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| io_err(&name, e))?;
        let schema = arrow::record_batch::RecordBatchReader::schema(&reader);
        match &self.first_schema {
            None => self.first_schema = Some(schema),
            Some(first) if first.fields() != schema.fields() => {
                return Err(schema_err(format!(
                    "{}: {} has a different schema from {}",
                    self.input,
                    name,
                    files[0].display()
                )))
            }
            Some(_) => {}
        }
        Ok(Some(reader))
    }
}

impl Iterator for BatchIter<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.source {
            BatchSource::Memory(table) => {
                let batch = table.batches.get(self.memory)?;
                self.memory += 1;
                Some(match &self.columns {
                    None => Ok(batch.clone()),
                    Some(names) => project_batch(batch, names),
                })
            }
            BatchSource::Files(files) => loop {
                if self.reader.is_none() {
                    match self.open_next_file(files) {
                        Ok(Some(r)) => self.reader = Some(r),
                        Ok(None) => return None,
                        Err(e) => {
                            self.file = files.len();
                            return Some(Err(e));
                        }
                    }
                }
                let reader = self.reader.as_mut()?;
                match reader.next() {
                    Some(Ok(batch)) => return Some(Ok(batch)),
                    Some(Err(e)) => {
                        let name = files[self.file].display().to_string();
                        self.file = files.len();
                        self.reader = None;
                        return Some(Err(io_err(name, format!("cannot decode: {e}"))));
                    }
                    None => {
                        self.reader = None;
                        self.file += 1;
                    }
                }
            },
        }
    }
}

/// The columns `names` of `batch`, in the batch's order (like a Parquet projection).
pub(super) fn project_batch(batch: &RecordBatch, names: &[String]) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut indices: Vec<usize> = names
        .iter()
        .map(|n| {
            schema
                .index_of(n)
                .map_err(|_| schema_err(format!("column {n:?} not found")))
        })
        .collect::<Result<_>>()?;
    indices.sort_unstable();
    indices.dedup();
    Ok(batch.project(&indices)?)
}

/// Keep `InputTable` usable as a batch source.
impl From<InputTable> for BatchSource {
    fn from(table: InputTable) -> Self {
        BatchSource::Memory(table)
    }
}
