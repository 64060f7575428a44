//! Block authoring (`tessera_node::author`) against the block-import traces
//! (`traces/fallback`, `traces/safrole`, `traces/storage`, `traces/preimages`,
//! tiny spec), whose validators are the JIP-5 development validators 0..6.
//!
//! From each trace's genesis state, every valid step's slot is authored by the
//! development validator that holds its seal key, with the step's extrinsic;
//! the authored block must import with `import_block` to the trace's post-state,
//! and its header must equal the trace's header byte for byte (the IETF VRF
//! signatures are deterministic, so the same key signs the same header the same
//! way). The folders are absent locally unless the vectors are: then the tests
//! skip loudly, or fail with `JAM_VECTORS_REQUIRED=1`.

use std::path::{Path, PathBuf};

use tessera_core::codec::{decode_exact, Encode};
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Block, Extrinsic};
use tessera_node::author::{author_block, slot_author, AuthorError, Parent, SlotContext};
use tessera_state::serial::trace_file::{Genesis, TraceStep};
use tessera_state::{import_block, BlockError, ChainState};

/// The JIP-5 development validators of the tiny spec.
fn dev_validators(spec: &ChainSpec) -> Vec<ValidatorSecrets> {
    (0..spec.validators())
        .map(|i| ValidatorSecrets::dev(u32::try_from(i).unwrap()))
        .collect()
}

/// A trace folder's genesis state, its root and header hash, and its steps.
struct Trace {
    genesis: ChainState,
    genesis_root: tessera_core::hash::Hash,
    genesis_hash: tessera_core::hash::Hash,
    steps: Vec<(String, TraceStep)>,
}

fn load(spec: &ChainSpec, dir: &Path) -> Trace {
    let g: Genesis = decode_exact(spec, &std::fs::read(dir.join("genesis.bin")).unwrap()).unwrap();
    let genesis = ChainState::deserialize(spec, &g.state.keyvals).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "bin")
                && p.file_name().is_some_and(|n| n != "genesis.bin")
        })
        .collect();
    files.sort();
    let steps = files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                decode_exact(spec, &std::fs::read(p).unwrap()).unwrap(),
            )
        })
        .collect();
    Trace {
        genesis,
        genesis_root: g.state.root,
        genesis_hash: g.header.hash(),
        steps,
    }
}

