//! The block tree: fork choice over authored blocks, finality and state pruning,
//! and a restart from the database (tiny spec, the testnet genesis).

use tessera_core::codec::Encode;
use tessera_core::crypto::ed25519::PublicKey;
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Block, Extrinsic};
use tessera_net::messages::{GrandpaMessage, GrandpaTarget};
use tessera_node::author::{author_block, slot_author, Parent};
use tessera_node::chain::{Chain, Imported};
use tessera_node::genesis::{changing_testnet_genesis, testnet_genesis};
use tessera_node::store::StateStore;

fn devs(spec: &ChainSpec) -> Vec<ValidatorSecrets> {
    (0..spec.validators())
        .map(|i| ValidatorSecrets::dev(i as u32))
        .collect()
}

/// Author the block of the first slot after `slot` that some dev validator holds,
/// on `parent`.
fn child(spec: &ChainSpec, chain: &mut Chain, parent: Hash, slot: u32) -> Block {
    let devs = devs(spec);
    let stored = chain.state(&parent).unwrap().unwrap();
    let mut s = slot + 1;
    loop {
        if let Some((keys, _)) = slot_author(spec, &stored.state, s, &devs).unwrap() {
            let p = Parent {
                state: &stored.state,
                header_hash: parent,
                state_root: stored.root,
            };
            return author_block(spec, p, s, keys, Extrinsic::default()).unwrap();
        }
        s += 1;
    }
}

fn import(chain: &mut Chain, block: &Block) -> Hash {
    match chain.import(block).unwrap() {
        Imported::New { info, .. } => info.hash,
        Imported::Known => panic!("block already known"),
    }
}

