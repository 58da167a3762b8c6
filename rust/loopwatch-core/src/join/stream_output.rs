//! Pass 4 of the streaming join: the labeled rows, in input order.
//!
//! Each prediction row's route was recorded in pass 2 (`Routes`); replaying it says whether
//! the row's labels are the next of some partition's or the default labels of a settled row
//! (`PENDING`, `CLOSED`), so the key columns are not decoded again. Two writers:
//! - `write_spliced`: Parquet predictions to Parquet, all parts with one Parquet schema — each
//!   input row group becomes an output row group, its column chunks copied byte for byte, only
//!   the label columns encoded (no decoding of the predictions at all);
//! - `write_decoded`: anything else — predictions read again, label columns appended, encoded.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use parquet::arrow::arrow_writer::ArrowColumnChunk;
use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
use rayon::prelude::*;

use super::interleave::Gather;
use crate::error::{io_err, LwError, Result};
use crate::input::BatchSource;
use crate::output::{
    check_row_group, read_footer, writer_properties, ColumnEncoder, Destination, ParquetSink,
    SpliceWriter,
};
use crate::pipeline::{overlapped, pipeline};
use crate::progress::Progress;
use crate::spill::{PartitionReader, TempDir};

/// The route of a prediction that no partition holds, valid or not, whose labels are all
/// pending: invalid, after the watermark, or no watermark at all.
pub(super) const PENDING: u8 = 254;
/// The route of a valid prediction that no partition holds, with every window closed and
/// nothing credited: its key has no event and it is at least the largest window before the
/// watermark.
pub(super) const CLOSED: u8 = 255;

// A route is one byte: partitions, then the two codes above.
const _: () = assert!(crate::spill::MAX_PARTITIONS <= PENDING as u64);

/// The route of every prediction row, in input order: recorded while splitting (pass 2),
/// replayed when writing (pass 4). One byte per row: in memory when nothing spills, else
/// spilled with the partitions.
pub(super) struct Routes {
    store: RouteStore,
    recorded: u64,
    replayed: u64,
}

enum RouteStore {
    Memory(Vec<u8>),
    Spilled {
        path: PathBuf,
        writer: Option<BufWriter<File>>,
        reader: Option<BufReader<File>>,
    },
}

impl Routes {
    pub fn new(temp: Option<&TempDir>) -> Result<Routes> {
        let store = match temp {
            Some(dir) => {
                let path = dir.path().join("routes.bin");
                let file =
                    File::create(&path).map_err(|e| io_err(path.display().to_string(), e))?;
                RouteStore::Spilled {
                    path,
                    writer: Some(BufWriter::with_capacity(1 << 20, file)),
                    reader: None,
                }
            }
            None => RouteStore::Memory(Vec::new()),
        };
        Ok(Routes {
            store,
            recorded: 0,
            replayed: 0,
        })
    }

    pub fn record(&mut self, ids: &[u8]) -> Result<()> {
        match &mut self.store {
            RouteStore::Memory(bytes) => bytes.extend_from_slice(ids),
            RouteStore::Spilled {
                path,
                writer: Some(w),
                ..
            } => w
                .write_all(ids)
                .map_err(|e| io_err(path.display().to_string(), e))?,
            RouteStore::Spilled { .. } => {
                return Err(LwError::Data(
                    "internal error: routes recorded after replaying began".into(),
                ))
            }
        }
        self.recorded += ids.len() as u64;
        Ok(())
    }

