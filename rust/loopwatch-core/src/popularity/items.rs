//! Item (and user) values: interned to dense ids, compared by value whatever their Arrow type
//! (integers of any width, strings of any layout, dictionaries).

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;

use crate::error::{schema_err, LwError, Result};
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

/// Dense ids for values, in first-seen order. Ids never say anything about value order; use
/// `ranks` for that.
#[derive(Clone, Debug)]
pub enum Interner {
    Int {
        ids: HashMap<i128, u32>,
        values: Vec<i128>,
    },
    Str {
        ids: HashMap<Box<[u8]>, u32>,
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
                ids: HashMap::new(),
                values: Vec::new(),
            },
            ValueKind::Str => Interner::Str {
                ids: HashMap::new(),
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
            Interner::Int { ids, values } => *ids.entry(v).or_insert_with(|| {
                values.push(v);
                (values.len() - 1) as u32
            }),
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

    /// Value ranks: `ranks[id]` orders ids by value (numbers numerically, strings by bytes).
    pub fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        match self {
            Interner::Int { values, .. } => order.sort_unstable_by_key(|&i| values[i as usize]),
            Interner::Str { values, .. } => {
                order.sort_unstable_by(|&a, &b| values[a as usize].cmp(&values[b as usize]))
            }
        }
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
