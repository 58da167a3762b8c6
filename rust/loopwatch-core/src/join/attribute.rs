//! The SPEC's crediting rules for one key: which of its predictions each event is credited
//! to (last touch, first touch, all), and which predictions a later one closes.

use super::credit::{Credit, EventOutcomes, Sides};
use super::options::Attribution;
use super::scan::{Candidate, Event};

#[derive(Clone, Copy)]
pub struct Tally {
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
pub fn credit_key(
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
