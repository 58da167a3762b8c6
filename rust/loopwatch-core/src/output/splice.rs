//! A Parquet file made of a source file's row groups plus new columns. The source's column
//! chunks are copied byte for byte — no decoding, no re-encoding, which is most of the cost of
//! writing a labeled log — and only the new (label) columns are encoded.
//!
//! Valid only when every source file has the same Parquet schema (`copyable_footers`): the
//! copied chunks keep their encodings, compression and statistics, and the footer describes
//! them with the first file's column types.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::column::page::PageReader;
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::{
    ColumnChunkMetaData, ParquetMetaData, ParquetMetaDataReader, RowGroupMetaData,
};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::serialized_reader::SerializedPageReader;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{SchemaDescriptor, Type};

use super::fill::ChunkCopy;
use super::splice_file::SpliceFile;
use crate::error::{io_err, LwError, Result};

/// The footer of a Parquet file (for its row groups and column chunks).
pub fn read_footer(path: &Path) -> Result<(File, ParquetMetaData)> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| io_err(&name, e))?;
    let metadata = ParquetMetaDataReader::new()
        .parse_and_finish(&file)
        .map_err(|e| io_err(&name, format!("not a readable Parquet file: {e}")))?;
    Ok((file, metadata))
}

/// The footers of `files` if their column chunks can be copied into one output: do they share
/// one Parquet schema (column types, repetition, nesting), with every chunk inside its own
/// file, and is every row group's estimated working size (`group_bytes`) at most
/// `max_group_bytes`? (`None` if not.)
pub fn copyable_footers(
    files: &[impl AsRef<Path>],
    group_bytes: impl Fn(&RowGroupMetaData) -> u64,
    max_group_bytes: u64,
) -> Result<Option<Vec<ParquetMetaData>>> {
    let mut footers: Vec<ParquetMetaData> = Vec::with_capacity(files.len());
    for file in files {
        let (_, metadata) = read_footer(file.as_ref())?;
        let elsewhere = metadata
            .row_groups()
            .iter()
            .any(|g| g.columns().iter().any(|c| c.file_path().is_some()));
        let too_big = metadata
            .row_groups()
            .iter()
            .any(|g| group_bytes(g) > max_group_bytes);
        let root = metadata.file_metadata().schema_descr().root_schema();
        let other_schema = footers
            .first()
            .is_some_and(|f| f.file_metadata().schema_descr().root_schema() != root);
        if elsewhere || too_big || other_schema {
            return Ok(None);
        }
        footers.push(metadata);
    }
    Ok(Some(footers))
}

/// A chunk is copied without decoding, but not blindly: its page headers must parse, fit the
/// chunk and hold as many values as the footer says. (A damaged byte inside a compressed page
/// is copied as the input holds it: the output is then exactly as readable as the input.)
fn check_pages<R: ChunkReader>(
    source: &Arc<R>,
    column: &ColumnChunkMetaData,
    rows: usize,
) -> Result<()> {
    let mut pages = SerializedPageReader::new(source.clone(), column, rows, None)?;
    let mut values = 0usize;
    while let Some(page) = pages.peek_next_page()? {
        if !page.is_dict {
            values += page.num_levels.unwrap_or(0);
        }
        pages.skip_next_page()?;
    }
    if values as i64 != column.num_values() {
        return Err(LwError::Data(format!(
            "its pages hold {values} values, the footer says {}",
            column.num_values()
        )));
    }
    Ok(())
}

/// Encodes new columns into Parquet column chunks, one row group at a time (independent of any
/// file, so it can run on another thread than the writer).
pub struct ColumnEncoder {
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    parquet: SchemaDescriptor,
}

impl ColumnEncoder {
    pub fn new(schema: SchemaRef, properties: Arc<WriterProperties>) -> Result<ColumnEncoder> {
        let parquet = ArrowSchemaConverter::new()
            .with_coerce_types(properties.coerce_types())
            .convert(&schema)?;
        // The factory only reads the schema and properties off a writer; this one writes nowhere.
        let scratch =
            SerializedFileWriter::new(std::io::sink(), parquet.root_schema_ptr(), properties)?;
        let factory = ArrowRowGroupWriterFactory::new(&scratch, schema.clone());
        Ok(ColumnEncoder {
            factory,
            schema,
            parquet,
        })
    }

