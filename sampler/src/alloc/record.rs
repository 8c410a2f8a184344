//! The allocation samples of one thread: a single-producer ring (the thread's own allocator
//! hook) read by the drain thread. Same mechanism as the signal handler's ring
//! ([`WordRing`]), another record layout: a header of [`ALLOC_HEADER_WORDS`] words (time,
//! size, id, depth and flags), then the frames, innermost first.

use crate::raw::RawFrame;
use crate::ring::{Reservation, WordRing, FRAME_WORDS};

/// Words before the frames of an allocation record.
pub const ALLOC_HEADER_WORDS: usize = 4;

const DEPTH_MASK: u64 = 0xffff_ffff;
const TRUNCATED_BIT: u64 = 1 << 40;
const TRACKED_BIT: u64 = 1 << 41;

/// What the hook records about one sampled allocation besides its frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocHeader {
    /// `CLOCK_MONOTONIC` time of the allocation, in nanoseconds.
    pub time_ns: u64,
    /// Bytes asked for.
    pub size: u64,
    /// The sample's id, unique in the process: the live table holds it while the block is
    /// allocated.
    pub id: u64,
    /// The block is in the live table (false when its bucket was full: it is counted as
    /// allocated but never as in use).
    pub tracked: bool,
    /// Only the innermost frames were kept.
    pub truncated: bool,
}

/// One thread's allocation samples.
pub struct AllocRing {
    ring: WordRing,
}

impl AllocRing {
    /// A ring of at least `min_words` words.
    pub fn new(min_words: usize) -> AllocRing {
        AllocRing {
            ring: crate::ring_pool::take(min_words),
        }
    }

    /// Its buffer, for [`crate::ring_pool`].
    pub(crate) fn into_words(self) -> WordRing {
        self.ring
    }

    /// Records lost because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.ring.dropped()
    }

    /// True when nothing waits to be drained.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Reserves room for a record of up to `max_frames` frames (a drop counted when full).
    ///
    /// # Safety
    /// Only one producer may hold an [`AllocWriter`] of this ring at a time.
    #[inline]
    pub unsafe fn reserve(&self, max_frames: usize) -> Option<AllocWriter<'_>> {
        // SAFETY: forwarded: the caller is the only producer.
        let reservation = unsafe {
            self.ring
                .reserve(ALLOC_HEADER_WORDS + max_frames * FRAME_WORDS)
        }?;
        Some(AllocWriter {
            reservation,
            frames: 0,
            max_frames,
        })
    }

    /// Reads every published record, oldest first. Only one consumer thread at a time.
    pub fn drain(&self, mut visit: impl FnMut(AllocHeader, &mut dyn Iterator<Item = RawFrame>)) {
        self.ring.drain(|record| {
            let packed = record.get(3);
            let depth = (packed & DEPTH_MASK) as usize;
            let header = AllocHeader {
                time_ns: record.get(0),
                size: record.get(1),
                id: record.get(2),
                tracked: packed & TRACKED_BIT != 0,
                truncated: packed & TRUNCATED_BIT != 0,
            };
            let mut frames = (0..depth).map(|k| record.frame(ALLOC_HEADER_WORDS + k * FRAME_WORDS));
            visit(header, &mut frames);
            ALLOC_HEADER_WORDS + depth * FRAME_WORDS
        });
    }
}

/// An allocation record being written: push frames, then commit with the header.
pub struct AllocWriter<'a> {
    reservation: Reservation<'a>,
    frames: usize,
    max_frames: usize,
}

impl AllocWriter<'_> {
    /// Appends a frame; false (nothing stored) once `max_frames` are stored.
    #[inline]
    pub fn push(&mut self, frame: RawFrame) -> bool {
        if self.frames == self.max_frames {
            return false;
        }
        self.reservation
            .set_frame(ALLOC_HEADER_WORDS + self.frames * FRAME_WORDS, frame);
        self.frames += 1;
        true
    }

    /// Writes the header and publishes the record.
    #[inline]
    pub fn commit(mut self, header: AllocHeader) {
        let packed = self.frames as u64
            | if header.truncated { TRUNCATED_BIT } else { 0 }
            | if header.tracked { TRACKED_BIT } else { 0 };
        self.reservation.set(0, header.time_ns);
        self.reservation.set(1, header.size);
        self.reservation.set(2, header.id);
        self.reservation.set(3, packed);
        self.reservation
            .commit(ALLOC_HEADER_WORDS + self.frames * FRAME_WORDS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let ring = AllocRing::new(256);
        // SAFETY: the test is the only producer.
        let mut writer = unsafe { ring.reserve(4) }.unwrap();
        for n in 1..=2 {
            assert!(writer.push(RawFrame {
                qualname: n,
                filename: 7,
                line: 10 * n as u32,
                first_line: 1,
            }));
        }
        writer.commit(AllocHeader {
            time_ns: 5,
            size: 4096,
            id: 42,
            tracked: true,
            truncated: false,
        });
        let mut seen = Vec::new();
        ring.drain(|header, frames| {
            seen.push((header, frames.map(|f| f.line).collect::<Vec<_>>()))
        });
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0.size, 4096);
        assert_eq!(seen[0].0.id, 42);
        assert!(seen[0].0.tracked && !seen[0].0.truncated);
        assert_eq!(seen[0].1, [10, 20]);
        assert!(ring.is_empty());
    }
}
