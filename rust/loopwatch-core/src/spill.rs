//! Spilling: a private temporary directory removed when dropped (on success, on error and when
//! a panic unwinds), and partitions of batches kept in memory or written there as Arrow IPC.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use arrow::array::UInt32Array;
use arrow::compute::take_record_batch;
use arrow::datatypes::{Schema, SchemaRef};
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;

use crate::error::{io_err, Result};

/// A size such as `"1073741824"`, `"512MiB"`, `"2GB"` or `"1.5GiB"` in bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase().replace(' ', "");
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale: f64 = match unit {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024f64.powi(2),
        "gib" => 1024f64.powi(3),
        "tib" => 1024f64.powi(4),
        _ => return None,
    };
    let bytes = number.parse::<f64>().ok()? * scale;
    (bytes >= 1.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// The default memory budget: `LOOPWATCH_MEMORY_LIMIT` (bytes or a size like "2GiB"; an
/// unreadable value is an error), else a quarter of the machine's memory, else 2 GiB.
pub fn default_memory_limit() -> Result<u64> {
    if let Ok(v) = std::env::var("LOOPWATCH_MEMORY_LIMIT") {
        return parse_size(&v).ok_or_else(|| {
            crate::error::config_err(format!(
                "LOOPWATCH_MEMORY_LIMIT: cannot read {v:?} as a size; expected e.g. \"2GiB\""
            ))
        });
    }
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        });
    Ok(total_kib.map_or(2 << 30, |kib| kib * 1024 / 4))
}

/// At most this many partitions: each keeps a file open while one input is split (its files
/// are closed once it is split), within the usual limits of 256 or 1024 open files. (A budget
/// too small for this many is exceeded, not failed.)
pub const MAX_PARTITIONS: u64 = 128;

/// Buffer of each spill file: large enough that writing and reading back gigabytes is not
/// dominated by system calls (8 KiB buffers made ~500k of them on 100M rows), small enough for
/// `MAX_PARTITIONS` open at once (32 MiB).
const SPILL_BUFFER: usize = 256 << 10;

/// Enough partitions (at most `MAX_PARTITIONS`) for each to hold at most `limit` of `need` bytes.
pub fn partitions_for(need: u64, limit: u64) -> usize {
    need.div_ceil(limit.max(1)).clamp(1, MAX_PARTITIONS) as usize
}

/// The partition of a row from its 64-bit hash (the high bits: the low ones pick hash buckets
/// inside a partition's join).
pub fn partition_of(hash: u64, parts: usize) -> u32 {
    ((hash >> 32) % parts as u64) as u32
}

/// Bytes of one row of `schema`'s columns as Arrow holds them (strings counted as 32 bytes):
/// the base of the partition-size estimates.
pub fn row_width(schema: &Schema) -> u64 {
    schema
        .fields()
        .iter()
        .map(|f| f.data_type().primitive_width().unwrap_or(32) as u64)
        .sum()
}

