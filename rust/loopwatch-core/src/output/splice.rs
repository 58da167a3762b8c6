//! A Parquet file made of a source file's row groups plus new columns. The source's column
//! chunks are copied byte for byte — no decoding, no re-encoding, which is most of the cost of
//! writing a labeled log — and only the new (label) columns are encoded.
//!
//! Valid only when every source file has the same Parquet schema (`chunks_copyable`): the
//! copied chunks keep their encodings, compression and statistics, and the footer describes
//! them with the first file's column types.

use std::fs::File;
use std::io::BufWriter;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{Schema, SchemaRef};
use bytes::{Buf, Bytes};
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

/// Can `files`' column chunks be copied into one output: do they share one Parquet schema
/// (column types, repetition, nesting), with every chunk inside its own file, and is every row
/// group's estimated working size (`group_bytes` of its compressed size and rows) at most
/// `max_group_bytes`?
pub fn chunks_copyable(
    files: &[impl AsRef<Path>],
    group_bytes: impl Fn(&RowGroupMetaData) -> u64,
    max_group_bytes: u64,
) -> Result<bool> {
    let mut first: Option<Type> = None;
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
        if elsewhere || too_big {
            return Ok(false);
        }
        let root = metadata
            .file_metadata()
            .schema_descr()
            .root_schema()
            .clone();
        match &first {
            None => first = Some(root),
            Some(f) if *f != root => return Ok(false),
            Some(_) => {}
        }
    }
    Ok(true)
}

/// A chunk is copied without decoding, but not blindly: its page headers must parse, fit the
/// chunk and hold as many values as the footer says. (A damaged byte inside a compressed page
/// is copied as the input holds it: the output is then exactly as readable as the input.)
fn check_pages(
    bytes: &Arc<RowGroupBytes>,
    column: &ColumnChunkMetaData,
    rows: usize,
) -> Result<()> {
    let mut pages = SerializedPageReader::new(bytes.clone(), column, rows, None)?;
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

    /// The encoded chunks of `columns` (in schema order) for row group `index`.
    pub fn encode(&self, index: usize, columns: &[ArrayRef]) -> Result<Vec<ArrowColumnChunk>> {
        let writers = self.factory.create_column_writers(index)?;
        let mut leaves = Vec::with_capacity(writers.len());
        for (field, array) in self.schema.fields().iter().zip(columns) {
            leaves.extend(compute_leaves(field, array)?);
        }
        if leaves.len() != writers.len() {
            return Err(LwError::Data(
                "internal error: leaves and column writers differ in number".into(),
            ));
        }
        writers
            .into_iter()
            .zip(leaves)
            .map(|(mut writer, leaf)| {
                writer.write(&leaf)?;
                let mut chunk = writer.close()?;
                // The copied chunks come without page indexes, and a footer must have them for
                // every column or none (the writer panics on a mix).
                chunk.close_mut().column_index = None;
                chunk.close_mut().offset_index = None;
                Ok(chunk)
            })
            .collect()
    }
}

/// A Parquet file written row group by row group: a source row group's chunks, then new ones.
pub struct SpliceWriter {
    writer: SerializedFileWriter<BufWriter<File>>,
}

/// The bytes of one source row group, read with one call and addressed by file offsets (what
/// `append_column` asks for), so copying a chunk costs no system calls.
#[derive(Clone)]
pub struct RowGroupBytes {
    start: u64,
    data: Bytes,
}

impl RowGroupBytes {
    /// Row group `group` of the file at `path`, read and checked (every chunk's page headers),
    /// ready to be copied by `SpliceWriter::write_row_group` — on any thread.
    pub fn load(path: &Path, group: &RowGroupMetaData) -> Result<RowGroupBytes> {
        let name = path.display().to_string();
        let source = File::open(path).map_err(|e| io_err(&name, e))?;
        let bytes = Arc::new(RowGroupBytes::read(&source, group).map_err(|e| io_err(&name, e))?);
        for column in group.columns() {
            check_pages(&bytes, column, group.num_rows().max(0) as usize).map_err(|e| {
                io_err(
                    &name,
                    format!("cannot decode column {}: {e}", column.column_path()),
                )
            })?;
        }
        Ok(Arc::unwrap_or_clone(bytes))
    }

    fn read(source: &File, group: &RowGroupMetaData) -> Result<RowGroupBytes> {
        let ranges = group.columns().iter().map(|c| {
            let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
            (
                start.max(0) as u64,
                start.max(0) as u64 + c.compressed_size().max(0) as u64,
            )
        });
        let (start, end) = ranges.fold((u64::MAX, 0), |(s, e), (a, b)| (s.min(a), e.max(b)));
        if start >= end {
            return Ok(RowGroupBytes {
                start: 0,
                data: Bytes::new(),
            });
        }
        let mut data = vec![0u8; (end - start) as usize];
        source
            .read_exact_at(&mut data, start)
            .map_err(|e| LwError::Data(format!("cannot read a row group: {e}")))?;
        Ok(RowGroupBytes {
            start,
            data: data.into(),
        })
    }
}

impl Length for RowGroupBytes {
    fn len(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

impl ChunkReader for RowGroupBytes {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(self.get_bytes(start, 0)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let from = start
            .checked_sub(self.start)
            .filter(|&f| f as usize <= self.data.len())
            .ok_or_else(|| ParquetError::General(format!("offset {start} outside the row group")))?
            as usize;
        let to = if length == 0 {
            self.data.len()
        } else {
            from + length
        };
        if to > self.data.len() {
            return Err(ParquetError::General("read past the row group".into()));
        }
        Ok(self.data.slice(from..to))
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
        let file = File::create(path).map_err(|e| io_err(path.display().to_string(), e))?;
        let file = BufWriter::with_capacity(4 << 20, file);
        let writer = SerializedFileWriter::new(file, Arc::new(root), Arc::new(properties))?;
        Ok(SpliceWriter { writer })
    }

    /// One output row group: `group`'s column chunks copied from `bytes` (loaded from the
    /// source file), then `encoded`.
    pub fn write_row_group(
        &mut self,
        bytes: &RowGroupBytes,
        group: &RowGroupMetaData,
        encoded: Vec<ArrowColumnChunk>,
    ) -> Result<()> {
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
            out.append_column(bytes, chunk)?;
        }
        for chunk in encoded {
            chunk.append_to_row_group(&mut out)?;
        }
        out.close()?;
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        self.writer.close()?;
        Ok(())
    }
}
