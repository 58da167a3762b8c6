//! Bring both sides to one comparable form: keys that hash and compare by value whatever their
//! Arrow type, and times as `i64` in one common unit.

mod hash;
mod keys;
mod time;

pub use hash::{combine, fmix64};
pub use keys::{key_kind, KeyColumn, KeyKind};
pub use time::{time_kind, to_common_unit, TimeKind};

use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::record_batch::RecordBatch;

use crate::error::Result;

/// How one side's columns are read: which columns, and how to convert them.
pub struct SideLayout {
    /// Name of the input ("predictions" / "feedback") for errors.
    pub input: &'static str,
    pub key_columns: Vec<usize>,
    pub key_names: Vec<String>,
    /// Per key column: read unsigned 64-bit integers by their bits (both sides are `uint64`).
    pub key_u64_bits: Vec<bool>,
    pub time_column: usize,
    pub time_name: String,
    /// Multiply stored times by this to reach the common unit.
    pub time_factor: i64,
}

/// One slice of rows, normalized: keys, times and which rows are usable.
pub struct Chunk {
    pub len: usize,
    pub keys: Vec<KeyColumn>,
    pub time: ScalarBuffer<i64>,
    /// Rows with a non-null time and no null key; `None` = all.
    pub valid: Option<NullBuffer>,
}

impl Chunk {
    pub fn from_batch(batch: &RecordBatch, layout: &SideLayout) -> Result<Chunk> {
        let mut valid: Option<NullBuffer> = None;
        let mut keys = Vec::with_capacity(layout.key_columns.len());
        for (k, &col) in layout.key_columns.iter().enumerate() {
            let array = batch.column(col);
            valid = NullBuffer::union(valid.as_ref(), array.logical_nulls().as_ref());
            let name = &layout.key_names[k];
            keys.push(KeyColumn::new(
                array,
                layout.key_u64_bits[k],
                name,
                layout.input,
            )?);
        }
        let time_array = batch.column(layout.time_column);
        valid = NullBuffer::union(valid.as_ref(), time_array.logical_nulls().as_ref());
        let time = to_common_unit(
            time_array,
            layout.time_factor,
            &layout.time_name,
            layout.input,
        )?;
        Ok(Chunk {
            len: batch.num_rows(),
            keys,
            time,
            valid: valid.filter(|v| v.null_count() > 0),
        })
    }

    #[inline]
    pub fn is_valid(&self, row: usize) -> bool {
        self.valid.as_ref().is_none_or(|v| v.is_valid(row))
    }

    /// One 64-bit hash per row of the key columns, `& mask` (meaningless for invalid rows).
    pub fn key_hashes(&self, mask: u64) -> Vec<u64> {
        let mut hashes = vec![0u64; self.len];
        for (k, key) in self.keys.iter().enumerate() {
            key.hash_into(&mut hashes, k == 0);
        }
        if mask != u64::MAX {
            hashes.iter_mut().for_each(|h| *h &= mask);
        }
        hashes
    }

    /// The exact key of row `i` as two words (only meaningful when the plan
    /// says the keys fit: at most two integer or boolean columns).
    #[inline]
    pub fn inline_key(&self, i: usize) -> [u64; 2] {
        let mut words = [0u64; 2];
        for (w, key) in words.iter_mut().zip(&self.keys) {
            *w = key.inline_word(i).unwrap_or(0);
        }
        words
    }

    /// Do row `i` here and row `j` of `other` hold equal keys? (both rows valid)
    #[inline]
    pub fn keys_equal(&self, i: usize, other: &Chunk, j: usize) -> bool {
        self.keys
            .iter()
            .zip(&other.keys)
            .all(|(a, b)| a.equal(i, b, j))
    }
}
