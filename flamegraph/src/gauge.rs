//! Gauges: value kinds that say how much there is at one moment (`inuse_space`,
//! `inuse_objects`: what is allocated now), where the other kinds count what happened
//! during the profile (samples, time, allocations). Adding two profiles' gauges would
//! count the same live memory twice, so profiles merged in time order keep the later
//! one's gauges ([`Profile::merge_later_bounded`]).

use crate::profile::Profile;
use crate::value::{ValueKind, Values, MAX_VALUE_KINDS};

impl ValueKind {
    /// True for kinds that measure a moment rather than a period (as the kind declares
    /// itself: [`ValueKind::gauge`]).
    pub fn is_gauge(&self) -> bool {
        self.gauge
    }
}

impl Profile {
    /// [`Profile::merge_bounded`] with a profile that comes later in time: counts add up,
    /// gauges are `later`'s (when it has any).
    pub fn merge_later_bounded(&mut self, later: &Profile, max_stacks: usize) -> u64 {
        if later.meta.kinds.iter().any(ValueKind::is_gauge) {
            self.clear_gauges();
        }
        self.merge_bounded(later, max_stacks)
    }

    /// Sets every gauge to zero, dropping stacks that are left with no value.
    pub fn clear_gauges(&mut self) {
        let gauges: Vec<bool> = (0..MAX_VALUE_KINDS)
            .map(|i| self.meta.kinds.get(i).is_some_and(ValueKind::is_gauge))
            .collect();
        if !gauges.contains(&true) {
            return;
        }
        for thread in &mut self.threads {
            thread.stacks.retain(|_, values| {
                let kept: Vec<u64> = gauges
                    .iter()
                    .enumerate()
                    .map(|(i, &gauge)| if gauge { 0 } else { values.get(i) })
                    .collect();
                *values = Values::from_slice(&kept);
                !values.is_zero()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{folded, ProfileMeta, ValueKind};

    fn heap(text: &str) -> crate::Profile {
        let mut profile = folded::parse(text.as_bytes(), ProfileMeta::default()).unwrap();
        let counted = profile.meta.count_index();
        // Two kinds: alloc_space (a count of what happened) and inuse_space (a gauge).
        profile.meta.kinds = vec![ValueKind::ALLOC_SPACE, ValueKind::INUSE_SPACE];
        for thread in &mut profile.threads {
            for values in thread.stacks.values_mut() {
                let count = values.get(counted);
                *values = crate::Values::from_slice(&[count, count / 2]);
            }
        }
        profile
    }

    #[test]
    fn later_gauges_replace_earlier_ones_and_counts_add() {
        let mut earlier = heap("t (tid 1);a 100\nt (tid 1);b 40\n");
        let later = heap("t (tid 1);a 10\n");
        earlier.merge_later_bounded(&later, usize::MAX);
        let thread = &earlier.threads[0];
        let by_leaf = |leaf: &str| {
            thread
                .stacks
                .iter()
                .find(|(s, _)| earlier.frames.get(*s.last().unwrap()).function == leaf)
                .map(|(_, v)| (v.get(0), v.get(1)))
        };
        assert_eq!(
            by_leaf("a"),
            Some((110, 5)),
            "allocated adds, in use is the later"
        );
        assert_eq!(by_leaf("b"), Some((40, 0)), "b is no longer in use");
    }
}
