//! The stored windows in memory, kept in time order (by start, then end) with a running
//! total of their bytes, so that adding a window, dropping the oldest and finding a time
//! range cost the same with a week of windows as with a minute of them. Windows arrive in
//! time order: adding one is a push at the back; the rare late one is inserted in place.

use std::collections::VecDeque;

use super::StoredWindow;

/// The windows of a store, oldest first.
#[derive(Debug, Default)]
pub(super) struct Timeline {
    /// Ordered by `(from_ms, until_ms)`, no two with the same key (they share a file).
    windows: VecDeque<StoredWindow>,
    /// Sum of `bytes` over `windows`.
    total_bytes: u64,
    /// The longest window seen since the timeline was built (never shrinks): a window
    /// starting more than this before a time cannot reach it, which bounds range searches.
    longest_ms: u64,
}

fn key(window: &StoredWindow) -> (u64, u64) {
    (window.from_ms, window.until_ms)
}

impl Timeline {
    /// A timeline of windows found in any order (a directory listing).
    pub(super) fn from_unordered(mut windows: Vec<StoredWindow>) -> Timeline {
        windows.sort_unstable_by_key(key);
        windows.dedup_by_key(|w| key(w));
        let mut timeline = Timeline::default();
        for window in &windows {
            timeline.note_added(window);
        }
        timeline.windows = windows.into();
        timeline
    }

    fn note_added(&mut self, window: &StoredWindow) {
        self.total_bytes += window.bytes;
        self.longest_ms = self
            .longest_ms
            .max(window.until_ms.saturating_sub(window.from_ms));
    }

    /// Adds a window in its place; a window with the same range is replaced and returned.
    pub(super) fn insert(&mut self, window: StoredWindow) -> Option<StoredWindow> {
        self.note_added(&window);
        let in_order = self
            .windows
            .back()
            .is_none_or(|last| key(last) < key(&window));
        if in_order {
            self.windows.push_back(window);
            return None;
        }
        match self.windows.binary_search_by_key(&key(&window), key) {
            Ok(at) => {
                let replaced = std::mem::replace(&mut self.windows[at], window);
                self.total_bytes -= replaced.bytes;
                Some(replaced)
            }
            Err(at) => {
                self.windows.insert(at, window);
                None
            }
        }
    }

    /// The window that starts first.
    pub(super) fn oldest(&self) -> Option<&StoredWindow> {
        self.windows.front()
    }

    /// Removes and returns the window that starts first.
    pub(super) fn pop_oldest(&mut self) -> Option<StoredWindow> {
        let oldest = self.windows.pop_front()?;
        self.total_bytes -= oldest.bytes;
        Some(oldest)
    }

    /// Windows overlapping `(from_ms, until_ms)`, oldest first: two binary searches, then
    /// only the windows in between are looked at.
    pub(super) fn overlapping(&self, from_ms: u64, until_ms: u64) -> Vec<StoredWindow> {
        // Starts are ordered, and no window is longer than `longest_ms`: those starting
        // `longest_ms` or more before `from_ms` end by then.
        let first = self
            .windows
            .partition_point(|w| w.from_ms.saturating_add(self.longest_ms) <= from_ms);
        let end = self.windows.partition_point(|w| w.from_ms < until_ms);
        if first >= end {
            return Vec::new();
        }
        self.windows
            .range(first..end)
            .filter(|w| w.until_ms > from_ms)
            .cloned()
            .collect()
    }

    /// The windows, oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = &StoredWindow> {
        self.windows.iter()
    }

    /// How many windows there are.
    pub(super) fn len(&self) -> usize {
        self.windows.len()
    }

    /// Sum of the windows' sizes.
    pub(super) fn total_bytes(&self) -> u64 {
        self.total_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(from_ms: u64, until_ms: u64, bytes: u64) -> StoredWindow {
        StoredWindow {
            from_ms,
            until_ms,
            bytes,
        }
    }

    fn recomputed_total(timeline: &Timeline) -> u64 {
        timeline.iter().map(|w| w.bytes).sum()
    }

    fn keys(timeline: &Timeline) -> Vec<(u64, u64)> {
        timeline.iter().map(key).collect()
    }

    #[test]
    fn windows_stay_in_order_whatever_order_they_come_in() {
        let mut timeline = Timeline::default();
        for (from, bytes) in [(30, 3), (10, 1), (50, 5), (20, 2), (40, 4), (60, 6)] {
            assert_eq!(timeline.insert(window(from, from + 10, bytes)), None);
            assert_eq!(timeline.total_bytes(), recomputed_total(&timeline));
        }
        assert_eq!(
            keys(&timeline),
            vec![(10, 20), (20, 30), (30, 40), (40, 50), (50, 60), (60, 70)]
        );
        // Same range again: replaced in place, the total follows.
        let replaced = timeline.insert(window(30, 40, 100));
        assert_eq!(replaced, Some(window(30, 40, 3)));
        assert_eq!(timeline.len(), 6);
        assert_eq!(timeline.total_bytes(), 21 - 3 + 100);
        assert_eq!(timeline.total_bytes(), recomputed_total(&timeline));
        // Same start, different end: both kept, shorter first.
        timeline.insert(window(30, 35, 7));
        assert_eq!(keys(&timeline)[2..4], [(30, 35), (30, 40)]);
        assert_eq!(timeline.total_bytes(), recomputed_total(&timeline));
    }

    #[test]
    fn a_listing_becomes_an_ordered_timeline() {
        let timeline =
            Timeline::from_unordered(vec![window(20, 30, 2), window(0, 10, 1), window(10, 20, 4)]);
        assert_eq!(keys(&timeline), vec![(0, 10), (10, 20), (20, 30)]);
        assert_eq!(timeline.total_bytes(), 7);
    }

    #[test]
    fn dropping_the_oldest_keeps_the_total() {
        let mut timeline = Timeline::default();
        for i in 0..100 {
            timeline.insert(window(i * 10, i * 10 + 10, i % 7 + 1));
        }
        while timeline.total_bytes() > 50 {
            let oldest = timeline.oldest().unwrap().clone();
            assert_eq!(timeline.pop_oldest(), Some(oldest));
            assert_eq!(timeline.total_bytes(), recomputed_total(&timeline));
        }
        assert_eq!(timeline.oldest().unwrap().from_ms, 880);
    }

    #[test]
    fn range_searches_find_what_a_scan_finds() {
        let mut timeline = Timeline::default();
        // Regular 10 ms windows, a gap, a long window and overlapping short ones in it.
        for i in 0..50 {
            timeline.insert(window(i * 10, i * 10 + 10, 1));
        }
        timeline.insert(window(700, 1000, 1));
        for from in [720, 750, 990] {
            timeline.insert(window(from, from + 5, 1));
        }
        let scan = |from: u64, until: u64| -> Vec<StoredWindow> {
            timeline
                .iter()
                .filter(|w| w.until_ms > from && w.from_ms < until)
                .cloned()
                .collect()
        };
        let bounds = [
            0, 1, 9, 10, 11, 55, 250, 499, 500, 501, 600, 699, 700, 760, 995, 999, 1000, 5000,
        ];
        for &from in &bounds {
            for &until in &bounds {
                assert_eq!(
                    timeline.overlapping(from, until),
                    scan(from, until),
                    "({from}, {until})"
                );
            }
        }
        assert_eq!(
            timeline.overlapping(800, 810),
            vec![window(700, 1000, 1)],
            "a long window is found from inside"
        );
        assert!(Timeline::default().overlapping(0, u64::MAX).is_empty());
    }
}