    /// The encoded chunks of `columns` (in schema order) for row group `index`, one column at
    /// a time (preparing a column for Parquet — level and value indices — costs up to 25
    /// bytes a row: all at once, that times the label columns).
    pub fn encode(&self, index: usize, columns: &[ArrayRef]) -> Result<Vec<ArrowColumnChunk>> {
        let mismatch = || LwError::Data("internal error: leaves and column writers differ".into());
        let mut writers = self.factory.create_column_writers(index)?.into_iter();
        let mut chunks = Vec::with_capacity(writers.len());
        for (field, array) in self.schema.fields().iter().zip(columns) {
            for leaf in compute_leaves(field, array)? {
                let mut writer = writers.next().ok_or_else(mismatch)?;
                writer.write(&leaf)?;
                drop(leaf);
                let mut chunk = writer.close()?;
                // The copied chunks come without page indexes, and a footer must have them for
                // every column or none (the writer panics on a mix).
                chunk.close_mut().column_index = None;
                chunk.close_mut().offset_index = None;
                chunks.push(chunk);
            }
        }
        if writers.next().is_some() {
            return Err(mismatch());
        }
        Ok(chunks)
    }
}

/// A Parquet file written row group by row group: a source row group's chunks, then new ones.
pub struct SpliceWriter {
    writer: SerializedFileWriter<SpliceFile>,
    /// The source file being copied from, opened once (shared by its copies: `fill`).
    source: Option<(PathBuf, Arc<File>)>,
    /// Where the output is written (named by write errors).
    path: PathBuf,
}

/// Check row group `group` of the file at `path` before its chunks are copied: every chunk's
/// page headers are read (not the pages) — on any thread.
pub fn check_row_group(path: &Path, group: &RowGroupMetaData) -> Result<()> {
    let name = path.display().to_string();
    let source = Arc::new(File::open(path).map_err(|e| io_err(&name, e))?);
    let file_len = source.metadata().map_err(|e| io_err(&name, e))?.len();
    for column in group.columns() {
        let start = raw_chunk_start(column);
        let size = column.compressed_size();
        let inside = start >= 0
            && size >= 0
            && (start as u64)
                .checked_add(size as u64)
                .is_some_and(|end| end <= file_len);
        if !inside {
            return Err(io_err(
                &name,
                format!(
                    "column {}: its chunk ({size} bytes at {start}) is not inside the file",
                    column.column_path()
                ),
            ));
        }
        check_pages(&source, column, group.num_rows().max(0) as usize).map_err(|e| {
            io_err(
                &name,
                format!("cannot decode column {}: {e}", column.column_path()),
            )
        })?;
    }
    Ok(())
}

/// What the Parquet writer copies for a spliced chunk: `left` placeholder bytes, which
/// `SpliceFile` drops (leaving a hole that `fill` fills with the source's bytes).
struct Placeholders {
    left: u64,
}

impl Length for Placeholders {
    fn len(&self) -> u64 {
        u64::MAX
    }
}

impl ChunkReader for Placeholders {
    type T = Placeholders;

    fn get_read(&self, _start: u64) -> parquet::errors::Result<Self::T> {
        Ok(Placeholders { left: self.left })
    }

    fn get_bytes(&self, _start: u64, _length: usize) -> parquet::errors::Result<Bytes> {
        Err(ParquetError::General(
            "internal error: spliced chunks are not read".into(),
        ))
    }
}

impl std::io::Read for Placeholders {
    /// Any bytes will do (they are dropped): the buffer is left as it is.
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left);
        self.left -= n;
        Ok(n as usize)
    }
}

