//! `window_tradeoff` (SPEC §3): for candidate windows up to a reference, the share of reference
//! positives each captures, from the delays of one labeled table (no re-join per window).
//!
//! Only predictions matured for the reference count (`t + reference <= A`): a younger one could
//! still turn positive, which would bias recall towards short windows. Comparisons run in
//! nanoseconds (ticks for integer time) as `i128`, so no unit conversion rounds.

use std::collections::HashMap;

use arrow::array::{Array, BooleanArray, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;

use super::profile::{read_delays, reinterpret};
use crate::duration::{parse_duration, unit_nanos, DurationArg};
use crate::error::{config_err, schema_err, Result};
use crate::group::{column_index, GroupKey, Grouping};
use crate::normalize::to_common_unit;
use crate::output::TableBuilder;

/// The as-of time: an instant in nanoseconds since the epoch, or an integer time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AsOf {
    Nanos(i128),
    Int(i64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct TradeoffConfig {
    pub delay: String,
    pub time: String,
    pub reference: (String, DurationArg),
    /// Candidate windows as (name, duration), used as given; none = the reference alone.
    pub windows: Vec<(String, DurationArg)>,
    pub watermark: AsOf,
    pub target_recall: f64,
    pub by: Vec<String>,
}

/// Resolved against a schema: sizes in ns (or ticks) ascending, and the unit factors.
struct Plan {
    grouping: Grouping,
    windows: Vec<(String, i128)>,
    reference: i128,
    time_factor: i128,
    delay_factor: i128,
    delay_type: DataType,
    watermark: i128,
}

fn plan(config: &TradeoffConfig, schema: &Schema) -> Result<Plan> {
    if !(config.target_recall > 0.0 && config.target_recall <= 1.0) {
        return Err(config_err(format!(
            "target_recall: must be in (0, 1], got {}",
            config.target_recall
        )));
    }
    let time_type = schema
        .field(column_index(schema, &config.time, "time")?)
        .data_type();
    let delay_type = schema
        .field(column_index(schema, &config.delay, "delay")?)
        .data_type()
        .clone();
    let (time_factor, delay_factor, watermark) = match (time_type, &delay_type, config.watermark) {
        (DataType::Timestamp(tu, _), DataType::Duration(du), AsOf::Nanos(a)) => {
            (unit_nanos(*tu) as i128, unit_nanos(*du) as i128, a)
        }
        (t, d, AsOf::Int(a)) if t.is_integer() && d.is_integer() => (1, 1, a as i128),
        (DataType::Timestamp(..), DataType::Duration(_), AsOf::Int(_)) => {
            return Err(config_err(
                "watermark: an integer was given but the time column holds timestamps",
            ))
        }
        (t, d, AsOf::Nanos(_)) if t.is_integer() && d.is_integer() => {
            return Err(config_err(
                "watermark: a datetime was given but the time column holds integers",
            ))
        }
        (t, d, _) => {
            return Err(schema_err(format!(
                "time/delay: columns {:?} ({t}) and {:?} ({d}) must be a timestamp and a \
                 duration, or two integer columns",
                config.time, config.delay
            )))
        }
    };
    let temporal = matches!(delay_type, DataType::Duration(_));
    let size = |arg: &DurationArg, argument: &str| -> Result<i128> {
        let v = match (arg, temporal) {
            (DurationArg::Text(t), true) => parse_duration(t, argument)? as i128,
            (DurationArg::Int(v), false) if *v >= 0 => *v as i128,
            (DurationArg::Int(v), false) => {
                return Err(config_err(format!("{argument}: {v} is negative")))
            }
            (DurationArg::Int(v), true) => {
                return Err(config_err(format!(
                    "{argument}: {v} is a plain number but the columns are timestamps; give a \
                     duration such as \"1h\""
                )))
            }
            (DurationArg::Text(t), false) => {
                return Err(config_err(format!(
                    "{argument}: {t:?} is a duration but the columns are integers"
                )))
            }
        };
        if v % delay_factor != 0 {
            return Err(config_err(format!(
                "{argument}: not a whole number of the {:?} column's unit",
                config.delay
            )));
        }
        Ok(v)
    };
    let reference = size(&config.reference.1, "reference")?;
    let mut windows = Vec::new();
    for (name, arg) in &config.windows {
        let s = size(arg, "windows")?;
        if s > reference {
            return Err(config_err(format!(
                "windows: {name:?} is longer than the reference window {:?}",
                config.reference.0
            )));
        }
        if windows.iter().any(|(_, w)| *w == s) {
            return Err(config_err(format!("windows: {name:?} is given twice")));
        }
        windows.push((name.clone(), s));
    }
    windows.sort_by_key(|w| w.1);
    if windows.is_empty() {
        windows.push((config.reference.0.clone(), reference));
    }
    Ok(Plan {
        grouping: Grouping::new(schema, "", None, &config.by)?,
        windows,
        reference,
        time_factor,
        delay_factor,
        delay_type,
        watermark: match config.watermark {
            AsOf::Int(a) => a as i128,
            AsOf::Nanos(_) => watermark,
        },
    })
}

/// One group's counts: reference positives and, per window, captured positives.
#[derive(Clone, Debug, Default, PartialEq)]
struct Counts {
    reference_positives: u64,
    captured: Vec<u64>,
}

/// Every row of `batches` (one schema) → the trade-off table.
pub fn window_tradeoff(
    config: &TradeoffConfig,
    schema: &Schema,
    batches: &[RecordBatch],
) -> Result<RecordBatch> {
    let mut counter = TradeoffCounter::new(config, schema)?;
    counter.add(batches)?;
    counter.finish()
}

/// Counts per group, fed batch by batch (so path inputs need not be read whole).
pub struct TradeoffCounter<'a> {
    config: &'a TradeoffConfig,
    plan: Plan,
    groups: HashMap<GroupKey, Counts>,
}

impl<'a> TradeoffCounter<'a> {
    pub fn new(config: &'a TradeoffConfig, schema: &Schema) -> Result<TradeoffCounter<'a>> {
        Ok(TradeoffCounter {
            config,
            plan: plan(config, schema)?,
            groups: HashMap::new(),
        })
    }

    pub fn add(&mut self, batches: &[RecordBatch]) -> Result<()> {
        let (config, plan) = (self.config, &self.plan);
        for batch in batches {
            let delays = read_delays(batch, &config.delay)?;
            let times_array = batch.column(column_index(batch.schema_ref(), &config.time, "time")?);
            let times = to_common_unit(times_array, 1, &config.time, "the input")?;
            let assigned = plan.grouping.assign(batch)?;
            let mut local = vec![
                Counts {
                    reference_positives: 0,
                    captured: vec![0; plan.windows.len()],
                };
                assigned.keys.len()
            ];
            for (i, &g) in assigned.row_group.iter().enumerate() {
                if times_array.is_null(i) {
                    continue;
                }
                let matured =
                    times[i] as i128 * plan.time_factor + plan.reference <= plan.watermark;
                let Some(d) = delays[i].filter(|_| matured) else {
                    continue;
                };
                let d = d as i128 * plan.delay_factor;
                let counts = &mut local[g as usize];
                if d <= plan.reference {
                    counts.reference_positives += 1;
                }
                for (w, (_, size)) in plan.windows.iter().enumerate() {
                    counts.captured[w] += (d <= *size) as u64;
                }
            }
            for (key, counts) in assigned.keys.into_iter().zip(local) {
                let total = self.groups.entry(key).or_insert_with(|| Counts {
                    reference_positives: 0,
                    captured: vec![0; plan.windows.len()],
                });
                total.reference_positives += counts.reference_positives;
                for (a, b) in total.captured.iter_mut().zip(counts.captured) {
                    *a += b;
                }
            }
        }
        Ok(())
    }

    pub fn finish(self) -> Result<RecordBatch> {
        finish(self.config, &self.plan, self.groups)
    }
}

fn finish(
    config: &TradeoffConfig,
    plan: &Plan,
    groups: HashMap<GroupKey, Counts>,
) -> Result<RecordBatch> {
    let mut sorted: Vec<(GroupKey, Counts)> = groups.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut keys = Vec::new();
    let (mut names, mut sizes, mut captured, mut reference) = (vec![], vec![], vec![], vec![]);
    let (mut recall, mut fnr, mut reaches, mut smallest) = (vec![], vec![], vec![], vec![]);
    for (key, counts) in &sorted {
        let mut reached = false;
        for (w, (name, size)) in plan.windows.iter().enumerate() {
            keys.push(key.clone());
            names.push(name.clone());
            sizes.push((size / plan.delay_factor) as i64);
            captured.push(counts.captured[w]);
            reference.push(counts.reference_positives);
            let r = (counts.reference_positives > 0)
                .then(|| counts.captured[w] as f64 / counts.reference_positives as f64);
            recall.push(r);
            fnr.push(r.map(|r| 1.0 - r));
            let hit = r.map(|r| r >= config.target_recall);
            reaches.push(hit);
            smallest.push(Some(hit == Some(true) && !reached));
            reached |= hit == Some(true);
        }
    }
    let mut table = TableBuilder::default();
    for (field, array) in plan.grouping.key_columns(&keys)? {
        table.push(field, array);
    }
    table.push(
        Field::new("window", DataType::Utf8, true),
        Arc::new(StringArray::from(names)),
    );
    let size_type = match plan.delay_type {
        DataType::Duration(_) => plan.delay_type.clone(),
        _ => DataType::Int64,
    };
    table.push(
        Field::new("window_duration", size_type.clone(), true),
        reinterpret(sizes.into(), &size_type)?,
    );
    table.int64("captured", captured);
    table.int64("reference_positives", reference);
    table.float64("recall", recall);
    table.float64("false_negative_rate", fnr);
    table.push(
        Field::new("reaches_target", DataType::Boolean, true),
        Arc::new(BooleanArray::from(reaches)),
    );
    table.push(
        Field::new("smallest_reaching_target", DataType::Boolean, true),
        Arc::new(BooleanArray::from(smallest)),
    );
    table.finish()
}
