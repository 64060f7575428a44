//! A process-wide memo of the last few results of an expensive function that is
//! pure in its key: ring contexts, roots and verifiers
//! ([`crate::crypto::ring_cache`]), deblobbed service code (accumulation in
//! `tessera-state`). Keys hold everything the result depends on, so a hit is
//! exactly what recomputing gives, and a caller stays a pure function of its
//! arguments. It lives in core, below every crate that keeps such a memo, so the
//! same result is never cached twice in one process.

use std::collections::VecDeque;
use std::sync::Mutex;

/// The last `capacity` `(key, value)` pairs made, oldest first.
pub struct Memo<K, V> {
    capacity: usize,
    entries: Mutex<VecDeque<(K, V)>>,
}

impl<K, V> Memo<K, V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(K, V)>> {
        // A panic elsewhere cannot leave an entry half-made: entries are pushed whole.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<K, V> std::fmt::Debug for Memo<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("capacity", &self.capacity)
            .field("entries", &self.lock().len())
            .finish()
    }
}

impl<K, V: Clone> Memo<K, V> {
    /// An empty memo keeping at most `capacity` entries (usable in a `static`).
    pub const fn new(capacity: usize) -> Self {
        Memo {
            capacity,
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// The value of the entry whose key `matches`, else `make()`'s pair,
    /// remembered (evicting the oldest) when it succeeds. `make` runs without
    /// the lock held, so a slow computation does not block lookups.
    pub fn get_or_try<E>(
        &self,
        matches: impl Fn(&K) -> bool,
        make: impl FnOnce() -> Result<(K, V), E>,
    ) -> Result<V, E> {
        if let Some((_, v)) = self.lock().iter().find(|(k, _)| matches(k)) {
            return Ok(v.clone());
        }
        let (key, value) = make()?;
        let mut entries = self.lock();
        entries.push_back((key, value.clone()));
        while entries.len() > self.capacity {
            entries.pop_front();
        }
        Ok(value)
    }
}
