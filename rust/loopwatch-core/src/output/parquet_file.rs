//! Write a finished table to Parquet atomically (through `Destination`: a temporary name, then
//! a rename, so a reader never sees half an output and a failure leaves nothing behind).

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::{Destination, ParquetSink};
use crate::error::Result;

/// Write `batches` to `path` (a file, or a directory of one part when `path` ends with a
/// separator or is an empty directory); `metadata` also goes into the footer's key/value pairs.
pub fn write_parquet(
    path: &str,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    metadata: &[(String, String)],
) -> Result<()> {
    let destination = Destination::create(path)?;
    let mut sink = ParquetSink::create(&destination.part_path(0), schema, metadata)?;
    for batch in batches {
        sink.write(batch)?;
    }
    sink.finish()?;
    destination.commit()
}
