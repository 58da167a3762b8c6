//! A Parquet file written batch by batch, atomically: batches go to a temporary name next to
//! the target and the file is renamed into place only by `finish`; dropped unfinished (an
//! error, a panic), the temporary file is removed.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;

use crate::error::{io_err, Result};

pub struct ParquetSink {
    target: PathBuf,
    temp: PathBuf,
    writer: Option<ArrowWriter<File>>,
}

impl ParquetSink {
    /// `metadata` also goes into the footer's key/value pairs (where readers find it).
    pub fn create(path: &str, schema: &SchemaRef, metadata: &[(String, String)]) -> Result<Self> {
        let target = Path::new(path).to_path_buf();
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
        let file = File::create(&temp).map_err(|e| io_err(temp.display().to_string(), e))?;
        let properties = super::writer_properties(schema, metadata);
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))?;
        Ok(ParquetSink {
            target,
            temp,
            writer: Some(writer),
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if let Some(w) = self.writer.as_mut() {
            w.write(batch)?;
        }
        Ok(())
    }

    /// Close the file and move it into place.
    pub fn finish(mut self) -> Result<()> {
        let closed = match self.writer.take() {
            Some(w) => w.close().map(|_| ()).map_err(Into::into),
            None => Ok(()),
        };
        let result = closed.and_then(|()| {
            std::fs::rename(&self.temp, &self.target)
                .map_err(|e| io_err(self.target.display().to_string(), e))
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&self.temp);
        }
        result
    }
}

impl Drop for ParquetSink {
    fn drop(&mut self) {
        if self.writer.is_some() {
            self.writer = None;
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
