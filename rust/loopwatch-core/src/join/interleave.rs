//! A unit's label columns put back in input order. Each row's route says where its labels are:
//! the next unused row of its partition's piece, or — for the predictions no partition holds —
//! a fixed row of the default labels (see `stream_output::PENDING` / `CLOSED`).

use arrow::array::{Array, ArrayRef, UInt32Array};
use arrow::compute::{concat, take};

use super::stream_output::{CLOSED, PENDING};
use crate::error::{LwError, Result};

/// Rows to take from the concatenation of the partitions' pieces (those with rows here, in
/// partition order; `counts[p]` rows of partition `p`) followed by the two default rows
/// (pending, then closed), one per route of `ids`.
pub(super) fn gather_indices(ids: &[u8], counts: &[usize]) -> Result<UInt32Array> {
    // The next row of each route in the concatenation.
    let mut next = [u32::MAX; 256];
    let mut offset = 0u32;
    for (p, &c) in counts.iter().enumerate() {
        if c > 0 {
            next[p] = offset;
            offset += c as u32;
        }
    }
    next[PENDING as usize] = offset;
    next[CLOSED as usize] = offset + 1;
    // Partitions' rows advance; the default rows are used again and again.
    let mut step = [1u32; 256];
    step[PENDING as usize] = 0;
    step[CLOSED as usize] = 0;
    let mut indices = Vec::with_capacity(ids.len());
    for &route in ids {
        let r = route as usize;
        if next[r] == u32::MAX {
            return Err(LwError::Data(
                "internal error: a route names no partition".into(),
            ));
        }
        indices.push(next[r]);
        next[r] += step[r];
    }
    Ok(indices.into())
}

/// One label column: `pieces` (the partitions' rows, then the two default rows) concatenated,
/// then taken at `indices`.
pub(super) fn gather_column(pieces: &[&dyn Array], indices: &UInt32Array) -> Result<ArrayRef> {
    Ok(take(concat(pieces)?.as_ref(), indices, None)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Int64Array, StringArray};
    use arrow::datatypes::Int64Type;

    /// Partitions 0 and 2 have rows (1 has none); defaults interleaved.
    fn routes() -> (Vec<u8>, Vec<usize>) {
        (
            vec![2, 0, PENDING, 0, 2, CLOSED, 2, 0, 2, PENDING],
            vec![3, 0, 4],
        )
    }

    #[test]
    fn rows_in_route_order_with_defaults() {
        let (ids, counts) = routes();
        let indices = gather_indices(&ids, &counts).unwrap();
        let a = Int64Array::from(vec![Some(10), None, Some(12)]);
        let b = Int64Array::from(vec![Some(20), Some(21), None, Some(23)]);
        let defaults = Int64Array::from(vec![None, Some(0)]);
        let out = gather_column(&[&a, &b, &defaults], &indices).unwrap();
        let expected = Int64Array::from(vec![
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
        ]);
        assert_eq!(out.as_primitive::<Int64Type>(), &expected);
    }

    #[test]
    fn strings_too() {
        let (ids, counts) = routes();
        let indices = gather_indices(&ids, &counts).unwrap();
        let a = StringArray::from(vec!["a0", "a1", "a2"]);
        let b = StringArray::from(vec!["b0", "b1", "b2", "b3"]);
        let defaults = StringArray::from(vec!["pending", "closed"]);
        let out = gather_column(&[&a, &b, &defaults], &indices).unwrap();
        let got: Vec<&str> = out.as_string::<i32>().iter().flatten().collect();
        assert_eq!(
            got,
            ["b0", "a0", "pending", "a1", "b1", "closed", "b2", "a2", "b3", "pending"]
        );
    }

    #[test]
    fn a_route_to_an_empty_partition_is_an_error() {
        assert!(gather_indices(&[1], &[1, 0]).is_err());
    }
}
