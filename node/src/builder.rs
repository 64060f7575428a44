//! A work-package builder for the testnet service (GP v0.7.2 §14.3, the work
//! package `P`): one work item of [`crate::testnet_service`] carrying a payload,
//! exporting [`EXPORTS`] segments and importing the segments it is given,
//! authorized by the testnet authorizer, anchored on a recent block.

use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{ImportSpec, RefineContext, WorkItem, WorkPackage};
use tessera_core::Bytes;
use tessera_state::ChainState;

use crate::testnet_service::{self, SERVICE_ID};

/// The block a package is anchored on (GP 11.32–11.33: `x_a`, `x_s`, `x_b`, and the
/// lookup anchor `x_l`, `x_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// The block's header hash.
    pub header_hash: Hash,
    /// Its posterior state root `M_σ(σ)`.
    pub state_root: Hash,
}

/// The accumulate gas each testnet work item asks for (`w_a`): ample for the
/// accumulate code's loop of one storage write per input.
pub const ACCUMULATE_GAS: u64 = 100_000;

/// The segments each testnet work item exports (`w_e`): one, so that every
/// package puts segments in the imports DA for later packages to import.
pub const EXPORTS: u16 = 1;

/// The refine gas of a testnet work item: the FNV loop costs 5 gas an octet plus
/// about 20 per 4 KiB chunk, so `8·|payload| + 10_000`, capped at `G_R`.
pub fn refine_gas(spec: &ChainSpec, payload_len: usize) -> u64 {
    let len = u64::try_from(payload_len).unwrap_or(u64::MAX);
    len.saturating_mul(8)
        .saturating_add(10_000)
        .min(spec.gas_refine)
}

/// The testnet service's package for `payload` importing `imports`, anchored on
/// `anchor`, whose posterior state is `state` (the package's `x_b` is that
/// block's BEEFY root in `β_H`, its lookup anchor is the block itself at slot
/// `τ`).
pub fn testnet_package(
    spec: &ChainSpec,
    state: &ChainState,
    anchor: &Anchor,
    payload: Vec<u8>,
    imports: Vec<ImportSpec>,
) -> WorkPackage {
    let beefy_root = state
        .beta
        .history
        .iter()
        .find(|b| b.header_hash == anchor.header_hash)
        .map(|b| b.beefy_root)
        .unwrap_or_default();
    WorkPackage {
        auth_code_host: SERVICE_ID,
        auth_code_hash: testnet_service::authorizer_code_hash(),
        context: RefineContext {
            anchor: anchor.header_hash,
            state_root: anchor.state_root,
            beefy_root,
            lookup_anchor: anchor.header_hash,
            lookup_anchor_slot: state.tau,
            prerequisites: Vec::new(),
        },
        authorization: Bytes(Vec::new()),
        authorizer_config: Bytes(testnet_service::AUTHORIZER_CONFIG.to_vec()),
        items: vec![WorkItem {
            service: SERVICE_ID,
            code_hash: testnet_service::service_code_hash(),
            refine_gas_limit: refine_gas(spec, payload.len()),
            accumulate_gas_limit: ACCUMULATE_GAS,
            export_count: EXPORTS,
            payload: Bytes(payload),
            import_segments: imports,
            extrinsic: Vec::new(),
        }],
    }
}
