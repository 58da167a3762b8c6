//! Recommendation lists: rows grouped by `list_id` (lists may span batches and need not be
//! contiguous), ordered by `position` (ties and no position: input order), cut to `k`, placed
//! in the (bucket, segment) group of their first row; then counted per (group, list length L,
//! item) — the integers every metric is finalized from.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use super::items::{null_error, Interner, ValueColumn};
use super::state::{ItemCount, LengthCounts};
use crate::error::{schema_err, LwError, Result};
use crate::group::{column_index, GroupKey, Grouping};
use crate::normalize::KeyColumn;

/// Where a table's columns are and how lists are cut.
pub struct ListLayout<'a> {
    pub list_id: &'a [String],
    pub item: &'a str,
    pub position: Option<&'a str>,
    pub k: Option<usize>,
}

/// One chunk, normalized.
/// A chunk prepared for list building: its rows, (list, row, position) runs and item ids.
type PreparedChunk = (Chunk, Vec<(u32, u32, u64)>, ValueColumn);

struct Chunk {
    keys: Vec<KeyColumn>,
    items: Vec<u32>,
    positions: Option<Vec<(bool, i64)>>,
    row_group: Vec<u32>,
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
    assign_item_ids(&mut chunks, &columns, items)?;

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
    let (heads, next) = link_runs(&runs, &hashes, &chunks);

    // Global group slots (keys in first-seen order).
    let mut slot_of: HashMap<GroupKey, u32> = HashMap::new();
    let mut slot_keys: Vec<GroupKey> = Vec::new();
    let chunk_slots: Vec<Vec<u32>> = chunks
        .iter()
        .map(|chunk| {
            chunk
                .group_keys
                .iter()
                .map(|key| {
                    *slot_of.entry(key.clone()).or_insert_with(|| {
                        slot_keys.push(key.clone());
                        (slot_keys.len() - 1) as u32
                    })
                })
                .collect()
        })
        .collect();
    let mut lists_of_slot: Vec<Vec<u32>> = vec![Vec::new(); slot_keys.len()];
    for &head in &heads {
        let run = runs[head as usize];
        let chunk = &chunks[run.chunk as usize];
        let slot = chunk_slots[run.chunk as usize][chunk.row_group[run.start as usize] as usize];
        lists_of_slot[slot as usize].push(head);
    }

    let n_items = items.len();
    let lists = Lists {
        runs: &runs,
        next: &next,
        chunks: &chunks,
        k: layout.k,
    };
    const PART: usize = 1 << 15;
    let work: Vec<(usize, &[u32])> = lists_of_slot
        .iter()
        .enumerate()
        .flat_map(|(slot, l)| l.chunks(PART).map(move |part| (slot, part)))
        .collect();
    let parts: Vec<(usize, LengthCounts)> = work
        .par_iter()
        .map_init(
            || Scratch::new(n_items),
            |scratch, &(slot, part)| (slot, lists.count(part, scratch)),
        )
        .collect();
    let mut per_slot: Vec<LengthCounts> = vec![LengthCounts::new(); slot_keys.len()];
    for (slot, counts) in parts {
        super::state::add_length_counts(&mut per_slot[slot], counts);
    }
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
    let mut hashes = vec![0u64; n];
    for (c, name) in layout.list_id.iter().enumerate() {
        let array = batch.column(column_index(&schema, name, "list_id")?);
        if let Some(nulls) = array.logical_nulls().filter(|x| x.null_count() > 0) {
            let row = (0..n).find(|&i| nulls.is_null(i)).unwrap_or(0);
            return Err(null_error("list_id", name, offset + row));
        }
        let unsigned64 = matches!(array.data_type(), DataType::UInt64);
        let key = KeyColumn::new(array, unsigned64, name, "recommendations")?;
        key.hash_into(&mut hashes, c == 0);
        keys.push(key);
    }
    let mut runs = Vec::new();
    let mut start = 0usize;
    for i in 1..=n {
        if i == n || !keys.iter().all(|k| k.equal(i, k, i - 1)) {
            if i > start {
                runs.push((start as u32, i as u32, hashes[start]));
            }
            start = i;
        }
    }
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
    let groups = grouping.assign(batch)?;
    Ok((
        Chunk {
            keys,
            items: Vec::new(),
            positions,
            row_group: groups.row_group,
            group_keys: groups.keys,
        },
        runs,
        item_col,
    ))
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

/// Integer items in a range this small get ids from a lookup table instead of a hash map.
fn dense_range_limit(rows: usize) -> i128 {
    ((rows as i128) * 4 + (1 << 16)).min(1 << 26)
}

fn assign_item_ids(
    chunks: &mut [Chunk],
    columns: &[ValueColumn],
    items: &mut Interner,
) -> Result<()> {
    let rows: usize = columns.iter().map(|c| c.len()).sum();
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
    if items.len() >= u32::MAX as usize {
        return Err(LwError::Data(
            "item: more than 4 billion distinct items".into(),
        ));
    }
    Ok(())
}

/// Chain the runs of each list id: `heads` (first run of each list) and `next` run links.
fn link_runs(runs: &[Run], hashes: &[u64], chunks: &[Chunk]) -> (Vec<u32>, Vec<u32>) {
    let mut order: Vec<(u64, u32)> = hashes
        .iter()
        .enumerate()
        .map(|(i, &h)| (h, i as u32))
        .collect();
    order.par_sort_unstable();
    let mut next = vec![u32::MAX; runs.len()];
    let mut heads = Vec::with_capacity(runs.len());
    let same = |a: u32, b: u32| {
        let (ra, rb) = (runs[a as usize], runs[b as usize]);
        let (ca, cb) = (&chunks[ra.chunk as usize], &chunks[rb.chunk as usize]);
        ca.keys
            .iter()
            .zip(&cb.keys)
            .all(|(x, y)| x.equal(ra.start as usize, y, rb.start as usize))
    };
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && order[j].0 == order[i].0 {
            j += 1;
        }
        if j == i + 1 {
            heads.push(order[i].1);
        } else {
            // Equal hashes: (head, tail) per distinct key, runs in input order.
            let mut open: Vec<(u32, u32)> = Vec::new();
            for &(_, run) in &order[i..j] {
                match open.iter_mut().find(|(h, _)| same(*h, run)) {
                    Some((_, tail)) => {
                        next[*tail as usize] = run;
                        *tail = run;
                    }
                    None => open.push((run, run)),
                }
            }
            heads.extend(open.iter().map(|(h, _)| *h));
        }
        i = j;
    }
    (heads, next)
}

