//! RustPython 0.6.0's gaps that rpprof works around (`src/python/compat.py`), each shown
//! on a script that fails without the workaround.

mod common;

use common::{rpprof, run};

fn script_says_ok(script: &str) {
    let ran = run(rpprof()
        .arg("run")
        .arg(common::root().join("tests/scripts/compat").join(script)));
    ran.expect_code(0);
    assert!(ran.stdout.contains("ok"), "{script}: {}", ran.stdout);
}

/// werkzeug's `cached_property` (and so Flask's `app.jinja_env`): without the workaround a
/// hot access skips the subclass's `__get__`, and Flask compiled its templates on every
/// request.
#[test]
fn property_subclasses_keep_their_own_get() {
    script_says_ok("property_subclass.py");
}

/// compile() of valid text RustPython refused (docutils), `itertools.compress`'s order
/// (more-itertools), `zoneinfo.TZPATH` (Django), `os.utime(fd)` and `select.select` on an
/// object forwarding `fileno` (gunicorn).
#[test]
fn stdlib_calls_behave_as_under_cpython() {
    script_says_ok("interpreter_gaps.py");
}
