//! The partial state `e ∈ S` of accumulation (GP accumulation.tex, 12.13): the
//! service accounts `d`, the staged validator keys `i` (ι), the authorizer queues
//! `q` (φ) and the privileges `m`, `a`, `v`, `r`, `z` (χ).

use std::collections::BTreeMap;
use std::sync::Arc;

use tessera_core::hash::Hash;
use tessera_core::types::{Gas, ServiceId};

use crate::sigma::accounts::ServiceAccount;

/// χ without its accumulation form: manager `m`, assigners `a` (one per core),
/// delegator `v`, registrar `r` and always-accumulate services `z` with their gas.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Privileges {
    /// `χ_M`: the manager (may bless).
    pub manager: ServiceId,
    /// `χ_A`: each core's assigner.
    pub assigners: Vec<ServiceId>,
    /// `χ_V`: the delegator (may designate).
    pub delegator: ServiceId,
    /// `χ_R`: the registrar (may create services below `S`).
    pub registrar: ServiceId,
    /// `χ_Z`: services accumulated every block, with their free gas.
    pub always_accumulate: BTreeMap<ServiceId, Gas>,
}

/// One staged validator key `K` (336 octets: Bandersnatch, Ed25519, BLS, metadata).
pub type ValidatorKey = Vec<u8>;

/// `e = (d, i, q, m, a, v, r, z)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartialState {
    /// `d`: the service accounts (shared until written, so that each single-service
    /// accumulation's copy of `e` is cheap).
    pub accounts: BTreeMap<ServiceId, Arc<ServiceAccount>>,
    /// `i`: the staged validator keys ι (empty until designated, where the caller
    /// does not supply them).
    pub staging: Vec<ValidatorKey>,
    /// `q`: the authorizer queues φ, one per core (empty where not supplied).
    pub auth_queues: Vec<Vec<Hash>>,
    /// `(m, a, v, r, z)`.
    pub privileges: Privileges,
}

impl PartialState {
    /// A writable account `s`, if it exists.
    pub fn account_mut(&mut self, s: ServiceId) -> Option<&mut ServiceAccount> {
        self.accounts.get_mut(&s).map(Arc::make_mut)
    }

    /// Account `s`, if it exists.
    pub fn account(&self, s: ServiceId) -> Option<&ServiceAccount> {
        self.accounts.get(&s).map(|a| a.as_ref())
    }
}
