//! A unit's label columns put back in input order. Each row's route says where its labels are:
//! the next unused row of its partition's piece, or — for the predictions no partition holds —
//! a fixed row of the default labels (see `routes::PENDING` / `CLOSED`).
//!
//! Most rows are `CLOSED`, so a column is first filled with the closed defaults, then the other
//! rows are patched in.

use std::sync::Arc;

use arrow::array::{
    downcast_primitive_array, Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray, UInt32Array,
};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::compute::{concat, take};
use arrow::util::bit_util;

use super::routes::{CLOSED, PENDING};
use crate::error::{LwError, Result};

/// Where a unit's labels come from, as rows of the concatenation of the partitions' pieces
/// (those with rows here, in partition order; `counts[p]` rows of partition `p`) followed by the
/// two default rows (pending, then closed).
pub(super) struct Gather {
    rows: usize,
    /// The closed default's row in the concatenation.
    closed: u32,
    /// (row, source row) of every row that is not `CLOSED`, in row order.
    patches: Vec<(u32, u32)>,
}

impl Gather {
    pub fn new(ids: &[u8], counts: &[usize]) -> Result<Gather> {
        if u32::try_from(ids.len() + 2).is_err() {
            return Err(LwError::Data(
                "internal error: too many rows in one unit of the output".into(),
            ));
        }
        // The next source row of each route.
        let mut next = [u32::MAX; 256];
        let mut offset = 0u32;
        for (p, &c) in counts.iter().enumerate() {
            if c > 0 {
                next[p] = offset;
                offset += c as u32;
            }
        }
        next[PENDING as usize] = offset;
        // Partitions' rows advance; the pending default row is used again and again.
        let mut step = [1u32; 256];
        step[PENDING as usize] = 0;
        let routed = ids.iter().filter(|&&r| r != CLOSED).count();
        let mut patches = Vec::with_capacity(routed);
        for (row, &route) in ids.iter().enumerate() {
            if route == CLOSED {
                continue;
            }
            let r = route as usize;
            if next[r] == u32::MAX {
                return Err(LwError::Data(
                    "internal error: a route names no partition".into(),
                ));
            }
            patches.push((row as u32, next[r]));
            next[r] += step[r];
        }
        Ok(Gather {
            rows: ids.len(),
            closed: offset + 1,
            patches,
        })
    }

    /// One label column: `pieces` (the partitions' rows, then the two default rows) gathered.
    pub fn column(&self, pieces: &[&dyn Array]) -> Result<ArrayRef> {
        let concatenated = concat(pieces)?;
        let all = concatenated.as_ref();
        downcast_primitive_array!(
            all => Ok(self.primitive(all)),
            _ => self.any(all)
        )
    }

    fn primitive<T: ArrowPrimitiveType>(&self, all: &PrimitiveArray<T>) -> ArrayRef {
        let closed = self.closed as usize;
        let mut values = vec![all.values()[closed]; self.rows];
        for &(row, source) in &self.patches {
            values[row as usize] = all.values()[source as usize];
        }
        let nulls = all.nulls().map(|sources| {
            let closed_valid = sources.is_valid(closed);
            let mut bits = BooleanBuffer::collect_bool(self.rows, |_| closed_valid)
                .into_inner()
                .to_vec();
            for &(row, source) in &self.patches {
                if sources.is_valid(source as usize) {
                    bit_util::set_bit(&mut bits, row as usize);
                } else {
                    bit_util::unset_bit(&mut bits, row as usize);
                }
            }
            NullBuffer::new(BooleanBuffer::new(bits.into(), 0, self.rows))
        });
        let array = PrimitiveArray::<T>::new(values.into(), nulls.filter(|n| n.null_count() > 0))
            .with_data_type(all.data_type().clone());
        Arc::new(array)
    }

