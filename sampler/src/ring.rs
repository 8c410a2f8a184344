//! A single-producer, single-consumer ring of variable-length sample records.
//!
//! Every registered thread owns one ring. Its producer is that thread's SIGPROF handler
//! (SIGPROF is blocked while its handler runs, so there is never more than one); its
//! consumer is the drain thread. Both sides only load and store atomics: no locks, no
//! allocation, nothing that can block, so the producer side is async-signal-safe.
//!
//! A record is a run of `u64` words: three header words, then three words per frame.
//! Records may wrap around the end of the buffer.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::raw::{RawFrame, SampleHeader, ThreadState};

/// Words before the frames in a record.
pub const HEADER_WORDS: usize = 3;
/// Words per frame.
pub const FRAME_WORDS: usize = 3;

const DEPTH_MASK: u64 = 0xffff_ffff;
const STATE_SHIFT: u32 = 32;
const TRUNCATED_BIT: u64 = 1 << 40;

/// The ring. Create it with [`SampleRing::new`]; write with [`SampleRing::reserve`]
/// (producer) and read with [`SampleRing::drain`] (consumer).
pub struct SampleRing {
    words: Box<[UnsafeCell<u64>]>,
    mask: usize,
    /// Total words ever published by the producer.
    head: AtomicUsize,
    /// Total words ever released by the consumer.
    tail: AtomicUsize,
    dropped: AtomicU64,
}

// SAFETY: the words are shared between exactly one producer and one consumer. The producer
// only writes words in [head, tail + capacity) and publishes them with a Release store of
// `head`; the consumer only reads words in [tail, head) after an Acquire load of `head`, and
// gives them back with a Release store of `tail`, which the producer loads with Acquire
// before reusing them. No word is ever accessed by both sides at once.
unsafe impl Sync for SampleRing {}
// SAFETY: the ring owns its buffer; moving it between threads moves plain memory.
unsafe impl Send for SampleRing {}

impl SampleRing {
    /// A ring of at least `min_words` words (rounded up to a power of two).
    pub fn new(min_words: usize) -> SampleRing {
        let capacity = min_words.max(64).next_power_of_two();
        let words = (0..capacity).map(|_| UnsafeCell::new(0)).collect();
        SampleRing {
            words,
            mask: capacity - 1,
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Capacity in words.
    pub fn capacity_words(&self) -> usize {
        self.mask + 1
    }

    /// Records lost because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Reserves room for a record of up to `max_frames` frames, or counts a drop and
    /// returns `None` when the ring lacks the room.
    ///
    /// # Safety
    /// Only one producer may hold a [`RecordWriter`] of this ring at a time.
    pub unsafe fn reserve(&self, max_frames: usize) -> Option<RecordWriter<'_>> {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        let needed = HEADER_WORDS + max_frames * FRAME_WORDS;
        if head - tail + needed > self.capacity_words() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(RecordWriter {
            ring: self,
            start: head,
            frames: 0,
            max_frames,
        })
    }

    fn word(&self, index: usize) -> *mut u64 {
        self.words[index & self.mask].get()
    }

    /// Reads every published record, oldest first, then releases their space.
    /// `visit` gets each record's header and frames (innermost first).
    ///
    /// Must only be called from one consumer thread at a time.
    pub fn drain(&self, mut visit: impl FnMut(SampleHeader, &mut dyn Iterator<Item = RawFrame>)) {
        let head = self.head.load(Ordering::Acquire);
        let mut at = self.tail.load(Ordering::Relaxed);
        while at < head {
            // SAFETY: words in [tail, head) were published by the producer's Release store of
            // `head` (read above with Acquire) and are not written again until `tail` moves
            // past them.
            let read = |i: usize| unsafe { *self.word(i) };
            let packed = read(at + 2);
            let depth = (packed & DEPTH_MASK) as usize;
            let header = SampleHeader {
                time_ns: read(at),
                weight_ns: read(at + 1),
                state: ThreadState::from_bits((packed >> STATE_SHIFT) & 0xff),
                truncated: packed & TRUNCATED_BIT != 0,
            };
            let first = at + HEADER_WORDS;
            let mut frames = (0..depth).map(|k| {
                let base = first + k * FRAME_WORDS;
                let lines = read(base + 2);
                RawFrame {
                    qualname: read(base) as usize,
                    filename: read(base + 1) as usize,
                    line: (lines >> 32) as u32,
                    first_line: lines as u32,
                }
            });
            visit(header, &mut frames);
            at = first + depth * FRAME_WORDS;
        }
        self.tail.store(head, Ordering::Release);
    }
}

/// Room reserved in a ring for one record; frames are pushed, then the record committed.
/// Dropping it without [`RecordWriter::commit`] abandons the record.
pub struct RecordWriter<'a> {
    ring: &'a SampleRing,
    start: usize,
    frames: usize,
    max_frames: usize,
}

