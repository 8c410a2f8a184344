//! C zlib's deflate behind a safe type, for `compat_zlib.rs`: [`Deflater`] owns one
//! compression stream and runs it the way CPython's `zlib` module does, so that the bytes
//! are CPython's.
//!
//! The library is C zlib built from `libz-sys`'s bundled source and linked statically (its
//! `static` feature: no system package). Its symbols (`deflate`, `deflateInit2_`, ...) are
//! unprefixed; RustPython's own zlib module uses zlib-rs through `libz-rs-sys`, which
//! exports C names only under its `export-symbols` feature, off in this build (its
//! functions are Rust-mangled), so the two do not clash in the link. Should a dependency
//! ever turn that feature on, the link fails loudly with duplicate symbols.
//!
//! What makes the bytes CPython's, beyond the library: zlib's output for level 0 (stored
//! blocks) depends on how much output room each `deflate` call has and how the input is cut
//! into calls. CPython 3.11 hands `deflate` its whole input (in pieces of at most
//! `UINT_MAX` bytes) and output room in blocks of growing size (32 KiB, 64 KiB, 256 KiB,
//! 1 MiB, ...: [`BLOCK_SIZES`]), starting afresh at every call of `compress` or `flush`;
//! [`Deflater::run`] does the same. Levels 1-9 give the same bytes whatever the cutting.
//!
//! zlib allocates through [`zalloc`]/[`zfree`], on Rust's global allocator, so that
//! `record --alloc` sees its memory as it saw zlib-rs's.

use std::alloc::Layout;
use std::ffi::{c_int, c_uint, c_void, CStr};

use libz_sys as z;

/// `deflate`'s flush modes and return codes, as zlib numbers them.
pub use libz_sys::{
    Z_BUF_ERROR, Z_DATA_ERROR, Z_FINISH, Z_MEM_ERROR, Z_NO_FLUSH, Z_OK, Z_STREAM_END,
    Z_STREAM_ERROR, Z_VERSION_ERROR,
};

/// Output room given to successive `deflate` calls within one call of `compress` or
/// `flush`: CPython 3.11's `_BlocksOutputBuffer` sizes; the last repeats.
const BLOCK_SIZES: [usize; 17] = {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    [
        32 * KIB,
        64 * KIB,
        256 * KIB,
        MIB,
        4 * MIB,
        8 * MIB,
        16 * MIB,
        16 * MIB,
        32 * MIB,
        32 * MIB,
        32 * MIB,
        32 * MIB,
        64 * MIB,
        64 * MIB,
        128 * MIB,
        128 * MIB,
        256 * MIB,
    ]
};

/// A zlib call that did not succeed: its return code and the stream's message, if any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("zlib returned {code}{}", .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
pub struct ZlibFailure {
    /// zlib's return code (`Z_STREAM_ERROR`, `Z_MEM_ERROR`, ...).
    pub code: c_int,
    /// `z_stream.msg` after the call, when zlib set one.
    pub message: Option<String>,
}

/// Parameters of `deflateInit2`, as Python passes them.
#[derive(Debug, Clone, Copy)]
pub struct DeflateParams {
    pub level: c_int,
    pub method: c_int,
    pub wbits: c_int,
    pub mem_level: c_int,
    pub strategy: c_int,
}

/// One deflate stream, initialised and not yet ended.
pub struct Deflater {
    /// Boxed: zlib's internal state points back at the `z_stream`, which must not move.
    stream: Box<z::z_stream>,
}

// SAFETY: the stream and the state it points to belong to this value alone (no other
// pointer to them is kept anywhere), and zlib keeps no thread-local or global state for a
// stream: it may be used from any thread, one at a time, which `&mut self` ensures.
unsafe impl Send for Deflater {}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater")
            .field("total_in", &self.stream.total_in)
            .field("total_out", &self.stream.total_out)
            .finish()
    }
}

impl Deflater {
    /// `deflateInit2` with `params`.
    pub fn new(params: DeflateParams) -> Result<Self, ZlibFailure> {
        let mut stream = Box::new(blank_stream());
        // SAFETY: `stream` is a valid, boxed (never moved) z_stream with our allocator; the
        // version is the library's own and the size is that of the struct libz-sys declares,
        // which zlib checks against its own.
        let code = unsafe {
            z::deflateInit2_(
                &mut *stream,
                params.level,
                params.method,
                params.wbits,
                params.mem_level,
                params.strategy,
                z::zlibVersion(),
                std::mem::size_of::<z::z_stream>() as c_int,
            )
        };
        if code != Z_OK {
            // On failure zlib has freed whatever it allocated; nothing is left to end.
            return Err(failure(&stream, code));
        }
        Ok(Deflater { stream })
    }

