//! The leaf marker of a sample: `[idle]` for a blocked thread, `[idle] NAME` when the call it
//! is blocked in was named, `[native] NAME` for CPU time inside a builtin (`--native`).
//! The sampler names calls as interned-string addresses ([`RawCall`]); this turns them into
//! text once per distinct call and keeps the frame ids.

use flamegraph::hash::FastMap;
use flamegraph::{Frame, FrameId, FrameTable, IDLE};
use sampler::wait::SPECIAL_METHODS;
use sampler::RawCall;

use crate::names::Symbolizer;

/// What a `with` statement calls, by the tag [`RawCall::callee`] carries for it.
const SPECIAL_NAMES: [&str; 4] = ["__enter__", "__exit__", "__aenter__", "__aexit__"];

/// The leaf markers of one frame table.
pub struct LeafMarkers {
    idle: FrameId,
    named: FastMap<(bool, RawCall), FrameId>,
}

impl LeafMarkers {
    /// Markers interned into `frames` (the bare `[idle]` at once, named ones when seen).
    pub fn new(frames: &mut FrameTable) -> LeafMarkers {
        LeafMarkers {
            idle: frames.intern(Frame::marker(IDLE)),
            named: FastMap::default(),
        }
    }

    /// The marker a sample's stack ends in, if any: an idle sample always has one (named
    /// when its call is), a running one only when its call was named (`--native`).
    pub fn leaf(
        &mut self,
        idle: bool,
        call: RawCall,
        symbolizer: &mut Symbolizer,
        frames: &mut FrameTable,
    ) -> Option<FrameId> {
        if call.is_none() {
            return idle.then_some(self.idle);
        }
        let id = *self.named.entry((idle, call)).or_insert_with(|| {
            let name = call_name(call, symbolizer);
            frames.intern(if idle {
                Frame::idle_in(&name)
            } else {
                Frame::native_in(&name)
            })
        });
        Some(id)
    }
}

impl Symbolizer {
    /// The text of a call the sampler named (`lock.acquire`), or `None` for
    /// [`RawCall::NONE`].
    pub fn call_name(&mut self, call: RawCall) -> Option<String> {
        (!call.is_none()).then(|| call_name(call, self))
    }
}

/// `receiver.callee` (`lock.acquire`, `time.sleep`) or the bare callee (`sorted`).
///
/// `call` must come from the sampler, whose handler fills it with addresses of interned
/// interpreter strings or special-method tags (and nothing else).
fn call_name(call: RawCall, symbolizer: &mut Symbolizer) -> String {
    let callee = if call.callee < SPECIAL_METHODS {
        let tag = call.callee - 1;
        SPECIAL_NAMES.get(tag).copied().unwrap_or("?").into()
    } else {
        symbolizer.text(call.callee)
    };
    if call.receiver == 0 {
        return callee.to_string();
    }
    format!("{}.{}", symbolizer.text(call.receiver), callee)
}