/// A directory of our own under `parent` (default: the system's temp dir).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Is `parent` an existing directory?
    pub fn check_parent(parent: &Path) -> Result<()> {
        if !parent.is_dir() {
            return Err(io_err(
                parent.display().to_string(),
                "tmp_dir: not an existing directory",
            ));
        }
        Ok(())
    }

    pub fn new(parent: Option<&Path>) -> Result<TempDir> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        TempDir::check_parent(&parent)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = parent.join(format!("loopwatch-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path).map_err(|e| io_err(path.display().to_string(), e))?;
        Ok(TempDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Batches of one partition: in memory, or appended to an IPC stream file.
pub enum Partition {
    Memory(Vec<RecordBatch>),
    File {
        path: PathBuf,
        writer: Option<Box<StreamWriter<BufWriter<File>>>>,
        schema: SchemaRef,
        /// Written and closed: `take_all` reads the file back.
        sealed: bool,
    },
}

impl Partition {
    pub fn in_memory() -> Partition {
        Partition::Memory(Vec::new())
    }

    pub fn on_disk(dir: &TempDir, name: &str, schema: SchemaRef) -> Partition {
        Partition::File {
            path: dir.path().join(format!("{name}.arrows")),
            writer: None,
            schema,
            sealed: false,
        }
    }

    pub fn push(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        match self {
            Partition::Memory(batches) => batches.push(batch),
            Partition::File {
                path,
                writer,
                schema,
                ..
            } => {
                if writer.is_none() {
                    let file =
                        File::create(&*path).map_err(|e| io_err(path.display().to_string(), e))?;
                    *writer = Some(Box::new(StreamWriter::try_new(
                        BufWriter::with_capacity(SPILL_BUFFER, file),
                        schema,
                    )?));
                }
                if let Some(w) = writer.as_mut() {
                    w.write(&batch)?;
                }
            }
        }
        Ok(())
    }

    /// Finish writing (closing the file, so that splitting one side into many partitions
    /// never holds more files open than there are partitions).
    pub fn seal(&mut self) -> Result<()> {
        if let Partition::File { writer, sealed, .. } = self {
            if let Some(mut w) = writer.take() {
                w.finish()?;
                *sealed = true;
            }
        }
        Ok(())
    }

    /// Every batch pushed, in order (files are finished, read back and removed).
    pub fn take_all(&mut self) -> Result<Vec<RecordBatch>> {
        let path = match self {
            Partition::Memory(batches) => return Ok(std::mem::take(batches)),
            Partition::File { path, .. } => path.clone(),
        };
        let batches = match self.open_finished()? {
            Some(reader) => reader.collect::<std::result::Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let _ = std::fs::remove_file(path);
        Ok(batches)
    }

    /// A reader over the batches pushed so far, in order.
    pub fn into_reader(mut self) -> Result<PartitionReader> {
        match &mut self {
            Partition::Memory(batches) => {
                Ok(PartitionReader::Memory(std::mem::take(batches).into_iter()))
            }
            Partition::File { .. } => Ok(match self.open_finished()? {
                Some(reader) => PartitionReader::File(reader),
                None => PartitionReader::Memory(Vec::new().into_iter()),
            }),
        }
    }

    /// Finish a file partition's writing and open it for reading (`None`: nothing pushed).
    fn open_finished(&mut self) -> Result<Option<StreamReader<BufReader<File>>>> {
        let Partition::File {
            path,
            writer,
            sealed,
            ..
        } = self
        else {
            return Ok(None);
        };
        if let Some(mut w) = writer.take() {
            w.finish()?;
        } else if !*sealed {
            return Ok(None);
        }
        let file = File::open(&*path).map_err(|e| io_err(path.display().to_string(), e))?;
        Ok(Some(StreamReader::try_new(
            BufReader::with_capacity(SPILL_BUFFER, file),
            None,
        )?))
    }
}

pub enum PartitionReader {
    Memory(std::vec::IntoIter<RecordBatch>),
    File(StreamReader<BufReader<File>>),
}

impl PartitionReader {
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        match self {
            PartitionReader::Memory(it) => Ok(it.next()),
            PartitionReader::File(reader) => Ok(reader.next().transpose()?),
        }
    }
}

/// Push each row of `batch` to the partition `ids` names, keeping the rows' order.
pub fn split(batch: &RecordBatch, ids: &[u32], parts: &mut [Partition]) -> Result<()> {
    if parts.len() == 1 {
        return parts[0].push(batch.clone());
    }
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); parts.len()];
    for (i, &p) in ids.iter().enumerate() {
        rows[p as usize].push(i as u32);
    }
    for (p, indices) in rows.into_iter().enumerate() {
        if !indices.is_empty() {
            parts[p].push(take_record_batch(batch, &UInt32Array::from(indices))?)?;
        }
    }
    Ok(())
}
