//! The mergeable state of `popularity_metrics`: per (bucket, segment) group the number of lists
//! and, per list length L and item, the occurrences `c` and the lists containing it `d`. Every
//! metric is exact arithmetic on these integers at finalize, so results do not depend on how
//! rows were split across batches, threads, updates or machines.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

use arrow::datatypes::{DataType, Schema};

use super::items::Interner;
use super::lists::{count_lists, ListLayout};
use super::long_tail::{Compat, TailRule};
use super::source::{axis_factor, needs_buckets, PopData, Popularity};
use crate::duration::DurationArg;
use crate::error::{config_err, LwError, Result};
use crate::group::{column_index, Buckets, ByColumn, GroupKey, Grouping};
use crate::input::InputTable;
use crate::normalize::key_kind;
use crate::state::codec::{Reader, Writer};

const KIND: &str = "popularity_metrics";
const VERSION: u16 = 1;

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
    pop_fingerprint: u64,
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

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(KIND, VERSION);
        write_options(&self.options, &mut w);
        self.pop.write(&mut w);
        self.items.write(&mut w);
        match &self.catalog {
            None => w.u8(0),
            Some(ids) => {
                w.u8(1);
                w.u64s(&ids.iter().map(|&i| i as u64).collect::<Vec<_>>());
            }
        }
        match &self.grouping {
            None => w.u8(0),
            Some(g) => {
                w.u8(1);
                write_grouping(g, &mut w);
            }
        }
        w.count(self.groups.len());
        for (key, group) in &self.groups {
            key.write(&mut w);
            w.u64(group.n_lists);
            w.count(group.lengths.len());
            for (&len, entries) in &group.lengths {
                w.u64(len as u64);
                w.count(entries.len());
                for e in entries {
                    w.u64(e.item as u64);
                    w.u64(e.c);
                    w.u64(e.d);
                }
            }
        }
        w.finish()
    }

    pub fn from_bytes(data: &[u8]) -> Result<PopularityMetricsState> {
        let mut r = Reader::open(data, KIND, VERSION)?;
        let options = read_options(&mut r)?;
        let pop = Arc::new(Popularity::read(&mut r)?);
        let pop_fingerprint = xxhash_rust::xxh3::xxh3_64(&pop.to_bytes());
        let items = Interner::read(&mut r)?;
        let n_items = items.len() as u64;
        let check_id = |r: &Reader, id: u64| -> Result<u32> {
            if id >= n_items {
                return Err(r.corrupt("item id"));
            }
            Ok(id as u32)
        };
        let catalog = match r.u8()? {
            0 => None,
            _ => Some(
                r.u64s()?
                    .into_iter()
                    .map(|id| check_id(&r, id))
                    .collect::<Result<Vec<u32>>>()?,
            ),
        };
        let grouping = match r.u8()? {
            0 => None,
            _ => Some(read_grouping(&mut r)?),
        };
        let n_groups = r.count()?;
        let mut groups = BTreeMap::new();
        for _ in 0..n_groups {
            let key = GroupKey::read(&mut r)?;
            let n_lists = r.u64()?;
            let n_lengths = r.count()?;
            let mut lengths = LengthCounts::new();
            for _ in 0..n_lengths {
                let len = r.u64()? as u32;
                let n = r.count()?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let item = r.u64()?;
                    let item = check_id(&r, item)?;
                    entries.push(ItemCount {
                        item,
                        c: r.u64()?,
                        d: r.u64()?,
                    });
                }
                lengths.insert(len, entries);
            }
            groups.insert(key, GroupCounts { n_lists, lengths });
        }
        r.finish()?;
        Ok(PopularityMetricsState {
            options,
            pop,
            pop_fingerprint,
            items,
            catalog,
            grouping,
            groups,
        })
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

fn write_opt_str(w: &mut Writer, s: &Option<String>) {
    match s {
        None => w.u8(0),
        Some(s) => {
            w.u8(1);
            w.str(s);
        }
    }
}

fn read_opt_str(r: &mut Reader) -> Result<Option<String>> {
    Ok(match r.u8()? {
        0 => None,
        _ => Some(r.str()?),
    })
}

fn write_options(o: &MetricsOptions, w: &mut Writer) {
    w.count(o.list_id.len());
    for s in &o.list_id {
        w.str(s);
    }
    w.str(&o.item);
    write_opt_str(w, &o.position);
    w.opt_i64(o.k.map(|k| k as i64));
    write_opt_str(w, &o.time);
    match &o.every {
        None => w.u8(0),
        Some(DurationArg::Text(t)) => {
            w.u8(1);
            w.str(t);
        }
        Some(DurationArg::Int(v)) => {
            w.u8(2);
            w.i64(*v);
        }
    }
    w.count(o.by.len());
    for s in &o.by {
        w.str(s);
    }
    w.f64(o.rule.head_share);
    w.u8(o.rule.tail_ratio.is_some() as u8);
    w.f64(o.rule.tail_ratio.unwrap_or(0.0));
    w.opt_i64(o.rule.max_count.map(|m| m as i64));
    w.str(o.rule.compat.map_or("", Compat::name));
}

fn read_options(r: &mut Reader) -> Result<MetricsOptions> {
    let n = r.count()?;
    let list_id = (0..n).map(|_| r.str()).collect::<Result<_>>()?;
    let item = r.str()?;
    let position = read_opt_str(r)?;
    let k = r.opt_i64()?.map(|k| k as usize);
    let time = read_opt_str(r)?;
    let every = match r.u8()? {
        0 => None,
        1 => Some(DurationArg::Text(r.str()?)),
        _ => Some(DurationArg::Int(r.i64()?)),
    };
    let n = r.count()?;
    let by = (0..n).map(|_| r.str()).collect::<Result<_>>()?;
    let head_share = r.f64()?;
    let has_ratio = r.u8()? != 0;
    let ratio = r.f64()?;
    let max_count = r.opt_i64()?.map(|m| m as u64);
    let compat = r.str()?;
    let compat = Compat::parse((!compat.is_empty()).then_some(compat.as_str()))?;
    let rule = TailRule::new(head_share, has_ratio.then_some(ratio), max_count, compat)?;
    Ok(MetricsOptions {
        list_id,
        item,
        position,
        k,
        time,
        every,
        by,
        rule,
    })
}

fn write_grouping(g: &Grouping, w: &mut Writer) {
    match &g.buckets {
        None => w.u8(0),
        Some(b) => {
            w.u8(1);
            w.str(&b.column);
            w.i64(b.every);
            w.str(&b.data_type.to_string());
        }
    }
    w.count(g.by.len());
    for c in &g.by {
        w.str(&c.name);
        w.str(&c.output_type.to_string());
    }
}

fn read_grouping(r: &mut Reader) -> Result<Grouping> {
    let parse = |r: &Reader, s: &str| DataType::from_str(s).map_err(|_| r.corrupt("data type"));
    let buckets = match r.u8()? {
        0 => None,
        _ => {
            let column = r.str()?;
            let every = r.i64()?;
            let text = r.str()?;
            Some(Buckets {
                column,
                every,
                data_type: parse(r, &text)?,
            })
        }
    };
    let n = r.count()?;
    let mut by = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.str()?;
        let text = r.str()?;
        let output_type = parse(r, &text)?;
        let kind = key_kind(&output_type, &name, "state").map_err(|_| r.corrupt("by type"))?;
        by.push(ByColumn {
            name,
            kind,
            output_type,
        });
    }
    Ok(Grouping { buckets, by })
}
