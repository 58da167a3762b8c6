//! Recommendation lists: rows grouped by `list_id` (lists may span batches and need not be
//! contiguous), ordered by `position` (ties and no position: input order), cut to `k`, placed
//! in the (bucket, segment) group of their first row; then counted per (group, list length L,
//! item) — the integers every metric is finalized from.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::items::{dense_range_limit, min_max, null_error, Interner, ValueColumn};
use super::state::{ItemCount, LengthCounts};
use crate::error::{schema_err, LwError, Result};
use crate::group::{column_index, GroupKey, Grouping};
use crate::normalize::{combine, fmix64, KeyColumn};

/// Where a table's columns are and how lists are cut.
pub struct ListLayout<'a> {
    pub list_id: &'a [String],
    pub item: &'a str,
    pub position: Option<&'a str>,
    pub k: Option<usize>,
}

/// A chunk prepared for list building: the chunk, its runs of equal list ids `(start, end,
/// hash of the list id)` and its item column.
type PreparedChunk = (Chunk, Vec<(u32, u32, u64)>, ValueColumn);

/// One chunk, normalized.
struct Chunk {
    keys: Vec<KeyColumn>,
    items: Vec<u32>,
    positions: Option<Vec<(bool, i64)>>,
    /// Local group of each run (of its first row), indexing `group_keys`.
    run_group: Vec<u32>,
    group_keys: Vec<GroupKey>,
}

#[derive(Clone, Copy)]
struct Run {
    chunk: u32,
    start: u32,
    end: u32,
}

/// Count every list of `batches` (one whole table, in input order). Items are interned into
/// `items`; returns one entry per group with its list count and per-length item counts.
pub fn count_lists(
    batches: &[RecordBatch],
    layout: &ListLayout,
    grouping: &Grouping,
    items: &mut Interner,
) -> Result<Vec<(GroupKey, u64, LengthCounts)>> {
    let mut stages = crate::trace::Stages::start();
    let mut offsets = Vec::with_capacity(batches.len());
    let mut total = 0usize;
    for b in batches {
        offsets.push(total);
        total += b.num_rows();
    }
    // Per chunk: keys, runs of equal list ids, groups, positions, item columns.
    let prepared: Vec<PreparedChunk> = batches
        .par_iter()
        .zip(offsets.par_iter())
        .map(|(batch, &offset)| prepare(batch, offset, layout, grouping))
        .collect::<Result<_>>()?;
    let (mut chunks, run_lists, columns): (Vec<_>, Vec<_>, Vec<_>) = multiunzip(prepared);
    stages.mark("pop: prepare chunks");
    let index = match offset_index(&columns, items) {
        Some(index) => index,
        None => {
            assign_item_ids(&mut chunks, &columns, items)?;
            ItemIndex::Ids {
                n_items: items.len(),
            }
        }
    };
    check_item_count(items)?;
    stages.mark("pop: item ids");

    let mut runs = Vec::new();
    let mut hashes = Vec::new();
    for (c, chunk_runs) in run_lists.iter().enumerate() {
        for &(start, end, hash) in chunk_runs {
            runs.push(Run {
                chunk: c as u32,
                start,
                end,
            });
            hashes.push(hash);
        }
    }
    stages.count("pop: runs", runs.len());
    stages.mark("pop: collect runs");
    let (is_head, next) = link_runs(&runs, &hashes, &chunks);
    stages.mark("pop: link runs");

    // Global group slots (keys in first-seen order); each list goes to the slot of its first
    // run, lists of a slot in input order.
    let mut slot_of: HashMap<GroupKey, u32> = HashMap::new();
    let mut slot_keys: Vec<GroupKey> = Vec::new();
    let mut lists_of_slot: Vec<Vec<u32>> = Vec::new();
    let mut r = 0usize;
    for chunk in &chunks {
        let slots: Vec<u32> = chunk
            .group_keys
            .iter()
            .map(|key| {
                *slot_of.entry(key.clone()).or_insert_with(|| {
                    slot_keys.push(key.clone());
                    lists_of_slot.push(Vec::new());
                    (slot_keys.len() - 1) as u32
                })
            })
            .collect();
        for &group in &chunk.run_group {
            if is_head[r] {
                lists_of_slot[slots[group as usize] as usize].push(r as u32);
            }
            r += 1;
        }
    }
    stages.mark("pop: group slots");
    let n_slots = index.n_slots();
    let lists = Lists {
        runs: &runs,
        next: &next,
        chunks: &chunks,
        columns: &columns,
        index: &index,
        k: layout.k,
    };
    // Parts of one slot's lists: at most PART lists (a list's index within its part fits
    // the u16 stamp) and fewer than 2^32 rows (counts fit u32).
    const PART: usize = u16::MAX as usize;
    let work: Vec<(usize, Vec<(usize, u32)>)> = lists_of_slot
        .par_iter()
        .enumerate()
        .flat_map_iter(|(slot, heads)| {
            let mut parts = Vec::new();
            let mut part: Vec<(usize, u32)> = Vec::new();
            let mut rows = 0u64;
            for &head in heads {
                let len = lists.len_of(head);
                if part.len() == PART || rows + len as u64 >= u32::MAX as u64 {
                    parts.push((slot, std::mem::take(&mut part)));
                    rows = 0;
                }
                rows += len as u64;
                part.push((len, head));
            }
            if !part.is_empty() {
                parts.push((slot, part));
            }
            parts
        })
        .collect();
    // One scratch per worker thread (a Scratch is a few bytes per item, so not one per task).
    let scratch: Vec<std::sync::Mutex<Option<Scratch>>> = (0..rayon::current_num_threads())
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    let parts: Vec<(usize, LengthCounts)> = work
        .into_par_iter()
        .map(|(slot, part)| {
            let at = rayon::current_thread_index().unwrap_or(0) % scratch.len();
            let mut guard = scratch[at].lock().unwrap_or_else(|e| e.into_inner());
            let s = guard.get_or_insert_with(|| Scratch::new(n_slots));
            (slot, lists.count(part, s))
        })
        .collect();
    stages.mark("pop: count lists");
    let mut per_slot: Vec<LengthCounts> = vec![LengthCounts::new(); slot_keys.len()];
    for (slot, counts) in parts {
        super::state::add_length_counts(&mut per_slot[slot], counts);
    }
    stages.mark("pop: merge parts");
    Ok(slot_keys
        .into_iter()
        .zip(lists_of_slot)
        .zip(per_slot)
        .filter(|((_, lists), _)| !lists.is_empty()) // groups of non-first rows only
        .map(|((key, lists), counts)| (key, lists.len() as u64, counts))
        .collect())
}

