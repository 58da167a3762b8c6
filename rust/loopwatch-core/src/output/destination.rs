//! Where a labeled table is written, atomically: one Parquet file, or a directory of parts
//! (`part-00000.parquet`, ...). Everything is written under a temporary name next to the
//! target and renamed into place only by `commit`, so a reader never sees half an output;
//! dropped uncommitted (an error, Ctrl-C, a panic), the temporary file or directory is removed.

use std::path::{Path, PathBuf};

use crate::error::{io_err, Result};

pub struct Destination {
    target: PathBuf,
    temp: PathBuf,
    parts: bool,
    committed: bool,
}

impl Destination {
    /// `path` ending in a path separator, or naming an existing directory, asks for a directory
    /// of parts (an existing one must be empty: nothing of the user's is ever replaced there);
    /// any other path is one file (an existing file is replaced on commit).
    pub fn create(path: &str) -> Result<Destination> {
        let parts = path.ends_with(std::path::MAIN_SEPARATOR) || path.ends_with('/');
        let target = Path::new(path.trim_end_matches(['/', std::path::MAIN_SEPARATOR]));
        let target = if target.as_os_str().is_empty() {
            Path::new("/").to_path_buf()
        } else {
            target.to_path_buf()
        };
        if parts && target.exists() && !target.is_dir() {
            return Err(io_err(
                path,
                "output: a directory of parts was asked for (the path ends with a separator), \
                 but this is a file",
            ));
        }
        let parts = parts || target.is_dir();
        if parts && target.is_dir() {
            let mut entries = std::fs::read_dir(&target).map_err(|e| io_err(path, e))?;
            if entries.next().is_some() {
                return Err(io_err(
                    path,
                    "output: the directory is not empty (parts are written only into a new or \
                     empty directory)",
                ));
            }
        }
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.is_dir() {
                return Err(io_err(path, "output: the parent directory does not exist"));
            }
        }
        let name = target
            .file_name()
            .map_or("output".into(), |n| n.to_string_lossy());
        let temp = target.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        if parts {
            std::fs::create_dir(&temp).map_err(|e| io_err(temp.display().to_string(), e))?;
        }
        Ok(Destination {
            target,
            temp,
            parts,
            committed: false,
        })
    }

    /// Is the output a directory of parts?
    pub fn is_parts(&self) -> bool {
        self.parts
    }

    /// Where part `index` is written until `commit` (a single file has only part 0).
    pub fn part_path(&self, index: usize) -> PathBuf {
        if self.parts {
            self.temp.join(format!("part-{index:05}.parquet"))
        } else {
            self.temp.clone()
        }
    }

    /// Move the finished output into place.
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.temp, &self.target)
            .map_err(|e| io_err(self.target.display().to_string(), e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Destination {
    fn drop(&mut self) {
        if !self.committed {
            let _ = if self.parts {
                std::fs::remove_dir_all(&self.temp)
            } else {
                std::fs::remove_file(&self.temp)
            };
        }
    }
}
