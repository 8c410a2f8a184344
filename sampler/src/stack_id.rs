//! A thread's stack identity: one number that changes whenever the stack a sample would
//! record changes, computed by the handler on the thread itself and re-read by the ticker
//! from its own thread, so that the ticker can tell "this blocked thread still waits where
//! its last sample found it" from the interpreter's state instead of from CPU time.
//!
//! # What the identity covers
//! For each frame, innermost first, up to the session's depth limit: the frame's address, its
//! code object's address and its instruction index (`lasti`), then whether frames were left
//! over. Those are what a sample is made of (names come from the code, lines from `lasti`),
//! so two stacks with the same identity symbolize the same, barring a 64-bit hash collision.
//! The frame address alone is not enough: RustPython bump-allocates frames, so `a()` then
//! `b()` calling the same helper put its frame at the same address; the code and `lasti` of
//! every frame tell them apart.
//!
//! # Reading another thread's frames
//! A frame may be popped and its memory reused or unmapped at any moment, so the ticker never
//! dereferences one: it copies each frame's first bytes with `process_vm_readv` on its own
//! process, which fails (`EFAULT`) instead of faulting on unmapped memory. A read that races
//! with the thread gives a different identity, never a crash, and a different identity only
//! costs a signal: the handler then takes a real sample. The top frame comes from RustPython's
//! `ThreadSlot::top_iframe`, which it publishes for cross-thread readers on every frame push
//! and pop.
//!
//! The field offsets follow from `InterpreterFrame` being `#[repr(C)]`; the handler checks
//! them against its own live frames ([`check_layout`]) and the ticker trusts remote reads only
//! once they matched (otherwise it signals, as if every stack had changed).

use std::sync::atomic::{AtomicU8, Ordering};

use rustpython_vm::frame::InterpreterFrame;

/// Identity of "no sample yet" (never produced by [`StackIdBuilder::finish`] in practice).
pub(crate) const NO_STACK_ID: u64 = 0;

/// Accumulates a stack identity, innermost frame first.
pub(crate) struct StackIdBuilder(u64);

impl StackIdBuilder {
    pub(crate) fn new() -> StackIdBuilder {
        StackIdBuilder(0x9e37_79b9_7f4a_7c15)
    }

    /// Adds one frame: its address, its code object's address and its `lasti`.
    #[inline]
    pub(crate) fn add(&mut self, frame: usize, code: usize, lasti: u32) {
        let word = (frame as u64) ^ (code as u64).rotate_left(21) ^ (u64::from(lasti) << 40);
        self.0 = (self.0.rotate_left(23) ^ word).wrapping_mul(0xff51_afd7_ed55_8ccd);
    }

