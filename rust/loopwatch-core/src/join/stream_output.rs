//! Pass 4 of the streaming join: the labeled rows, in input order.
//!
//! The label columns come from the `Labeler` (the routes recorded in pass 2 replayed), so the
//! key columns are not decoded again. Two writers:
//! - `write_spliced`: Parquet predictions to Parquet, all parts with one Parquet schema — each
//!   input row group becomes an output row group, its column chunks copied byte for byte, only
//!   the label columns encoded (no decoding of the predictions at all);
//! - `write_decoded`: anything else — predictions read again, label columns appended, encoded.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use parquet::arrow::arrow_writer::ArrowColumnChunk;
use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
use rayon::prelude::*;

use super::labeler::Labeler;
use crate::error::{LwError, Result};
use crate::input::BatchSource;
use crate::output::{
    check_row_group, read_footer, writer_properties, ColumnEncoder, Destination, ParquetSink,
    SpliceWriter,
};
use crate::pipeline::{overlapped, pipeline};
use crate::progress::Progress;

/// A row group ready to write: its file and index, rows and encoded labels.
type Prepared = (usize, usize, usize, Vec<ArrowColumnChunk>);

/// Write the labeled predictions by copying the Parquet files' column chunks and encoding only
/// the label columns (see the module comment for when this is valid).
pub(super) fn write_spliced(
    inputs: &SpliceInputs,
    mut labeler: Labeler,
    destination: &Destination,
    schema: &SchemaRef,
    metadata: &[(String, String)],
    memory_limit: u64,
    progress: &mut Progress,
) -> Result<()> {
    let properties = writer_properties(schema, metadata);
    let encoder = ColumnEncoder::new(labeler.schema.clone(), Arc::new(properties.clone()))?;
    let SpliceInputs { files, footers } = inputs;
    let source_schema = footers[0].file_metadata().schema_descr_ptr();
    let work: Vec<(usize, usize, usize)> = footers
        .iter()
        .enumerate()
        .flat_map(|(f, meta)| {
            meta.row_groups()
                .iter()
                .enumerate()
                .map(move |(g, group)| (f, g, group.num_rows().max(0) as usize))
        })
        .collect();
    // Row groups in windows: a window's source chunks are checked (page headers), and its
    // labels gathered, interleaved and encoded, in parallel while the previous window is
    // written here (its chunks copied file to file). The window being prepared takes at most
    // half of the budget; the one being written holds only its encoded label chunks.
    let largest = footers
        .iter()
        .flat_map(|meta| meta.row_groups())
        .map(|g| spliced_group_bytes(g, &labeler.schema))
        .max()
        .unwrap_or(0);
    let threads = rayon::current_num_threads().max(1) as u64;
    let window = (memory_limit / 2 / largest.max(1)).clamp(1, 2 * threads) as usize;
    let mut pending = work.into_iter();
    let mut index = 0;
    let encoder = &encoder;
    let produce = || {
        let next: Vec<(usize, usize, usize)> = pending.by_ref().take(window).collect();
        if next.is_empty() {
            return Ok(None);
        }
        let sizes: Vec<usize> = next.iter().map(|w| w.2).collect();
        let labels = labeler.next_window(&sizes)?;
        let first = index;
        index += next.len();
        let encoded = next
            .into_par_iter()
            .zip(labels)
            .enumerate()
            .map(|(i, ((f, g, rows), labels))| {
                crate::interrupt::check()?;
                check_row_group(&files[f], footers[f].row_group(g))?;
                let columns = labels.columns()?;
                drop(labels); // the partitions' pieces, interleaved into `columns`
                let encoded = encoder.encode(first + i, &columns)?;
                Ok((f, g, rows, encoded))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(encoded))
    };
    let mut current: Option<usize> = None; // the file whose row groups are being copied
    let mut writer: Option<SpliceWriter> = None;
    let new_writer = |part: usize| {
        SpliceWriter::create(
            &destination.part_path(part),
            &source_schema,
            encoder,
            schema,
            properties.clone(),
        )
    };
    let mut write =
        |writer: &mut Option<SpliceWriter>, (f, g, rows, chunks): Prepared| -> Result<usize> {
            if current != Some(f) {
                if destination.is_parts() {
                    if let Some(w) = writer.take() {
                        w.finish()?;
                    }
                    // Parts for files without row groups (skipped by the work list) come first.
                    let previous = current.map_or(0, |p| p + 1);
                    for empty in previous..f {
                        new_writer(empty)?.finish()?;
                    }
                }
                current = Some(f);
            }
            if writer.is_none() {
                *writer = Some(new_writer(if destination.is_parts() { f } else { 0 })?);
            }
            let out = writer.as_mut().ok_or_else(internal)?;
            out.write_row_group(&files[f], footers[f].row_group(g), chunks)?;
            Ok(rows)
        };
    overlapped("labeled output", produce, |window: Vec<Prepared>| {
        let mut rows = 0;
        for prepared in window {
            rows += write(&mut writer, prepared)?;
        }
        // The window's copied chunks, several at once (a finished part's are copied already;
        // a hole whose placeholders still sit in the Parquet writer's buffer waits for the
        // next window).
        if let Some(w) = writer.as_mut() {
            w.fill_holes()?;
        }
        progress.advance(rows as u64);
        Ok(())
    })?;
    labeler.check_finished()?;
    if let Some(w) = writer.take() {
        w.finish()?;
    }
    // Files after the last one with rows (or every file, when none has rows) still get a part.
    let written = current.map_or(0, |f| f + 1);
    if destination.is_parts() {
        for empty in written..files.len() {
            new_writer(empty)?.finish()?;
        }
    } else if written == 0 {
        new_writer(0)?.finish()?;
    }
    Ok(())
}

fn internal() -> LwError {
    LwError::Data("internal error: no open output part".into())
}

/// Write (or, without a destination, return) the labeled predictions by reading them again,
/// whole, and appending the label columns. A directory of parts gets one part per input file
/// (one for an in-memory table).
pub(super) fn write_decoded(
    predictions: &BatchSource,
    mut labeler: Labeler,
    destination: Option<&Destination>,
    schema: &SchemaRef,
    metadata: &[(String, String)],
    progress: &mut Progress,
) -> Result<Vec<RecordBatch>> {
    let mut parts = match destination {
        Some(d) => Some(PartWriter {
            destination: d,
            schema: schema.clone(),
            metadata,
            sizes: part_sizes(predictions, d.is_parts())?,
            index: 0,
            sink: None,
        }),
        None => None,
    };
    let mut batches = Vec::new();
    // Decoding and labeling on a helper thread, encoding here: the two overlap.
    let labeled = predictions.batches(None, "predictions")?.map(|batch| {
        let batch = batch?;
        let mut columns = batch.columns().to_vec();
        columns.extend(labeler.next(batch.num_rows())?);
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    });
    pipeline(labeled, |out| {
        crate::interrupt::check()?;
        progress.advance(out.num_rows() as u64);
        match parts.as_mut() {
            Some(p) => p.write(&out),
            None => {
                batches.push(out);
                Ok(())
            }
        }
    })?;
    labeler.check_finished()?;
    if let Some(p) = parts {
        p.finish()?;
    }
    Ok(batches)
}

/// Rows per output part: per input file for a directory of parts, else everything in one.
fn part_sizes(predictions: &BatchSource, parts: bool) -> Result<Vec<u64>> {
    match predictions {
        BatchSource::Files(files) if parts => files
            .iter()
            .map(|f| {
                let (_, meta) = read_footer(f)?;
                Ok(meta.file_metadata().num_rows().max(0) as u64)
            })
            .collect(),
        _ => Ok(vec![predictions.total_rows()?]),
    }
}

/// Batches written to consecutive parts of given sizes (batches never straddle input files).
struct PartWriter<'a> {
    destination: &'a Destination,
    schema: SchemaRef,
    metadata: &'a [(String, String)],
    sizes: Vec<u64>,
    index: usize,
    sink: Option<ParquetSink>,
}

