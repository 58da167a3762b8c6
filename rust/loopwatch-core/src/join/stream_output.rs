//! Pass 3 of the streaming join: the labeled rows, in input order.
//!
//! Each prediction row's partition was recorded in pass 1 (`Routes`); replaying it says which
//! partition's labels come next, so the key columns are not decoded again. Two writers:
//! - `write_spliced`: Parquet predictions to Parquet, all parts with one Parquet schema — each
//!   input row group becomes an output row group, its column chunks copied byte for byte, only
//!   the label columns encoded (no decoding of the predictions at all);
//! - `write_decoded`: anything else — predictions read again, label columns appended, encoded.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, UInt32Array};
use arrow::compute::{concat_batches, take_record_batch};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};

use crate::error::{io_err, LwError, Result};
use crate::input::BatchSource;
use crate::output::{
    read_footer, writer_properties, ColumnEncoder, Destination, ParquetSink, SpliceWriter,
};
use crate::pipeline::{pipeline, pipeline3};
use crate::progress::Progress;
use crate::spill::{PartitionReader, TempDir};

/// The partition of every prediction row, in input order: recorded while splitting (pass 1),
/// replayed when writing (pass 3). One byte per row, spilled with the partitions.
pub(super) enum Routes {
    /// One partition: every row goes to 0, nothing to record.
    Single,
    Spilled {
        path: PathBuf,
        writer: Option<BufWriter<File>>,
        reader: Option<BufReader<File>>,
    },
}

// A route is one byte.
const _: () = assert!(crate::spill::MAX_PARTITIONS <= 256);

impl Routes {
    pub fn new(parts: usize, temp: Option<&TempDir>) -> Result<Routes> {
        match temp {
            Some(dir) if parts > 1 => {
                let path = dir.path().join("routes.bin");
                let file =
                    File::create(&path).map_err(|e| io_err(path.display().to_string(), e))?;
                Ok(Routes::Spilled {
                    path,
                    writer: Some(BufWriter::with_capacity(1 << 20, file)),
                    reader: None,
                })
            }
            _ => Ok(Routes::Single),
        }
    }

    pub fn record(&mut self, ids: &[u32]) -> Result<()> {
        if let Routes::Spilled {
            path,
            writer: Some(w),
            ..
        } = self
        {
            // Partitions number at most `MAX_PARTITIONS`: one byte each.
            let bytes: Vec<u8> = ids.iter().map(|&p| p as u8).collect();
            w.write_all(&bytes)
                .map_err(|e| io_err(path.display().to_string(), e))?;
        }
        Ok(())
    }

    /// The partitions of the next `n` rows (the recording is finished on the first call).
    pub fn next(&mut self, n: usize) -> Result<Vec<u8>> {
        let Routes::Spilled {
            path,
            writer,
            reader,
        } = self
        else {
            return Ok(vec![0; n]);
        };
        let name = || path.display().to_string();
        if let Some(mut w) = writer.take() {
            w.flush().map_err(|e| io_err(name(), e))?;
        }
        if reader.is_none() {
            let file = File::open(&*path).map_err(|e| io_err(name(), e))?;
            *reader = Some(BufReader::with_capacity(1 << 20, file));
        }
        let mut bytes = vec![0u8; n];
        if let Some(r) = reader.as_mut() {
            r.read_exact(&mut bytes).map_err(|e| io_err(name(), e))?;
        }
        Ok(bytes)
    }
}

/// The label columns of the predictions, in input order: each partition's labels (in its row
/// order) interleaved as the routes say.
pub(super) struct Labeler {
    pub readers: Vec<LabelReader>,
    pub routes: Routes,
    pub schema: SchemaRef,
}

