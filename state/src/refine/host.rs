//! The refine host functions `F` of Ψ_R (GP v0.7.2 pvm_invocations.tex, eq.
//! refinemutator, and the refine functions of appendix B.8): gas 0, fetch 1,
//! historical_lookup 6, export 7, machine 8, peek 9, poke 10, pages 11, invoke 12,
//! expunge 13, and log 100 (JIP-1). Every call costs 10 gas; any other identifier
//! (lookup, read, write, info and the accumulate functions included) costs 10 and
//! sets `ω7 = WHAT`.
//!
//! The context `(m, e)` is the inner machines and the exported segments, both
//! initially empty.

use std::collections::BTreeMap;

use tessera_core::hash::Hash;
use tessera_pvm::{ExitReason, HostCalls, HostOutcome, Machine, REGISTER_COUNT};

use super::fetch;
use super::guest::{copy, inner, is_readable, is_writable, lowest_free, Guest};
use super::Refinement;
use crate::host::{code, id, read_memory, writable, write_memory, HOST_CALL_GAS};

/// Octets of Ω_K's argument block: `E_8(g) ⌢ E_8(w)` for 13 registers.
const INVOKE_BLOCK: u64 = 8 + 8 * 13;
/// `2^32 / Z_P`: pages in the address space (Ω_Z's upper bound).
const PAGES: u64 = 1 << 20;
/// The lowest page Ω_Z may touch: pages below 16 (the first 64 KiB) are reserved.
const FIRST_PAGE: u64 = 16;

/// The host side of one refinement: Ψ_R's arguments and the context `(m, e)`.
pub struct RefineHost<'a> {
    refine: &'a Refinement<'a>,
    /// `i`: the item being refined.
    item: usize,
    /// `ς`: segments exported before this item.
    export_offset: u64,
    /// `m`: the inner machines by index.
    pub machines: BTreeMap<u64, Guest>,
    /// `e`: the segments exported so far.
    pub exports: Vec<Vec<u8>>,
}

impl std::fmt::Debug for RefineHost<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefineHost")
            .field("item", &self.item)
            .field("export_offset", &self.export_offset)
            .field("machines", &self.machines.len())
            .field("exports", &self.exports.len())
            .finish()
    }
}

impl<'a> RefineHost<'a> {
    /// The context `(∅, [])` for item `item` with export offset `ς`.
    pub fn new(refine: &'a Refinement<'a>, item: usize, export_offset: u64) -> Self {
        RefineHost {
            refine,
            item,
            export_offset,
            machines: BTreeMap::new(),
            exports: Vec::new(),
        }
    }

    /// `e`, the exported segments.
    pub fn into_exports(self) -> Vec<Vec<u8>> {
        self.exports
    }
}

impl HostCalls for RefineHost<'_> {
    fn host_call(&mut self, call: u64, m: &mut Machine<'_>) -> HostOutcome {
        // GP B.8: ϱ' = ϱ − 10, and ∞ when ϱ < 10.
        let left = m.gas().saturating_sub(HOST_CALL_GAS);
        m.set_gas(left);
        if left < 0 {
            return HostOutcome::OutOfGas;
        }
        match call {
            id::GAS => reply(m, u64::try_from(left).unwrap_or(0)),
            id::FETCH => self.fetch(m),
            id::HISTORICAL_LOOKUP => self.historical_lookup(m),
            id::EXPORT => self.export(m),
            id::MACHINE => self.machine(m),
            id::PEEK => self.peek(m),
            id::POKE => self.poke(m),
            id::PAGES => self.pages(m),
            id::INVOKE => self.invoke(m),
            id::EXPUNGE => self.expunge(m),
            // JIP-1: a debug message with no effect on the state or registers.
            id::LOG => HostOutcome::Continue,
            _ => reply(m, code::WHAT),
        }
    }
}

/// Set `ω7` and resume.
pub(crate) fn reply(m: &mut Machine<'_>, value: u64) -> HostOutcome {
    m.set_reg(7, value);
    HostOutcome::Continue
}

