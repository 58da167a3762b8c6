//! Narrowing and spreading by key hash: a Bloom filter that rules out predictions whose key
//! has no event, and hash buckets that split the crediting across cores.

use super::scan::Event;

/// A blocked Bloom filter over event key hashes (two bits in one 64-bit word, ~32 bits per
/// event: about 1% false positives): a miss proves "no event of this key".
pub struct HashFilter {
    words: Vec<u64>,
    mask: u64,
}

impl HashFilter {
    pub fn new(events: &[Event]) -> HashFilter {
        let words = (events.len() / 2)
            .next_power_of_two()
            .clamp(1 << 6, 1 << 26);
        let mut filter = HashFilter::with_words(words);
        for e in events {
            filter.insert(e.hash);
        }
        filter
    }

    /// An empty filter for about `keys` hashes (~16 bits each: a few % false positives) in at
    /// most `max_bytes` (more false positives beyond that, never a wrong "no").
    pub fn sized(keys: u64, max_bytes: u64) -> HashFilter {
        let most = (max_bytes / 8).max(1 << 6);
        let words = (keys / 4).clamp(1 << 6, most.min(1 << 26)) as usize;
        // The largest power of two within `words` (the slot is a mask).
        HashFilter::with_words(1 << words.ilog2())
    }

    fn with_words(words: usize) -> HashFilter {
        HashFilter {
            words: vec![0u64; words],
            mask: words as u64 - 1,
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.words.len() as u64 * 8
    }

    #[inline]
    pub fn insert(&mut self, hash: u64) {
        let (word, bits) = self.slot(hash);
        self.words[word] |= bits;
    }

    #[inline]
    fn slot(&self, hash: u64) -> (usize, u64) {
        let word = ((hash >> 12) & self.mask) as usize;
        (word, (1 << (hash & 63)) | (1 << ((hash >> 6) & 63)))
    }

    #[inline]
    pub fn may_contain(&self, hash: u64) -> bool {
        let (word, bits) = self.slot(hash);
        self.words[word] & bits == bits
    }
}

/// Hash buckets: the top bits of the key hash spread the crediting over cores and keep each
/// bucket's sort in cache.
pub struct Buckets {
    bits: u32,
}

impl Buckets {
    /// About a thousand events per bucket, 16 to 4096 buckets.
    pub fn for_events(events: usize) -> Buckets {
        let count = (events / 1024).next_power_of_two().clamp(16, 4096);
        Buckets {
            bits: count.trailing_zeros(),
        }
    }

    pub fn count(&self) -> usize {
        1 << self.bits
    }

    #[inline]
    pub fn of(&self, hash: u64) -> usize {
        (hash >> (64 - self.bits)) as usize
    }

    /// Events split by bucket, each bucket in input order.
    pub fn split_events(&self, events: &[Event]) -> Vec<Vec<Event>> {
        let mut out = vec![Vec::new(); self.count()];
        for e in events {
            out[self.of(e.hash)].push(*e);
        }
        out
    }
}
