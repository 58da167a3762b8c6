//! Finalize a popularity_metrics state into the contract's columns. Inner sums are integers;
//! the few float sums run over canonical keys (list length, count value, φ_users value) in
//! ascending order, so the output is bit-identical however the rows were split.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array};
use arrow::datatypes::{DataType, Field};
use rayon::prelude::*;

use super::long_tail::Compat;
use super::source::{axis_factor, PopData, PopView};
use super::state::{GroupCounts, ItemCount, PopularityMetricsState};
use crate::error::{LwError, Result};
use crate::group::GroupKey;

pub const METRIC_COLUMNS: [&str; 10] = [
    "arp",
    "aplt",
    "aclt",
    "long_tail_coverage",
    "coverage",
    "gini",
    "entropy",
    "entropy_norm",
    "novelty",
    "cold_share",
];

/// One bucket's popularity and tail sets.
struct BucketView {
    view: PopView,
    gamma: Vec<bool>,
    n_gamma: u64,
    compat_tail: Option<Vec<bool>>,
    /// For novelty: the distinct `max(φ_users, 1)` values ascending, and each item's index
    /// among them (so sums over them run in ascending order without sorting per group).
    users_values: Vec<u64>,
    /// Per item id, what a group row reads, in one place.
    info: Vec<ItemInfo>,
}

#[derive(Clone, Copy)]
struct ItemInfo {
    phi: u64,
    users_rank: u32,
    gamma: bool,
    tail: bool,
}

#[derive(Default)]
struct Row {
    n_lists: i64,
    values: [Option<f64>; 10],
}

pub fn finalize(state: &PopularityMetricsState) -> Result<Vec<(Field, ArrayRef)>> {
    let grouping = state.grouping.as_ref().ok_or_else(|| {
        LwError::Config(
            "finalize: this state has seen no table yet (call update first), so its columns \
             are unknown"
                .into(),
        )
    })?;
    let n_ids = state.items.len();
    let universe = || -> Vec<u32> {
        match &state.catalog {
            Some(ids) => ids.clone(),
            // Popularity items, then the items of the lists after the cut.
            None => {
                // A bitmap of the items in lists, filled per entry list in parallel.
                let words = n_ids.div_ceil(64);
                let lists: Vec<&Vec<ItemCount>> = state
                    .groups
                    .values()
                    .flat_map(|g| g.lengths.values())
                    .collect();
                let in_lists = lists
                    .par_iter()
                    .fold(
                        || vec![0u64; words],
                        |mut bits, entries| {
                            for e in entries.iter() {
                                bits[e.item as usize >> 6] |= 1 << (e.item & 63);
                            }
                            bits
                        },
                    )
                    .reduce_with(|mut a, b| {
                        a.iter_mut().zip(&b).for_each(|(x, y)| *x |= y);
                        a
                    })
                    .unwrap_or_default();
                let from_pop = state.pop.items.len();
                (0..n_ids as u32)
                    .filter(|&i| {
                        (i as usize) < from_pop
                            || in_lists
                                .get(i as usize >> 6)
                                .is_some_and(|w| w & (1 << (i & 63)) != 0)
                    })
                    .collect()
            }
        }
    };
    let mut stages = crate::trace::Stages::start();
    let (ranks, universe) = rayon::join(|| state.items.ranks(), universe);
    stages.mark("pop: ranks and universe");
    let rule = &state.options.rule;
    let make_view = |view: PopView| {
        let ((gamma, compat_tail), (users_values, users_rank)) = rayon::join(
            || {
                let gamma = rule.gamma(&universe, &ranks, &view, n_ids);
                let compat_tail = match rule.compat {
                    Some(Compat::RecBole) => {
                        Some(rule.recbole_tail(&universe, &ranks, &view, n_ids))
                    }
                    Some(Compat::Elliot) => Some(rule.elliot_tail(&universe, &ranks, &view, n_ids)),
                    None => None,
                };
                (gamma, compat_tail)
            },
            || users_ranks(&view, n_ids),
        );
        let n_gamma = universe.iter().filter(|&&i| gamma[i as usize]).count() as u64;
        let info = (0..n_ids)
            .map(|i| ItemInfo {
                phi: view.phi(i as u32),
                users_rank: users_rank.get(i).copied().unwrap_or(0),
                gamma: gamma[i],
                tail: compat_tail.as_ref().is_some_and(|t| t[i]),
            })
            .collect();
        BucketView {
            view,
            gamma,
            n_gamma,
            compat_tail,
            users_values,
            info,
        }
    };
    let keys: Vec<(&GroupKey, &GroupCounts)> = state.groups.iter().collect();
    // One view per distinct bucket (keys are sorted by bucket, nulls last).
    let mut view_of_group = Vec::with_capacity(keys.len());
    let mut views: Vec<BucketView> = Vec::new();
    match &state.pop.data {
        PopData::Fixed(view) => {
            views.push(make_view(PopView {
                phi: view.phi.clone(),
                phi_users: view.phi_users.clone(),
                n_users: view.n_users,
            }));
            view_of_group.resize(keys.len(), 0);
        }
        PopData::Trailing { .. } => {
            let b = grouping
                .buckets
                .as_ref()
                .ok_or_else(super::source::needs_buckets)?;
            let factor = axis_factor(&b.data_type, &b.column, "time")?;
            let mut starts: Vec<Option<i64>> = Vec::new();
            for (key, _) in &keys {
                let start = match key.bucket {
                    None => None,
                    Some(idx) => Some(
                        idx.checked_mul(b.every)
                            .and_then(|s| s.checked_mul(factor))
                            .ok_or_else(|| {
                                LwError::Data("time: a bucket start overflows int64".into())
                            })?,
                    ),
                };
                if starts.last() != Some(&start) {
                    starts.push(start);
                }
                view_of_group.push(starts.len() - 1);
            }
            views = state
                .pop
                .trailing_views(&starts)
                .into_iter()
                .map(make_view)
                .collect();
        }
    }
    stages.mark("pop: views");
    let n_u = universe.len() as u64;
    let rows: Vec<Row> = keys
        .par_iter()
        .zip(view_of_group.par_iter())
        .map_init(
            // Per-item totals, only needed by groups with several list lengths: allocated by
            // the first such group of each worker.
            Vec::new,
            |totals: &mut Vec<u64>, ((_, group), &v)| {
                if group.lengths.len() > 1 && totals.is_empty() {
                    totals.resize(n_ids, 0);
                }
                group_row(group, &views[v], n_u, rule.compat, totals)
            },
        )
        .collect();

    stages.mark("pop: group rows");
    let group_keys: Vec<GroupKey> = keys.iter().map(|(k, _)| (*k).clone()).collect();
    let mut out = grouping.key_columns(&group_keys)?;
    out.push((
        Field::new("n_lists", DataType::Int64, true),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.n_lists))) as ArrayRef,
    ));
    for (c, name) in METRIC_COLUMNS.iter().enumerate() {
        out.push((
            Field::new(*name, DataType::Float64, true),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.values[c]))) as ArrayRef,
        ));
    }
    Ok(out)
}

