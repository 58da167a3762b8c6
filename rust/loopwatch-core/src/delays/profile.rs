//! `delay_profile` (SPEC §3): the feedback loop length per segment — count, mean, quantiles from
//! a mergeable sketch, and a log-spaced histogram with exact counts.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{make_array, Array, ArrayRef, AsArray, Int64Array};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::histogram::{bin_of, edges};
use super::sketch::QuantileSketch;
use crate::error::{config_err, schema_err, LwError, Result};
use crate::group::{column_index, GroupKey, Grouping};
use crate::output::TableBuilder;
use crate::state::codec::{Reader, Writer};

const KIND: &str = "delay_profile";
const VERSION: u16 = 1;
pub const QUANTILES: [(&str, f64); 4] = [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)];

/// The unit of a delay column: `Some(unit)` for durations, `None` for integers.
pub fn delay_unit(schema: &Schema, delay: &str) -> Result<Option<TimeUnit>> {
    let field = schema.field(column_index(schema, delay, "delay")?);
    match field.data_type() {
        DataType::Duration(unit) => Ok(Some(*unit)),
        t if t.is_integer() => Ok(None),
        other => Err(schema_err(format!(
            "delay: column {delay:?} is {other}; expected a duration or integer column"
        ))),
    }
}

/// Delays of one batch as `i64` (nulls: `None`); negative delays are refused.
pub fn read_delays(batch: &RecordBatch, delay: &str) -> Result<Vec<Option<i64>>> {
    let array = batch.column(column_index(batch.schema_ref(), delay, "delay")?);
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    let wide = cast_with_options(array, &DataType::Int64, &options)
        .map_err(|_| LwError::Data(format!("delay: column {delay:?} exceeds the int64 range")))?;
    let values = wide.as_primitive::<Int64Type>();
    if let Some(v) = values.iter().flatten().find(|&v| v < 0) {
        return Err(LwError::Data(format!(
            "delay: column {delay:?} holds a negative delay ({v}); feedback cannot precede its \
             prediction"
        )));
    }
    Ok(values.iter().collect())
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DelayAgg {
    pub n: u64,
    pub count: u64,
    pub sum: i128,
    pub sketch: QuantileSketch,
    pub histogram: Vec<u64>,
}

impl DelayAgg {
    fn merge(&mut self, other: DelayAgg) {
        self.n += other.n;
        self.count += other.count;
        self.sum += other.sum;
        self.sketch.merge(other.sketch);
        if self.histogram.len() < other.histogram.len() {
            self.histogram.resize(other.histogram.len(), 0);
        }
        for (a, b) in self.histogram.iter_mut().zip(other.histogram) {
            *a += b;
        }
    }
}

#[derive(Clone, Debug)]
pub struct DelayProfileState {
    pub delay: String,
    pub by: Vec<String>,
    /// Fixed by the first table: the grouping and the delay column's type.
    pub resolved: Option<(Grouping, DataType)>,
    pub groups: HashMap<GroupKey, DelayAgg>,
}

impl DelayProfileState {
    pub fn new(delay: String, by: Vec<String>) -> DelayProfileState {
        DelayProfileState {
            delay,
            by,
            resolved: None,
            groups: HashMap::new(),
        }
    }

    /// The same configuration, no rows.
    pub fn empty_like(&self) -> DelayProfileState {
        DelayProfileState {
            delay: self.delay.clone(),
            by: self.by.clone(),
            resolved: self.resolved.clone(),
            groups: HashMap::new(),
        }
    }

    pub fn columns(&self) -> Vec<String> {
        let mut out = vec![self.delay.clone()];
        out.extend(self.by.iter().cloned());
        out
    }

    pub fn resolve(&mut self, schema: &Schema) -> Result<()> {
        delay_unit(schema, &self.delay)?;
        let grouping = Grouping::new(schema, "", None, &self.by)?;
        let delay_type = schema
            .field(column_index(schema, &self.delay, "delay")?)
            .data_type()
            .clone();
        let delay_type = if delay_type.is_integer() {
            DataType::Int64
        } else {
            delay_type
        };
        let found = (grouping, delay_type);
        match &self.resolved {
            None => self.resolved = Some(found),
            Some(r) if *r == found => {}
            Some(r) => {
                return Err(config_err(format!(
                    "this delay_profile state was built from a table with {} and delays of type \
                     {}, but this table gives {} and {}",
                    r.0.describe(),
                    r.1,
                    found.0.describe(),
                    found.1
                )))
            }
        }
        Ok(())
    }

    fn unit(&self) -> Option<TimeUnit> {
        match self.resolved.as_ref().map(|r| &r.1) {
            Some(DataType::Duration(unit)) => Some(*unit),
            _ => None,
        }
    }

    pub fn update_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.resolved.is_none() {
            self.resolve(batch.schema_ref())?;
        }
        let (grouping, _) = self.resolved.as_ref().expect("resolved above");
        let delays = read_delays(batch, &self.delay)?;
        let assigned = grouping.assign(batch)?;
        let edges = edges(self.unit());
        let mut local = vec![
            DelayAgg {
                histogram: vec![0; edges.len()],
                ..Default::default()
            };
            assigned.keys.len()
        ];
        for (i, &g) in assigned.row_group.iter().enumerate() {
            let agg = &mut local[g as usize];
            agg.n += 1;
            if let Some(d) = delays[i] {
                agg.count += 1;
                agg.sum += d as i128;
                agg.sketch.insert(d);
                agg.histogram[bin_of(&edges, d)] += 1;
            }
        }
        for (key, agg) in assigned.keys.into_iter().zip(local) {
            self.groups.entry(key).or_default().merge(agg);
        }
        Ok(())
    }

    pub fn merge(&mut self, other: DelayProfileState) -> Result<()> {
        if (&self.delay, &self.by) != (&other.delay, &other.by) {
            return Err(config_err(format!(
                "cannot merge delay_profile states of different columns: {:?} by {:?} vs {:?} by \
                 {:?}",
                self.delay, self.by, other.delay, other.by
            )));
        }
        match (&self.resolved, &other.resolved) {
            (_, None) => return Ok(()),
            (None, Some(_)) => self.resolved = other.resolved.clone(),
            (Some(a), Some(b)) if a != b => {
                return Err(config_err(format!(
                    "cannot merge delay_profile states of different column types: {} / {} vs {} \
                     / {}",
                    a.0.describe(),
                    a.1,
                    b.0.describe(),
                    b.1
                )))
            }
            _ => {}
        }
        for (key, agg) in other.groups {
            self.groups.entry(key).or_default().merge(agg);
        }
        Ok(())
    }

    /// `(summary, histogram)` tables.
    pub fn finalize(&self) -> Result<(RecordBatch, RecordBatch)> {
        let (grouping, delay_type) = self
            .resolved
            .as_ref()
            .ok_or_else(|| config_err("this delay_profile state has seen no table yet"))?;
        let is_duration = matches!(delay_type, DataType::Duration(_));
        let mut groups: Vec<(&GroupKey, &DelayAgg)> = self.groups.iter().collect();
        groups.sort_by(|a, b| a.0.cmp(b.0));
        let keys: Vec<GroupKey> = groups.iter().map(|(k, _)| (*k).clone()).collect();

        let mut summary = TableBuilder::default();
        for (field, array) in grouping.key_columns(&keys)? {
            summary.push(field, array);
        }
        summary.int64("n", groups.iter().map(|(_, a)| a.n));
        summary.int64("count", groups.iter().map(|(_, a)| a.count));
        let stat = |values: Vec<Option<f64>>| -> Result<ArrayRef> {
            // (Durations: rounded half up to the column's unit.)
            if is_duration {
                let rounded: Int64Array = values
                    .into_iter()
                    .map(|v| v.map(|x| (x + 0.5).floor() as i64))
                    .collect();
                reinterpret(rounded, delay_type)
            } else {
                Ok(Arc::new(arrow::array::Float64Array::from(values)))
            }
        };
        let stat_type = if is_duration {
            delay_type.clone()
        } else {
            DataType::Float64
        };
        // The mean exactly rounded (half up) for durations: floor((2·sum + count) / (2·count)).
        let means: Vec<Option<f64>> = groups
            .iter()
            .map(|(_, a)| {
                (a.count > 0).then(|| {
                    if is_duration {
                        let c = a.count as i128;
                        (2 * a.sum + c).div_euclid(2 * c) as f64
                    } else {
                        a.sum as f64 / a.count as f64
                    }
                })
            })
            .collect();
        let mean_column = if is_duration {
            // Exact integer rounding: a float would lose units beyond 2^53.
            let exact: Int64Array = groups
                .iter()
                .map(|(_, a)| {
                    (a.count > 0).then(|| {
                        let c = a.count as i128;
                        (2 * a.sum + c).div_euclid(2 * c) as i64
                    })
                })
                .collect();
            reinterpret(exact, delay_type)?
        } else {
            stat(means)?
        };
        summary.push(Field::new("mean", stat_type.clone(), true), mean_column);
        let qs: Vec<f64> = QUANTILES.iter().map(|q| q.1).collect();
        let per_group: Vec<Vec<Option<f64>>> = groups
            .iter()
            .map(|(_, a)| a.sketch.quantiles(&qs))
            .collect();
        for (k, (name, _)) in QUANTILES.iter().enumerate() {
            let values = per_group.iter().map(|q| q[k]).collect();
            summary.push(Field::new(*name, stat_type.clone(), true), stat(values)?);
        }

        let edges = edges(self.unit());
        let mut hist_keys = Vec::new();
        let (mut starts, mut ends, mut counts) = (Vec::new(), Vec::new(), Vec::new());
        for (key, agg) in &groups {
            let nonempty: Vec<usize> = (0..agg.histogram.len())
                .filter(|&b| agg.histogram[b] > 0)
                .collect();
            if let (Some(&first), Some(&last)) = (nonempty.first(), nonempty.last()) {
                for b in first..=last {
                    hist_keys.push((*key).clone());
                    starts.push(Some(edges[b]));
                    ends.push(edges.get(b + 1).copied());
                    counts.push(agg.histogram[b]);
                }
            }
        }
        let mut histogram = TableBuilder::default();
        for (field, array) in grouping.key_columns(&hist_keys)? {
            histogram.push(field, array);
        }
        let bin_type = if is_duration {
            delay_type.clone()
        } else {
            DataType::Int64
        };
        histogram.push(
            Field::new("bin_start", bin_type.clone(), true),
            reinterpret(Int64Array::from(starts), &bin_type)?,
        );
        histogram.push(
            Field::new("bin_end", bin_type.clone(), true),
            reinterpret(Int64Array::from(ends), &bin_type)?,
        );
        histogram.int64("count", counts);
        Ok((summary.finish()?, histogram.finish()?))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Writer::new(KIND, VERSION);
        out.str(&self.delay);
        out.count(self.by.len());
        self.by.iter().for_each(|b| out.str(b));
        match &self.resolved {
            None => out.u8(0),
            Some((grouping, delay_type)) => {
                out.u8(1);
                grouping.write(&mut out);
                match delay_type {
                    DataType::Duration(unit) => out.str(crate::duration::unit_name(*unit)),
                    _ => out.str("int"),
                }
            }
        }
        let mut keys: Vec<&GroupKey> = self.groups.keys().collect();
        keys.sort();
        out.count(keys.len());
        for key in keys {
            let agg = &self.groups[key];
            key.write(&mut out);
            out.u64(agg.n);
            out.u64(agg.count);
            out.i64(agg.sum as i64);
            out.i64((agg.sum >> 64) as i64);
            agg.sketch.write(&mut out);
            out.u64s(&agg.histogram);
        }
        out.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<DelayProfileState> {
        let mut input = Reader::open(bytes, KIND, VERSION)?;
        let delay = input.str()?;
        let n_by = input.count()?;
        let by = (0..n_by).map(|_| input.str()).collect::<Result<_>>()?;
        let resolved = match input.u8()? {
            0 => None,
            _ => {
                let grouping = Grouping::read(&mut input)?;
                let delay_type = match input.str()?.as_str() {
                    "s" => DataType::Duration(TimeUnit::Second),
                    "ms" => DataType::Duration(TimeUnit::Millisecond),
                    "us" => DataType::Duration(TimeUnit::Microsecond),
                    "ns" => DataType::Duration(TimeUnit::Nanosecond),
                    _ => DataType::Int64,
                };
                Some((grouping, delay_type))
            }
        };
        let n = input.count()?;
        let mut groups = HashMap::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            let key = GroupKey::read(&mut input)?;
            let n = input.u64()?;
            let count = input.u64()?;
            let low = input.i64()? as u64 as i128;
            let high = (input.i64()? as i128) << 64;
            let agg = DelayAgg {
                n,
                count,
                sum: high | low,
                sketch: QuantileSketch::read(&mut input)?,
                histogram: input.u64s()?,
            };
            let unit = match resolved.as_ref().map(|r| &r.1) {
                Some(DataType::Duration(unit)) => Some(*unit),
                _ => None,
            };
            check_group(&key, &agg, resolved.as_ref().map(|r| &r.0), unit)
                .map_err(|what| input.corrupt(what))?;
            groups.insert(key, agg);
        }
        input.finish()?;
        Ok(DelayProfileState {
            delay,
            by,
            resolved,
            groups,
        })
    }
}

