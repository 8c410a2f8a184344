//! `zlib.compress` and `zlib.compressobj` that give CPython's bytes.
//!
//! RustPython 0.6.0's `zlib` compresses with zlib-rs, whose levels 1 to 6 choose other
//! matches than C zlib's (and whose level 0 cuts stored blocks elsewhere): the data
//! round-trips, but archives made by `gzip`, `zipfile`, `tarfile` or `zlib` itself differ
//! from those every other Python makes, and users diff archives and compare checksums.
//! The native module `_rpprof_zlib` puts C zlib ([`super::c_deflate`]) behind
//! `zlib.compress`, `zlib.compressobj` and the `Compress` objects it makes (`compress`,
//! `flush`, `copy`, `__copy__`, `__deepcopy__`), run as CPython 3.11's `zlib` runs it, with
//! CPython's exceptions and messages. Decompression stays RustPython's (its output is the
//! data, whatever the library). What it costs: a native module more at start-up and
//! importing `zlib` there (see README for the measured numbers); C zlib's speed instead of
//! zlib-rs's.

use rustpython_vm::builtins::{PyBaseExceptionRef, PyTypeRef};
use rustpython_vm::{InterpreterBuilder, PyResult, VirtualMachine};

use super::c_deflate::{ZlibFailure, Z_BUF_ERROR, Z_DATA_ERROR, Z_STREAM_ERROR, Z_VERSION_ERROR};
use super::stand_in;

/// Name of the native module.
const MODULE: &str = "_rpprof_zlib";

#[rustpython_vm::pymodule(name = "_rpprof_zlib")]
mod rpprof_zlib {
    use rustpython_vm::common::lock::PyMutex;
    use rustpython_vm::function::{ArgBytesLike, OptionalArg};
    use rustpython_vm::{pyclass, FromArgs, Py, PyObjectRef, PyPayload, PyResult, VirtualMachine};

    use super::super::c_deflate::{
        DeflateParams, Deflater, Z_FINISH, Z_MEM_ERROR, Z_NO_FLUSH, Z_OK, Z_STREAM_END,
        Z_STREAM_ERROR,
    };
    use super::{value_error, zlib_error};

    /// `zlib.compress(data, /, level=-1, wbits=15)`.
    #[derive(FromArgs)]
    struct CompressArgs {
        #[pyarg(positional)]
        data: ArgBytesLike,
        #[pyarg(any, default = -1)]
        level: i32,
        #[pyarg(any, default = 15)]
        wbits: i32,
    }

    /// Compress data in one go and return the compressed bytes. level: 0 (none) to 9
    /// (best), -1 for the default (6); wbits: 9 to 15 for a zlib stream, -9 to -15 for raw
    /// deflate, 25 to 31 for gzip.
    #[pyfunction]
    fn compress(args: CompressArgs, vm: &VirtualMachine) -> PyResult<Vec<u8>> {
        let params = DeflateParams {
            level: args.level,
            method: libz_sys::Z_DEFLATED,
            wbits: args.wbits,
            mem_level: 8,
            strategy: 0,
        };
        let mut deflater = Deflater::new(params).map_err(|err| match err.code {
            Z_MEM_ERROR => vm.new_memory_error("Out of memory while compressing data"),
            Z_STREAM_ERROR => zlib_error(vm, "Bad compression level".to_owned()),
            _ => super::failure_error(vm, &err, "while compressing data"),
        })?;
        let (output, code) = args
            .data
            .with_ref(|data| deflater.run(data, |last| if last { Z_FINISH } else { Z_NO_FLUSH }))
            .map_err(|err| super::failure_error(vm, &err, "while compressing data"))?;
        debug_assert_eq!(code, Z_STREAM_END);
        deflater
            .end()
            .map_err(|err| super::failure_error(vm, &err, "while finishing compression"))?;
        Ok(output)
    }

    /// `zlib.compressobj(level=-1, method=DEFLATED, wbits=15, memLevel=8, strategy=0,
    /// zdict=None)`.
    #[derive(FromArgs)]
    struct CompressobjArgs {
        #[pyarg(any, default = -1)]
        level: i32,
        #[pyarg(any, default = 8)]
        method: i32,
        #[pyarg(any, default = 15)]
        wbits: i32,
        #[pyarg(any, name = "memLevel", default = 8)]
        mem_level: i32,
        #[pyarg(any, default = 0)]
        strategy: i32,
        #[pyarg(any, optional)]
        zdict: OptionalArg<ArgBytesLike>,
    }

