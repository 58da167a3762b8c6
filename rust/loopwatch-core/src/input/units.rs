//! A source cut into pieces that can be read independently — Parquet row groups, slices of
//! in-memory batches — so that several threads decode at once while the results are still used
//! in input order (`crate::pipeline::overlapped`).

use std::fs::File;
use std::path::PathBuf;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;

use super::batches::project_batch;
pub use super::batches::BATCH_ROWS;
use super::BatchSource;
use crate::error::{io_err, schema_err, Result};

/// One independently readable piece of a source, in input order.
#[derive(Clone, Copy, Debug)]
pub enum Unit {
    /// Row group `group` of file `file`.
    RowGroup {
        file: usize,
        group: usize,
        rows: usize,
    },
    /// Rows `offset..offset + rows` of in-memory batch `batch`.
    Slice {
        batch: usize,
        offset: usize,
        rows: usize,
    },
}

impl Unit {
    pub fn rows(&self) -> usize {
        match *self {
            Unit::RowGroup { rows, .. } | Unit::Slice { rows, .. } => rows,
        }
    }
}

/// A Parquet file's footer and the projection to read from it (parsed once, used by every
/// row group's reader).
struct FileReading {
    path: PathBuf,
    metadata: ArrowReaderMetadata,
    mask: ProjectionMask,
}

/// The units of a source with what reading them needs. Every file's footer is read and its
/// projected schema checked against the first file's up front, so a bad part fails before any
/// work is done.
pub struct Units<'a> {
    source: &'a BatchSource,
    files: Vec<FileReading>,
    columns: Option<Vec<String>>,
    pub list: Vec<Unit>,
}

impl<'a> Units<'a> {
    /// The units of `source` reading `columns` (`None`: all); `input` names the source in
    /// errors.
    pub fn new(source: &'a BatchSource, columns: Option<&[String]>, input: &str) -> Result<Self> {
        let mut list = Vec::new();
        let mut files = Vec::new();
        match source {
            BatchSource::Memory(table) => {
                for (b, batch) in table.batches.iter().enumerate() {
                    for offset in (0..batch.num_rows()).step_by(BATCH_ROWS) {
                        let rows = BATCH_ROWS.min(batch.num_rows() - offset);
                        list.push(Unit::Slice {
                            batch: b,
                            offset,
                            rows,
                        });
                    }
                }
            }
            BatchSource::Files(paths) => {
                let mut first: Option<SchemaRef> = None;
                for (f, path) in paths.iter().enumerate() {
                    let reading = open(path, columns, input)?;
                    let schema = projected_schema(&reading)?;
                    match &first {
                        None => first = Some(schema),
                        Some(s) if s.fields() != schema.fields() => {
                            return Err(schema_err(format!(
                                "{input}: {} has a different schema from {}",
                                path.display(),
                                paths[0].display()
                            )))
                        }
                        Some(_) => {}
                    }
                    for (g, group) in reading.metadata.metadata().row_groups().iter().enumerate() {
                        let rows = group.num_rows().max(0) as usize;
                        if rows > 0 {
                            list.push(Unit::RowGroup {
                                file: f,
                                group: g,
                                rows,
                            });
                        }
                    }
                    files.push(reading);
                }
            }
        }
        Ok(Units {
            source,
            files,
            columns: columns.map(|c| c.to_vec()),
            list,
        })
    }

    /// Does every unit come from an in-memory batch (small slices, never a whole row group)?
    pub fn in_memory(&self) -> bool {
        matches!(self.source, BatchSource::Memory(_))
    }

    /// Rows of the largest unit.
    pub fn max_rows(&self) -> usize {
        self.list.iter().map(Unit::rows).max().unwrap_or(0)
    }

    /// The batches of `unit` (at most `BATCH_ROWS` rows each), in order, decoded one at a
    /// time as they are taken (a row group is never held decoded whole).
    pub fn read(&self, unit: Unit) -> Result<UnitBatches<'_>> {
        match (unit, self.source) {
            (
                Unit::Slice {
                    batch,
                    offset,
                    rows,
                },
                BatchSource::Memory(table),
            ) => {
                let slice = table.batches[batch].slice(offset, rows);
                let slice = match &self.columns {
                    None => slice,
                    Some(names) => project_batch(&slice, names)?,
                };
                Ok(Box::new(std::iter::once(Ok(slice))))
            }
            (Unit::RowGroup { file, group, .. }, BatchSource::Files(_)) => {
                let reading = &self.files[file];
                let name = reading.path.display().to_string();
                let handle = File::open(&reading.path).map_err(|e| io_err(&name, e))?;
                let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
                    handle,
                    reading.metadata.clone(),
                )
                .with_projection(reading.mask.clone())
                .with_row_groups(vec![group])
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(|e| io_err(&name, e))?;
                Ok(Box::new(reader.map(move |batch| {
                    batch.map_err(|e| io_err(&name, format!("cannot decode: {e}")))
                })))
            }
            _ => Err(crate::error::LwError::Data(
                "internal error: a unit of another source".into(),
            )),
        }
    }
}

/// A unit's batches, decoded as they are taken.
pub type UnitBatches<'a> = Box<dyn Iterator<Item = Result<RecordBatch>> + Send + 'a>;

fn open(path: &PathBuf, columns: Option<&[String]>, input: &str) -> Result<FileReading> {
    let name = path.display().to_string();
    let handle = File::open(path).map_err(|e| io_err(&name, e))?;
    let metadata = ArrowReaderMetadata::load(&handle, ArrowReaderOptions::default())
        .map_err(|e| io_err(&name, format!("not a readable Parquet file: {e}")))?;
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(handle, metadata.clone());
    let mask = match columns {
        Some(wanted) => super::parquet_files::projection(&builder, wanted, &name, input)?,
        None => ProjectionMask::all(),
    };
    Ok(FileReading {
        path: path.clone(),
        metadata,
        mask,
    })
}

/// The Arrow schema a file's projection reads (as its reader reports it).
fn projected_schema(reading: &FileReading) -> Result<SchemaRef> {
    let name = reading.path.display().to_string();
    let handle = File::open(&reading.path).map_err(|e| io_err(&name, e))?;
    let reader =
        ParquetRecordBatchReaderBuilder::new_with_metadata(handle, reading.metadata.clone())
            .with_projection(reading.mask.clone())
            .with_row_groups(Vec::new())
            .build()
            .map_err(|e| io_err(&name, e))?;
    Ok(arrow::record_batch::RecordBatchReader::schema(&reader))
}
