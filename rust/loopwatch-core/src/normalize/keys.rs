//! Key columns: integers (any width), strings (utf8, large, view, dictionary) and booleans,
//! compared by value.

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, LargeStringArray, StringArray, StringViewArray,
};
use arrow::buffer::ScalarBuffer;
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Int64Type, UInt64Type};
use xxhash_rust::xxh3::xxh3_64;

use super::hash::{combine, fmix64};
use crate::error::{schema_err, LwError, Result};

/// What a key column compares as; both sides must agree column by column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Int { unsigned64: bool },
    Str,
    Bool,
}

/// Classify a key column's type, refusing floats and anything without exact equality.
pub fn key_kind(data_type: &DataType, column: &str, input: &str) -> Result<KeyKind> {
    use DataType::*;
    match data_type {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 => {
            Ok(KeyKind::Int { unsigned64: false })
        }
        UInt64 => Ok(KeyKind::Int { unsigned64: true }),
        Utf8 | LargeUtf8 | Utf8View => Ok(KeyKind::Str),
        Boolean => Ok(KeyKind::Bool),
        Dictionary(_, values) if matches!(**values, Utf8 | LargeUtf8 | Utf8View) => {
            Ok(KeyKind::Str)
        }
        Dictionary(_, values) if values.is_integer() => key_kind(values, column, input),
        Float16 | Float32 | Float64 | Decimal128(_, _) | Decimal256(_, _) => {
            Err(schema_err(format!(
                "on: key column {column:?} in {input} is {data_type}; floating-point keys do \
                 not compare exactly — use an integer or string column"
            )))
        }
        other => Err(schema_err(format!(
            "on: key column {column:?} in {input} is {other}; expected an integer, string, \
             dictionary-of-string or boolean column"
        ))),
    }
}

pub enum Strings {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
}

impl Strings {
    fn new(array: &ArrayRef) -> Option<Strings> {
        match array.data_type() {
            DataType::Utf8 => Some(Strings::Utf8(array.as_string::<i32>().clone())),
            DataType::LargeUtf8 => Some(Strings::Large(array.as_string::<i64>().clone())),
            DataType::Utf8View => Some(Strings::View(array.as_string_view().clone())),
            _ => None,
        }
    }

    #[inline]
    fn bytes(&self, i: usize) -> &[u8] {
        match self {
            Strings::Utf8(a) => a.value(i).as_bytes(),
            Strings::Large(a) => a.value(i).as_bytes(),
            Strings::View(a) => a.value(i).as_bytes(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Strings::Utf8(a) => a.len(),
            Strings::Large(a) => a.len(),
            Strings::View(a) => a.len(),
        }
    }
}

/// One normalized key column of a chunk. Rows behind a null are never read for value.
pub enum KeyColumn {
    Int(ScalarBuffer<i64>),
    Bool(BooleanArray),
    Str(Strings),
    /// Dictionary-encoded strings: codes into `values`, whose hashes are computed once.
    Dict {
        codes: Vec<usize>,
        values: Strings,
        value_hashes: Vec<u64>,
    },
}

impl KeyColumn {
    /// Normalize `array`; `u64_bits`: both sides are `uint64`, so compare raw bits.
    pub fn new(array: &ArrayRef, u64_bits: bool, column: &str, input: &str) -> Result<KeyColumn> {
        match array.data_type() {
            DataType::Boolean => Ok(KeyColumn::Bool(array.as_boolean().clone())),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Ok(KeyColumn::Str(
                Strings::new(array).expect("string type checked"),
            )),
            DataType::Dictionary(_, value_type) if value_type.is_integer() => {
                let plain = cast_with_options(array, value_type, &CastOptions::default())?;
                KeyColumn::new(&plain, u64_bits, column, input)
            }
            DataType::Dictionary(_, _) => {
                let dict = array.as_any_dictionary();
                let values = Strings::new(dict.values()).ok_or_else(|| {
                    schema_err(format!(
                        "on: dictionary key column {column:?} in {input} has values of an \
                         unsupported type"
                    ))
                })?;
                let value_hashes = (0..values.len())
                    .map(|i| xxh3_64(values.bytes(i)))
                    .collect();
                // An all-null column may come with an empty dictionary, which
                // `normalized_keys` refuses; its rows are invalid and never read.
                let codes = if values.len() == 0 {
                    vec![0; array.len()]
                } else {
                    dict.normalized_keys()
                };
                Ok(KeyColumn::Dict {
                    codes,
                    values,
                    value_hashes,
                })
            }
            DataType::UInt64 if u64_bits => {
                let raw = array.as_primitive::<UInt64Type>().values();
                Ok(KeyColumn::Int(raw.iter().map(|&v| v as i64).collect()))
            }
            DataType::Int64 => Ok(KeyColumn::Int(
                array.as_primitive::<Int64Type>().values().clone(),
            )),
            _ => {
                let options = CastOptions {
                    safe: false,
                    ..Default::default()
                };
                let wide = cast_with_options(array, &DataType::Int64, &options).map_err(|_| {
                    LwError::Data(format!(
                        "on: key column {column:?} in {input} holds values outside the int64 \
                         range while the other side's column is signed; cast both to the same \
                         integer type"
                    ))
                })?;
                Ok(KeyColumn::Int(
                    wide.as_primitive::<Int64Type>().values().clone(),
                ))
            }
        }
    }

