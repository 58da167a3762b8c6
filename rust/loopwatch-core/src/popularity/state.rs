//! The mergeable state of `popularity_metrics`: per (bucket, segment) group the number of lists
//! and, per list length L and item, the occurrences `c` and (for compat="elliot") the lists
//! containing it `d`. Every
//! metric is exact arithmetic on these integers at finalize, so results do not depend on how
//! rows were split across batches, threads, updates or machines.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::datatypes::{DataType, Schema};

use super::items::Interner;
use super::lists::{count_lists, ListLayout};
use super::long_tail::{Compat, TailRule};
use super::source::{axis_factor, needs_buckets, PopData, Popularity};
use crate::duration::DurationArg;
use crate::error::{config_err, LwError, Result};
use crate::group::{column_index, GroupKey, Grouping};
use crate::input::InputTable;
use crate::normalize::key_kind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemCount {
    pub item: u32,
    /// Occurrences.
    pub c: u64,
    /// Lists containing the item: counted only for compat="elliot", the one metric that
    /// reads it (0 otherwise; states of different compat never merge).
    pub d: u64,
}

/// Per list length: item counts sorted by item id, one entry per item.
pub type LengthCounts = BTreeMap<u32, Vec<ItemCount>>;

pub fn add_length_counts(into: &mut LengthCounts, other: LengthCounts) {
    for (len, entries) in other {
        let slot = into.entry(len).or_default();
        if slot.is_empty() {
            *slot = entries;
            continue;
        }
        *slot = merge_sorted(std::mem::take(slot), entries);
    }
}

