//! Row hashing. Fixed seeds: the same rows hash the same in every run and on every thread.

/// MurmurHash3's 64-bit finalizer: a bijection with full avalanche.
#[inline]
pub fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Fold the hash of the next key column into a row's running hash.
#[inline]
pub fn combine(acc: u64, next: u64) -> u64 {
    fmix64(acc.rotate_left(23) ^ next.wrapping_add(0x9e37_79b9_7f4a_7c15))
}
