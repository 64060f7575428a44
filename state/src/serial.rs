//! State serialization `T(σ)` (GP v0.7.2 merklization.tex, D.2) and its inverse,
//! and the state root `M_σ(σ)` (D.5) over it.
//!
//! Each component is encoded with the codec of the type that holds it (those are
//! the encodings the STF vectors use, which agree with D.2 field by field); the
//! service dictionaries are kept by state key already (see [`crate::serial::state_key`]),
//! so they pass through unchanged. Decoding is strict: every key must be one the
//! GP defines, every component must be present once and decode exactly.
//!
//! [`state_key`] places each part in the trie's key space (D.1); [`trace_file`]
//! is the vectors' form of a state as that key/value list with its root.

pub mod state_key;
pub mod trace_file;

use std::collections::BTreeMap;
use std::sync::Arc;

use tessera_core::codec::{
    decode_exact, encode_fixed_seq, encode_seq, Decode, DecodeError, Encode, Reader,
};
use tessera_core::hash::Hash;
use tessera_core::merkle::trie;
use tessera_core::spec::ChainSpec;
use tessera_core::types::ServiceId;

use crate::serial::state_key::{KeyKind, StateKey};
use crate::sigma::accounts::ServiceAccount;
use crate::sigma::accounts::ServiceInfo;
use crate::sigma::{ChainState, Gamma, Statistics};
use crate::stf::statistics::decode_service_statistics;

/// The serialized state: state key to value, ordered by key.
pub type KeyValues = BTreeMap<StateKey, Vec<u8>>;

/// Why a key/value list is not a state σ.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateDecodeError {
    /// A component's value does not decode.
    #[error("state component {name} (key C({index})): {source}")]
    Component {
        /// The component's chapter `i` of `C(i)`.
        index: u8,
        /// Its GP symbol.
        name: &'static str,
        /// The decoder's error, with the offset in the value.
        source: DecodeError,
    },
    /// A component is missing.
    #[error("state component {name} (key C({index})) is missing")]
    Missing {
        /// The chapter.
        index: u8,
        /// The GP symbol.
        name: &'static str,
    },
    /// A key `C(i)` with no component `i` in GP v0.7.2.
    #[error("state key {0} is C({1}), which GP v0.7.2 does not define")]
    UnknownComponent(StateKey, u8),
    /// Service metadata that does not decode.
    #[error("service {service} metadata (key C(255, {service})): {source}")]
    Service {
        /// The service id.
        service: ServiceId,
        /// The decoder's error.
        source: DecodeError,
    },
    /// A dictionary item of a service that has no metadata entry.
    #[error("state key {key} holds an item of service {service}, which has no account")]
    Orphan {
        /// The key.
        key: StateKey,
        /// The service its key names.
        service: ServiceId,
    },
}

/// The GP symbol of component `i`, `None` outside 1..=16.
fn component_name(i: u8) -> Option<&'static str> {
    const NAMES: [&str; 16] = [
        "α", "φ", "β", "γ", "ψ", "η", "ι", "κ", "λ", "ρ", "τ", "χ", "π", "ω", "ξ", "θ",
    ];
    NAMES.get(usize::from(i).checked_sub(1)?).copied()
}

/// The components `C(1) ..= C(16)` of GP v0.7.2.
const COMPONENTS: u8 = 16;

/// The changes that turn the items `before` into `after`, appended to `out`.
/// The two maps share every node a block did not touch (`imbl`'s persistent
/// B-tree), and the diff skips shared nodes: this costs what the block changed,
/// not what the account holds.
fn item_changes(
    before: &imbl::OrdMap<StateKey, Vec<u8>>,
    after: &imbl::OrdMap<StateKey, Vec<u8>>,
    out: &mut Vec<(StateKey, Option<Vec<u8>>)>,
) {
    use imbl::ordmap::DiffItem;
    for change in before.diff(after) {
        match change {
            DiffItem::Add(k, v) => out.push((*k, Some(v.clone()))),
            // Only for a value that differs (the diff compares them).
            DiffItem::Update { new, .. } => out.push((*new.0, Some(new.1.clone()))),
            DiffItem::Remove(k, _) => out.push((*k, None)),
        }
    }
}

fn encoded<T: Encode + ?Sized>(x: &T) -> Vec<u8> {
    let mut out = Vec::new();
    x.encode_to(&mut out);
    out
}

