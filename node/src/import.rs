//! Block import with storage: find the parent's state, run `Υ` (the pure
//! transition `tessera_state::import_block`), store the posterior state under the
//! new header's hash. A rejected block stores nothing.

use std::sync::Arc;

use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Block, Header};
use tessera_state::serial::{KeyValues, StateDecodeError};
use tessera_state::ChainState;
use tessera_state::{import_block, BlockError};

use crate::store::{StateStore, StoreError, Stored};

/// Why an import or initialisation failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The block's parent has no stored state.
    #[error("unknown parent {0}: no state stored for it")]
    UnknownParent(Hash),
    /// The block breaks a rule of the GP.
    #[error("invalid block: {0}")]
    Block(#[from] BlockError),
    /// A given state is not a GP v0.7.2 state.
    #[error("invalid state: {0}")]
    State(#[from] StateDecodeError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A block importer over a state store.
pub struct Importer {
    spec: ChainSpec,
    store: StateStore,
}

impl Importer {
    /// An importer for `spec` keeping states in `store`.
    pub fn new(spec: &ChainSpec, store: StateStore) -> Self {
        Importer {
            spec: spec.clone(),
            store,
        }
    }

    /// Take `keyvals` as the state made by `header` (genesis, or the fuzzer's
    /// `Initialize`); returns its root.
    pub fn initialize(
        &mut self,
        header: &Header,
        keyvals: &KeyValues,
    ) -> Result<Hash, ImportError> {
        let state = ChainState::deserialize(&self.spec, keyvals)?;
        Ok(self.store.put(header.hash(), Arc::new(state))?)
    }

    /// Store `state` as the one made by header hash `header`; returns its root.
    pub fn seed(&mut self, header: Hash, state: ChainState) -> Result<Hash, ImportError> {
        Ok(self.store.put(header, Arc::new(state))?)
    }

    /// Import `block` onto its parent's state; returns the posterior state root.
    pub fn import(&mut self, block: &Block) -> Result<Hash, ImportError> {
        let parent = block.header.parent;
        let prior = self
            .store
            .get(&parent)?
            .ok_or(ImportError::UnknownParent(parent))?;
        let post = import_block(&self.spec, &prior.state, &prior.root, block)?;
        Ok(self
            .store
            .put_child(block.header.hash(), &parent, Arc::new(post))?)
    }

    /// The state made by header hash `header`, if stored.
    pub fn state(&mut self, header: &Hash) -> Result<Option<Stored>, ImportError> {
        Ok(self.store.get(header)?)
    }
}
