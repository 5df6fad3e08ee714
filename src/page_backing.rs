//! How the audit's largest arrays get their memory.
//!
//! At 100M accounts the query set's arrays are gigabytes written once from
//! end to end, and the pairs gathered while reading are as large: in 4 KiB
//! pages, over a million page faults, each a trip into the kernel, and a
//! TLB that covers a few megabytes of them when pairs are scattered. Most
//! systems enable transparent huge pages only where a program asks
//! (`madvise` mode): [`advise`] asks, for the 2 MiB-aligned part of an
//! array. Where the kernel declines (or on another system) nothing changes
//! but the speed.
//!
//! Memory touched for the first time costs far more than memory written
//! again: the kernel clears every page, and in a virtual machine whose host
//! takes back freed memory (free page reporting, as on Firecracker) the
//! host must also supply it, about a second per gigabyte on the machine of
//! the README's figures. Where one thread is about to fill an array,
//! [`populate`] has the kernel supply its pages on every core first.

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

/// Have the kernel back `items` with written pages now, on every core:
/// the thread that fills it then finds them ready. Also asks for huge
/// pages. Contents are unchanged (`MADV_POPULATE_WRITE` only faults pages
/// in); where the kernel lacks it (before Linux 5.14) nothing happens.
pub fn populate<T>(items: &mut [T]) {
    advise(items);
    #[cfg(target_os = "linux")]
    {
        use rayon::prelude::*;
        const PAGE: usize = 4096;
        const PIECE: usize = 32 << 20;
        let start = items.as_mut_ptr() as usize;
        let end = start + std::mem::size_of_val(items);
        let (from, to) = (start.next_multiple_of(PAGE), end / PAGE * PAGE);
        if from < to {
            (0..(to - from).div_ceil(PIECE))
                .into_par_iter()
                .for_each(|k| {
                    let at = from + k * PIECE;
                    // SAFETY: as in `advise`: the range lies inside memory
                    // `items` borrows mutably, and populating never changes
                    // its contents. An error (ENOMEM, EINVAL on an older
                    // kernel) leaves the pages to be faulted in when written.
                    unsafe {
                        libc::madvise(
                            at as *mut libc::c_void,
                            PIECE.min(to - at),
                            libc::MADV_POPULATE_WRITE,
                        );
                    }
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_stay_as_they_were() {
        let mut items: Vec<u32> = (0..3_000_000).collect();
        items.reserve(5_000_000);
        advise(&mut items);
        populate(&mut items);
        populate(items.spare_capacity_mut());
        assert!(items.iter().zip(0..).all(|(&x, i)| x == i));
        items.resize(8_000_000, 7);
        assert_eq!((items[2_999_999], items[3_000_000]), (2_999_999, 7));
    }
}
