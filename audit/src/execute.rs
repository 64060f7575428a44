//! The audit itself, as a pure function: given the bundle fetched for a report, the
//! state it needs and the report, decide `e_n(w)` (GP v0.7.2 §17.3,
//! `e_n(c) ⇔ w = Ξ(p, c)` when the bundle decodes to some `p`, `⊥` otherwise).
//!
//! In order: the bundle `E(p, X#(p_w), S#(p_w), J#(p_w))` (§14.4, the bundle of the
//! availability specifier) is decoded strictly ([`Bundle::decode`]: no trailing
//! octets, canonical encoding); the package hash is checked against the report's
//! availability specifier, each extrinsic against its hash and each imported segment
//! against its justification to the segment root `L(r)` (§17.2, "Data Fetching");
//! then Ξ (§14.4, eq:workdigestfunction) is recomputed: the authorizer hash, Ψ_I
//! (through [`IsAuthorized`], normally [`StateAuthorizer`]), Ψ_R for every item through `tessera-state`'s refine
//! (`I(p, j)`, [`refine_items`]), the digests `C(w, r, u)`, and the availability
//! specifier `A(H(p), E(p, x̄, ī, j̄), e)` (§14.4.1) — the erasure root through
//! [`ErasureRoot`], since the coding lives in `da`/`kernels`. The first difference
//! is the reason of a negative judgment. Auditors reuse the report's segment-root
//! lookup `l` ("Auditors are not expected to populate this but rather to reuse the
//! value in the work-report they are auditing", §14.4).
//!
//! Not here: fetching the bundle ([`crate::fetch`]). Ψ_I comes through
//! [`IsAuthorized`]; [`StateAuthorizer`] is `tessera-state`'s. `da`'s availability
//! pipeline is an [`ErasureRoot`] (behind a mutex, as it keeps buffers).

use tessera_core::codec::{Decode, DecodeError, Encode, Reader};
use tessera_core::hash::{blake2b_256, blake2b_256_concat};
use tessera_core::merkle::constant_depth;
use tessera_core::types::{
    AvailabilitySpec, CoreIndex, Gas, RefineLoad, SegmentRootLookup, WorkExecResult, WorkPackage,
    WorkReport, WorkResult,
};
use tessera_core::{ChainSpec, Hash};
use tessera_state::refine::{refine_items, HistoricalLookup, Refinement};

/// The auditable bundle (§14.4): the package, and per item its extrinsic blobs
/// `X(w)`, its imported segments `S(w)` and their justifications `J(w)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// `p`.
    pub package: WorkPackage,
    /// `X#(p_w)`: per item, each extrinsic blob.
    pub extrinsics: Vec<Vec<Vec<u8>>>,
    /// `S#(p_w)`: per item, each imported segment (`W_G` octets).
    pub imports: Vec<Vec<Vec<u8>>>,
    /// `J#(p_w)`: per item, each import's path `J_0` to its segment root.
    pub justifications: Vec<Vec<Vec<Hash>>>,
}

impl Bundle {
    /// `E(p, X#(p_w), S#(p_w), J#(p_w))`: the package, then every extrinsic blob,
    /// every imported segment and every length-prefixed justification, each in item
    /// order, with no other length prefixes (§14.4: "only the Merkle paths for the
    /// justifications have a length prefix").
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.package.encode();
        for blob in self.extrinsics.iter().flatten() {
            out.extend_from_slice(blob);
        }
        for segment in self.imports.iter().flatten() {
            out.extend_from_slice(segment);
        }
        for path in self.justifications.iter().flatten() {
            path.encode_to(&mut out);
        }
        out
    }

    /// Decode all of `bytes` as a bundle; the lengths of the blobs and the number of
    /// segments and paths come from the package's items.
    pub fn decode(spec: &ChainSpec, bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(spec, bytes);
        let package = WorkPackage::decode(&mut r)?;
        let mut extrinsics = Vec::with_capacity(package.items.len());
        for w in &package.items {
            let mut blobs = Vec::with_capacity(w.extrinsic.len());
            for x in &w.extrinsic {
                let len = usize::try_from(x.len).unwrap_or(usize::MAX);
                blobs.push(r.take(len, "extrinsic blob")?.to_vec());
            }
            extrinsics.push(blobs);
        }
        let segment = usize::try_from(spec.segment_size).unwrap_or(usize::MAX);
        let mut imports = Vec::with_capacity(package.items.len());
        for w in &package.items {
            let mut segs = Vec::with_capacity(w.import_segments.len());
            for _ in &w.import_segments {
                segs.push(r.take(segment, "imported segment")?.to_vec());
            }
            imports.push(segs);
        }
        let mut justifications = Vec::with_capacity(package.items.len());
        for w in &package.items {
            let mut paths = Vec::with_capacity(w.import_segments.len());
            for _ in &w.import_segments {
                // A path to one of at most 2^15 segments: at most 15 levels (W_M ≤ 2^15).
                paths.push(r.seq::<Hash>("import justification", Some(16))?);
            }
            justifications.push(paths);
        }
        r.finish()?;
        Ok(Bundle {
            package,
            extrinsics,
            imports,
            justifications,
        })
    }
}

