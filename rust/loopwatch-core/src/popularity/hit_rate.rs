//! Hit rate against popularity: labeled predictions bucketed by the φ of their item (log10
//! buckets or quantiles), with the positive rate per bucket and head vs tail.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, StringArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::items::{null_error, value_kind, ValueColumn};
use super::long_tail::head;
use super::source::{axis_factor, needs_buckets, PopData, PopView, Popularity};
use crate::duration::DurationArg;
use crate::error::{config_err, schema_err, LwError, Result};
use crate::group::{column_index, time_unit_of};
use crate::input::{load, Source};
use crate::normalize::to_common_unit;

pub struct HitRateOptions {
    pub label: String,
    pub item: String,
    /// `None`: log10 buckets; `Some(q)`: q quantiles.
    pub quantiles: Option<usize>,
    pub time: Option<String>,
    pub every: Option<DurationArg>,
    pub head_share: f64,
}

pub struct HitRate {
    pub schema: SchemaRef,
    pub batch: RecordBatch,
    pub head_rate: Option<f64>,
    pub tail_rate: Option<f64>,
    pub head_tail_ratio: Option<f64>,
}

#[derive(Default, Clone)]
struct Bucket {
    name: String,
    min: u64,
    max: u64,
    predictions: i64,
    labeled: i64,
    positives: i64,
}