    /// Hash every row into `hashes` (the first column starts it, later ones combine).
    pub fn hash_into(&self, hashes: &mut [u64], first: bool) {
        let mut put = |i: usize, h: u64| {
            hashes[i] = if first { h } else { combine(hashes[i], h) };
        };
        match self {
            KeyColumn::Int(values) => {
                for (i, &v) in values.iter().enumerate() {
                    put(i, fmix64(v as u64));
                }
            }
            KeyColumn::Bool(values) => {
                for i in 0..values.len() {
                    put(i, fmix64(values.value(i) as u64 + 0x5bd1_e995));
                }
            }
            KeyColumn::Str(values) => {
                for i in 0..values.len() {
                    put(i, xxh3_64(values.bytes(i)));
                }
            }
            KeyColumn::Dict {
                codes,
                value_hashes,
                ..
            } => {
                for (i, &code) in codes.iter().enumerate() {
                    // Codes of null rows may point anywhere; those rows are invalid anyway.
                    put(i, value_hashes.get(code).copied().unwrap_or(0));
                }
            }
        }
    }

    /// The bytes of a string key at row `i`; `None` for integers and booleans.
    pub fn str_bytes(&self, i: usize) -> Option<&[u8]> {
        match self {
            KeyColumn::Str(values) => Some(values.bytes(i)),
            KeyColumn::Dict { codes, values, .. } => Some(values.bytes(codes[i])),
            _ => None,
        }
    }

    /// The exact value of an integer or boolean key as one word; `None` for strings.
    #[inline]
    pub fn inline_word(&self, i: usize) -> Option<u64> {
        match self {
            KeyColumn::Int(values) => values.get(i).map(|&v| v as u64),
            KeyColumn::Bool(values) => (i < values.len()).then(|| values.value(i) as u64),
            _ => None,
        }
    }

    /// Equal values at row `i` of `self` and row `j` of `other` (same key kind).
    #[inline]
    pub fn equal(&self, i: usize, other: &KeyColumn, j: usize) -> bool {
        match (self, other) {
            (KeyColumn::Int(a), KeyColumn::Int(b)) => a[i] == b[j],
            (KeyColumn::Bool(a), KeyColumn::Bool(b)) => a.value(i) == b.value(j),
            (a, b) => match (a.str_bytes(i), b.str_bytes(j)) {
                (Some(x), Some(y)) => x == y,
                _ => false, // kinds are checked equal when planning
            },
        }
    }
}
