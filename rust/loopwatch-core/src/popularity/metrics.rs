//! Finalize a popularity_metrics state into the contract's columns. Inner sums are integers;
//! the few float sums run over canonical keys (list length, count value, φ_users value) in
//! ascending order, so the output is bit-identical however the rows were split.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array};
use arrow::datatypes::{DataType, Field};
use rayon::prelude::*;

use super::long_tail::Compat;
use super::source::{axis_factor, PopData, PopView};
use super::state::{GroupCounts, PopularityMetricsState};
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
    let ranks = state.items.ranks();
    let universe: Vec<u32> = match &state.catalog {
        Some(ids) => ids.clone(),
        // Popularity items, then the items of the lists after the cut.
        None => {
            let mut member = vec![false; n_ids];
            member[..state.pop.items.len()].fill(true);
            for e in state
                .groups
                .values()
                .flat_map(|g| g.lengths.values().flatten())
            {
                member[e.item as usize] = true;
            }
            (0..n_ids as u32).filter(|&i| member[i as usize]).collect()
        }
    };
    let rule = &state.options.rule;
    let make_view = |view: PopView| {
        let gamma = rule.gamma(&universe, &ranks, &view, n_ids);
        let n_gamma = universe.iter().filter(|&&i| gamma[i as usize]).count() as u64;
        let compat_tail = match rule.compat {
            Some(Compat::RecBole) => Some(rule.recbole_tail(&universe, &ranks, &view, n_ids)),
            Some(Compat::Elliot) => Some(rule.elliot_tail(&universe, &ranks, &view, n_ids)),
            None => None,
        };
        BucketView {
            view,
            gamma,
            n_gamma,
            compat_tail,
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
    let n_u = universe.len() as u64;
    let rows: Vec<Row> = keys
        .par_iter()
        .zip(view_of_group.par_iter())
        .map_init(
            || vec![0u64; n_ids],
            |totals, ((_, group), &v)| group_row(group, &views[v], n_u, rule.compat, totals),
        )
        .collect();

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

/// Σ_j (2j − n − 1)·c_(j) over n items whose nonzero counts are `sorted` (ascending); the
/// zeros take the first ranks and add nothing.
fn gini_numerator(sorted: &[u64], n: u64) -> i128 {
    let mut rank = (n - sorted.len() as u64) as i128; // ranks before the nonzero counts
    let n = n as i128;
    let mut sum: i128 = 0;
    for &c in sorted {
        rank += 1;
        sum += (2 * rank - n - 1) * c as i128;
    }
    sum
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
    for (&len, entries) in &group.lengths {
        let (mut phi_sum, mut in_gamma, mut in_tail): (u128, u64, u64) = (0, 0, 0);
        let mut by_users: Vec<(u64, u64)> = Vec::new();
        for e in entries {
            let phi = b.view.phi(e.item);
            phi_sum += phi as u128 * e.c as u128;
            if b.gamma[e.item as usize] {
                in_gamma += e.c;
            }
            if let Some(tail) = &b.compat_tail {
                if tail[e.item as usize] {
                    in_tail += if compat == Some(Compat::Elliot) {
                        e.d
                    } else {
                        e.c
                    };
                }
            }
            if phi == 0 {
                cold += e.c;
            }
            occurrences += e.c;
            if n_users.is_some() {
                by_users.push((b.view.phi_users(e.item).max(1), e.c));
            }
            let at = e.item as usize;
            if totals[at] == 0 {
                touched.push(e.item);
            }
            totals[at] += e.c;
        }
        let l = len as f64;
        arp += phi_sum as f64 / l;
        aplt += in_gamma as f64 / l;
        aclt += in_gamma;
        compat_aplt += in_tail as f64 / l;
        compat_aclt += in_tail;
        if let Some(n) = n_users {
            by_users.sort_unstable();
            let mut per_len = 0.0;
            let mut i = 0;
            while i < by_users.len() {
                let u = by_users[i].0;
                let mut c = 0u64;
                while i < by_users.len() && by_users[i].0 == u {
                    c += by_users[i].1;
                    i += 1;
                }
                per_len += c as f64 * -((u as f64 / n as f64).log2());
            }
            novelty_sum += per_len / l;
        }
    }
    let mut counts: Vec<u64> = touched.iter().map(|&i| totals[i as usize]).collect();
    let recommended = touched.len() as u64;
    let recommended_in_gamma = touched.iter().filter(|&&i| b.gamma[i as usize]).count() as u64;
    for &i in &touched {
        totals[i as usize] = 0;
    }
    counts.sort_unstable();
    let total = occurrences as f64;
    let mut entropy = 0.0f64;
    let mut entropy_ln = 0.0f64;
    let mut i = 0;
    while i < counts.len() {
        let v = counts[i];
        let mut m = 0u64;
        while i < counts.len() && counts[i] == v {
            m += 1;
            i += 1;
        }
        let p = v as f64 / total;
        entropy += m as f64 * -(p * p.log2());
        entropy_ln += m as f64 * -(p * p.ln());
    }
    let gini = |n: u64| gini_numerator(&counts, n) as f64 / (n as f64 * total);
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
