//! The mergeable state of `label_metrics`: per group, counts plus every labeled row's score and
//! label packed into one word (`score bits << 1 | label`; scores are in [0, 1], so the bits of
//! the float order like the floats). Merging appends; `finalize` sorts once.

use std::collections::HashMap;

use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;

use super::columns::{check_types, read_labels, read_scores};
use crate::duration::DurationArg;
use crate::error::{config_err, Result};
use crate::group::{column_index, GroupKey, Grouping};
use crate::state::codec::{Reader, Writer};

const KIND: &str = "label_metrics";
const VERSION: u16 = 1;

/// What to compute: the caller's arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelMetricsConfig {
    pub label: String,
    pub score: Option<String>,
    pub time: String,
    pub every: Option<DurationArg>,
    pub by: Vec<String>,
}

impl LabelMetricsConfig {
    /// The input columns the computation reads.
    pub fn columns(&self) -> Vec<String> {
        let mut out = vec![self.label.clone()];
        out.extend(self.score.clone());
        if self.every.is_some() {
            out.push(self.time.clone());
        }
        out.extend(self.by.iter().cloned());
        out
    }

    fn write(&self, out: &mut Writer) {
        out.str(&self.label);
        match &self.score {
            Some(s) => {
                out.u8(1);
                out.str(s);
            }
            None => out.u8(0),
        }
        out.str(&self.time);
        match &self.every {
            None => out.u8(0),
            Some(DurationArg::Text(t)) => {
                out.u8(1);
                out.str(t);
            }
            Some(DurationArg::Int(v)) => {
                out.u8(2);
                out.i64(*v);
            }
        }
        out.count(self.by.len());
        for b in &self.by {
            out.str(b);
        }
    }

    fn read(input: &mut Reader) -> Result<LabelMetricsConfig> {
        let label = input.str()?;
        let score = match input.u8()? {
            0 => None,
            _ => Some(input.str()?),
        };
        let time = input.str()?;
        let every = match input.u8()? {
            0 => None,
            1 => Some(DurationArg::Text(input.str()?)),
            _ => Some(DurationArg::Int(input.i64()?)),
        };
        let n = input.count()?;
        let by = (0..n).map(|_| input.str()).collect::<Result<_>>()?;
        Ok(LabelMetricsConfig {
            label,
            score,
            time,
            every,
            by,
        })
    }
}

/// One group's running totals.
#[derive(Clone, Debug, Default)]
pub struct GroupAgg {
    pub n: u64,
    pub n_labeled: u64,
    pub positives: u64,
    /// `score.to_bits() << 1 | label` per labeled row (only with a score column), any order,
    /// in parts: merging moves parts instead of copying words; `finalize` joins them once.
    pub scored: Vec<Vec<u64>>,
}

impl GroupAgg {
    /// Every word, joined into one vector (exact size, one copy) and sorted.
    pub fn sorted_words(&self) -> Vec<u64> {
        let mut all = Vec::with_capacity(self.scored.iter().map(Vec::len).sum());
        for part in &self.scored {
            all.extend_from_slice(part);
        }
        all.sort_unstable();
        all
    }

    fn merge(&mut self, other: GroupAgg) {
        self.n += other.n;
        self.n_labeled += other.n_labeled;
        self.positives += other.positives;
        self.scored
            .extend(other.scored.into_iter().filter(|p| !p.is_empty()));
    }
}

#[derive(Clone, Debug)]
pub struct LabelMetricsState {
    pub config: LabelMetricsConfig,
    /// Set by the first table seen (it fixes the output types).
    pub grouping: Option<Grouping>,
    pub groups: HashMap<GroupKey, GroupAgg>,
}

impl LabelMetricsState {
    pub fn new(config: LabelMetricsConfig) -> LabelMetricsState {
        LabelMetricsState {
            config,
            grouping: None,
            groups: HashMap::new(),
        }
    }

    pub(super) fn empty_like(&self) -> LabelMetricsState {
        LabelMetricsState {
            config: self.config.clone(),
            grouping: self.grouping.clone(),
            groups: HashMap::new(),
        }
    }

    /// Check the columns of `schema` and fix the grouping (or check it matches the one fixed).
    pub fn resolve(&mut self, schema: &Schema) -> Result<()> {
        let c = &self.config;
        check_types(schema, &c.label, c.score.as_deref())?;
        let grouping = Grouping::new(schema, &c.time, c.every.as_ref(), &c.by)?;
        match &self.grouping {
            None => self.grouping = Some(grouping),
            Some(g) if *g == grouping => {}
            Some(g) => {
                return Err(config_err(format!(
                    "this label_metrics state was built from a table grouped as {}, but this \
                     table gives {}",
                    g.describe(),
                    grouping.describe()
                )))
            }
        }
        Ok(())
    }

