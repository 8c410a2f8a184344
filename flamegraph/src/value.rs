//! Value kinds: what a profile measures, as pprof's sample types do. A profile lists its
//! kinds ([`ProfileMeta::kinds`](crate::ProfileMeta::kinds)) and every stack carries one
//! [`Values`] vector, its entries in the same order. A view that shows one value (SVG,
//! folded, top) is told which kind, by name; pprof writes them all.
//!
//! A new kind is one more constant here, declaring everything about it: its name and unit,
//! whether it is a gauge, and what Pyroscope calls its unit (and the session that records
//! it). Nothing else needs to know it; a kind read from a file (a Go heap profile's
//! `inuse_space`) takes the declaration of the constant with its name and unit.

use std::borrow::Cow;
use std::fmt;

/// One measure: a name and a unit, as pprof's `ValueType` (`cpu`/`nanoseconds`), and how
/// it adds up.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ValueKind {
    /// What is measured: `samples`, `cpu`, `wall`, `alloc_space`, ...
    pub name: Cow<'static, str>,
    /// Its unit: `count`, `nanoseconds`, `bytes`, ...
    pub unit: Cow<'static, str>,
    /// A gauge measures a moment (what is allocated now), the other kinds what happened
    /// during the profile: merged in time order, a gauge keeps the later profile's value
    /// ([`crate::gauge`]) and Pyroscope averages it over time instead of adding it up.
    pub gauge: bool,
    /// The unit Pyroscope's sample-type configuration names: `samples`, `objects`, `bytes`.
    pub pyroscope_units: &'static str,
}

const fn kind(name: &'static str, unit: &'static str, pyroscope_units: &'static str) -> ValueKind {
    ValueKind {
        name: Cow::Borrowed(name),
        unit: Cow::Borrowed(unit),
        gauge: false,
        pyroscope_units,
    }
}

const fn gauge(name: &'static str, unit: &'static str, pyroscope_units: &'static str) -> ValueKind {
    ValueKind {
        name: Cow::Borrowed(name),
        unit: Cow::Borrowed(unit),
        gauge: true,
        pyroscope_units,
    }
}

impl ValueKind {
    /// Samples: a stack's time in whole sampling periods (what flamegraphs count).
    pub const SAMPLES: ValueKind = kind("samples", "count", "samples");
    /// CPU time of the threads.
    pub const CPU: ValueKind = kind("cpu", "nanoseconds", "samples");
    /// Wall-clock time, running or blocked.
    pub const WALL: ValueKind = kind("wall", "nanoseconds", "samples");
    /// Objects allocated.
    pub const ALLOC_OBJECTS: ValueKind = kind("alloc_objects", "count", "objects");
    /// Bytes allocated.
    pub const ALLOC_SPACE: ValueKind = kind("alloc_space", "bytes", "bytes");
    /// Objects allocated and not freed: a gauge.
    pub const INUSE_OBJECTS: ValueKind = gauge("inuse_objects", "count", "objects");
    /// Bytes allocated and not freed: a gauge.
    pub const INUSE_SPACE: ValueKind = gauge("inuse_space", "bytes", "bytes");

    /// Every kind declared here.
    pub const DECLARED: [ValueKind; 7] = [
        ValueKind::SAMPLES,
        ValueKind::CPU,
        ValueKind::WALL,
        ValueKind::ALLOC_OBJECTS,
        ValueKind::ALLOC_SPACE,
        ValueKind::INUSE_OBJECTS,
        ValueKind::INUSE_SPACE,
    ];

    /// A kind read from elsewhere (a pprof file): the declared kind of that name and unit,
    /// else a kind that adds up, in Pyroscope's `samples`.
    pub fn new(name: &str, unit: &str) -> ValueKind {
        match ValueKind::DECLARED
            .iter()
            .find(|kind| kind.name == name && kind.unit == unit)
        {
            Some(declared) => declared.clone(),
            None => ValueKind {
                name: Cow::Owned(name.to_owned()),
                unit: Cow::Owned(unit.to_owned()),
                gauge: false,
                pyroscope_units: "samples",
            },
        }
    }

