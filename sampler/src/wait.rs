//! Naming the call a thread is in when its innermost Python frame is calling a builtin:
//! what `[idle] NAME` (a blocked thread) and `[native] NAME` (CPU time inside a builtin)
//! leaves show.

pub use crate::call::{RawCall, SPECIAL_METHODS};

// How the call is found: from the bytecode, not from the call itself.
//
// A builtin (a `#[pyfunction]`, a method of a native type) runs without a Python frame, and
// by the time it runs the interpreter has already taken the callable off the caller's value
// stack (`execute_call_vectorcall` moves it into a Rust local), so the object is out of
// reach. What stays is the caller's frame: its `lasti` points just past the instruction
// executing (`locations[lasti - 1]` is its line), and while a frame is the innermost one
// and that instruction is a `CALL`, `CALL_KW` or `CALL_FUNCTION_EX`, the thread is inside
// that call and the callee has no Python frame of its own: a builtin. (A Python callee
// would be linked above it as soon as its frame exists; the few instructions between the
// `CALL` dispatch and that link are the only time this names a Python callee.)
//
// The callee's *name* is read from the bytecode before the call: the instruction that
// pushed the callable (found by walking back over the stack effects of the instructions
// before it) is a `LOAD_GLOBAL sorted`, a `LOAD_ATTR acquire` (whose own operand came from
// a `LOAD_FAST lock`), a `LOAD_SPECIAL __enter__` (a `with` statement), ... and its operand
// names an entry of the code object's `co_names` or `co_varnames`: interned strings, which
// are immortal, so their addresses are identities the symbolizer resolves later.
//
// Why this is safe in the signal handler: it runs on the interrupted thread and reads only
// that thread's innermost frame (alive while the thread is stopped in the handler, as
// `walk` explains), its code object (kept alive by the frame) and a `const` thread-local
// of its own ([`Memo`]). The instruction array is never reallocated; specialisation
// rewrites units in place with atomic stores, and units are read here with atomic 16-bit
// loads and their opcode byte checked (`Instruction::try_from`) before use, so another
// thread specialising the same code can at worst make a name wrong, never make a read
// unsound. Every index is bounds-checked, nothing allocates, nothing locks, nothing can
// panic (operands are capped before `stack_effect_info` sees them).
//
// What it costs: most samples are not in a call, which one byte and a table in the same
// cache line as the `--native` flag tell ([`configure`]). In a call, inline cache entries
// hold arbitrary data, so instruction boundaries are only known by walking forward from
// the start of the code: the walk is capped at [`MAX_SCAN_UNITS`] code units, keeps the
// last [`WINDOW`] instructions in a fixed array on the stack, and runs once per call site
// and thread ([`Memo`]): a thread blocked or busy in the same call is named from the memo.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};

use rustpython_vm::builtins::PyCode;
use rustpython_vm::bytecode::{CodeUnits, Instruction};
use rustpython_vm::frame::InterpreterFrame;

use crate::raw::ThreadState;

/// The furthest into a code object (in code units) a call is looked for; a call further in
/// is not named (module-level code of a very long script).
pub const MAX_SCAN_UNITS: usize = 16_384;

/// Instructions before the call that the producer of the callable is looked for in.
const WINDOW: usize = 48;

/// Operands are capped here (3 bytes of `EXTENDED_ARG`): no real operand is larger, and
/// the cap keeps `stack_effect_info`'s arithmetic far from overflowing.
const MAX_OPERAND: u32 = 1 << 24;

/// The last call named on a thread, by what identifies the call site: the code object's
/// address, its qualname's address and the instruction's offset. A thread blocked in a
/// call is sampled there again and again (each time it wakes and waits anew, and in CPU
/// mode each time a builtin is still running), so the walk runs once per site, not once
/// per sample.
#[derive(Clone, Copy)]
struct Memo {
    code: usize,
    qualname: usize,
    at: usize,
    call: RawCall,
}

thread_local! {
    /// This thread's [`Memo`]: a `const` thread-local without destructor (no lazy
    /// initialisation, nothing registered at thread exit), so the handler may touch it; only
    /// this thread's handler does, and the handler does not nest (SIGPROF is blocked while
    /// it runs). A code object freed and another allocated at its address, with the same
    /// qualname and a call at the same offset, would reuse a stale name: the same function
    /// compiled again, in practice.
    static LAST: Cell<Memo> = const {
        Cell::new(Memo {
            code: 0,
            qualname: 0,
            at: usize::MAX,
            call: RawCall::NONE,
        })
    };
}