    /// Return a compression object for data that comes in pieces. level, wbits as for
    /// compress(); memLevel: 1 to 9, memory for the compression state; strategy:
    /// Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE or Z_FIXED; zdict: bytes the data
    /// is expected to share (the decompressor needs the same).
    #[pyfunction]
    fn compressobj(args: CompressobjArgs, vm: &VirtualMachine) -> PyResult<Compress> {
        let params = DeflateParams {
            level: args.level,
            method: args.method,
            wbits: args.wbits,
            mem_level: args.mem_level,
            strategy: args.strategy,
        };
        let zdict = args.zdict.into_option();
        if let Some(zdict) = &zdict {
            if u32::try_from(zdict.len()).is_err() {
                return Err(vm.new_overflow_error("zdict length does not fit in an unsigned int"));
            }
        }
        let mut deflater = Deflater::new(params).map_err(|err| match err.code {
            Z_MEM_ERROR => vm.new_memory_error("Can't allocate memory for compression object"),
            Z_STREAM_ERROR => value_error(vm, "Invalid initialization option"),
            _ => super::failure_error(vm, &err, "while creating compression object"),
        })?;
        if let Some(zdict) = zdict {
            zdict
                .with_ref(|dictionary| deflater.set_dictionary(dictionary))
                .map_err(|err| match err.code {
                    Z_STREAM_ERROR => value_error(vm, "Invalid dictionary"),
                    _ => value_error(vm, "deflateSetDictionary()"),
                })?;
        }
        Ok(Compress {
            stream: PyMutex::new(Some(deflater)),
        })
    }

    /// A compression stream made by zlib.compressobj(): fed by compress(), ended by
    /// flush().
    #[pyattr]
    #[pyclass(module = "zlib", name = "Compress")]
    #[derive(Debug, PyPayload)]
    pub(super) struct Compress {
        /// None once `flush(Z_FINISH)` ended the stream.
        stream: PyMutex<Option<Deflater>>,
    }

    #[pyclass(flags(DISALLOW_INSTANTIATION))]
    impl Compress {
        /// Compress data, returning the compressed bytes that are ready (maybe none).
        #[pymethod]
        fn compress(zelf: &Py<Self>, data: ArgBytesLike, vm: &VirtualMachine) -> PyResult<Vec<u8>> {
            let mut stream = zelf.stream.lock();
            let Some(deflater) = stream.as_mut() else {
                return Err(super::ended_error(vm, "while compressing data"));
            };
            data.with_ref(|data| deflater.run(data, |_| Z_NO_FLUSH))
                .map(|(output, _)| output)
                .map_err(|err| super::failure_error(vm, &err, "while compressing data"))
        }

        /// Return the compressed bytes held back: mode Z_SYNC_FLUSH or Z_FULL_FLUSH keep
        /// the stream open, Z_FINISH (the default) ends it; Z_NO_FLUSH returns nothing.
        #[pymethod]
        fn flush(
            zelf: &Py<Self>,
            mode: OptionalArg<i32>,
            vm: &VirtualMachine,
        ) -> PyResult<Vec<u8>> {
            let mode = mode.unwrap_or(Z_FINISH);
            if mode == Z_NO_FLUSH {
                return Ok(Vec::new());
            }
            let mut stream = zelf.stream.lock();
            let Some(deflater) = stream.as_mut() else {
                return Err(super::ended_error(vm, "while flushing"));
            };
            let (output, code) = deflater
                .run(&[], |_| mode)
                .map_err(|err| super::failure_error(vm, &err, "while flushing"))?;
            if mode == Z_FINISH && code == Z_STREAM_END {
                if let Some(ended) = stream.take() {
                    ended.end().map_err(|err| {
                        super::failure_error(vm, &err, "while finishing compression")
                    })?;
                }
            } else if code != Z_OK && code != libz_sys::Z_BUF_ERROR {
                let err = super::ZlibFailure {
                    code,
                    message: None,
                };
                return Err(super::failure_error(vm, &err, "while flushing"));
            }
            Ok(output)
        }

