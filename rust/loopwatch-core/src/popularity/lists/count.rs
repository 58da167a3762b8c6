//! Counting each list's items per (group, list length, item) into per-thread scratch.

use super::*;

/// Sort `(slot, id)` pairs by id (ids below `n_ids`, all distinct): LSD radix, 11-bit digits.
pub(super) fn sort_by_id(pairs: &mut Vec<(u32, u32)>, n_ids: u32) {
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

pub(super) struct Lists<'a> {
    pub(super) runs: &'a [Run],
    pub(super) next: &'a [u32],
    pub(super) chunks: &'a [Chunk],
    pub(super) columns: &'a [ValueColumn],
    pub(super) index: &'a ItemIndex,
    pub(super) k: Option<usize>,
    /// Also count the lists containing each item (`ItemCount::d`).
    pub(super) distinct_lists: bool,
}

/// Lists containing an item (`d`) and the last list that added to it (`stamp`: its index in
/// the part, which has fewer than u16::MAX lists; u16::MAX = none).
#[derive(Clone, Copy)]
pub(super) struct ListsSeen {
    pub(super) d: u16,
    pub(super) stamp: u16,
}

pub(super) const NO_LISTS: ListsSeen = ListsSeen {
    d: 0,
    stamp: u16::MAX,
};

pub(super) struct Scratch {
    /// Occurrences per counter slot (a part has under 2^32 rows): 4 bytes, so the counters of
    /// a few hundred thousand items stay in cache.
    pub(super) counts: Vec<u32>,
    /// Per counter slot, only when lists containing each item are counted (else empty).
    pub(super) lists: Vec<ListsSeen>,
    pub(super) touched: Vec<u32>,
    pub(super) rows: Vec<((bool, i64), u32)>,
}

impl Scratch {
    pub(super) fn new(n_slots: usize, distinct_lists: bool) -> Scratch {
        Scratch {
            counts: vec![0; n_slots],
            lists: if distinct_lists {
                vec![NO_LISTS; n_slots]
            } else {
                Vec::new()
            },
            touched: Vec::new(),
            rows: Vec::new(),
        }
    }
}

impl Lists<'_> {
    pub(super) fn len_of(&self, head: u32) -> usize {
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
    pub(super) fn slot(&self, c: usize, row: usize) -> u32 {
        match self.index {
            ItemIndex::Ids { .. } => self.chunks[c].items[row],
            ItemIndex::Offsets { lo, .. } => {
                let values = self.columns[c].signed_ints().unwrap_or_default();
                values[row].wrapping_sub(*lo) as u32
            }
        }
    }

    /// The list's item slots in order, cut to k, into `out`.
    pub(super) fn items_of(&self, head: u32, out: &mut Vec<((bool, i64), u32)>) {
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

    /// Per length L: occurrences `c`, and lists containing the item `d` when `distinct_lists`
    /// (else 0).
    /// `by_len`: the part's `(length, head)`, at most u16::MAX entries.
    pub(super) fn count(&self, mut by_len: Vec<(usize, u32)>, s: &mut Scratch) -> LengthCounts {
        by_len.sort_unstable();
        let mut out = LengthCounts::new();
        let mut i = 0;
        let mut rows = std::mem::take(&mut s.rows);
        while i < by_len.len() {
            let len = by_len[i].0;
            let end = i + by_len[i..].partition_point(|&(l, _)| l == len);
            // Many rows for this length: emit by scanning every counter instead of tracking
            // which were touched.
            let track = (end - i).saturating_mul(len).saturating_mul(4) < s.counts.len();
            for (j, &(_, head)) in by_len.iter().enumerate().take(end).skip(i) {
                let stamp = j as u16;
                match (track, self.distinct_lists) {
                    (false, false) => self.add_list::<false, false>(head, len, stamp, s, &mut rows),
                    (false, true) => self.add_list::<false, true>(head, len, stamp, s, &mut rows),
                    (true, false) => self.add_list::<true, false>(head, len, stamp, s, &mut rows),
                    (true, true) => self.add_list::<true, true>(head, len, stamp, s, &mut rows),
                }
            }
            let entries = self.entries(s, track);
            out.insert(len as u32, entries);
            i = end;
        }
        s.rows = rows;
        out
    }

    /// Count the items of the list starting at run `head` (cut to `len`) into the counters;
    /// `TRACK`: also note the counters touched for the first time; `LISTS`: also count the
    /// lists containing each item.
    #[inline]
    fn add_list<const TRACK: bool, const LISTS: bool>(
        &self,
        head: u32,
        len: usize,
        stamp: u16,
        s: &mut Scratch,
        rows: &mut Vec<((bool, i64), u32)>,
    ) {
        let mut add = |item: u32| {
            let count = &mut s.counts[item as usize];
            if TRACK && *count == 0 {
                s.touched.push(item);
            }
            *count += 1;
            if LISTS {
                let seen = &mut s.lists[item as usize];
                seen.d += (seen.stamp != stamp) as u16;
                seen.stamp = stamp;
            }
        };
        let run = self.runs[head as usize];
        let chunk = &self.chunks[run.chunk as usize];
        if self.next[head as usize] == u32::MAX && chunk.positions.is_none() {
            // One run in input order: the rows are the list.
            let rows = run.start as usize..(run.start as usize + len).min(run.end as usize);
            match self.index {
                ItemIndex::Ids { .. } => chunk.items[rows].iter().for_each(|&item| add(item)),
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
            self.items_of(head, rows);
            rows.iter().for_each(|&(_, item)| add(item));
        }
    }

    /// The touched counters as entries sorted by item id (counters reset): a sort of the
    /// touched ids when few were touched, else a scan — of the ids in order, reading each one's
    /// counter, when they are not many more than the counters, or of the counters, then sorted.
    pub(super) fn entries(&self, s: &mut Scratch, tracked: bool) -> Vec<ItemCount> {
        let counts = &s.counts;
        // (slot, id) pairs, by id.
        let pairs: Vec<(u32, u32)> = match self.index {
            ItemIndex::Ids { n_items } => {
                if tracked && s.touched.len() * 16 < *n_items {
                    s.touched.sort_unstable();
                    s.touched.iter().map(|&id| (id, id)).collect()
                } else {
                    (0..*n_items as u32)
                        .filter(|&id| counts[id as usize] != 0)
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
                } else if offset_of.len() <= 2 * counts.len() {
                    // Ids ascending, each reading its counter: in id order with no sort (4-byte
                    // counters over the table's item range: mostly cached even read out of
                    // value order).
                    offset_of
                        .iter()
                        .enumerate()
                        .filter(|&(_, &o)| o != u32::MAX && counts[o as usize] != 0)
                        .map(|(id, &o)| (o, id as u32))
                        .collect()
                } else {
                    // Sequential over the counters, then by id (ids are not in value order).
                    let mut pairs: Vec<(u32, u32)> = (0..counts.len() as u32)
                        .filter(|&o| counts[o as usize] != 0)
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
                let c = std::mem::take(&mut s.counts[slot as usize]);
                let d = match s.lists.get_mut(slot as usize) {
                    Some(seen) => std::mem::replace(seen, NO_LISTS).d,
                    None => 0,
                };
                ItemCount {
                    item,
                    c: c as u64,
                    d: d as u64,
                }
            })
            .collect();
        s.touched.clear();
        entries
    }
}
