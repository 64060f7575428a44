//! The Merkle structures of GP v0.7.2 Appendices D and E (`merklization.tex`).
//!
//! - [`trie`]: the state Merklization `M_σ` (D.3–D.6), a binary Patricia trie of
//!   64-octet nodes over 31-octet state keys.
//! - [`state_trie`]: the same trie kept as shared nodes between states, so that a
//!   state differing from its parent in a few keys gets `M_σ` in a few hashes.
//! - [`node`]: the node function `N` (E.1) and the trace `T` (E.2) both tree kinds
//!   below are built from.
//! - [`balanced`]: the well-balanced binary Merkle root `M_B` (E.3).
//! - [`constant_depth`]: the constant-depth root `M` (E.4), page justifications `J_x`
//!   (E.5), leaf pages `L_x` (E.6) and the constancy preprocessor `C` (E.7).
//! - [`mmr`]: Merkle Mountain Ranges: append `A` (E.8), encoding `E_M` (E.9) and
//!   super-peak `M_R` (E.10).
//!
//! Equation numbers follow the order of the equations in Appendices D and E of
//! v0.7.2. The hash function is an argument wherever the GP makes it one; in the
//! GP's own uses it is Blake2b-256 ([`crate::hash::blake2b_256`]) except for the
//! BEEFY belt, whose MMR and super-peak use Keccak-256 ([`crate::hash::keccak_256`]).
//! This module keeps the readable reference forms; it does no I/O and keeps no
//! database of nodes.

pub mod balanced;
pub mod constant_depth;
pub mod mmr;
pub mod node;
pub mod state_trie;
pub mod trie;

use crate::hash::Hash;

/// A hash function `𝕐 → ℍ` as the GP's Merklization functions take it (`H` or `H_K`).
pub type HashFn = fn(&[u8]) -> Hash;

/// Why a justification could not be made or checked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// An item index outside the sequence.
    #[error("index {index} is outside a sequence of {len} items")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The number of items.
        len: usize,
    },
    /// A page index outside the padded tree.
    #[error("page {page} is outside a tree of {pages} pages of 2^{log_page_size} leaves")]
    PageOutOfRange {
        /// The page asked for.
        page: usize,
        /// The number of pages of the padded tree.
        pages: usize,
        /// `x`: the page holds `2^x` leaves.
        log_page_size: u32,
    },
    /// A justification whose length does not fit the tree it claims to be from.
    #[error("justification has {found} nodes where the tree needs {expected}")]
    JustificationLength {
        /// The number of nodes the tree's depth calls for.
        expected: usize,
        /// The number of nodes given.
        found: usize,
    },
}
