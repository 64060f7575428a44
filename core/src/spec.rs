//! The chain specification: every GP v0.7.2 constant (definitions.tex, "Constants"),
//! as a runtime value.
//!
//! One binary serves both the `full` chain (the GP values) and the `tiny` chain the
//! official vectors use. Nothing here is a cargo feature or a global: callers pass
//! `&ChainSpec` to whatever needs it.

use serde::{Deserialize, Serialize};

/// Which of the built-in chain specifications a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecName {
    /// The `tiny` test configuration of the official vectors (6 validators, 2 cores).
    Tiny,
    /// The full GP v0.7.2 configuration (1023 validators, 341 cores).
    Full,
}

impl std::fmt::Display for SpecName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SpecName::Tiny => "tiny",
            SpecName::Full => "full",
        })
    }
}

impl std::str::FromStr for SpecName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tiny" => Ok(SpecName::Tiny),
            "full" => Ok(SpecName::Full),
            other => Err(format!(
                "unknown chain spec `{other}`: expected `tiny` or `full`"
            )),
        }
    }
}

/// Every protocol constant of GP v0.7.2 (definitions.tex). Field names are the GP
/// symbols spelled out; each doc comment gives the symbol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainSpec {
    /// Which built-in spec this is.
    pub name: SpecName,
    /// `A`: the period, in seconds, between audit tranches (GP §17.3, the tranche
    /// index `n = ⌊(T − P·H_T)/A⌋`). Full: 8. Tiny: 8 as well (the GP gives no tiny
    /// value; the tiny chain keeps the full slot period `P = 6`, so the same
    /// tranche period keeps the same tranches per slot).
    pub audit_tranche_period: u64,
    /// The number of cores each auditor draws in tranche 0: the `10` of
    /// eq:initialaudit (`a_0` is taken from `p_{…10}`, the first ten entries of the
    /// shuffled cores). The GP names no symbol and gives no tiny value. Full: 10.
    /// Tiny: 2, every core (Tessera's choice). A report that no validator draws in
    /// tranche 0 is never audited: later tranches draw only for no-shows
    /// (eq:latertranches, `m_n = |A_{n−1}(w) ∖ J_⊤(w)|`), and `U(w)` needs a
    /// tranche whose announcers all judged. That happens with probability
    /// `(1 − k/C)^V`: 5·10⁻¹⁴ at full scale (10 of 341 cores, about 30 of 1023
    /// auditors a report), but 1/64 a report at tiny scale with `k = 1` — a
    /// testnet then stopped finalizing within a minute (the block stayed
    /// unaudited, GRANDPA votes only for audited blocks). Only `k = C` makes it
    /// impossible with 2 cores, so every tiny validator audits every report in
    /// tranche 0, as many auditors a report (6) as full scale's share of 30
    /// allows. Later tranches still run on no-shows (an auditor that is down or
    /// cannot fetch) and on negative judgments.
    pub audit_tranche0_cores: u16,
    /// `B_I`: the additional minimum balance required per item of elective service state.
    pub balance_per_item: u64,
    /// `B_L`: the additional minimum balance required per octet of elective service state.
    pub balance_per_octet: u64,
    /// `B_S`: the basic minimum balance which all services require.
    pub balance_per_service: u64,
    /// `C`: the total number of cores.
    pub core_count: u16,
    /// `D`: the period in timeslots after which an unreferenced preimage may be expunged.
    pub preimage_expunge_period: u32,
    /// `E`: the length of an epoch in timeslots.
    pub epoch_length: u32,
    /// `F`: the audit bias factor, the expected number of additional validators who
    /// will audit a report that has a no-show (eq:latertranches). Full: 2. Tiny: 2
    /// as well (the GP gives no tiny value): a validator is drawn for `m` no-shows
    /// with probability `256·F·m / (256·V)`, so the expected number drawn is `F·m`
    /// whatever `V` is; the factor means the same on 6 validators as on 1023.
    pub audit_bias_factor: u32,
    /// `G_A`: the gas allocated to invoke a work-report's Accumulation logic.
    pub gas_accumulate_report: u64,
    /// `G_I`: the gas allocated to invoke a work-package's Is-Authorized logic.
    pub gas_is_authorized: u64,
    /// `G_R`: the gas allocated to invoke a work-package's Refine logic.
    pub gas_refine: u64,
    /// `G_T`: the total gas allocated across all Accumulation.
    pub gas_total_accumulation: u64,
    /// `H`: the size of recent history, in blocks.
    pub recent_history_size: u32,
    /// `I`: the maximum amount of work items in a package.
    pub max_work_items: u32,
    /// `J`: the maximum sum of dependency items in a work-report.
    pub max_report_dependencies: u32,
    /// `K`: the maximum number of tickets which may be submitted in a single extrinsic.
    pub max_tickets_per_extrinsic: u32,
    /// `L`: the maximum age in timeslots of the lookup anchor.
    pub max_lookup_anchor_age: u32,
    /// `N`: the number of ticket entries per validator.
    pub tickets_per_validator: u8,
    /// `O`: the maximum number of items in the authorizations pool.
    pub auth_pool_size: u32,
    /// `P`: the slot period, in seconds.
    pub slot_period_seconds: u64,
    /// `Q`: the number of items in the authorizations queue.
    pub auth_queue_size: u32,
    /// `R`: the rotation period of validator-core assignments, in timeslots.
    pub rotation_period: u32,
    /// `S`: the minimum public service index; indices below it are reserved.
    pub min_public_service_index: u32,
    /// `T`: the maximum number of extrinsics in a work-package.
    pub max_package_extrinsics: u32,
    /// `U`: the period in timeslots after which reported but unavailable work may be
    /// replaced.
    pub availability_timeout: u32,
    /// How many timeslots an assurer keeps the segment shards it was given, and a
    /// guarantor the segments it exported: GP 14.3 says 28 days ("672 complete
    /// epochs" of the full spec). The GP states no tiny value: Tessera keeps the same
    /// 28 days, 403,200 six-second slots, on both specs (the retention is a matter
    /// of wall-clock time, for which an importer may come late).
    pub segment_retention_slots: u32,
    /// `V`: the total number of validators.
    pub validator_count: u16,
    /// `W_A`: the maximum size of is-authorized code in octets.
    pub max_authorizer_code_size: u32,
    /// `W_B`: the maximum size of an encoded work-package with extrinsic data and
    /// imports.
    pub max_bundle_size: u32,
    /// `W_C`: the maximum size of service code in octets.
    pub max_service_code_size: u32,
    /// `W_E`: the basic size of erasure-coded pieces in octets (2 × the number of
    /// original shards).
    pub erasure_piece_size: u32,
    /// `W_M`: the maximum number of imports in a work-package.
    pub max_imports: u32,
    /// `W_G = W_P · W_E`: the size of a segment in octets.
    pub segment_size: u32,
    /// `W_R`: the maximum total size of all unbounded blobs in a work-report.
    pub max_report_output_size: u32,
    /// `W_T`: the size of a transfer memo in octets.
    pub transfer_memo_size: u32,
    /// `W_X`: the maximum number of exports in a work-package.
    pub max_exports: u32,
    /// `W_P`: the number of erasure-coded pieces in a segment.
    pub segment_pieces: u32,
    /// `Y`: the number of slots into an epoch at which ticket submission ends.
    pub ticket_submission_end: u32,
    /// `Z_A`: the PVM dynamic address alignment factor.
    pub pvm_address_alignment: u32,
    /// `Z_I`: the standard PVM program initialization input data size.
    pub pvm_init_input_size: u32,
    /// `Z_P`: the PVM memory page size.
    pub pvm_page_size: u32,
    /// `Z_Z`: the standard PVM program initialization zone size.
    pub pvm_init_zone_size: u32,
}

