//! The extrinsic pools a block author draws from (GP v0.7.2 §5.1, §10, §11):
//! guarantees received over CE 135 (or made here), assurances over CE 141
//! ([`AssurancePool`], checked in one batch when a block is built), the
//! disputes this node's audits produced (verdicts with their culprits and
//! faults, GP 10.2–10.7), and the preimages services have solicited
//! ([`crate::preimages::PreimagePool`], GP §12.4).
//!
//! [`Pools::extrinsic`] keeps only what can be valid on the parent state: an
//! assurance's bits only for engaged cores (GP 11.15), one guarantee per core
//! whose core is free once this block's assurances and timeouts are applied
//! (GP 11.29), verdicts not already judged (GP 10.16), preimages still awaited
//! (GP §12.4). The author still tries the block on the state before sealing it
//! for good (see [`crate::node`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tessera_core::crypto::ed25519::PublicKey;
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{
    CoreIndex, Culprit, DisputesExtrinsic, Extrinsic, Fault, Guarantee, GuaranteesExtrinsic,
    TimeSlot, Verdict,
};
use tessera_da::assurance::AssurancePool;
use tessera_kernels::Backend;
use tessera_net::messages::{AssuranceDistribution, AssuranceMessage, WorkReportDistribution};
use tessera_net::{Network, Refusal};
use tessera_state::stf::disputes::{self, DisputesInput};
use tessera_state::stf::disputes_state;
use tessera_state::ChainState;
use tracing::{debug, warn};

use crate::preimages::PreimagePool;
use crate::tickets::TicketPool;

/// Guarantees kept per core (the newest few; older ones are superseded).
const GUARANTEES_PER_CORE: usize = 4;

/// The pools.
pub struct Pools {
    spec: ChainSpec,
    /// Guarantees by core, oldest first.
    guarantees: BTreeMap<CoreIndex, Vec<Guarantee>>,
    /// Assurances (CE 141).
    pub assurances: AssurancePool,
    /// Verdicts to put on chain, by report hash, with their culprits and faults.
    disputes: BTreeMap<Hash, (Verdict, Vec<Culprit>, Vec<Fault>)>,
    /// Safrole tickets (CE 132).
    pub tickets: TicketPool,
    /// Solicited preimages (JIP-2 `submitPreimage`, CE 142/143).
    pub preimages: PreimagePool,
}

impl Pools {
    /// Empty pools for validators `keys` (`κ`'s Ed25519 keys), checking assurance
    /// batches on `backend`.
    pub fn new(spec: &ChainSpec, backend: Backend, keys: Vec<PublicKey>) -> Pools {
        Pools {
            spec: spec.clone(),
            guarantees: BTreeMap::new(),
            assurances: AssurancePool::new(spec, backend, keys),
            disputes: BTreeMap::new(),
            tickets: TicketPool::default(),
            preimages: PreimagePool::new(spec),
        }
    }

    /// Take a guarantee (CE 135, or our own).
    pub fn add_guarantee(&mut self, g: Guarantee) {
        let queue = self.guarantees.entry(g.report.core_index).or_default();
        if queue.iter().any(|q| q.report.hash() == g.report.hash()) {
            return;
        }
        queue.push(g);
        if queue.len() > GUARANTEES_PER_CORE {
            queue.remove(0);
        }
    }

    /// Take a verdict and what goes with it.
    pub fn add_dispute(&mut self, verdict: Verdict, culprits: Vec<Culprit>, faults: Vec<Fault>) {
        self.disputes
            .entry(verdict.target)
            .or_insert((verdict, culprits, faults));
    }

    /// Check assurances against `keys` (a new `κ`) from now on.
    pub fn set_validators(&mut self, keys: Vec<PublicKey>) {
        self.assurances.set_validators(keys);
    }

    /// Drop what `state` (a new best state) has made stale: guarantees whose
    /// report is pending or was accumulated or is older than a rotation, and
    /// verdicts already judged, preimages no longer awaited.
    pub fn prune(&mut self, state: &ChainState) {
        self.preimages.prune(state);
        let pending: Vec<Hash> = state
            .rho
            .0
            .iter()
            .flatten()
            .map(|p| p.report.hash())
            .collect();
        let accumulated: Vec<Hash> = state.xi.iter().flatten().copied().collect();
        let oldest = state.tau.saturating_sub(self.spec.rotation_period);
        // GP 11.21–11.22: a guarantor whose key is in `ψ_O` is banned (its key is
        // nulled in the guarantor assignment); `κ` and `λ` both, as a guarantee
        // of the previous rotation is checked against either.
        let banned = |v: u16| {
            [&state.kappa, &state.lambda].iter().any(|set| {
                set.ed25519(v)
                    .is_some_and(|k| state.psi.offenders.contains(k))
            })
        };
        for queue in self.guarantees.values_mut() {
            queue.retain(|g| {
                g.slot >= oldest
                    && !pending.contains(&g.report.hash())
                    && !accumulated.contains(&g.report.package_spec.hash)
                    && !g.signatures.iter().any(|s| banned(s.validator_index))
            });
        }
        let psi = &state.psi;
        self.disputes.retain(|target, _| {
            !psi.good.contains(target) && !psi.bad.contains(target) && !psi.wonky.contains(target)
        });
    }

    /// Guarantees waiting, per core (`C` entries).
    pub fn guarantees_by_core(&self) -> Vec<usize> {
        (0..self.spec.cores())
            .map(|c| {
                u16::try_from(c)
                    .ok()
                    .and_then(|c| self.guarantees.get(&c))
                    .map_or(0, Vec::len)
            })
            .collect()
    }

