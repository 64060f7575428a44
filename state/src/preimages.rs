//! Preimage integration, GP v0.7.2 accounts.tex / "Preimage Integration" (§12.4):
//! the preimages extrinsic `E_P` supplies data that services have requested, and
//! each datum is stored in its requester's preimage dictionary `p` with its lookup
//! entry `l[(H(d), |d|)]` set to `[τ']`. The service statistics `π_S` record the
//! provision (GP 13.6).
//!
//! Only the accounts' preimage parts (`a_p`, `a_l`) take part, as in the vectors;
//! the rest of an account joins with accumulation.

use serde::{Deserialize, Serialize};
use tessera_core::codec::{encode_seq, Decode, DecodeError, Encode, Reader};
use tessera_core::hash::blake2b_256;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{PreimagesExtrinsic, ServiceId, TimeSlot};

use crate::accounts::{decode_accounts, AccountEntry, AccountPreimages, LookupKey, PreimageEntry};
use crate::statistics::{decode_service_statistics, service_record, ServiceStatisticsEntry};

/// One account `s ↦ a` of `δ`, with only its preimage parts.
pub type Account = AccountEntry<AccountPreimages>;

/// The state part this transition reads and writes: the accounts `δ` (preimage
/// parts, ordered by service id) and the service statistics `π_S`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// `δ`, preimage parts only.
    pub accounts: Vec<Account>,
    /// `π_S`, ordered by service id.
    pub statistics: Vec<ServiceStatisticsEntry>,
}

impl Encode for State {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_seq(&self.accounts, out);
        encode_seq(&self.statistics, out);
    }
}

impl Decode for State {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(State {
            accounts: decode_accounts(r)?,
            statistics: decode_service_statistics(r)?,
        })
    }
}

/// What the block gives the transition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// `E_P`: the preimages extrinsic.
    pub preimages: PreimagesExtrinsic,
    /// `τ' = H_t`: the block's slot.
    pub slot: TimeSlot,
}

impl Encode for Input {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.preimages.encode_to(out);
        self.slot.encode_to(out);
    }
}

impl Decode for Input {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Input {
            preimages: Decode::decode(r)?,
            slot: Decode::decode(r)?,
        })
    }
}

/// The transition's output on success: none (`ok: NULL` in the vectors).
pub type Output = ();

/// The vectors' error codes (`preimages.asn`), in their encoding order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Error {
    /// A preimage no service awaits: its requester does not exist, already holds
    /// it, or has no empty lookup entry `(H(d), |d|)` (GP accounts.tex, preimage integration, `Y`).
    #[error("preimage not requested")]
    PreimageUnneeded,
    /// `E_P` is not strictly ordered by (requester, data) (GP accounts.tex, preimage integration).
    #[error("preimages not sorted and unique")]
    PreimagesNotSortedUnique,
}

error_codes!(Error {
    PreimageUnneeded = 0,
    PreimagesNotSortedUnique = 1,
});

/// `Y(δ, s, h, l) ≡ h ∉ K(δ[s]_p) ∧ δ[s]_l[(h, l)] = []`: whether service `s`
/// awaits the preimage `(h, l)`.
fn awaited(accounts: &[Account], service: ServiceId, key: LookupKey) -> bool {
    let Ok(i) = accounts.binary_search_by_key(&service, |a| a.id) else {
        return false;
    };
    let Some(account) = accounts.get(i) else {
        return false;
    };
    let data = &account.data;
    data.preimage_blobs
        .binary_search_by_key(&key.hash, |e| e.hash)
        .is_err()
        && data
            .preimage_requests
            .binary_search_by_key(&key, |e| e.key)
            .ok()
            .and_then(|j| data.preimage_requests.get(j))
            .is_some_and(|e| e.value.is_empty())
}

