//! Transparent huge pages for the audit's largest arrays.
//!
//! At 100M accounts the query set's arrays are gigabytes written once from
//! end to end, and the pairs gathered while reading are as large: in 4 KiB
//! pages, over a million page faults, each a trip into the kernel, and a
//! TLB that covers a few megabytes of them when pairs are scattered. Most
//! systems enable transparent huge pages only where a program asks
//! (`madvise` mode): this asks, for the 2 MiB-aligned part of an array.
//! Where the kernel declines (or on another system) nothing changes but the
//! speed.

/// Ask for huge pages under the whole 2 MiB pages that `items` spans.
pub fn advise<T>(items: &mut [T]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = items.as_mut_ptr() as usize;
        let end = start + std::mem::size_of_val(items);
        let (from, to) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        if from < to {
            // SAFETY: the range lies inside memory `items` borrows mutably;
            // MADV_HUGEPAGE changes how it is backed, never its contents.
            // A refusal (EINVAL where THP is off) is not an error here.
            unsafe {
                libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = items;
}
