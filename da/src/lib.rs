//! Availability, GP v0.7.2 §14 ("Work Packages and Work Reports", the availability
//! specifier and erasure coding) as the network carries it (JAMNP-S CE 137–140).
//!
//! `kernels` computes the erasure-coded data fast; this crate gives it its protocol
//! meaning:
//!
//! - [`availability`]: the availability specifier's erasure root and segments root
//!   (GP (14.16)): paged proofs, coding, the leaves `b♣_i ⌢ s♣_i`, on any kernels
//!   backend, with the `cpu` reference written out as the GP states it.
//! - [`assurance`]: bitfields from the store, signed assurances, their CE 141
//!   distribution and the block author's pool checked in signature batches.
//! - [`assignment`]: which shard index each validator holds for each core.
//! - [`package`]: a guarantor's package coded once for distribution (GP (14.16)):
//!   every validator's shard set and every exported segment's import proof.
//! - [`justification`]: the co-paths `T(s, i, H)` (GP (E.2)) that prove a shard
//!   belongs to an erasure root, in the three forms JAMNP-S sends (CE 137, CE 138,
//!   CE 140), and their verification bottom-up against the root.
//! - [`serve`] and [`fetch`]: the CE 137–140, 147 and 148 handlers that answer
//!   from the store, and the requests that verify what they get before use.
//! - [`import`]: a guarantor's import of segments (GP 14.3): CE 139 from `R`
//!   assurers at once, segments and proof pages rebuilt in one kernel call and
//!   checked against the segments root, CE 140 with every shard proven on an
//!   inconsistency, and an invalid erasure root named as such.
//! - [`reconstruct`]: bundles (many in one kernel call) and segments rebuilt from
//!   shards and checked: the codeword for bundles, the import proof for segments.
//! - [`store`]: the shard store, column families of the node's one RocksDB
//!   database, with one write batch per received shard set and the GP's retention.
//!
//! No vectors exist for justifications or the store: their tests are built from
//! the GP's and JAMNP-S's definitions (see `da/tests/`).

pub mod assignment;
pub mod assurance;
pub mod availability;
pub mod fetch;
pub mod import;
pub mod justification;
pub mod package;
pub mod reconstruct;
pub mod serve;
pub mod store;