        /// Return a copy of the compression object in its current state.
        #[pymethod]
        fn copy(zelf: &Py<Self>, vm: &VirtualMachine) -> PyResult<Compress> {
            let stream = zelf.stream.lock();
            let Some(deflater) = stream.as_ref() else {
                return Err(value_error(vm, "Inconsistent stream state"));
            };
            let copy = deflater.copy().map_err(|err| match err.code {
                Z_STREAM_ERROR => value_error(vm, "Inconsistent stream state"),
                Z_MEM_ERROR => vm.new_memory_error("Can't allocate memory for compression object"),
                _ => super::failure_error(vm, &err, "while copying compression object"),
            })?;
            Ok(Compress {
                stream: PyMutex::new(Some(copy)),
            })
        }

        #[pymethod(name = "__copy__")]
        fn copy_dunder(zelf: &Py<Self>, vm: &VirtualMachine) -> PyResult<Compress> {
            Self::copy(zelf, vm)
        }

        #[pymethod(name = "__deepcopy__")]
        fn deepcopy(
            zelf: &Py<Self>,
            _memo: PyObjectRef,
            vm: &VirtualMachine,
        ) -> PyResult<Compress> {
            Self::copy(zelf, vm)
        }
    }
}

/// A `zlib.error` with `message`.
fn zlib_error(vm: &VirtualMachine, message: String) -> PyBaseExceptionRef {
    let error: Option<PyTypeRef> = vm
        .import("zlib", 0)
        .and_then(|zlib| zlib.get_attr("error", vm))
        .ok()
        .and_then(|error| error.downcast::<rustpython_vm::builtins::PyType>().ok());
    match error {
        Some(error) => vm.new_exception_msg(error, message.into()),
        None => vm.new_runtime_error(message),
    }
}

/// A `ValueError` with `message`.
fn value_error(vm: &VirtualMachine, message: &str) -> PyBaseExceptionRef {
    vm.new_value_error(message.to_owned())
}

/// `zlib.error` for a failed zlib call, worded as CPython words it: "Error -2 while
/// flushing: inconsistent stream state".
fn failure_error(vm: &VirtualMachine, failure: &ZlibFailure, doing: &str) -> PyBaseExceptionRef {
    let reason = match failure.code {
        Z_VERSION_ERROR => Some("library version mismatch"),
        _ => None,
    }
    .map(str::to_owned)
    .or_else(|| failure.message.clone())
    .or_else(|| {
        match failure.code {
            Z_BUF_ERROR => Some("incomplete or truncated stream"),
            Z_STREAM_ERROR => Some("inconsistent stream state"),
            Z_DATA_ERROR => Some("invalid input data"),
            _ => None,
        }
        .map(str::to_owned)
    });
    let message = match reason {
        Some(reason) => format!("Error {} {doing}: {reason:.200}", failure.code),
        None => format!("Error {} {doing}", failure.code),
    };
    zlib_error(vm, message)
}

/// What CPython raises when a stream ended by `flush()` is used again (zlib refuses a
/// stream it ended).
fn ended_error(vm: &VirtualMachine, doing: &str) -> PyBaseExceptionRef {
    let failure = ZlibFailure {
        code: Z_STREAM_ERROR,
        message: None,
    };
    failure_error(vm, &failure, doing)
}

/// Adds `_rpprof_zlib` to an interpreter being built.
pub fn add_module(builder: InterpreterBuilder) -> InterpreterBuilder {
    let def = rpprof_zlib::module_def(&builder.ctx);
    builder.add_native_module(def)
}

/// Puts ours in place of `zlib.compress`, `zlib.compressobj` and `zlib.Compress` (the
/// originals kept in `_rpprof_zlib` as `_original_*`). Call it before the program runs.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    for (attr, saved_as) in [
        ("compress", "_original_compress"),
        ("compressobj", "_original_compressobj"),
        ("Compress", "_original_Compress"),
    ] {
        stand_in::replace(vm, MODULE, "zlib", attr, attr, saved_as)?;
    }
    Ok(())
}