    /// `deflateSetDictionary`.
    pub fn set_dictionary(&mut self, dictionary: &[u8]) -> Result<(), ZlibFailure> {
        let length = c_uint::try_from(dictionary.len()).map_err(|_| ZlibFailure {
            code: Z_STREAM_ERROR,
            message: None,
        })?;
        // SAFETY: the stream is initialised; zlib reads `length` bytes from `dictionary`
        // during the call only.
        let code =
            unsafe { z::deflateSetDictionary(&mut *self.stream, dictionary.as_ptr(), length) };
        if code == Z_OK {
            Ok(())
        } else {
            Err(failure(&self.stream, code))
        }
    }

    /// Compresses `input` with `flush` as CPython's `zlib` does within one call: the input
    /// in pieces of at most `UINT_MAX` bytes, `flush` chosen per piece by `flush_for(last)`
    /// (`last`: no input follows this piece), `deflate` called until it leaves output room
    /// unused, in output blocks of [`BLOCK_SIZES`]. Always calls `deflate` at least once,
    /// also for empty input. Answers the output and the last `deflate` return code;
    /// `Z_STREAM_ERROR` is a failure (output so far dropped, as CPython drops it).
    pub fn run(
        &mut self,
        input: &[u8],
        flush_for: impl Fn(bool) -> c_int,
    ) -> Result<(Vec<u8>, c_int), ZlibFailure> {
        let mut output: Vec<u8> = Vec::new();
        let mut room_end = 0usize;
        let mut blocks = 0usize;
        let mut rest = input;
        let mut code;
        loop {
            let take = rest.len().min(c_uint::MAX as usize);
            let (piece, after) = rest.split_at(take);
            rest = after;
            let flush = flush_for(rest.is_empty());
            self.stream.next_in = piece.as_ptr().cast_mut();
            self.stream.avail_in = take as c_uint;
            loop {
                if room_end == output.len() {
                    let size = BLOCK_SIZES[blocks.min(BLOCK_SIZES.len() - 1)];
                    output.reserve_exact(size);
                    room_end = output.len() + size;
                    blocks += 1;
                }
                let room = room_end - output.len();
                // SAFETY: `output` has capacity for `room` bytes past its length (reserved
                // above), which zlib may write during the call; `next_in` points at `take`
                // readable bytes of `piece`, which outlives the call (zlib reads input
                // only during `deflate`, never after, and never writes it).
                code = unsafe {
                    self.stream.next_out = output.as_mut_ptr().add(output.len());
                    self.stream.avail_out = room as c_uint;
                    z::deflate(&mut *self.stream, flush)
                };
                let written = room - self.stream.avail_out as usize;
                // SAFETY: zlib initialised the `written` bytes it reports past the length.
                unsafe { output.set_len(output.len() + written) };
                if code == Z_STREAM_ERROR {
                    self.forget_buffers();
                    return Err(failure(&self.stream, code));
                }
                if self.stream.avail_out != 0 {
                    break;
                }
            }
            if rest.is_empty() {
                break;
            }
        }
        self.forget_buffers();
        Ok((output, code))
    }

    /// `deflateEnd`: ends the stream, answering zlib's verdict (`Z_DATA_ERROR` when it
    /// was ended before it finished).
    pub fn end(mut self) -> Result<(), ZlibFailure> {
        let code = self.end_stream();
        if code == Z_OK {
            Ok(())
        } else {
            Err(ZlibFailure {
                code,
                message: None,
            })
        }
    }

    /// `deflateCopy`: an independent stream in the same state.
    pub fn copy(&self) -> Result<Self, ZlibFailure> {
        let mut copy = Box::new(blank_stream());
        let source: *const z::z_stream = &*self.stream;
        // SAFETY: `copy` is a boxed z_stream at its final address; the source is
        // initialised and only read (libz-sys declares it `*mut`, zlib does not write it).
        let code = unsafe { z::deflateCopy(&mut *copy, source.cast_mut()) };
        if code != Z_OK {
            // zlib freed what it allocated for the copy; the box holds no state of its own
            // (it may hold the source's state pointer, which must not be ended through it).
            return Err(failure(&copy, code));
        }
        Ok(Deflater { stream: copy })
    }

    /// Clears the input and output pointers, which point into buffers of the last call.
    fn forget_buffers(&mut self) {
        self.stream.next_in = std::ptr::null_mut();
        self.stream.avail_in = 0;
        self.stream.next_out = std::ptr::null_mut();
        self.stream.avail_out = 0;
    }

