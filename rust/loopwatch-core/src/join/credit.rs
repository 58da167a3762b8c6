//! Crediting: events and candidates sorted by (key hash, time, row) meet key by key.
//!
//! Equal hashes are not trusted to mean equal keys: each run of one hash is checked value by
//! value and split when two keys collide.

use rayon::prelude::*;

use super::attribute::credit_key;
use super::options::Attribution;
use super::scan::{split_row_id, Candidate, Event, FeedbackChunk, RowId};
use crate::normalize::Chunk;

/// What a prediction got from its key's events and neighbours.
#[derive(Clone, Copy, Debug)]
pub struct Credit {
    pub row: RowId,
    pub count: u64,
    /// Smallest credited delay; `i64::MAX` when nothing was credited.
    pub min_delay: i64,
    pub value_sum: f64,
    pub has_value: bool,
    /// Last-touch: a later prediction of the same key exists at or before the watermark.
    pub closed_by_successor: bool,
}

#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventOutcomes {
    pub credited: u64,
    pub orphan: u64,
    pub late: u64,
}

impl EventOutcomes {
    pub fn add(&mut self, other: EventOutcomes) {
        self.credited += other.credited;
        self.orphan += other.orphan;
        self.late += other.late;
    }
}

pub struct Sides<'a> {
    pub predictions: &'a [Chunk],
    pub feedback: &'a [FeedbackChunk],
    pub attribution: Attribution,
    pub max_window: i64,
    pub inline_keys: bool,
}

/// An item of a hash run, for key comparisons: a candidate (prediction) or an event.
#[derive(Clone, Copy)]
struct Item {
    row: RowId,
    is_event: bool,
    key: [u64; 2],
}

impl Sides<'_> {
    fn chunk_row(&self, item: Item) -> (&Chunk, usize) {
        let (c, r) = split_row_id(item.row);
        if item.is_event {
            (&self.feedback[c].chunk, r)
        } else {
            (&self.predictions[c], r)
        }
    }

    fn same_key(&self, a: Item, b: Item) -> bool {
        if self.inline_keys {
            return a.key == b.key;
        }
        let (ca, ra) = self.chunk_row(a);
        let (cb, rb) = self.chunk_row(b);
        ca.keys_equal(ra, cb, rb)
    }
}

fn candidate_item(c: &Candidate) -> Item {
    Item {
        row: c.row,
        is_event: false,
        key: c.key,
    }
}

fn event_item(e: &Event) -> Item {
    Item {
        row: e.row,
        is_event: true,
        key: e.key,
    }
}

/// What crediting found: per hash bucket, per prediction chunk, the credited predictions.
pub type CreditsByBucket = Vec<Vec<Vec<Credit>>>;

/// Credit every event, bucket by bucket (`candidates[chunk][bucket]`, `events[bucket]`).
pub fn credit_all(
    sides: &Sides,
    candidates: &[Vec<Vec<Candidate>>],
    events: Vec<Vec<Event>>,
) -> (CreditsByBucket, EventOutcomes) {
    let parts: Vec<(Vec<Vec<Credit>>, EventOutcomes)> = events
        .into_par_iter()
        .enumerate()
        .map(|(bucket, mut events)| {
            let size = candidates.iter().map(|chunk| chunk[bucket].len()).sum();
            let mut cands = Vec::with_capacity(size);
            for chunk in candidates {
                cands.extend_from_slice(&chunk[bucket]);
            }
            cands.sort_unstable_by_key(|c| (c.hash, c.time, c.row));
            events.sort_unstable_by_key(|e| (e.hash, e.time, e.row));
            let (credits, outcomes) = credit_bucket(sides, &cands, &events);
            let mut sizes = vec![0usize; sides.predictions.len()];
            for c in &credits {
                sizes[split_row_id(c.row).0] += 1;
            }
            let mut by_chunk: Vec<Vec<Credit>> =
                sizes.iter().map(|&size| Vec::with_capacity(size)).collect();
            for c in credits {
                by_chunk[split_row_id(c.row).0].push(c);
            }
            (by_chunk, outcomes)
        })
        .collect();
    let mut outcomes = EventOutcomes::default();
    let mut credits = Vec::with_capacity(parts.len());
    for (c, o) in parts {
        credits.push(c);
        outcomes.add(o);
    }
    (credits, outcomes)
}

/// Walk one bucket (both sides sorted by hash, time, row) run of equal hash by run.
fn credit_bucket(
    sides: &Sides,
    cands: &[Candidate],
    events: &[Event],
) -> (Vec<Credit>, EventOutcomes) {
    let mut out = Vec::new();
    let mut outcomes = EventOutcomes::default();
    let mut scratch = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < cands.len() || j < events.len() {
        let hash = match (cands.get(i), events.get(j)) {
            (Some(c), Some(e)) => c.hash.min(e.hash),
            (Some(c), None) => c.hash,
            (None, Some(e)) => e.hash,
            (None, None) => break,
        };
        let i_end = i + cands[i..].iter().take_while(|c| c.hash == hash).count();
        let j_end = j + events[j..].iter().take_while(|e| e.hash == hash).count();
        let run = (&cands[i..i_end], &events[j..j_end]);
        if single_key(sides, run.0, run.1) {
            outcomes.add(credit_key(sides, run.0, run.1, &mut scratch, &mut out));
        } else {
            for (key_cands, key_events) in split_by_key(sides, run.0, run.1) {
                outcomes.add(credit_key(
                    sides,
                    &key_cands,
                    &key_events,
                    &mut scratch,
                    &mut out,
                ));
            }
        }
        (i, j) = (i_end, j_end);
    }
    (out, outcomes)
}

fn items<'a>(cands: &'a [Candidate], events: &'a [Event]) -> impl Iterator<Item = Item> + 'a {
    cands
        .iter()
        .map(candidate_item)
        .chain(events.iter().map(event_item))
}

fn single_key(sides: &Sides, cands: &[Candidate], events: &[Event]) -> bool {
    let mut all = items(cands, events);
    let Some(first) = all.next() else { return true };
    all.all(|item| sides.same_key(first, item))
}

/// Split a run whose hash is shared by several keys (a collision) into one run per key,
/// keeping each run's (time, row) order.
fn split_by_key(
    sides: &Sides,
    cands: &[Candidate],
    events: &[Event],
) -> Vec<(Vec<Candidate>, Vec<Event>)> {
    let mut keys: Vec<(Item, Vec<Candidate>, Vec<Event>)> = Vec::new();
    let mut slot = |item: Item| match keys
        .iter()
        .position(|(rep, _, _)| sides.same_key(*rep, item))
    {
        Some(k) => k,
        None => {
            keys.push((item, Vec::new(), Vec::new()));
            keys.len() - 1
        }
    };
    let mut cand_slots = Vec::with_capacity(cands.len());
    for c in cands {
        cand_slots.push(slot(candidate_item(c)));
    }
    let mut event_slots = Vec::with_capacity(events.len());
    for e in events {
        event_slots.push(slot(event_item(e)));
    }
    for (c, k) in cands.iter().zip(cand_slots) {
        keys[k].1.push(*c);
    }
    for (e, k) in events.iter().zip(event_slots) {
        keys[k].2.push(*e);
    }
    keys.into_iter().map(|(_, c, e)| (c, e)).collect()
}
