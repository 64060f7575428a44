//! The value `v` of Ω_Y (fetch, GP B.6 general functions) in the refine context:
//! `Ω_Y(ϱ, ω, μ, p, H_0, r, i, ī, x̄, ∅)` — the package `p`, a zero entropy `n`,
//! the authorizer trace `r`, the item index `i`, the import segments `ī` and the
//! extrinsics `x̄`; the accumulation inputs (kinds 14 and 15) are absent.

use tessera_core::codec::{encode_natural, Encode};
use tessera_core::spec::ChainSpec;
use tessera_core::types::{WorkItem, WorkPackage};

use super::Refinement;
use crate::host::constants;

/// `S(w)` (GP Ω_Y): `E(E_4(w_s), w_c, E_8(w_g, w_a), E_2(w_e, |w_i|, |w_x|),
/// E_4(|w_y|))`, a work item's summary.
pub fn item_summary(w: &WorkItem) -> Vec<u8> {
    let len = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let e2 = |x: u64, out: &mut Vec<u8>| out.extend_from_slice(&x.to_le_bytes()[..2]);
    let e4 = |x: u64, out: &mut Vec<u8>| out.extend_from_slice(&x.to_le_bytes()[..4]);
    let mut out = Vec::with_capacity(62);
    w.service.encode_to(&mut out);
    w.code_hash.encode_to(&mut out);
    w.refine_gas_limit.encode_to(&mut out);
    w.accumulate_gas_limit.encode_to(&mut out);
    e2(u64::from(w.export_count), &mut out);
    e2(len(w.import_segments.len()), &mut out);
    e2(len(w.extrinsic.len()), &mut out);
    e4(len(w.payload.0.len()), &mut out);
    out
}

/// `v` for kind `ω10` with selectors `ω11`, `ω12`; `None` (∅) for every kind the
/// refine context does not define.
pub fn value(refine: &Refinement<'_>, item: usize, kind: u64, a: u64, b: u64) -> Option<Vec<u8>> {
    let p = refine.package;
    let at = |x: u64| usize::try_from(x).ok();
    let nested = |seqs: &[Vec<Vec<u8>>], i: u64, j: u64| -> Option<Vec<u8>> {
        seqs.get(at(i)?)?.get(at(j)?).cloned()
    };
    match kind {
        // n = H_0 in refine.
        1 => Some(vec![0u8; 32]),
        2 => Some(refine.auth_trace.to_vec()),
        3 => nested(refine.extrinsics, a, b),
        4 => nested(refine.extrinsics, u64::try_from(item).ok()?, a),
        5 => nested(refine.imports, a, b),
        6 => nested(refine.imports, u64::try_from(item).ok()?, a),
        _ => package_value(refine.spec, p, kind, a),
    }
}

/// `v` for the kinds that need only the package `p` (and the constants): what
/// Ω_Y gives in Ψ_I, `Ω_Y(ϱ, ω, μ, p, ∅, ∅, ∅, ∅, ∅, ∅)` (GP B.2); `None` (∅) for
/// every other kind.
pub fn package_value(spec: &ChainSpec, p: &WorkPackage, kind: u64, a: u64) -> Option<Vec<u8>> {
    let at = |x: u64| usize::try_from(x).ok();
    match kind {
        0 => Some(constants(spec)),
        7 => Some(p.encode()),
        8 => Some(p.authorizer_config.0.clone()),
        9 => Some(p.authorization.0.clone()),
        10 => Some(p.context.encode()),
        11 => {
            let mut out = Vec::new();
            encode_natural(u64::try_from(p.items.len()).unwrap_or(u64::MAX), &mut out);
            for w in &p.items {
                out.extend_from_slice(&item_summary(w));
            }
            Some(out)
        }
        12 => p.items.get(at(a)?).map(item_summary),
        13 => p.items.get(at(a)?).map(|w| w.payload.0.clone()),
        _ => None,
    }
}
