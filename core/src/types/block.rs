//! Blocks, GP overview.tex (`B ≡ (H, E)`).

use serde::{Deserialize, Serialize};

use super::bounds::Check;
use super::extrinsic::Extrinsic;
use super::header::Header;
use crate::codec::{Decode, Encode};

/// `B ≡ (H, E)`: a header and its extrinsic, encoded as the two in turn (GP C.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// `H`: the header.
    pub header: Header,
    /// `E`: the extrinsic.
    pub extrinsic: Extrinsic,
}
