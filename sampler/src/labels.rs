//! Per-sample labels: which request, which tenant (`with rpprof.labels(endpoint="/cart")`).
//!
//! # The mechanism
//! A label set (sorted `key=value` pairs) is interned once, in a process-wide table, and
//! gets a small number, its [`LabelSetId`] (0: no labels). Sets are immutable and never
//! freed: an id names the same set for the life of the process, so an id copied into a
//! sample can be turned back into text later, on any thread. The table holds at most
//! [`MAX_LABEL_SETS`] sets; past that, new sets are refused (counted, see
//! [`refused_sets`]) and the code inside them keeps the labels of the enclosing block.
//!
//! Each thread's current set is one `AtomicU32` in a `const` thread-local (no lazy
//! initialisation, no destructor). Entering a labels block computes the merged set (the
//! enclosing set with the block's keys added or replaced) on the Python thread itself,
//! under the table's lock or from a per-thread cache, and publishes its id with one atomic
//! store; leaving restores the enclosing id from a per-thread stack. The SIGPROF handler,
//! running on the same thread, reads the id with one atomic load ([`current`]): no
//! allocation, no lock, nothing to keep alive. New threads start with no labels.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The number of an interned label set; 0 is the empty set.
pub type LabelSetId = u32;

/// The id of "no labels".
pub const NO_LABELS: LabelSetId = 0;

/// The most labels one set may hold (a block's own and those it inherits together).
pub const MAX_LABELS: usize = 16;

/// The most distinct label sets a process interns; past it new sets are refused (labels
/// should name endpoints and tenants, not requests). Fits the ring's 20-bit field.
pub const MAX_LABEL_SETS: usize = 10_000;

/// The longest label value, in bytes.
pub const MAX_VALUE_BYTES: usize = 256;

/// Keys rpprof's own labels use (in pprof, and in the agent's pushes): user labels may not.
/// The names of the one table of those keys, `label_keys::KEYS`, which pprof's writer and
/// reader use too.
pub const RESERVED_KEYS: &[&str] = &label_keys::NAMES;

/// One interned set: `(key, value)` pairs sorted by key, keys unique.
pub type LabelSet = Arc<[(String, String)]>;

/// Why labels were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// A key that rpprof uses itself.
    #[error("label key `{0}` is reserved for rpprof's own labels ({list})", list = RESERVED_KEYS.join(", "))]
    Reserved(String),
    /// A key that is not a name.
    #[error("label key `{0}` is not a name (letters, digits, `_` and `.`, not starting with a digit or `__`)")]
    BadKey(String),
    /// A value that is too long.
    #[error("the value of label `{0}` is longer than {MAX_VALUE_BYTES} bytes")]
    LongValue(String),
    /// Too many labels in one set.
    #[error("too many labels: {0} (at most {MAX_LABELS}, counting those of enclosing blocks)")]
    TooMany(usize),
}

thread_local! {
    /// The calling thread's current set. A `const` thread-local without destructor: the
    /// signal handler may read it.
    static CURRENT: AtomicU32 = const { AtomicU32::new(NO_LABELS) };
    /// The enclosing sets of the blocks the thread is in (Python code only, never the
    /// handler).
    static SAVED: RefCell<Vec<LabelSetId>> = const { RefCell::new(Vec::new()) };
    /// (enclosing set, block's set) -> merged set, so that entering a nested block
    /// usually takes no lock.
    static MERGED: RefCell<HashMap<(LabelSetId, LabelSetId), LabelSetId>> =
        RefCell::new(HashMap::new());
}

/// Merges cached per thread before the cache starts afresh.
const MERGE_CACHE: usize = 4096;

struct Table {
    sets: Vec<LabelSet>,
    ids: HashMap<LabelSet, LabelSetId>,
}

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let empty: LabelSet = Arc::from(Vec::new());
        Mutex::new(Table {
            sets: vec![empty.clone()],
            ids: HashMap::from([(empty, NO_LABELS)]),
        })
    })
}

static REFUSED: AtomicU64 = AtomicU64::new(0);

/// The calling thread's current label set. Async-signal-safe: one atomic load of a `const`
/// thread-local.
#[inline]
pub fn current() -> LabelSetId {
    CURRENT.with(|current| current.load(Ordering::Relaxed))
}

/// Checks one label.
pub fn check_label(key: &str, value: &str) -> Result<(), LabelError> {
    if RESERVED_KEYS.contains(&key) {
        return Err(LabelError::Reserved(key.to_owned()));
    }
    let mut chars = key.chars();
    let good_start = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !good_start
        || key.starts_with("__")
        || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return Err(LabelError::BadKey(key.to_owned()));
    }
    if value.len() > MAX_VALUE_BYTES {
        return Err(LabelError::LongValue(key.to_owned()));
    }
    Ok(())
}