    /// Any other type: taken row by row.
    fn any(&self, all: &dyn Array) -> Result<ArrayRef> {
        let mut indices = vec![self.closed; self.rows];
        for &(row, source) in &self.patches {
            indices[row as usize] = source;
        }
        Ok(take(all, &UInt32Array::from(indices), None)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, DurationMicrosecondArray, Int64Array, Int8Array, StringArray};
    use arrow::datatypes::{DurationMicrosecondType, Int64Type, Int8Type};

    /// Partitions 0 and 2 have rows (1 has none); defaults interleaved.
    fn routes() -> (Vec<u8>, Vec<usize>) {
        (
            vec![
                CLOSED, 2, 0, PENDING, 0, 2, CLOSED, 2, 0, 2, PENDING, CLOSED,
            ],
            vec![3, 0, 4],
        )
    }

    #[test]
    fn rows_in_route_order_with_defaults() {
        let (ids, counts) = routes();
        let gather = Gather::new(&ids, &counts).unwrap();
        let a = Int64Array::from(vec![Some(10), None, Some(12)]);
        let b = Int64Array::from(vec![Some(20), Some(21), None, Some(23)]);
        // A closed default that is valid (labels 0) ...
        let defaults = Int64Array::from(vec![None, Some(0)]);
        let out = gather.column(&[&a, &b, &defaults]).unwrap();
        let expected = Int64Array::from(vec![
            Some(0),
            Some(20),
            Some(10),
            None,
            None,
            Some(21),
            Some(0),
            None,
            Some(12),
            Some(23),
            None,
            Some(0),
        ]);
        assert_eq!(out.as_primitive::<Int64Type>(), &expected);
        // ... and one that is null (delays), with no other nulls among the pieces.
        let a = DurationMicrosecondArray::from(vec![1, 2, 3]);
        let b = DurationMicrosecondArray::from(vec![4, 5, 6, 7]);
        let defaults = DurationMicrosecondArray::from(vec![None, None]);
        let out = gather.column(&[&a, &b, &defaults]).unwrap();
        let got: Vec<Option<i64>> = out
            .as_primitive::<DurationMicrosecondType>()
            .iter()
            .collect();
        let want = [None, Some(4), Some(1), None, Some(2), Some(5)];
        assert_eq!(got[..6], want);
        assert_eq!(got[6..], [None, Some(6), Some(3), Some(7), None, None]);
    }

    #[test]
    fn null_pieces_a_null_closed_default_and_a_parameterised_type() {
        use arrow::array::TimestampMillisecondArray;
        let (ids, counts) = routes();
        let gather = Gather::new(&ids, &counts).unwrap();
        let zoned = |v: Vec<Option<i64>>| TimestampMillisecondArray::from(v).with_timezone("UTC");
        let a = zoned(vec![Some(10), None, Some(12)]);
        let b = zoned(vec![None, Some(21), None, Some(23)]);
        let defaults = zoned(vec![Some(-1), None]);
        let out = gather.column(&[&a, &b, &defaults]).unwrap();
        assert_eq!(out.data_type(), a.data_type());
        let got: Vec<Option<i64>> = out
            .as_primitive::<arrow::datatypes::TimestampMillisecondType>()
            .iter()
            .collect();
        let want = [
            None,
            None,
            Some(10),
            Some(-1),
            None,
            Some(21),
            None,
            None,
            Some(12),
            Some(23),
            Some(-1),
            None,
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn without_nulls_the_column_has_no_null_buffer() {
        let gather = Gather::new(&[CLOSED, 0, CLOSED], &[1]).unwrap();
        let a = Int8Array::from(vec![1]);
        let defaults = Int8Array::from(vec![0, 0]);
        let out = gather.column(&[&a, &defaults]).unwrap();
        assert!(out.nulls().is_none());
        assert_eq!(out.as_primitive::<Int8Type>().values(), &[0, 1, 0]);
    }

    #[test]
    fn strings_too() {
        let (ids, counts) = routes();
        let gather = Gather::new(&ids, &counts).unwrap();
        let a = StringArray::from(vec!["a0", "a1", "a2"]);
        let b = StringArray::from(vec!["b0", "b1", "b2", "b3"]);
        let defaults = StringArray::from(vec!["pending", "closed"]);
        let out = gather.column(&[&a, &b, &defaults]).unwrap();
        let got: Vec<&str> = out.as_string::<i32>().iter().flatten().collect();
        assert_eq!(
            got,
            [
                "closed", "b0", "a0", "pending", "a1", "b1", "closed", "b2", "a2", "b3", "pending",
                "closed"
            ]
        );
    }

    #[test]
    fn a_route_to_an_empty_partition_is_an_error() {
        assert!(Gather::new(&[1], &[1, 0]).is_err());
        assert!(Gather::new(&[7], &[1, 0]).is_err());
    }
}
