//! The file a splice is written to. The Parquet writer hands it every byte of the output in
//! order — its own (headers, encoded label chunks, footer) and placeholders for the copied
//! column chunks. Placeholders are dropped: the file skips their place, leaving a hole, and
//! `fill_holes` later copies the source's bytes there, file to file, never through a buffer
//! of this process (`fill`). That is most of the output's bytes; the holes of a batch of row
//! groups are filled together, in parallel.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

use super::fill::{fill, ChunkCopy};

pub(super) struct SpliceFile {
    out: BufWriter<File>,
    /// Bytes received from the writer so far (the output position).
    position: u64,
    /// Registered copies not reached yet, in output order.
    copies: VecDeque<ChunkCopy>,
    /// Copies reached (their places skipped), not filled yet.
    holes: Vec<ChunkCopy>,
    /// A write failed: the output is unusable (a retried write would not know what part of
    /// it had been done).
    failed: bool,
}

impl SpliceFile {
    /// `file` must be open for reading and writing (holes are filled through a mapping).
    pub fn new(file: File) -> SpliceFile {
        SpliceFile {
            out: BufWriter::with_capacity(4 << 20, file),
            position: 0,
            copies: VecDeque::new(),
            holes: Vec::new(),
            failed: false,
        }
    }

    /// Register a copy; copies must come in output order, each at or after the position.
    pub fn expect(&mut self, copy: ChunkCopy) -> io::Result<()> {
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

    /// Copy the sources' bytes into every hole left so far.
    pub fn fill_holes(&mut self) -> io::Result<()> {
        self.check_usable()?;
        if self.holes.is_empty() {
            return Ok(());
        }
        let holes = std::mem::take(&mut self.holes);
        self.out
            .flush()
            .and_then(|()| fill(self.out.get_ref(), &holes))
            .inspect_err(|_| self.failed = true)
    }

    /// Fill the holes and flush everything; every registered copy must have been passed, and
    /// the file must hold exactly the bytes the writer handed over.
    pub fn finish(mut self) -> io::Result<()> {
        self.fill_holes()?;
        if !self.copies.is_empty() {
            return Err(io::Error::other(
                "internal error: a copied column chunk never reached the output",
            ));
        }
        self.out.flush()?;
        let file = self.out.get_mut();
        if file.stream_position()? != self.position || file.metadata()?.len() != self.position {
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
}

impl Write for SpliceFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check_usable()?;
        // Any error is final (never `Interrupted`, which callers retry: part of `buf` may be
        // written already).
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
            let n = match self.copies.front() {
                // Placeholders of a copy: the first ones skip its place, all are dropped.
                Some(copy) if self.position >= copy.start => {
                    let end = copy.start + copy.len;
                    if self.position == copy.start {
                        self.out.seek(SeekFrom::Start(end))?;
                    }
                    let n = (end - self.position).min(rest.len() as u64) as usize;
                    if self.position + n as u64 == end {
                        self.holes.extend(self.copies.pop_front());
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
    use crate::output::fill::tests::scratch_file;
    use std::io::Read;
    use std::sync::Arc;

    fn source(bytes: &[u8]) -> Arc<File> {
        let mut file = scratch_file();
        file.write_all(bytes).unwrap();
        Arc::new(file)
    }

    fn contents(mut file: File) -> Vec<u8> {
        let mut written = Vec::new();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.read_to_end(&mut written).unwrap();
        written
    }

    #[test]
    fn placeholders_become_the_sources_bytes_whatever_the_write_sizes() {
        for piece in [1, 2, 3, 7, 64] {
            // Holes filled at the end only, or also after every write.
            for fill_often in [false, true] {
                let out = scratch_file();
                let mut file = SpliceFile::new(out.try_clone().unwrap());
                // Output: "ab" + copy of "CDE" (source offset 2) + "f" + copy of "XY" + "g".
                for (start, len, bytes, offset) in
                    [(2, 3, &b"..CDE.."[..], 2), (6, 2, b"XY", 0), (8, 0, b"", 0)]
                {
                    let source = source(bytes);
                    file.expect(ChunkCopy {
                        start,
                        len,
                        source,
                        offset,
                    })
                    .unwrap();
                }
                for chunk in b"ab___f__g".chunks(piece) {
                    file.write_all(chunk).unwrap();
                    if fill_often {
                        file.fill_holes().unwrap();
                    }
                }
                file.finish().unwrap();
                assert_eq!(contents(out), b"abCDEfXYg", "pieces of {piece}");
            }
        }
    }

    #[test]
    fn a_copy_never_reached_or_out_of_order_is_an_error() {
        let mut file = SpliceFile::new(scratch_file());
        let copy = |start, len| ChunkCopy {
            start,
            len,
            source: source(b"zz"),
            offset: 0,
        };
        file.expect(copy(4, 2)).unwrap();
        assert!(file.expect(copy(5, 1)).is_err());
        file.write_all(b"abc").unwrap();
        assert!(file.finish().is_err());
    }

    #[test]
    fn a_source_shorter_than_its_copy_is_an_error_and_final() {
        let mut file = SpliceFile::new(scratch_file());
        file.expect(ChunkCopy {
            start: 0,
            len: 5,
            source: source(b"abc"),
            offset: 0,
        })
        .unwrap();
        file.write_all(b"_____").unwrap();
        assert!(file.fill_holes().is_err());
        // Nothing after a failure (a retry would not know what part was done).
        assert!(file.write_all(b"x").is_err());
        assert!(file.finish().is_err());
    }
}
