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

mod count;
mod item_ids;
mod links;

use count::*;
use item_ids::*;
use links::*;

/// Where a table's columns are and how lists are cut.
pub struct ListLayout<'a> {
    pub list_id: &'a [String],
    pub item: &'a str,
    pub position: Option<&'a str>,
    pub k: Option<usize>,
    /// Count the lists containing each item too (`ItemCount::d`, read by compat="elliot" only).
    pub distinct_lists: bool,
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

    let n_runs: usize = run_lists.iter().map(Vec::len).sum();
    let mut runs = Vec::with_capacity(n_runs);
    let mut hashes = Vec::with_capacity(n_runs);
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
        distinct_lists: layout.distinct_lists,
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
            let s = guard.get_or_insert_with(|| Scratch::new(n_slots, layout.distinct_lists));
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
    let keys = list_keys(batch, layout, offset)?;
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

/// The list id columns of `batch` (a null is a DataError naming its row; `offset`: rows of the
/// table before `batch`).
fn list_keys(batch: &RecordBatch, layout: &ListLayout, offset: usize) -> Result<Vec<KeyColumn>> {
    let schema = batch.schema();
    let mut keys = Vec::with_capacity(layout.list_id.len());
    for name in layout.list_id {
        let array = batch.column(column_index(&schema, name, "list_id")?);
        if let Some(nulls) = array.logical_nulls().filter(|x| x.null_count() > 0) {
            let row = (0..batch.num_rows())
                .find(|&i| nulls.is_null(i))
                .unwrap_or(0);
            return Err(null_error("list_id", name, offset + row));
        }
        let unsigned64 = matches!(array.data_type(), DataType::UInt64);
        keys.push(KeyColumn::new(array, unsigned64, name, "recommendations")?);
    }
    Ok(keys)
}

/// Each row's list id hash, for splitting a table by list: equal ids hash equal in every
/// batch (as when runs are linked). Refuses nulls in the list id and item columns as counting
/// does, naming the row in the whole input (`offset`: rows before `batch`), since a split
/// table's row numbers would mean nothing to the caller.
pub fn list_hashes(batch: &RecordBatch, layout: &ListLayout, offset: usize) -> Result<Vec<u64>> {
    let keys = list_keys(batch, layout, offset)?;
    let items = batch.column(column_index(&batch.schema(), layout.item, "item")?);
    if let Some(nulls) = items.logical_nulls().filter(|x| x.null_count() > 0) {
        let row = (0..batch.num_rows())
            .find(|&i| nulls.is_null(i))
            .unwrap_or(0);
        return Err(null_error("item", layout.item, offset + row));
    }
    Ok((0..batch.num_rows()).map(|i| row_hash(&keys, i)).collect())
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