impl SpliceWriter {
    /// `source` is the source files' Parquet schema, `schema` the whole output's Arrow schema
    /// (the source's fields, then `encoder`'s), embedded so readers get the same Arrow types.
    pub fn create(
        path: &Path,
        source: &SchemaDescriptor,
        encoder: &ColumnEncoder,
        schema: &Schema,
        mut properties: WriterProperties,
    ) -> Result<SpliceWriter> {
        let mut fields = source.root_schema().get_fields().to_vec();
        fields.extend(encoder.parquet.root_schema().get_fields().iter().cloned());
        let root = Type::group_type_builder(source.root_schema().name())
            .with_fields(fields)
            .build()?;
        add_encoded_arrow_schema_to_metadata(schema, &mut properties);
        // Read and write: the holes are filled through a mapping.
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| io_err(path.display().to_string(), e))?;
        let file = SpliceFile::new(file);
        let writer = SerializedFileWriter::new(file, Arc::new(root), Arc::new(properties))?;
        Ok(SpliceWriter {
            writer,
            source: None,
            path: path.to_path_buf(),
        })
    }

    /// One output row group: `group`'s column chunks copied from the file at `source` (checked
    /// by `check_row_group`), then `encoded`.
    pub fn write_row_group(
        &mut self,
        source: &Path,
        group: &RowGroupMetaData,
        encoded: Vec<ArrowColumnChunk>,
    ) -> Result<()> {
        let name = source.display().to_string();
        if self.source.as_ref().is_none_or(|(path, _)| path != source) {
            let file = File::open(source).map_err(|e| io_err(&name, e))?;
            self.source = Some((source.to_path_buf(), Arc::new(file)));
        }
        let file = self
            .source
            .as_ref()
            .map(|(_, f)| f.clone())
            .ok_or_else(|| LwError::Data("internal error: no source file to copy from".into()))?;
        // The copied chunks' places in the output: one after another from the current end.
        let mut starts = Vec::with_capacity(group.columns().len());
        let mut at = self.writer.bytes_written() as u64;
        for column in group.columns() {
            let len = column.compressed_size().max(0) as u64;
            self.writer
                .inner_mut()
                .expect(ChunkCopy {
                    start: at,
                    len,
                    source: file.clone(),
                    offset: chunk_start(column),
                })
                .map_err(|e| io_err(&name, e))?;
            starts.push(at);
            at += len;
        }
        let mut out = self.writer.next_row_group()?;
        for column in group.columns() {
            let chunk = ColumnCloseResult {
                bytes_written: column.compressed_size() as u64,
                rows_written: group.num_rows() as u64,
                metadata: column.clone(),
                bloom_filter: None,
                column_index: None,
                offset_index: None,
            };
            let left = column.compressed_size().max(0) as u64;
            out.append_column(&Placeholders { left }, chunk)?;
        }
        for chunk in encoded {
            chunk.append_to_row_group(&mut out)?;
        }
        let written = out.close()?;
        // The writer put each chunk where its copy went (else the footer would point elsewhere).
        for (column, &start) in written.columns().iter().zip(&starts) {
            if chunk_start(column) != start {
                return Err(LwError::Data(
                    "internal error: a copied column chunk is not where the footer says".into(),
                ));
            }
        }
        Ok(())
    }

    /// Copy the chunks of the row groups written so far (several at once).
    pub fn fill_holes(&mut self) -> Result<()> {
        let filled = self.writer.inner_mut().fill_holes();
        filled.map_err(|e| write_error(&self.path, e))
    }

    pub fn finish(self) -> Result<()> {
        let file = self.writer.into_inner()?; // the footer written and flushed through
        file.finish().map_err(|e| write_error(&self.path, e))
    }
}

fn write_error(path: &Path, e: std::io::Error) -> LwError {
    io_err(path.display().to_string(), format!("cannot write: {e}"))
}

/// Where a column chunk's bytes begin: its dictionary page, if any, else its first data page
/// (as the footer says: `check_row_group` refuses a negative one).
fn raw_chunk_start(column: &ColumnChunkMetaData) -> i64 {
    column
        .dictionary_page_offset()
        .unwrap_or(column.data_page_offset())
}

fn chunk_start(column: &ColumnChunkMetaData) -> u64 {
    raw_chunk_start(column).max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array};
    use arrow::record_batch::RecordBatch;
    use parquet::arrow::ArrowWriter;

    #[test]
    fn a_chunk_outside_its_file_is_refused_naming_the_file() {
        let path = std::env::temp_dir().join(format!("lw-check-{}.parquet", std::process::id()));
        let values: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let batch = RecordBatch::try_from_iter([("x", values)]).unwrap();
        let file = File::create(&path).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let (_, meta) = read_footer(&path).unwrap();
        let group = meta.row_group(0);
        check_row_group(&path, group).unwrap();
        let len = std::fs::metadata(&path).unwrap().len() as i64;
        for offset in [len - 2, -5] {
            let column = group
                .column(0)
                .clone()
                .into_builder()
                .set_dictionary_page_offset(None)
                .set_data_page_offset(offset)
                .build()
                .unwrap();
            let moved = group
                .clone()
                .into_builder()
                .set_column_metadata(vec![column])
                .build()
                .unwrap();
            let err = check_row_group(&path, &moved).unwrap_err().to_string();
            assert!(
                err.contains("not inside the file") && err.contains("lw-check-"),
                "{err}"
            );
        }
        std::fs::remove_file(&path).unwrap();
    }
}
