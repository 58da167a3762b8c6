//! Filling the output's holes — the places the writer skipped for copied column chunks — with
//! the sources' bytes, file to file, never through a buffer of this process.
//!
//! The thread running `fill` copies pieces from the front with `std::io::copy`
//! (`copy_file_range` on Linux, the cheapest copy: 0.65 s of CPU for the 1.4 GB of the
//! 100M-row benchmark). The kernel serializes buffered writes to one file (the inode lock, on
//! ext4 and XFS), so more threads copying that way would only queue. Other pool threads help
//! from the back instead, writing through a shared mapping of the output, which takes no such
//! lock: on 64-bit Linux the holes' blocks are reserved first (`fallocate`, here), then a
//! helper maps a piece's pages, makes them (`MADV_POPULATE_WRITE`) and reads the source's bytes
//! straight into them (`pread`), then unmaps them (a piece's pages count towards the process's
//! resident memory meanwhile: 4 MiB per helper). That costs more CPU (about 1.0 s for the same
//! 1.4 GB: the pages are faulted in one by one), so helpers are ordinary pool jobs, run by
//! threads with nothing else queued; with one thread, or a busy pool, the cheap copy does
//! everything. (A thread that takes a helper job while it waits for work of its own copies
//! until the pieces run out: at most one window's copying.) The mapping is touched only by the
//! kernel, inside those calls, so a failure (disk full, I/O error) is an error they return,
//! never a signal; a piece a helper could not copy is copied again the cheap way, which reports
//! any real error. Where mapping is unsupported (an older kernel, a file system without
//! `fallocate` or mappings), helpers are not started again in this process.
//!
//! Pieces are the holes' parts in aligned blocks of `PIECE` bytes of the output, so two
//! pieces never share a page.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Bytes of the output at `start..start + len` are the source's at `offset..offset + len`.
#[derive(Clone)]
pub(super) struct ChunkCopy {
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

/// Cleared when mapping turned out unsupported here: no more helpers.
static MAPPING_WORKS: AtomicBool = AtomicBool::new(true);

/// Copy every hole's bytes into `out` (holes in output order, not overlapping). On success
/// `out`'s file offset is where it was.
pub(super) fn fill(out: &File, holes: &[ChunkCopy]) -> io::Result<()> {
    let helpers = rayon::current_num_threads().saturating_sub(1);
    let helped = helpers > 0 && MAPPING_WORKS.load(Ordering::Relaxed) && reserve(out, holes);
    let helpers = if helped { helpers } else { 0 };
    fill_with(out, holes, helpers, copy_in_kernel, copy_mapped)
}

/// `fill`, with `helpers` jobs copying pieces from the back by `back` (false: not copied, to
/// be copied by `front` at the end), while this thread copies from the front by `front`.
fn fill_with(
    out: &File,
    holes: &[ChunkCopy],
    helpers: usize,
    mut front: impl FnMut(&File, &[ChunkCopy]) -> io::Result<()> + Send,
    back: impl Fn(&File, &[ChunkCopy]) -> bool + Sync,
) -> io::Result<()> {
    let pieces = pieces(holes);
    let end = (&*out).stream_position()?;
    // Pieces not taken yet: this thread takes from the front, helpers from the back.
    let left = Mutex::new(0..pieces.len());
    let take = |from_front: bool| {
        let mut left = left.lock().unwrap_or_else(|p| p.into_inner());
        if from_front {
            left.next()
        } else {
            left.next_back()
        }
    };
    let failed: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    let mut outcome: io::Result<()> = Ok(());
    rayon::scope(|scope| {
        for _ in 0..helpers {
            scope.spawn(|_| {
                while let Some(i) = take(false) {
                    if !back(out, &pieces[i]) {
                        failed.lock().unwrap_or_else(|p| p.into_inner()).push(i);
                        return;
                    }
                }
            });
        }
        outcome = (|| {
            while let Some(i) = take(true) {
                front(out, &pieces[i])?;
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
        front(out, &pieces[i])?;
    }
    (&*out).seek(SeekFrom::Start(end))?;
    Ok(())
}

/// The holes' parts in each aligned block of `PIECE` bytes of the output, block by block.
fn pieces(holes: &[ChunkCopy]) -> Vec<Vec<ChunkCopy>> {
    let mut pieces: Vec<Vec<ChunkCopy>> = Vec::new();
    let mut block = u64::MAX;
    for hole in holes {
        let mut at = 0;
        while at < hole.len {
            let start = hole.start + at;
            let len = (PIECE - start % PIECE).min(hole.len - at);
            let part = ChunkCopy {
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

/// Each part in turn: seek there and let the kernel copy (where it can). Only the thread
/// running `fill` calls this: it moves `out`'s and the sources' file offsets.
fn copy_in_kernel(out: &File, parts: &[ChunkCopy]) -> io::Result<()> {
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

/// Reserve the holes' blocks for the helpers (and extend the file over them); false where
/// that is not possible (then there are no helpers: a full disk is reported by the copy).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn reserve(out: &File, holes: &[ChunkCopy]) -> bool {
    match mapped::reserve(out, holes) {
        Ok(()) => true,
        Err(e) => {
            note_unsupported(&e);
            false
        }
    }
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn reserve(_out: &File, _holes: &[ChunkCopy]) -> bool {
    false
}

/// Copy one piece through a mapping of its pages; false if that failed (for any reason: the
/// piece is then copied again the other way).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn copy_mapped(out: &File, parts: &[ChunkCopy]) -> bool {
    mapped::copy(out, parts)
        .inspect_err(note_unsupported)
        .is_ok()
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn copy_mapped(_out: &File, _parts: &[ChunkCopy]) -> bool {
    false
}

/// An error that says mapping (or reserving) cannot work here at all stops all later helpers.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn note_unsupported(error: &io::Error) {
    let unsupported = [
        libc::EINVAL,
        libc::ENOSYS,
        libc::EOPNOTSUPP,
        libc::ENODEV,
        libc::EACCES,
    ];
    if error
        .raw_os_error()
        .is_some_and(|e| unsupported.contains(&e))
    {
        MAPPING_WORKS.store(false, Ordering::Relaxed);
    }
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
mod mapped {
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;

    use super::{ended_early, ChunkCopy};

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

    /// Allocate the holes' blocks (and extend the file over them): the mapped pages then need
    /// no allocation when written.
    pub fn reserve(out: &File, holes: &[ChunkCopy]) -> io::Result<()> {
        for hole in holes.iter().filter(|h| h.len > 0) {
            let (start, len) = (to_off(hole.start)?, to_off(hole.len)?);
            // SAFETY: plain system call on an open descriptor.
            check(unsafe { libc::fallocate(out.as_raw_fd(), 0, start, len) })?;
        }
        Ok(())
    }

    /// Copy a piece's parts (in output order, within one aligned block, reserved by
    /// `reserve`) through a mapping of their pages.
    pub fn copy(out: &File, parts: &[ChunkCopy]) -> io::Result<()> {
        let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
            return Ok(());
        };
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
    type Way = fn(&File, &[ChunkCopy]) -> io::Result<()>;

    fn in_pool(threads: usize, out: &File, holes: &[ChunkCopy]) -> io::Result<()> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| fill(out, holes))
    }

    /// Every piece through the kernel copy only.
    fn kernel_only(out: &File, holes: &[ChunkCopy]) -> io::Result<()> {
        let end = (&*out).stream_position()?;
        pieces(holes)
            .iter()
            .try_for_each(|p| copy_in_kernel(out, p))?;
        (&*out).seek(SeekFrom::Start(end)).map(|_| ())
    }

    /// Every piece through a mapping only (no quiet fallback), where there is one.
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    fn mapped_only(out: &File, holes: &[ChunkCopy]) -> io::Result<()> {
        mapped::reserve(out, holes)?;
        pieces(holes).iter().try_for_each(|p| mapped::copy(out, p))
    }

    #[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
    fn mapped_only(out: &File, holes: &[ChunkCopy]) -> io::Result<()> {
        kernel_only(out, holes)
    }

    const WAYS: [(&str, Way); 5] = [
        ("fill", fill),
        ("fill, 1 thread", |o, h| in_pool(1, o, h)),
        ("fill, 4 threads", |o, h| in_pool(4, o, h)),
        ("mapped", mapped_only),
        ("kernel", kernel_only),
    ];

    /// An output with holes of many sizes (across blocks and pages, unaligned, adjacent or
    /// not) between written bytes, the holes, and the bytes it should end up with.
    fn holey_output() -> (File, Vec<ChunkCopy>, Vec<u8>) {
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
        let out = scratch_file();
        let mut expected = Vec::new();
        let mut holes = Vec::new();
        for (i, &len) in lens.iter().enumerate() {
            // Some holes right after the previous one (as a row group's chunks are).
            let filler = noise(if i % 3 == 2 { 0 } else { 1000 + i * 37 }, i as u64 + 100);
            (&out).write_all(&filler).unwrap();
            expected.extend_from_slice(&filler);
            let offset = (i as u64 * 9_999) % (source_bytes.len() as u64 - len);
            holes.push(ChunkCopy {
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
        (out, holes, expected)
    }

    /// Every way of filling the holes gives the expected file.
    #[test]
    fn holes_get_the_sources_bytes_every_way() {
        for (way, fill) in WAYS {
            let (out, holes, expected) = holey_output();
            fill(&out, &holes).unwrap();
            assert_eq!(
                (&out).stream_position().unwrap(),
                expected.len() as u64,
                "{way}"
            );
            assert!(contents(&out) == expected, "{way}");
        }
    }

    /// Helpers surely at work (the front waits until they have taken pieces): the pieces they
    /// copy, and those they fail on (some after writing part of them), end up right.
    #[cfg(unix)]
    #[test]
    fn helpers_pieces_and_their_failures_end_up_right() {
        use std::sync::atomic::AtomicUsize;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        for fail_every in [0usize, 2, 1] {
            let (out, holes, expected) = holey_output();
            assert!(reserve(&out, &holes) || !cfg!(target_os = "linux"));
            let (taken, failed) = (AtomicUsize::new(0), AtomicUsize::new(0));
            let back = |out: &File, parts: &[ChunkCopy]| {
                let n = taken.fetch_add(1, Ordering::SeqCst) + 1;
                if fail_every > 0 && n % fail_every == 0 {
                    failed.fetch_add(1, Ordering::SeqCst);
                    // A failure halfway: the first part written, the rest not.
                    kernel_only_parts(out, &parts[..1]);
                    return false;
                }
                copy_mapped(out, parts) || {
                    kernel_only_parts(out, parts);
                    true
                }
            };
            let front = |out: &File, parts: &[ChunkCopy]| {
                let start = std::time::Instant::now();
                while taken.load(Ordering::SeqCst) == 0 && start.elapsed().as_secs() < 10 {
                    std::thread::yield_now();
                }
                copy_in_kernel(out, parts)
            };
            pool.install(|| fill_with(&out, &holes, 3, front, back))
                .unwrap();
            assert!(taken.load(Ordering::SeqCst) > 0, "no helper took a piece");
            if fail_every > 0 {
                assert!(failed.load(Ordering::SeqCst) > 0);
            }
            assert_eq!((&out).stream_position().unwrap(), expected.len() as u64);
            assert!(contents(&out) == expected, "failing every {fail_every}");
        }
    }

    /// Copy parts by positioned writes (any thread; a test's stand-in for a helper).
    #[cfg(unix)]
    fn kernel_only_parts(out: &File, parts: &[ChunkCopy]) {
        use std::os::unix::fs::FileExt;
        for part in parts {
            let mut bytes = vec![0; part.len as usize];
            part.source.read_exact_at(&mut bytes, part.offset).unwrap();
            out.write_all_at(&bytes, part.start).unwrap();
        }
    }

    #[test]
    fn a_source_shorter_than_its_hole_is_an_error_every_way() {
        let source = Arc::new(scratch_file());
        (&*source)
            .write_all(&noise(2 * PIECE as usize + 10, 3))
            .unwrap();
        let hole = ChunkCopy {
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
        let hole = |start, len| ChunkCopy {
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
        let parts: Vec<&ChunkCopy> = pieces.iter().flatten().collect();
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
