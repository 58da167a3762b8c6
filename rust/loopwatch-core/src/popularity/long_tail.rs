//! The long tail Γ: which items of the universe U count as "not popular", by one of three rules,
//! plus the tail sets of the RecBole and Elliot presets.

use rayon::prelude::*;

use super::source::PopView;
use crate::error::{config_err, Result};

/// Which library's formulas some columns follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compat {
    RecBole,
    Elliot,
}

impl Compat {
    pub fn parse(text: Option<&str>) -> Result<Option<Compat>> {
        match text {
            None => Ok(None),
            Some("recbole") => Ok(Some(Compat::RecBole)),
            Some("elliot") => Ok(Some(Compat::Elliot)),
            Some(other) => Err(config_err(format!(
                "compat: expected \"recbole\", \"elliot\" or None, got {other:?}"
            ))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Compat::RecBole => "recbole",
            Compat::Elliot => "elliot",
        }
    }
}

/// The long-tail rule of a call.
#[derive(Clone, Debug, PartialEq)]
pub struct TailRule {
    pub head_share: f64,
    pub tail_ratio: Option<f64>,
    pub max_count: Option<u64>,
    pub compat: Option<Compat>,
}

/// RecBole's TailPercentage default ratio (its `__init__`: None or <= 0 becomes 0.1).
const RECBOLE_DEFAULT_TAIL_RATIO: f64 = 0.1;

impl TailRule {
    pub fn new(
        head_share: f64,
        tail_ratio: Option<f64>,
        max_count: Option<u64>,
        compat: Option<Compat>,
    ) -> Result<TailRule> {
        if !(head_share > 0.0 && head_share <= 1.0) {
            return Err(config_err(format!(
                "head_share: expected a value in (0, 1], got {head_share}"
            )));
        }
        if tail_ratio.is_some() && max_count.is_some() {
            return Err(config_err(
                "tail_ratio, max_count: give at most one of the two long-tail rules",
            ));
        }
        if let Some(r) = tail_ratio {
            if !(r > 0.0 && r <= 1.0) {
                return Err(config_err(format!(
                    "tail_ratio: expected a value in (0, 1], got {r}"
                )));
            }
        }
        if compat == Some(Compat::Elliot) && (tail_ratio.is_some() || max_count.is_some()) {
            return Err(config_err(
                "compat: \"elliot\" only has the head_share (pop_ratio) rule; drop tail_ratio / \
                 max_count",
            ));
        }
        Ok(TailRule {
            head_share,
            tail_ratio,
            max_count,
            compat,
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "head_share={} tail_ratio={:?} max_count={:?} compat={:?}",
            self.head_share,
            self.tail_ratio,
            self.max_count,
            self.compat.map(Compat::name)
        )
    }

    /// Γ over `universe` (ids) as a mask over `n_ids` ids; `ranks` orders ids by value.
    pub fn gamma(
        &self,
        universe: &[u32],
        ranks: &[u32],
        view: &PopView,
        n_ids: usize,
    ) -> Vec<bool> {
        let mut mask = vec![false; n_ids];
        if let Some(m) = self.max_count {
            for &i in universe {
                mask[i as usize] = view.phi(i) <= m;
            }
            return mask;
        }
        if let Some(r) = self.tail_ratio {
            let order = popularity_order(universe.to_vec(), ranks, view);
            let n = ((r * order.len() as f64).floor() as usize).max(1);
            for &i in &order[order.len().saturating_sub(n)..] {
                mask[i as usize] = true;
            }
            return mask;
        }
        for &i in universe {
            mask[i as usize] = true;
        }
        for i in head(universe, ranks, view, self.head_share) {
            mask[i as usize] = false;
        }
        mask
    }

    /// RecBole's tail set T over the items of U with φ > 0.
    pub fn recbole_tail(
        &self,
        universe: &[u32],
        ranks: &[u32],
        view: &PopView,
        n_ids: usize,
    ) -> Vec<bool> {
        let mut mask = vec![false; n_ids];
        let seen: Vec<u32> = universe
            .iter()
            .copied()
            .filter(|&i| view.phi(i) > 0)
            .collect();
        if let Some(m) = self.max_count {
            for &i in &seen {
                mask[i as usize] = view.phi(i) <= m;
            }
            return mask;
        }
        let ratio = self.tail_ratio.unwrap_or(RECBOLE_DEFAULT_TAIL_RATIO);
        let mut ascending = seen;
        let mut keys: Vec<(u64, u32, u32)> = ascending
            .iter()
            .map(|&i| (view.phi(i), ranks[i as usize], i))
            .collect();
        keys.par_sort_unstable();
        ascending = keys.into_iter().map(|(_, _, i)| i).collect();
        let cut = ((ascending.len() as f64 * ratio) as usize).max(1);
        for &i in ascending.iter().take(cut) {
            mask[i as usize] = true;
        }
        mask
    }

    /// Elliot's long tail: the items with φ > 0 outside the head_share head.
    pub fn elliot_tail(
        &self,
        universe: &[u32],
        ranks: &[u32],
        view: &PopView,
        n_ids: usize,
    ) -> Vec<bool> {
        let mut mask = vec![false; n_ids];
        for &i in universe {
            mask[i as usize] = view.phi(i) > 0;
        }
        for i in head(universe, ranks, view, self.head_share) {
            mask[i as usize] = false;
        }
        mask
    }
}

/// U sorted by φ descending, ties by value ascending.
fn popularity_order(ids: Vec<u32>, ranks: &[u32], view: &PopView) -> Vec<u32> {
    // Keys gathered first, so the sort moves contiguous keys instead of chasing ids.
    let mut keys: Vec<(u64, u32, u32)> = ids
        .into_iter()
        .map(|i| (u64::MAX - view.phi(i), ranks[i as usize], i))
        .collect();
    keys.par_sort_unstable();
    keys.into_iter().map(|(_, _, i)| i).collect()
}

/// The shortest prefix of the popularity order whose φ sum reaches `share` × Σφ (Σ over U);
/// empty when Σφ = 0. Zero-φ items are never needed to reach it.
pub fn head(universe: &[u32], ranks: &[u32], view: &PopView, share: f64) -> Vec<u32> {
    let total: u128 = universe.iter().map(|&i| view.phi(i) as u128).sum();
    if total == 0 {
        return Vec::new();
    }
    let nonzero: Vec<u32> = universe
        .iter()
        .copied()
        .filter(|&i| view.phi(i) > 0)
        .collect();
    let order = popularity_order(nonzero, ranks, view);
    let target = share * total as f64;
    let mut cum: u128 = 0;
    let mut out = Vec::new();
    for i in order {
        out.push(i);
        cum += view.phi(i) as u128;
        if cum as f64 >= target {
            break;
        }
    }
    out
}