pub fn hit_rate_by_popularity(
    labeled: Source,
    pop: &Popularity,
    options: &HitRateOptions,
) -> Result<HitRate> {
    if !(options.head_share > 0.0 && options.head_share <= 1.0) {
        return Err(config_err(format!(
            "head_share: expected a value in (0, 1], got {}",
            options.head_share
        )));
    }
    if options.quantiles == Some(0) {
        return Err(config_err(
            "buckets: expected \"log10\" or an int >= 1, got 0",
        ));
    }
    if options.every.is_some() && options.time.is_none() {
        return Err(config_err(
            "every: time buckets need time= (the time column)",
        ));
    }
    if pop.is_trailing() && options.every.is_none() {
        return Err(needs_buckets());
    }
    let table = load(labeled, None, "labeled")?;
    let schema = &table.schema;
    let item_field = schema.field(column_index(schema, &options.item, "item")?);
    pop.items.check_kind(
        value_kind(item_field.data_type(), &options.item, "item")?,
        &options.item,
        "item",
    )?;
    let label_type = schema
        .field(column_index(schema, &options.label, "label")?)
        .data_type()
        .clone();
    if !(label_type.is_integer() || label_type == DataType::Boolean) {
        return Err(schema_err(format!(
            "label: column {:?} is {label_type}; expected an integer or boolean column",
            options.label
        )));
    }
    // Bucket (on the axis) per row, when bucketed.
    let mut every_axis = None;
    if let (Some(time), Some(every)) = (&options.time, &options.every) {
        let field = schema.field(column_index(schema, time, "time")?);
        let unit = time_unit_of(field.data_type(), time, "time")?;
        let stored = crate::duration::duration_in_unit(every, unit, "every")?;
        let factor = axis_factor(field.data_type(), time, "time")?;
        let e = stored.saturating_mul(factor);
        if let PopData::Trailing {
            lookback,
            integer_time,
            ..
        } = &pop.data
        {
            if *integer_time != unit.is_none() {
                return Err(config_err(
                    "time: the popularity's time column and the labeled table's must both be \
                     timestamps or both integers",
                ));
            }
            if lookback % e != 0 {
                return Err(config_err("lookback: must be a whole multiple of every"));
            }
        }
        every_axis = Some(e);
    }
    let mut items = pop.items.clone();
    let mut rows: Vec<(Option<i64>, u32, Option<bool>)> = Vec::with_capacity(table.num_rows());
    let mut offset = 0;
    for batch in &table.batches {
        let s = batch.schema();
        let col = ValueColumn::new(
            batch.column(column_index(&s, &options.item, "item")?),
            &options.item,
        )?;
        let label = batch.column(column_index(&s, &options.label, "label")?);
        let labels = cast_with_options(label, &DataType::Int64, &CastOptions::default())?;
        let labels = labels.as_primitive::<Int64Type>();
        let times = match (&options.time, every_axis) {
            (Some(time), Some(_)) => {
                let array = batch.column(column_index(&s, time, "time")?);
                let f = axis_factor(array.data_type(), time, "time")?;
                Some((
                    to_common_unit(array, f, time, "labeled")?,
                    array.logical_nulls(),
                ))
            }
            _ => None,
        };
        for i in 0..batch.num_rows() {
            if col.is_null(i) {
                return Err(null_error("item", &options.item, offset + i));
            }
            let y = if labels.is_null(i) {
                None
            } else {
                match labels.value(i) {
                    0 => Some(false),
                    1 => Some(true),
                    v => {
                        return Err(LwError::Data(format!(
                            "label: column {:?} holds {v} at row {}; expected 0, 1 or null",
                            options.label,
                            offset + i
                        )))
                    }
                }
            };
            let bucket = match (&times, every_axis) {
                (Some((values, nulls)), Some(e)) => {
                    if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                        None
                    } else {
                        Some(values[i].div_euclid(e) * e)
                    }
                }
                _ => Some(0),
            };
            rows.push((bucket, items.intern_row(&col, i), y));
        }
        offset += batch.num_rows();
    }
    // Views per distinct bucket.
    let mut starts: Vec<Option<i64>> = rows.iter().map(|r| r.0).collect();
    starts.sort_by_key(|s| (s.is_none(), *s));
    starts.dedup();
    let views: Vec<PopView> = match &pop.data {
        PopData::Fixed(v) => vec![PopView {
            phi: v.phi.clone(),
            phi_users: None,
            n_users: None,
        }],
        PopData::Trailing { .. } => pop.trailing_views(&starts),
    };
    let view_index = |b: Option<i64>| -> usize {
        if views.len() == 1 {
            0
        } else {
            starts
                .binary_search_by_key(&(b.is_none(), b), |s| (s.is_none(), *s))
                .unwrap_or(0)
        }
    };
    let phis: Vec<u64> = rows
        .iter()
        .map(|r| views[view_index(r.0)].phi(r.1))
        .collect();

    // Bucket of each prediction.
    let edges: Vec<u64> = match options.quantiles {
        None => Vec::new(),
        Some(q) => {
            let mut sorted = phis.clone();
            sorted.sort_unstable();
            let n = sorted.len();
            let mut edges: Vec<u64> = Vec::new();
            if n > 0 {
                for j in 1..=q {
                    let rank = (j * n).div_ceil(q) - 1;
                    let e = sorted[rank];
                    if !edges.contains(&e) {
                        edges.push(e);
                    }
                }
            }
            edges
        }
    };
    let bucket_of = |phi: u64| -> (usize, String) {
        match options.quantiles {
            None => {
                if phi == 0 {
                    (0, "0".into())
                } else {
                    let digits = phi.to_string().len() as u32;
                    let lo = 10u128.pow(digits - 1);
                    let hi = 10u128.pow(digits) - 1;
                    (digits as usize, format!("{lo}-{hi}"))
                }
            }
            Some(_) => {
                let j = edges
                    .iter()
                    .position(|&e| phi <= e)
                    .unwrap_or(edges.len().saturating_sub(1));
                if j == 0 {
                    (0, format!("<={}", edges[0]))
                } else {
                    (j, format!("{}-{}", edges[j - 1], edges[j]))
                }
            }
        }
    };
    let mut buckets: BTreeMap<usize, Bucket> = BTreeMap::new();
    for (r, &phi) in rows.iter().zip(&phis) {
        let (rank, name) = bucket_of(phi);
        let b = buckets.entry(rank).or_insert_with(|| Bucket {
            name,
            min: phi,
            max: phi,
            ..Bucket::default()
        });
        b.min = b.min.min(phi);
        b.max = b.max.max(phi);
        b.predictions += 1;
        if let Some(y) = r.2 {
            b.labeled += 1;
            b.positives += y as i64;
        }
    }
    // Head / tail over U = popularity items ∪ labeled items.
    let universe: Vec<u32> = (0..items.len() as u32).collect();
    let ranks = items.ranks();
    let heads: Vec<Vec<bool>> = views
        .iter()
        .map(|v| {
            let mut mask = vec![false; items.len()];
            for i in head(&universe, &ranks, v, options.head_share) {
                mask[i as usize] = true;
            }
            mask
        })
        .collect();
    let (mut head_n, mut head_pos, mut tail_n, mut tail_pos) = (0u64, 0u64, 0u64, 0u64);
    for r in &rows {
        if let Some(y) = r.2 {
            if heads[view_index(r.0)][r.1 as usize] {
                head_n += 1;
                head_pos += y as u64;
            } else {
                tail_n += 1;
                tail_pos += y as u64;
            }
        }
    }
    let head_rate = (head_n > 0).then(|| head_pos as f64 / head_n as f64);
    let tail_rate = (tail_n > 0).then(|| tail_pos as f64 / tail_n as f64);
    let head_tail_ratio = match (head_rate, tail_rate) {
        (Some(h), Some(t)) if t > 0.0 => Some(h / t),
        _ => None,
    };

    let list: Vec<&Bucket> = buckets.values().collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("bucket", DataType::Utf8, true),
        Field::new("pop_min", DataType::Int64, true),
        Field::new("pop_max", DataType::Int64, true),
        Field::new("predictions", DataType::Int64, true),
        Field::new("labeled", DataType::Int64, true),
        Field::new("positives", DataType::Int64, true),
        Field::new("positive_rate", DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            list.iter().map(|b| b.name.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(
            list.iter().map(|b| b.min as i64),
        )),
        Arc::new(Int64Array::from_iter_values(
            list.iter().map(|b| b.max as i64),
        )),
        Arc::new(Int64Array::from_iter_values(
            list.iter().map(|b| b.predictions),
        )),
        Arc::new(Int64Array::from_iter_values(list.iter().map(|b| b.labeled))),
        Arc::new(Int64Array::from_iter_values(
            list.iter().map(|b| b.positives),
        )),
        Arc::new(Float64Array::from_iter(list.iter().map(|b| {
            (b.labeled > 0).then(|| b.positives as f64 / b.labeled as f64)
        }))),
    ];
    let batch = RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(list.len())),
    )?;
    Ok(HitRate {
        schema,
        batch,
        head_rate,
        tail_rate,
        head_tail_ratio,
    })
}
