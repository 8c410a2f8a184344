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
//! dereferences one: it copies the frames' first bytes with `process_vm_readv` on its own
//! process, which fails (`EFAULT`) instead of faulting on unmapped memory. A read that races
//! with the thread gives a different identity, never a crash, and a different identity only
//! costs a signal: the handler then takes a real sample. The top frame comes from RustPython's
//! `ThreadSlot::top_iframe`, which it publishes for cross-thread readers on every frame push
//! and pop.
//!
//! The field offsets follow from `InterpreterFrame` being `#[repr(C)]`; the handler checks
//! them against its own live frames ([`check_layout`]) and the ticker trusts remote reads only
//! once they matched (otherwise it signals, as if every stack had changed).
//!
//! A system call per frame would cost the ticker about 2 us per frame each time a blocked
//! thread with a deep stack wakes and blocks again (three times the signal it saves, at depth
//! 45). So the handler also leaves the addresses of the frames it walked in the thread's
//! [`FrameTrail`], and the ticker copies all of them with one `process_vm_readv` (as one
//! range when they lie together, as frames on RustPython's data stack do, else one piece per
//! frame), checking that each frame still links to the next one recorded; frames past the
//! trail's [`TRAIL_FRAMES`] are read one call each. A blocked thread whose top frame is not
//! the one recorded has moved, and costs no read at all.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

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

/// Frames a [`FrameTrail`] records: the innermost ones.
pub(crate) const TRAIL_FRAMES: usize = 64;

/// The addresses of the frames the handler's last walk saw on one thread, innermost first
/// (the first [`TRAIL_FRAMES`]): where the ticker reads them from. Written only by that
/// thread's handler; created outside it, when the thread is first armed.
pub(crate) struct FrameTrail {
    addresses: [AtomicUsize; TRAIL_FRAMES],
    len: AtomicUsize,
}

impl FrameTrail {
    pub(crate) fn new() -> FrameTrail {
        FrameTrail {
            addresses: [const { AtomicUsize::new(0) }; TRAIL_FRAMES],
            len: AtomicUsize::new(0),
        }
    }

    /// Records the frame at position `index` of a walk (async-signal-safe: one store).
    #[inline]
    pub(crate) fn record(&self, index: usize, address: usize) {
        if let Some(slot) = self.addresses.get(index) {
            slot.store(address, Ordering::Relaxed);
        }
    }

    /// Ends a walk of `frames` frames.
    #[inline]
    pub(crate) fn finish(&self, frames: usize) {
        self.len.store(frames.min(TRAIL_FRAMES), Ordering::Release);
    }
}

/// Bytes one frame's copy takes in [`read_remote`]'s buffer.
const FRAME_COPY: usize = 256;

/// Reads the identity of the stack whose innermost frame is at `top` (a frame of another
/// thread of this process), as the handler would compute it with `max_depth`, reading the
/// frames `trail` recorded in one system call. `None` when it cannot be known (the layout is
/// unchecked or wrong, a frame could not be read) or the stack is surely not the trail's.
pub(crate) fn read_remote(top: usize, trail: &FrameTrail, max_depth: usize) -> Option<u64> {
    if LAYOUT.load(Ordering::Relaxed) != MATCHES {
        return None;
    }
    let at = layout();
    if at.len > FRAME_COPY {
        return None;
    }
    let recorded = trail.len.load(Ordering::Acquire).min(max_depth);
    let mut addresses = [0usize; TRAIL_FRAMES];
    for (slot, address) in trail.addresses[..recorded].iter().zip(&mut addresses) {
        *address = slot.load(Ordering::Relaxed);
    }
    if recorded == 0 || addresses[0] != top {
        // The identity covers the top frame's address: another top frame (or one where the
        // last sample found none) is another stack, with nothing to read.
        return (recorded == 0 && top == 0).then(|| StackIdBuilder::new().finish(false));
    }
    let mut copies = [0u8; FRAME_COPY * TRAIL_FRAMES];
    copy_trail(&addresses[..recorded], at.len, &mut copies)?;
    let mut builder = StackIdBuilder::new();
    let mut previous = 0;
    for (index, &address) in addresses[..recorded].iter().enumerate() {
        if index > 0 && previous != address {
            return None; // The chain no longer runs through the recorded frames.
        }
        let copy = &copies[index * FRAME_COPY..][..at.len];
        let (code, lasti, next) = fields(copy, at);
        builder.add(address, code, lasti);
        previous = next;
    }
    walk_remote(previous, builder, recorded, max_depth, at)
}

/// Continues a stack identity from the frame at `current`, `depth` frames in, reading one
/// frame per system call.
fn walk_remote(
    mut current: usize,
    mut builder: StackIdBuilder,
    mut depth: usize,
    max_depth: usize,
    at: FrameLayout,
) -> Option<u64> {
    let mut buf = [0u8; FRAME_COPY];
    while current != 0 {
        if depth == max_depth {
            return Some(builder.finish(true));
        }
        copy_frames(&[current], at.len, &mut buf)?;
        let (code, lasti, previous) = fields(&buf[..at.len], at);
        builder.add(current, code, lasti);
        current = previous;
        depth += 1;
    }
    Some(builder.finish(false))
}

