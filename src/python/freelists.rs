//! Works around RustPython 0.6.0 losing memory with every Python thread that ends.
//!
//! RustPython keeps per-thread free lists of dead objects for reuse (80 dicts, 100 ints,
//! ...). When a thread ends, the free lists' destructor frees each cached object's block
//! but not what its payload still owns: a dict keeps its hash index and entry storage
//! after it is cleared, an int its digits. A thread that built a few dicts of 200 entries
//! left about 36 KB behind; a thread-per-request server, that much per request.
//!
//! RustPython frees a cached object's old payload properly when it hands the object out
//! again. So, as a Python thread finishes ([`thread_ending`], called by the wrapper
//! `rpprof.py` puts around every thread's function), rpprof takes every dict and int the
//! thread's free lists hold, by making new ones: each takes a cached object, whose old
//! storage is freed, and carries a fresh, small payload. They are not dropped on the ending
//! thread (that would cache them there again) but left for the next Python thread that
//! starts ([`thread_starting`]), which drops them into its own free lists, where they are
//! reused. What is handed on is bounded ([`MAX_HANDED_ON`]); past it the ending thread
//! keeps its own, as before.

use std::sync::Mutex;

use rustpython_vm::{PyObjectRef, VirtualMachine};

/// Dicts a thread's free list holds at most (RustPython 0.6.0's `PyDict::MAX_FREELIST`).
const DICTS: usize = 80;
/// Ints a thread's free list holds at most (RustPython 0.6.0's `PyInt::MAX_FREELIST`).
const INTS: usize = 100;
/// Objects waiting for the next thread, at most: four threads' worth.
const MAX_HANDED_ON: usize = 4 * (DICTS + INTS);

/// Objects taken from ended threads' free lists, for the next thread that starts.
static HANDED_ON: Mutex<Vec<PyObjectRef>> = Mutex::new(Vec::new());

/// On a Python thread about to end: takes the dicts and ints its free lists cache (their
/// old storage is freed) and leaves them for the next thread.
pub fn thread_ending(vm: &VirtualMachine) {
    let mut taken: Vec<PyObjectRef> = Vec::with_capacity(DICTS + INTS);
    taken.extend((0..DICTS).map(|_| vm.ctx.new_dict().into()));
    // Not a small int (those are shared, never cached): each takes a cached int.
    taken.extend((0..INTS).map(|_| vm.ctx.new_int(1_000_000).into()));
    // `try_lock`: a lock held across a fork, or poisoned, only means not handing on.
    if let Ok(mut handed_on) = HANDED_ON.try_lock() {
        if handed_on.len() + taken.len() <= MAX_HANDED_ON {
            handed_on.append(&mut taken);
        }
    }
    // Past the bound: dropped here, back into this thread's free lists.
    drop(taken);
}

/// On a Python thread that starts: drops what ended threads handed on, into this thread's
/// free lists (where its own work reuses them) or, once they are full, freed.
pub fn thread_starting() {
    let objects = match HANDED_ON.try_lock() {
        Ok(mut handed_on) => std::mem::take(&mut *handed_on),
        Err(_) => return,
    };
    drop(objects);
}