    /// `deflateEnd`, once: zlib nulls `state` when it ends a stream.
    fn end_stream(&mut self) -> c_int {
        if self.stream.state.is_null() {
            return Z_STREAM_ERROR;
        }
        self.forget_buffers();
        // SAFETY: the stream is initialised and not yet ended (its state is not null).
        unsafe { z::deflateEnd(&mut *self.stream) }
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        self.end_stream();
    }
}

/// A z_stream before `deflateInit2`: no buffers, our allocator.
fn blank_stream() -> z::z_stream {
    z::z_stream {
        next_in: std::ptr::null_mut(),
        avail_in: 0,
        total_in: 0,
        next_out: std::ptr::null_mut(),
        avail_out: 0,
        total_out: 0,
        msg: std::ptr::null_mut(),
        state: std::ptr::null_mut(),
        zalloc,
        zfree,
        opaque: std::ptr::null_mut(),
        data_type: 0,
        adler: 0,
        reserved: 0,
    }
}

/// A failure with `code` and the stream's message.
fn failure(stream: &z::z_stream, code: c_int) -> ZlibFailure {
    let message = (!stream.msg.is_null()).then(|| {
        // SAFETY: zlib sets `msg` to a static NUL-terminated string or leaves it null.
        unsafe { CStr::from_ptr(stream.msg) }
            .to_string_lossy()
            .into_owned()
    });
    ZlibFailure { code, message }
}

/// Bytes before each block [`zalloc`] hands out, holding the block's full size; also the
/// alignment of every block (zlib needs no more than `malloc`'s).
const HEADER: usize = 16;

/// zlib's allocator: `items * size` zeroed bytes from Rust's global allocator, after a
/// header that tells [`zfree`] the size.
unsafe extern "C" fn zalloc(_opaque: *mut c_void, items: c_uint, size: c_uint) -> *mut c_void {
    let Some(bytes) = (items as usize)
        .checked_mul(size as usize)
        .and_then(|n| n.checked_add(HEADER))
    else {
        return std::ptr::null_mut();
    };
    let Ok(layout) = Layout::from_size_align(bytes, HEADER) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the layout's size is at least HEADER, never zero.
    let base = unsafe { std::alloc::alloc_zeroed(layout) };
    if base.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: `base` is HEADER-aligned with at least HEADER bytes, room for the size.
    unsafe {
        base.cast::<usize>().write(bytes);
        base.add(HEADER).cast()
    }
}

/// zlib's deallocator, for blocks from [`zalloc`].
unsafe extern "C" fn zfree(_opaque: *mut c_void, block: *mut c_void) {
    if block.is_null() {
        return;
    }
    // SAFETY: zlib frees only blocks [`zalloc`] gave it, once each: the block's size is in
    // the HEADER bytes before it, and it was allocated with that size and alignment.
    unsafe {
        let base = block.cast::<u8>().sub(HEADER);
        let bytes = base.cast::<usize>().read();
        std::alloc::dealloc(base, Layout::from_size_align_unchecked(bytes, HEADER));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(level: c_int, wbits: c_int) -> DeflateParams {
        DeflateParams {
            level,
            method: z::Z_DEFLATED,
            wbits,
            mem_level: 8,
            strategy: 0,
        }
    }

    #[test]
    fn compresses_in_one_call_and_ends() {
        let mut deflater = Deflater::new(params(6, 15)).unwrap();
        let (out, code) = deflater
            .run(b"hello hello hello", |last| {
                if last {
                    Z_FINISH
                } else {
                    Z_NO_FLUSH
                }
            })
            .unwrap();
        assert_eq!(code, Z_STREAM_END);
        assert_eq!(&out[..2], b"\x78\x9c");
        deflater.end().unwrap();
    }

    #[test]
    fn a_copy_continues_alike() {
        let mut first = Deflater::new(params(9, -15)).unwrap();
        first.run(b"abcabcabc", |_| Z_NO_FLUSH).unwrap();
        let mut second = first.copy().unwrap();
        let a = first.run(b"xyz", |_| Z_FINISH).unwrap();
        let b = second.run(b"xyz", |_| Z_FINISH).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn bad_parameters_are_stream_errors() {
        let err = Deflater::new(params(10, 15)).unwrap_err();
        assert_eq!(err.code, Z_STREAM_ERROR);
    }

    #[test]
    fn large_level_0_output_crosses_blocks() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let mut deflater = Deflater::new(params(0, 15)).unwrap();
        let (out, code) = deflater.run(&data, |_| Z_FINISH).unwrap();
        assert_eq!(code, Z_STREAM_END);
        assert!(out.len() > data.len());
    }
}