/// Bytes of memory the frames of a trail may span and still be copied as one range.
const SPAN_BYTES: usize = 32 * 1024;

/// Copies the first `len` bytes of each frame at `addresses` into consecutive
/// [`FRAME_COPY`]-byte slots of `out`. Frames RustPython allocates on its data stack lie
/// close together: then one range covering them all is copied (the kernel's cost grows
/// with the pieces it is asked for, not with bytes: 45 frames, one piece each, took about
/// 50 us); else one piece per frame.
fn copy_trail(addresses: &[usize], len: usize, out: &mut [u8]) -> Option<()> {
    let low = addresses.iter().copied().min()?;
    let high = addresses.iter().copied().max()?.checked_add(len)?;
    if high - low > SPAN_BYTES {
        return copy_frames(addresses, len, out);
    }
    let mut span = [0u8; SPAN_BYTES];
    copy_frames(&[low], high - low, &mut span)?;
    for (index, &address) in addresses.iter().enumerate() {
        let from = &span[address - low..][..len];
        out.get_mut(index * FRAME_COPY..)?
            .get_mut(..len)?
            .copy_from_slice(from);
    }
    Some(())
}

/// A frame copy's code address, `lasti` and previous frame's address.
fn fields(copy: &[u8], at: FrameLayout) -> (usize, u32, usize) {
    let word = |offset: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&copy[offset..offset + 8]);
        usize::from_ne_bytes(bytes)
    };
    let mut lasti = [0u8; 4];
    lasti.copy_from_slice(&copy[at.lasti..at.lasti + 4]);
    (word(at.code), u32::from_ne_bytes(lasti), word(at.previous))
}

/// Copies `len` bytes at each of `addresses` (of this process) into consecutive slots of
/// `out` ([`FRAME_COPY`] bytes apart, or one slot of `len` for a single address), in one
/// `process_vm_readv`; `None` unless all were copied (some not mapped, or the system
/// refuses the call).
fn copy_frames(addresses: &[usize], len: usize, out: &mut [u8]) -> Option<()> {
    let stride = if addresses.len() == 1 {
        len
    } else {
        FRAME_COPY
    };
    let mut remote = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; TRAIL_FRAMES];
    if addresses.len() > TRAIL_FRAMES || len > stride || out.len() < addresses.len() * stride {
        return None;
    }
    for (iov, &address) in remote.iter_mut().zip(addresses) {
        iov.iov_base = address as *mut libc::c_void;
        iov.iov_len = len;
    }
    // Local: a slot per frame, `len` bytes of it used (the kernel fills the local iovecs in
    // order, so each frame gets its own).
    let mut local = remote;
    for (index, iov) in local.iter_mut().enumerate().take(addresses.len()) {
        iov.iov_base = out[index * stride..].as_mut_ptr().cast();
    }
    let copied = addresses.len() * len;
    let n = addresses.len() as libc::c_ulong;
    // SAFETY: each local iovec points at `len` writable bytes of `out` (checked above to
    // hold a slot of `stride >= len` bytes per address); the remote ones are only read, by
    // the kernel, which checks
    // the mappings; getpid has no preconditions.
    let done =
        unsafe { libc::process_vm_readv(libc::getpid(), local.as_ptr(), n, remote.as_ptr(), n, 0) };
    (done == copied as isize).then_some(())
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
        let mut buf = [0u8; FRAME_COPY * 2];
        let (a, b) = (0x1234_5678_u64, 0x9abc_def0_u64);
        let at = |v: &u64| v as *const u64 as usize;
        assert!(copy_frames(&[8], 8, &mut buf).is_none());
        assert!(copy_frames(&[at(&a), 8], 8, &mut buf).is_none());
        copy_frames(&[at(&a), at(&b)], 8, &mut buf).unwrap();
        assert_eq!(u64::from_ne_bytes(buf[..8].try_into().unwrap()), a);
        let second = &buf[FRAME_COPY..FRAME_COPY + 8];
        assert_eq!(u64::from_ne_bytes(second.try_into().unwrap()), b);
        // Close together: one range; far apart: a piece each. Either way, slot by slot.
        let near = [a, b];
        let mut far = Box::new([0u64; SPAN_BYTES / 8 + 64]);
        (far[0], far[SPAN_BYTES / 8 + 63]) = (a, b);
        let (far_a, far_b) = (&far[0], &far[SPAN_BYTES / 8 + 63]);
        let mut buf = [0u8; FRAME_COPY * 2];
        for (x, y) in [(&near[0], &near[1]), (far_a, far_b)] {
            copy_trail(&[at(y), at(x)], 8, &mut buf).unwrap();
            assert_eq!(buf[..8], y.to_ne_bytes());
            assert_eq!(buf[FRAME_COPY..FRAME_COPY + 8], x.to_ne_bytes());
        }
        assert!(copy_trail(&[at(&a), 8], 8, &mut buf).is_none());
    }
}