/// The preimage-integration transition (GP accounts.tex, preimage integration: the ordering of `E_P`, the
/// requirement that every item be awaited, and `δ'` with `p[H(d)] = d`,
/// `l[(H(d), |d|)] = [τ']`), and the provision part of `π'_S` (GP 13.6).
///
/// The GP checks `Y` against the prior `δ` and stores into the post-accumulation
/// `δ‡`; this component sees one state, which the vectors give as both.
pub fn apply(_spec: &ChainSpec, pre: &State, input: &Input) -> Result<(State, Output), Error> {
    let preimages = &input.preimages.0;
    if preimages.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::PreimagesNotSortedUnique);
    }
    let mut keyed = Vec::with_capacity(preimages.len());
    for p in preimages {
        let key = LookupKey {
            hash: blake2b_256(&p.blob),
            length: u32::try_from(p.blob.len()).map_err(|_| Error::PreimageUnneeded)?,
        };
        if !awaited(&pre.accounts, p.requester, key) {
            return Err(Error::PreimageUnneeded);
        }
        keyed.push((p, key));
    }

    let mut accounts = pre.accounts.clone();
    let mut statistics = pre.statistics.clone();
    for (p, key) in keyed {
        // `awaited` found the account and the empty request; the lookups cannot miss.
        let Ok(i) = accounts.binary_search_by_key(&p.requester, |a| a.id) else {
            return Err(Error::PreimageUnneeded);
        };
        let Some(account) = accounts.get_mut(i) else {
            return Err(Error::PreimageUnneeded);
        };
        let data = &mut account.data;
        if let Err(at) = data
            .preimage_blobs
            .binary_search_by_key(&key.hash, |e| e.hash)
        {
            data.preimage_blobs.insert(
                at,
                PreimageEntry {
                    hash: key.hash,
                    blob: p.blob.clone(),
                },
            );
        }
        if let Ok(j) = data.preimage_requests.binary_search_by_key(&key, |e| e.key) {
            if let Some(entry) = data.preimage_requests.get_mut(j) {
                entry.value = vec![input.slot];
            }
        }
    }

    // GP 13.6: the provision `p = Σ (1, |d|)` over E_P items for each service. `π_S`
    // is per block, so the sum replaces any provision recorded for the service.
    let mut provided: Vec<(ServiceId, u64, u64)> = Vec::new();
    for p in preimages {
        match provided.last_mut() {
            Some((s, count, size)) if *s == p.requester => {
                *count = count.saturating_add(1);
                *size = size.saturating_add(p.blob.len() as u64);
            }
            _ => provided.push((p.requester, 1, p.blob.len() as u64)),
        }
    }
    for (service, count, size) in provided {
        if let Some(record) = service_record(&mut statistics, service) {
            record.provided_count = count;
            record.provided_size = size;
        }
    }

    Ok((
        State {
            accounts,
            statistics,
        },
        (),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::LookupEntry;
    use proptest::prelude::*;
    use tessera_core::codec::decode_exact;
    use tessera_core::types::Preimage;

    fn requested(id: ServiceId, blobs: &[Vec<u8>]) -> Account {
        let mut preimage_requests: Vec<LookupEntry> = blobs
            .iter()
            .map(|b| LookupEntry {
                key: LookupKey {
                    hash: blake2b_256(b),
                    length: b.len() as u32,
                },
                value: vec![],
            })
            .collect();
        preimage_requests.sort_by_key(|e| e.key);
        preimage_requests.dedup_by_key(|e| e.key);
        Account {
            id,
            data: AccountPreimages {
                preimage_blobs: vec![],
                preimage_requests,
            },
        }
    }

    proptest! {
        /// Providing every requested blob (sorted) succeeds, stores each, sets its
        /// lookup to [τ'], counts the provision, and providing any again after that
        /// is unneeded. States round-trip through the codec.
        #[test]
        fn provide_all_then_again(
            blobs in proptest::collection::btree_set(proptest::collection::vec(any::<u8>(), 0..40), 1..6),
            slot in any::<u32>(),
        ) {
            let spec = ChainSpec::tiny();
            let blobs: Vec<Vec<u8>> = blobs.into_iter().collect();
            let pre = State { accounts: vec![requested(7, &blobs)], statistics: vec![] };
            let input = Input {
                preimages: PreimagesExtrinsic(blobs.iter().map(|b| Preimage { requester: 7, blob: b.clone().into() }).collect()),
                slot,
            };
            let (post, ()) = apply(&spec, &pre, &input).unwrap();
            let data = &post.accounts[0].data;
            prop_assert_eq!(data.preimage_blobs.len(), blobs.len());
            prop_assert!(data.preimage_requests.iter().all(|e| e.value == vec![slot]));
            let record = post.statistics[0].record;
            prop_assert_eq!(record.provided_count as usize, blobs.len());
            prop_assert_eq!(record.provided_size as usize, blobs.iter().map(Vec::len).sum::<usize>());
            prop_assert_eq!(decode_exact::<State>(&spec, &post.encode()).unwrap(), post.clone());
            prop_assert_eq!(apply(&spec, &post, &input), Err(Error::PreimageUnneeded));
            let mut reversed = input.clone();
            reversed.preimages.0.reverse();
            if blobs.len() > 1 {
                prop_assert_eq!(apply(&spec, &pre, &reversed), Err(Error::PreimagesNotSortedUnique));
            }
        }
    }
}
