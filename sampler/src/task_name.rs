//! The name of the asyncio task a sample was taken in, as the handler records it: plain
//! bytes of a fixed size, filled without allocating, packed into ring words. A leaf: the
//! sample records ([`crate::raw`], [`crate::ring`]) and the task naming ([`crate::task`])
//! use it.

/// The most bytes of a task's name a sample keeps (longer names are cut at a character
/// boundary).
pub const TASK_NAME_BYTES: usize = 47;

/// Ring words a task name takes: its length byte and [`TASK_NAME_BYTES`] bytes.
pub(crate) const TASK_WORDS: usize = (TASK_NAME_BYTES + 1) / 8;

/// The name of the asyncio task a sample was taken in (empty: none). Plain bytes, so that
/// the handler can fill it without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskName {
    len: u8,
    bytes: [u8; TASK_NAME_BYTES],
}

impl TaskName {
    /// No task.
    pub const NONE: TaskName = TaskName {
        len: 0,
        bytes: [0; TASK_NAME_BYTES],
    };

    /// A name from its UTF-8 bytes, cut to [`TASK_NAME_BYTES`] at a character boundary.
    #[inline]
    pub fn from_bytes(bytes: &[u8]) -> TaskName {
        let mut len = bytes.len().min(TASK_NAME_BYTES);
        if len < bytes.len() {
            // Back off over continuation bytes (0b10xx_xxxx) to the start of a character.
            while len > 0 && bytes[len] & 0xc0 == 0x80 {
                len -= 1;
            }
        }
        let mut name = TaskName::NONE;
        name.bytes[..len].copy_from_slice(&bytes[..len]);
        name.len = len as u8;
        name
    }

    /// True when the sample was taken in no task.
    pub fn is_none(&self) -> bool {
        self.len == 0
    }

    /// The name as text (invalid UTF-8, from a lone surrogate, shows as U+FFFD).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes[..usize::from(self.len)]).into_owned()
    }

    /// The name packed into ring words.
    pub(crate) fn to_words(self) -> [u64; TASK_WORDS] {
        let mut flat = [0u8; TASK_WORDS * 8];
        flat[0] = self.len;
        flat[1..].copy_from_slice(&self.bytes);
        let mut words = [0u64; TASK_WORDS];
        for (word, chunk) in words.iter_mut().zip(flat.chunks_exact(8)) {
            *word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        }
        words
    }

    /// The name [`TaskName::to_words`] packed.
    pub(crate) fn from_words(words: [u64; TASK_WORDS]) -> TaskName {
        let mut flat = [0u8; TASK_WORDS * 8];
        for (chunk, word) in flat.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        let mut name = TaskName::NONE;
        name.len = flat[0].min(TASK_NAME_BYTES as u8);
        name.bytes.copy_from_slice(&flat[1..]);
        name
    }
}

impl std::fmt::Debug for TaskName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TaskName({:?})", self.text())
    }
}