/// Interns a set of checked labels (later pairs replace earlier ones with the same key);
/// `Ok(None)` when the table is full and the set is new. `pairs` is left sorted and
/// without repeated keys; a set already interned costs a lookup, no allocation.
pub fn intern(pairs: &mut Vec<(String, String)>) -> Result<Option<LabelSetId>, LabelError> {
    // Stable: of equal keys the last given stays last, and wins.
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
        let mut unique: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for pair in pairs.drain(..) {
            match unique.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => unique.push(pair),
            }
        }
        *pairs = unique;
    }
    if pairs.len() > MAX_LABELS {
        return Err(LabelError::TooMany(pairs.len()));
    }
    let mut table = table().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&id) = table.ids.get(pairs.as_slice()) {
        return Ok(Some(id));
    }
    if table.sets.len() >= MAX_LABEL_SETS {
        REFUSED.fetch_add(1, Ordering::Relaxed);
        return Ok(None);
    }
    let id = table.sets.len() as LabelSetId;
    let set: LabelSet = Arc::from(pairs.as_slice());
    table.sets.push(set.clone());
    table.ids.insert(set, id);
    Ok(Some(id))
}

/// The set with this id (the empty set for an unknown id).
pub fn label_set(id: LabelSetId) -> LabelSet {
    let table = table().lock().unwrap_or_else(|e| e.into_inner());
    table
        .sets
        .get(id as usize)
        .unwrap_or(&table.sets[0])
        .clone()
}

/// How many new sets were refused because the table was full.
pub fn refused_sets() -> u64 {
    REFUSED.load(Ordering::Relaxed)
}

/// `outer` with `inner`'s labels added (replacing those with the same keys); `Ok(None)`
/// when the merged set is new and the table is full.
fn merge(outer: LabelSetId, inner: LabelSetId) -> Result<Option<LabelSetId>, LabelError> {
    if outer == NO_LABELS || outer == inner {
        return Ok(Some(inner));
    }
    if let Some(id) = MERGED.with(|cache| cache.borrow().get(&(outer, inner)).copied()) {
        return Ok(Some(id));
    }
    let (outer_set, inner_set) = (label_set(outer), label_set(inner));
    let mut pairs: Vec<(String, String)> =
        outer_set.iter().chain(inner_set.iter()).cloned().collect();
    let merged = intern(&mut pairs)?;
    if let Some(id) = merged {
        MERGED.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.len() >= MERGE_CACHE {
                cache.clear();
            }
            cache.insert((outer, inner), id);
        });
    }
    Ok(merged)
}

/// Enters a block labelled with set `inner` (`None`: a set the table refused) on the
/// calling thread: its current set becomes the merge of the enclosing one and `inner`
/// (the enclosing one alone when the merge is refused). Every successful `enter` must be
/// matched by one [`exit`] on the same thread.
pub fn enter(inner: Option<LabelSetId>) -> Result<(), LabelError> {
    let outer = current();
    let merged = match inner {
        Some(inner) => merge(outer, inner)?.unwrap_or(outer),
        None => outer,
    };
    SAVED.with(|saved| saved.borrow_mut().push(outer));
    CURRENT.with(|current| current.store(merged, Ordering::Relaxed));
    Ok(())
}

/// Leaves the innermost block entered on this thread: its enclosing set is current again.
pub fn exit() {
    let outer = SAVED
        .with(|saved| saved.borrow_mut().pop())
        .unwrap_or(NO_LABELS);
    CURRENT.with(|current| current.store(outer, Ordering::Relaxed));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn sets_are_interned_once_and_nest() {
        std::thread::spawn(|| {
            let cart = intern(&mut pairs(&[("endpoint", "/cart"), ("tenant", "acme")]))
                .unwrap()
                .unwrap();
            let again = intern(&mut pairs(&[("tenant", "acme"), ("endpoint", "/cart")]))
                .unwrap()
                .unwrap();
            assert_eq!(cart, again, "order does not matter");
            assert_eq!(current(), NO_LABELS);
            enter(Some(cart)).unwrap();
            assert_eq!(current(), cart);
            let other = intern(&mut pairs(&[("tenant", "globex")]))
                .unwrap()
                .unwrap();
            enter(Some(other)).unwrap();
            assert_eq!(
                &*label_set(current()),
                pairs(&[("endpoint", "/cart"), ("tenant", "globex")]).as_slice(),
                "the inner block replaces tenant and keeps endpoint"
            );
            exit();
            assert_eq!(current(), cart);
            exit();
            assert_eq!(current(), NO_LABELS);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn bad_labels_are_refused() {
        assert!(matches!(
            check_label("thread_name", "x"),
            Err(LabelError::Reserved(_))
        ));
        assert!(matches!(check_label("1a", "x"), Err(LabelError::BadKey(_))));
        assert!(matches!(
            check_label("__name__", "x"),
            Err(LabelError::BadKey(_))
        ));
        assert!(check_label("http.route", "/a").is_ok());
        let mut many: Vec<(String, String)> = (0..=MAX_LABELS)
            .map(|i| (format!("k{i}"), "v".to_owned()))
            .collect();
        assert_eq!(intern(&mut many), Err(LabelError::TooMany(MAX_LABELS + 1)));
        assert_eq!(
            intern(&mut pairs(&[("a", "1"), ("a", "2")]))
                .unwrap()
                .map(label_set),
            Some(Arc::from(pairs(&[("a", "2")]))),
            "the last value given wins"
        );
    }
}