    /// Guarantees and verdicts waiting.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.guarantees.values().map(Vec::len).sum(),
            self.disputes.len(),
        )
    }

    /// The extrinsic of a block at `slot` on the parent `parent` with state
    /// `prior`.
    pub fn extrinsic(&mut self, prior: &ChainState, parent: &Hash, slot: TimeSlot) -> Extrinsic {
        let mut disputes = DisputesExtrinsic::default();
        for (verdict, culprits, faults) in self.disputes.values() {
            disputes.verdicts.push(verdict.clone());
            disputes.culprits.extend(culprits.iter().cloned());
            disputes.faults.extend(faults.iter().cloned());
        }
        // GP 10.7–10.9: ordered and unique.
        disputes.verdicts.sort_by_key(|v| v.target);
        disputes.culprits.sort_by_key(|c| c.key);
        disputes.culprits.dedup_by_key(|c| c.key);
        disputes.faults.sort_by_key(|f| f.key);
        disputes.faults.dedup_by_key(|f| f.key);
        // `ρ†` (GP 10.15), from the disputes transition itself: the verdicts clear
        // every pending report not judged good — the case when this block is
        // authored on the parent of a disregarded block (GP §17.4), whose report
        // is still pending here. (Disputes that fail leave `ρ`: the block will
        // fail on them anyway, and `author::admissible` takes over.)
        let rho_dagger = if disputes.verdicts.is_empty() {
            prior.rho.clone()
        } else {
            disputes::apply(
                &self.spec,
                &disputes_state(prior),
                &DisputesInput {
                    disputes: disputes.clone(),
                },
            )
            .map_or_else(|_| prior.rho.clone(), |(post, _)| post.rho)
        };
        let pending = |core: usize| rho_dagger.get(core);
        self.assurances.check();
        // GP 11.15: bits only for cores engaged in `ρ†`.
        let mut assurances = self.assurances.for_block(parent);
        assurances.0.retain(|a| {
            (0..self.spec.cores()).all(|c| !a.bitfield.is_set(c) || pending(c).is_some())
        });
        // GP 11.13: signed by the assurer's key in the parent's κ — which an epoch
        // change may have replaced (offenders' keys are nulled, GP 6.14).
        assurances.0.retain(|a| {
            prior.kappa.ed25519(a.validator_index).is_some_and(|key| {
                let message =
                    tessera_core::crypto::contexts::assurance_message(&a.anchor, &a.bitfield);
                key.verify(&message, &a.signature).is_ok()
            })
        });
        // Which cores this block frees (GP 11.16–11.17).
        let threshold = self.spec.supermajority();
        let free = |core: usize| match pending(core) {
            None => true,
            Some(p) => {
                let assured = assurances
                    .0
                    .iter()
                    .filter(|a| a.bitfield.is_set(core))
                    .count();
                assured >= threshold
                    || u64::from(slot)
                        >= u64::from(p.timeout) + u64::from(self.spec.availability_timeout)
            }
        };
        // GP 11.29: a guarantee of this rotation or the previous one,
        // `t ≥ R(⌊τ'/R⌋ − 1)`; GP 11.32: its anchor in the recent history.
        let rotation = self.spec.rotation_period.max(1);
        let earliest = rotation * (slot / rotation).saturating_sub(1);
        let anchored = |g: &Guarantee| {
            prior
                .beta
                .history
                .iter()
                .any(|b| b.header_hash == g.report.context.anchor)
        };
        let mut guarantees: Vec<Guarantee> = self
            .guarantees
            .iter()
            .filter(|(core, _)| free(usize::from(**core)))
            // The oldest first: one guarantee per core per block (GP 11.24) and a
            // new one each slot, so newest-first would starve a guarantee that
            // once missed its block until it aged out.
            .filter_map(|(_, q)| {
                q.iter()
                    .find(|g| g.slot <= slot && g.slot >= earliest && anchored(g))
                    .cloned()
            })
            .collect();
        guarantees.sort_by_key(|g| g.report.core_index);
        Extrinsic {
            tickets: self.tickets.extrinsic(&self.spec, prior, slot),
            assurances,
            guarantees: GuaranteesExtrinsic(guarantees),
            disputes,
            // GP §12.4: awaited in the parent's δ, ordered and unique.
            preimages: self.preimages.extrinsic(prior),
        }
    }
}

/// Register the CE 135 and CE 141 handlers: guarantees from guarantors and
/// assurances from assurers go into `pools`.
pub fn register(network: &Network, pools: Arc<Mutex<Pools>>) {
    let assured = pools.clone();
    network.register::<AssuranceDistribution, _, _>(move |peer, msg: AssuranceMessage| {
        let pools = assured.clone();
        async move {
            let taken = pools
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .assurances
                .receive(&peer, msg);
            match taken {
                Ok(index) => {
                    debug!(%peer, validator = index, "assurance received");
                    Ok(())
                }
                Err(e) => {
                    warn!(%peer, error = %e, "assurance refused");
                    Err(Refusal(e.to_string()))
                }
            }
        }
    });
    network.register::<WorkReportDistribution, _, _>(move |peer, g: Guarantee| {
        let pools = pools.clone();
        async move {
            if g.signatures.len() < 2 {
                return Err(Refusal("a guarantee needs two or three credentials".into()));
            }
            debug!(%peer, core = g.report.core_index, "guarantee received");
            pools
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .add_guarantee(g);
            Ok(())
        }
    });
}
