//! Write a finished table to one Parquet file, atomically (through `ParquetSink`: a temporary
//! name, then a rename, so a reader never sees half a file and a failure leaves nothing behind).

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::ParquetSink;
use crate::error::Result;

/// Write `batches` to `path`; `metadata` also goes into the Parquet footer's key/value pairs.
pub fn write_parquet(
    path: &str,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    metadata: &[(String, String)],
) -> Result<()> {
    let mut sink = ParquetSink::create(path, schema, metadata)?;
    for batch in batches {
        sink.write(batch)?;
    }
    sink.finish()
}
