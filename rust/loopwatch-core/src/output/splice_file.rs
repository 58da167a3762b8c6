//! The file a splice is written to. The Parquet writer hands it every byte of the output in
//! order — its own (headers, encoded label chunks, footer) and placeholders for the copied
//! column chunks. Placeholders are dropped: where a copy was registered, the source's bytes go
//! from file to file in the kernel instead (`std::io::copy` between two `File`s is
//! `copy_file_range` on Linux), never through this process's memory. That is most of the
//! output's bytes, and on the benchmark's machine such a copy costs a seventh of a read and a
//! write of the same bytes.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

/// Bytes of the output at `start..start + len` are the source's at `offset..offset + len`.
pub(super) struct Copy {
    pub start: u64,
    pub len: u64,
    /// Shared by a source's copies: each seeks before it reads, and they run one by one.
    pub source: Arc<File>,
    pub offset: u64,
}

pub(super) struct SpliceFile {
    out: BufWriter<File>,
    /// Bytes received from the writer so far (the output position).
    position: u64,
    /// Registered copies not yet passed, in output order.
    copies: VecDeque<Copy>,
    /// Has the front copy been made already (its placeholders still arriving)?
    front_copied: bool,
    /// A write failed: the output is unusable (a retried write would not know what part of
    /// it had been done).
    failed: bool,
}

impl SpliceFile {
    pub fn new(file: File) -> SpliceFile {
        SpliceFile {
            out: BufWriter::with_capacity(4 << 20, file),
            position: 0,
            copies: VecDeque::new(),
            front_copied: false,
            failed: false,
        }
    }

    /// Register a copy; copies must come in output order, each at or after the position.
    pub fn expect(&mut self, copy: Copy) -> io::Result<()> {
        let after = self
            .copies
            .back()
            .map_or(self.position, |c| c.start + c.len);
        if copy.start < after {
            return Err(io::Error::other(
                "internal error: splice copies out of order",
            ));
        }
        if copy.len > 0 {
            self.copies.push_back(copy);
        }
        Ok(())
    }

    /// Flush everything; every registered copy must have been passed, and the file must hold
    /// exactly the bytes the writer handed over.
    pub fn finish(mut self) -> io::Result<()> {
        self.check_usable()?;
        if !self.copies.is_empty() {
            return Err(io::Error::other(
                "internal error: a copied column chunk never reached the output",
            ));
        }
        self.out.flush()?;
        if self.out.get_mut().stream_position()? != self.position {
            return Err(io::Error::other(
                "internal error: the output's length differs from what was written",
            ));
        }
        Ok(())
    }

    fn check_usable(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other("an earlier write to the output failed"));
        }
        Ok(())
    }

    /// Copy `copy`'s bytes to the output's current end.
    fn copy(out: &mut BufWriter<File>, copy: &Copy) -> io::Result<()> {
        out.flush()?;
        let mut source: &File = &copy.source;
        source.seek(SeekFrom::Start(copy.offset))?;
        // In the kernel where it can (Linux); elsewhere through a buffer of a useful size.
        let mut chunk = BufReader::with_capacity(1 << 20, source.take(copy.len));
        let copied = io::copy(&mut chunk, out.get_mut())?;
        if copied != copy.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a column chunk ended early (did an input file change during the call?)",
            ));
        }
        Ok(())
    }
}

impl Write for SpliceFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check_usable()?;
        // Any error is final (never `Interrupted`, which callers retry: part of `buf` may be
        // written, or a copy made, already).
        self.write_all_of(buf).map_err(|e| {
            self.failed = true;
            io::Error::other(e)
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check_usable()?;
        self.out.flush()
    }
}

impl SpliceFile {
    fn write_all_of(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut rest = buf;
        while !rest.is_empty() {
            let n = match self.copies.front_mut() {
                // Placeholders of a copy: the first ones make it, all are dropped.
                Some(copy) if self.position >= copy.start => {
                    if !self.front_copied {
                        SpliceFile::copy(&mut self.out, copy)?;
                        self.front_copied = true;
                    }
                    let left = copy.start + copy.len - self.position;
                    let n = left.min(rest.len() as u64) as usize;
                    if n as u64 == left {
                        self.copies.pop_front();
                        self.front_copied = false;
                    }
                    n
                }
                Some(copy) => {
                    let n = (copy.start - self.position).min(rest.len() as u64) as usize;
                    self.out.write_all(&rest[..n])?;
                    n
                }
                None => {
                    self.out.write_all(rest)?;
                    rest.len()
                }
            };
            self.position += n as u64;
            rest = &rest[n..];
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(bytes: &[u8]) -> Arc<File> {
        let mut file = tempfile_in_target();
        file.write_all(bytes).unwrap();
        Arc::new(file)
    }

    /// An anonymous read-write file (created, then unlinked).
    fn tempfile_in_target() -> File {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("lw-splice-{}-{n}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }

    #[test]
    fn placeholders_become_the_sources_bytes_whatever_the_write_sizes() {
        for piece in [1, 2, 3, 7, 64] {
            let out = tempfile_in_target();
            let mut file = SpliceFile::new(out.try_clone().unwrap());
            // Output: "ab" + copy of "CDE" (source offset 2) + "f" + copy of "XY" + "g".
            file.expect(Copy {
                start: 2,
                len: 3,
                source: source(b"..CDE.."),
                offset: 2,
            })
            .unwrap();
            file.expect(Copy {
                start: 6,
                len: 2,
                source: source(b"XY"),
                offset: 0,
            })
            .unwrap();
            file.expect(Copy {
                start: 8,
                len: 0,
                source: source(b""),
                offset: 0,
            })
            .unwrap();
            let handed = b"ab___f__g";
            for chunk in handed.chunks(piece) {
                file.write_all(chunk).unwrap();
            }
            file.finish().unwrap();
            let mut written = Vec::new();
            let mut out = out;
            out.seek(SeekFrom::Start(0)).unwrap();
            out.read_to_end(&mut written).unwrap();
            assert_eq!(written, b"abCDEfXYg", "pieces of {piece}");
        }
    }

    #[test]
    fn a_copy_never_reached_or_out_of_order_is_an_error() {
        let mut file = SpliceFile::new(tempfile_in_target());
        file.expect(Copy {
            start: 4,
            len: 2,
            source: source(b"zz"),
            offset: 0,
        })
        .unwrap();
        assert!(file
            .expect(Copy {
                start: 5,
                len: 1,
                source: source(b"z"),
                offset: 0
            })
            .is_err());
        file.write_all(b"abc").unwrap();
        assert!(file.finish().is_err());
    }

    #[test]
    fn a_source_shorter_than_its_copy_is_an_error() {
        let mut file = SpliceFile::new(tempfile_in_target());
        file.expect(Copy {
            start: 0,
            len: 5,
            source: source(b"abc"),
            offset: 0,
        })
        .unwrap();
        assert!(file.write_all(b"_____").is_err());
        // Nothing after a failure (a retry would not know what part was done).
        assert!(file.write_all(b"x").is_err());
        assert!(file.finish().is_err());
    }
}
