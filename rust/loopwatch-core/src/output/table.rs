//! Building an output table column by column.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::error::Result;

#[derive(Default)]
pub struct TableBuilder {
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
}

impl TableBuilder {
    pub fn push(&mut self, field: Field, column: ArrayRef) {
        self.fields.push(field);
        self.columns.push(column);
    }

    /// An int64 column (never null, but nullable in the schema like pyarrow's own tables).
    pub fn int64(&mut self, name: &str, values: impl IntoIterator<Item = u64>) {
        let array = Int64Array::from_iter_values(values.into_iter().map(|v| v as i64));
        self.push(Field::new(name, DataType::Int64, true), Arc::new(array));
    }

    /// A nullable float64 column.
    pub fn float64(&mut self, name: &str, values: impl IntoIterator<Item = Option<f64>>) {
        let array: Float64Array = values.into_iter().collect();
        self.push(Field::new(name, DataType::Float64, true), Arc::new(array));
    }

    pub fn finish(self) -> Result<RecordBatch> {
        let schema = Arc::new(Schema::new(self.fields));
        Ok(RecordBatch::try_new(schema, self.columns)?)
    }
}
