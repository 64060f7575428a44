//! Authorizations, GP v0.7.2 authorization.tex (§8): each core's authorizer pool
//! `α` and queue `φ`. Every block, a core's pool loses the authorizer its
//! guarantee (if any) used, the oldest such entry, and gains the queue item for
//! the block's slot, keeping the newest `O` (GP 8.2–8.3).

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, Encode};
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{CoreIndex, TimeSlot};

/// `α ∈ ⟦⟦H⟧_{:O}⟧_C` (GP 8.1): per core, the authorizers currently allowed,
/// oldest first. Encoded as `C` pools, each length-prefixed; JSON is the array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(transparent)]
pub struct AuthPools(
    #[codec(
        len = spec.cores(),
        each(seq, max = spec.auth_pool_size as usize, name = "authorizer pool")
    )]
    pub Vec<Vec<Hash>>,
);

/// `φ ∈ ⟦⟦H⟧_Q⟧_C` (GP 8.1): per core, the `Q` authorizers the pool draws from,
/// one per slot. Encoded as `C` queues of exactly `Q` hashes; JSON is the array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(transparent)]
pub struct AuthQueues(
    #[codec(len = spec.cores(), each(len = spec.auth_queue_size as usize))] pub Vec<Vec<Hash>>,
);

/// The state part this transition reads: `α` then `φ`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// `α`: the authorizer pools.
    pub auth_pools: AuthPools,
    /// `φ`: the authorizer queues.
    pub auth_queues: AuthQueues,
}

/// The authorizer a guarantee of the block used: `((g_r)_c, (g_r)_a)` for
/// `g ∈ E_G` (GP 8.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct CoreAuthorizer {
    /// The core the guaranteed report is for.
    pub core: CoreIndex,
    /// The authorizer hash of that report.
    pub auth_hash: Hash,
}

/// What the block gives the transition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// `H_t`: the block's slot.
    pub slot: TimeSlot,
    /// The authorizers used by the block's guarantees, at most one per core.
    #[codec(seq, max = spec.cores(), name = "core authorizers")]
    pub auths: Vec<CoreAuthorizer>,
}

/// The transition's output: none (the vectors' `Output ::= NULL`).
pub type Output = ();

/// Why the transition rejects its input or state. The vectors define no error for
/// this component; these are shapes the GP's types exclude (`N_C` core indices,
/// `C` pools and queues of `Q` items).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A guarantee names a core the spec does not have.
    #[error("core index {0} out of range")]
    BadCoreIndex(CoreIndex),
    /// The state does not hold `C` pools and `C` queues of `Q` hashes.
    #[error("authorization state does not match the chain spec")]
    BadStateShape,
}

/// The authorization transition `α → α'` (GP 8.2–8.3). `φ` is read as `φ'`: this
/// runs after accumulation, which alone may change the queue.
pub fn apply(spec: &ChainSpec, pre: &State, input: &Input) -> Result<(State, Output), Error> {
    let cores = spec.cores();
    let queue_size = spec.auth_queue_size as usize;
    if pre.auth_pools.0.len() != cores
        || pre.auth_queues.0.len() != cores
        || pre.auth_queues.0.iter().any(|q| q.len() != queue_size)
    {
        return Err(Error::BadStateShape);
    }
    if let Some(bad) = input.auths.iter().find(|a| usize::from(a.core) >= cores) {
        return Err(Error::BadCoreIndex(bad.core));
    }

    let slot = input.slot as usize;
    let pool_size = spec.auth_pool_size as usize;
    let mut auth_pools = pre.auth_pools.clone();
    for (core, (pool, queue)) in auth_pools.0.iter_mut().zip(&pre.auth_queues.0).enumerate() {
        // GP 8.3: F(c) = α[c] ⊖ {(g_r)_a}, removing the leftmost (oldest) match only.
        for used in input.auths.iter().filter(|a| usize::from(a.core) == core) {
            if let Some(i) = pool.iter().position(|h| *h == used.auth_hash) {
                pool.remove(i);
            }
        }
        // GP 8.2: append φ'[c][H_t mod Q] and keep the newest `O`.
        if let Some(next) = queue.get(slot % queue_size) {
            pool.push(*next);
        }
        let excess = pool.len().saturating_sub(pool_size);
        pool.drain(..excess);
    }
    Ok((
        State {
            auth_pools,
            auth_queues: pre.auth_queues.clone(),
        },
        (),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(i: u8) -> Hash {
        Hash::from([i; 32])
    }

    fn state(spec: &ChainSpec, pool: Vec<Hash>) -> State {
        State {
            auth_pools: AuthPools(vec![pool; spec.cores()]),
            auth_queues: AuthQueues(vec![(0..80).map(|i| h(100 + i)).collect(); spec.cores()]),
        }
    }

    #[test]
    fn only_the_oldest_duplicate_is_removed() {
        let spec = ChainSpec::tiny();
        let pre = state(&spec, vec![h(1), h(2), h(1)]);
        let input = Input {
            slot: 3,
            auths: vec![CoreAuthorizer {
                core: 0,
                auth_hash: h(1),
            }],
        };
        let (post, ()) = apply(&spec, &pre, &input).unwrap();
        assert_eq!(post.auth_pools.0[0], vec![h(2), h(1), h(103)]);
        assert_eq!(post.auth_pools.0[1], vec![h(1), h(2), h(1), h(103)]);
    }

    #[test]
    fn bad_core_is_an_error() {
        let spec = ChainSpec::tiny();
        let input = Input {
            slot: 0,
            auths: vec![CoreAuthorizer {
                core: 2,
                auth_hash: h(1),
            }],
        };
        assert_eq!(
            apply(&spec, &state(&spec, vec![]), &input),
            Err(Error::BadCoreIndex(2))
        );
    }

    proptest! {
        /// Pools never exceed `O` and always end with the slot's queue item.
        #[test]
        fn pools_stay_bounded(len in 0usize..=8, slot in any::<u32>()) {
            let spec = ChainSpec::tiny();
            let pre = state(&spec, (0..len as u8).map(h).collect());
            let (post, ()) = apply(&spec, &pre, &Input { slot, auths: vec![] }).unwrap();
            for pool in &post.auth_pools.0 {
                prop_assert!(pool.len() <= spec.auth_pool_size as usize);
                prop_assert_eq!(pool.last(), Some(&h(100 + (slot % 80) as u8)));
            }
        }
    }
}
