//! Item ids of a table's item columns: offsets for small integer ranges, a lookup table for
//! wider signed ranges, the interner for everything else.

use super::*;

/// How rows map to counter slots: by item id (`Chunk::items`), or, for signed integer items
/// in a small range, by the value's offset from `lo`, read straight from the column (no id
/// column is built); `id_of[offset]` / `offset_of[id]` translate when entries are written.
pub(super) enum ItemIndex {
    Ids {
        n_items: usize,
    },
    Offsets {
        lo: i64,
        id_of: Vec<u32>,
        offset_of: Vec<u32>,
    },
}

impl ItemIndex {
    pub(super) fn n_slots(&self) -> usize {
        match self {
            ItemIndex::Ids { n_items } => *n_items,
            ItemIndex::Offsets { id_of, .. } => id_of.len(),
        }
    }
}

/// Offset slots when every item column is signed integers without nulls in a range of at
/// most 2^22 values: a bitmap of the values present interns the new ones (ascending by value,
/// so the ids do not depend on the batch split or thread count). None otherwise.
pub(super) fn offset_index(columns: &[ValueColumn], items: &mut Interner) -> Option<ItemIndex> {
    if !matches!(items, Interner::Int { .. }) {
        return None;
    }
    let signed: Vec<&[i64]> = columns
        .iter()
        .map(|c| c.signed_ints())
        .collect::<Option<_>>()?;
    let rows: usize = signed.iter().map(|c| c.len()).sum();
    let (lo, hi) = signed
        .par_iter()
        .map(|c| min_max(c))
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))?;
    let range = hi as i128 - lo as i128 + 1;
    if range > dense_range_limit(rows) || range > 1 << 22 {
        return None;
    }
    let range = range as usize;
    let words = range.div_ceil(64);
    let seen = signed
        .par_iter()
        .fold(
            || vec![0u64; words],
            |mut bits, column| {
                for &v in column.iter() {
                    let at = v.wrapping_sub(lo) as u64 as usize;
                    bits[at >> 6] |= 1 << (at & 63);
                }
                bits
            },
        )
        .reduce(
            || vec![0u64; words],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x |= y);
                a
            },
        );
    let mut id_of = vec![u32::MAX; range];
    if let Interner::Int { values, .. } = &*items {
        for (id, &v) in values.iter().enumerate() {
            if v >= lo as i128 && v <= hi as i128 {
                id_of[(v - lo as i128) as usize] = id as u32;
            }
        }
    }
    for (at, id) in id_of.iter_mut().enumerate() {
        if *id == u32::MAX && seen[at >> 6] & (1 << (at & 63)) != 0 {
            *id = items.push_new_int(lo as i128 + at as i128); // not in the table: new
        }
    }
    let mut offset_of = vec![u32::MAX; items.len()];
    for (at, &id) in id_of.iter().enumerate() {
        if id != u32::MAX {
            offset_of[id as usize] = at as u32;
        }
    }
    Some(ItemIndex::Offsets {
        lo,
        id_of,
        offset_of,
    })
}

pub(super) fn assign_item_ids(
    chunks: &mut [Chunk],
    columns: &[ValueColumn],
    items: &mut Interner,
) -> Result<()> {
    let rows: usize = columns.iter().map(|c| c.len()).sum();
    let signed: Option<Vec<&[i64]>> = columns.iter().map(|c| c.signed_ints()).collect();
    if let (Some(signed), Interner::Int { .. }) = (signed, &*items) {
        if assign_signed_ids(chunks, &signed, items, rows) {
            return check_item_count(items);
        }
    }
    let range = if matches!(items, Interner::Int { .. }) {
        let ranges: Vec<Option<(i128, i128)>> = columns.par_iter().map(|c| c.int_range()).collect();
        ranges
            .into_iter()
            .chain(std::iter::once(items.int_range()))
            .flatten()
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    } else {
        None
    };
    match range {
        Some((lo, hi)) if hi - lo < dense_range_limit(rows.max(items.len())) => {
            let mut table = vec![u32::MAX; (hi - lo + 1) as usize];
            if let Interner::Int { values, .. } = &*items {
                for (id, &v) in values.iter().enumerate() {
                    table[(v - lo) as usize] = id as u32;
                }
            }
            let missing: Vec<Vec<usize>> = chunks
                .par_iter_mut()
                .zip(columns.par_iter())
                .map(|(chunk, column)| {
                    let mut missing = Vec::new();
                    chunk.items = (0..column.len())
                        .map(|i| {
                            let v = column.int(i).unwrap_or(lo);
                            let id = table[(v - lo) as usize];
                            if id == u32::MAX {
                                missing.push(i);
                            }
                            id
                        })
                        .collect();
                    missing
                })
                .collect();
            for ((chunk, column), missing) in chunks.iter_mut().zip(columns).zip(missing) {
                for i in missing {
                    let v = column.int(i).unwrap_or(lo);
                    let slot = &mut table[(v - lo) as usize];
                    if *slot == u32::MAX {
                        *slot = items.push_new_int(v); // not in the table: new
                    }
                    chunk.items[i] = *slot;
                }
            }
        }
        _ => {
            for (chunk, column) in chunks.iter_mut().zip(columns) {
                chunk.items = (0..column.len())
                    .map(|i| items.intern_row(column, i))
                    .collect();
            }
        }
    }
    check_item_count(items)
}

pub(super) fn check_item_count(items: &Interner) -> Result<()> {
    if items.len() >= u32::MAX as usize {
        return Err(LwError::Data(
            "item: more than 4 billion distinct items".into(),
        ));
    }
    Ok(())
}

/// Item ids of signed integer columns without nulls through a lookup table over their range
/// (values already interned are filled in first; new ones are interned in row order, as the
/// general path does). False, with nothing done, when the range is too wide.
pub(super) fn assign_signed_ids(
    chunks: &mut [Chunk],
    columns: &[&[i64]],
    items: &mut Interner,
    rows: usize,
) -> bool {
    let ranges: Vec<Option<(i64, i64)>> = columns.par_iter().map(|c| min_max(c)).collect();
    let Some((lo, hi)) = ranges
        .into_iter()
        .flatten()
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    else {
        return true; // no rows
    };
    if hi as i128 - lo as i128 >= dense_range_limit(rows) {
        return false;
    }
    let mut table = vec![u32::MAX; (hi as i128 - lo as i128 + 1) as usize];
    if let Interner::Int { values, .. } = &*items {
        for (id, &v) in values.iter().enumerate() {
            if v >= lo as i128 && v <= hi as i128 {
                table[(v - lo as i128) as usize] = id as u32;
            }
        }
    }
    let slot = |v: i64| v.wrapping_sub(lo) as u64 as usize;
    let missing: Vec<bool> = chunks
        .par_iter_mut()
        .zip(columns.par_iter())
        .map(|(chunk, column)| {
            let mut missing = false;
            chunk.items = column
                .iter()
                .map(|&v| {
                    let id = table[slot(v)];
                    missing |= id == u32::MAX;
                    id
                })
                .collect();
            missing
        })
        .collect();
    for ((chunk, column), missing) in chunks.iter_mut().zip(columns).zip(missing) {
        if !missing {
            continue;
        }
        for (id, &v) in chunk.items.iter_mut().zip(column.iter()) {
            if *id == u32::MAX {
                let at = &mut table[slot(v)];
                if *at == u32::MAX {
                    *at = items.push_new_int(v as i128); // not in the table: new
                }
                *id = *at;
            }
        }
    }
    true
}
