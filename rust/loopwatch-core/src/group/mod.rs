//! Rows to groups: the (time bucket, segment) layout every metric table shares.
//!
//! Buckets are tumbling, aligned to the epoch: `bucket = floor(t / every)`, and a row with a null
//! time falls in a bucket of its own (reported with a null `bucket_start`). Segments are the
//! values of the `by` columns, a null being a value of its own. Within a batch rows get dense
//! local group ids; the owned `GroupKey`s let states merge across batches, files and machines.

mod columns;
mod key;
mod rows;
mod types;

pub use key::{GroupKey, SegmentValue};

use arrow::datatypes::{DataType, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;

use crate::duration::{duration_in_unit, DurationArg};
use crate::error::{schema_err, Result};
use crate::normalize::{key_kind, KeyKind};
use crate::state::codec::{Reader, Writer};

/// Tumbling time buckets over one column.
#[derive(Clone, Debug, PartialEq)]
pub struct Buckets {
    pub column: String,
    /// Width in the column's stored unit.
    pub every: i64,
    pub data_type: DataType,
}

/// One segment column.
#[derive(Clone, Debug, PartialEq)]
pub struct ByColumn {
    pub name: String,
    pub kind: KeyKind,
    /// The type the column has in output tables (dictionaries become their value type).
    pub output_type: DataType,
}

/// How rows are grouped: optional time buckets, then segment columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Grouping {
    pub buckets: Option<Buckets>,
    pub by: Vec<ByColumn>,
}

/// The groups of one batch: their keys (local id = index) and each row's local id.
pub struct BatchGroups {
    pub keys: Vec<GroupKey>,
    pub row_group: Vec<u32>,
}

/// The stored unit of a timestamp column, `None` for integer time; errors for other types.
pub fn time_unit_of(
    data_type: &DataType,
    column: &str,
    argument: &str,
) -> Result<Option<TimeUnit>> {
    match data_type {
        DataType::Timestamp(unit, _) => Ok(Some(*unit)),
        t if t.is_integer() => Ok(None),
        other => Err(schema_err(format!(
            "{argument}: column {column:?} is {other}; expected a timestamp or integer column"
        ))),
    }
}

/// A column's index in `schema`, or an error naming the argument and the columns there are.
pub fn column_index(schema: &Schema, name: &str, argument: &str) -> Result<usize> {
    schema.index_of(name).map_err(|_| {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        schema_err(format!(
            "{argument}: no column {name:?} in the input (columns: {})",
            names.join(", ")
        ))
    })
}

impl Grouping {
    /// Resolve `time`/`every`/`by` against `schema`. `time` is only read when `every` is given.
    pub fn new(
        schema: &Schema,
        time: &str,
        every: Option<&DurationArg>,
        by: &[String],
    ) -> Result<Grouping> {
        let buckets = match every {
            None => None,
            Some(every) => {
                let field = schema.field(column_index(schema, time, "time")?);
                let unit = time_unit_of(field.data_type(), time, "time")?;
                Some(Buckets {
                    column: time.to_string(),
                    every: duration_in_unit(every, unit, "every")?,
                    data_type: field.data_type().clone(),
                })
            }
        };
        let mut columns = Vec::with_capacity(by.len());
        for (i, name) in by.iter().enumerate() {
            if by[..i].contains(name) {
                return Err(crate::error::config_err(format!(
                    "by: column {name:?} is listed twice"
                )));
            }
            let field = schema.field(column_index(schema, name, "by")?);
            let kind = key_kind(field.data_type(), name, "the input").map_err(|_| {
                schema_err(format!(
                    "by: column {name:?} is {}; segments must be integer, string, dictionary or \
                     boolean columns",
                    field.data_type()
                ))
            })?;
            let output_type = match field.data_type() {
                DataType::Dictionary(_, values) => (**values).clone(),
                other => other.clone(),
            };
            columns.push(ByColumn {
                name: name.clone(),
                kind,
                output_type,
            });
        }
        Ok(Grouping {
            buckets,
            by: columns,
        })
    }

    /// Local group ids for the rows of `batch` (which has the schema given to `new`).
    pub fn assign(&self, batch: &RecordBatch) -> Result<BatchGroups> {
        rows::assign(self, batch)
    }

    /// The `bucket_start` (when bucketed) and `by` output columns for `keys`, in that order.
    pub fn key_columns(
        &self,
        keys: &[GroupKey],
    ) -> Result<Vec<(arrow::datatypes::Field, arrow::array::ArrayRef)>> {
        columns::key_columns(self, keys)
    }

    /// Write the grouping into state bytes (so a state read back can finalize on its own).
    pub fn write(&self, out: &mut Writer) {
        match &self.buckets {
            None => out.u8(0),
            Some(b) => {
                out.u8(1);
                out.str(&b.column);
                out.i64(b.every);
                types::write(&b.data_type, out);
            }
        }
        out.count(self.by.len());
        for c in &self.by {
            out.str(&c.name);
            types::write(&c.output_type, out);
        }
    }

    pub fn read(input: &mut Reader) -> Result<Grouping> {
        let buckets = match input.u8()? {
            0 => None,
            _ => Some(Buckets {
                column: input.str()?,
                every: input.i64()?,
                data_type: types::read(input)?,
            }),
        };
        let n = input.count()?;
        let mut by = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let name = input.str()?;
            if name.contains('\0') {
                return Err(input.corrupt("a column name with a NUL byte"));
            }
            let output_type = types::read(input)?;
            let kind = key_kind(&output_type, &name, "state bytes")?;
            by.push(ByColumn {
                name,
                kind,
                output_type,
            });
        }
        Ok(Grouping { buckets, by })
    }

    /// Could `key` have come from this grouping? (One value per `by` column, of its kind.)
    pub fn key_fits(&self, key: &GroupKey) -> bool {
        let bucket_ok = self.buckets.is_some() || key.bucket == Some(0);
        bucket_ok
            && key.segment.len() == self.by.len()
            && key.segment.iter().zip(&self.by).all(|(v, c)| {
                matches!(
                    (v, c.kind),
                    (SegmentValue::Null, _)
                        | (SegmentValue::Bool(_), KeyKind::Bool)
                        | (SegmentValue::Int(_), KeyKind::Int { .. })
                        | (SegmentValue::UInt(_), KeyKind::Int { unsigned64: true })
                        | (SegmentValue::Str(_), KeyKind::Str)
                )
            })
    }

    /// A readable description: "every 3600000000 (Timestamp(us)) on \"ts\"; by [\"segment\"]".
    pub fn describe(&self) -> String {
        let buckets = match &self.buckets {
            Some(b) => format!("every {} ({}) on {:?}", b.every, b.data_type, b.column),
            None => "no time buckets".to_string(),
        };
        let by: Vec<String> = self
            .by
            .iter()
            .map(|c| format!("{:?} ({})", c.name, c.output_type))
            .collect();
        format!("{buckets}; by [{}]", by.join(", "))
    }
}
