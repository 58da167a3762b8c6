//! Input files must stay as they are during a call that reads them more than once: the
//! streaming join reads the predictions twice (keys, then the rows to label) and pairs the two
//! reads row by row. A file changed or replaced in between would pair labels with the wrong
//! rows, so each file's size, modification time and identity are noted before the first read
//! and compared before the output is committed (and when the call fails: a changed file is the
//! better explanation): any difference fails the call, naming the file.

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::BatchSource;
use crate::error::{io_err, Result};

/// What is compared of a file.
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    /// Device and inode (a file replaced by another, renamed over it, differs here) and the
    /// status change time (a file rewritten in place with its modification time put back).
    identity: Option<(u64, u64, i64, i64)>,
}

impl Stamp {
    fn of(path: &Path) -> Result<Stamp> {
        let meta = std::fs::metadata(path).map_err(|e| io_err(path.display().to_string(), e))?;
        Ok(Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            identity: identity(&meta),
        })
    }
}

#[cfg(unix)]
fn identity(meta: &Metadata) -> Option<(u64, u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec()))
}

#[cfg(not(unix))]
fn identity(_meta: &Metadata) -> Option<(u64, u64, i64, i64)> {
    None
}

/// The stamps of every file of some sources.
pub struct Snapshot {
    files: Vec<(PathBuf, Stamp)>,
}

impl Snapshot {
    pub fn take(sources: &[&BatchSource]) -> Result<Snapshot> {
        let mut files = Vec::new();
        for source in sources {
            if let BatchSource::Files(paths) = source {
                for path in paths {
                    files.push((path.clone(), Stamp::of(path)?));
                }
            }
        }
        Ok(Snapshot { files })
    }

    /// Is every file as it was when the snapshot was taken?
    pub fn check(&self) -> Result<()> {
        for (path, before) in &self.files {
            let now = Stamp::of(path)?;
            if now != *before {
                return Err(io_err(
                    path.display().to_string(),
                    "the file changed while it was being read (its size, modification or \
                     status-change time, or identity differs); no output was written — run \
                     again once it stays put",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Write;

    #[test]
    fn a_file_changed_or_replaced_is_named() {
        let dir = std::env::temp_dir().join(format!("lw-snapshot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("part.parquet");
        std::fs::write(&path, b"first").unwrap();
        let source = BatchSource::Files(vec![path.clone()]);
        let snapshot = Snapshot::take(&[&source]).unwrap();
        snapshot.check().unwrap();

        // Appended to: the size differs.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"!")
            .unwrap();
        let err = snapshot.check().unwrap_err().to_string();
        assert!(
            err.contains("part.parquet") && err.contains("changed"),
            "{err}"
        );

        // Replaced by a file of the same size and time: the identity differs (on Unix).
        let snapshot = Snapshot::take(&[&source]).unwrap();
        let other = dir.join("other.parquet");
        std::fs::write(&other, b"first!").unwrap();
        let time = std::fs::metadata(&path).unwrap().modified().unwrap();
        File::options()
            .write(true)
            .open(&other)
            .unwrap()
            .set_modified(time)
            .unwrap();
        std::fs::rename(&other, &path).unwrap();
        if cfg!(unix) {
            assert!(snapshot.check().is_err());
        }

        // Gone: an error naming it.
        std::fs::remove_file(&path).unwrap();
        let err = snapshot.check().unwrap_err().to_string();
        assert!(err.contains("part.parquet"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
