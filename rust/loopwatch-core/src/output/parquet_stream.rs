//! A Parquet file written batch by batch (to a temporary path of a `Destination`, which makes
//! the output appear atomically).

use std::fs::File;
use std::path::Path;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;

use crate::error::{io_err, Result};

pub struct ParquetSink {
    writer: ArrowWriter<File>,
}

impl ParquetSink {
    /// `metadata` also goes into the footer's key/value pairs (where readers find it).
    pub fn create(path: &Path, schema: &SchemaRef, metadata: &[(String, String)]) -> Result<Self> {
        let file = File::create(path).map_err(|e| io_err(path.display().to_string(), e))?;
        let properties = super::writer_properties(schema, metadata);
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))?;
        Ok(ParquetSink { writer })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch)?;
        Ok(())
    }

    /// Write the footer and close the file.
    pub fn finish(self) -> Result<()> {
        self.writer.close()?;
        Ok(())
    }
}
