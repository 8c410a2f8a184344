//! The locale a program's text runs in, taken as CPython takes it at start-up: the
//! user's `LC_CTYPE` (`setlocale(LC_CTYPE, "")`, which CPython calls and RustPython 0.6.0
//! does not, leaving every program in the C locale and its text I/O in ASCII), with the C
//! and POSIX locales coerced to UTF-8 (PEP 538) and UTF-8 mode on in them (PEP 540).

use std::ffi::{CStr, CString};
use std::sync::OnceLock;

/// What [`adopt_user_locale`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserLocale {
    /// The user's `LC_CTYPE` is the C or POSIX locale (before coercion): PEP 540 turns
    /// UTF-8 mode on unless the user chose otherwise.
    pub legacy_c_locale: bool,
}

/// What [`adopt_user_locale`] found, for the interpreter settings made afterwards.
static ADOPTED: OnceLock<UserLocale> = OnceLock::new();

/// What [`adopt_user_locale`] found; the C library's default (no legacy C locale) if it was
/// never called.
pub fn user_locale() -> UserLocale {
    ADOPTED.get().copied().unwrap_or(UserLocale {
        legacy_c_locale: false,
    })
}

/// The UTF-8 locales PEP 538 tries, in its order, in place of the C locale.
const COERCION_TARGETS: [&str; 3] = ["C.UTF-8", "C.utf8", "UTF-8"];

/// Sets the process's `LC_CTYPE` from the environment, as CPython does before it runs
/// anything. In the C or POSIX locale, and unless `LC_ALL` is set or
/// `PYTHONCOERCECLOCALE=0`, sets `LC_CTYPE` to a UTF-8 locale in the environment too, so
/// that child processes get it. (CPython ignores `PYTHONCOERCECLOCALE` under `-E`; this
/// runs before the command line is read, so it always reads it.) Call it first thing in
/// `main`: it changes the environment, which is only safe before other threads start.
pub fn adopt_user_locale() -> UserLocale {
    let legacy_c_locale = match set_ctype_from_environment() {
        Some(name) => name == "C" || name == "POSIX",
        None => false,
    };
    let coercion_off = std::env::var_os("PYTHONCOERCECLOCALE").is_some_and(|value| value == "0");
    if legacy_c_locale && !coercion_off && std::env::var_os("LC_ALL").is_none() {
        let original = std::env::var_os("LC_CTYPE");
        let coerced = COERCION_TARGETS.into_iter().any(|target| {
            std::env::set_var("LC_CTYPE", target);
            set_ctype_from_environment().is_some_and(|name| name != "C" && name != "POSIX")
        });
        if !coerced {
            match original {
                Some(value) => std::env::set_var("LC_CTYPE", value),
                None => std::env::remove_var("LC_CTYPE"),
            }
            set_ctype_from_environment();
        }
    }
    let found = UserLocale { legacy_c_locale };
    let _ = ADOPTED.set(found);
    found
}

/// `setlocale(LC_CTYPE, "")`: the name of the locale it set, or None if the environment
/// names one the system does not have (the locale is then left as it was).
fn set_ctype_from_environment() -> Option<String> {
    let empty = CString::default();
    // SAFETY: `empty` is a valid C string; setlocale returns null or a pointer to a string
    // owned by the C library, valid until the next setlocale call, copied out at once. Only
    // called on the main thread before others start (see `adopt_user_locale`).
    let name = unsafe { libc::setlocale(libc::LC_CTYPE, empty.as_ptr()) };
    if name.is_null() {
        return None;
    }
    // SAFETY: non-null, NUL-terminated, as above.
    Some(
        unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned(),
    )
}