/// Ψ_I (GP B.2, the Is-Authorized invocation): the authorizer trace and gas used,
/// or the error that makes the package unauthorized. [`StateAuthorizer`] is
/// `tessera-state`'s; tests may stand in their own.
pub trait IsAuthorized {
    /// `Ψ_I(p, c)`.
    fn is_authorized(
        &self,
        package: &WorkPackage,
        core: CoreIndex,
    ) -> (Result<Vec<u8>, WorkExecResult>, Gas);
}

/// Ψ_I as `tessera-state` computes it (GP B.2), with δ as `lookup`.
#[derive(Clone, Copy)]
pub struct StateAuthorizer<'a> {
    /// The chain constants.
    pub spec: &'a ChainSpec,
    /// δ, through `Λ`.
    pub lookup: &'a (dyn HistoricalLookup + Sync),
}

impl IsAuthorized for StateAuthorizer<'_> {
    fn is_authorized(
        &self,
        package: &WorkPackage,
        core: CoreIndex,
    ) -> (Result<Vec<u8>, WorkExecResult>, Gas) {
        tessera_state::authorize::psi_i(self.spec, package, core, self.lookup)
    }
}

/// The erasure root `u` of the availability specifier (§14.4.1): of the bundle's
/// chunks and the exported segments with their paged proofs. `da` computes it.
pub trait ErasureRoot {
    /// `u` for the bundle `bundle` and the exported segments `exports`.
    fn erasure_root(&self, bundle: &[u8], exports: &[Vec<u8>]) -> Hash;
}

/// What an audit needs besides the report and the bundle. Shared between threads:
/// an audit farm re-executes several reports at once.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// δ at the report's lookup anchor, through `Λ`.
    pub lookup: &'a (dyn HistoricalLookup + Sync),
    /// Ψ_I.
    pub is_authorized: &'a (dyn IsAuthorized + Sync),
    /// The erasure root of `A`.
    pub erasure_root: &'a (dyn ErasureRoot + Sync),
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

