//! Selection of reports to audit, GP v0.7.2 §17.3 ("Selection of Reports"):
//! the candidates `q` (eq:auditselection), the tranche clock, tranche 0's
//! `s_0` and `a_0` (eq:initialaudit), and the per-report draw of later tranches
//! `s_n(w)` and `a_n` (eq:latertranches).
//!
//! Everything here is a pure function of its arguments; the VRFs are core's
//! Bandersnatch IETF VRF ([`bandersnatch::sign`], [`bandersnatch::verify`]) on the
//! VRF inputs of [`contexts`], and the shuffle is core's Fisher–Yates `F(s, h)`
//! ([`shuffle_by_entropy`], GP F.3), the same one the shuffle vectors test.
//!
//! GP equation labels: the auditing chapter's equations are cited by their LaTeX
//! labels (`eq:initialaudit`, …), as `core::crypto::contexts` does.

use tessera_core::crypto::bandersnatch::{self, Secret, Signature, VrfOutputHash};
use tessera_core::crypto::contexts;
use tessera_core::shuffle::shuffle_by_entropy;
use tessera_core::types::{BandersnatchPublic, CoreIndex, Header, TimeSlot, WorkReport};
use tessera_core::{ChainSpec, Hash};

use crate::error::SelectionError;

/// A tranche index `n`. JAMNP-S (CE 144) and the VRF input of eq:latertranches
/// carry it as one octet.
pub type Tranche = u8;

/// The JAM Common Era, 2025-01-01 12:00:00 UTC, in seconds since the Unix epoch
/// (GP §4.4, "The Common Era"). `T` of the tranche clock counts from here.
pub const JAM_COMMON_ERA_UNIX: u64 = 1_735_732_800;

/// `T` from a Unix time in seconds: seconds since the JAM Common Era; `None` before it.
pub fn jam_seconds(unix_seconds: u64) -> Option<u64> {
    unix_seconds.checked_sub(JAM_COMMON_ERA_UNIX)
}

/// The tranche current at time `now` (seconds since the JAM Common Era) for a block
/// of timeslot `slot` (§17.3): `n = ⌊(T − P·H_T) / A⌋`, with `P` the slot period and
/// `A` the tranche period. `None` before the slot begins (the formula is defined on
/// naturals only) or if the tranche period is zero.
pub fn tranche_at(spec: &ChainSpec, now: u64, slot: TimeSlot) -> Option<u64> {
    let slot_start = spec.slot_period_seconds.checked_mul(u64::from(slot))?;
    now.checked_sub(slot_start)?
        .checked_div(spec.audit_tranche_period)
}

/// `Y(H_V)`: the VRF output of the block's entropy source `H_V` (GP G.2), which seeds
/// every audit VRF of the block. Not verified here: the header was verified on import.
pub fn entropy_output(header: &Header) -> Result<VrfOutputHash, SelectionError> {
    Ok(bandersnatch::vrf_output(&header.entropy_source)?)
}

/// `q` (eq:auditselection): for each core `c`, the hash `H(w)` of the report that
/// just became available on `c` (`W`, the block's newly available reports), or
/// `None`. Reports are identified by hash throughout: `H(w)` is what announcements
/// and judgments name.
pub fn candidates(
    spec: &ChainSpec,
    available: &[WorkReport],
) -> Result<Vec<Option<Hash>>, SelectionError> {
    let mut q = vec![None; spec.cores()];
    for report in available {
        let core = report.core_index;
        let slot = q
            .get_mut(usize::from(core))
            .ok_or(SelectionError::CoreOutOfRange {
                core,
                cores: spec.cores(),
            })?;
        if slot.is_some() {
            return Err(SelectionError::TwoReportsOnOneCore { core });
        }
        *slot = Some(report.hash());
    }
    Ok(q)
}

pub(crate) fn check_q(spec: &ChainSpec, q: &[Option<Hash>]) -> Result<(), SelectionError> {
    if q.len() == spec.cores() {
        Ok(())
    } else {
        Err(SelectionError::CoreCount {
            expected: spec.cores(),
            got: q.len(),
        })
    }
}

/// `s_0 ∈ F̃_{κ_v,b}⟨X_U ⌢ Y(H_V)⟩([])` (eq:initialaudit): our tranche-0 evidence.
pub fn sign_initial(secret: &Secret, entropy: &VrfOutputHash) -> Result<Signature, SelectionError> {
    Ok(bandersnatch::sign(
        secret,
        &contexts::audit_initial_vrf_input(entropy),
        &[],
    )?)
}

/// Check another auditor's `s_0` (eq:initialaudit) and return `Y(s_0)`.
pub fn verify_initial(
    key: &BandersnatchPublic,
    entropy: &VrfOutputHash,
    s0: &Signature,
) -> Result<VrfOutputHash, SelectionError> {
    Ok(bandersnatch::verify(
        key,
        &contexts::audit_initial_vrf_input(entropy),
        &[],
        s0,
    )?)
}

/// `a_0` (eq:initialaudit) from `Y(s_0)`:
/// `p = F([(c, q_c) | c <- N_C], Y(s_0))` and `a_0 = {(c, w) ∈ p_{…k}, w ≠ ∅}`, with
/// `k` = [`ChainSpec::audit_tranche0_cores`] (10 in the GP). Returned in the order of
/// `p`.
pub fn initial_selection(
    spec: &ChainSpec,
    q: &[Option<Hash>],
    s0_output: &VrfOutputHash,
) -> Result<Vec<(CoreIndex, Hash)>, SelectionError> {
    check_q(spec, q)?;
    Ok(initial_from(spec, q, s0_output))
}