/// Distinct `max(φ_users(i), 1)` ascending and each item's index among them (empty without
/// φ_users).
fn users_ranks(view: &PopView, n_ids: usize) -> (Vec<u64>, Vec<u32>) {
    if view.n_users.is_none() {
        return (Vec::new(), Vec::new());
    }
    let per_item: Vec<u64> = (0..n_ids as u32)
        .map(|i| view.phi_users(i).max(1))
        .collect();
    let mut values = per_item.clone();
    values.sort_unstable();
    values.dedup();
    let rank = per_item
        .iter()
        .map(|v| values.binary_search(v).unwrap_or(0) as u32)
        .collect();
    (values, rank)
}

/// Σ_j (2j − n − 1)·c_(j) over n items whose nonzero counts are `runs` (distinct values
/// ascending, with multiplicities); the zeros take the first ranks and add nothing. A run of
/// `m` values `v` after rank `r` adds v·Σ_{j=r+1}^{r+m} (2j − n − 1) = v·m·(2r + m − n).
fn gini_numerator(runs: &[(u64, u64)], n: u64) -> i128 {
    let nonzero: u64 = runs.iter().map(|&(_, m)| m).sum();
    let mut rank = (n - nonzero) as i128; // ranks before the nonzero counts
    let n = n as i128;
    let mut sum: i128 = 0;
    for &(v, m) in runs {
        let m = m as i128;
        sum += v as i128 * m * (2 * rank + m - n);
        rank += m;
    }
    sum
}

/// Distinct values of `counts` ascending with their multiplicities: a counting pass when the
/// values are small, else a sort.
fn value_runs(counts: &[u64]) -> Vec<(u64, u64)> {
    let max = counts.iter().copied().max().unwrap_or(0);
    if max as usize <= counts.len() * 4 + 1024 {
        let mut hist = vec![0u64; max as usize + 1];
        for &c in counts {
            hist[c as usize] += 1;
        }
        return hist
            .iter()
            .enumerate()
            .filter(|&(_, &m)| m > 0)
            .map(|(v, &m)| (v as u64, m))
            .collect();
    }
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for v in sorted {
        match runs.last_mut() {
            Some((last, m)) if *last == v => *m += 1,
            _ => runs.push((v, 1)),
        }
    }
    runs
}