impl ChainState {
    /// `T(σ)` (GP D.2).
    pub fn serialize(&self) -> KeyValues {
        let mut kv = KeyValues::new();
        for i in 1..=COMPONENTS {
            kv.insert(state_key::component(i), self.component(i));
        }
        for (s, a) in &self.delta {
            kv.insert(state_key::service(*s), encoded(&a.info));
            for (k, v) in &a.items {
                kv.insert(*k, v.clone());
            }
        }
        kv
    }

    /// The value of `C(i)` in `T(σ)` (GP D.2), `i` in `1..=16` (16 beyond).
    pub fn component(&self, i: u8) -> Vec<u8> {
        match i {
            1 => encoded(&self.alpha),
            2 => encoded(&self.phi),
            3 => encoded(&self.beta),
            4 => {
                let g = &self.gamma;
                let mut out = encoded(&g.pending);
                g.ring_root.encode_to(&mut out);
                g.seal_keys.encode_to(&mut out);
                encode_seq(&g.tickets, &mut out);
                out
            }
            5 => encoded(&self.psi),
            6 => encoded(&self.eta),
            7 => encoded(&self.iota),
            8 => encoded(&self.kappa),
            9 => encoded(&self.lambda),
            10 => encoded(&self.rho),
            11 => encoded(&self.tau),
            12 => encoded(&self.chi),
            13 => {
                let p = &self.pi;
                let mut out = Vec::new();
                encode_fixed_seq(&p.current, &mut out);
                encode_fixed_seq(&p.last, &mut out);
                p.cores.encode_to(&mut out);
                encode_seq(&p.services, &mut out);
                out
            }
            14 => {
                let mut out = Vec::new();
                for slot in &self.omega {
                    encode_seq(slot, &mut out);
                }
                out
            }
            15 => {
                let mut out = Vec::new();
                for slot in &self.xi {
                    encode_seq(slot, &mut out);
                }
                out
            }
            _ => encoded(&self.theta),
        }
    }

    /// Whether component `i` is the same in `self` and `other`.
    fn same_component(&self, other: &ChainState, i: u8) -> bool {
        match i {
            1 => self.alpha == other.alpha,
            2 => self.phi == other.phi,
            3 => self.beta == other.beta,
            4 => self.gamma == other.gamma,
            5 => self.psi == other.psi,
            6 => self.eta == other.eta,
            7 => self.iota == other.iota,
            8 => self.kappa == other.kappa,
            9 => self.lambda == other.lambda,
            10 => self.rho == other.rho,
            11 => self.tau == other.tau,
            12 => self.chi == other.chi,
            13 => self.pi == other.pi,
            14 => self.omega == other.omega,
            15 => self.xi == other.xi,
            _ => self.theta == other.theta,
        }
    }

    /// What turns `T(prior)` into `T(self)` (GP D.2): each key whose value
    /// differs, with its value in `T(self)`, or `None` where `T(self)` has none;
    /// in key order. A block changes a few components and a few service items, so
    /// this costs what they cost: components are compared as values, accounts
    /// that are the same `Arc` are skipped, and the items of an account that
    /// changed are walked side by side without copying.
    pub fn serial_changes(&self, prior: &ChainState) -> Vec<(StateKey, Option<Vec<u8>>)> {
        let mut out = Vec::new();
        for i in 1..=COMPONENTS {
            if !self.same_component(prior, i) {
                out.push((state_key::component(i), Some(self.component(i))));
            }
        }
        for (s, a) in &self.delta {
            let Some(p) = prior.delta.get(s) else {
                out.push((state_key::service(*s), Some(encoded(&a.info))));
                out.extend(a.items.iter().map(|(k, v)| (*k, Some(v.clone()))));
                continue;
            };
            if Arc::ptr_eq(a, p) {
                continue;
            }
            if a.info != p.info {
                out.push((state_key::service(*s), Some(encoded(&a.info))));
            }
            item_changes(&p.items, &a.items, &mut out);
        }
        for (s, p) in &prior.delta {
            if !self.delta.contains_key(s) {
                out.push((state_key::service(*s), None));
                out.extend(p.items.keys().map(|k| (*k, None)));
            }
        }
        out.sort_by_key(|c| c.0);
        out
    }
    /// `M_σ(σ)` (GP D.5): the state root.
    pub fn root(&self) -> Hash {
        trie::state_root_of_map(&self.serialize())
    }

