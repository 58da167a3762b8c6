//! The label columns of the predictions in input order (pass 4 of the streaming join): each
//! partition's labels, read in its row order, and the settled rows' default labels, interleaved
//! as the routes say.

use arrow::array::{Array, ArrayRef};
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use super::interleave::Gather;
use super::routes::{changed_input, Routes, PENDING};
use crate::error::{LwError, Result};
use crate::spill::PartitionReader;

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
