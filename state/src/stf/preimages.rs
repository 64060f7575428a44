//! Preimage integration, GP v0.7.2 accounts.tex / "Preimage Integration" (§12.4):
//! the preimages extrinsic `E_P` supplies data that services have requested, and
//! each datum is stored in its requester's preimage dictionary `p` with its lookup
//! entry `l[(H(d), |d|)]` set to `[τ']`. The service statistics `π_S` record the
//! provision (GP 13.6).
//!
//! Block import calls [`integrate`] on δ in item form (accounts keyed by state
//! key, GP D.2). The vectors hold only the accounts' preimage parts (`a_p`,
//! `a_l`) by hash; [`apply`] converts them to item form and yields [`ItemState`].

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, Encode};
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::spec::ChainSpec;
use tessera_core::types::{PreimagesExtrinsic, ServiceId, TimeSlot};

use crate::sigma::accounts::ServiceAccount;
use crate::sigma::accounts::{AccountEntry, AccountPreimages, ServiceInfo};
use crate::stf::statistics::{service_record, ServiceStatisticsEntry};

/// One account `s ↦ a` of `δ`, with only its preimage parts.
pub type Account = AccountEntry<AccountPreimages>;

/// The state part this transition reads and writes: the accounts `δ` (preimage
/// parts, ordered by service id) and the service statistics `π_S`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// `δ`, preimage parts only.
    #[codec(seq, sorted_by = id, name = "accounts")]
    pub accounts: Vec<Account>,
    /// `π_S`, ordered by service id.
    #[codec(seq, sorted_by = id, name = "service statistics")]
    pub statistics: Vec<ServiceStatisticsEntry>,
}

/// What the block gives the transition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// `E_P`: the preimages extrinsic.
    pub preimages: PreimagesExtrinsic,
    /// `τ' = H_t`: the block's slot.
    pub slot: TimeSlot,
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

/// `R(d, s, h, l) ≡ h ∉ K(d[s]_p) ∧ d[s]_l[(h, l)] = []`: whether service `s`
/// of `d` awaits the preimage `(h, l)` (GP §12.4, `Y`). Public so that a node's
/// preimage pool admits exactly what [`integrate`] will accept.
pub fn awaited(
    accounts: &BTreeMap<ServiceId, Arc<ServiceAccount>>,
    s: ServiceId,
    h: &Hash,
    l: u32,
) -> bool {
    accounts.get(&s).is_some_and(|a| {
        a.preimage(s, h).is_none() && a.lookup(s, h, l).is_some_and(|t| t.is_empty())
    })
}

/// Preimage integration (GP v0.7.2, "Preimage Integration"): `E_P` must be
/// strictly ordered by `(s, d)` and every item awaited in the prior `δ`
/// (`∀(s, d) ∈ E_P : R(δ, s, H(d), |d|)`); then each item still awaited in the
/// post-accumulation `δ‡` is stored into it: `δ'[s]_p[H(d)] = d`,
/// `δ'[s]_l[(H(d), |d|)] = [τ']`. An item that accumulation already provided, or
/// whose service it removed, is skipped.
///
/// `accounts` is the prior δ, `post` is δ‡ (written in place to become δ'). On
/// error `post` is untouched. Returns the provision part of `π'_S` (GP 13.6):
/// per service, in order, the number of `E_P` items and their total octets.
pub fn integrate(
    accounts: &BTreeMap<ServiceId, Arc<ServiceAccount>>,
    post: &mut BTreeMap<ServiceId, Arc<ServiceAccount>>,
    extrinsic: &PreimagesExtrinsic,
    slot: TimeSlot,
) -> Result<Vec<(ServiceId, u32, u64)>, Error> {
    let preimages = &extrinsic.0;
    if preimages.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::PreimagesNotSortedUnique);
    }
    let mut keyed = Vec::with_capacity(preimages.len());
    for p in preimages {
        let h = blake2b_256(&p.blob);
        let l = u32::try_from(p.blob.len()).map_err(|_| Error::PreimageUnneeded)?;
        if !awaited(accounts, p.requester, &h, l) {
            return Err(Error::PreimageUnneeded);
        }
        keyed.push((p, h, l));
    }

    let mut provided: Vec<(ServiceId, u32, u64)> = Vec::new();
    for (p, h, l) in keyed {
        let s = p.requester;
        if awaited(post, s, &h, l) {
            if let Some(a) = post.get_mut(&s).map(Arc::make_mut) {
                a.set_preimage(s, &h, p.blob.0.clone());
                a.set_lookup(s, &h, l, &[slot]);
            }
        }
        // GP 13.6: `p = Σ (1, |d|)` over the E_P items of each service.
        let size = u64::from(l);
        match provided.last_mut() {
            Some((last, count, total)) if *last == s => {
                *count = count.saturating_add(1);
                *total = total.saturating_add(size);
            }
            _ => provided.push((s, 1, size)),
        }
    }
    Ok(provided)
}

/// Service `id`'s preimage parts as the vectors hold them, in item form (with
/// zero metadata, which this component neither reads nor writes).
pub fn account_items(id: ServiceId, data: &AccountPreimages) -> ServiceAccount {
    ServiceAccount::from_dictionaries(
        id,
        ServiceInfo::default(),
        std::iter::empty(),
        &data.preimage_blobs,
        &data.preimage_requests,
    )
}

