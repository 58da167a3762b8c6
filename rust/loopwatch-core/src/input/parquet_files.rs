//! Parquet inputs: path expansion (files, directories, globs) and batch reading.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;

use super::InputTable;
use crate::error::{io_err, schema_err, LwError, Result};

const BATCH_ROWS: usize = 64 * 1024;

/// Expand files, directories (every `*.parquet` below, sorted) and globs (sorted) in order.
pub fn expand_paths(paths: &[String], input: &str) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if paths.is_empty() {
        return Err(LwError::Config(format!("{input}: an empty list of paths")));
    }
    for raw in paths {
        let path = Path::new(raw);
        if path.is_dir() {
            let mut found = Vec::new();
            collect_parquet(path, &mut found)?;
            if found.is_empty() {
                return Err(io_err(raw.as_str(), "directory holds no *.parquet files"));
            }
            found.sort();
            files.extend(found);
        } else if raw.contains(['*', '?', '[']) {
            let pattern = glob::glob(raw).map_err(|e| io_err(raw.as_str(), e))?;
            let mut found = Vec::new();
            for matched in pattern {
                found.push(matched.map_err(|e| io_err(raw.as_str(), e))?);
            }
            if found.is_empty() {
                return Err(io_err(raw.as_str(), "no file matches this pattern"));
            }
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.to_path_buf());
        } else {
            return Err(io_err(raw.as_str(), "no such file or directory"));
        }
    }
    Ok(files)
}

fn collect_parquet(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_err(dir.display().to_string(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_err(dir.display().to_string(), e))?;
        let path = entry.path();
        // Symlinked directories are not followed: a link cycle would never end.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_parquet(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "parquet") {
            found.push(path);
        }
    }
    Ok(())
}

/// Read `files` in order (files in parallel, each file's batches in order).
pub fn read_parquet(
    files: &[PathBuf],
    columns: Option<&[&str]>,
    input: &str,
) -> Result<InputTable> {
    let parts: Vec<(SchemaRef, Vec<_>)> = files
        .par_iter()
        .map(|f| read_one(f, columns))
        .collect::<Result<_>>()?;
    let schema = parts[0].0.clone();
    for ((part_schema, _), file) in parts.iter().zip(files) {
        if part_schema.fields() != schema.fields() {
            return Err(schema_err(format!(
                "{input}: {} has a different schema from {} ({:?} vs {:?})",
                file.display(),
                files[0].display(),
                field_list(part_schema),
                field_list(&schema)
            )));
        }
    }
    let batches = parts.into_iter().flat_map(|(_, b)| b).collect();
    Ok(InputTable { schema, batches })
}

fn field_list(schema: &SchemaRef) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.data_type()))
        .collect()
}

fn read_one(
    file: &Path,
    columns: Option<&[&str]>,
) -> Result<(SchemaRef, Vec<arrow::record_batch::RecordBatch>)> {
    let name = file.display().to_string();
    let handle = File::open(file).map_err(|e| io_err(&name, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(handle)
        .map_err(|e| io_err(&name, format!("not a readable Parquet file: {e}")))?;
    let builder = match columns {
        Some(wanted) => project(builder, wanted, &name, "")?,
        None => builder,
    };
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| io_err(&name, e))?;
    let schema = arrow::record_batch::RecordBatchReader::schema(&reader);
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| io_err(&name, format!("cannot decode: {e}")))?;
    Ok((schema, batches))
}

/// The Arrow schema of the first file (all parts are checked against it when read).
pub fn first_schema(files: &[PathBuf]) -> Result<SchemaRef> {
    let name = files[0].display().to_string();
    let handle = File::open(&files[0]).map_err(|e| io_err(&name, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(handle)
        .map_err(|e| io_err(&name, format!("not a readable Parquet file: {e}")))?;
    Ok(builder.schema().clone())
}

/// Read only `wanted` (by name) from a file (`input` prefixes the error, may be empty).
pub(super) fn project<S: AsRef<str>>(
    builder: ParquetRecordBatchReaderBuilder<File>,
    wanted: &[S],
    name: &str,
    input: &str,
) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let mask = projection(&builder, wanted, name, input)?;
    Ok(builder.with_projection(mask))
}

/// The projection reading only `wanted` (by name); a missing column names the file.
pub(super) fn projection<S: AsRef<str>>(
    builder: &ParquetRecordBatchReaderBuilder<File>,
    wanted: &[S],
    name: &str,
    input: &str,
) -> Result<ProjectionMask> {
    let arrow_schema = builder.schema().clone();
    let mut indices = Vec::new();
    for column in wanted {
        let column = column.as_ref();
        let i = arrow_schema.index_of(column).map_err(|_| {
            let prefix = if input.is_empty() {
                String::new()
            } else {
                format!("{input}: ")
            };
            schema_err(format!("{prefix}column {column:?} not found in {name}"))
        })?;
        indices.push(i);
    }
    indices.sort_unstable();
    indices.dedup();
    Ok(ProjectionMask::roots(builder.parquet_schema(), indices))
}
