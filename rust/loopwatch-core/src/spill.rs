//! Spilling: a private temporary directory removed when dropped (on success, on error and when
//! a panic unwinds), and partitions of batches kept in memory or written there as Arrow IPC.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;

use crate::error::{io_err, Result};

/// The default memory budget: `LOOPWATCH_MEMORY_LIMIT` (bytes), else a quarter of the
/// machine's memory, else 2 GiB.
pub fn default_memory_limit() -> u64 {
    if let Some(v) = std::env::var("LOOPWATCH_MEMORY_LIMIT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&v| v > 0)
    {
        return v;
    }
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        });
    total_kib.map_or(2 << 30, |kib| kib * 1024 / 4)
}

/// A directory of our own under `parent` (default: the system's temp dir).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(parent: Option<&Path>) -> Result<TempDir> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        if !parent.is_dir() {
            return Err(io_err(
                parent.display().to_string(),
                "tmp_dir: not an existing directory",
            ));
        }
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
            } => {
                if writer.is_none() {
                    let file =
                        File::create(&*path).map_err(|e| io_err(path.display().to_string(), e))?;
                    *writer = Some(Box::new(StreamWriter::try_new(
                        BufWriter::new(file),
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

    /// Every batch pushed, in order (files are finished and read back).
    pub fn take_all(&mut self) -> Result<Vec<RecordBatch>> {
        match self {
            Partition::Memory(batches) => Ok(std::mem::take(batches)),
            Partition::File { path, writer, .. } => {
                let Some(mut w) = writer.take() else {
                    return Ok(Vec::new());
                };
                w.finish()?;
                drop(w);
                let file = File::open(&*path).map_err(|e| io_err(path.display().to_string(), e))?;
                let reader = StreamReader::try_new(BufReader::new(file), None)?;
                let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
                let _ = std::fs::remove_file(&*path);
                Ok(batches)
            }
        }
    }

    /// A reader over the batches pushed so far, in order.
    pub fn into_reader(mut self) -> Result<PartitionReader> {
        match &mut self {
            Partition::Memory(batches) => {
                Ok(PartitionReader::Memory(std::mem::take(batches).into_iter()))
            }
            Partition::File { path, writer, .. } => {
                let Some(mut w) = writer.take() else {
                    return Ok(PartitionReader::Memory(Vec::new().into_iter()));
                };
                w.finish()?;
                drop(w);
                let file = File::open(&*path).map_err(|e| io_err(path.display().to_string(), e))?;
                Ok(PartitionReader::File(StreamReader::try_new(
                    BufReader::new(file),
                    None,
                )?))
            }
        }
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