/// The vectors' state part with δ in item form (GP D.2): what [`apply`] yields
/// and the form a vector's expected post-state is compared in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemState {
    /// δ's preimage parts in item form, by service.
    pub accounts: BTreeMap<ServiceId, ServiceAccount>,
    /// `π_S`, ordered by service id.
    pub statistics: Vec<ServiceStatisticsEntry>,
}

impl From<&State> for ItemState {
    fn from(s: &State) -> Self {
        ItemState {
            accounts: s
                .accounts
                .iter()
                .map(|a| (a.id, account_items(a.id, &a.data)))
                .collect(),
            statistics: s.statistics.clone(),
        }
    }
}

/// The preimage-integration transition on the vectors' state part: [`integrate`]
/// and the provision part of `π'_S` (GP 13.6), which replaces any provision
/// recorded for the service (`π_S` is per block).
///
/// The GP checks `R` against the prior `δ` and stores into the
/// post-accumulation `δ‡`; the vectors give one state, used as both.
pub fn apply(_spec: &ChainSpec, pre: &State, input: &Input) -> Result<(ItemState, Output), Error> {
    let accounts: BTreeMap<ServiceId, Arc<ServiceAccount>> = pre
        .accounts
        .iter()
        .map(|a| (a.id, Arc::new(account_items(a.id, &a.data))))
        .collect();
    let mut post = accounts.clone();
    let provided = integrate(&accounts, &mut post, &input.preimages, input.slot)?;
    let mut statistics = pre.statistics.clone();
    for (service, count, size) in provided {
        if let Some(record) = service_record(&mut statistics, service) {
            record.provided_count = u64::from(count);
            record.provided_size = size;
        }
    }
    Ok((
        ItemState {
            accounts: post
                .into_iter()
                .map(|(id, a)| (id, Arc::unwrap_or_clone(a)))
                .collect(),
            statistics,
        },
        (),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigma::accounts::{LookupEntry, LookupKey};
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
        /// is unneeded. The prior state round-trips through the codec.
        #[test]
        fn provide_all_then_again(
            blobs in proptest::collection::btree_set(proptest::collection::vec(any::<u8>(), 0..40), 1..6),
            slot in any::<u32>(),
        ) {
            let spec = ChainSpec::tiny();
            let blobs: Vec<Vec<u8>> = blobs.into_iter().collect();
            let pre = State { accounts: vec![requested(7, &blobs)], statistics: vec![] };
            prop_assert_eq!(decode_exact::<State>(&spec, &pre.encode()).unwrap(), pre.clone());
            let input = Input {
                preimages: PreimagesExtrinsic(blobs.iter().map(|b| Preimage { requester: 7, blob: b.clone().into() }).collect()),
                slot,
            };
            let (post, ()) = apply(&spec, &pre, &input).unwrap();
            let account = &post.accounts[&7];
            prop_assert_eq!(account.items.len(), 2 * blobs.len());
            for b in &blobs {
                let h = blake2b_256(b);
                prop_assert_eq!(account.preimage(7, &h), Some(&b[..]));
                prop_assert_eq!(account.lookup(7, &h, b.len() as u32), Some(vec![slot]));
            }
            let record = post.statistics[0].record;
            prop_assert_eq!(record.provided_count as usize, blobs.len());
            prop_assert_eq!(record.provided_size as usize, blobs.iter().map(Vec::len).sum::<usize>());
            let after: BTreeMap<ServiceId, Arc<ServiceAccount>> =
                post.accounts.iter().map(|(id, a)| (*id, Arc::new(a.clone()))).collect();
            let mut target = after.clone();
            prop_assert_eq!(integrate(&after, &mut target, &input.preimages, slot), Err(Error::PreimageUnneeded));
            prop_assert_eq!(&target, &after);
            let mut reversed = input.clone();
            reversed.preimages.0.reverse();
            if blobs.len() > 1 {
                prop_assert_eq!(apply(&spec, &pre, &reversed), Err(Error::PreimagesNotSortedUnique));
            }
        }

        /// An item still awaited in δ but already provided in δ‡ (by accumulation)
        /// is checked, counted and not stored again.
        #[test]
        fn provided_during_accumulation_is_skipped(
            blob in proptest::collection::vec(any::<u8>(), 0..40),
            slot in any::<u32>(),
        ) {
            let h = blake2b_256(&blob);
            let l = blob.len() as u32;
            let mut a = ServiceAccount::default();
            a.add_lookup(3, &h, l);
            let prior: BTreeMap<ServiceId, Arc<ServiceAccount>> = [(3, Arc::new(a.clone()))].into();
            a.set_lookup(3, &h, l, &[slot.wrapping_sub(1)]);
            a.set_preimage(3, &h, blob.clone());
            let mut post: BTreeMap<ServiceId, Arc<ServiceAccount>> = [(3, Arc::new(a))].into();
            let before = post.clone();
            let e = PreimagesExtrinsic(vec![Preimage { requester: 3, blob: blob.clone().into() }]);
            prop_assert_eq!(integrate(&prior, &mut post, &e, slot), Ok(vec![(3, 1, u64::from(l))]));
            prop_assert_eq!(post, before);
        }
    }
}
