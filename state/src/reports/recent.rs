//! `β_H`, the recent-block history as the guarantees transition reads it (GP
//! recent_history.tex, "Recent History"; vectors' `RecentBlocks`). The history
//! component owns its update; here it is only looked up for anchors (GP 11.32),
//! prior packages (11.37) and segment roots (11.40).

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, DecodeError, Encode, Reader};
use tessera_core::merkle::mmr::Mmr;
use tessera_core::Hash;

/// A work package reported in a recent block: its hash and exports root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportedWorkPackage {
    /// The work-package hash.
    pub hash: Hash,
    /// Its segment (exports) root.
    pub exports_root: Hash,
}

/// One recent block `(h, b, s, p)`: header hash, accumulation-output super-peak,
/// posterior state root and the packages it reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockInfo {
    /// `h`: the header hash.
    pub header_hash: Hash,
    /// `b`: the BEEFY (accumulation-output) root.
    pub beefy_root: Hash,
    /// `s`: the state root.
    pub state_root: Hash,
    /// `p`: the packages reported in the block, with their exports roots.
    pub reported: Vec<ReportedWorkPackage>,
}

/// `β ≡ (β_H, β_B)`: the recent blocks and the accumulation-output belt.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecentBlocks {
    /// `β_H`: at most `H` recent blocks, oldest first.
    pub history: Vec<BlockInfo>,
    /// `β_B`: the MMR of accumulation outputs.
    pub mmr: Mmr,
}

impl RecentBlocks {
    /// The exports root of package `hash` if a recent block reported it.
    pub fn exports_root(&self, hash: &Hash) -> Option<&Hash> {
        self.history
            .iter()
            .flat_map(|b| &b.reported)
            .find(|p| p.hash == *hash)
            .map(|p| &p.exports_root)
    }
}

impl Encode for ReportedWorkPackage {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.hash.encode_to(out);
        self.exports_root.encode_to(out);
    }
}

impl Decode for ReportedWorkPackage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ReportedWorkPackage {
            hash: Decode::decode(r)?,
            exports_root: Decode::decode(r)?,
        })
    }
}

impl Encode for BlockInfo {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header_hash.encode_to(out);
        self.beefy_root.encode_to(out);
        self.state_root.encode_to(out);
        self.reported.encode_to(out);
    }
}

impl Decode for BlockInfo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BlockInfo {
            header_hash: Decode::decode(r)?,
            beefy_root: Decode::decode(r)?,
            state_root: Decode::decode(r)?,
            reported: r.seq("reported packages", Some(r.spec().cores()))?,
        })
    }
}

impl Encode for RecentBlocks {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.history.encode_to(out);
        self.mmr.encode_to(out);
    }
}

impl Decode for RecentBlocks {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let max = r.spec().recent_history_size as usize;
        Ok(RecentBlocks {
            history: r.seq("recent blocks", Some(max))?,
            mmr: Decode::decode(r)?,
        })
    }
}
