//! Linking the runs of equal list ids across chunks (lists may be split or not contiguous).

use super::*;

/// Checked fast path for a single integer list id whose run values lie in a small range: a
/// bitmap over the range finds the values seen in more than one run (lists split across
/// chunks, or not contiguous). Returns the runs holding such values, ascending (only they
/// need linking), or None when the fast path does not apply.
pub(super) fn repeated_int_runs(runs: &[Run], chunks: &[Chunk]) -> Option<Vec<u32>> {
    let values: Vec<i64> = runs
        .par_iter()
        .map(|r| match chunks[r.chunk as usize].keys.as_slice() {
            [KeyColumn::Int(v)] => Some(v[r.start as usize]),
            _ => None,
        })
        .collect::<Option<_>>()?;
    const PIECE: usize = 1 << 16;
    let (lo, hi) = values
        .par_chunks(PIECE)
        .filter_map(min_max)
        .reduce_with(|a, b| (a.0.min(b.0), a.1.max(b.1)))?;
    if hi as i128 - lo as i128 >= (runs.len() as i128) * 16 + (1 << 16) {
        return None;
    }
    let words = ((hi as i128 - lo as i128) as usize >> 6) + 1;
    let offset = |v: i64| v.wrapping_sub(lo) as u64 as usize;
    // Per piece of runs in parallel: the values seen, and those seen twice within it; a value
    // is repeated when one piece saw it twice or two pieces saw it. Each piece needs two
    // bitmaps over the range, so at most one piece per thread, and their bitmaps together no
    // larger than `values`.
    let pieces = rayon::current_num_threads().min((values.len() / (2 * words)).max(1));
    let piece = values.len().div_ceil(pieces).max(PIECE);
    let (_, repeated) = values
        .par_chunks(piece)
        .map(|piece| {
            let mut seen = vec![0u64; words];
            let mut repeated = vec![0u64; words];
            for &v in piece {
                let at = offset(v);
                let (word, bit) = (at >> 6, 1u64 << (at & 63));
                repeated[word] |= seen[word] & bit;
                seen[word] |= bit;
            }
            (seen, repeated)
        })
        .reduce_with(|(mut seen_a, mut rep_a), (seen_b, rep_b)| {
            for w in 0..words {
                rep_a[w] |= rep_b[w] | (seen_a[w] & seen_b[w]);
                seen_a[w] |= seen_b[w];
            }
            (seen_a, rep_a)
        })?;
    if repeated.iter().all(|&w| w == 0) {
        return Some(Vec::new());
    }
    Some(
        (0..runs.len() as u32)
            .into_par_iter()
            .filter(|&i| {
                let at = offset(values[i as usize]);
                repeated[at >> 6] & (1 << (at & 63)) != 0
            })
            .collect(),
    )
}

/// Chain the runs of each list id: whether each run is the first of its list, and `next` run
/// links (u32::MAX: none). Runs are partitioned by the top bits of their hash and each part is
/// sorted on its own, in parallel; equal hashes are checked by value.
pub(super) fn link_runs(runs: &[Run], hashes: &[u64], chunks: &[Chunk]) -> (Vec<bool>, Vec<u32>) {
    let links = match repeated_int_runs(runs, chunks) {
        // Only the runs of repeated values can link (to each other).
        Some(subset) => {
            let sub_hashes: Vec<u64> = subset.iter().map(|&i| hashes[i as usize]).collect();
            link_subset(runs, Some(&subset), &sub_hashes, chunks)
        }
        None => link_subset(runs, None, hashes, chunks),
    };
    let n = runs.len();
    let mut is_head = vec![true; n];
    let mut next = vec![u32::MAX; n];
    for (tail, run) in links {
        next[tail as usize] = run;
        is_head[run as usize] = false;
    }
    (is_head, next)
}

/// `(tail, run)` links (run indices) among the runs `members` (ascending; None: all runs),
/// whose hashes are `hashes`.
pub(super) fn link_subset(
    runs: &[Run],
    members: Option<&[u32]>,
    hashes: &[u64],
    chunks: &[Chunk],
) -> Vec<(u32, u32)> {
    let n = hashes.len();
    let bits = (usize::BITS - (n / 4096).leading_zeros()).min(12);
    let part_of = |h: u64| {
        if bits == 0 {
            0
        } else {
            (h >> (64 - bits)) as usize
        }
    };
    let mut starts = vec![0usize; (1 << bits) + 1];
    for &h in hashes {
        starts[part_of(h) + 1] += 1;
    }
    for p in 1..starts.len() {
        starts[p] += starts[p - 1];
    }
    let mut order = vec![(0u64, 0u32); n];
    let mut fill = starts.clone();
    for (i, &h) in hashes.iter().enumerate() {
        let p = part_of(h);
        let run = members.map_or(i as u32, |m| m[i]);
        order[fill[p]] = (h, run);
        fill[p] += 1;
    }
    let mut parts: Vec<&mut [(u64, u32)]> = Vec::with_capacity(1 << bits);
    let mut rest: &mut [(u64, u32)] = &mut order;
    for p in 0..(1 << bits) {
        let (part, tail) = rest.split_at_mut(starts[p + 1] - starts[p]);
        parts.push(part);
        rest = tail;
    }
    let same = |a: u32, b: u32| {
        let (ra, rb) = (runs[a as usize], runs[b as usize]);
        let (ca, cb) = (&chunks[ra.chunk as usize], &chunks[rb.chunk as usize]);
        ca.keys
            .iter()
            .zip(&cb.keys)
            .all(|(x, y)| x.equal(ra.start as usize, y, rb.start as usize))
    };
    // Per part: (tail, run) links, runs of one list in input order.
    let links: Vec<Vec<(u32, u32)>> = parts
        .into_par_iter()
        .map(|part| {
            part.sort_unstable();
            let mut links = Vec::new();
            let mut i = 0;
            while i < part.len() {
                let mut j = i + 1;
                while j < part.len() && part[j].0 == part[i].0 {
                    j += 1;
                }
                if j > i + 1 {
                    let mut open: Vec<(u32, u32)> = Vec::new();
                    for &(_, run) in &part[i..j] {
                        match open.iter_mut().find(|(h, _)| same(*h, run)) {
                            Some((_, tail)) => {
                                links.push((*tail, run));
                                *tail = run;
                            }
                            None => open.push((run, run)),
                        }
                    }
                }
                i = j;
            }
            links
        })
        .collect();
    links.into_iter().flatten().collect()
}
