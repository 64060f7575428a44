//! The target side of the JAM conformance fuzzer protocol v1 (the vectors'
//! `fuzz-proto/`), behind `tessera fuzz-target --socket PATH`.
//!
//! [`message`] holds the protocol's messages and their codec, [`session`] the
//! framing and the request/reply loop over a [`Target`](session::Target) (the node
//! that imports blocks), [`recording`] the recorded example sessions. This module
//! knows nothing of how blocks are imported: that is the target's business.

pub mod message;
pub mod node;
pub mod recording;
pub mod session;
