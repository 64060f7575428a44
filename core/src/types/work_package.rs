//! Work packages, GP work_packages_and_reports.tex ("Work Packages and Work Items").

use serde::{Deserialize, Serialize};

use super::bounds::{check_seq, Bound, Check, SpecViolation};
use super::indices::ServiceId;
use super::refine_context::RefineContext;
use super::work_item::WorkItem;
use crate::bytes::Bytes;
use crate::codec::{encode_seq, Decode, DecodeError, Encode, Reader};
use crate::hash::Hash;
use crate::spec::ChainSpec;

/// `P` (GP "work package" definition): authorization token `j`, the host service
/// `h` and hash `u` of the authorizer code, its configuration `f`, the refine
/// context `c` and `1..=I` work items `w`. Encoded
/// `E(E_4(h), u, c, ↕j, ↕f, ↕w)` (GP C.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkPackage {
    /// `h`: the service hosting the authorizer code.
    pub auth_code_host: ServiceId,
    /// `u`: the authorizer code hash.
    pub auth_code_hash: Hash,
    /// `c`: the refinement context.
    pub context: RefineContext,
    /// `j`: the authorization token.
    pub authorization: Bytes,
    /// `f`: the authorizer configuration.
    pub authorizer_config: Bytes,
    /// `w`: the work items, `⟦W⟧_{1:I}`.
    pub items: Vec<WorkItem>,
}

impl WorkPackage {
    /// The GP bound on `w`: `1..=I`.
    pub fn items_bound(spec: &ChainSpec) -> Bound {
        Bound::Between(1, spec.max_work_items as usize)
    }
}

// Written by hand: `w` has a lower bound too (`1..=I`), checked after the bounded
// read with its own error, which the `seq, max` attribute does not express.
impl Encode for WorkPackage {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.auth_code_host.encode_to(out);
        self.auth_code_hash.encode_to(out);
        self.context.encode_to(out);
        self.authorization.encode_to(out);
        self.authorizer_config.encode_to(out);
        encode_seq(&self.items, out);
    }
}

impl Decode for WorkPackage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let auth_code_host = Decode::decode(r)?;
        let auth_code_hash = Decode::decode(r)?;
        let context = Decode::decode(r)?;
        let authorization = Decode::decode(r)?;
        let authorizer_config = Decode::decode(r)?;
        let at = r.position();
        let items: Vec<WorkItem> = r.seq("work items", Some(r.spec().max_work_items as usize))?;
        if items.is_empty() {
            return Err(DecodeError::new(
                at,
                crate::codec::DecodeErrorKind::InvalidValue {
                    what: "work items",
                    reason: "a work package has at least one item".into(),
                },
            ));
        }
        Ok(WorkPackage {
            auth_code_host,
            auth_code_hash,
            context,
            authorization,
            authorizer_config,
            items,
        })
    }
}

impl Check for WorkPackage {
    fn check(&self, spec: &ChainSpec) -> Result<(), SpecViolation> {
        self.context.check(spec).map_err(|e| e.within("context"))?;
        check_seq(&self.items, Self::items_bound(spec), spec).map_err(|e| e.within("items"))
    }
}
