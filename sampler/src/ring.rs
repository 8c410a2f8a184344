//! Single-producer, single-consumer rings of `u64` words holding variable-length records.
//!
//! [`WordRing`] is the mechanism; [`SampleRing`] (the handler's samples) and [`RepeatRing`]
//! (the ticker's "same stack again" records) are the two record layouts on top of it.
//!
//! A producer reserves room, writes words, and commits; the consumer drains published
//! records. Both sides only load and store atomics: no locks, no allocation, nothing that
//! can block, so the producer side is async-signal-safe. Records may wrap around the end of
//! the buffer.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::call::RawCall;
use crate::raw::{RawFrame, SampleHeader, TaskName, ThreadState};
use crate::task_name::TASK_WORDS;

/// The shared mechanism: a power-of-two buffer of words with a head and a tail.
pub struct WordRing {
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
unsafe impl Sync for WordRing {}
// SAFETY: the ring owns its buffer; moving it between threads moves plain memory.
unsafe impl Send for WordRing {}

impl WordRing {
    /// A ring of at least `min_words` words (rounded up to a power of two, at least 64).
    pub fn new(min_words: usize) -> WordRing {
        let capacity = WordRing::capacity_for(min_words);
        // Zeroed memory from the allocator (calloc): a large ring's pages cost no RSS until
        // records reach them.
        let zeroed: Box<[u64]> = vec![0u64; capacity].into_boxed_slice();
        // SAFETY: UnsafeCell<u64> has the same in-memory representation as u64, so the
        // slice's layout is unchanged; ownership moves from one box to the other.
        let words = unsafe { Box::from_raw(Box::into_raw(zeroed) as *mut [UnsafeCell<u64>]) };
        WordRing {
            words,
            mask: capacity - 1,
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// The capacity of a ring asked for `min_words` words.
    pub fn capacity_for(min_words: usize) -> usize {
        min_words.max(64).next_power_of_two()
    }

    /// Capacity in words.
    pub fn capacity_words(&self) -> usize {
        self.mask + 1
    }

    /// Capacity in bytes.
    pub fn capacity_bytes(&self) -> usize {
        self.capacity_words() * std::mem::size_of::<u64>()
    }

    /// Forgets every record and drop, for a new owner (exclusive access: nothing can be
    /// producing or consuming).
    pub(crate) fn clear(&mut self) {
        *self.head.get_mut() = 0;
        *self.tail.get_mut() = 0;
        *self.dropped.get_mut() = 0;
    }

    /// Hands the pages that lie wholly inside the buffer back to the kernel, which maps
    /// zeroed pages in again when records reach them (exclusive access, like [`clear`]).
    /// A ring that waits in the pool then costs address space, not resident memory.
    ///
    /// [`clear`]: WordRing::clear
    pub(crate) fn release_pages(&mut self) {
        // SAFETY: `sysconf` only reads a system constant.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            size if size > 0 => size as usize,
            _ => return,
        };
        let start = self.words.as_mut_ptr() as usize;
        let end = start + self.capacity_bytes();
        let first = start.div_ceil(page) * page;
        let last = end / page * page;
        if last <= first {
            return;
        }
        // SAFETY: [first, last) lies inside this ring's own buffer, to which `&mut self`
        // gives exclusive access (no producer, no consumer); the allocator's bookkeeping
        // lies outside the buffer. MADV_DONTNEED on private anonymous memory only makes
        // those pages read as zero again, which every word of an emptied ring may be.
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                last - first,
                libc::MADV_DONTNEED,
            );
        }
    }

    /// Records lost because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// True when no record waits to be drained (a cheap check for the consumer).
    pub fn is_empty(&self) -> bool {
        self.head.load(Ordering::Acquire) == self.tail.load(Ordering::Relaxed)
    }

    /// Reserves `max_words` words, or counts a drop and returns `None` when they are not free.
    ///
    /// # Safety
    /// Only one producer may hold a [`Reservation`] of this ring at a time.
    #[inline]
    pub unsafe fn reserve(&self, max_words: usize) -> Option<Reservation<'_>> {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        if head - tail + max_words > self.capacity_words() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(Reservation {
            ring: self,
            start: head,
            max_words,
        })
    }

    #[inline]
    fn word(&self, index: usize) -> *mut u64 {
        self.words[index & self.mask].get()
    }

    /// Reads every published record, oldest first, then releases their space. `visit` reads
    /// one record through the [`RecordReader`] and returns its length in words.
    ///
    /// Must only be called from one consumer thread at a time.
    pub fn drain(&self, mut visit: impl FnMut(&RecordReader<'_>) -> usize) {
        let head = self.head.load(Ordering::Acquire);
        let mut at = self.tail.load(Ordering::Relaxed);
        while at < head {
            let length = visit(&RecordReader {
                ring: self,
                start: at,
            });
            at += length.max(1);
        }
        self.tail.store(head, Ordering::Release);
    }
}

