//! Reading the interrupted thread's Python stack from inside the signal handler.
//!
//! RustPython publishes each thread's innermost frame in a `const` thread-local
//! (`vm::thread::get_current_frame`, the pointer faulthandler walks); frames link outwards
//! through `InterpreterFrame::previous`. A frame is linked in only once it is complete and
//! unlinked before it is torn down, so a walk on the owning thread sees at worst a stack that
//! is one frame short, never a dangling frame.

use rustpython_vm::frame::InterpreterFrame;

use crate::raw::RawFrame;
use crate::stack_id::{FrameTrail, StackIdBuilder};

/// What a walk saw besides the frames it pushed.
#[derive(Clone, Copy, Debug)]
pub struct StackWalk {
    /// Frames were left over (`push` refused one).
    pub truncated: bool,
    /// The identity of the frames pushed ([`crate::stack_id`]).
    pub stack_id: u64,
}

/// Copies the calling thread's Python frames, innermost first, into `push` until it refuses
/// a frame (its depth limit) or the stack ends; records the addresses of the frames pushed
/// in `trail`, when given ([`crate::stack_id`]).
///
/// # Safety
/// Must run on the thread whose stack is read (in its signal handler, or in its own code):
/// the frames are only guaranteed alive while that thread is stopped where it is.
#[inline]
pub unsafe fn walk_current_stack(push: impl FnMut(RawFrame) -> bool) -> StackWalk {
    // SAFETY: forwarded from the caller.
    unsafe { walk_and_trail(push, None) }
}

/// [`walk_current_stack`], recording the frames' addresses in `trail` when given.
///
/// # Safety
/// As for [`walk_current_stack`].
#[inline]
pub(crate) unsafe fn walk_and_trail(
    mut push: impl FnMut(RawFrame) -> bool,
    trail: Option<&FrameTrail>,
) -> StackWalk {
    let mut depth = 0;
    let mut current = rustpython_vm::vm::thread::get_current_frame();
    let mut id = StackIdBuilder::new();
    if !current.is_null() {
        // SAFETY: as below.
        crate::stack_id::check_layout(unsafe { &*current });
    }
    while !current.is_null() {
        // SAFETY: per this function's contract the chain belongs to the calling thread, which
        // is stopped; every frame reachable from its published top frame is alive.
        let frame = unsafe { &*current };
        if !push(raw_frame(frame)) {
            if let Some(trail) = trail {
                trail.finish(depth);
            }
            return StackWalk {
                truncated: true,
                stack_id: id.finish(true),
            };
        }
        if let Some(trail) = trail {
            trail.record(depth, current as usize);
        }
        depth += 1;
        id.add(
            current as usize,
            frame.code() as *const _ as usize,
            frame.get_lasti(),
        );
        current = frame.previous();
    }
    if let Some(trail) = trail {
        trail.finish(depth);
    }
    StackWalk {
        truncated: false,
        stack_id: id.finish(false),
    }
}

/// What the symbolizer needs from one frame: interned names and the current line. Also
/// used off the handler, for suspended coroutine frames ([`crate::task`]).
#[inline]
pub fn raw_frame(frame: &InterpreterFrame) -> RawFrame {
    let code = frame.code();
    let first_line = code.first_line_number.map_or(0, |n| n.get() as u32);
    let lasti = frame.get_lasti() as usize;
    let line = if lasti == 0 {
        first_line
    } else {
        code.locations
            .get(lasti - 1)
            .map_or(first_line, |(start, _)| start.line.get() as u32)
    };
    RawFrame {
        qualname: code.qualname as *const _ as usize,
        filename: code.source_path() as *const _ as usize,
        line,
        first_line,
    }
}