/// One decoded instruction: its base (deoptimised) opcode and its full operand.
#[derive(Clone, Copy)]
struct Op {
    op: Instruction,
    arg: u32,
}

const EMPTY: Op = Op {
    op: Instruction::Nop,
    arg: 0,
};

/// What the handler reads on every sample, in one cache line: at 99 Hz everything is cold
/// by the next sample, and each line (or page of code) touched costs a miss.
#[repr(C, align(64))]
struct Settings {
    /// Whether running samples name the builtin they are in too (`--native`); idle
    /// samples always name theirs.
    native: AtomicBool,
    /// Bit `op` is set when opcode byte `op` is a call (`CALL` and its specialisations,
    /// `CALL_KW`, `CALL_FUNCTION_EX`, and their instrumented forms): the one test most
    /// samples need, without calling into the bytecode crate's (cold) code.
    calls: [AtomicU64; 4],
}

static SETTINGS: Settings = Settings {
    native: AtomicBool::new(false),
    calls: [const { AtomicU64::new(0) }; 4],
};

/// Prepares call naming for a session (outside the handler): fills the table of call
/// opcodes, and has running samples name the builtin they are in (`[native] NAME`) when
/// `native` is set, from the next sample on. The session calls it at start.
pub fn configure(native: bool) {
    prepare();
    SETTINGS.native.store(native, Ordering::Relaxed);
}

/// Fills the table of call opcodes (idempotent; outside the handler). Until it has run,
/// no call is named; sessions and stack dumps run it before they signal.
pub(crate) fn prepare() {
    for byte in 0..=u8::MAX {
        if Instruction::try_from(byte).is_ok_and(is_call) {
            SETTINGS.calls[usize::from(byte >> 6)].fetch_or(1 << (byte & 63), Ordering::Relaxed);
        }
    }
}

/// True when running samples name the builtin they are in.
pub fn native() -> bool {
    SETTINGS.native.load(Ordering::Relaxed)
}

/// True when opcode byte `op` is a call (per the table [`configure`] filled).
#[inline]
fn is_call_byte(op: u8) -> bool {
    SETTINGS.calls[usize::from(op >> 6)].load(Ordering::Relaxed) >> (op & 63) & 1 == 1
}

/// The call a sample in `state` records: the innermost frame's builtin call for an idle
/// thread, and for a running one when [`configure`] asked for it.
///
/// # Safety
/// As for [`current_call`].
#[inline]
pub(crate) unsafe fn sample_call(state: ThreadState) -> RawCall {
    let wanted = match state {
        ThreadState::Idle => true,
        ThreadState::Running => native(),
        // Waiting asyncio tasks are recorded off the handler, never here.
        ThreadState::Unknown | ThreadState::Awaiting => false,
    };
    if !wanted {
        return RawCall::NONE;
    }
    // SAFETY: forwarded from the caller.
    unsafe { current_call() }
}

/// The builtin call the calling thread's innermost Python frame is in, or
/// [`RawCall::NONE`].
///
/// # Safety
/// Must run on the thread whose frame is read, while it is stopped (in its signal handler)
/// or in its own code, as for [`crate::walk_current_stack`].
#[inline]
pub unsafe fn current_call() -> RawCall {
    let frame = rustpython_vm::vm::thread::get_current_frame();
    if frame.is_null() {
        return RawCall::NONE;
    }
    // SAFETY: per this function's contract the frame belongs to the calling thread, which
    // is stopped; its published innermost frame is alive (see `walk`).
    call_in(unsafe { &*frame })
}

/// The builtin call `frame` is in, when its current instruction is a call.
fn call_in(frame: &InterpreterFrame) -> RawCall {
    let code: &PyCode = frame.code();
    let lasti = frame.get_lasti() as usize;
    let Some(at) = lasti.checked_sub(1) else {
        return RawCall::NONE;
    };
    let units = &code.instructions;
    if at >= units.len() || at > MAX_SCAN_UNITS {
        return RawCall::NONE;
    }
    // Most samples are not in a call: say so from one byte, before walking the code. (If
    // `at` is not an instruction boundary, its unit is cache data that only rarely reads
    // as a call, and the walk below then finds that out.)
    // SAFETY: `at` is within the instruction array (checked above), which lives as long as
    // the code object (kept alive by the frame) and is never reallocated; a unit is two
    // bytes, 2-aligned (asserted by the bytecode crate), read as one atomic 16-bit load as
    // the interpreter reads it, so a concurrent in-place specialisation is no data race.
    let unit = unsafe { &*units.units_ptr().add(at).cast::<AtomicU16>() }.load(Ordering::Relaxed);
    if !is_call_byte(unit.to_ne_bytes()[0]) {
        return RawCall::NONE;
    }
    let site = Memo {
        code: code as *const PyCode as usize,
        qualname: code.qualname as *const _ as usize,
        at,
        call: RawCall::NONE,
    };
    let last = LAST.with(Cell::get);
    if (last.code, last.qualname, last.at) == (site.code, site.qualname, site.at) {
        return last.call;
    }
    let call = name_call(code, at);
    LAST.with(|memo| memo.set(Memo { call, ..site }));
    call
}

