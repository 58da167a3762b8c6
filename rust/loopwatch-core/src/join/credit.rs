//! Crediting: events and candidates sorted by (key hash, time, row) meet key by key.
//!
//! Equal hashes are not trusted to mean equal keys: each run of one hash is checked value by
//! value and split when two keys collide.

use rayon::prelude::*;

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
    fn add(&mut self, other: EventOutcomes) {
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
}

/// An item of a hash run: a candidate (prediction) or an event, for key comparisons.
#[derive(Clone, Copy)]
enum Item {
    Prediction(RowId),
    Event(RowId),
}

impl Sides<'_> {
    fn chunk_row(&self, item: Item) -> (&Chunk, usize) {
        match item {
            Item::Prediction(id) => {
                let (c, r) = split_row_id(id);
                (&self.predictions[c], r)
            }
            Item::Event(id) => {
                let (c, r) = split_row_id(id);
                (&self.feedback[c].chunk, r)
            }
        }
    }

    fn same_key(&self, a: Item, b: Item) -> bool {
        let (ca, ra) = self.chunk_row(a);
        let (cb, rb) = self.chunk_row(b);
        ca.keys_equal(ra, cb, rb)
    }
}

/// Credit every event; return the predictions that got something, sorted by row.
pub fn credit_all(
    sides: &Sides,
    candidates: &mut [Candidate],
    events: &mut [Event],
) -> (Vec<Credit>, EventOutcomes) {
    candidates.par_sort_unstable_by_key(|c| (c.hash, c.time, c.row));
    events.par_sort_unstable_by_key(|e| (e.hash, e.time, e.row));
    // Hashes are uniform: equal slices of the hash space balance the work.
    let slices = (rayon::current_num_threads() * 16) as u64;
    let step = u64::MAX / slices + 1;
    let parts: Vec<(Vec<Credit>, EventOutcomes)> = (0..slices)
        .into_par_iter()
        .map(|s| {
            let (lo, hi) = (s * step, (s + 1).saturating_mul(step));
            let last = s + 1 == slices;
            let in_slice = |h: u64| h >= lo && (last || h < hi);
            let c0 = candidates.partition_point(|c| c.hash < lo);
            let c1 = c0 + candidates[c0..].partition_point(|c| in_slice(c.hash));
            let e0 = events.partition_point(|e| e.hash < lo);
            let e1 = e0 + events[e0..].partition_point(|e| in_slice(e.hash));
            credit_slice(sides, &candidates[c0..c1], &events[e0..e1])
        })
        .collect();
    let mut outcomes = EventOutcomes::default();
    let mut credits = Vec::new();
    for (c, o) in parts {
        credits.extend(c);
        outcomes.add(o);
    }
    credits.par_sort_unstable_by_key(|c| c.row);
    (credits, outcomes)
}

fn credit_slice(
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
        let i_end = i + cands[i..].partition_point(|c| c.hash == hash);
        let j_end = j + events[j..].partition_point(|e| e.hash == hash);
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
        .map(|c| Item::Prediction(c.row))
        .chain(events.iter().map(|e| Item::Event(e.row)))
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
        cand_slots.push(slot(Item::Prediction(c.row)));
    }
    let mut event_slots = Vec::with_capacity(events.len());
    for e in events {
        event_slots.push(slot(Item::Event(e.row)));
    }
    for (c, k) in cands.iter().zip(cand_slots) {
        keys[k].1.push(*c);
    }
    for (e, k) in events.iter().zip(event_slots) {
        keys[k].2.push(*e);
    }
    keys.into_iter().map(|(_, c, e)| (c, e)).collect()
}

#[derive(Clone, Copy)]
struct Tally {
    count: u64,
    min_delay: i64,
    value_sum: f64,
    has_value: bool,
}

const EMPTY: Tally = Tally {
    count: 0,
    min_delay: i64::MAX,
    value_sum: 0.0,
    has_value: false,
};

impl Tally {
    fn credit(&mut self, delay: i128, e: &Event) {
        self.count += 1;
        self.min_delay = self.min_delay.min(i64::try_from(delay).unwrap_or(i64::MAX));
        if e.has_value {
            self.value_sum += e.value;
            self.has_value = true;
        }
    }
}

/// Delay from a prediction to an event (`None` when the event is earlier). Wide, so that
/// extreme times never wrap; a credited delay is at most the window and fits in `i64`.
#[inline]
fn delay(prediction: i64, event: i64) -> Option<i128> {
    let d = event as i128 - prediction as i128;
    (d >= 0).then_some(d)
}

/// Credit one key's events (sorted by time, row) to its candidates (sorted by time, row).
fn credit_key(
    sides: &Sides,
    cands: &[Candidate],
    events: &[Event],
    tallies: &mut Vec<Tally>,
    out: &mut Vec<Credit>,
) -> EventOutcomes {
    let n = cands.len();
    let w = sides.max_window as i128;
    tallies.clear();
    tallies.resize(n, EMPTY);
    let mut outcomes = EventOutcomes::default();
    let mut next = 0; // last: first candidate after the event; first/all: first still in window
    for e in events {
        let any_before = n > 0 && cands[0].time <= e.time;
        let credited = match sides.attribution {
            Attribution::Last => {
                while next < n && cands[next].time <= e.time {
                    next += 1;
                }
                match next.checked_sub(1) {
                    Some(k) => match delay(cands[k].time, e.time) {
                        Some(d) if d <= w => {
                            tallies[k].credit(d, e);
                            true
                        }
                        _ => false,
                    },
                    None => false,
                }
            }
            Attribution::First | Attribution::All => {
                while next < n && delay(cands[next].time, e.time).is_some_and(|d| d > w) {
                    next += 1;
                }
                let mut k = next;
                let mut any = false;
                while k < n && cands[k].time <= e.time {
                    let d = delay(cands[k].time, e.time).unwrap_or(0);
                    tallies[k].credit(d, e);
                    any = true;
                    if sides.attribution == Attribution::First {
                        break;
                    }
                    k += 1;
                }
                any
            }
        };
        if credited {
            outcomes.credited += 1;
        } else if any_before {
            outcomes.late += 1;
        } else {
            outcomes.orphan += 1;
        }
    }
    let successor_closes = sides.attribution == Attribution::Last;
    for (k, (c, t)) in cands.iter().zip(tallies.iter()).enumerate() {
        // Every candidate is at or before the watermark, so any later one closes this one.
        let closed_by_successor = successor_closes && k + 1 < n;
        if t.count > 0 || closed_by_successor {
            out.push(Credit {
                row: c.row,
                count: t.count,
                min_delay: t.min_delay,
                value_sum: t.value_sum,
                has_value: t.has_value,
                closed_by_successor,
            });
        }
    }
    outcomes
}