impl ChainSpec {
    /// The full GP v0.7.2 chain: 1023 validators, 341 cores, 600-slot epochs.
    pub fn full() -> Self {
        ChainSpec {
            name: SpecName::Full,
            audit_tranche_period: 8,
            audit_tranche0_cores: 10,
            balance_per_item: 10,
            balance_per_octet: 1,
            balance_per_service: 100,
            core_count: 341,
            preimage_expunge_period: 19_200,
            epoch_length: 600,
            audit_bias_factor: 2,
            gas_accumulate_report: 10_000_000,
            gas_is_authorized: 50_000_000,
            gas_refine: 5_000_000_000,
            gas_total_accumulation: 3_500_000_000,
            recent_history_size: 8,
            max_work_items: 16,
            max_report_dependencies: 8,
            max_tickets_per_extrinsic: 16,
            max_lookup_anchor_age: 14_400,
            tickets_per_validator: 2,
            auth_pool_size: 8,
            slot_period_seconds: 6,
            auth_queue_size: 80,
            rotation_period: 10,
            min_public_service_index: 1 << 16,
            max_package_extrinsics: 128,
            availability_timeout: 5,
            segment_retention_slots: 672 * 600,
            validator_count: 1023,
            max_authorizer_code_size: 64_000,
            max_bundle_size: 13_791_360,
            max_service_code_size: 4_000_000,
            erasure_piece_size: 684,
            max_imports: 3072,
            segment_size: 4104,
            max_report_output_size: 48 * 1024,
            transfer_memo_size: 128,
            max_exports: 3072,
            segment_pieces: 6,
            ticket_submission_end: 500,
            pvm_address_alignment: 2,
            pvm_init_input_size: 1 << 24,
            pvm_page_size: 1 << 12,
            pvm_init_zone_size: 1 << 16,
        }
    }

