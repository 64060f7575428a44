//! The ring-VRF parameters, one [`RingContext`] per ring size held for the life of
//! the process: building one reads the SRS and sets up the PIOP domain, and every
//! epoch change (ring root `γ_z`, GP 6.13) and ticket check (GP 6.29) needs it.

use std::sync::{Arc, Mutex, OnceLock};

use tessera_core::crypto::bandersnatch::{Error, RingContext};

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
