//! PVM RAM `μ` (GP 4.24 and A.1): 2^32 octets in pages of `Z_P = 4096`, each page
//! inaccessible, read-only (`V_μ`) or writable (`V*_μ`).
//!
//! A flat table of 2^20 page entries (allocated zeroed, so the OS maps it lazily)
//! says each page's access and where its data lives; page data is allocated on first
//! write, so mapping a large zeroed range (a stack, a heap) costs nothing until used.
//! The fast paths handle an access inside one page; the rest is `#[cold]`.

use crate::word::idx;

/// `Z_P`, the PVM page size (GP definitions).
pub const PAGE_SIZE: u32 = 4096;
/// log2 of [`PAGE_SIZE`].
const PAGE_BITS: u32 = 12;
/// Number of pages in the 32-bit address space.
const PAGE_COUNT: usize = 1 << (32 - PAGE_BITS);
/// `Z_Z`, the lowest accessible address: a failed access below it panics instead of
/// faulting (GP A.1, the "inaccessible first 64 KiB").
pub const LOW_ADDRESS_LIMIT: u32 = 1 << 16;

/// Access of one page: `A` of GP 4.24 (∅, R, W).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Not in `V_μ`: any access faults (or panics below 2^16).
    Inaccessible,
    /// In `V_μ` but not `V*_μ`.
    ReadOnly,
    /// In `V*_μ`.
    Writable,
}

impl Access {
    const fn bits(self) -> u32 {
        match self {
            Access::Inaccessible => 0,
            Access::ReadOnly => 1,
            Access::Writable => 2,
        }
    }
    const fn from_bits(b: u32) -> Self {
        match b & 3 {
            0 => Access::Inaccessible,
            1 => Access::ReadOnly,
            _ => Access::Writable,
        }
    }
}

/// Why an access failed, already mapped to the GP exit it causes (A.1): the lowest
/// inaccessible address is below 2^16 → panic; otherwise a page fault carrying the
/// start of that address's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum MemoryError {
    /// The lowest inaccessible address was below [`LOW_ADDRESS_LIMIT`].
    #[error("access to the reserved low 64 KiB")]
    Panic,
    /// Page fault at this page-aligned address.
    #[error("page fault at {0:#x}")]
    Fault(u32),
}

impl MemoryError {
    fn at(lowest_inaccessible: u32) -> Self {
        if lowest_inaccessible < LOW_ADDRESS_LIMIT {
            MemoryError::Panic
        } else {
            MemoryError::Fault(lowest_inaccessible & !(PAGE_SIZE - 1))
        }
    }
}

/// One page's data, aligned to its size so that the recompiler's table can keep
/// access bits in the low bits of its address.
#[repr(C, align(4096))]
struct PageData([u8; idx(PAGE_SIZE)]);

type Page = Box<PageData>;

/// What an accessible page without data reads as, for the recompiler's table.
#[cfg(target_arch = "x86_64")]
static ZERO_PAGE: PageData = PageData([0; idx(PAGE_SIZE)]);

/// The PVM RAM.
pub struct Memory {
    /// Per page: access in bits 0..2, data slot + 1 in bits 2.. (0: all zero).
    table: Vec<u32>,
    pages: Vec<Page>,
    /// Current top of the `sbrk` heap (GP A.x `h`, advanced by `sbrk`).
    heap_top: u32,
    /// The recompiler's view of `table`, kept equal to it by every change
    /// ([`Memory::mirror`]): per page, the address of the octets generated code may
    /// access there, with bit 0 set if it may read them and bit 1 if it may write
    /// them. A page with data has its own address (bit 1 only if writable); an
    /// accessible page without data has the shared zero page's address with bit 0
    /// only, so reads are fast and the first write takes the slow path, which
    /// allocates; an inaccessible page is 0.
    #[cfg(target_arch = "x86_64")]
    jit: Vec<u64>,
}

impl Clone for Memory {
    fn clone(&self) -> Self {
        let mut m = Memory {
            table: self.table.clone(),
            pages: self.pages.iter().map(|p| Box::new(PageData(p.0))).collect(),
            heap_top: self.heap_top,
            #[cfg(target_arch = "x86_64")]
            jit: vec![0; PAGE_COUNT],
        };
        // The copy's table must name the copy's pages, never the original's.
        #[cfg(target_arch = "x86_64")]
        for page in 0..PAGE_COUNT {
            if m.entry(page) != 0 {
                m.mirror(page);
            }
        }
        m
    }
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("allocated_pages", &self.pages.len())
            .field("heap_top", &self.heap_top)
            .finish()
    }
}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}

#[inline(always)]
const fn page_of(addr: u32) -> usize {
    idx(addr >> PAGE_BITS)
}