/// The common tail of fetch and historical_lookup: `f = min(ω_from, |v|)`,
/// `l = min(ω_len, |v| − f)`; ☇ if `μ[o..+l]` is not writable, else NONE for ∅ or
/// `|v|` with `μ[o..+l] = v[f..+l]`.
pub(crate) fn reply_slice(
    m: &mut Machine<'_>,
    v: Option<&[u8]>,
    o: u64,
    from: u64,
    len: u64,
) -> HostOutcome {
    let size = v.map_or(0, |v| u64::try_from(v.len()).unwrap_or(u64::MAX));
    let f = from.min(size);
    let l = len.min(size - f);
    if !writable(m, o, l) {
        return HostOutcome::Panic;
    }
    let Some(v) = v else {
        return reply(m, code::NONE);
    };
    let (fu, lu) = (
        usize::try_from(f).unwrap_or(usize::MAX),
        usize::try_from(l).unwrap_or(0),
    );
    if let Some(part) = v.get(fu..fu.saturating_add(lu)) {
        write_memory(m, o, part);
    }
    reply(m, size)
}

impl RefineHost<'_> {
    /// Ω_Y (GP B.6) with the refine arguments: kind ω10, selectors ω11, ω12, into
    /// `μ[ω7..]` from offset ω8, at most ω9 octets.
    fn fetch(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let v = fetch::value(self.refine, self.item, m.reg(10), m.reg(11), m.reg(12));
        reply_slice(m, v.as_deref(), m.reg(7), m.reg(8), m.reg(9))
    }

    /// Ω_H (GP B.8): `Λ(a, (p_c)_t, μ[ω8..+32])` of account `a = δ[s]` for
    /// `ω7 = 2^64 − 1`, else `δ[ω7]`, into `μ[ω9..]` from ω10, at most ω11 octets.
    fn historical_lookup(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let Some(h) = read_memory(m, m.reg(8), 32).and_then(|b| <[u8; 32]>::try_from(b).ok())
        else {
            return HostOutcome::Panic;
        };
        let p = self.refine.package;
        let service = match m.reg(7) {
            u64::MAX => p.items.get(self.item).map(|w| w.service),
            s => u32::try_from(s).ok(),
        };
        let v = service.and_then(|s| {
            self.refine
                .lookup
                .historical_lookup(s, p.context.lookup_anchor_slot, &Hash::from(h))
        });
        reply_slice(m, v.as_deref(), m.reg(9), m.reg(10), m.reg(11))
    }

    /// Ω_E (GP B.8): append `P_{W_G}(μ[ω7..+min(ω8, W_G)])` to `e` and return its
    /// index `ς + |e|`; FULL once `ς + |e| ≥ W_X`.
    ///
    /// The segment is always `W_G` octets: GP's `P_n` pads an empty blob to length
    /// 0, but `e` is a sequence of segments, so an empty export is a zero segment.
    fn export(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let spec = self.refine.spec;
        let segment_size = u64::from(spec.segment_size);
        let z = m.reg(8).min(segment_size);
        let Some(mut x) = read_memory(m, m.reg(7), z) else {
            return HostOutcome::Panic;
        };
        let count = u64::try_from(self.exports.len()).unwrap_or(u64::MAX);
        let index = self.export_offset.saturating_add(count);
        if index >= u64::from(spec.max_exports) {
            return reply(m, code::FULL);
        }
        x.resize(usize::try_from(segment_size).unwrap_or(0), 0);
        self.exports.push(x);
        reply(m, index)
    }

    /// Ω_M (GP B.8): a new inner machine with code `μ[ω7..+ω8]` and pc ω9 at the
    /// lowest free index; HUH if the code does not deblob.
    fn machine(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let Some(blob) = read_memory(m, m.reg(7), m.reg(8)) else {
            return HostOutcome::Panic;
        };
        let Some(program) = crate::deblobbed::raw(&blob) else {
            return reply(m, code::HUH);
        };
        let n = lowest_free(self.machines.keys());
        self.machines.insert(n, Guest::new(program, m.reg(9)));
        reply(m, n)
    }

    /// Ω_P (GP B.8): `μ[ω8..+ω10] = m[ω7]_u[ω9..+ω10]`.
    fn peek(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        self.copy_guest(m, false)
    }

    /// Ω_O (GP B.8): `m[ω7]_u[ω9..+ω10] = μ[ω8..+ω10]`.
    fn poke(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        self.copy_guest(m, true)
    }

    /// Ω_P and Ω_O are one case analysis in opposite directions: `ω10` octets
    /// between the caller's `ω8` and machine `ω7`'s `ω9`. A caller range it
    /// cannot access panics, an unknown machine is WHO, and only then is an
    /// inaccessible guest range OOB.
    fn copy_guest(&mut self, m: &mut Machine<'_>, into_guest: bool) -> HostOutcome {
        let (n, outer, inner, z) = (m.reg(7), m.reg(8), m.reg(9), m.reg(10));
        let outer_ok = if into_guest {
            is_readable(&m.memory, outer, z)
        } else {
            is_writable(&m.memory, outer, z)
        };
        if !outer_ok {
            return HostOutcome::Panic;
        }
        let Some(guest) = self.machines.get_mut(&n) else {
            return reply(m, code::WHO);
        };
        if into_guest {
            if !is_writable(&guest.memory, inner, z) {
                return reply(m, code::OOB);
            }
            copy(&m.memory, outer, &mut guest.memory, inner, z);
        } else {
            if !is_readable(&guest.memory, inner, z) {
                return reply(m, code::OOB);
            }
            copy(&guest.memory, inner, &mut m.memory, outer, z);
        }
        reply(m, code::OK)
    }

    /// Ω_Z (GP B.8): set the access of pages `ω8..+ω9` of machine ω7 by mode ω10:
    /// 0 ∅, 1 R, 2 W (values zeroed), 3 R, 4 W (values kept; every page must
    /// already be accessible).
    fn pages(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let (n, p, c, r) = (m.reg(7), m.reg(8), m.reg(9), m.reg(10));
        let Some(guest) = self.machines.get_mut(&n) else {
            return reply(m, code::WHO);
        };
        if r > 4 || p < FIRST_PAGE || p.saturating_add(c) >= PAGES {
            return reply(m, code::HUH);
        }
        // Both below 2^20 now.
        let (Ok(p), Ok(c)) = (u32::try_from(p), u32::try_from(c)) else {
            return reply(m, code::HUH);
        };
        if r > 2 && guest.any_inaccessible(p, c) {
            return reply(m, code::HUH);
        }
        guest.set_pages(p, c, r);
        reply(m, code::OK)
    }

    /// Ω_K (GP B.8): run machine ω7 with gas and registers read from
    /// `μ[ω8..+112]` (which must be writable), write `g'` and `ω'` back there, and
    /// report the exit in ω7 (and the fault address or host-call id in ω8).
    fn invoke(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let (n, o) = (m.reg(7), m.reg(8));
        if !writable(m, o, INVOKE_BLOCK) {
            return HostOutcome::Panic;
        }
        let Some(block) = read_memory(m, o, INVOKE_BLOCK) else {
            return HostOutcome::Panic;
        };
        let Some(guest) = self.machines.get_mut(&n) else {
            return reply(m, code::WHO);
        };
        let word = |i: usize| {
            block
                .get(8 * i..8 * i + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_le_bytes)
        };
        let mut regs = [0u64; REGISTER_COUNT];
        for (k, r) in regs.iter_mut().enumerate() {
            *r = word(k + 1);
        }
        let run = guest.run(word(0), regs);
        let mut out = Vec::with_capacity(112);
        out.extend_from_slice(&run.gas.to_le_bytes());
        for r in run.regs {
            out.extend_from_slice(&r.to_le_bytes());
        }
        write_memory(m, o, &out);
        let (status, detail) = match run.exit {
            ExitReason::HostCall(h) => (inner::HOST, Some(h)),
            ExitReason::PageFault(x) => (inner::FAULT, Some(u64::from(x))),
            ExitReason::OutOfGas => (inner::OOG, None),
            ExitReason::Panic => (inner::PANIC, None),
            ExitReason::Halt => (inner::HALT, None),
        };
        if let Some(d) = detail {
            m.set_reg(8, d);
        }
        reply(m, status)
    }

    /// Ω_X (GP B.8): remove machine ω7, returning its pc.
    fn expunge(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        match self.machines.remove(&m.reg(7)) {
            Some(guest) => reply(m, guest.pc),
            None => reply(m, code::WHO),
        }
    }
}
