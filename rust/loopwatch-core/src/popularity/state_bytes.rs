//! A `popularity_metrics` state as versioned bytes and back (options, popularity, items,
//! catalog, grouping, then the counts), refusing bytes no state could have written.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use arrow::datatypes::DataType;

use super::items::Interner;
use super::long_tail::{Compat, TailRule};
use super::source::Popularity;
use super::state::{GroupCounts, ItemCount, LengthCounts, MetricsOptions, PopularityMetricsState};
use crate::duration::DurationArg;
use crate::error::Result;
use crate::group::{Buckets, ByColumn, GroupKey, Grouping};
use crate::normalize::key_kind;
use crate::state::codec::{Reader, Writer};

const KIND: &str = "popularity_metrics";
const VERSION: u16 = 1;

impl PopularityMetricsState {
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