/// Room reserved in a [`WordRing`]; dropping it without [`Reservation::commit`] abandons it.
pub struct Reservation<'a> {
    ring: &'a WordRing,
    start: usize,
    max_words: usize,
}

impl Reservation<'_> {
    /// Writes word `index` of the record (`index < max_words`).
    #[inline]
    pub fn set(&mut self, index: usize, value: u64) {
        debug_assert!(index < self.max_words);
        // SAFETY: `reserve` checked that the `max_words` words from `start` are free: the
        // consumer does not read them until `commit` publishes them.
        unsafe { *self.ring.word(self.start + index) = value };
    }

    /// Writes `frame` into the [`FRAME_WORDS`] words from `base` (the one frame layout of
    /// every record kind).
    #[inline]
    pub fn set_frame(&mut self, base: usize, frame: RawFrame) {
        self.set(base, frame.qualname as u64);
        self.set(base + 1, frame.filename as u64);
        self.set(
            base + 2,
            (u64::from(frame.line) << 32) | u64::from(frame.first_line),
        );
    }

    /// Publishes the first `length` words as one record.
    #[inline]
    pub fn commit(self, length: usize) {
        self.ring
            .head
            .store(self.start + length.min(self.max_words), Ordering::Release);
    }
}

/// One published record, read by the consumer.
pub struct RecordReader<'a> {
    ring: &'a WordRing,
    start: usize,
}

impl RecordReader<'_> {
    /// Word `index` of the record.
    #[inline]
    pub fn get(&self, index: usize) -> u64 {
        // SAFETY: words in [tail, head) were published by the producer's Release store of
        // `head` (read with Acquire in `drain`) and are not written again until `tail` moves
        // past them.
        unsafe { *self.ring.word(self.start + index) }
    }

    /// The frame [`Reservation::set_frame`] wrote from word `base`.
    #[inline]
    pub fn frame(&self, base: usize) -> RawFrame {
        let lines = self.get(base + 2);
        RawFrame {
            qualname: self.get(base) as usize,
            filename: self.get(base + 1) as usize,
            line: (lines >> 32) as u32,
            first_line: lines as u32,
        }
    }
}

/// Words before the frames in a sample record: time, weight, packed depth/state/flags, and
/// the call (receiver, callee). A record taken in an asyncio task ends with the task's name
/// ([`TASK_WORDS`] words after the frames).
pub const HEADER_WORDS: usize = 5;
/// Words per frame: qualname, filename, lines.
pub const FRAME_WORDS: usize = 3;

const DEPTH_MASK: u64 = 0xffff_ffff;
const STATE_SHIFT: u32 = 32;
const TRUNCATED_BIT: u64 = 1 << 40;
/// The record ends with a task name ([`TASK_WORDS`] words after the frames).
const TASK_BIT: u64 = 1 << 41;
/// The label set id sits in the packed word's top bits ([`crate::labels::MAX_LABEL_SETS`]
/// fits in them).
const LABELS_SHIFT: u32 = 44;

/// The handler's samples: a header and the frames, innermost first.
pub struct SampleRing {
    ring: WordRing,
}

impl SampleRing {
    /// A ring of at least `min_words` words.
    pub fn new(min_words: usize) -> SampleRing {
        SampleRing::from_words(WordRing::new(min_words))
    }

    /// A ring on `ring`'s buffer (one from the ring pool).
    pub(crate) fn from_words(ring: WordRing) -> SampleRing {
        SampleRing { ring }
    }

    /// Its buffer, for the ring pool.
    pub(crate) fn into_words(self) -> WordRing {
        self.ring
    }