/// [`initial_selection`] on a `q` already checked to have `C` entries.
pub(crate) fn initial_from(
    spec: &ChainSpec,
    q: &[Option<Hash>],
    s0_output: &VrfOutputHash,
) -> Vec<(CoreIndex, Hash)> {
    let pairs: Vec<(CoreIndex, Option<Hash>)> =
        (0..spec.core_count).zip(q.iter().copied()).collect();
    let p = shuffle_by_entropy(&pairs, s0_output);
    p.into_iter()
        .take(usize::from(spec.audit_tranche0_cores))
        .filter_map(|(c, w)| w.map(|w| (c, w)))
        .collect()
}

/// `s_n(w) ∈ F̃_{κ_v,b}⟨X_U ⌢ Y(H_V) ⌢ H(w) ⌢ n⟩([])` (eq:latertranches), `n > 0`.
pub fn sign_later(
    secret: &Secret,
    entropy: &VrfOutputHash,
    report_hash: &Hash,
    tranche: Tranche,
) -> Result<Signature, SelectionError> {
    if tranche == 0 {
        return Err(SelectionError::TrancheZero);
    }
    Ok(bandersnatch::sign(
        secret,
        &contexts::audit_later_vrf_input(entropy, report_hash, tranche),
        &[],
    )?)
}

/// Check another auditor's `s_n(w)` (eq:latertranches) and return `Y(s_n(w))`.
pub fn verify_later(
    key: &BandersnatchPublic,
    entropy: &VrfOutputHash,
    report_hash: &Hash,
    tranche: Tranche,
    signature: &Signature,
) -> Result<VrfOutputHash, SelectionError> {
    if tranche == 0 {
        return Err(SelectionError::TrancheZero);
    }
    Ok(bandersnatch::verify(
        key,
        &contexts::audit_later_vrf_input(entropy, report_hash, tranche),
        &[],
        signature,
    )?)
}

/// The draw of eq:latertranches: whether `(V / (256·F))·Y(s_n(w))_0 < m_n`, with
/// `m_n = |A_{n−1}(w) ∖ J_⊤(w)|` the no-shows of the previous tranche.
///
/// Computed exactly on integers, `V·Y_0 < 256·F·m_n` (both sides of the GP's
/// inequality times `256·F > 0`): no rounding can make nodes disagree. With no
/// no-shows (`m_n = 0`) nothing is ever drawn.
pub fn later_draw(spec: &ChainSpec, output: &VrfOutputHash, no_shows: usize) -> bool {
    let y0 = u128::from(output[0]);
    let lhs = u128::from(spec.validator_count) * y0;
    let rhs = 256 * u128::from(spec.audit_bias_factor) * no_shows as u128;
    lhs < rhs
}

/// Why a report is in our `a_n` for `n > 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// `Y(s_n(w))` drew it for this many no-shows of tranche `n − 1`
    /// (eq:latertranches).
    NoShows(usize),
    /// A negative judgment on it is known: "the validator is always required to
    /// issue a judgment" (§17.3, on new tranches).
    NegativeJudgment,
}

/// One report of our `a_n`, `n > 0`, with its evidence `s_n(w)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaterPick {
    /// `c`.
    pub core: CoreIndex,
    /// `H(w)`.
    pub report_hash: Hash,
    /// `s_n(w)`.
    pub signature: Signature,
    /// Why it is ours to audit.
    pub reason: Reason,
}

/// What the draw of tranche `n > 0` needs to know of the other auditors, for one
/// auditor: the view the tracker ([`crate::tracker::BlockAudit`]) keeps.
pub trait TrancheView {
    /// Whether we announced report `w` already (an auditor never announces a report
    /// twice, JAMNP-S CE 144).
    fn announced_by_us(&self, report_hash: &Hash) -> bool;
    /// `m_n = |A_{n−1}(w) ∖ J_⊤(w)|` (eq:latertranches).
    fn no_shows(&self, report_hash: &Hash, tranche: Tranche) -> usize;
    /// Whether `J_⊥(w) ≠ ∅`.
    fn negative(&self, report_hash: &Hash) -> bool;
}

/// Our `a_n` for `n > 0` (eq:latertranches) among `q`, skipping reports `view` says
/// we announced already. A report with a known negative judgment is ours whatever
/// the draw says (its `s_n(w)` is still made: CE 144 evidence carries one per
/// report).
pub fn later_selection(
    spec: &ChainSpec,
    secret: &Secret,
    entropy: &VrfOutputHash,
    q: &[Option<Hash>],
    tranche: Tranche,
    view: &impl TrancheView,
) -> Result<Vec<LaterPick>, SelectionError> {
    check_q(spec, q)?;
    if tranche == 0 {
        return Err(SelectionError::TrancheZero);
    }
    let mut picks = Vec::new();
    for (core, w) in (0..spec.core_count).zip(q.iter()) {
        let Some(w) = w else { continue };
        if view.announced_by_us(w) {
            continue;
        }
        let m = view.no_shows(w, tranche);
        let must = view.negative(w);
        if m == 0 && !must {
            // No draw can select it (`later_draw` is false for m = 0): spare the VRF.
            continue;
        }
        let signature = sign_later(secret, entropy, w, tranche)?;
        let output = bandersnatch::vrf_output(&signature)?;
        let reason = if later_draw(spec, &output, m) {
            Reason::NoShows(m)
        } else if must {
            Reason::NegativeJudgment
        } else {
            continue;
        };
        picks.push(LaterPick {
            core,
            report_hash: *w,
            signature,
            reason,
        });
    }
    Ok(picks)
}