/// Walks `code` up to the call at `at` and names its callee (and receiver).
fn name_call(code: &PyCode, at: usize) -> RawCall {
    let units = &code.instructions;
    let mut window = [EMPTY; WINDOW];
    let mut count = 0usize;
    let mut index = 0usize;
    let mut extended = 0u32;
    while index < at {
        let Some((op, byte)) = unit_at(units, index) else {
            return RawCall::NONE;
        };
        let arg = (extended << 8) | byte;
        if arg >= MAX_OPERAND {
            return RawCall::NONE;
        }
        if matches!(op.deoptimize(), Instruction::ExtendedArg) {
            extended = arg;
            index += 1;
            continue;
        }
        extended = 0;
        window[count % WINDOW] = Op {
            op: op.deoptimize(),
            arg,
        };
        count += 1;
        index += 1 + op.cache_entries();
    }
    if index != at {
        // `lasti` is not on an instruction boundary that this walk found.
        return RawCall::NONE;
    }
    let Some((op, byte)) = unit_at(units, at) else {
        return RawCall::NONE;
    };
    let arg = (extended << 8) | byte;
    if arg >= MAX_OPERAND {
        return RawCall::NONE;
    }
    // Depth of the callable below the top of the stack just before the call:
    // CALL n:             [callable, self_or_null, arg * n]
    // CALL_KW n:          [callable, self_or_null, arg * n, kwnames]
    // CALL_FUNCTION_EX:   [callable, self_or_null, args, kwargs_or_null]
    let depth = match op.deoptimize() {
        Instruction::Call { .. } => arg + 1,
        Instruction::CallKw { .. } => arg + 2,
        Instruction::CallFunctionEx => 3,
        _ => return RawCall::NONE,
    };
    let Some((callable, output)) = producer(&window, count, count, depth) else {
        return RawCall::NONE;
    };
    let op = window[callable % WINDOW];
    if output != 0 {
        // Only the first (bottom) output of an instruction is ever a callable.
        return RawCall::NONE;
    }
    let callee = match op.op {
        Instruction::LoadSpecial { .. } if (op.arg as usize) < SPECIAL_METHODS - 1 => {
            op.arg as usize + 1
        }
        Instruction::LoadAttr { .. } | Instruction::LoadSuperAttr { .. } => {
            name_of(code, op, 0).unwrap_or(0)
        }
        _ => return RawCall::new(0, name_of(code, op, 0).unwrap_or(0)),
    };
    // A method or special method: name its receiver too (`lock` of `lock.acquire`), from
    // whatever pushed the operand the attribute was looked up on.
    let receiver = match op.op {
        Instruction::LoadSuperAttr { .. } => 0,
        _ => producer(&window, count, callable, 0)
            .and_then(|(k, output)| name_of(code, window[k % WINDOW], output))
            .unwrap_or(0),
    };
    RawCall::new(receiver, callee)
}

/// The instruction and operand byte of code unit `index` (in bounds), read with one atomic
/// 16-bit load; `None` when its first byte is no opcode. A unit that is not an instruction
/// (inline cache data: `lasti - 1` points at one for the few instructions between one
/// instruction's end and the next one's start) can hold any bytes, so the opcode is checked
/// (`Instruction::try_from`), never transmuted as `CodeUnits::read_unit` does.
fn unit_at(units: &CodeUnits, index: usize) -> Option<(Instruction, u32)> {
    let [op, arg] = units.read_cache_u16(index).to_ne_bytes();
    Instruction::try_from(op)
        .ok()
        .map(|op| (op, u32::from(arg)))
}

/// True for the instructions that call: `CALL` (and its specialisations), `CALL_KW`,
/// `CALL_FUNCTION_EX`.
fn is_call(op: Instruction) -> bool {
    matches!(
        op.deoptimize(),
        Instruction::Call { .. } | Instruction::CallKw { .. } | Instruction::CallFunctionEx
    )
}

