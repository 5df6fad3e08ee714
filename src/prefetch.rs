//! Loading a cache line before it is needed. Where the next addresses are
//! known but scattered (256 write heads while sorting, accounts in hash
//! order while recording a corpus's hits), the CPU's own prefetcher cannot
//! guess them, and without a hint each one is a wait on memory.

/// Start loading the cache line of `item`. A hint: it has no effect on the
/// program's state, whatever the address.
#[inline]
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
pub fn prefetch<T>(item: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching has no effect on program state and never
    // faults, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(item.cast::<i8>());
    }
}