fn group_row(
    group: &GroupCounts,
    b: &BucketView,
    n_u: u64,
    compat: Option<Compat>,
    totals: &mut [u64],
) -> Row {
    let n_lists = group.n_lists as f64;
    let mut touched: Vec<u32> = Vec::new();
    let (mut arp, mut aplt, mut aclt, mut novelty_sum) = (0.0f64, 0.0f64, 0u64, 0.0f64);
    let (mut compat_aplt, mut compat_aclt) = (0.0f64, 0u64);
    let (mut occurrences, mut cold) = (0u64, 0u64);
    let n_users = b.view.n_users.filter(|&n| n > 0);
    // Novelty: occurrences per distinct φ_users value (by its index), summed ascending.
    let mut by_users = vec![
        0u64;
        if n_users.is_some() {
            b.users_values.len()
        } else {
            0
        }
    ];
    let mut users_touched: Vec<u32> = Vec::new();
    // One list length (the usual case): its entries are the group's items, one each, so the
    // per-item totals need no accumulation.
    let single = group.lengths.len() == 1;
    // With one length, the per-item counts and how many items are in Γ come out of this pass.
    let mut single_counts: Vec<u64> = Vec::new();
    let mut single_in_gamma = 0u64;
    if single {
        single_counts.reserve(group.lengths.values().map(Vec::len).sum());
    }
    let has_tail = b.compat_tail.is_some();
    for (&len, entries) in &group.lengths {
        let (mut phi_sum, mut in_gamma, mut in_tail): (u128, u64, u64) = (0, 0, 0);
        for e in entries {
            let info = b.info[e.item as usize];
            let phi = info.phi;
            phi_sum += phi as u128 * e.c as u128;
            if info.gamma {
                in_gamma += e.c;
            }
            if has_tail && info.tail {
                in_tail += if compat == Some(Compat::Elliot) {
                    e.d
                } else {
                    e.c
                };
            }
            if phi == 0 {
                cold += e.c;
            }
            occurrences += e.c;
            if n_users.is_some() {
                let r = info.users_rank;
                if by_users[r as usize] == 0 {
                    users_touched.push(r);
                }
                by_users[r as usize] += e.c;
            }
            if single {
                single_counts.push(e.c);
                single_in_gamma += info.gamma as u64;
            } else {
                let at = e.item as usize;
                if totals[at] == 0 {
                    touched.push(e.item);
                }
                totals[at] += e.c;
            }
        }
        let l = len as f64;
        arp += phi_sum as f64 / l;
        aplt += in_gamma as f64 / l;
        aclt += in_gamma;
        compat_aplt += in_tail as f64 / l;
        compat_aclt += in_tail;
        if let Some(n) = n_users {
            users_touched.sort_unstable();
            let mut per_len = 0.0;
            for &r in &users_touched {
                let u = b.users_values[r as usize];
                let c = std::mem::take(&mut by_users[r as usize]);
                per_len += c as f64 * -((u as f64 / n as f64).log2());
            }
            users_touched.clear();
            novelty_sum += per_len / l;
        }
    }
    let (counts, recommended_in_gamma) = if single {
        (single_counts, single_in_gamma)
    } else {
        let counts: Vec<u64> = touched.iter().map(|&i| totals[i as usize]).collect();
        let in_gamma = touched.iter().filter(|&&i| b.gamma[i as usize]).count() as u64;
        for &i in &touched {
            totals[i as usize] = 0;
        }
        (counts, in_gamma)
    };
    let recommended = counts.len() as u64;
    let runs = value_runs(&counts);
    let total = occurrences as f64;
    let mut entropy = 0.0f64;
    let mut entropy_ln = 0.0f64;
    for &(v, m) in &runs {
        let p = v as f64 / total;
        entropy += m as f64 * -(p * p.log2());
        entropy_ln += m as f64 * -(p * p.ln());
    }
    let gini = |n: u64| gini_numerator(&runs, n) as f64 / (n as f64 * total);
    let mut values = [
        Some(arp / n_lists),
        Some(aplt / n_lists),
        Some(aclt as f64 / n_lists),
        (b.n_gamma > 0).then(|| recommended_in_gamma as f64 / b.n_gamma as f64),
        Some(recommended as f64 / n_u as f64),
        Some(gini(n_u)),
        Some(entropy),
        (n_u > 1).then(|| entropy / (n_u as f64).log2()),
        n_users.map(|_| novelty_sum / n_lists),
        Some(cold as f64 / total),
    ];
    match compat {
        Some(Compat::RecBole) => {
            let n_rb = n_u + 1; // RecBole's item count includes its "[PAD]" token
            values[0] = Some(arp / n_lists);
            values[1] = Some(compat_aplt / n_lists);
            values[4] = Some(recommended as f64 / n_rb as f64);
            values[5] = Some(gini(n_rb));
            values[6] = Some(entropy_ln / recommended as f64);
        }
        Some(Compat::Elliot) => {
            values[1] = Some(compat_aplt / n_lists);
            values[2] = Some(compat_aclt as f64 / n_lists);
        }
        None => {}
    }
    Row {
        n_lists: group.n_lists as i64,
        values,
    }
}