/// Which instruction before window entry `before` pushed the value `depth` places below
/// the top of the stack as it was just before that entry (0 = the top): its number in the
/// window and which of its outputs (0 = the first pushed) the value is. `None` when the
/// walk leaves the window or meets a jump (the straight-line walk only holds between
/// jumps; a branch inside a call's arguments hides the callee).
fn producer(
    window: &[Op; WINDOW],
    count: usize,
    before: usize,
    mut depth: u32,
) -> Option<(usize, u32)> {
    let oldest = count.saturating_sub(WINDOW);
    let mut k = before;
    while k > oldest {
        k -= 1;
        let op = window[k % WINDOW];
        if op.op.has_jump() || op.op.is_no_fallthrough() {
            return None;
        }
        let effect = op.op.stack_effect_info(op.arg);
        let (pushed, popped) = (effect.pushed(), effect.popped());
        if pushed > 64 || popped > MAX_OPERAND {
            return None;
        }
        if depth < pushed && !leaves_inputs_in_place(op.op) {
            let output = pushed - 1 - depth;
            // COPY and SWAP move values without making them: follow the value to where it
            // was before (a `with` statement's `COPY 1; LOAD_SPECIAL; SWAP 2; SWAP 3`).
            depth = match op.op {
                // COPY n: [x_n .. x_1] -> [x_n .. x_1, x_n]
                Instruction::Copy { .. } if op.arg >= 1 && output == op.arg => op.arg - 1,
                Instruction::Copy { .. } if op.arg >= 1 => op.arg - 1 - output,
                // SWAP n: [x_n .. x_1] -> [x_1 .. x_n], the two ends exchanged
                Instruction::Swap { .. } if op.arg >= 2 && output == 0 => 0,
                Instruction::Swap { .. } if op.arg >= 2 && output == op.arg - 1 => op.arg - 1,
                Instruction::Swap { .. } if op.arg >= 2 => op.arg - 1 - output,
                _ => return Some((k, output)),
            };
            continue;
        }
        // Below what it pushed (or passed through): as deep as before it, plus its inputs.
        depth = (depth + popped).checked_sub(pushed)?;
    }
    None
}

/// True for instructions whose outputs are their deeper inputs left where they were: they
/// add to a collection further down (`LIST_APPEND`, `DICT_MERGE`, ...), and the bytecode
/// metadata lists everything down to it as both popped and pushed (`DICT_MERGE`, which
/// builds `f(x, **k)`'s keyword arguments, reaches down to the callable itself, for its
/// error messages). A value they "push" was there before them.
fn leaves_inputs_in_place(op: Instruction) -> bool {
    matches!(
        op,
        Instruction::DictMerge { .. }
            | Instruction::DictUpdate { .. }
            | Instruction::ListAppend { .. }
            | Instruction::ListExtend { .. }
            | Instruction::MapAdd { .. }
            | Instruction::SetAdd { .. }
            | Instruction::SetUpdate { .. }
    )
}

/// The interned name an instruction loads by (a global, an attribute, a local), as an
/// address; `output` picks the variable of a two-variable load.
fn name_of(code: &PyCode, op: Op, output: u32) -> Option<usize> {
    let arg = op.arg as usize;
    let name = match op.op {
        Instruction::LoadGlobal { .. } | Instruction::LoadAttr { .. } => code.names.get(arg >> 1),
        Instruction::LoadSuperAttr { .. } => code.names.get(arg >> 2),
        Instruction::LoadName { .. } | Instruction::LoadFromDictOrGlobals { .. } => {
            code.names.get(arg)
        }
        Instruction::LoadFast { .. }
        | Instruction::LoadFastBorrow { .. }
        | Instruction::LoadFastCheck { .. }
        | Instruction::LoadFastAndClear { .. }
        | Instruction::LoadDeref { .. }
        | Instruction::LoadFromDictOrDeref { .. } => localsplus_name(code, arg),
        Instruction::LoadFastLoadFast { .. } | Instruction::LoadFastBorrowLoadFastBorrow { .. } => {
            localsplus_name(code, if output == 0 { arg >> 4 } else { arg & 15 })
        }
        _ => None,
    }?;
    Some(*name as *const _ as usize)
}

