//! Filling the output's holes — the places the writer skipped for copied column chunks — with
//! the sources' bytes, file to file, never through this process's memory.
//!
//! The thread that wrote the row groups copies pieces from the front with `std::io::copy`
//! (`copy_file_range` on Linux, the cheapest copy: 0.65 s of CPU for the 1.4 GB of the
//! 100M-row benchmark). The kernel serializes buffered writes to one file (the inode lock, on
//! ext4 and XFS), so more threads copying that way would only queue. Idle pool threads help
//! from the back instead, writing through a shared mapping of the output, which takes no such
//! lock: on 64-bit Linux a piece's blocks are reserved (`fallocate`), its pages mapped and made
//! (`MADV_POPULATE_WRITE`), and the source's bytes read straight into them (`pread`). That costs
//! more CPU (about 1.0 s for the same 1.4 GB: the pages are faulted in one by one), so it is
//! only done by threads that have nothing else to do; with one thread, or a busy pool, the
//! cheap copy does everything. The mapping is touched only by the kernel, inside those calls,
//! so a failure (disk full, I/O error) is an error they return, never a signal; a piece a
//! helper could not copy is copied again the cheap way, which reports any real error.
//!
//! Pieces are the holes' parts in aligned blocks of `PIECE` bytes of the output, so two
//! pieces never share a page.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

/// Bytes of the output at `start..start + len` are the source's at `offset..offset + len`.
#[derive(Clone)]
pub(super) struct Copy {
    pub start: u64,
    pub len: u64,
    /// Shared by a source's copies (read at explicit offsets, or seeked by one thread).
    pub source: Arc<File>,
    pub offset: u64,
}

/// The output is cut in aligned blocks of this size (a multiple of any page size): a piece is
/// the holes' parts in one block, the unit of shared work.
const PIECE: u64 = 4 << 20;

fn ended_early() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "a column chunk ended early (did an input file change during the call?)",
    )
}

/// Copy every hole's bytes into `out` (holes in output order, not overlapping); `out`'s file
/// offset is left where it was.
pub(super) fn fill(out: &File, holes: &[Copy]) -> io::Result<()> {
    let pieces = pieces(holes);
    let end = (&*out).stream_position()?;
    // Pieces not taken yet: this thread takes from the front, helpers from the back.
    let left = Mutex::new(0..pieces.len());
    let take = |front: bool| {
        let mut left = left.lock().unwrap_or_else(|p| p.into_inner());
        if front {
            left.next()
        } else {
            left.next_back()
        }
    };
    let failed: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    let mut outcome: io::Result<()> = Ok(());
    rayon::scope(|scope| {
        if mapping_possible() {
            for _ in 1..rayon::current_num_threads() {
                scope.spawn(|_| {
                    while let Some(i) = take(false) {
                        if !copy_mapped(out, &pieces[i]) {
                            failed.lock().unwrap_or_else(|p| p.into_inner()).push(i);
                            return;
                        }
                    }
                });
            }
        }
        outcome = (|| {
            while let Some(i) = take(true) {
                copy_in_kernel(out, &pieces[i])?;
            }
            Ok(())
        })();
        if outcome.is_err() {
            // The helpers stop at their next piece.
            *left.lock().unwrap_or_else(|p| p.into_inner()) = 0..0;
        }
    });
    outcome?;
    for i in failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        copy_in_kernel(out, &pieces[i])?;
    }
    (&*out).seek(SeekFrom::Start(end))?;
    Ok(())
}

/// The holes' parts in each aligned block of `PIECE` bytes of the output, block by block.
fn pieces(holes: &[Copy]) -> Vec<Vec<Copy>> {
    let mut pieces: Vec<Vec<Copy>> = Vec::new();
    let mut block = u64::MAX;
    for hole in holes {
        let mut at = 0;
        while at < hole.len {
            let start = hole.start + at;
            let len = (PIECE - start % PIECE).min(hole.len - at);
            let part = Copy {
                start,
                len,
                source: hole.source.clone(),
                offset: hole.offset + at,
            };
            if start / PIECE == block {
                pieces
                    .last_mut()
                    .into_iter()
                    .for_each(|p| p.push(part.clone()));
            } else {
                block = start / PIECE;
                pieces.push(vec![part]);
            }
            at += len;
        }
    }
    pieces
}