fn multiunzip<A, B, C>(v: Vec<(A, B, C)>) -> (Vec<A>, Vec<B>, Vec<C>) {
    let mut a = Vec::with_capacity(v.len());
    let mut b = Vec::with_capacity(v.len());
    let mut c = Vec::with_capacity(v.len());
    for (x, y, z) in v {
        a.push(x);
        b.push(y);
        c.push(z);
    }
    (a, b, c)
}

fn prepare(
    batch: &RecordBatch,
    offset: usize,
    layout: &ListLayout,
    grouping: &Grouping,
) -> Result<PreparedChunk> {
    let schema = batch.schema();
    let n = batch.num_rows();
    let mut keys = Vec::with_capacity(layout.list_id.len());
    for name in layout.list_id {
        let array = batch.column(column_index(&schema, name, "list_id")?);
        if let Some(nulls) = array.logical_nulls().filter(|x| x.null_count() > 0) {
            let row = (0..n).find(|&i| nulls.is_null(i)).unwrap_or(0);
            return Err(null_error("list_id", name, offset + row));
        }
        let unsigned64 = matches!(array.data_type(), DataType::UInt64);
        keys.push(KeyColumn::new(array, unsigned64, name, "recommendations")?);
    }
    // Run starts: rows whose list id differs from the previous row's.
    let mut starts: Vec<u32> = Vec::new();
    if n > 0 {
        starts.push(0);
    }
    match keys.as_slice() {
        [KeyColumn::Int(v)] => {
            for i in 1..n {
                if v[i] != v[i - 1] {
                    starts.push(i as u32);
                }
            }
        }
        _ => {
            for i in 1..n {
                if !keys.iter().all(|k| k.equal(i, k, i - 1)) {
                    starts.push(i as u32);
                }
            }
        }
    }
    let runs: Vec<(u32, u32, u64)> = starts
        .iter()
        .enumerate()
        .map(|(j, &start)| {
            let end = starts.get(j + 1).copied().unwrap_or(n as u32);
            (start, end, row_hash(&keys, start as usize))
        })
        .collect();
    let item_col = ValueColumn::new(
        batch.column(column_index(&schema, layout.item, "item")?),
        layout.item,
    )?;
    if item_col.nulls.is_some() {
        let row = (0..n).find(|&i| item_col.is_null(i)).unwrap_or(0);
        return Err(null_error("item", layout.item, offset + row));
    }
    let positions = match layout.position {
        Some(name) => Some(position_keys(
            batch.column(column_index(&schema, name, "position")?),
            name,
        )?),
        None => None,
    };
    // A list's group comes from its first row, so only run starts need one.
    let groups = grouping.assign(&group_rows(batch, grouping, &starts)?)?;
    Ok((
        Chunk {
            keys,
            items: Vec::new(),
            positions,
            run_group: groups.row_group,
            group_keys: groups.keys,
        },
        runs,
        item_col,
    ))
}