impl Labeler {
    /// Every route and every partition's labels used up? (Anything left means pass 3 saw other
    /// rows than pass 1 — e.g. an input file changed in between.)
    pub fn check_finished(&mut self) -> Result<()> {
        let routes_left = match &mut self.routes {
            Routes::Single => false,
            Routes::Spilled { reader, .. } => match reader.as_mut() {
                Some(r) => r.fill_buf().map(|b| !b.is_empty()).unwrap_or(true),
                None => false,
            },
        };
        let mut labels_left = false;
        for r in &mut self.readers {
            labels_left |= r.has_rows()?;
        }
        if routes_left || labels_left {
            return Err(LwError::Data(
                "the predictions read for the output differ from those joined (did an input \
                 file change during the call?)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Label columns of the next `n` prediction rows.
    pub fn next(&mut self, n: usize) -> Result<Vec<ArrayRef>> {
        let ids = self.routes.next(n)?;
        gather(&mut self.readers, &ids, &self.schema)
    }
}

/// Write the labeled predictions by copying the Parquet files' column chunks and encoding only
/// the label columns (see the module comment for when this is valid).
pub(super) fn write_spliced(
    files: &[PathBuf],
    mut labeler: Labeler,
    destination: &Destination,
    schema: &SchemaRef,
    metadata: &[(String, String)],
    progress: &mut Progress,
) -> Result<()> {
    let properties = writer_properties(schema, metadata);
    let encoder = ColumnEncoder::new(labeler.schema.clone(), Arc::new(properties.clone()))?;
    // Every file's footer, read once: row groups to label and copy.
    let footers: Vec<ParquetMetaData> = files
        .iter()
        .map(|f| read_footer(f).map(|(_, meta)| meta))
        .collect::<Result<_>>()?;
    let source_schema = footers[0].file_metadata().schema_descr_ptr();
    // Three stages on three threads: labels gathered, encoded, written here with the copied
    // chunks (the gathering and the encoding cost about the same).
    let work = footers.iter().enumerate().flat_map(|(f, meta)| {
        meta.row_groups()
            .iter()
            .enumerate()
            .map(move |(g, group)| (f, g, group.num_rows().max(0) as usize))
    });
    let labeled = work.map(|(f, g, rows)| Ok((f, g, rows, labeler.next(rows)?)));
    let mut index = 0;
    let encode = |(f, g, rows, columns): (usize, usize, usize, Vec<ArrayRef>)| {
        index += 1;
        Ok((f, g, rows, encoder.encode(index - 1, &columns)?))
    };
    let mut open: Option<(usize, File)> = None; // the file whose chunks are being copied
    let mut writer: Option<SpliceWriter> = None;
    let new_writer = |part: usize| {
        SpliceWriter::create(
            &destination.part_path(part),
            &source_schema,
            &encoder,
            schema,
            properties.clone(),
        )
    };
    pipeline3(labeled, encode, |(f, g, rows, chunks)| {
        crate::interrupt::check()?;
        if open.as_ref().is_none_or(|(current, _)| *current != f) {
            let name = files[f].display().to_string();
            let file = File::open(&files[f]).map_err(|e| io_err(name, e))?;
            if destination.is_parts() {
                if let Some(w) = writer.take() {
                    w.finish()?;
                }
                // Parts for files without row groups (skipped by the work list) come first.
                let previous = open.as_ref().map_or(0, |(p, _)| p + 1);
                for empty in previous..f {
                    new_writer(empty)?.finish()?;
                }
            }
            open = Some((f, file));
        }
        let (_, file) = open.as_ref().ok_or_else(internal)?;
        if writer.is_none() {
            writer = Some(new_writer(if destination.is_parts() { f } else { 0 })?);
        }
        let out = writer.as_mut().ok_or_else(internal)?;
        out.write_row_group(
            file,
            &files[f].display().to_string(),
            footers[f].row_group(g),
            chunks,
        )?;
        progress.advance(rows as u64);
        Ok(())
    })?;
    labeler.check_finished()?;
    if let Some(w) = writer.take() {
        w.finish()?;
    }
    // Files after the last one with rows (or every file, when none has rows) still get a part.
    let written = open.as_ref().map_or(0, |(f, _)| f + 1);
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

/// Reads a partition's label rows in order, a few at a time.
pub(super) struct LabelReader {
    reader: PartitionReader,
    current: Option<RecordBatch>,
    offset: usize,
}

impl LabelReader {
    pub fn new(reader: PartitionReader) -> LabelReader {
        LabelReader {
            reader,
            current: None,
            offset: 0,
        }
    }

    /// Are rows left to take?
    fn has_rows(&mut self) -> Result<bool> {
        loop {
            if self
                .current
                .as_ref()
                .is_some_and(|b| self.offset < b.num_rows())
            {
                return Ok(true);
            }
            self.current = self.reader.next_batch()?;
            self.offset = 0;
            if self.current.is_none() {
                return Ok(false);
            }
        }
    }

    /// The next `n` rows as one batch.
    fn take(&mut self, n: usize) -> Result<RecordBatch> {
        let mut pieces = Vec::new();
        let mut left = n;
        while left > 0 {
            if self
                .current
                .as_ref()
                .is_none_or(|b| self.offset == b.num_rows())
            {
                self.current = self.reader.next_batch()?;
                self.offset = 0;
            }
            let Some(batch) = &self.current else {
                return Err(LwError::Data(
                    "internal error: a partition's labels ended early".into(),
                ));
            };
            let step = left.min(batch.num_rows() - self.offset);
            pieces.push(batch.slice(self.offset, step));
            self.offset += step;
            left -= step;
        }
        match pieces.len() {
            1 => Ok(pieces.remove(0)),
            _ => Ok(concat_batches(&pieces[0].schema(), &pieces)?),
        }
    }
}

/// Label columns for rows routed by `ids`: each partition's next rows, interleaved.
fn gather(readers: &mut [LabelReader], ids: &[u8], schema: &SchemaRef) -> Result<Vec<ArrayRef>> {
    if ids.is_empty() {
        return Ok(RecordBatch::new_empty(schema.clone()).columns().to_vec());
    }
    let mut counts = vec![0usize; readers.len()];
    for &p in ids {
        let count = counts
            .get_mut(p as usize)
            .ok_or_else(|| LwError::Data("internal error: a route names no partition".into()))?;
        *count += 1;
    }
    let mut used = Vec::new(); // each partition's next rows, in partition order
    for (p, &c) in counts.iter().enumerate() {
        if c > 0 {
            used.push(readers[p].take(c)?);
        }
    }
    if used.len() == 1 {
        return Ok(used[0].columns().to_vec());
    }
    // Rows of partition p sit at `start[p]..` of the concatenation, in order.
    let mut start = vec![0u32; readers.len()];
    let mut offset = 0u32;
    for (p, &c) in counts.iter().enumerate() {
        start[p] = offset;
        offset += c as u32;
    }
    let indices: UInt32Array = ids
        .iter()
        .map(|&p| {
            start[p as usize] += 1;
            start[p as usize] - 1
        })
        .collect::<Vec<u32>>()
        .into();
    let all = concat_batches(schema, &used)?;
    Ok(take_record_batch(&all, &indices)?.columns().to_vec())
}

/// Is copying column chunks valid for these predictions files, and within `memory_limit`? A
/// row group is held whole — its compressed bytes, its label columns (gathered, concatenated,
/// encoded) — by the few stages of the output pipeline at once: an eighth of the budget each at
/// most, else the predictions are decoded and re-encoded batch by batch.
pub(super) fn can_splice(files: &[impl AsRef<Path>], memory_limit: u64) -> Result<bool> {
    let group_bytes =
        |g: &RowGroupMetaData| g.compressed_size().max(0) as u64 + 64 * g.num_rows().max(0) as u64;
    crate::output::chunks_copyable(files, group_bytes, memory_limit / 8)
}