    /// Add the rows of one batch (its schema must resolve like the state's).
    pub fn update_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.grouping.is_none() {
            self.resolve(batch.schema_ref())?;
        }
        let grouping = self.grouping.as_ref().expect("resolved above");
        let schema = batch.schema_ref();
        let labels = read_labels(
            batch.column(column_index(schema, &self.config.label, "label")?),
            &self.config.label,
        )?;
        let scores = match &self.config.score {
            Some(name) => Some(read_scores(
                batch.column(column_index(schema, name, "score")?),
                name,
                &labels,
            )?),
            None => None,
        };
        let assigned = grouping.assign(batch)?;
        let row_group = &assigned.row_group;
        let mut local = vec![GroupAgg::default(); assigned.keys.len()];
        // Counts first (so each group's words get their exact capacity, never regrown), then
        // the words; a pass each, over the labeled rows only where some are pending.
        match &labels.known {
            None => {
                for (&g, &label) in row_group.iter().zip(labels.values.iter()) {
                    let agg = &mut local[g as usize];
                    agg.n += 1;
                    agg.positives += label as u64;
                }
                local.iter_mut().for_each(|agg| agg.n_labeled = agg.n);
            }
            Some(known) => {
                for &g in row_group {
                    local[g as usize].n += 1;
                }
                for i in known.valid_indices() {
                    let agg = &mut local[row_group[i] as usize];
                    agg.n_labeled += 1;
                    agg.positives += labels.values[i] as u64;
                }
            }
        }
        if let Some(scores) = &scores {
            let mut words: Vec<Vec<u64>> = local
                .iter()
                .map(|agg| Vec::with_capacity(agg.n_labeled as usize))
                .collect();
            // `+ 0.0` turns -0.0 into 0.0, whose bits sort first.
            let word = |i: usize| (scores[i] + 0.0).to_bits() << 1 | labels.values[i] as u64;
            match &labels.known {
                None => {
                    for (i, &g) in row_group.iter().enumerate() {
                        words[g as usize].push(word(i));
                    }
                }
                Some(known) => {
                    for i in known.valid_indices() {
                        words[row_group[i] as usize].push(word(i));
                    }
                }
            }
            for (agg, w) in local.iter_mut().zip(words) {
                agg.scored.push(w);
            }
        }
        for (key, agg) in assigned.keys.into_iter().zip(local) {
            self.groups.entry(key).or_default().merge(agg);
        }
        Ok(())
    }

    /// Fold `other` in. Refuses states of other columns, windows (label names) or grouping.
    pub fn merge(&mut self, other: LabelMetricsState) -> Result<()> {
        // `every` is compared through the groupings (in the column's unit: "1h" == "60m").
        let (a, b) = (&self.config, &other.config);
        if (&a.label, &a.score, &a.time, &a.by) != (&b.label, &b.score, &b.time, &b.by) {
            return Err(config_err(format!(
                "cannot merge label_metrics states of different columns: label {:?}, score \
                 {:?}, time {:?}, by {:?} vs label {:?}, score {:?}, time {:?}, by {:?}",
                self.config.label,
                self.config.score,
                self.config.time,
                self.config.by,
                other.config.label,
                other.config.score,
                other.config.time,
                other.config.by
            )));
        }
        match (&self.grouping, &other.grouping) {
            (_, None) => return Ok(()),
            (None, Some(_)) => self.grouping = other.grouping.clone(),
            (Some(a), Some(b)) if a != b => {
                return Err(config_err(format!(
                    "cannot merge label_metrics states grouped differently: {} vs {}",
                    a.describe(),
                    b.describe()
                )))
            }
            _ => {}
        }
        for (key, agg) in other.groups {
            self.groups.entry(key).or_default().merge(agg);
        }
        Ok(())
    }

    /// Versioned bytes; groups in key order and scores sorted, so equal states give equal bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Writer::new(KIND, VERSION);
        self.config.write(&mut out);
        let mut keys: Vec<&GroupKey> = self.groups.keys().collect();
        keys.sort();
        match &self.grouping {
            None => out.u8(0),
            Some(g) => {
                out.u8(1);
                g.write(&mut out);
            }
        }
        out.count(keys.len());
        for key in keys {
            let agg = &self.groups[key];
            key.write(&mut out);
            out.u64(agg.n);
            out.u64(agg.n_labeled);
            out.u64(agg.positives);
            out.u64s(&agg.sorted_words());
        }
        out.finish()
    }

    /// Read bytes written by `to_bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<LabelMetricsState> {
        let mut input = Reader::open(bytes, KIND, VERSION)?;
        let config = LabelMetricsConfig::read(&mut input)?;
        let grouping = match input.u8()? {
            0 => None,
            _ => Some(Grouping::read(&mut input)?),
        };
        let n = input.count()?;
        let mut groups = HashMap::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            let key = GroupKey::read(&mut input)?;
            let agg = GroupAgg {
                n: input.u64()?,
                n_labeled: input.u64()?,
                positives: input.u64()?,
                scored: vec![input.u64s()?],
            };
            check_group(&key, &agg, grouping.as_ref(), config.score.is_some())
                .map_err(|what| input.corrupt(what))?;
            groups.insert(key, agg);
        }
        input.finish()?;
        Ok(LabelMetricsState {
            config,
            grouping,
            groups,
        })
    }
}

/// Refuse groups that no update could have produced (so a corrupt state cannot finalize into
/// impossible numbers or index past its grouping).
fn check_group(
    key: &GroupKey,
    agg: &GroupAgg,
    grouping: Option<&Grouping>,
    scored: bool,
) -> std::result::Result<(), &'static str> {
    let grouping = grouping.ok_or("groups without a grouping")?;
    if !grouping.key_fits(key) {
        return Err("a group key that does not fit the grouping");
    }
    if agg.n_labeled > agg.n || agg.positives > agg.n_labeled {
        return Err("impossible counts");
    }
    let expected = if scored { agg.n_labeled } else { 0 };
    let words = agg.scored.iter().flatten();
    if words.clone().count() as u64 != expected {
        return Err("a score count that differs from the labeled rows");
    }
    let positives = words.clone().filter(|&&w| w & 1 == 1).count() as u64;
    if scored && positives != agg.positives {
        return Err("scored positives that differ from the positives");
    }
    if words
        .clone()
        .any(|&w| !(0.0..=1.0).contains(&f64::from_bits(w >> 1)))
    {
        return Err("a score outside [0, 1]");
    }
    Ok(())
}