struct Lists<'a> {
    runs: &'a [Run],
    next: &'a [u32],
    chunks: &'a [Chunk],
    k: Option<usize>,
}

struct Scratch {
    c: Vec<u64>,
    d: Vec<u64>,
    stamp: Vec<u32>,
    touched: Vec<u32>,
    rows: Vec<((bool, i64), u32)>,
}

impl Scratch {
    fn new(n_items: usize) -> Scratch {
        Scratch {
            c: vec![0; n_items],
            d: vec![0; n_items],
            stamp: vec![u32::MAX; n_items],
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

    /// The list's items in order, cut to k, into `out`.
    fn items_of(&self, head: u32, out: &mut Vec<((bool, i64), u32)>) {
        out.clear();
        let mut r = head;
        while r != u32::MAX {
            let run = self.runs[r as usize];
            let chunk = &self.chunks[run.chunk as usize];
            for row in run.start as usize..run.end as usize {
                let pos = chunk.positions.as_ref().map_or((false, 0), |p| p[row]);
                out.push((pos, chunk.items[row]));
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
    fn count(&self, lists: &[u32], s: &mut Scratch) -> LengthCounts {
        let mut by_len: Vec<(usize, u32)> = lists.iter().map(|&h| (self.len_of(h), h)).collect();
        by_len.sort_unstable();
        let mut out = LengthCounts::new();
        let mut i = 0;
        let mut rows = std::mem::take(&mut s.rows);
        while i < by_len.len() {
            let len = by_len[i].0;
            let mut j = i;
            while j < by_len.len() && by_len[j].0 == len {
                let head = by_len[j].1;
                let stamp = j as u32;
                let run = self.runs[head as usize];
                let single = self.next[head as usize] == u32::MAX;
                let chunk = &self.chunks[run.chunk as usize];
                let mut add = |item: u32| {
                    let at = item as usize;
                    if s.c[at] == 0 {
                        s.touched.push(item);
                    }
                    s.c[at] += 1;
                    if s.stamp[at] != stamp {
                        s.stamp[at] = stamp;
                        s.d[at] += 1;
                    }
                };
                if single && chunk.positions.is_none() {
                    let end = (run.start as usize + len).min(run.end as usize);
                    for &item in &chunk.items[run.start as usize..end] {
                        add(item);
                    }
                } else {
                    self.items_of(head, &mut rows);
                    for &(_, item) in rows.iter() {
                        add(item);
                    }
                }
                j += 1;
            }
            let mut entries: Vec<ItemCount> = s
                .touched
                .iter()
                .map(|&item| {
                    let at = item as usize;
                    let e = ItemCount {
                        item,
                        c: s.c[at],
                        d: s.d[at],
                    };
                    s.c[at] = 0;
                    s.d[at] = 0;
                    s.stamp[at] = u32::MAX;
                    e
                })
                .collect();
            s.touched.clear();
            entries.sort_unstable_by_key(|e| e.item);
            out.insert(len as u32, entries);
            i = j;
        }
        s.rows = rows;
        out
    }
}