/// Why a report is judged invalid: the first way in which the bundle fails or Ξ of
/// it differs from the report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// The bundle's shards, each proven to the report's erasure root, do not lie on
    /// one codeword: the guarantors' erasure root is invalid (JAMNP-S), so no bundle
    /// is available under it.
    #[error("shard {index} is not on the codeword the others decode to: invalid erasure root")]
    InconsistentShards {
        /// A shard that disagrees.
        index: usize,
    },
    /// The bundle does not decode ("a failure to decode implies an invalid
    /// work-report", §17.3).
    #[error("the bundle does not decode: {0}")]
    Decode(#[source] DecodeError),
    /// The bundle decodes but is not the canonical encoding of what it decodes to.
    #[error("the bundle is not canonically encoded")]
    NotCanonical,
    /// `H(p)` is not the report's package hash (§17.2).
    #[error("package hash {got}, the report says {expected}")]
    PackageHash {
        /// The report's `s_h`.
        expected: Hash,
        /// `H(E(p))` of the bundle.
        got: Hash,
    },
    /// An extrinsic blob does not hash to its item's reference (§17.2).
    #[error("extrinsic {index} of item {item} does not match its hash")]
    ExtrinsicHash {
        /// The item.
        item: usize,
        /// The extrinsic's index in the item.
        index: usize,
    },
    /// An import names a work-package hash the report's lookup `l` does not map.
    #[error("import {index} of item {item} names a package the report's lookup lacks")]
    UnknownSegmentRoot {
        /// The item.
        item: usize,
        /// The import's index in the item.
        index: usize,
    },
    /// An imported segment is not proven to its segment root (§17.2).
    #[error("import {index} of item {item} is not justified by its segment root")]
    ImportJustification {
        /// The item.
        item: usize,
        /// The import's index in the item.
        index: usize,
    },
    /// A field of the report that Ξ copies or derives from the package differs.
    #[error("the report's {0} differs from the package's")]
    Field(&'static str),
    /// Ψ_I did not authorize the package, or its trace is over `W_R` (Ξ = ∇).
    #[error("the package is not authorized: {0:?}")]
    Unauthorized(WorkExecResult),
    /// The digests differ in number.
    #[error("the report has {got} digests, the package {expected} items")]
    DigestCount {
        /// `|p_w|`.
        expected: usize,
        /// `|w_d|`.
        got: usize,
    },
    /// Item `item`'s recomputed digest `C(w, r, u)` differs from the report's.
    #[error("digest {item} differs: recomputed {recomputed:?}, reported {reported:?}")]
    Digest {
        /// The item.
        item: usize,
        /// `C(w, r, u)` as recomputed.
        recomputed: Box<WorkResult>,
        /// The report's.
        reported: Box<WorkResult>,
    },
    /// The recomputed availability specifier differs.
    #[error("availability specifier differs: recomputed {recomputed:?}, reported {reported:?}")]
    AvailabilitySpec {
        /// `A(H(p), E(p, x̄, ī, j̄), e)` as recomputed.
        recomputed: Box<AvailabilitySpec>,
        /// The report's.
        reported: Box<AvailabilitySpec>,
    },
}

/// `C(w, r, u)` (§14.4): the digest of item `w` with result `r` and gas used `u`.
pub fn digest(
    w: &tessera_core::types::WorkItem,
    result: WorkExecResult,
    gas_used: Gas,
) -> WorkResult {
    WorkResult {
        service_id: w.service,
        code_hash: w.code_hash,
        payload_hash: blake2b_256(&w.payload.0),
        accumulate_gas: w.accumulate_gas_limit,
        result,
        refine_load: RefineLoad {
            gas_used,
            imports: u16::try_from(w.import_segments.len()).unwrap_or(u16::MAX),
            extrinsic_count: u16::try_from(w.extrinsic.len()).unwrap_or(u16::MAX),
            extrinsic_size: w
                .extrinsic
                .iter()
                .fold(0u32, |a, x| a.saturating_add(x.len)),
            exports: w.export_count,
        },
    }
}

/// Bit 15 of an import's index marks `h` as a work-package hash `h⊞` (GP C.2).
const PACKAGE_HASH_FLAG: u16 = 1 << 15;

/// Check the bundle's data against the report (§17.2): package hash, extrinsic
/// hashes, import justifications. A bundle that passes is the report's bundle (what
/// [`crate::fetch`] needs of one a guarantor serves).
pub fn check_data(report: &WorkReport, bundle: &Bundle) -> Result<(), Invalid> {
    let got = blake2b_256(&bundle.package.encode());
    if got != report.package_spec.hash {
        return Err(Invalid::PackageHash {
            expected: report.package_spec.hash,
            got,
        });
    }
    for (item, (w, blobs)) in bundle
        .package
        .items
        .iter()
        .zip(&bundle.extrinsics)
        .enumerate()
    {
        for (index, (x, blob)) in w.extrinsic.iter().zip(blobs).enumerate() {
            if blake2b_256(blob) != x.hash {
                return Err(Invalid::ExtrinsicHash { item, index });
            }
        }
    }
    check_justifications(bundle, &report.segment_root_lookup)
}

/// Check each import of `bundle` against its justification to the segment root
/// `L(r)` (§17.2, GP 14.14): `r` itself, or for a work-package hash `r⊞` the root
/// `lookup` (a report's `l`) gives it.
pub fn check_justifications(bundle: &Bundle, lookup: &SegmentRootLookup) -> Result<(), Invalid> {
    let items = bundle
        .package
        .items
        .iter()
        .zip(&bundle.imports)
        .zip(&bundle.justifications);
    for (item, ((w, segments), paths)) in items.enumerate() {
        let imports = w.import_segments.iter().zip(segments).zip(paths);
        for (index, ((spec, segment), path)) in imports.enumerate() {
            // L(r): a segment root as it is, a package hash through `l`.
            let root = if spec.index & PACKAGE_HASH_FLAG == 0 {
                spec.tree_root
            } else {
                *lookup
                    .get(&spec.tree_root)
                    .ok_or(Invalid::UnknownSegmentRoot { item, index })?
            };
            let n = usize::from(spec.index & !PACKAGE_HASH_FLAG);
            let leaf = constant_depth::leaf_hash(segment, blake2b_256);
            match constant_depth::root_from_justification(leaf, n, path, blake2b_256) {
                Ok(r) if r == root => {}
                _ => return Err(Invalid::ImportJustification { item, index }),
            }
        }
    }
    Ok(())
}

/// `e_n(w)` (§17.3): `Ok(())` if the report `report` is `Ξ(p, c)` for the package
/// `p` of `bundle` and its core `c`, else why not. Never panics on any bundle.
pub fn audit(
    spec: &ChainSpec,
    report: &WorkReport,
    bundle: &[u8],
    ctx: &Context<'_>,
) -> Result<(), Invalid> {
    let b = Bundle::decode(spec, bundle).map_err(Invalid::Decode)?;
    if b.encode() != bundle {
        return Err(Invalid::NotCanonical);
    }
    check_data(report, &b)?;
    let p = &b.package;
    let core = report.core_index;
    if report.context != p.context {
        return Err(Invalid::Field("refine context"));
    }
    let authorizer = blake2b_256_concat(&[&p.auth_code_hash.0, &p.authorizer_config.0]);
    if report.authorizer_hash != authorizer {
        return Err(Invalid::Field("authorizer hash"));
    }
    // (t, g) = Ψ_I(p, c); Ξ = ∇ unless t ∈ B[:W_R].
    let (trace, auth_gas) = ctx.is_authorized.is_authorized(p, core);
    let trace = trace.map_err(Invalid::Unauthorized)?;
    if trace.len() > usize::try_from(spec.max_report_output_size).unwrap_or(usize::MAX) {
        return Err(Invalid::Unauthorized(WorkExecResult::OutputOversize));
    }
    if report.auth_output.0 != trace {
        return Err(Invalid::Field("authorizer trace"));
    }
    if report.auth_gas_used != auth_gas {
        return Err(Invalid::Field("authorizer gas used"));
    }
    let refinement = Refinement {
        spec,
        core,
        package: p,
        auth_trace: &trace,
        imports: &b.imports,
        extrinsics: &b.extrinsics,
        lookup: ctx.lookup,
    };
    let outcomes = refine_items(&refinement);
    if report.results.len() != p.items.len() || outcomes.len() != p.items.len() {
        return Err(Invalid::DigestCount {
            expected: p.items.len(),
            got: report.results.len(),
        });
    }
    let mut exports = Vec::new();
    for (item, ((w, o), reported)) in p
        .items
        .iter()
        .zip(outcomes)
        .zip(&report.results)
        .enumerate()
    {
        let recomputed = digest(w, o.result, o.gas_used);
        if recomputed != *reported {
            return Err(Invalid::Digest {
                item,
                recomputed: Box::new(recomputed),
                reported: Box::new(reported.clone()),
            });
        }
        exports.extend(o.exports);
    }
    // A(H(p), E(p, x̄, ī, j̄), e) (§14.4.1): (H(p), |b|, u, M(e), |e|).
    let recomputed = AvailabilitySpec {
        hash: report.package_spec.hash,
        length: u32::try_from(bundle.len()).unwrap_or(u32::MAX),
        erasure_root: ctx.erasure_root.erasure_root(bundle, &exports),
        exports_root: constant_depth::root(&exports, blake2b_256),
        exports_count: u16::try_from(exports.len()).unwrap_or(u16::MAX),
    };
    if recomputed != report.package_spec {
        return Err(Invalid::AvailabilitySpec {
            recomputed: Box::new(recomputed),
            reported: Box::new(report.package_spec),
        });
    }
    Ok(())
}

/// `u` through `da`'s availability pipeline on its backend. (A bundle or exports the
/// pipeline refuses — a segment of the wrong size — cannot be the report's, and
/// gets the zero hash, which no erasure root equals but by a Blake2b preimage.)
impl ErasureRoot for std::sync::Mutex<tessera_da::availability::AvailabilityEngine> {
    fn erasure_root(&self, bundle: &[u8], exports: &[Vec<u8>]) -> Hash {
        let mut engine = match self.lock() {
            Ok(engine) => engine,
            Err(poisoned) => poisoned.into_inner(),
        };
        engine
            .roots(bundle, exports)
            .map(|r| r.erasure_root)
            .unwrap_or(Hash::ZERO)
    }
}