impl PartWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        while self.sizes[self.index] == 0 && self.index + 1 < self.sizes.len() {
            self.close_part()?;
            self.index += 1;
        }
        let rows = batch.num_rows() as u64;
        if rows > self.sizes[self.index] {
            return Err(LwError::Data(
                "internal error: a batch crosses an output part".into(),
            ));
        }
        self.sink()?.write(batch)?;
        self.sizes[self.index] -= rows;
        Ok(())
    }

    fn sink(&mut self) -> Result<&mut ParquetSink> {
        if self.sink.is_none() {
            let path = self.destination.part_path(self.index);
            self.sink = Some(ParquetSink::create(&path, &self.schema, self.metadata)?);
        }
        self.sink.as_mut().ok_or_else(internal)
    }

    /// Finish the current part (an empty one still gets a file).
    fn close_part(&mut self) -> Result<()> {
        self.sink()?;
        match self.sink.take() {
            Some(s) => s.finish(),
            None => Ok(()),
        }
    }

    fn finish(mut self) -> Result<()> {
        self.close_part()?;
        while self.index + 1 < self.sizes.len() {
            self.index += 1;
            self.close_part()?;
        }
        Ok(())
    }
}

/// What the spliced output holds for row group `group` while its labels are prepared: its
/// routes and gather patches (9 bytes a row), its label rows twice (the partitions' pieces,
/// then interleaved), the encoder's work on one column (up to 25 bytes a row) and the encoded
/// chunks (at most the labels' width). Its copied chunks are never held: they go file to file.
fn spliced_group_bytes(group: &RowGroupMetaData, labels: &Schema) -> u64 {
    let row = 3 * crate::spill::row_width(labels) + 34;
    (group.num_rows().max(0) as u64).saturating_mul(row)
}

/// Predictions files whose column chunks can be copied, with their footers (read once).
pub(super) struct SpliceInputs {
    files: Vec<PathBuf>,
    footers: Vec<ParquetMetaData>,
}

/// Is copying the predictions files' column chunks valid, and within `memory_limit`: does one
/// row group being prepared fit half of it (a window of one, as `write_spliced` sizes windows)?
/// Else (`None`) the predictions are decoded and re-encoded batch by batch.
pub(super) fn can_splice(
    files: &[PathBuf],
    labels: &Schema,
    memory_limit: u64,
) -> Result<Option<SpliceInputs>> {
    let group_bytes = |g: &RowGroupMetaData| spliced_group_bytes(g, labels);
    let footers = crate::output::copyable_footers(files, group_bytes, memory_limit / 2)?;
    Ok(footers.map(|footers| SpliceInputs {
        files: files.to_vec(),
        footers,
    }))
}