/// Int64 values viewed as `to` (a duration type, or int64 itself).
pub fn reinterpret(values: Int64Array, to: &DataType) -> Result<ArrayRef> {
    if *to == DataType::Int64 {
        return Ok(Arc::new(values));
    }
    let data = values
        .into_data()
        .into_builder()
        .data_type(to.clone())
        .build()?;
    Ok(make_array(data))
}

/// Refuse groups that no update could have produced.
fn check_group(
    key: &GroupKey,
    agg: &DelayAgg,
    grouping: Option<&Grouping>,
    unit: Option<TimeUnit>,
) -> std::result::Result<(), &'static str> {
    let grouping = grouping.ok_or("groups without a grouping")?;
    if !grouping.key_fits(key) {
        return Err("a group key that does not fit the grouping");
    }
    if agg.count > agg.n || agg.sum < 0 {
        return Err("impossible counts");
    }
    if agg.histogram.len() != edges(unit).len() {
        return Err("a histogram with the wrong number of bins");
    }
    if agg.histogram.iter().sum::<u64>() != agg.count || agg.sketch.count() != agg.count {
        return Err("histogram or sketch totals that differ from the count");
    }
    if !agg.sketch.is_consistent() {
        return Err("an inconsistent quantile sketch");
    }
    Ok(())
}