#[test]
fn fork_choice_finality_and_pruning() {
    let spec = ChainSpec::tiny();
    let (header, state) = testnet_genesis(&spec, &devs(&spec)).unwrap();
    let dir = std::env::temp_dir().join(format!("tessera-chain-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut chain = Chain::open(
        &spec,
        StateStore::open(&spec, &dir).unwrap(),
        &header,
        state.clone(),
    )
    .unwrap();
    let genesis = chain.genesis_hash();
    // A main chain of four blocks and a fork of one off the first.
    let mut main = vec![genesis];
    let mut slot = 0;
    for _ in 0..4 {
        let b = child(&spec, &mut chain, *main.last().unwrap(), slot);
        slot = b.header.slot;
        main.push(import(&mut chain, &b));
    }
    let top = chain.info(&main[4]).unwrap().slot;
    let fork_block = child(&spec, &mut chain, main[1], top);
    let fork = import(&mut chain, &fork_block);
    // GP 19.1 with no tickets: the longest chain.
    assert_eq!(chain.best().hash, main[4]);
    assert_eq!(
        chain.ancestry(&main[1], &main[4]),
        Some(vec![main[4], main[3], main[2]])
    );
    assert_eq!(chain.ancestry(&fork, &main[4]), None);
    let roots: Vec<Hash> = main
        .iter()
        .map(|h| chain.info(h).unwrap().state_root)
        .collect();

    // Finalize main[2]: genesis, main[1] and the fork lose their states.
    let pruned = chain.finalize(main[2]).unwrap();
    assert_eq!(pruned, Some(3));
    for gone in [genesis, main[1], fork] {
        assert!(
            chain.state(&gone).unwrap().is_none(),
            "state of {gone} kept"
        );
    }
    for (h, root) in main.iter().zip(&roots).skip(2) {
        let kept = chain.state(h).unwrap().expect("a kept state");
        assert_eq!(kept.state.root(), *root, "state of {h} changed");
    }
    let late = child(&spec, &mut chain, main[2], top + 1);
    assert!(
        chain.import(&late).is_ok(),
        "a child of the finalized block imports"
    );
    let late = late.header.hash();
    drop(chain);

    // Reopen: the tree, the finalized block and the best block come back.
    let mut chain = Chain::open(
        &spec,
        StateStore::open(&spec, &dir).unwrap(),
        &header,
        state,
    )
    .unwrap();
    assert_eq!(chain.finalized().hash, main[2]);
    assert_eq!(chain.best().hash, main[4]);
    assert_eq!(chain.info(&main[4]).unwrap().state_root, roots[4]);

    // GP §17.4: a disregarded block takes its descendants out of the best
    // block's running, leaving the other child of the finalized block; the vote
    // target (GP 19.1: audited blocks, as empty ones are at once) stays put.
    assert_eq!(chain.vote_target().hash, main[4]);
    assert!(chain.set_disregarded(main[3]), "the best block changes");
    assert!(chain.is_disregarded(&main[3]));
    assert_eq!(chain.best().hash, late);
    assert_eq!(chain.vote_target().hash, main[4]);
    assert!(!chain.set_disregarded(main[3]), "already disregarded");
    drop(chain);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Blocks far below the finalized one leave memory but not the node: `block` and
/// `walk` read them back from the store, identical.
#[test]
fn old_finalized_blocks_are_read_back_from_the_store() {
    let spec = ChainSpec::tiny();
    let (header, state) = testnet_genesis(&spec, &devs(&spec)).unwrap();
    let dir = std::env::temp_dir().join(format!("tessera-chain-evict-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut chain = Chain::open(
        &spec,
        StateStore::open(&spec, &dir).unwrap(),
        &header,
        state,
    )
    .unwrap();
    let n = tessera_node::chain::FINALIZED_BLOCKS_IN_MEMORY + 8;
    let mut hashes = vec![chain.genesis_hash()];
    let mut blocks = Vec::new();
    let mut slot = 0;
    for _ in 0..n {
        let b = child(&spec, &mut chain, *hashes.last().unwrap(), slot);
        slot = b.header.slot;
        hashes.push(import(&mut chain, &b));
        blocks.push(b);
    }
    assert_eq!(chain.blocks_in_memory(), hashes.len() - 1);
    chain.finalize(*hashes.last().unwrap()).unwrap();
    // The first blocks are now only in the store.
    assert_eq!(
        chain.blocks_in_memory(),
        tessera_node::chain::FINALIZED_BLOCKS_IN_MEMORY as usize + 1
    );
    for (h, b) in hashes.iter().skip(1).zip(&blocks).take(4) {
        let back = chain.block(h).expect("an old block is read back");
        assert_eq!(back.header.hash(), b.header.hash());
        assert_eq!(back.extrinsic, b.extrinsic);
    }
    let walked = chain.walk(&hashes[5], false, 3);
    let walked: Vec<Hash> = walked.iter().map(|b| b.header.hash()).collect();
    assert_eq!(walked, vec![hashes[5], hashes[4], hashes[3]]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// GP 19.3: two valid blocks of one timeslot (here on two forks) rule out both
/// chains for the vote target and the authoring head; a block built beside
/// them, on the last block before the equivocation, is taken instead.
#[test]
fn an_equivocation_rules_out_both_chains() {
    let spec = ChainSpec::tiny();
    let (header, state) = testnet_genesis(&spec, &devs(&spec)).unwrap();
    let mut chain = Chain::open(&spec, StateStore::in_memory(&spec), &header, state).unwrap();
    let genesis = chain.genesis_hash();
    let a = child(&spec, &mut chain, genesis, 0);
    let a_hash = import(&mut chain, &a);
    let b = child(&spec, &mut chain, genesis, a.header.slot);
    let b_hash = import(&mut chain, &b);
    // One slot after both, built on each: the slot's author signs twice.
    let after = b.header.slot;
    let c = child(&spec, &mut chain, a_hash, after);
    let c_hash = import(&mut chain, &c);
    assert_eq!(
        chain.vote_target().hash,
        c_hash,
        "before the twin, C is the head"
    );
    assert!(!chain.equivocated(&c_hash));
    let d = child(&spec, &mut chain, b_hash, after);
    assert_eq!(c.header.slot, d.header.slot, "the same slot on both forks");
    let d_hash = import(&mut chain, &d);
    assert!(chain.equivocated(&c_hash) && chain.equivocated(&d_hash));
    for head in [chain.vote_target().hash, chain.best().hash] {
        assert!(
            head == a_hash || head == b_hash,
            "a head on an equivocated chain: {head}"
        );
    }
    // Built beside the equivocation, on A: taken by both rules.
    let e = child(&spec, &mut chain, a_hash, d.header.slot);
    let e_hash = import(&mut chain, &e);
    assert_eq!(chain.vote_target().hash, e_hash);
    assert_eq!(chain.best().hash, e_hash);
    // A descendant of an equivocated block stays out, whatever its weight.
    let f = child(&spec, &mut chain, c_hash, e.header.slot);
    let f_hash = import(&mut chain, &f);
    assert_ne!(chain.vote_target().hash, f_hash);
    assert_ne!(chain.best().hash, f_hash);
    // Once a chain is finalized past the slot, its twin no longer counts.
    chain.finalize(a_hash).unwrap();
    chain.finalize(c_hash).unwrap();
    assert!(!chain.equivocated(&f_hash));
    assert_eq!(chain.vote_target().hash, f_hash);
}

/// GRANDPA's voter sets over a genesis whose `γ_P` replaces validator 5 by dev
/// validator 6 (`changing_testnet_genesis`): the block of slot 12 (the first of
/// epoch 1, `κ′ = γ_P`) and that of slot 24 (`κ′` the first set again) end a
/// set each; the set id goes up as finality passes them, and a reopened chain
/// gives back both the marks of unfinalized blocks and the id.
#[test]
fn voter_sets_change_at_epoch_changes_that_change_kappa_keys() {
    let spec = ChainSpec::tiny();
    let validators = devs(&spec);
    let newcomer = ValidatorSecrets::dev(spec.validators() as u32);
    let (header, state) = changing_testnet_genesis(&spec, &validators, &newcomer).unwrap();
    let keys = |ids: &[u32]| -> Vec<PublicKey> {
        ids.iter()
            .map(|i| ValidatorSecrets::dev(*i).ed25519.public())
            .collect()
    };
    let first = keys(&[0, 1, 2, 3, 4, 5]);
    let second = keys(&[0, 1, 2, 3, 4, 6]);
    let dir = std::env::temp_dir().join(format!("tessera-chain-sets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let open = || {
        Chain::open(
            &spec,
            StateStore::open(&spec, &dir).unwrap(),
            &header,
            state.clone(),
        )
        .unwrap()
    };
    let mut chain = open();
    assert_eq!(chain.voter_set(), (0, std::sync::Arc::new(first.clone())));
    // One block per slot up to 26, sealed by whoever of the seven holds the slot.
    let mut all = validators.clone();
    all.push(newcomer);
    let mut blocks = vec![(0, chain.genesis_hash())];
    while blocks.last().unwrap().0 < 26 {
        let (slot, parent) = *blocks.last().unwrap();
        let stored = chain.state(&parent).unwrap().unwrap();
        let (author, _) = slot_author(&spec, &stored.state, slot + 1, &all)
            .unwrap()
            .expect("every slot has an author among the seven");
        let p = Parent {
            state: &stored.state,
            header_hash: parent,
            state_root: stored.root,
        };
        let block = author_block(&spec, p, slot + 1, author, Extrinsic::default()).unwrap();
        blocks.push((slot + 1, import(&mut chain, &block)));
    }
    let at = |slot: u32| blocks[slot as usize].1;
    for (slot, hash) in &blocks {
        let expected = match slot {
            12 => Some(second.clone()),
            24 => Some(first.clone()),
            _ => None,
        };
        assert_eq!(
            chain.info(hash).unwrap().next_voters.as_deref().cloned(),
            expected,
            "the block of slot {slot}"
        );
    }
    // The commit that ends set 0 (its precommits do not matter to the store).
    let commit = GrandpaMessage::Commit {
        round: 7,
        set_id: 0,
        target: GrandpaTarget {
            hash: at(13),
            number: 13,
        },
        precommits: Vec::new(),
    };
    chain.finalize_justified(at(11), Some(&[1, 2, 3])).unwrap();
    assert_eq!(
        chain.voter_set().0,
        0,
        "the set's last block is not final yet"
    );
    assert!(
        chain.voter_set_end().unwrap().is_none(),
        "a justification that ends no set is not kept"
    );
    chain
        .finalize_justified(at(13), Some(&commit.encode()))
        .unwrap();
    assert_eq!(chain.voter_set(), (1, std::sync::Arc::new(second.clone())));
    drop(chain);

    let mut chain = open();
    assert_eq!(chain.voter_set(), (1, std::sync::Arc::new(second.clone())));
    assert_eq!(
        chain.voter_set_end().unwrap(),
        Some(commit),
        "the commit that ended set 0, kept with the hand-off"
    );
    assert_eq!(
        chain.info(&at(24)).unwrap().next_voters.as_deref().cloned(),
        Some(first.clone()),
        "an unfinalized block's mark is rebuilt from the states"
    );
    chain.finalize(at(25)).unwrap();
    assert_eq!(chain.voter_set(), (2, std::sync::Arc::new(first.clone())));
    // What the tree tracks shrinks with finality: the states of #25 and #26
    // and at most their audit marks; final blocks count as audited unmarked.
    let (states, marks) = chain.tracked();
    assert_eq!(states, 2);
    assert!(marks <= 2, "{marks} audit marks kept");
    assert!(chain.state(&at(26)).unwrap().is_some() && chain.state(&at(24)).unwrap().is_none());
    assert!(chain.is_audited(&at(3)) && chain.is_audited(&at(25)));
    drop(chain);
    assert_eq!(open().voter_set(), (2, std::sync::Arc::new(first)));
    let _ = std::fs::remove_dir_all(&dir);
}
