//! Check the options against both schemas and fix every decision before any data is read:
//! key columns and kinds (here) and the time decisions (`times.rs`).

use std::collections::HashSet;

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use super::options::{Attribution, JoinOptions};
use super::times::Times;
pub use super::times::Window;
use crate::error::{config_err, schema_err, Result};
use crate::normalize::{key_kind, time_kind, KeyKind, SideLayout};

pub struct Plan {
    pub predictions: SideLayout,
    pub feedback: SideLayout,
    pub value_column: Option<usize>,
    /// In the caller's order (the order of the label columns).
    pub windows: Vec<Window>,
    pub max_window: i64,
    /// The explicit watermark in the common unit.
    pub watermark: Option<i64>,
    /// The common unit; `None` for integer time.
    pub unit: Option<TimeUnit>,
    pub attribution: Attribution,
    pub hash_mask: u64,
    /// Keys are at most two integer/boolean columns: compared from two inline words.
    pub inline_keys: bool,
    pub chunk_rows: usize,
}

fn column(schema: &Schema, name: &str, input: &str, argument: &str) -> Result<usize> {
    schema.index_of(name).map_err(|_| {
        let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        schema_err(format!(
            "{argument}: column {name:?} not found in {input} (columns: {})",
            have.join(", ")
        ))
    })
}

impl Plan {
    pub fn new(options: &JoinOptions, predictions: &Schema, feedback: &Schema) -> Result<Plan> {
        let (pred_keys, fb_keys, u64_bits) = resolve_keys(options, predictions, feedback)?;
        let inline_keys = pred_keys.len() <= 2
            && pred_keys.iter().all(|&k| {
                let kind = key_kind(predictions.field(k).data_type(), "", "");
                matches!(kind, Ok(KeyKind::Int { .. } | KeyKind::Bool))
            });
        let pred_time = column(predictions, &options.time, "predictions", "time")?;
        let fb_time = column(
            feedback,
            &options.feedback_time,
            "feedback",
            "feedback_time",
        )?;
        let pred_kind = time_kind(
            predictions.field(pred_time).data_type(),
            &options.time,
            "predictions",
            "time",
        )?;
        let fb_kind = time_kind(
            feedback.field(fb_time).data_type(),
            &options.feedback_time,
            "feedback",
            "feedback_time",
        )?;
        let times = Times::resolve(options, &pred_kind, &fb_kind)?;
        let value_column = match &options.value {
            None => None,
            Some(name) => {
                let index = column(feedback, name, "feedback", "value")?;
                let data_type = feedback.field(index).data_type();
                if !(data_type.is_integer() || data_type.is_floating()) {
                    return Err(schema_err(format!(
                        "value: column {name:?} in feedback is {data_type}; expected a numeric column"
                    )));
                }
                Some(index)
            }
        };
        let side = |input, keys: Vec<usize>, time_column, time_name: &str, factor| SideLayout {
            input,
            key_columns: keys,
            key_names: options.on.clone(),
            key_u64_bits: u64_bits.clone(),
            time_column,
            time_name: time_name.to_string(),
            time_factor: factor,
        };
        let plan = Plan {
            predictions: side(
                "predictions",
                pred_keys,
                pred_time,
                &options.time,
                times.pred_factor,
            ),
            feedback: side(
                "feedback",
                fb_keys,
                fb_time,
                &options.feedback_time,
                times.fb_factor,
            ),
            value_column,
            max_window: times.windows.iter().map(|w| w.width).max().unwrap_or(0),
            windows: times.windows,
            watermark: times.watermark,
            unit: times.unit,
            attribution: options.attribution,
            hash_mask: options.hash_mask,
            inline_keys,
            chunk_rows: options.chunk_rows.max(1),
        };
        plan.check_output_names(predictions)?;
        Ok(plan)
    }

    /// The columns the join appends, in order (the label columns build them in this order).
    pub fn output_fields(&self) -> Vec<Field> {
        let mut fields: Vec<Field> = self
            .windows
            .iter()
            .map(|w| Field::new(format!("label_{}", w.name), DataType::Int8, true))
            .collect();
        fields.push(Field::new("feedback_count", DataType::Int64, false));
        let delay = match self.unit {
            Some(unit) => DataType::Duration(unit),
            None => DataType::Int64,
        };
        fields.push(Field::new("first_feedback_delay", delay, true));
        if self.value_column.is_some() {
            fields.push(Field::new("value_sum", DataType::Float64, true));
        }
        fields
    }

    fn check_output_names(&self, predictions: &Schema) -> Result<()> {
        for field in self.output_fields() {
            let name = field.name();
            if predictions.index_of(name).is_ok() {
                return Err(schema_err(format!(
                    "predictions already have a column named {name:?}, which label_join adds; \
                     rename or drop it first"
                )));
            }
        }
        Ok(())
    }
}

type Keys = (Vec<usize>, Vec<usize>, Vec<bool>);

fn resolve_keys(options: &JoinOptions, predictions: &Schema, feedback: &Schema) -> Result<Keys> {
    if options.on.is_empty() {
        return Err(config_err("on: give at least one key column"));
    }
    let mut seen = HashSet::new();
    let (mut pred_keys, mut fb_keys, mut u64_bits) = (vec![], vec![], vec![]);
    for name in &options.on {
        if !seen.insert(name) {
            return Err(config_err(format!(
                "on: key column {name:?} is listed twice"
            )));
        }
        let p = column(predictions, name, "predictions", "on")?;
        let f = column(feedback, name, "feedback", "on")?;
        let p_type = predictions.field(p).data_type();
        let f_type = feedback.field(f).data_type();
        let p_kind = key_kind(p_type, name, "predictions")?;
        let f_kind = key_kind(f_type, name, "feedback")?;
        let both_u64 = match (p_kind, f_kind) {
            (KeyKind::Int { unsigned64: a }, KeyKind::Int { unsigned64: b }) => a && b,
            (a, b) if a == b => false,
            _ => {
                return Err(schema_err(format!(
                    "on: key column {name:?} is {p_type} in predictions but {f_type} in \
                     feedback; integer keys match integer keys and string keys string keys"
                )))
            }
        };
        pred_keys.push(p);
        fb_keys.push(f);
        u64_bits.push(both_u64);
    }
    Ok((pred_keys, fb_keys, u64_bits))
}
