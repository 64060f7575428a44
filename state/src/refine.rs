//! Refinement, GP v0.7.2 pvm_invocations.tex (Ψ_R, appendix B.4) and the
//! work-item part of the work-report computation (work_packages_and_reports.tex,
//! "Computation of Work-Report", the per-item function `I(p, j)`).
//!
//! Ψ_R runs a work item's refine code, found by the historical lookup
//! `Λ(δ[w_s], (p_c)_t, w_c)`, under the refine host functions of appendix B.6/B.8
//! ([`host`]): gas, fetch, historical_lookup, export, the inner-PVM calls machine,
//! peek, poke, pages, invoke and expunge ([`guest`]), and JIP-1's log. The chain
//! state enters only through the [`HistoricalLookup`] trait, so this module needs no
//! account type.

pub mod fetch;
pub mod guest;
pub mod host;
#[cfg(test)]
mod tests;

use tessera_core::codec::{encode_natural, Encode, Reader};
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::spec::ChainSpec;
use tessera_core::types::{CoreIndex, Gas, ServiceId, TimeSlot, WorkExecResult, WorkPackage};
use tessera_pvm::{invoke_bounded_with, InvocationResult};

use host::RefineHost;

/// The entry point of the refine code (GP Ψ_R: Ψ_M at pc 0).
const REFINE_PC: u32 = 0;

/// `Λ(δ[s], t, h)` (GP accounts.tex, historical lookup): the preimage of `h` that
/// service `s` held at slot `t`.
pub trait HistoricalLookup {
    /// `Λ(δ[service], slot, hash)`; `None` when `service ∉ δ` or `Λ` gives ∅.
    fn historical_lookup(&self, service: ServiceId, slot: TimeSlot, hash: &Hash)
        -> Option<Vec<u8>>;
}

/// Why Ψ_R could not be evaluated at all (a caller error, not a work result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefineError {
    /// `p_w[i]` does not exist.
    #[error("work item {item} of a package with {items} items")]
    NoSuchItem {
        /// `i`.
        item: usize,
        /// `|p_w|`.
        items: usize,
    },
}

/// The arguments of Ψ_R shared by every item of one package: `c`, `p`, the
/// authorizer trace `r`, all items' import segments `ī` and extrinsics `x̄`, and the
/// state δ as a historical lookup.
#[derive(Clone, Copy)]
pub struct Refinement<'a> {
    /// The chain constants.
    pub spec: &'a ChainSpec,
    /// `c`: the core doing the refining.
    pub core: CoreIndex,
    /// `p`: the work package.
    pub package: &'a WorkPackage,
    /// `r`: the authorizer trace (Ψ_I's output).
    pub auth_trace: &'a [u8],
    /// `ī`: per work item, its import segments (each `W_G` octets).
    pub imports: &'a [Vec<Vec<u8>>],
    /// `x̄`: per work item, its extrinsic blobs.
    pub extrinsics: &'a [Vec<Vec<u8>>],
    /// δ, through `Λ`.
    pub lookup: &'a dyn HistoricalLookup,
}

impl std::fmt::Debug for Refinement<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refinement")
            .field("core", &self.core)
            .field("items", &self.package.items.len())
            .finish_non_exhaustive()
    }
}

/// What Ψ_R (or `I(p, j)`) yields for one item: the result, the exported segments
/// and the gas used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefineOutcome {
    /// The refine output, or the error of `E`.
    pub result: WorkExecResult,
    /// `e`: the exported segments, each `W_G` octets.
    pub exports: Vec<Vec<u8>>,
    /// `u`: gas used.
    pub gas_used: Gas,
}

impl RefineOutcome {
    fn failed(result: WorkExecResult, gas_used: Gas) -> Self {
        RefineOutcome {
            result,
            exports: Vec::new(),
            gas_used,
        }
    }
}

