//! Item (and user) values: interned to dense ids, compared by value whatever their Arrow type
//! (integers of any width, strings of any layout, dictionaries).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;
use rayon::prelude::*;

use crate::error::{schema_err, LwError, Result};
use crate::normalize::{combine, fmix64};
use crate::normalize::{key_kind, KeyColumn, KeyKind};
use crate::state::codec::{Reader, Writer};

/// Integers and strings are the two kinds of values; both sides of a call must agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Int,
    Str,
}

/// The kind of an item (or user) column, refusing floats, booleans and nested types.
pub fn value_kind(data_type: &DataType, column: &str, argument: &str) -> Result<ValueKind> {
    match key_kind(data_type, column, "the input") {
        Ok(KeyKind::Int { .. }) => Ok(ValueKind::Int),
        Ok(KeyKind::Str) => Ok(ValueKind::Str),
        _ => Err(schema_err(format!(
            "{argument}: column {column:?} is {data_type}; expected an integer, string or \
             dictionary column"
        ))),
    }
}

/// A fixed-seed hasher for interned values: one multiply-xorshift mix per word instead of
/// SipHash (the maps are internal, never keyed by untrusted input across calls).
#[derive(Clone, Copy, Debug, Default)]
pub struct ValueHasher(u64);

impl Hasher for ValueHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.0 = combine(self.0, xxhash_rust::xxh3::xxh3_64(bytes));
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = combine(self.0, v);
    }
    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
    #[inline]
    fn write_i128(&mut self, v: i128) {
        let folded = (v as u64) ^ ((v >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = fmix64(self.0 ^ folded);
    }
}

type ValueMap<K> = HashMap<K, u32, BuildHasherDefault<ValueHasher>>;

/// Integer values within a range this small get ids from a lookup table, not a hash map.
pub fn dense_range_limit(rows: usize) -> i128 {
    ((rows as i128) * 4 + (1 << 16)).min(1 << 26)
}

/// Dense ids for values, in first-seen order. Ids never say anything about value order; use
/// `ranks` for that.
#[derive(Clone, Debug)]
pub enum Interner {
    Int {
        /// Id by value for `values[..mapped]`; values appended by `push_new_int` (the dense
        /// paths, which know a value is new from their lookup table) join the map only when
        /// a lookup by value next needs it, so those paths never pay for hashing.
        ids: ValueMap<i128>,
        values: Vec<i128>,
        mapped: usize,
    },
    Str {
        ids: ValueMap<Box<[u8]>>,
        values: Vec<Box<[u8]>>,
    },
}

/// One column of one batch, ready to read values row by row.
pub struct ValueColumn {
    values: KeyColumn,
    unsigned64: bool,
    len: usize,
    pub nulls: Option<arrow::buffer::NullBuffer>,
}

impl ValueColumn {
    pub fn new(array: &ArrayRef, column: &str) -> Result<ValueColumn> {
        let unsigned64 = matches!(array.data_type(), DataType::UInt64)
            || matches!(array.data_type(), DataType::Dictionary(_, v) if **v == DataType::UInt64);
        Ok(ValueColumn {
            values: KeyColumn::new(array, unsigned64, column, "the input")?,
            unsigned64,
            len: array.len(),
            nulls: array.logical_nulls().filter(|n| n.null_count() > 0),
        })
    }

    #[inline]
    pub fn is_null(&self, i: usize) -> bool {
        self.nulls.as_ref().is_some_and(|n| n.is_null(i))
    }

    /// The integer at row `i` (only for integer columns).
    #[inline]
    pub fn int(&self, i: usize) -> Option<i128> {
        match &self.values {
            KeyColumn::Int(v) if self.unsigned64 => Some(v[i] as u64 as i128),
            KeyColumn::Int(v) => Some(v[i] as i128),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The values as one slice when they are signed integers (not raw uint64 bits) without
    /// nulls: the fast paths read them directly.
    pub fn signed_ints(&self) -> Option<&[i64]> {
        match &self.values {
            KeyColumn::Int(v) if !self.unsigned64 && self.nulls.is_none() => Some(v),
            _ => None,
        }
    }

    /// `[min, max]` of the non-null integers (None for strings or no values).
    pub fn int_range(&self) -> Option<(i128, i128)> {
        let mut out: Option<(i128, i128)> = None;
        for i in 0..self.len {
            if self.is_null(i) {
                continue;
            }
            let v = self.int(i)?;
            out = Some(match out {
                None => (v, v),
                Some((lo, hi)) => (lo.min(v), hi.max(v)),
            });
        }
        out
    }

    #[inline]
    pub fn bytes(&self, i: usize) -> Option<&[u8]> {
        self.values.str_bytes(i)
    }
}

impl Interner {
    pub fn new(kind: ValueKind) -> Interner {
        match kind {
            ValueKind::Int => Interner::Int {
                ids: ValueMap::default(),
                values: Vec::new(),
                mapped: 0,
            },
            ValueKind::Str => Interner::Str {
                ids: ValueMap::default(),
                values: Vec::new(),
            },
        }
    }

    pub fn kind(&self) -> ValueKind {
        match self {
            Interner::Int { .. } => ValueKind::Int,
            Interner::Str { .. } => ValueKind::Str,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Interner::Int { values, .. } => values.len(),
            Interner::Str { values, .. } => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Check that a column of `kind` can be compared with these values.
    pub fn check_kind(&self, kind: ValueKind, column: &str, argument: &str) -> Result<()> {
        if kind != self.kind() {
            return Err(schema_err(format!(
                "{argument}: column {column:?} holds {} values but the popularity items are {}; \
                 items compare by value, so both must be integers or both strings",
                kind_name(kind),
                kind_name(self.kind())
            )));
        }
        Ok(())
    }

    pub fn intern_int(&mut self, v: i128) -> u32 {
        match self {
            Interner::Int {
                ids,
                values,
                mapped,
            } => {
                if *mapped < values.len() {
                    ids.reserve(values.len() - *mapped);
                    for (id, &known) in values.iter().enumerate().skip(*mapped) {
                        ids.insert(known, id as u32);
                    }
                }
                let id = *ids.entry(v).or_insert_with(|| {
                    values.push(v);
                    (values.len() - 1) as u32
                });
                *mapped = values.len();
                id
            }
            Interner::Str { .. } => u32::MAX,
        }
    }

    /// Add an integer the caller knows is not interned yet (it checked a lookup table built
    /// from `values`); its id. Not for string interners.
    pub fn push_new_int(&mut self, v: i128) -> u32 {
        match self {
            Interner::Int { values, .. } => {
                values.push(v);
                (values.len() - 1) as u32
            }
            Interner::Str { .. } => u32::MAX,
        }
    }

    pub fn intern_bytes(&mut self, b: &[u8]) -> u32 {
        match self {
            Interner::Str { ids, values } => {
                if let Some(&id) = ids.get(b) {
                    return id;
                }
                let id = values.len() as u32;
                values.push(b.into());
                ids.insert(b.into(), id);
                id
            }
            Interner::Int { .. } => u32::MAX,
        }
    }

    /// The id of row `i` of `column` (not null), adding it when new.
    #[inline]
    pub fn intern_row(&mut self, column: &ValueColumn, i: usize) -> u32 {
        match column.int(i) {
            Some(v) => self.intern_int(v),
            None => self.intern_bytes(column.bytes(i).unwrap_or_default()),
        }
    }

    /// Ids of every row of `column`, which must have no nulls, interned in row order (the
    /// same ids as `intern_row` row by row). Signed integers in a small range go through a
    /// lookup table and never touch the hash map (new values join it when a lookup needs it).
    pub fn intern_column(&mut self, column: &ValueColumn) -> Vec<u32> {
        if let (Some(values), Interner::Int { .. }) = (column.signed_ints(), &*self) {
            if let Some(ids) = self.intern_ints_dense(values) {
                return ids;
            }
        }
        (0..column.len())
            .map(|i| self.intern_row(column, i))
            .collect()
    }

    /// `intern_column` through a lookup table over the values' range; `None` (nothing
    /// interned) when the range is too wide.
    fn intern_ints_dense(&mut self, values: &[i64]) -> Option<Vec<u32>> {
        let (lo, hi) = min_max(values)?;
        if (hi as i128) - (lo as i128) >= dense_range_limit(values.len()) {
            return None;
        }
        let mut table = vec![u32::MAX; (hi as i128 - lo as i128 + 1) as usize];
        if let Interner::Int { values: known, .. } = &*self {
            for (id, &v) in known.iter().enumerate() {
                if v >= lo as i128 && v <= hi as i128 {
                    table[(v - lo as i128) as usize] = id as u32;
                }
            }
        }
        // Room for the new values up front (one pass marks them), so `values` never regrows.
        let mut new = 0usize;
        for &v in values {
            let slot = &mut table[v.wrapping_sub(lo) as u64 as usize];
            if *slot == u32::MAX {
                *slot = u32::MAX - 1;
                new += 1;
            }
        }
        if let Interner::Int { values: known, .. } = self {
            known.reserve(new);
        }
        Some(
            values
                .iter()
                .map(|&v| {
                    let slot = &mut table[v.wrapping_sub(lo) as u64 as usize];
                    if *slot == u32::MAX - 1 {
                        *slot = self.push_new_int(v as i128);
                    }
                    *slot
                })
                .collect(),
        )
    }

    /// Value ranks: `ranks[id]` orders ids by value (numbers numerically, strings by bytes).
    pub fn ranks(&self) -> Vec<u32> {
        let order: Vec<u32> = match self {
            // Values are distinct: sort (value, id) pairs, narrowed to i64 when they fit.
            Interner::Int { values, .. } if values.iter().all(|&v| v as i64 as i128 == v) => {
                let mut pairs: Vec<(i64, u32)> = values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (v as i64, i as u32))
                    .collect();
                pairs.par_sort_unstable();
                pairs.into_iter().map(|(_, i)| i).collect()
            }
            Interner::Int { values, .. } => {
                let mut pairs: Vec<(i128, u32)> = values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (v, i as u32))
                    .collect();
                pairs.par_sort_unstable();
                pairs.into_iter().map(|(_, i)| i).collect()
            }
            Interner::Str { values, .. } => {
                let mut order: Vec<u32> = (0..self.len() as u32).collect();
                order.par_sort_unstable_by(|&a, &b| values[a as usize].cmp(&values[b as usize]));
                order
            }
        };
        let mut ranks = vec![0u32; order.len()];
        for (rank, &id) in order.iter().enumerate() {
            ranks[id as usize] = rank as u32;
        }
        ranks
    }

    /// The id of the value `other` holds at `id`, interning it here.
    pub fn intern_from(&mut self, other: &Interner, id: u32) -> u32 {
        match other {
            Interner::Int { values, .. } => self.intern_int(values[id as usize]),
            Interner::Str { values, .. } => self.intern_bytes(&values[id as usize]),
        }
    }

    /// A printable value, for error messages.
    pub fn show(&self, id: u32) -> String {
        match self {
            Interner::Int { values, .. } => values[id as usize].to_string(),
            Interner::Str { values, .. } => {
                format!("{:?}", String::from_utf8_lossy(&values[id as usize]))
            }
        }
    }

    /// The `[min, max]` of integer values, if any.
    pub fn int_range(&self) -> Option<(i128, i128)> {
        match self {
            Interner::Int { values, .. } => values.iter().fold(None, |acc, &v| match acc {
                None => Some((v, v)),
                Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
            }),
            Interner::Str { .. } => None,
        }
    }

    pub fn write(&self, out: &mut Writer) {
        match self {
            Interner::Int { values, .. } => {
                out.u8(0);
                out.count(values.len());
                for &v in values {
                    out.bytes(&v.to_le_bytes());
                }
            }
            Interner::Str { values, .. } => {
                out.u8(1);
                out.count(values.len());
                for v in values {
                    out.bytes(v);
                }
            }
        }
    }

    pub fn read(input: &mut Reader) -> Result<Interner> {
        let mut interner = match input.u8()? {
            0 => Interner::new(ValueKind::Int),
            1 => Interner::new(ValueKind::Str),
            tag => return Err(input.corrupt(&format!("value kind {tag}"))),
        };
        let n = input.count()?;
        for _ in 0..n {
            let raw = input.bytes()?;
            let before = interner.len();
            match interner.kind() {
                ValueKind::Int => {
                    let bytes: [u8; 16] =
                        raw.try_into().map_err(|_| input.corrupt("integer value"))?;
                    interner.intern_int(i128::from_le_bytes(bytes));
                }
                ValueKind::Str => {
                    interner.intern_bytes(raw);
                }
            }
            if interner.len() != before + 1 {
                return Err(input.corrupt("repeated value"));
            }
        }
        Ok(interner)
    }
}

/// `(min, max)` of a slice (None when empty).
pub fn min_max(values: &[i64]) -> Option<(i64, i64)> {
    let first = *values.first()?;
    Some(
        values
            .iter()
            .fold((first, first), |(lo, hi), &v| (lo.min(v), hi.max(v))),
    )
}

fn kind_name(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Int => "integer",
        ValueKind::Str => "string",
    }
}

/// Error for a null where a value is required.
pub fn null_error(argument: &str, column: &str, row: usize) -> LwError {
    LwError::Data(format!(
        "{argument}: column {column:?} has a null at row {row}; every row needs a value"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_pushed_without_the_map_are_found_by_lookups() {
        let mut items = Interner::new(ValueKind::Int);
        assert_eq!(items.intern_int(10), 0);
        assert_eq!(items.push_new_int(20), 1);
        assert_eq!(items.push_new_int(-5), 2);
        // Lookups see every value, whichever way it came in, and new ones go on the end.
        assert_eq!(items.intern_int(20), 1);
        assert_eq!(items.intern_int(-5), 2);
        assert_eq!(items.intern_int(10), 0);
        assert_eq!(items.intern_int(30), 3);
        assert_eq!(items.push_new_int(40), 4);
        let copy = items.clone();
        let mut other = Interner::new(ValueKind::Int);
        let ids: Vec<u32> = (0..5).map(|id| other.intern_from(&copy, id)).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4]);
        assert_eq!(other.intern_int(40), 4);
    }

    #[test]
    fn dense_interning_matches_row_by_row_after_pushes() {
        // A second column after the map fell behind: the same ids as interning row by row.
        let mut dense = Interner::new(ValueKind::Int);
        let mut rows = Interner::new(ValueKind::Int);
        let first: Vec<i64> = vec![5, 3, 5, 9];
        let second: Vec<i64> = vec![9, 1, 3, 100, 1];
        for column in [&first, &second] {
            let ids = dense.intern_ints_dense(column).expect("small range");
            let expected: Vec<u32> = column.iter().map(|&v| rows.intern_int(v as i128)).collect();
            assert_eq!(ids, expected);
        }
        assert_eq!(dense.intern_int(100), rows.intern_int(100));
        assert_eq!(dense.len(), rows.len());
    }
}