/// The grouping columns of `batch` at `rows` (all rows when they are every row).
fn group_rows(batch: &RecordBatch, grouping: &Grouping, rows: &[u32]) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut names: Vec<&str> = grouping.by.iter().map(|c| c.name.as_str()).collect();
    if let Some(b) = &grouping.buckets {
        names.push(&b.column);
    }
    let mut indices = Vec::with_capacity(names.len());
    for name in names {
        let i = column_index(&schema, name, "by")?;
        if !indices.contains(&i) {
            indices.push(i);
        }
    }
    let projected = batch.project(&indices)?;
    if rows.len() == batch.num_rows() {
        return Ok(projected);
    }
    let take = arrow::array::UInt32Array::from(rows.to_vec());
    let columns = projected
        .columns()
        .iter()
        .map(|c| arrow::compute::take(c, &take, None))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new_with_options(
        projected.schema(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows.len())),
    )?)
}

/// Hash of the list id at `row` (equal ids hash equal in every chunk).
fn row_hash(keys: &[KeyColumn], row: usize) -> u64 {
    let mut h = 0u64;
    for (c, key) in keys.iter().enumerate() {
        let v = match key {
            KeyColumn::Int(v) => fmix64(v[row] as u64),
            KeyColumn::Bool(v) => fmix64(v.value(row) as u64 + 0x5bd1_e995),
            other => xxh3_64(other.str_bytes(row).unwrap_or_default()),
        };
        h = if c == 0 { v } else { combine(h, v) };
    }
    h
}

/// Sort keys of a position column: integers by value, floats in total order, nulls last.
fn position_keys(array: &ArrayRef, column: &str) -> Result<Vec<(bool, i64)>> {
    let nulls = array.logical_nulls();
    let is_null = |i: usize| nulls.as_ref().is_some_and(|n| n.is_null(i));
    let values: Vec<i64> = match array.data_type() {
        t if t.is_integer() || matches!(t, DataType::Dictionary(_, v) if v.is_integer()) => {
            let options = CastOptions {
                safe: false,
                ..Default::default()
            };
            let wide = cast_with_options(array, &DataType::Int64, &options).map_err(|_| {
                LwError::Data(format!(
                    "position: column {column:?} holds values outside the int64 range"
                ))
            })?;
            wide.as_primitive::<Int64Type>().values().to_vec()
        }
        t if t.is_floating() => {
            let wide = cast_with_options(array, &DataType::Float64, &CastOptions::default())?;
            wide.as_primitive::<Float64Type>()
                .values()
                .iter()
                .map(|f| {
                    let bits = f.to_bits() as i64;
                    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
                })
                .collect()
        }
        other => {
            return Err(schema_err(format!(
                "position: column {column:?} is {other}; expected an integer or float column"
            )))
        }
    };
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(i, v)| if is_null(i) { (true, 0) } else { (false, v) })
        .collect())
}

/// How rows map to counter slots: by item id (`Chunk::items`), or, for signed integer items
/// in a small range, by the value's offset from `lo`, read straight from the column (no id
/// column is built); `id_of[offset]` / `offset_of[id]` translate when entries are written.
enum ItemIndex {
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
    fn n_slots(&self) -> usize {
        match self {
            ItemIndex::Ids { n_items } => *n_items,
            ItemIndex::Offsets { id_of, .. } => id_of.len(),
        }
    }
}

/// Offset slots when every item column is signed integers without nulls in a range of at
/// most 2^22 values: a bitmap of the values present interns the new ones (ascending by value,
/// so the ids do not depend on the batch split or thread count). None otherwise.
fn offset_index(columns: &[ValueColumn], items: &mut Interner) -> Option<ItemIndex> {
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
            *id = items.intern_int(lo as i128 + at as i128);
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

fn assign_item_ids(
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
                        *slot = items.intern_int(v);
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

fn check_item_count(items: &Interner) -> Result<()> {
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
fn assign_signed_ids(
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
                    *at = items.intern_int(v as i128);
                }
                *id = *at;
            }
        }
    }
    true
}