/// The name of local slot `index`: CPython's `co_localsplusnames`, which RustPython lays
/// out as the variables, then the cell variables that are not also variables, then the
/// free variables.
fn localsplus_name(
    code: &PyCode,
    index: usize,
) -> Option<&&'static rustpython_vm::builtins::PyStrInterned> {
    if let Some(name) = code.varnames.get(index) {
        return Some(name);
    }
    let mut rest = index - code.varnames.len();
    for cell in code.cellvars.iter() {
        if code.varnames.iter().any(|var| core::ptr::eq(*var, *cell)) {
            continue;
        }
        if rest == 0 {
            return Some(cell);
        }
        rest -= 1;
    }
    code.freevars.get(rest)
}

impl RawCall {
    fn new(receiver: usize, callee: usize) -> RawCall {
        if callee == 0 {
            return RawCall::NONE;
        }
        RawCall { receiver, callee }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustpython_vm::bytecode::Opcode;

    fn window(ops: &[(Opcode, u32)]) -> [Op; WINDOW] {
        let mut window = [EMPTY; WINDOW];
        for (k, &(op, arg)) in ops.iter().enumerate() {
            window[k] = Op { op: op.into(), arg };
        }
        window
    }

    #[test]
    fn a_method_call_finds_its_attribute_and_receiver() {
        // lock.acquire(True): LOAD_FAST lock; LOAD_ATTR (method) acquire; LOAD_CONST; CALL 1
        let ops = [
            (Opcode::LoadFast, 0),
            (Opcode::LoadAttr, 1),
            (Opcode::LoadConst, 0),
        ];
        let w = window(&ops);
        assert_eq!(producer(&w, 3, 3, 2), Some((1, 0)));
        assert_eq!(producer(&w, 3, 1, 0), Some((0, 0)));
    }

    #[test]
    fn a_with_statement_is_followed_through_copy_and_swap() {
        // with lock: LOAD_GLOBAL lock; COPY 1; LOAD_SPECIAL __exit__; SWAP 2; SWAP 3;
        // LOAD_SPECIAL __enter__; CALL 0
        let ops = [
            (Opcode::LoadGlobal, 0),
            (Opcode::Copy, 1),
            (Opcode::LoadSpecial, 1),
            (Opcode::Swap, 2),
            (Opcode::Swap, 3),
            (Opcode::LoadSpecial, 0),
        ];
        let w = window(&ops);
        assert_eq!(
            producer(&w, 6, 6, 1),
            Some((5, 0)),
            "the callable: __enter__"
        );
        assert_eq!(producer(&w, 6, 5, 0), Some((0, 0)), "its receiver: lock");
    }

    #[test]
    fn a_call_with_keyword_unpacking_finds_its_callable() {
        // f(*a, **k): LOAD_FAST f; PUSH_NULL; LOAD_FAST a; BUILD_MAP 0; LOAD_FAST k;
        // DICT_MERGE 1; CALL_FUNCTION_EX (the callable 3 below the top)
        let ops = [
            (Opcode::LoadFastBorrow, 0),
            (Opcode::PushNull, 0),
            (Opcode::LoadFastBorrow, 1),
            (Opcode::BuildMap, 0),
            (Opcode::LoadFastBorrow, 2),
            (Opcode::DictMerge, 1),
        ];
        let w = window(&ops);
        assert_eq!(producer(&w, 6, 6, 3), Some((0, 0)));
        // f(x, *a): BUILD_LIST 1 (x); LIST_EXTEND 1 (a); CALL_INTRINSIC_1 (to a tuple)
        let ops = [
            (Opcode::LoadGlobal, 1),
            (Opcode::LoadFastBorrow, 0),
            (Opcode::BuildList, 1),
            (Opcode::LoadFastBorrow, 1),
            (Opcode::ListExtend, 1),
            (Opcode::CallIntrinsic1, 6),
            (Opcode::PushNull, 0),
        ];
        let w = window(&ops);
        assert_eq!(producer(&w, 7, 7, 3), Some((0, 0)));
    }

    #[test]
    fn a_jump_between_hides_the_callee() {
        // f(a if c else b): the branch makes the straight-line walk unsound.
        let ops = [
            (Opcode::LoadGlobal, 1),
            (Opcode::LoadFast, 0),
            (Opcode::PopJumpIfFalse, 3),
            (Opcode::LoadFast, 1),
            (Opcode::JumpForward, 1),
            (Opcode::LoadFast, 2),
        ];
        let w = window(&ops);
        assert_eq!(producer(&w, 6, 6, 1), None);
    }

    #[test]
    fn the_walk_stops_at_the_window() {
        let w = window(&[(Opcode::LoadFast, 0); WINDOW]);
        assert_eq!(producer(&w, WINDOW + 10, WINDOW + 10, WINDOW as u32), None);
    }
}