    /// The identity; `truncated` says frames were left beyond the depth limit.
    #[inline]
    pub(crate) fn finish(self, truncated: bool) -> u64 {
        let mut z = self.0 ^ u64::from(truncated);
        z = (z ^ (z >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        z ^= z >> 33;
        z | 1 // never NO_STACK_ID
    }
}

/// Where the fields the identity needs sit in an `InterpreterFrame` (`#[repr(C)]`).
#[derive(Clone, Copy)]
struct FrameLayout {
    /// `code: *const Py<PyCode>`, the first field.
    code: usize,
    /// `lasti: PyAtomic<u32>`.
    lasti: usize,
    /// `previous: PyAtomic<usize>`, the field after `generator` (not public, so placed from
    /// `generator`'s offset and size under `repr(C)`'s rules).
    previous: usize,
    /// Bytes to copy to cover the three.
    len: usize,
}

fn size_of_pointee<T>(_: *const T) -> usize {
    std::mem::size_of::<T>()
}

fn layout() -> FrameLayout {
    let uninit = std::mem::MaybeUninit::<InterpreterFrame>::uninit();
    // SAFETY: addr_of! on a field of uninitialised memory only computes an address.
    let generator_size =
        size_of_pointee(unsafe { std::ptr::addr_of!((*uninit.as_ptr()).generator) });
    let after_generator = std::mem::offset_of!(InterpreterFrame, generator) + generator_size;
    let align = std::mem::align_of::<usize>();
    let previous = after_generator.div_ceil(align) * align;
    let lasti = std::mem::offset_of!(InterpreterFrame, lasti);
    FrameLayout {
        code: 0,
        lasti,
        previous,
        len: (previous + 8).max(lasti + 4),
    }
}

const UNCHECKED: u8 = 0;
const MATCHES: u8 = 1;
const DIFFERS: u8 = 2;
/// Whether [`layout`] matched a live frame: remote reads are trusted only after it did.
static LAYOUT: AtomicU8 = AtomicU8::new(UNCHECKED);

/// Checks the computed field offsets against a live frame of the calling thread (the
/// handler's innermost frame, until the first check). Async-signal-safe: reads only.
#[inline]
pub(crate) fn check_layout(frame: &InterpreterFrame) {
    if LAYOUT.load(Ordering::Relaxed) != UNCHECKED {
        return;
    }
    let at = layout();
    if at.len > std::mem::size_of::<InterpreterFrame>() {
        LAYOUT.store(DIFFERS, Ordering::Relaxed);
        return;
    }
    let base = frame as *const InterpreterFrame as *const u8;
    // SAFETY: the frame is alive (the caller's own thread's frame), and the offsets lie
    // within it (`len`, checked above, is at most the struct's size).
    let (code, lasti, previous) = unsafe {
        (
            base.add(at.code).cast::<usize>().read_unaligned(),
            base.add(at.lasti).cast::<u32>().read_unaligned(),
            base.add(at.previous).cast::<usize>().read_unaligned(),
        )
    };
    let same = code == frame.code() as *const _ as usize
        && lasti == frame.get_lasti()
        && previous == frame.previous() as usize;
    LAYOUT.store(if same { MATCHES } else { DIFFERS }, Ordering::Relaxed);
}

/// Reads the identity of the stack whose innermost frame is at `top` (a frame of another
/// thread of this process), as the handler would compute it with `max_depth`. `None` when
/// it cannot be known: the layout is unchecked or wrong, or a frame could not be read.
pub(crate) fn read_remote(top: usize, max_depth: usize) -> Option<u64> {
    if LAYOUT.load(Ordering::Relaxed) != MATCHES {
        return None;
    }
    let at = layout();
    let mut builder = StackIdBuilder::new();
    let mut buf = [0u8; 512];
    if at.len > buf.len() {
        return None;
    }
    let mut current = top;
    let mut depth = 0;
    while current != 0 {
        if depth == max_depth {
            return Some(builder.finish(true));
        }
        copy_own_memory(current, &mut buf[..at.len])?;
        let word = |offset: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&buf[offset..offset + 8]);
            usize::from_ne_bytes(bytes)
        };
        let mut lasti = [0u8; 4];
        lasti.copy_from_slice(&buf[at.lasti..at.lasti + 4]);
        builder.add(current, word(at.code), u32::from_ne_bytes(lasti));
        current = word(at.previous);
        depth += 1;
    }
    Some(builder.finish(false))
}

/// Copies `out.len()` bytes at `address` of this process into `out`, or `None` when they
/// are not all mapped (or the system refuses `process_vm_readv`).
fn copy_own_memory(address: usize, out: &mut [u8]) -> Option<()> {
    let local = libc::iovec {
        iov_base: out.as_mut_ptr().cast(),
        iov_len: out.len(),
    };
    let remote = libc::iovec {
        iov_base: address as *mut libc::c_void,
        iov_len: out.len(),
    };
    // SAFETY: process_vm_readv writes at most `out.len()` bytes into `out` and only reads
    // (through the kernel, which checks the mapping) at `address`; getpid has no
    // preconditions.
    let copied = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    (copied == out.len() as isize).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_differ_by_frame_code_lasti_and_truncation() {
        let id = |frames: &[(usize, usize, u32)], truncated| {
            let mut b = StackIdBuilder::new();
            for &(f, c, l) in frames {
                b.add(f, c, l);
            }
            b.finish(truncated)
        };
        let base = [(0x1000, 0x5000, 4), (0x2000, 0x6000, 8)];
        let same = id(&base, false);
        assert_eq!(same, id(&base, false));
        assert_ne!(same, id(&base, true));
        assert_ne!(same, id(&[(0x1000, 0x5000, 4), (0x2000, 0x7000, 8)], false));
        assert_ne!(same, id(&[(0x1000, 0x5000, 6), (0x2000, 0x6000, 8)], false));
        assert_ne!(same, id(&[(0x1000, 0x5000, 4)], false));
        assert_ne!(same, NO_STACK_ID);
    }

    #[test]
    fn unreadable_memory_is_none_not_a_fault() {
        let mut buf = [0u8; 16];
        assert!(copy_own_memory(8, &mut buf).is_none());
        let value = 0x1234_5678_u64;
        copy_own_memory(&value as *const u64 as usize, &mut buf[..8]).unwrap();
        assert_eq!(u64::from_ne_bytes(buf[..8].try_into().unwrap()), value);
    }
}
