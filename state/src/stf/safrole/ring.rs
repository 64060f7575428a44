//! The ring-VRF parameters, one [`RingContext`] per ring size held for the life of
//! the process: building one reads the SRS and sets up the PIOP domain, and every
//! epoch change (ring root `γ_z`, GP 6.13) and ticket check (GP 6.29) needs it.

use std::sync::Arc;

use tessera_core::crypto::bandersnatch::{Error, PublicKey, RingCommitment, RingContext};

use crate::memo::Memo;

/// The context for rings of `ring_size` keys (the validator count `V`), built on
/// first use and shared afterwards.
pub fn context(ring_size: usize) -> Result<Arc<RingContext>, Error> {
    // Two specs (tiny and full) per process in practice; a few more fit.
    static CONTEXTS: Memo<usize, Arc<RingContext>> = Memo::new(4);
    CONTEXTS.get_or_try(
        |size| *size == ring_size,
        || Ok((ring_size, Arc::new(RingContext::new(ring_size)?))),
    )
}

/// `O(keys)` (GP G.3) through [`context`], remembered for the last four key
/// sets: computing a root is a KZG commitment over the whole SRS domain (tens of
/// milliseconds even for 6 keys), and consecutive epochs very often carry the
/// same keys (always, on a chain without validator changes).
pub fn root(ring_size: usize, keys: &[PublicKey]) -> Result<RingCommitment, Error> {
    static ROOTS: Memo<Vec<PublicKey>, RingCommitment> = Memo::new(4);
    ROOTS.get_or_try(
        |k| k.as_slice() == keys,
        || Ok((keys.to_vec(), context(ring_size)?.commitment(keys)?)),
    )
}