/// Author every valid step of the trace in `rel` with the development validator
/// that holds its slot, import it, and compare with the trace. Returns the
/// number of steps authored and how many were ticket-sealed.
fn replay(rel: &str) -> Option<(usize, usize)> {
    let dir = tessera_conformance::vectors_folder(rel)?;
    let spec = ChainSpec::tiny();
    let trace = load(&spec, &dir);
    let devs = dev_validators(&spec);
    // The genesis validators are the JIP-5 development validators, in order.
    let kappa: Vec<_> = trace
        .genesis
        .kappa
        .0
        .iter()
        .map(|v| v.bandersnatch)
        .collect();
    let dev_keys: Vec<_> = devs.iter().map(|d| d.bandersnatch.public()).collect();
    assert_eq!(
        kappa, dev_keys,
        "{rel}: κ of genesis is not the dev validators"
    );

    let (mut state, mut root, mut parent_hash) = (
        trace.genesis.clone(),
        trace.genesis_root,
        trace.genesis_hash,
    );
    let (mut authored, mut ticketed, mut epochs_marked, mut with_extrinsic) =
        (0usize, 0usize, 0usize, 0usize);
    for (file, step) in &trace.steps {
        if step.post.root == step.pre.root {
            // A block the trace says is invalid: nothing to author.
            continue;
        }
        assert_eq!(step.pre.root, root, "{rel}/{file}: the trace's pre-state");
        let slot = step.block.header.slot;
        let (keys, claim) = slot_author(&spec, &state, slot, &devs)
            .unwrap()
            .unwrap_or_else(|| panic!("{rel}/{file}: no dev validator holds slot {slot}"));
        assert_eq!(
            claim.author_index, step.block.header.author_index,
            "{rel}/{file}: author index"
        );
        // Every other development validator is refused the slot, by key in
        // fallback mode and by VRF output under a ticket.
        let context =
            SlotContext::new(&spec, &state, slot, &step.block.extrinsic.disputes).unwrap();
        for other in devs
            .iter()
            .filter(|d| d.bandersnatch.public() != keys.bandersnatch.public())
        {
            assert_eq!(
                context.claim(&other.bandersnatch),
                Err(AuthorError::NotSlotAuthor {
                    slot,
                    key: other.bandersnatch.public()
                }),
                "{rel}/{file}: another validator claims the slot"
            );
        }
        let parent = Parent {
            state: &state,
            header_hash: parent_hash,
            state_root: root,
        };
        let block = author_block(&spec, parent, slot, keys, step.block.extrinsic.clone())
            .unwrap_or_else(|e| panic!("{rel}/{file}: {e}"));
        let post = import_block(&spec, &state, &root, &block)
            .unwrap_or_else(|e| panic!("{rel}/{file}: authored block rejected: {e}"));
        assert_eq!(
            hex(&block.header.encode()),
            hex(&step.block.header.encode()),
            "{rel}/{file}: authored header differs from the trace's"
        );
        assert_eq!(post.root(), step.post.root, "{rel}/{file}: post-state root");
        authored += 1;
        ticketed += usize::from(claim.ticketed);
        epochs_marked += usize::from(block.header.epoch_mark.is_some());
        with_extrinsic += usize::from(block.extrinsic != Extrinsic::default());
        parent_hash = block.header.hash();
        root = post.root();
        state = post;
    }
    eprintln!(
        "{rel}: authored {authored} blocks ({ticketed} ticket-sealed, {epochs_marked} with an epoch marker, {with_extrinsic} with a non-empty extrinsic), each byte-equal to the trace's"
    );
    assert!(
        epochs_marked >= 2,
        "{rel}: expected to cross at least two epoch boundaries"
    );
    Some((authored, ticketed))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn fallback_trace_authored_byte_for_byte() {
    if let Some((authored, _)) = replay("traces/fallback") {
        assert!(authored > 24, "more than two tiny epochs");
    }
}

#[test]
fn safrole_trace_authored_byte_for_byte() {
    if let Some((_, ticketed)) = replay("traces/safrole") {
        assert!(ticketed > 0, "the safrole trace has ticket-sealed slots");
    }
}

/// The first valid step of the fallback trace, with its genesis.
fn first_step() -> Option<(ChainSpec, Trace)> {
    let dir = tessera_conformance::vectors_folder("traces/fallback")?;
    let spec = ChainSpec::tiny();
    let trace = load(&spec, &dir);
    Some((spec, trace))
}

#[test]
fn a_non_author_gets_a_typed_error() {
    let Some((spec, trace)) = first_step() else {
        return;
    };
    let slot = trace.steps[0].1.block.header.slot;
    let devs = dev_validators(&spec);
    let context = SlotContext::new(&spec, &trace.genesis, slot, &Default::default()).unwrap();
    let authors: Vec<usize> = (0..devs.len())
        .filter(|&i| context.is_author(&devs[i].bandersnatch))
        .collect();
    assert!(!authors.is_empty());
    let other = (0..devs.len()).find(|i| !authors.contains(i)).unwrap();
    let parent = Parent {
        state: &trace.genesis,
        header_hash: trace.genesis_hash,
        state_root: trace.genesis_root,
    };
    let err = author_block(&spec, parent, slot, &devs[other], Extrinsic::default()).unwrap_err();
    assert_eq!(
        err,
        AuthorError::NotSlotAuthor {
            slot,
            key: devs[other].bandersnatch.public()
        }
    );
    // A slot not after the parent's.
    let err = author_block(
        &spec,
        parent,
        trace.genesis.tau,
        &devs[authors[0]],
        Extrinsic::default(),
    )
    .unwrap_err();
    assert!(matches!(err, AuthorError::SlotNotAfterParent { .. }));
}

#[test]
fn one_flipped_seal_bit_fails_import() {
    let Some((spec, trace)) = first_step() else {
        return;
    };
    let slot = trace.steps[0].1.block.header.slot;
    let devs = dev_validators(&spec);
    let (keys, _) = slot_author(&spec, &trace.genesis, slot, &devs)
        .unwrap()
        .unwrap();
    let parent = Parent {
        state: &trace.genesis,
        header_hash: trace.genesis_hash,
        state_root: trace.genesis_root,
    };
    let block = author_block(&spec, parent, slot, keys, Extrinsic::default()).unwrap();
    import_block(&spec, &trace.genesis, &trace.genesis_root, &block).unwrap();
    // Authoring is deterministic.
    let again = author_block(&spec, parent, slot, keys, Extrinsic::default()).unwrap();
    assert_eq!(again, block);
    for (byte, bit) in [(0, 0), (31, 7), (32, 3), (64, 1), (95, 6)] {
        let mut bad: Block = block.clone();
        bad.header.seal.0[byte] ^= 1 << bit;
        let err = import_block(&spec, &trace.genesis, &trace.genesis_root, &bad).unwrap_err();
        assert!(
            matches!(err, BlockError::Header(_)),
            "seal octet {byte} bit {bit}: {err}"
        );
    }
    let mut bad = block.clone();
    bad.header.entropy_source.0[40] ^= 1;
    assert!(import_block(&spec, &trace.genesis, &trace.genesis_root, &bad).is_err());
}

#[test]
fn storage_and_preimages_traces_authored_byte_for_byte() {
    // Blocks with guarantees, assurances and preimages: the extrinsic hash and
    // every marker as the importer computes them.
    for rel in ["traces/storage", "traces/preimages"] {
        replay(rel);
    }
}
