//! What the state benches share: the testnet genesis with its service given `N`
//! storage items.

use std::sync::Arc;

use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::hash::blake2b_256;
use tessera_core::spec::ChainSpec;
use tessera_node::testnet_service::SERVICE_ID as SERVICE;
use tessera_state::ChainState;

/// The state key of the service's `i`-th item.
pub(crate) fn item_key(i: u64) -> tessera_core::merkle::trie::StateKey {
    tessera_core::merkle::trie::state_key(&blake2b_256(&i.to_le_bytes()).0)
}

/// The testnet genesis (`tessera_node::genesis`), its service given `items`
/// items of 100 octets.
pub(crate) fn state(items: u64) -> Arc<ChainState> {
    let spec = ChainSpec::tiny();
    let validators: Vec<ValidatorSecrets> = (0..6).map(ValidatorSecrets::dev).collect();
    let (_, mut s) = tessera_node::genesis::testnet_genesis(&spec, &validators).expect("genesis");
    let account = Arc::make_mut(s.delta.get_mut(&SERVICE).expect("the testnet service"));
    for i in 0..items {
        account.items.insert(item_key(i), vec![i as u8; 100]);
    }
    Arc::new(s)
}
