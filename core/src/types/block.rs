//! Blocks, GP overview.tex (`B ≡ (H, E)`).

use serde::{Deserialize, Serialize};

use super::extrinsic::Extrinsic;
use super::header::Header;

/// `B ≡ (H, E)`: a header and its extrinsic, encoded as the two in turn (GP C.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// `H`: the header.
    pub header: Header,
    /// `E`: the extrinsic.
    pub extrinsic: Extrinsic,
}

codec_struct!(Block { header, extrinsic });
