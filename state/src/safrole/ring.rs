//! The ring-VRF parameters, one [`RingContext`] per ring size held for the life of
//! the process: building one reads the SRS and sets up the PIOP domain, and every
//! epoch change (ring root `γ_z`, GP 6.13) and ticket check (GP 6.29) needs it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use tessera_core::crypto::bandersnatch::{Error, PublicKey, RingCommitment, RingContext};

/// The context for rings of `ring_size` keys (the validator count `V`), built on
/// first use and shared afterwards.
pub fn context(ring_size: usize) -> Result<Arc<RingContext>, Error> {
    static CONTEXTS: OnceLock<Mutex<Vec<Arc<RingContext>>>> = OnceLock::new();
    let mut contexts = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = contexts.iter().find(|c| c.ring_size() == ring_size) {
        return Ok(Arc::clone(found));
    }
    let built = Arc::new(RingContext::new(ring_size)?);
    contexts.push(Arc::clone(&built));
    Ok(built)
}

/// How many ring roots [`root`] remembers: the key sets of the last few epochs.
const REMEMBERED_ROOTS: usize = 4;

/// `O(keys)` (GP G.3) through [`context`], remembered for the last few key sets:
/// computing a root is a KZG commitment over the whole SRS domain (tens of
/// milliseconds even for 6 keys), and consecutive epochs very often carry the
/// same keys (always, on a chain without validator changes).
pub fn root(ring_size: usize, keys: &[PublicKey]) -> Result<RingCommitment, Error> {
    type Roots = VecDeque<(Vec<PublicKey>, RingCommitment)>;
    static ROOTS: OnceLock<Mutex<Roots>> = OnceLock::new();
    let roots = ROOTS.get_or_init(Default::default);
    let lock = || {
        roots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    if let Some((_, r)) = lock().iter().find(|(k, _)| k.as_slice() == keys) {
        return Ok(*r);
    }
    let computed = context(ring_size)?.commitment(keys)?;
    let mut roots = lock();
    roots.push_back((keys.to_vec(), computed));
    while roots.len() > REMEMBERED_ROOTS {
        roots.pop_front();
    }
    Ok(computed)
}