/// Each part in turn: seek there and let the kernel copy (where it can). Only the thread that
/// owns `out` calls this (it moves `out`'s and the sources' file offsets).
fn copy_in_kernel(out: &File, parts: &[Copy]) -> io::Result<()> {
    let mut writer = out;
    for part in parts {
        writer.seek(SeekFrom::Start(part.start))?;
        let mut source: &File = &part.source;
        source.seek(SeekFrom::Start(part.offset))?;
        let mut chunk = BufReader::with_capacity(1 << 20, source.take(part.len));
        if io::copy(&mut chunk, &mut writer)? != part.len {
            return Err(ended_early());
        }
    }
    Ok(())
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn mapping_possible() -> bool {
    true
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn mapping_possible() -> bool {
    false
}

/// Copy one piece through a mapping of its pages; false if that failed (for any reason: the
/// piece is then copied again the other way).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn copy_mapped(out: &File, parts: &[Copy]) -> bool {
    mapped::copy(out, parts).is_ok()
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn copy_mapped(_out: &File, _parts: &[Copy]) -> bool {
    false
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
mod mapped {
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;

    use super::{ended_early, Copy};

    fn check(result: libc::c_int) -> io::Result<()> {
        if result == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn to_off(n: u64) -> io::Result<libc::off_t> {
        libc::off_t::try_from(n).map_err(|_| io::Error::other("file offset out of range"))
    }

    /// A shared mapping of part of a file, unmapped when dropped.
    struct Mapping {
        base: *mut libc::c_void,
        len: usize,
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: `base..base + len` is a mapping made by `map` and not unmapped yet.
            unsafe { libc::munmap(self.base, self.len) };
        }
    }

    /// Map the output's pages holding `start..end` (the first page may begin before `start`):
    /// returns the mapping and where `start` lies in it.
    fn map(out: &File, start: u64, end: u64) -> io::Result<(Mapping, u64)> {
        // SAFETY: plain query.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let page = u64::try_from(page).ok().filter(|&p| p > 0).unwrap_or(4096);
        let first = start - start % page;
        let size =
            usize::try_from(end - first).map_err(|_| io::Error::other("piece too large to map"))?;
        // SAFETY: a new shared mapping of an open file; nothing in this process reads or
        // writes it directly (only the kernel, inside `madvise` and `pread`).
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                out.as_raw_fd(),
                to_off(first)?,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok((Mapping { base, len: size }, start - first))
    }

    /// Copy a piece's parts (in output order, within one aligned block) through a mapping.
    pub fn copy(out: &File, parts: &[Copy]) -> io::Result<()> {
        let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
            return Ok(());
        };
        // Blocks allocated (and the file extended over them): the mapped pages then need no
        // allocation when written, and a full disk is reported here.
        for part in parts {
            // SAFETY: plain system call on an open descriptor.
            let reserved = unsafe {
                libc::fallocate(out.as_raw_fd(), 0, to_off(part.start)?, to_off(part.len)?)
            };
            check(reserved)?;
        }
        let (mapping, base) = map(out, first.start, last.start + last.len)?;
        // Make the pages writable in one call (instead of a fault per page inside `pread`).
        // SAFETY: the range is the mapping just made.
        check(unsafe { libc::madvise(mapping.base, mapping.len, libc::MADV_POPULATE_WRITE) })?;
        for part in parts {
            let at = base + (part.start - first.start);
            let mut done = 0u64;
            while done < part.len {
                let left = (part.len - done) as usize;
                // SAFETY: `at + done + left` is within the mapping (it reaches the last part's
                // end); the kernel writes the bytes (a bad page is an error it returns).
                let read = unsafe {
                    let into = mapping.base.cast::<u8>().add((at + done) as usize);
                    libc::pread(
                        part.source.as_raw_fd(),
                        into.cast(),
                        left,
                        to_off(part.offset + done)?,
                    )
                };
                match read {
                    0 => return Err(ended_early()),
                    n if n < 0 => {
                        let error = io::Error::last_os_error();
                        if error.kind() != io::ErrorKind::Interrupted {
                            return Err(error);
                        }
                    }
                    n => done += n as u64,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::io::Write;

    /// An anonymous read-write file (created, then unlinked).
    pub(crate) fn scratch_file() -> File {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("lw-fill-{}-{n}", std::process::id()));
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

    fn contents(file: &File) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut reader = file;
        reader.seek(SeekFrom::Start(0)).unwrap();
        reader.read_to_end(&mut bytes).unwrap();
        bytes
    }

    /// Pseudo-random bytes (so a part copied from the wrong place shows).
    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// A way of filling holes.
    type Way = fn(&File, &[Copy]) -> io::Result<()>;

    fn in_pool(threads: usize, out: &File, holes: &[Copy]) -> io::Result<()> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| fill(out, holes))
    }

    /// Every piece through the kernel copy only.
    fn kernel_only(out: &File, holes: &[Copy]) -> io::Result<()> {
        let end = (&*out).stream_position()?;
        pieces(holes)
            .iter()
            .try_for_each(|p| copy_in_kernel(out, p))?;
        (&*out).seek(SeekFrom::Start(end)).map(|_| ())
    }

    /// Every piece through a mapping only (no quiet fallback), where there is one.
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    fn mapped_only(out: &File, holes: &[Copy]) -> io::Result<()> {
        pieces(holes).iter().try_for_each(|p| mapped::copy(out, p))
    }

    #[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
    fn mapped_only(out: &File, holes: &[Copy]) -> io::Result<()> {
        kernel_only(out, holes)
    }

    const WAYS: [(&str, Way); 5] = [
        ("fill", fill),
        ("fill, 1 thread", |o, h| in_pool(1, o, h)),
        ("fill, 4 threads", |o, h| in_pool(4, o, h)),
        ("mapped", mapped_only),
        ("kernel", kernel_only),
    ];

    /// Holes of many sizes (across blocks and pages, unaligned, adjacent or not) between
    /// written bytes; every way of filling them gives the same file, the expected one.
    #[test]
    fn holes_get_the_sources_bytes_every_way() {
        let source_bytes = noise(3 * PIECE as usize + 12_345, 7);
        let source = Arc::new(scratch_file());
        (&*source).write_all(&source_bytes).unwrap();
        let lens = [
            1u64,
            4095,
            4097,
            PIECE,
            PIECE + 1,
            2 * PIECE + 777,
            0,
            10,
            3,
            5000,
        ];
        for (way, fill) in WAYS {
            let out = scratch_file();
            let mut expected = Vec::new();
            let mut holes = Vec::new();
            for (i, &len) in lens.iter().enumerate() {
                // Some holes right after the previous one (as a row group's chunks are).
                let filler = noise(if i % 3 == 2 { 0 } else { 1000 + i * 37 }, i as u64 + 100);
                (&out).write_all(&filler).unwrap();
                expected.extend_from_slice(&filler);
                let offset = (i as u64 * 9_999) % (source_bytes.len() as u64 - len);
                holes.push(Copy {
                    start: expected.len() as u64,
                    len,
                    source: source.clone(),
                    offset,
                });
                expected.extend_from_slice(&source_bytes[offset as usize..][..len as usize]);
                (&out).seek(SeekFrom::Current(len as i64)).unwrap();
            }
            (&out).write_all(b"footer").unwrap();
            expected.extend_from_slice(b"footer");
            fill(&out, &holes).unwrap();
            assert_eq!(
                (&out).stream_position().unwrap(),
                expected.len() as u64,
                "{way}"
            );
            assert!(contents(&out) == expected, "{way}");
        }
    }

    #[test]
    fn a_source_shorter_than_its_hole_is_an_error_every_way() {
        let source = Arc::new(scratch_file());
        (&*source)
            .write_all(&noise(2 * PIECE as usize + 10, 3))
            .unwrap();
        let hole = Copy {
            start: 5,
            len: 2 * PIECE + 20,
            source,
            offset: 0,
        };
        for (way, fill) in WAYS {
            let out = scratch_file();
            (&out).write_all(b"abcde").unwrap();
            let err = fill(&out, std::slice::from_ref(&hole)).unwrap_err();
            assert!(err.to_string().contains("ended early"), "{way}: {err}");
        }
    }

    #[test]
    fn pieces_cover_the_holes_exactly_one_block_each() {
        let source = Arc::new(scratch_file());
        let hole = |start, len| Copy {
            start,
            len,
            source: source.clone(),
            offset: start / 2,
        };
        let holes = [
            hole(10, 0),
            hole(10, PIECE - 20),
            hole(PIECE - 10, 10),
            hole(PIECE, 1),
            hole(PIECE + 5, 3 * PIECE),
            hole(5 * PIECE, PIECE),
        ];
        let pieces = pieces(&holes);
        let parts: Vec<&Copy> = pieces.iter().flatten().collect();
        // The parts, in order, are the holes cut at block boundaries.
        let mut expected = Vec::new();
        for h in &holes {
            let mut at = h.start;
            while at < h.start + h.len {
                let end = (at / PIECE + 1) * PIECE;
                let end = end.min(h.start + h.len);
                expected.push((at, end - at, h.offset + (at - h.start)));
                at = end;
            }
        }
        let got: Vec<(u64, u64, u64)> = parts.iter().map(|p| (p.start, p.len, p.offset)).collect();
        assert_eq!(got, expected);
        // One block per piece, each block in one piece.
        let blocks: Vec<u64> = pieces.iter().map(|p| p[0].start / PIECE).collect();
        for piece in &pieces {
            assert!(piece
                .iter()
                .all(|p| (p.start + p.len - 1) / PIECE == piece[0].start / PIECE));
        }
        assert!(blocks.windows(2).all(|w| w[0] < w[1]), "{blocks:?}");
        assert_eq!(blocks, vec![0, 1, 2, 3, 4, 5]);
    }
}