    /// Records lost because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.ring.dropped()
    }

    /// True when no sample waits to be drained.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Reserves room for a record of up to `max_frames` frames (counting a drop when full).
    ///
    /// # Safety
    /// Only one producer may hold a [`SampleWriter`] of this ring at a time.
    #[inline]
    pub unsafe fn reserve(&self, max_frames: usize) -> Option<SampleWriter<'_>> {
        // SAFETY: forwarded: the caller is the only producer.
        let reservation = unsafe {
            self.ring
                .reserve(HEADER_WORDS + max_frames * FRAME_WORDS + TASK_WORDS)
        }?;
        Some(SampleWriter {
            reservation,
            frames: 0,
            max_frames,
        })
    }

    /// Reads every published sample, oldest first: `visit` gets its header and its frames
    /// (innermost first). Only one consumer thread at a time.
    pub fn drain(&self, mut visit: impl FnMut(SampleHeader, &mut dyn Iterator<Item = RawFrame>)) {
        self.ring.drain(|record| {
            let packed = record.get(2);
            let depth = (packed & DEPTH_MASK) as usize;
            let frames_end = HEADER_WORDS + depth * FRAME_WORDS;
            let has_task = packed & TASK_BIT != 0;
            let task = if has_task {
                TaskName::from_words(std::array::from_fn(|k| record.get(frames_end + k)))
            } else {
                TaskName::NONE
            };
            let header = SampleHeader {
                time_ns: record.get(0),
                weight_ns: record.get(1),
                state: ThreadState::from_bits((packed >> STATE_SHIFT) & 0xff),
                truncated: packed & TRUNCATED_BIT != 0,
                task,
                labels: (packed >> LABELS_SHIFT) as crate::labels::LabelSetId,
                call: RawCall {
                    receiver: record.get(3) as usize,
                    callee: record.get(4) as usize,
                },
            };
            let mut frames = (0..depth).map(|k| record.frame(HEADER_WORDS + k * FRAME_WORDS));
            visit(header, &mut frames);
            frames_end + if has_task { TASK_WORDS } else { 0 }
        });
    }
}

/// A sample being written: push frames, then commit with the header.
pub struct SampleWriter<'a> {
    reservation: Reservation<'a>,
    frames: usize,
    max_frames: usize,
}

impl SampleWriter<'_> {
    /// Appends a frame; returns false (and stores nothing) once `max_frames` are stored.
    #[inline]
    pub fn push(&mut self, frame: RawFrame) -> bool {
        if self.frames == self.max_frames {
            return false;
        }
        self.reservation
            .set_frame(HEADER_WORDS + self.frames * FRAME_WORDS, frame);
        self.frames += 1;
        true
    }

    /// Writes the header and publishes the sample.
    #[inline]
    pub fn commit(mut self, header: SampleHeader) {
        let has_task = !header.task.is_none();
        let packed = self.frames as u64
            | ((header.state as u64) << STATE_SHIFT)
            | if header.truncated { TRUNCATED_BIT } else { 0 }
            | if has_task { TASK_BIT } else { 0 }
            | (u64::from(header.labels) << LABELS_SHIFT);
        self.reservation.set(0, header.time_ns);
        self.reservation.set(1, header.weight_ns);
        self.reservation.set(2, packed);
        self.reservation.set(3, header.call.receiver as u64);
        self.reservation.set(4, header.call.callee as u64);
        let mut length = HEADER_WORDS + self.frames * FRAME_WORDS;
        if has_task {
            for word in header.task.to_words() {
                self.reservation.set(length, word);
                length += 1;
            }
        }
        self.reservation.commit(length);
    }
}

/// A "the thread's stack is unchanged" record from the ticker: the thread had not run since
/// its sample number `seq`, so that sample's stack stands for another `weight_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repeat {
    /// The sample (numbered 1, 2, ... per thread, in the order its handler wrote them).
    pub seq: u64,
    /// When the ticker looked.
    pub time_ns: u64,
    /// The time it stands for.
    pub weight_ns: u64,
}

/// The ticker's repeat records for one thread.
pub struct RepeatRing {
    ring: WordRing,
}

impl RepeatRing {
    /// A ring for at least `records` repeats.
    pub fn new(records: usize) -> RepeatRing {
        RepeatRing::from_words(WordRing::new(RepeatRing::words_for(records)))
    }

    /// Words a ring for `records` repeats needs.
    pub(crate) fn words_for(records: usize) -> usize {
        records * 3
    }

    /// A ring on `ring`'s buffer (one from the ring pool).
    pub(crate) fn from_words(ring: WordRing) -> RepeatRing {
        RepeatRing { ring }
    }

    /// Its buffer, for the ring pool.
    pub(crate) fn into_words(self) -> WordRing {
        self.ring
    }