    /// `T⁻¹`: the state whose serialization is `kv`, or why there is none.
    pub fn deserialize(spec: &ChainSpec, kv: &KeyValues) -> Result<ChainState, StateDecodeError> {
        let mut components: [Option<&[u8]>; 16] = [None; 16];
        let mut delta: BTreeMap<ServiceId, ServiceAccount> = BTreeMap::new();
        let mut items: Vec<(ServiceId, StateKey, &[u8])> = Vec::new();
        for (k, v) in kv {
            match state_key::classify(k) {
                KeyKind::Component(i) => match components.get_mut(usize::from(i).wrapping_sub(1)) {
                    Some(slot) => *slot = Some(v),
                    None => return Err(StateDecodeError::UnknownComponent(*k, i)),
                },
                KeyKind::Service(s) => {
                    let info: ServiceInfo = decode_exact(spec, v)
                        .map_err(|source| StateDecodeError::Service { service: s, source })?;
                    delta.insert(
                        s,
                        ServiceAccount {
                            info,
                            items: imbl::OrdMap::new(),
                        },
                    );
                }
                KeyKind::ServiceItem(s) => items.push((s, *k, v)),
            }
        }
        for (s, k, v) in items {
            let account = delta
                .get_mut(&s)
                .ok_or(StateDecodeError::Orphan { key: k, service: s })?;
            account.items.insert(k, v.to_vec());
        }

        let e = usize::try_from(spec.epoch_length).unwrap_or(usize::MAX);
        let v = spec.validators();
        let c = |i: u8| Component {
            spec,
            index: i,
            bytes: components.get(usize::from(i) - 1).copied().flatten(),
        };
        Ok(ChainState {
            alpha: c(1).decode(Decode::decode)?,
            phi: c(2).decode(Decode::decode)?,
            beta: c(3).decode(Decode::decode)?,
            gamma: c(4).decode(|r| {
                Ok(Gamma {
                    pending: Decode::decode(r)?,
                    ring_root: Decode::decode(r)?,
                    seal_keys: Decode::decode(r)?,
                    tickets: r.seq("ticket accumulator γ_A", Some(e))?,
                })
            })?,
            psi: c(5).decode(Decode::decode)?,
            eta: c(6).decode(Decode::decode)?,
            iota: c(7).decode(Decode::decode)?,
            kappa: c(8).decode(Decode::decode)?,
            lambda: c(9).decode(Decode::decode)?,
            rho: c(10).decode(Decode::decode)?,
            tau: c(11).decode(Decode::decode)?,
            chi: c(12).decode(Decode::decode)?,
            pi: c(13).decode(|r| {
                Ok(Statistics {
                    current: r.fixed_seq(v)?,
                    last: r.fixed_seq(v)?,
                    cores: Decode::decode(r)?,
                    services: decode_service_statistics(r)?,
                })
            })?,
            omega: c(14).decode(|r| per_slot(r, e, "ready queue ω"))?,
            xi: c(15).decode(|r| per_slot(r, e, "accumulated ξ"))?,
            theta: c(16).decode(|r| r.seq("accumulation outputs θ", None))?,
            delta: delta.into_iter().map(|(s, a)| (s, Arc::new(a))).collect(),
        })
    }
}

/// The value of component `C(index)`, if present, to be decoded exactly.
struct Component<'a> {
    spec: &'a ChainSpec,
    index: u8,
    bytes: Option<&'a [u8]>,
}

impl Component<'_> {
    fn decode<T>(
        self,
        f: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
    ) -> Result<T, StateDecodeError> {
        let name = component_name(self.index).unwrap_or("?");
        let bytes = self.bytes.ok_or(StateDecodeError::Missing {
            index: self.index,
            name,
        })?;
        let mut r = Reader::new(self.spec, bytes);
        f(&mut r)
            .and_then(|x| r.finish().map(|()| x))
            .map_err(|source| StateDecodeError::Component {
                index: self.index,
                name,
                source,
            })
    }
}

/// `E` length-prefixed sequences, one per slot of the epoch (ω and ξ, GP D.2).
fn per_slot<T: Decode>(
    r: &mut Reader<'_>,
    e: usize,
    what: &'static str,
) -> Result<Vec<Vec<T>>, DecodeError> {
    let mut slots = Vec::with_capacity(e.min(r.remaining()));
    for _ in 0..e {
        slots.push(r.seq(what, None)?);
    }
    Ok(slots)
}