    /// The routes of the next `n` rows (the recording is finished on the first call).
    pub fn next(&mut self, n: usize) -> Result<Vec<u8>> {
        let start = self.replayed;
        if start + n as u64 > self.recorded {
            return Err(changed_input());
        }
        self.replayed += n as u64;
        match &mut self.store {
            RouteStore::Memory(bytes) => Ok(bytes[start as usize..start as usize + n].to_vec()),
            RouteStore::Spilled {
                path,
                writer,
                reader,
            } => {
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
    }

    /// Are routes left to replay?
    fn has_more(&self) -> bool {
        self.replayed < self.recorded
    }
}

/// Pass 4 saw other rows than pass 2.
fn changed_input() -> LwError {
    LwError::Data(
        "the predictions read for the output differ from those joined (did an input file \
         change during the call?)"
            .into(),
    )
}

/// The label columns of the predictions, in input order: each partition's labels (in its row
/// order) and the default labels interleaved as the routes say.
pub(super) struct Labeler {
    pub readers: Vec<LabelReader>,
    pub routes: Routes,
    pub schema: SchemaRef,
    /// The labels of the rows routed `PENDING` (row 0) and `CLOSED` (row 1).
    pub defaults: RecordBatch,
}

impl Labeler {
    /// Every route and every partition's labels used up? (Anything left means pass 4 saw other
    /// rows than pass 2 — e.g. an input file changed in between.)
    pub fn check_finished(&mut self) -> Result<()> {
        let routes_left = self.routes.has_more();
        let mut labels_left = false;
        for r in &mut self.readers {
            labels_left |= r.has_rows()?;
        }
        if routes_left || labels_left {
            return Err(changed_input());
        }
        Ok(())
    }

    /// Label columns of the next `n` prediction rows, read on this thread (which need not be
    /// one of the pool's: `write_decoded` calls it from a plain helper thread).
    pub fn next(&mut self, n: usize) -> Result<Vec<ArrayRef>> {
        let mut window = self.read_window(&[n], false)?;
        let labels = window.pop().ok_or_else(|| {
            LwError::Data("internal error: no labels for a batch of predictions".into())
        })?;
        labels.columns()
    }

    /// The labels of the next units of `sizes` rows each, in order: each partition's rows read
    /// for all of them (partitions in parallel, on the pool), to be interleaved with
    /// `UnitLabels::columns`.
    pub fn next_window(&mut self, sizes: &[usize]) -> Result<Vec<UnitLabels>> {
        self.read_window(sizes, true)
    }

    fn read_window(&mut self, sizes: &[usize], parallel: bool) -> Result<Vec<UnitLabels>> {
        let parts = self.readers.len();
        let mut routes = Vec::with_capacity(sizes.len());
        let mut counts = Vec::with_capacity(sizes.len());
        for &n in sizes {
            let ids = self.routes.next(n)?;
            counts.push(count_routes(&ids, parts)?);
            routes.push(ids);
        }
        // taken[p][u]: partition p's rows for unit u (`None`: none).
        let take = |(p, reader): (usize, &mut LabelReader)| {
            counts
                .iter()
                .map(|c| (c[p] > 0).then(|| reader.take(c[p])).transpose())
                .collect::<Result<Vec<_>>>()
        };
        let taken: Vec<Vec<Option<RecordBatch>>> = if parallel {
            self.readers
                .par_iter_mut()
                .enumerate()
                .map(take)
                .collect::<Result<_>>()?
        } else {
            self.readers
                .iter_mut()
                .enumerate()
                .map(take)
                .collect::<Result<_>>()?
        };
        let units = routes
            .into_iter()
            .zip(counts)
            .enumerate()
            .map(|(u, (ids, counts))| UnitLabels {
                used: taken.iter().filter_map(|t| t[u].clone()).collect(),
                ids,
                counts,
                defaults: self.defaults.clone(),
                schema: self.schema.clone(),
            })
            .collect();
        Ok(units)
    }
}

/// The label rows of one unit of predictions, still grouped by partition.
pub(super) struct UnitLabels {
    /// Each row's route, in input order.
    ids: Vec<u8>,
    /// Rows per partition.
    counts: Vec<usize>,
    /// The partitions' rows (those with any), in partition order.
    used: Vec<RecordBatch>,
    defaults: RecordBatch,
    schema: SchemaRef,
}

impl UnitLabels {
    /// The label columns in input order.
    pub fn columns(&self) -> Result<Vec<ArrayRef>> {
        if self.ids.is_empty() {
            return Ok(RecordBatch::new_empty(self.schema.clone())
                .columns()
                .to_vec());
        }
        let routed: usize = self.counts.iter().sum();
        if self.used.len() == 1 && routed == self.ids.len() {
            return Ok(self.used[0].columns().to_vec()); // one partition's rows, in order
        }
        let gather = Gather::new(&self.ids, &self.counts)?;
        (0..self.schema.fields().len())
            .map(|c| {
                let mut pieces: Vec<&dyn Array> =
                    self.used.iter().map(|b| b.column(c).as_ref()).collect();
                pieces.push(self.defaults.column(c).as_ref());
                gather.column(&pieces)
            })
            .collect()
    }
}

/// Rows per partition among `ids` (the `PENDING` and `CLOSED` rows are in none).
fn count_routes(ids: &[u8], parts: usize) -> Result<Vec<usize>> {
    let mut counts = [0usize; 256];
    for &p in ids {
        counts[p as usize] += 1;
    }
    if counts[parts..PENDING as usize].iter().any(|&c| c > 0) {
        return Err(LwError::Data(
            "internal error: a route names no partition".into(),
        ));
    }
    Ok(counts[..parts].to_vec())
}

/// A row group ready to write: its file and index, rows and encoded labels.
type Prepared = (usize, usize, usize, Vec<ArrowColumnChunk>);

/// Write the labeled predictions by copying the Parquet files' column chunks and encoding only
/// the label columns (see the module comment for when this is valid).
pub(super) fn write_spliced(
    files: &[PathBuf],
    mut labeler: Labeler,
    destination: &Destination,
    schema: &SchemaRef,
    metadata: &[(String, String)],
    memory_limit: u64,
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
    // written here (its chunks copied file to file). Per row group, counted generously: twice
    // its compressed size and its label rows twice (the partitions' pieces, then interleaved);
    // two windows' worth takes at most half of the budget.
    let label_row = 2 * crate::spill::row_width(&labeler.schema) + 4;
    let largest = footers
        .iter()
        .flat_map(|meta| meta.row_groups())
        .map(|g| {
            (2 * g.compressed_size().max(0) as u64)
                .saturating_add((g.num_rows().max(0) as u64).saturating_mul(label_row))
        })
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
                let encoded = encoder.encode(first + i, &labels.columns()?)?;
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
    let mut write = |(f, g, rows, chunks): Prepared| {
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
            writer = Some(new_writer(if destination.is_parts() { f } else { 0 })?);
        }
        let out = writer.as_mut().ok_or_else(internal)?;
        out.write_row_group(&files[f], footers[f].row_group(g), chunks)?;
        progress.advance(rows as u64);
        Ok(())
    };
    overlapped("labeled output", produce, |window: Vec<_>| {
        window.into_iter().try_for_each(&mut write)
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

/// Is copying column chunks valid for these predictions files, and within `memory_limit`? A
/// row group is held whole — its compressed bytes, its label columns (gathered, concatenated,
/// encoded) — by the few stages of the output pipeline at once: an eighth of the budget each at
/// most, else the predictions are decoded and re-encoded batch by batch.
pub(super) fn can_splice(files: &[impl AsRef<Path>], memory_limit: u64) -> Result<bool> {
    let group_bytes =
        |g: &RowGroupMetaData| g.compressed_size().max(0) as u64 + 64 * g.num_rows().max(0) as u64;
    crate::output::chunks_copyable(files, group_bytes, memory_limit / 8)
}