#[inline(always)]
const fn offset_in_page(addr: u32) -> usize {
    idx(addr & (PAGE_SIZE - 1))
}

/// A pointer's address, for the recompiler's table.
#[cfg(target_arch = "x86_64")]
fn address(p: *const u8) -> u64 {
    u64::try_from(p.addr()).unwrap_or(0)
}

impl Memory {
    /// All pages inaccessible, heap top 0.
    pub fn new() -> Self {
        Memory {
            table: vec![0; PAGE_COUNT],
            pages: Vec::new(),
            heap_top: 0,
            #[cfg(target_arch = "x86_64")]
            jit: vec![0; PAGE_COUNT],
        }
    }

    /// The access of the page holding `addr`.
    pub fn access(&self, addr: u32) -> Access {
        Access::from_bits(self.entry(page_of(addr)))
    }

    #[inline(always)]
    fn entry(&self, page: usize) -> u32 {
        self.table.get(page).copied().unwrap_or(0)
    }

    #[inline(always)]
    fn page_data(&self, entry: u32) -> Option<&[u8; idx(PAGE_SIZE)]> {
        let slot = entry >> 2;
        if slot == 0 {
            return None;
        }
        self.pages.get(idx(slot - 1)).map(|p| &p.0)
    }

    /// Recompute the recompiler's entry for `page` from `table` (see `jit`).
    #[cfg(target_arch = "x86_64")]
    fn mirror(&mut self, page: usize) {
        let entry = self.entry(page);
        let access = entry & 3;
        let slot = entry >> 2;
        let value = if access == 0 {
            0
        } else if slot == 0 {
            address(ZERO_PAGE.0.as_ptr()) | 1
        } else {
            match self.pages.get_mut(idx(slot - 1)) {
                Some(p) => address(p.0.as_mut_ptr().cast_const()) | if access == 2 { 3 } else { 1 },
                None => 0,
            }
        };
        if let Some(e) = self.jit.get_mut(page) {
            *e = value;
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn mirror(&mut self, _page: usize) {}

    /// The writable data of `page`, allocating it zeroed on first use.
    fn page_data_mut(&mut self, page: usize) -> Option<&mut [u8; idx(PAGE_SIZE)]> {
        let entry = self.table.get_mut(page)?;
        let slot = *entry >> 2;
        let slot = if slot == 0 {
            self.pages.push(Box::new(PageData([0; idx(PAGE_SIZE)])));
            let slot = u32::try_from(self.pages.len()).ok()?;
            *entry = (*entry & 3) | (slot << 2);
            self.mirror(page);
            slot
        } else {
            slot
        };
        self.pages.get_mut(idx(slot - 1)).map(|p| &mut p.0)
    }

    /// Set the access of the `count` pages starting with the page holding `addr`
    /// (clamped to the address space). Contents are kept.
    pub fn set_access(&mut self, addr: u32, count: u32, access: Access) {
        let first = page_of(addr);
        let end = first.saturating_add(idx(count)).min(PAGE_COUNT);
        for e in self.table.get_mut(first..end).into_iter().flatten() {
            *e = (*e & !3) | access.bits();
        }
        for page in first..end {
            self.mirror(page);
        }
    }

    /// Set the access of every page overlapping `[addr, addr + len)`.
    pub fn set_range_access(&mut self, addr: u32, len: u32, access: Access) {
        if len == 0 {
            return;
        }
        let last = u64::from(addr) + u64::from(len) - 1;
        let first_page = u64::from(addr >> PAGE_BITS);
        let last_page = (last >> PAGE_BITS).min((1u64 << (32 - PAGE_BITS)) - 1);
        let count = u32::try_from(last_page - first_page + 1).unwrap_or(u32::MAX);
        self.set_access(addr, count, access);
    }

    /// Whether every address of `[addr, addr + len)` (mod 2^32) is readable.
    pub fn is_readable(&self, addr: u32, len: u32) -> bool {
        self.check(addr, len, 1).is_ok()
    }

    /// Whether every address of `[addr, addr + len)` (mod 2^32) is writable.
    pub fn is_writable(&self, addr: u32, len: u32) -> bool {
        self.check(addr, len, 2).is_ok()
    }

    /// The GP exit for an access of `len` octets at `addr` needing at least `need`
    /// (1 read, 2 write): the lowest address of `{addr + i mod 2^32}` that lacks it.
    fn check(&self, addr: u32, len: u32, need: u32) -> Result<(), MemoryError> {
        let mut lowest: Option<u32> = None;
        let mut done: u64 = 0;
        let mut a = addr;
        while done < u64::from(len) {
            let in_page = u64::from(PAGE_SIZE - (a & (PAGE_SIZE - 1)));
            let chunk = in_page.min(u64::from(len) - done);
            if self.entry(page_of(a)) & 3 < need {
                lowest = Some(lowest.map_or(a, |l| l.min(a)));
            }
            done += chunk;
            // The chunk ends at a page boundary or at the end; wrapping past 2^32
            // continues at 0, which is why "lowest" is a min, not the first hit.
            a = a.wrapping_add(u32::try_from(chunk).unwrap_or(PAGE_SIZE));
        }
        match lowest {
            Some(l) => Err(MemoryError::at(l)),
            None => Ok(()),
        }
    }

    /// Read `N` octets at `addr` with the GP access rules.
    #[inline(always)]
    pub fn load<const N: usize>(&self, addr: u32) -> Result<[u8; N], MemoryError> {
        let off = offset_in_page(addr);
        let entry = self.entry(page_of(addr));
        if off + N <= idx(PAGE_SIZE) && entry & 3 != 0 {
            let mut out = [0u8; N];
            if let Some(src) = self.page_data(entry).and_then(|p| p.get(off..off + N)) {
                out.copy_from_slice(src);
            }
            return Ok(out);
        }
        self.load_slow(addr)
    }

    #[cold]
    fn load_slow<const N: usize>(&self, addr: u32) -> Result<[u8; N], MemoryError> {
        self.check(addr, crate::word::to_u32(N), 1)?;
        let mut out = [0u8; N];
        self.peek(addr, &mut out);
        Ok(out)
    }

    /// Write `data` at `addr` with the GP access rules; nothing is written on error.
    #[inline(always)]
    pub fn store<const N: usize>(&mut self, addr: u32, data: [u8; N]) -> Result<(), MemoryError> {
        let off = offset_in_page(addr);
        let page = page_of(addr);
        if off + N <= idx(PAGE_SIZE) && self.entry(page) & 3 == 2 {
            if let Some(dst) = self
                .page_data_mut(page)
                .and_then(|p| p.get_mut(off..off + N))
            {
                dst.copy_from_slice(&data);
            }
            return Ok(());
        }
        self.store_slow(addr, &data)
    }

    #[cold]
    fn store_slow(&mut self, addr: u32, data: &[u8]) -> Result<(), MemoryError> {
        self.write(addr, data)
    }

    /// Read `buf.len()` octets at `addr` (mod 2^32) with the GP access rules, for hosts.
    pub fn read(&self, addr: u32, buf: &mut [u8]) -> Result<(), MemoryError> {
        self.check(addr, crate::word::to_u32(buf.len()), 1)?;
        self.peek(addr, buf);
        Ok(())
    }

    /// Write `data` at `addr` (mod 2^32) with the GP access rules; nothing is written
    /// on error.
    pub fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), MemoryError> {
        self.check(addr, crate::word::to_u32(data.len()), 2)?;
        self.poke(addr, data);
        Ok(())
    }

    /// Read regardless of access (for initialisation, inspection and tests);
    /// addresses wrap modulo 2^32 and unallocated pages read as zero.
    pub fn peek(&self, addr: u32, buf: &mut [u8]) {
        let mut a = addr;
        let mut rest = buf;
        while !rest.is_empty() {
            let off = offset_in_page(a);
            let n = (idx(PAGE_SIZE) - off).min(rest.len());
            let (head, tail) = rest.split_at_mut(n);
            match self
                .page_data(self.entry(page_of(a)))
                .and_then(|p| p.get(off..off + n))
            {
                Some(src) => head.copy_from_slice(src),
                None => head.fill(0),
            }
            rest = tail;
            a = a.wrapping_add(crate::word::to_u32(n));
        }
    }

    /// Write regardless of access (for initialisation and tests).
    pub fn poke(&mut self, addr: u32, data: &[u8]) {
        let mut a = addr;
        let mut rest = data;
        while !rest.is_empty() {
            let off = offset_in_page(a);
            let n = (idx(PAGE_SIZE) - off).min(rest.len());
            let (head, tail) = rest.split_at(n);
            if let Some(dst) = self
                .page_data_mut(page_of(a))
                .and_then(|p| p.get_mut(off..off + n))
            {
                dst.copy_from_slice(head);
            }
            rest = tail;
            a = a.wrapping_add(crate::word::to_u32(n));
        }
    }

    /// Zero the data of the `count` pages starting with the page holding `addr`.
    pub fn zero_pages(&mut self, addr: u32, count: u32) {
        let first = page_of(addr);
        let end = first.saturating_add(idx(count)).min(PAGE_COUNT);
        for page in first..end {
            let entry = self.entry(page);
            if entry >> 2 != 0 {
                if let Some(p) = self.page_data_mut(page) {
                    p.fill(0);
                }
            }
        }
    }

    /// The recompiler's page table (see `jit`); its address never changes, and the
    /// page addresses in it stay valid as long as this memory is not dropped (pages
    /// are only ever added).
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn jit_table(&mut self) -> *const u64 {
        self.jit.as_ptr()
    }

    /// The current `sbrk` heap top.
    pub fn heap_top(&self) -> u32 {
        self.heap_top
    }

    /// Set the `sbrk` heap top (standard initialisation puts it after the RW data).
    pub fn set_heap_top(&mut self, top: u32) {
        self.heap_top = top;
    }

    /// `sbrk` (GP A.x, opcode 101): extend the heap by `size` octets, making the new
    /// pages writable, and return the start of the new region (the old top); `size = 0`
    /// returns the current top. GP defines the result as the least `x ≥ h` whose
    /// `size`-octet range was not accessible and now is; when no such range exists
    /// (the heap would pass 2^32 or run into mapped pages) the result is 0 and memory
    /// is unchanged.
    pub fn sbrk(&mut self, size: u64) -> u64 {
        let old = self.heap_top;
        if size == 0 {
            return u64::from(old);
        }
        let Some(new_top) = u64::from(old).checked_add(size).filter(|t| *t <= 1 << 32) else {
            return 0;
        };
        // Pages wholly above the old top must be fresh (inaccessible); the page
        // holding the old top is already part of the heap.
        let first_new_page = (u64::from(old) + u64::from(PAGE_SIZE) - 1) >> PAGE_BITS;
        let end_page = (new_top + u64::from(PAGE_SIZE) - 1) >> PAGE_BITS;
        for page in first_new_page..end_page {
            if self.entry(usize::try_from(page).unwrap_or(usize::MAX)) & 3 != 0 {
                return 0;
            }
        }
        for page in first_new_page..end_page {
            let page = usize::try_from(page).unwrap_or(usize::MAX);
            if let Some(e) = self.table.get_mut(page) {
                *e = (*e & !3) | Access::Writable.bits();
            }
            self.mirror(page);
        }
        self.heap_top = u32::try_from(new_top).unwrap_or(u32::MAX);
        u64::from(old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_is_lowest_inaccessible_page() {
        let mut m = Memory::new();
        m.set_access(0x20000, 1, Access::Writable);
        assert_eq!(m.store(0x20ffe, [1u8; 4]), Err(MemoryError::Fault(0x21000)));
        assert_eq!(m.load::<2>(0x20fff), Err(MemoryError::Fault(0x21000)));
        // Nothing was written by the failed store.
        assert_eq!(m.load::<2>(0x20ffe), Ok([0, 0]));
        assert_eq!(m.load::<1>(0x1000), Err(MemoryError::Panic));
        m.set_access(0x20000, 1, Access::ReadOnly);
        assert_eq!(m.store(0x20000, [1u8]), Err(MemoryError::Fault(0x20000)));
    }

    #[test]
    fn wrapping_access_reports_the_lowest_address() {
        let mut m = Memory::new();
        m.set_access(0xffff_f000, 1, Access::Writable);
        // Bytes 0xffffffff and 0..=2: address 0 is the lowest inaccessible → panic.
        assert_eq!(m.load::<4>(0xffff_ffff), Err(MemoryError::Panic));
    }

    #[test]
    fn cross_page_round_trip() {
        let mut m = Memory::new();
        m.set_access(0x30000, 2, Access::Writable);
        m.store(0x30ffc, 0x0102_0304_0506_0708u64.to_le_bytes())
            .unwrap();
        assert_eq!(
            u64::from_le_bytes(m.load(0x30ffc).unwrap()),
            0x0102_0304_0506_0708
        );
    }

    #[test]
    fn sbrk_grows_and_refuses() {
        let mut m = Memory::new();
        m.set_heap_top(0x40000);
        assert_eq!(m.sbrk(0), 0x40000);
        assert_eq!(m.sbrk(10), 0x40000);
        assert_eq!(m.heap_top(), 0x4000a);
        assert!(m.is_writable(0x40000, 4096));
        assert!(!m.is_readable(0x41000, 1));
        assert_eq!(m.sbrk(5000), 0x4000a);
        assert!(m.is_writable(0x41000, 4096));
        m.set_access(0x43000, 1, Access::ReadOnly);
        assert_eq!(m.sbrk(0x10000), 0, "runs into a mapped page");
        assert_eq!(m.sbrk(u64::MAX), 0);
        assert_eq!(m.heap_top(), 0x4000a + 5000);
    }
}
