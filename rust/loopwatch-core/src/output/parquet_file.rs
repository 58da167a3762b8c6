//! Write a table to one Parquet file, atomically: a temporary name, then a rename, so a
//! reader never sees half a file and a failure leaves nothing behind.

use std::fs::File;
use std::path::Path;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;

use crate::error::{io_err, Result};

/// Write `batches` to `path`; `metadata` also goes into the Parquet footer's key/value pairs.
pub fn write_parquet(
    path: &str,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    metadata: &[(String, String)],
) -> Result<()> {
    let target = Path::new(path);
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            return Err(io_err(path, "output: the parent directory does not exist"));
        }
    }
    let temp = target.with_file_name(format!(
        ".{}.tmp-{}",
        target
            .file_name()
            .map_or("output".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let result = write_file(&temp, schema, batches, metadata)
        .and_then(|()| std::fs::rename(&temp, target).map_err(|e| io_err(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn write_file(
    temp: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    metadata: &[(String, String)],
) -> Result<()> {
    let name = temp.display().to_string();
    let file = File::create(temp).map_err(|e| io_err(&name, e))?;
    let properties = super::writer_properties(schema, metadata);
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(())
}