impl RecordWriter<'_> {
    /// Appends a frame; returns false (and stores nothing) once `max_frames` are stored.
    #[inline]
    pub fn push(&mut self, frame: RawFrame) -> bool {
        if self.frames == self.max_frames {
            return false;
        }
        let base = self.start + HEADER_WORDS + self.frames * FRAME_WORDS;
        // SAFETY: `reserve` checked that [start, start + HEADER + max_frames * FRAME) is free:
        // the consumer does not read it until `commit` publishes it.
        unsafe {
            *self.ring.word(base) = frame.qualname as u64;
            *self.ring.word(base + 1) = frame.filename as u64;
            *self.ring.word(base + 2) = (u64::from(frame.line) << 32) | u64::from(frame.first_line);
        }
        self.frames += 1;
        true
    }

    /// Writes the header and publishes the record to the consumer.
    #[inline]
    pub fn commit(self, header: SampleHeader) {
        let packed = self.frames as u64
            | ((header.state as u64) << STATE_SHIFT)
            | if header.truncated { TRUNCATED_BIT } else { 0 };
        // SAFETY: as in `push`, the header words lie inside the reserved, unpublished span.
        unsafe {
            *self.ring.word(self.start) = header.time_ns;
            *self.ring.word(self.start + 1) = header.weight_ns;
            *self.ring.word(self.start + 2) = packed;
        }
        let end = self.start + HEADER_WORDS + self.frames * FRAME_WORDS;
        self.ring.head.store(end, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: usize) -> RawFrame {
        RawFrame {
            qualname: n,
            filename: n + 1000,
            line: n as u32 + 7,
            first_line: n as u32,
        }
    }

    fn header(t: u64) -> SampleHeader {
        SampleHeader {
            time_ns: t,
            weight_ns: t * 10,
            state: ThreadState::Idle,
            truncated: t.is_multiple_of(2),
        }
    }

    fn write(ring: &SampleRing, t: u64, depth: usize) -> bool {
        // SAFETY: the test is the only producer.
        let Some(mut w) = (unsafe { ring.reserve(depth) }) else {
            return false;
        };
        for k in 0..depth {
            assert!(w.push(frame(k)));
        }
        assert!(!w.push(frame(99)), "push past max_frames must refuse");
        w.commit(header(t));
        true
    }

    fn read_all(ring: &SampleRing) -> Vec<(SampleHeader, Vec<RawFrame>)> {
        let mut out = Vec::new();
        ring.drain(|h, frames| out.push((h, frames.collect())));
        out
    }

    #[test]
    fn records_round_trip_across_wraparound() {
        let ring = SampleRing::new(64);
        let mut expected_t = 0;
        for round in 0..50u64 {
            let depth = (round % 5) as usize;
            assert!(write(&ring, round, depth));
            let got = read_all(&ring);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].0, header(round));
            assert_eq!(got[0].1, (0..depth).map(frame).collect::<Vec<_>>());
            expected_t += 1;
        }
        assert_eq!(expected_t, 50);
        assert_eq!(ring.dropped(), 0);
    }

    #[test]
    fn full_ring_counts_drops_and_recovers() {
        let ring = SampleRing::new(64);
        let mut written = 0;
        while write(&ring, written, 4) {
            written += 1;
        }
        assert_eq!(ring.dropped(), 1);
        assert_eq!(read_all(&ring).len() as u64, written);
        assert!(write(&ring, 1, 4));
    }

    #[test]
    fn producer_and_consumer_on_two_threads() {
        let ring = std::sync::Arc::new(SampleRing::new(1024));
        let producer = {
            let ring = ring.clone();
            std::thread::spawn(move || {
                let mut sent = 0u64;
                for t in 0..20_000u64 {
                    if write(&ring, t, (t % 7) as usize) {
                        sent += 1;
                    }
                }
                sent
            })
        };
        let mut received = Vec::new();
        while !producer.is_finished() {
            received.extend(read_all(&ring));
        }
        let sent = producer.join().unwrap();
        received.extend(read_all(&ring));
        assert_eq!(received.len() as u64, sent);
        assert_eq!(sent + ring.dropped(), 20_000);
        for pair in received.windows(2) {
            assert!(
                pair[0].0.time_ns < pair[1].0.time_ns,
                "records stay in order"
            );
        }
        for (h, frames) in &received {
            assert_eq!(frames.len() as u64, h.time_ns % 7);
        }
    }
}