/// Checked fast path for a single integer list id whose run values lie in a small range: a
/// bitmap over the range finds the values seen in more than one run (lists split across
/// chunks, or not contiguous). Returns the runs holding such values, ascending (only they
/// need linking), or None when the fast path does not apply.
fn repeated_int_runs(runs: &[Run], chunks: &[Chunk]) -> Option<Vec<u32>> {
    let values: Vec<i64> = runs
        .iter()
        .map(|r| match chunks[r.chunk as usize].keys.as_slice() {
            [KeyColumn::Int(v)] => Some(v[r.start as usize]),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let (lo, hi) = min_max(&values)?;
    if hi as i128 - lo as i128 >= (runs.len() as i128) * 16 + (1 << 16) {
        return None;
    }
    let words = ((hi as i128 - lo as i128) as usize >> 6) + 1;
    let offset = |i: usize| values[i].wrapping_sub(lo) as u64 as usize;
    let mut seen = vec![0u64; words];
    let mut repeated = vec![0u64; words];
    let mut any = false;
    for i in 0..values.len() {
        let at = offset(i);
        let (word, bit) = (at >> 6, 1u64 << (at & 63));
        if seen[word] & bit != 0 {
            repeated[word] |= bit;
            any = true;
        }
        seen[word] |= bit;
    }
    if !any {
        return Some(Vec::new());
    }
    Some(
        (0..runs.len() as u32)
            .filter(|&i| {
                let at = offset(i as usize);
                repeated[at >> 6] & (1 << (at & 63)) != 0
            })
            .collect(),
    )
}

/// Sort `(slot, id)` pairs by id (ids below `n_ids`, all distinct): LSD radix, 11-bit digits.
fn sort_by_id(pairs: &mut Vec<(u32, u32)>, n_ids: u32) {
    if pairs.len() < 256 {
        pairs.sort_unstable_by_key(|p| p.1);
        return;
    }
    let bits = u32::BITS - n_ids.leading_zeros();
    let mut other = vec![(0u32, 0u32); pairs.len()];
    let mut shift = 0;
    while shift < bits {
        let mut counts = [0usize; (1 << 11) + 1];
        for p in pairs.iter() {
            counts[((p.1 >> shift) & 0x7ff) as usize + 1] += 1;
        }
        for d in 1..counts.len() {
            counts[d] += counts[d - 1];
        }
        for &p in pairs.iter() {
            let d = ((p.1 >> shift) & 0x7ff) as usize;
            other[counts[d]] = p;
            counts[d] += 1;
        }
        std::mem::swap(pairs, &mut other);
        shift += 11;
    }
}

/// Chain the runs of each list id: whether each run is the first of its list, and `next` run
/// links (u32::MAX: none). Runs are partitioned by the top bits of their hash and each part is
/// sorted on its own, in parallel; equal hashes are checked by value.
fn link_runs(runs: &[Run], hashes: &[u64], chunks: &[Chunk]) -> (Vec<bool>, Vec<u32>) {
    let links = match repeated_int_runs(runs, chunks) {
        // Only the runs of repeated values can link (to each other).
        Some(subset) => {
            let sub_hashes: Vec<u64> = subset.iter().map(|&i| hashes[i as usize]).collect();
            link_subset(runs, Some(&subset), &sub_hashes, chunks)
        }
        None => link_subset(runs, None, hashes, chunks),
    };
    let n = runs.len();
    let mut is_head = vec![true; n];
    let mut next = vec![u32::MAX; n];
    for (tail, run) in links {
        next[tail as usize] = run;
        is_head[run as usize] = false;
    }
    (is_head, next)
}

/// `(tail, run)` links (run indices) among the runs `members` (ascending; None: all runs),
/// whose hashes are `hashes`.
fn link_subset(
    runs: &[Run],
    members: Option<&[u32]>,
    hashes: &[u64],
    chunks: &[Chunk],
) -> Vec<(u32, u32)> {
    let n = hashes.len();
    let bits = (usize::BITS - (n / 4096).leading_zeros()).min(12);
    let part_of = |h: u64| {
        if bits == 0 {
            0
        } else {
            (h >> (64 - bits)) as usize
        }
    };
    let mut starts = vec![0usize; (1 << bits) + 1];
    for &h in hashes {
        starts[part_of(h) + 1] += 1;
    }
    for p in 1..starts.len() {
        starts[p] += starts[p - 1];
    }
    let mut order = vec![(0u64, 0u32); n];
    let mut fill = starts.clone();
    for (i, &h) in hashes.iter().enumerate() {
        let p = part_of(h);
        let run = members.map_or(i as u32, |m| m[i]);
        order[fill[p]] = (h, run);
        fill[p] += 1;
    }
    let mut parts: Vec<&mut [(u64, u32)]> = Vec::with_capacity(1 << bits);
    let mut rest: &mut [(u64, u32)] = &mut order;
    for p in 0..(1 << bits) {
        let (part, tail) = rest.split_at_mut(starts[p + 1] - starts[p]);
        parts.push(part);
        rest = tail;
    }
    let same = |a: u32, b: u32| {
        let (ra, rb) = (runs[a as usize], runs[b as usize]);
        let (ca, cb) = (&chunks[ra.chunk as usize], &chunks[rb.chunk as usize]);
        ca.keys
            .iter()
            .zip(&cb.keys)
            .all(|(x, y)| x.equal(ra.start as usize, y, rb.start as usize))
    };
    // Per part: (tail, run) links, runs of one list in input order.
    let links: Vec<Vec<(u32, u32)>> = parts
        .into_par_iter()
        .map(|part| {
            part.sort_unstable();
            let mut links = Vec::new();
            let mut i = 0;
            while i < part.len() {
                let mut j = i + 1;
                while j < part.len() && part[j].0 == part[i].0 {
                    j += 1;
                }
                if j > i + 1 {
                    let mut open: Vec<(u32, u32)> = Vec::new();
                    for &(_, run) in &part[i..j] {
                        match open.iter_mut().find(|(h, _)| same(*h, run)) {
                            Some((_, tail)) => {
                                links.push((*tail, run));
                                *tail = run;
                            }
                            None => open.push((run, run)),
                        }
                    }
                }
                i = j;
            }
            links
        })
        .collect();
    links.into_iter().flatten().collect()
}

struct Lists<'a> {
    runs: &'a [Run],
    next: &'a [u32],
    chunks: &'a [Chunk],
    columns: &'a [ValueColumn],
    index: &'a ItemIndex,
    k: Option<usize>,
}

/// Occurrences `c` (a part has under 2^32 rows), lists `d` and the last list seen (`stamp`:
/// its index in the part, which has fewer than u16::MAX lists; u16::MAX = none).
#[derive(Clone, Copy)]
struct Slot {
    c: u32,
    d: u16,
    stamp: u16,
}

const EMPTY_SLOT: Slot = Slot {
    c: 0,
    d: 0,
    stamp: u16::MAX,
};

struct Scratch {
    /// Per item, one cache line touched per occurrence.
    slots: Vec<Slot>,
    touched: Vec<u32>,
    rows: Vec<((bool, i64), u32)>,
}

impl Scratch {
    fn new(n_items: usize) -> Scratch {
        Scratch {
            slots: vec![EMPTY_SLOT; n_items],
            touched: Vec::new(),
            rows: Vec::new(),
        }
    }
}

impl Lists<'_> {
    fn len_of(&self, head: u32) -> usize {
        let mut n = 0;
        let mut r = head;
        while r != u32::MAX {
            let run = self.runs[r as usize];
            n += (run.end - run.start) as usize;
            r = self.next[r as usize];
        }
        self.k.map_or(n, |k| n.min(k))
    }

    /// The counter slot of `row` of chunk `c`.
    #[inline]
    fn slot(&self, c: usize, row: usize) -> u32 {
        match self.index {
            ItemIndex::Ids { .. } => self.chunks[c].items[row],
            ItemIndex::Offsets { lo, .. } => {
                let values = self.columns[c].signed_ints().unwrap_or_default();
                values[row].wrapping_sub(*lo) as u32
            }
        }
    }

    /// The list's item slots in order, cut to k, into `out`.
    fn items_of(&self, head: u32, out: &mut Vec<((bool, i64), u32)>) {
        out.clear();
        let mut r = head;
        while r != u32::MAX {
            let run = self.runs[r as usize];
            let chunk = &self.chunks[run.chunk as usize];
            for row in run.start as usize..run.end as usize {
                let pos = chunk.positions.as_ref().map_or((false, 0), |p| p[row]);
                out.push((pos, self.slot(run.chunk as usize, row)));
            }
            r = self.next[r as usize];
        }
        if self.chunks.first().is_some_and(|c| c.positions.is_some()) {
            out.sort_by_key(|x| x.0); // stable: ties keep input order
        }
        if let Some(k) = self.k {
            out.truncate(k);
        }
    }

    /// Per length L: occurrences `c` and lists containing the item `d`.
    /// `by_len`: the part's `(length, head)`, at most u16::MAX entries.
    fn count(&self, mut by_len: Vec<(usize, u32)>, s: &mut Scratch) -> LengthCounts {
        by_len.sort_unstable();
        let mut out = LengthCounts::new();
        let mut i = 0;
        let mut rows = std::mem::take(&mut s.rows);
        while i < by_len.len() {
            let len = by_len[i].0;
            let end = i + by_len[i..].partition_point(|&(l, _)| l == len);
            // Many rows for this length: emit by scanning every counter instead of tracking
            // which were touched.
            let track = (end - i).saturating_mul(len).saturating_mul(4) < s.slots.len();
            let mut j = i;
            while j < end {
                let head = by_len[j].1;
                let stamp = j as u16;
                let run = self.runs[head as usize];
                let single = self.next[head as usize] == u32::MAX;
                let chunk = &self.chunks[run.chunk as usize];
                let mut add = |item: u32| {
                    let at = item as usize;
                    let slot = &mut s.slots[at];
                    if track && slot.c == 0 {
                        s.touched.push(item);
                    }
                    slot.c += 1;
                    if slot.stamp != stamp {
                        slot.stamp = stamp;
                        slot.d += 1;
                    }
                };
                if single && chunk.positions.is_none() {
                    let rows = run.start as usize..(run.start as usize + len).min(run.end as usize);
                    match self.index {
                        ItemIndex::Ids { .. } => {
                            for &item in &chunk.items[rows] {
                                add(item);
                            }
                        }
                        ItemIndex::Offsets { lo, .. } => {
                            let values = self.columns[run.chunk as usize]
                                .signed_ints()
                                .unwrap_or_default();
                            for &v in &values[rows] {
                                add(v.wrapping_sub(*lo) as u32);
                            }
                        }
                    }
                } else {
                    self.items_of(head, &mut rows);
                    for &(_, item) in rows.iter() {
                        add(item);
                    }
                }
                j += 1;
            }
            let entries = self.entries(s, track);
            out.insert(len as u32, entries);
            i = j;
        }
        s.rows = rows;
        out
    }

    /// The touched counters as entries sorted by item id (counters reset): a scan when many
    /// were touched, else a sort of the touched ids.
    fn entries(&self, s: &mut Scratch, tracked: bool) -> Vec<ItemCount> {
        let slots = &s.slots;
        // (slot, id) pairs, by id.
        let pairs: Vec<(u32, u32)> = match self.index {
            ItemIndex::Ids { n_items } => {
                if tracked && s.touched.len() * 16 < *n_items {
                    s.touched.sort_unstable();
                    s.touched.iter().map(|&id| (id, id)).collect()
                } else {
                    (0..*n_items as u32)
                        .filter(|&id| slots[id as usize].c != 0)
                        .map(|id| (id, id))
                        .collect()
                }
            }
            ItemIndex::Offsets {
                id_of, offset_of, ..
            } => {
                if tracked && s.touched.len() * 16 < offset_of.len() {
                    let mut ids: Vec<u32> = s.touched.iter().map(|&o| id_of[o as usize]).collect();
                    ids.sort_unstable();
                    ids.into_iter()
                        .map(|id| (offset_of[id as usize], id))
                        .collect()
                } else {
                    // Sequential over the counters, then by id (ids are not in value order).
                    let mut pairs: Vec<(u32, u32)> = (0..slots.len() as u32)
                        .filter(|&o| slots[o as usize].c != 0)
                        .map(|o| (o, id_of[o as usize]))
                        .collect();
                    sort_by_id(&mut pairs, offset_of.len() as u32);
                    pairs
                }
            }
        };
        let entries = pairs
            .into_iter()
            .map(|(slot, item)| {
                let counts = std::mem::replace(&mut s.slots[slot as usize], EMPTY_SLOT);
                ItemCount {
                    item,
                    c: counts.c as u64,
                    d: counts.d as u64,
                }
            })
            .collect();
        s.touched.clear();
        entries
    }
}
