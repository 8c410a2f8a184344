//! The SQL function `_rpprof_columns(sql)` that every SQLite connection opened in this
//! process gets, for the `sqlite3` workaround in `compat_sqlite.py`.
//!
//! RustPython 0.6.0's `sqlite3` reads each result column's declared type
//! (`sqlite3_column_decltype`) when `detect_types` has `PARSE_DECLTYPES`, and raises
//! `MemoryError: string pointer is null` when SQLite has none, which is so for every column
//! that is an expression (`select 1`, `count(*)`): Django failed at every connection. The
//! Python side opens such connections without `PARSE_DECLTYPES` and applies the converters
//! itself; it learns the declared types from this function, which prepares the statement on
//! the connection it is called on (never runs it) and answers each column's name and
//! declared type.
//!
//! The SQLite library is the one the interpreter links statically; its functions are
//! declared here by their C names.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

/// `sqlite3*`, `sqlite3_stmt*`, `sqlite3_context*`, `sqlite3_value*`: opaque here.
type Opaque = c_void;
type EntryPoint = unsafe extern "C" fn(*mut Opaque, *mut *mut c_char, *const c_void) -> c_int;
type ScalarFunction = unsafe extern "C" fn(*mut Opaque, c_int, *mut *mut Opaque);

const SQLITE_OK: c_int = 0;
const SQLITE_UTF8: c_int = 1;
/// Not callable from triggers and views, only from top-level SQL.
const SQLITE_DIRECTONLY: c_int = 0x0008_0000;
/// `SQLITE_TRANSIENT`: SQLite copies the result before the call returns.
const SQLITE_TRANSIENT: isize = -1;

/// The function's name, as SQL calls it.
const FUNCTION_C: &CStr = c"_rpprof_columns";

extern "C" {
    fn sqlite3_auto_extension(entry: Option<EntryPoint>) -> c_int;
    #[allow(clippy::too_many_arguments)]
    fn sqlite3_create_function_v2(
        db: *mut Opaque,
        name: *const c_char,
        args: c_int,
        flags: c_int,
        app: *mut c_void,
        func: Option<ScalarFunction>,
        step: Option<ScalarFunction>,
        finish: Option<unsafe extern "C" fn(*mut Opaque)>,
        destroy: Option<unsafe extern "C" fn(*mut c_void)>,
    ) -> c_int;
    fn sqlite3_context_db_handle(context: *mut Opaque) -> *mut Opaque;
    fn sqlite3_value_text(value: *mut Opaque) -> *const u8;
    fn sqlite3_value_bytes(value: *mut Opaque) -> c_int;
    fn sqlite3_prepare_v2(
        db: *mut Opaque,
        sql: *const c_char,
        bytes: c_int,
        statement: *mut *mut Opaque,
        tail: *mut *const c_char,
    ) -> c_int;
    fn sqlite3_column_count(statement: *mut Opaque) -> c_int;
    fn sqlite3_column_name(statement: *mut Opaque, column: c_int) -> *const c_char;
    fn sqlite3_column_decltype(statement: *mut Opaque, column: c_int) -> *const c_char;
    fn sqlite3_finalize(statement: *mut Opaque) -> c_int;
    fn sqlite3_result_blob(context: *mut Opaque, data: *const c_void, bytes: c_int, free: isize);
    fn sqlite3_result_null(context: *mut Opaque);
}

/// Makes every SQLite connection opened from now on have `_rpprof_columns`; false if SQLite
/// refused. Idempotent.
pub fn register() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        // SAFETY: `add_function` has the entry point signature SQLite calls auto extensions
        // with; SQLite keeps the pointer, which is a static function.
        unsafe { sqlite3_auto_extension(Some(add_function)) == SQLITE_OK }
    })
}

/// Auto extension entry point: adds `_rpprof_columns` to a connection being opened.
unsafe extern "C" fn add_function(
    db: *mut Opaque,
    _error: *mut *mut c_char,
    _api: *const c_void,
) -> c_int {
    // SAFETY: SQLite passes the connection being opened; the name is a NUL-terminated
    // static string and `columns` has the scalar function signature.
    unsafe {
        sqlite3_create_function_v2(
            db,
            FUNCTION_C.as_ptr(),
            1,
            SQLITE_UTF8 | SQLITE_DIRECTONLY,
            std::ptr::null_mut(),
            Some(columns),
            None,
            None,
            None,
        );
    }
    // A connection without the function still opens; the Python side then converts nothing.
    SQLITE_OK
}

/// `_rpprof_columns(sql)`: a blob of NUL-separated `name, declared type` pairs for the
/// result columns of the first statement in `sql` (an empty declared type where SQLite has
/// none), or NULL when `sql` does not prepare.
unsafe extern "C" fn columns(context: *mut Opaque, count: c_int, values: *mut *mut Opaque) {
    if count != 1 {
        // SAFETY: `context` is the call's context, valid during the call.
        unsafe { sqlite3_result_null(context) };
        return;
    }
    // SAFETY: SQLite passes `count` (1) values; the text pointer is valid until the value
    // changes, which it does not during this call; `sqlite3_value_bytes` is its length.
    let sql = unsafe {
        let value = *values;
        let text = sqlite3_value_text(value);
        let len = sqlite3_value_bytes(value);
        if text.is_null() || len < 0 {
            None
        } else {
            Some(std::slice::from_raw_parts(text, len as usize).to_vec())
        }
    };
    // SAFETY: the context's connection is open while one of its statements runs this call.
    let answer = sql.and_then(|sql| unsafe { describe(sqlite3_context_db_handle(context), &sql) });
    match answer {
        // SAFETY: SQLite copies `answer` (SQLITE_TRANSIENT) before returning.
        Some(answer) => unsafe {
            sqlite3_result_blob(
                context,
                answer.as_ptr().cast(),
                answer.len() as c_int,
                SQLITE_TRANSIENT,
            )
        },
        // SAFETY: as above.
        None => unsafe { sqlite3_result_null(context) },
    }
}

/// Prepares `sql` on `db` (not running it) and lists its columns' names and declared types.
///
/// # Safety
/// `db` must be an open connection, used by this thread only for the call.
unsafe fn describe(db: *mut Opaque, sql: &[u8]) -> Option<Vec<u8>> {
    let mut statement: *mut Opaque = std::ptr::null_mut();
    let mut tail: *const c_char = std::ptr::null();
    // SAFETY: `sql` is `sql.len()` readable bytes; SQLite writes the two out-pointers.
    let status = unsafe {
        sqlite3_prepare_v2(
            db,
            sql.as_ptr().cast(),
            c_int::try_from(sql.len()).ok()?,
            &mut statement,
            &mut tail,
        )
    };
    if status != SQLITE_OK || statement.is_null() {
        return None;
    }
    let mut answer = Vec::new();
    // SAFETY: `statement` was prepared above and is finalized once, below; the name and
    // declared type pointers are read before it is.
    unsafe {
        for column in 0..sqlite3_column_count(statement) {
            for text in [
                sqlite3_column_name(statement, column),
                sqlite3_column_decltype(statement, column),
            ] {
                if !answer.is_empty() {
                    answer.push(0);
                }
                if !text.is_null() {
                    answer.extend_from_slice(CStr::from_ptr(text).to_bytes());
                }
            }
        }
        sqlite3_finalize(statement);
    }
    Some(answer)
}
