//! Per-test outcomes of a pytest run, read from the JUnit XML it writes (`--junitxml`), so
//! that two runs of a suite (CPython's and rpprof's) are compared test by test, not only by
//! their counts.

use std::collections::BTreeMap;
use std::path::Path;

/// Test id (`tests/test_x.py::Class::test_name[param]`) -> outcome: `passed`, `failed`,
/// `error`, `skipped` or `xfailed` (an unexpected pass under `xfail_strict` is a failure).
pub type Outcomes = BTreeMap<String, &'static str>;

/// The outcomes in the JUnit XML file `junit`; panics, with pytest's `output`, when there is
/// none.
pub fn read(junit: &Path, output: &str) -> Outcomes {
    let xml = std::fs::read_to_string(junit)
        .unwrap_or_else(|e| panic!("pytest wrote no {} ({e}):\n{output}", junit.display()));
    parse(&xml)
}

/// The outcomes of every `<testcase>` in `xml`.
pub fn parse(xml: &str) -> Outcomes {
    let mut outcomes = Outcomes::new();
    for case in xml.split("<testcase ").skip(1) {
        let tag_end = case.find('>').unwrap_or(case.len());
        let (tag, rest) = case.split_at(tag_end);
        let body = if tag.ends_with('/') {
            ""
        } else {
            rest.split("</testcase>").next().unwrap_or("")
        };
        let outcome = if body.contains("<failure") {
            "failed"
        } else if body.contains("<error") {
            "error"
        } else if body.contains("<skipped type=\"pytest.xfail\"") {
            "xfailed"
        } else if body.contains("<skipped") {
            "skipped"
        } else {
            "passed"
        };
        let class = attribute(tag, "classname");
        let mut parts = class.split('.');
        // classname is `tests.test_x` or `tests.test_x.Class`.
        let file: Vec<&str> = parts.by_ref().take(2).collect();
        let mut id = format!("{}.py", file.join("/"));
        for part in parts {
            id = format!("{id}::{part}");
        }
        outcomes.insert(format!("{id}::{}", attribute(tag, "name")), outcome);
    }
    outcomes
}

/// The value of `name="..."` in a start tag, unescaped.
fn attribute(tag: &str, name: &str) -> String {
    let key = format!(" {name}=\"");
    // The tag comes without the space that precedes its first attribute.
    let tag = format!(" {tag}");
    let start = tag.find(&key).map(|i| i + key.len());
    let value = start
        .and_then(|start| tag[start..].split('"').next())
        .unwrap_or("");
    value
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every test whose outcome differs: test id -> (outcome in `theirs`, in `ours`), with
/// `not collected` where a run has no such test.
pub fn differences(theirs: &Outcomes, ours: &Outcomes) -> BTreeMap<String, (String, String)> {
    let either = theirs.keys().chain(ours.keys());
    either
        .filter(|test| theirs.get(*test) != ours.get(*test))
        .map(|test| {
            let outcome = |run: &Outcomes| run.get(test).copied().unwrap_or("not collected");
            (test.clone(), (outcome(theirs).into(), outcome(ours).into()))
        })
        .collect()
}

/// How many tests of `outcomes` had `outcome`.
pub fn count(outcomes: &Outcomes, outcome: &str) -> usize {
    outcomes.values().filter(|o| **o == outcome).count()
}