    /// True for time measured in nanoseconds.
    pub fn is_time(&self) -> bool {
        self.unit == "nanoseconds"
    }

    /// True for sizes in bytes.
    pub fn is_bytes(&self) -> bool {
        self.unit == "bytes"
    }

    /// `value` as a person reads it: seconds with two decimals for time, KiB/MiB/GiB for
    /// bytes, the plain number otherwise.
    pub fn format(&self, value: u64) -> String {
        if self.is_time() {
            format!("{:.2} s", value as f64 / 1e9)
        } else if self.is_bytes() {
            format_bytes(value)
        } else {
            value.to_string()
        }
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name, self.unit)
    }
}

/// Bytes in the largest binary unit that keeps the number at least 1.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The most kinds one profile carries: time (2) and the four allocation kinds fit, with
/// room to spare. Kinds past it in a file from elsewhere are left out when it is read.
pub const MAX_VALUE_KINDS: usize = 8;

/// One stack's values, one per kind of its profile, in the same order. Fixed-size and
/// `Copy`, so adding a sample costs no allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Values([u64; MAX_VALUE_KINDS]);

impl Values {
    /// Values from a slice (entries past [`MAX_VALUE_KINDS`] are left out).
    pub fn from_slice(values: &[u64]) -> Values {
        let mut out = Values::default();
        for (slot, &value) in out.0.iter_mut().zip(values) {
            *slot = value;
        }
        out
    }

    /// The value of the kind at `index` (0 past the end).
    pub fn get(&self, index: usize) -> u64 {
        self.0.get(index).copied().unwrap_or(0)
    }

    /// Adds `value` to the kind at `index`, saturating; nothing past the end.
    pub fn add_at(&mut self, index: usize, value: u64) {
        if let Some(slot) = self.0.get_mut(index) {
            *slot = slot.saturating_add(value);
        }
    }

    /// Adds `other` to these values, saturating: a count that would pass `u64::MAX` (only
    /// reachable from hostile input files) stays there instead of wrapping.
    pub fn add(&mut self, other: &Values) {
        for (slot, value) in self.0.iter_mut().zip(other.0) {
            *slot = slot.saturating_add(value);
        }
    }

    /// These values with each kind moved to where `remap` says (`remap[i]` is the new
    /// index of kind `i`; `None` drops it).
    pub fn remapped(&self, remap: &[Option<usize>]) -> Values {
        let mut out = Values::default();
        for (index, target) in remap.iter().enumerate() {
            if let Some(target) = *target {
                out.add_at(target, self.get(index));
            }
        }
        out
    }

    /// True when every value is zero.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&v| v == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_add_saturating_and_remap() {
        let mut a = Values::from_slice(&[1, 2]);
        a.add(&Values::from_slice(&[u64::MAX, 3]));
        assert_eq!((a.get(0), a.get(1)), (u64::MAX, 5));
        assert_eq!(a.get(99), 0);
        let moved = Values::from_slice(&[7, 9]).remapped(&[Some(1), None]);
        assert_eq!((moved.get(0), moved.get(1)), (0, 7));
    }

    #[test]
    fn units_are_shown_as_people_read_them() {
        assert_eq!(ValueKind::CPU.format(1_500_000_000), "1.50 s");
        assert_eq!(ValueKind::ALLOC_SPACE.format(512), "512 B");
        assert_eq!(
            ValueKind::ALLOC_SPACE.format(3 * 1024 * 1024 / 2),
            "1.5 MiB"
        );
        assert_eq!(ValueKind::SAMPLES.format(42), "42");
        assert_eq!(ValueKind::WALL.to_string(), "wall/nanoseconds");
    }
}