    /// Adds a repeat; false (and a drop counted) when full.
    ///
    /// # Safety
    /// Only one producer (the ticker) at a time.
    pub unsafe fn push(&self, repeat: Repeat) -> bool {
        // SAFETY: forwarded: the caller is the only producer.
        let Some(mut reservation) = (unsafe { self.ring.reserve(3) }) else {
            return false;
        };
        reservation.set(0, repeat.seq);
        reservation.set(1, repeat.time_ns);
        reservation.set(2, repeat.weight_ns);
        reservation.commit(3);
        true
    }

    /// Reads every published repeat, oldest first. Only one consumer at a time.
    pub fn drain(&self, mut visit: impl FnMut(Repeat)) {
        self.ring.drain(|record| {
            visit(Repeat {
                seq: record.get(0),
                time_ns: record.get(1),
                weight_ns: record.get(2),
            });
            3
        });
    }

    /// Repeats lost because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.ring.dropped()
    }

    /// True when no repeat waits to be drained.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
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
            task: if t.is_multiple_of(3) {
                TaskName::from_bytes(format!("task-{t}").as_bytes())
            } else {
                TaskName::NONE
            },
            labels: (t % 3) as u32 * 4000,
            call: RawCall {
                receiver: t as usize,
                callee: t as usize + 3,
            },
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
        for round in 0..50u64 {
            let depth = (round % 5) as usize;
            assert!(write(&ring, round, depth));
            let got = read_all(&ring);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].0, header(round));
            assert_eq!(got[0].1, (0..depth).map(frame).collect::<Vec<_>>());
        }
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

    #[test]
    fn repeats_round_trip_and_overflow_is_counted() {
        let ring = RepeatRing::new(4);
        let mut pushed = 0;
        // SAFETY: the test is the only producer.
        while unsafe {
            ring.push(Repeat {
                seq: pushed,
                time_ns: pushed * 2,
                weight_ns: 5,
            })
        } {
            pushed += 1;
        }
        assert_eq!(ring.dropped(), 1);
        let mut seen = Vec::new();
        ring.drain(|r| seen.push(r));
        assert_eq!(seen.len() as u64, pushed);
        assert_eq!(
            seen[3],
            Repeat {
                seq: 3,
                time_ns: 6,
                weight_ns: 5
            }
        );
    }
}

#[cfg(test)]
mod release_pages_tests {
    use super::*;

    /// Pages of `ring`'s buffer that are resident now, by `mincore`, among the pages that
    /// lie wholly inside it.
    fn resident_pages(ring: &WordRing) -> (usize, usize) {
        // SAFETY: `sysconf` only reads a system constant.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let start = ring.words.as_ptr() as usize;
        let first = start.div_ceil(page) * page;
        let last = (start + ring.capacity_bytes()) / page * page;
        let pages = (last - first) / page;
        let mut status = vec![0u8; pages];
        // SAFETY: [first, last) lies inside the ring's live buffer; `status` has a byte per
        // page.
        let ok = unsafe {
            libc::mincore(
                first as *mut libc::c_void,
                last - first,
                status.as_mut_ptr(),
            )
        };
        assert_eq!(ok, 0, "mincore: {}", std::io::Error::last_os_error());
        (status.iter().filter(|s| *s & 1 == 1).count(), pages)
    }

    /// The ring pool's guard against keeping written-through rings resident (BENCHMARKS.md,
    /// "Soak", third sitting): after `release_pages`, none of a filled ring's inner pages
    /// is resident, and the ring still works.
    #[test]
    fn released_pages_are_not_resident_and_the_ring_still_works() {
        let mut ring = WordRing::new(1 << 20);
        for _ in 0..ring.capacity_words() / 8 {
            // SAFETY: the test is the only producer.
            match unsafe { ring.reserve(8) } {
                Some(mut reservation) => {
                    (0..8).for_each(|i| reservation.set(i, u64::MAX));
                    reservation.commit(8);
                }
                None => break,
            }
        }
        let (resident, pages) = resident_pages(&ring);
        assert!(
            resident > pages / 2,
            "written: {resident} of {pages} resident"
        );
        ring.clear();
        ring.release_pages();
        let (resident, pages) = resident_pages(&ring);
        assert_eq!(resident, 0, "{resident} of {pages} pages still resident");
        // SAFETY: as above.
        let mut reservation = unsafe { ring.reserve(3) }.expect("room after release");
        reservation.set(0, 5);
        reservation.commit(1);
        let mut seen = Vec::new();
        ring.drain(|record| {
            seen.push(record.get(0));
            1
        });
        assert_eq!(seen, [5]);
    }
}