/// Ψ_R (GP pvm_invocations.tex, eq. refinvocation): refine item `i` of the package,
/// with `export_offset` (ς) segments exported by the items before it.
///
/// BAD when the code is not available, BIG when its preimage exceeds `W_C`;
/// otherwise Ψ_M from pc 0 with `w_g` gas and arguments `E(c, i, w_s, ↕w_y, H(p))`.
/// Out-of-gas and panic export nothing.
///
/// Deviation: a halt output longer than `W_R` is not materialised (it could be up
/// to 4 GiB of lazily mapped heap); it yields ⊖ (output oversize), which is what
/// `I(p, j)` makes of any such output, since `|r| + z > W_R` for every `z`.
pub fn psi_r(
    refine: &Refinement<'_>,
    item: usize,
    export_offset: u64,
) -> Result<RefineOutcome, RefineError> {
    let p = refine.package;
    let w = p.items.get(item).ok_or(RefineError::NoSuchItem {
        item,
        items: p.items.len(),
    })?;
    let Some(preimage) =
        refine
            .lookup
            .historical_lookup(w.service, p.context.lookup_anchor_slot, &w.code_hash)
    else {
        return Ok(RefineOutcome::failed(WorkExecResult::BadCode, 0));
    };
    if preimage.len() > usize::try_from(refine.spec.max_service_code_size).unwrap_or(usize::MAX) {
        return Ok(RefineOutcome::failed(WorkExecResult::CodeOversize, 0));
    }
    // `E(↕z, c) = Λ(…)`: a preimage that does not split has no code `c`; the GP
    // leaves that case open and it is taken as BAD (no code available).
    let Some(code) = strip_metadata(refine.spec, &preimage) else {
        return Ok(RefineOutcome::failed(WorkExecResult::BadCode, 0));
    };
    let mut args = Vec::with_capacity(w.payload.0.len() + 64);
    encode_natural(u64::from(refine.core), &mut args);
    encode_natural(u64::try_from(item).unwrap_or(u64::MAX), &mut args);
    encode_natural(u64::from(w.service), &mut args);
    w.payload.encode_to(&mut args);
    args.extend_from_slice(&blake2b_256(&p.encode()).0);

    let mut host = RefineHost::new(refine, item, export_offset);
    let max_output = refine.spec.max_report_output_size;
    let Some(program) = crate::deblobbed::standard(&w.code_hash, code) else {
        // Y or deblobbing failed: Ψ_M panics at once, using no gas.
        return Ok(RefineOutcome::failed(WorkExecResult::Panic, 0));
    };
    let (gas_used, result) = invoke_bounded_with(
        code,
        &program,
        REFINE_PC,
        w.refine_gas_limit,
        &args,
        &mut host,
        max_output,
    );
    Ok(match result {
        Err(_) => RefineOutcome::failed(WorkExecResult::OutputOversize, gas_used),
        Ok(InvocationResult::OutOfGas) => RefineOutcome::failed(WorkExecResult::OutOfGas, gas_used),
        Ok(InvocationResult::Panic) => RefineOutcome::failed(WorkExecResult::Panic, gas_used),
        Ok(InvocationResult::Output(o)) => RefineOutcome {
            result: WorkExecResult::Ok(o.into()),
            exports: host.into_exports(),
            gas_used,
        },
    })
}

/// `c` of `E(↕z, c)`: the code after the length-prefixed metadata.
pub(crate) fn strip_metadata<'b>(spec: &ChainSpec, preimage: &'b [u8]) -> Option<&'b [u8]> {
    let mut r = Reader::new(spec, preimage);
    let len = usize::try_from(r.natural("code metadata length").ok()?).ok()?;
    preimage.get(r.position().checked_add(len)?..)
}

/// `I(p, j)` for every item in order (GP work_packages_and_reports.tex): Ψ_R with
/// `ς = Σ_{k<j} w_e`, then ⊖ if `|r| + z > W_R` (`z = |o| + Σ` of the earlier
/// items' blob outputs), else ⊚ if `|e| ≠ w_e`; on any error the exports are `w_e`
/// zero segments.
pub fn refine_items(refine: &Refinement<'_>) -> Vec<RefineOutcome> {
    let spec = refine.spec;
    let limit = u64::from(spec.max_report_output_size);
    let zero_segment = vec![0u8; usize::try_from(spec.segment_size).unwrap_or(0)];
    let mut offset = 0u64;
    let mut z = u64::try_from(refine.auth_trace.len()).unwrap_or(u64::MAX);
    let mut out = Vec::with_capacity(refine.package.items.len());
    for (j, w) in refine.package.items.iter().enumerate() {
        let Ok(r) = psi_r(refine, j, offset) else {
            break;
        };
        let expected = usize::from(w.export_count);
        offset += u64::from(w.export_count);
        let zeros = || vec![zero_segment.clone(); expected];
        let size = match &r.result {
            WorkExecResult::Ok(o) => u64::try_from(o.0.len()).unwrap_or(u64::MAX),
            _ => 0,
        };
        let item = if r.result == WorkExecResult::OutputOversize || size.saturating_add(z) > limit {
            RefineOutcome {
                result: WorkExecResult::OutputOversize,
                exports: zeros(),
                gas_used: r.gas_used,
            }
        } else if r.exports.len() != expected {
            RefineOutcome {
                result: WorkExecResult::BadExports,
                exports: zeros(),
                gas_used: r.gas_used,
            }
        } else if !matches!(r.result, WorkExecResult::Ok(_)) {
            RefineOutcome {
                exports: zeros(),
                ..r
            }
        } else {
            z = z.saturating_add(size);
            r
        };
        out.push(item);
    }
    out
}