/// Two entry lists sorted by item, merged (counts of one item added), still sorted.
fn merge_sorted(a: Vec<ItemCount>, b: Vec<ItemCount>) -> Vec<ItemCount> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        if x.item < y.item {
            out.push(x);
            i += 1;
        } else if y.item < x.item {
            out.push(y);
            j += 1;
        } else {
            out.push(ItemCount {
                item: x.item,
                c: x.c + y.c,
                d: x.d + y.d,
            });
            i += 1;
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[derive(Clone, Debug, Default)]
pub struct GroupCounts {
    pub n_lists: u64,
    pub lengths: LengthCounts,
}

/// Lists counted by one update: per group, the number of lists and the per-length counts.
pub type Counted = Vec<(GroupKey, u64, LengthCounts)>;

/// Add counted lists (item ids of the same interner) into `groups`.
pub fn add_counts(
    groups: &mut BTreeMap<GroupKey, GroupCounts>,
    counted: impl IntoIterator<Item = (GroupKey, u64, LengthCounts)>,
) {
    for (key, n_lists, lengths) in counted {
        let group = groups.entry(key).or_default();
        group.n_lists += n_lists;
        add_length_counts(&mut group.lengths, lengths);
    }
}

/// What a `popularity_metrics` call asks, before it meets the data.
#[derive(Clone, Debug)]
pub struct MetricsOptions {
    pub list_id: Vec<String>,
    pub item: String,
    pub position: Option<String>,
    pub k: Option<usize>,
    pub time: Option<String>,
    pub every: Option<DurationArg>,
    pub by: Vec<String>,
    pub rule: TailRule,
}

impl MetricsOptions {
    fn describe(&self) -> String {
        format!(
            "list_id={:?} item={:?} position={:?} k={:?} time={:?} every={:?} by={:?} {}",
            self.list_id,
            self.item,
            self.position,
            self.k,
            self.time,
            self.every,
            self.by,
            self.rule.describe()
        )
    }
}

pub struct PopularityMetricsState {
    pub options: MetricsOptions,
    pub pop: Arc<Popularity>,
    pub(super) pop_fingerprint: u64,
    /// Popularity items first (ids aligned with the popularity's), then catalog and
    /// recommended items.
    pub items: Interner,
    /// Catalog item ids, when a catalog was given.
    pub catalog: Option<Vec<u32>>,
    pub grouping: Option<Grouping>,
    pub groups: BTreeMap<GroupKey, GroupCounts>,
}

impl PopularityMetricsState {
    pub fn new(
        pop: Arc<Popularity>,
        options: MetricsOptions,
        catalog: Option<InputTable>,
    ) -> Result<PopularityMetricsState> {
        if options.k == Some(0) {
            return Err(config_err("k: expected k >= 1, got 0"));
        }
        if options.list_id.is_empty() {
            return Err(config_err("list_id: give at least one column"));
        }
        if options.every.is_some() && options.time.is_none() {
            return Err(config_err(
                "every: time buckets need time= (the time column)",
            ));
        }
        if pop.is_trailing() && options.every.is_none() {
            return Err(needs_buckets());
        }
        let mut stages = crate::trace::Stages::start();
        let pop_fingerprint = xxhash_rust::xxh3::xxh3_64(&pop.to_bytes());
        stages.mark("pop: fingerprint");
        let mut items = pop.items.clone();
        stages.mark("pop: clone items");
        let catalog = match catalog {
            None => None,
            Some(table) => Some(intern_catalog(&table, &options.item, &mut items)?),
        };
        Ok(PopularityMetricsState {
            options,
            pop,
            pop_fingerprint,
            items,
            catalog,
            grouping: None,
            groups: BTreeMap::new(),
        })
    }

    /// Add the lists of one table. A list must lie within one update (it may span the table's
    /// batches): rows of one list id given to two updates count as two lists.
    pub fn update(&mut self, table: &InputTable, chunk_rows: usize) -> Result<()> {
        let grouping = self.check_schema(&table.schema)?;
        let mut items = self.items.clone(); // a failed update leaves the items as they were
        let counted = self.count(table, &grouping, chunk_rows, &mut items)?;
        self.items = items;
        let mut stages = crate::trace::Stages::start();
        add_counts(&mut self.groups, counted);
        stages.mark("pop: add to state");
        Ok(())
    }

    /// Check the columns of a recommendations schema; the first schema fixes the grouping,
    /// later ones must group the same way. Returns the grouping.
    pub(super) fn check_schema(&mut self, schema: &Schema) -> Result<Grouping> {
        for name in &self.options.list_id {
            let field = schema.field(column_index(schema, name, "list_id")?);
            key_kind(field.data_type(), name, "recommendations").map_err(|_| {
                crate::error::schema_err(format!(
                    "list_id: column {name:?} is {}; expected integer, string, dictionary or \
                     boolean",
                    field.data_type()
                ))
            })?;
        }
        let item_field = schema.field(column_index(schema, &self.options.item, "item")?);
        let kind = super::items::value_kind(item_field.data_type(), &self.options.item, "item")?;
        self.items.check_kind(kind, &self.options.item, "item")?;
        if let Some(p) = &self.options.position {
            column_index(schema, p, "position")?;
        }
        let time = self.options.time.clone().unwrap_or_default();
        let grouping = Grouping::new(schema, &time, self.options.every.as_ref(), &self.options.by)?;
        self.check_trailing(&grouping)?;
        match &self.grouping {
            Some(g) if g.describe() != grouping.describe() => {
                return Err(config_err(format!(
                    "update: this table is grouped as {} but the state as {}",
                    grouping.describe(),
                    g.describe()
                )))
            }
            Some(_) => {}
            None => self.grouping = Some(grouping.clone()),
        }
        Ok(grouping)
    }

    /// Count the lists of `table` (checked by `check_schema`), interning its items into
    /// `items`; the state itself is unchanged.
    pub(super) fn count(
        &self,
        table: &InputTable,
        grouping: &Grouping,
        chunk_rows: usize,
        items: &mut Interner,
    ) -> Result<Counted> {
        let mut stages = crate::trace::Stages::start();
        let batches = crate::input::rechunk(table, chunk_rows)?;
        stages.mark("pop: rechunk");
        let layout = self.layout();
        let counted = count_lists(&batches, &layout, grouping, items)?;
        stages.mark("pop: count_lists total");
        if let Some(catalog) = &self.catalog {
            let mut in_catalog = vec![false; items.len()];
            for &id in catalog {
                in_catalog[id as usize] = true;
            }
            for (_, _, lengths) in &counted {
                for e in lengths.values().flatten() {
                    if !in_catalog[e.item as usize] {
                        return Err(LwError::Data(format!(
                            "item: recommended item {} is not in the catalog",
                            items.show(e.item)
                        )));
                    }
                }
            }
        }
        Ok(counted)
    }

    /// Where the list columns are and how lists are cut.
    pub(super) fn layout(&self) -> ListLayout<'_> {
        ListLayout {
            list_id: &self.options.list_id,
            item: &self.options.item,
            position: self.options.position.as_deref(),
            k: self.options.k,
            distinct_lists: self.options.rule.compat == Some(Compat::Elliot),
        }
    }

    fn check_trailing(&self, grouping: &Grouping) -> Result<()> {
        let PopData::Trailing {
            lookback,
            integer_time,
            ..
        } = &self.pop.data
        else {
            return Ok(());
        };
        let Some(b) = &grouping.buckets else {
            return Err(needs_buckets());
        };
        let factor = axis_factor(&b.data_type, &b.column, "time")?;
        let recs_integer = !matches!(b.data_type, DataType::Timestamp(_, _));
        if recs_integer != *integer_time {
            return Err(crate::error::schema_err(
                "time: the popularity's time column and the recommendations' must both be \
                 timestamps or both integers",
            ));
        }
        let every = b.every.saturating_mul(factor);
        if lookback % every != 0 {
            return Err(config_err(format!(
                "lookback: must be a whole multiple of every ({lookback} vs {every} on the \
                 time axis)"
            )));
        }
        Ok(())
    }

    /// Fold `other` into this state; refuses states of another call shape.
    pub fn merge(&mut self, other: &PopularityMetricsState) -> Result<()> {
        if self.options.describe() != other.options.describe() {
            return Err(config_err(format!(
                "cannot merge popularity_metrics states with different options: {} vs {}",
                other.options.describe(),
                self.options.describe()
            )));
        }
        if self.pop_fingerprint != other.pop_fingerprint {
            return Err(config_err(
                "cannot merge popularity_metrics states built on different popularities",
            ));
        }
        let same_catalog = match (&self.catalog, &other.catalog) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                a.len() == b.len() && {
                    let mut mine: Vec<u32> = a.clone();
                    mine.sort_unstable();
                    let mut items = self.items.clone();
                    let mut theirs: Vec<u32> = b
                        .iter()
                        .map(|&id| items.intern_from(&other.items, id))
                        .collect();
                    theirs.sort_unstable();
                    mine == theirs
                }
            }
            _ => false,
        };
        if !same_catalog {
            return Err(config_err(
                "cannot merge popularity_metrics states with different catalogs",
            ));
        }
        match (&self.grouping, &other.grouping) {
            (Some(a), Some(b)) if a.describe() != b.describe() => {
                return Err(config_err(format!(
                    "cannot merge popularity_metrics states grouped differently: {} vs {}",
                    b.describe(),
                    a.describe()
                )))
            }
            (None, Some(b)) => self.grouping = Some(b.clone()),
            _ => {}
        }
        let map: Vec<u32> = (0..other.items.len() as u32)
            .map(|id| self.items.intern_from(&other.items, id))
            .collect();
        for (key, group) in &other.groups {
            let mine = self.groups.entry(key.clone()).or_default();
            mine.n_lists += group.n_lists;
            let translated: LengthCounts = group
                .lengths
                .iter()
                .map(|(&len, entries)| {
                    let mut v: Vec<ItemCount> = entries
                        .iter()
                        .map(|e| ItemCount {
                            item: map[e.item as usize],
                            ..*e
                        })
                        .collect();
                    v.sort_unstable_by_key(|e| e.item);
                    (len, v)
                })
                .collect();
            add_length_counts(&mut mine.lengths, translated);
        }
        Ok(())
    }
}

fn intern_catalog(table: &InputTable, item: &str, items: &mut Interner) -> Result<Vec<u32>> {
    let field = table
        .schema
        .field(column_index(&table.schema, item, "catalog")?);
    let kind = super::items::value_kind(field.data_type(), item, "catalog")?;
    items.check_kind(kind, item, "catalog")?;
    let mut ids: HashMap<u32, ()> = HashMap::new();
    let mut out = Vec::new();
    for batch in &table.batches {
        let col = super::items::ValueColumn::new(
            batch.column(column_index(batch.schema_ref(), item, "catalog")?),
            item,
        )?;
        for i in 0..batch.num_rows() {
            if col.is_null(i) {
                continue;
            }
            let id = items.intern_row(&col, i);
            if ids.insert(id, ()).is_none() {
                out.push(id);
            }
        }
    }
    Ok(out)
}