    /// The `tiny` chain of the official test vectors: 6 validators, 2 cores,
    /// 12-slot epochs; every constant not listed in `shared/README.md` equals `full`,
    /// except the auditing constants, for which the GP and the vectors give no tiny
    /// values: Tessera's choice is `audit_tranche0_cores = 2` (every core, not 10),
    /// with `A = 8` s and `F = 2` as in full (see those fields for why).
    pub fn tiny() -> Self {
        ChainSpec {
            name: SpecName::Tiny,
            core_count: 2,
            preimage_expunge_period: 32,
            epoch_length: 12,
            gas_refine: 1_000_000_000,
            gas_total_accumulation: 20_000_000,
            max_tickets_per_extrinsic: 3,
            tickets_per_validator: 3,
            rotation_period: 4,
            validator_count: 6,
            // 2 original shards of 2 octets each.
            erasure_piece_size: 4,
            segment_pieces: 1026,
            ticket_submission_end: 10,
            audit_tranche0_cores: 2,
            ..ChainSpec::full()
        }
    }

    /// The built-in spec of the given name.
    pub fn by_name(name: SpecName) -> Self {
        match name {
            SpecName::Tiny => ChainSpec::tiny(),
            SpecName::Full => ChainSpec::full(),
        }
    }

    /// `V` as a `usize`, for sequence lengths.
    pub fn validators(&self) -> usize {
        usize::from(self.validator_count)
    }

    /// `C` as a `usize`, for sequence lengths.
    pub fn cores(&self) -> usize {
        usize::from(self.core_count)
    }

    /// The number of original (data) erasure shards, `W_E / 2` (342 full, 2 tiny).
    pub fn erasure_originals(&self) -> usize {
        (self.erasure_piece_size / 2) as usize
    }

    /// The two-thirds-plus-one supermajority of validators, `⌊2V/3⌋ + 1`.
    pub fn supermajority(&self) -> usize {
        self.validators() * 2 / 3 + 1
    }

    /// The number of octets of an availability bitfield, `⌈C/8⌉`.
    pub fn availability_bitfield_bytes(&self) -> usize {
        self.cores().div_ceil(8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_values_match_the_vectors_table() {
        let t = ChainSpec::tiny();
        assert_eq!((t.validators(), t.cores(), t.epoch_length), (6, 2, 12));
        assert_eq!((t.ticket_submission_end, t.tickets_per_validator), (10, 3));
        assert_eq!((t.max_tickets_per_extrinsic, t.rotation_period), (3, 4));
        assert_eq!(t.preimage_expunge_period, 32);
        assert_eq!(t.erasure_originals(), 2);
        assert_eq!(t.segment_pieces * t.erasure_piece_size, t.segment_size);
        assert_eq!(t.supermajority(), 5);
        assert_eq!(t.availability_bitfield_bytes(), 1);
        assert_eq!(
            (t.gas_total_accumulation, t.gas_refine),
            (20_000_000, 1_000_000_000)
        );
    }

    #[test]
    fn full_values_are_consistent() {
        let f = ChainSpec::full();
        assert_eq!(f.erasure_originals(), 342);
        assert_eq!(f.segment_pieces * f.erasure_piece_size, f.segment_size);
        assert_eq!(f.supermajority(), 683);
        assert_eq!(f.availability_bitfield_bytes(), 43);
        assert_eq!(f.validators(), 3 * f.cores());
        assert_eq!(
            (
                f.audit_tranche_period,
                f.audit_tranche0_cores,
                f.audit_bias_factor
            ),
            (8, 10, 2)
        );
    }

    #[test]
    fn tiny_audit_constants_are_tesseras_choice() {
        let t = ChainSpec::tiny();
        assert_eq!(
            (
                t.audit_tranche_period,
                t.audit_tranche0_cores,
                t.audit_bias_factor
            ),
            (8, 2, 2)
        );
        // Every report is drawn in tranche 0 (see the field for why).
        assert_eq!(usize::from(t.audit_tranche0_cores), t.cores());
    }
}
