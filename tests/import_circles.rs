//! No import circle between the files of any crate in the workspace: a file's module may
//! use another's only if that one does not, through any chain, use it back. Circles are
//! what made the sampler a 17-file knot; this keeps them from growing back.
//!
//! The graph: each `.rs` file is a module (`a/b.rs` and `a/b/mod.rs` are `a::b`); an edge
//! goes to the longest module path named after `crate::` or `super::` in its code (comments
//! and the `#[cfg(test)]` part left out), including the names in `use crate::{a, b::c}`.
//! The crate root (`lib.rs`) is left out: it only declares and re-exports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace's crates' source directories.
const CRATES: &[&str] = &[
    "src",
    "sampler/src",
    "symbolizer/src",
    "flamegraph/src",
    "session/src",
    "agent/src",
    "label-keys/src",
];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `a::b` for `a/b.rs` and `a/b/mod.rs`; "" for the crate root.
fn module_of(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The code of a file: before `#[cfg(test)]`, without `//` comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths a file's code names: `crate::a::b::Item` gives `[a, b, Item]`, and
/// `super::super::x` in module `a::b::c` gives `[a, x]`.
fn named_paths(code: &str, module: &str) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    for prefix in ["crate::", "super::"] {
        for (at, _) in code.match_indices(prefix) {
            let before = &code[..at];
            // Inside a longer name, or a later link of a `super::super::` chain.
            if before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                || before.ends_with("::")
            {
                continue;
            }
            let mut rest = &code[at..];
            let mut base: Vec<String> = Vec::new();
            if prefix == "crate::" {
                rest = &rest[prefix.len()..];
            } else {
                base = module.split("::").map(String::from).collect();
                while let Some(after) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = after;
                }
            }
            if let Some(group) = rest.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let first = item.trim().split("::").next().unwrap_or("").trim();
                    if !first.is_empty() {
                        let mut path = base.clone();
                        path.push(first.to_owned());
                        out.push(path);
                    }
                }
            } else {
                let end = rest.find(|c: char| !ident(c)).unwrap_or(rest.len());
                let mut path = base;
                path.extend(
                    rest[..end]
                        .split("::")
                        .filter(|p| !p.is_empty())
                        .map(String::from),
                );
                out.push(path);
            }
        }
    }
    out
}

/// The import graph of the crate whose sources are in `root`.
fn graph(root: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let modules: BTreeMap<String, PathBuf> = files
        .into_iter()
        .map(|file| (module_of(root, &file), file))
        .collect();
    let mut graph = Graph::new();
    for (module, file) in &modules {
        if module.is_empty() {
            continue;
        }
        let text = code(&std::fs::read_to_string(file).unwrap());
        let edges = graph.entry(module.clone()).or_default();
        for path in named_paths(&text, module) {
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|candidate| modules.contains_key(candidate));
            if let Some(target) = target.filter(|t| t != module && !t.is_empty()) {
                edges.insert(target);
            }
        }
    }
    graph
}

/// The graph's circles: strongly connected components of more than one module (Tarjan).
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn no_crate_has_an_import_circle_between_its_files() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for dir in CRATES {
        for circle in circles(&graph(&root.join(dir))) {
            found.push(format!("{dir}: {}", circle.join(", ")));
        }
    }
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

#[test]
fn a_circle_is_found() {
    let dir = std::env::temp_dir().join(format!("rpprof-circles-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("c")).unwrap();
    std::fs::write(dir.join("lib.rs"), "mod a; mod b; mod c;").unwrap();
    std::fs::write(
        dir.join("a.rs"),
        "use crate::b::Thing;\n// crate::c in a comment",
    )
    .unwrap();
    std::fs::write(dir.join("b.rs"), "use crate::{c::More, x};").unwrap();
    std::fs::write(dir.join("c/mod.rs"), "mod d; pub fn f() { super::a::g() }").unwrap();
    std::fs::write(dir.join("c/d.rs"), "use super::super::b::Thing;").unwrap();
    let graph = graph(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(circles(&graph), [["a", "b", "c"]], "{graph:?}");
    assert!(graph["c::d"].contains("b"), "{graph:?}");
}
