//! Block-import traces (`traces/{fallback,safrole,storage,preimages}`, tiny spec).
//!
//! Each step file is `(pre-state, block, post-state)` with both states as root and
//! full key/value list; `genesis.bin` is the genesis header and state. For every
//! file the suite checks:
//! - each state's root is `M_σ` of its key/value list, and the list is exactly
//!   `T(T⁻¹(list))`: every key and value is understood and re-serialized;
//! - the step's pre-state is the previous step's post-state (genesis for the
//!   first), so the folder is one chain;
//! - the block imports onto the pre-state to exactly the post-state's list and
//!   root; where the post-state equals the pre-state the block is invalid and must
//!   be rejected.

#[path = "stf_support/backends.rs"]
mod backends;

use std::path::Path;

use tessera_conformance::{ensure_eq, fail, CaseCtx, CaseError, Outcome, Suite};
use tessera_core::codec::decode_exact;
use tessera_core::merkle::trie;
use tessera_core::spec::ChainSpec;
use tessera_state::import_block;
use tessera_state::serial::trace_file::{Genesis, RawState, TraceStep};
use tessera_state::serial::KeyValues;
use tessera_state::ChainState;

struct Traces(&'static str);

fn check_raw(spec: &ChainSpec, what: &str, raw: &RawState) -> Result<ChainState, CaseError> {
    ensure_eq!(
        trie::state_root_of_map(&raw.keyvals),
        raw.root,
        "{what}: state root of the key/value list"
    );
    let state = ChainState::deserialize(spec, &raw.keyvals)
        .map_err(|e| CaseError(format!("{what}: {e}")))?;
    let again = state.serialize();
    if again != raw.keyvals {
        fail!(
            "{what}: T(T⁻¹(state)) differs: {}",
            first_difference(&raw.keyvals, &again)
        );
    }
    Ok(state)
}

/// The first key whose value differs, for a readable failure.
fn first_difference(want: &KeyValues, got: &KeyValues) -> String {
    for (k, v) in want {
        match got.get(k) {
            None => return format!("key {k} missing"),
            Some(g) if g != v => {
                return format!("key {k}: want {} got {}", hex::encode(v), hex::encode(g))
            }
            _ => {}
        }
    }
    match got.keys().find(|k| !want.contains_key(*k)) {
        Some(k) => format!("extra key {k}"),
        None => "no difference".into(),
    }
}

impl Suite for Traces {
    fn folder(&self) -> &str {
        self.0
    }

    fn is_case(&self, file: &str) -> bool {
        file.ends_with(".bin")
    }

    fn run_case(&self, ctx: &CaseCtx<'_>, file: &str) -> Result<Outcome, CaseError> {
        let spec = ChainSpec::tiny();
        let decode_err = |e| CaseError(format!("{file}: {e}"));
        if file == "genesis.bin" {
            let g: Genesis = decode_exact(&spec, &ctx.read(file)?).map_err(decode_err)?;
            check_raw(&spec, "genesis state", &g.state)?;
            return Ok(Outcome::Passed);
        }
        let step: TraceStep = decode_exact(&spec, &ctx.read(file)?).map_err(decode_err)?;
        let pre = check_raw(&spec, "pre-state", &step.pre)?;
        check_raw(&spec, "post-state", &step.post)?;

        // The chain: this pre-state is the previous step's post-state.
        let previous = previous_state(ctx, &spec, file)?;
        ensure_eq!(
            previous.root,
            step.pre.root,
            "{file}: pre-state root vs the previous step's post-state root"
        );

        let result = import_block(&spec, &pre, &step.pre.root, &step.block);
        let invalid = step.post.root == step.pre.root;
        match (result, invalid) {
            (Ok(post), false) => {
                let got = post.serialize();
                if got != step.post.keyvals {
                    fail!(
                        "{file}: post-state differs: {}",
                        first_difference(&step.post.keyvals, &got)
                    );
                }
                ensure_eq!(post.root(), step.post.root, "{file}: post-state root");
            }
            // Rejected as expected; the caller keeps the pre-state.
            (Err(_), true) => {}
            (Ok(_), true) => fail!("{file}: an invalid block was accepted"),
            (Err(e), false) => fail!("{file}: a valid block was rejected: {e}"),
        }
        Ok(Outcome::Passed)
    }
}

/// The state the previous file of the folder leaves: genesis for the first step.
fn previous_state(ctx: &CaseCtx<'_>, spec: &ChainSpec, file: &str) -> Result<RawState, CaseError> {
    let n: u32 = file
        .trim_end_matches(".bin")
        .parse()
        .map_err(|_| CaseError(format!("{file}: not a step number")))?;
    let previous = format!("{:08}.bin", n.saturating_sub(1));
    if n <= 1 || !ctx.dir().join(Path::new(&previous)).is_file() {
        let g: Genesis = decode_exact(spec, &ctx.read("genesis.bin")?)
            .map_err(|e| CaseError(format!("genesis.bin: {e}")))?;
        return Ok(g.state);
    }
    let step: TraceStep = decode_exact(spec, &ctx.read(&previous)?)
        .map_err(|e| CaseError(format!("{previous}: {e}")))?;
    Ok(step.post)
}

#[test]
fn fallback() {
    backends::on_each_backend("traces/fallback", || {
        tessera_conformance::run(&Traces("traces/fallback"))
    });
}

#[test]
fn safrole() {
    backends::on_each_backend("traces/safrole", || {
        tessera_conformance::run(&Traces("traces/safrole"))
    });
}

#[test]
fn storage() {
    backends::on_each_backend("traces/storage", || {
        tessera_conformance::run(&Traces("traces/storage"))
    });
}

#[test]
fn preimages() {
    backends::on_each_backend("traces/preimages", || {
        tessera_conformance::run(&Traces("traces/preimages"))
    });
}

/// A copy of a trace folder with one post-state value changed fails exactly
/// that step; a stray file is reported.
#[test]
fn corrupted_trace_copy_fails_the_suite() {
    let report = tessera_conformance::run_report_on_copy(&Traces("traces/fallback"), |dir| {
        let path = dir.join("00000005.bin");
        let mut bytes = std::fs::read(&path).unwrap();
        // The last octet belongs to the post-state's last value.
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        std::fs::write(dir.join("stray.txt"), b"unread").unwrap();
    });
    let Some(report) = report else { return };
    // Step 5's post-state root no longer matches its list, and step 6 no longer
    // chains onto it.
    let failed: Vec<&str> = report.failed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(failed, ["00000005.bin"], "{report:?}");
    assert_eq!(report.unconsumed.len(), 1, "{report:?}");
}

/// Blocks changed after sealing are rejected with the rule they break, and a
/// step's post-state really comes from the import: a state root that is not the
/// prior state's is refused.
#[test]
fn tampered_blocks_are_rejected_with_their_rule() {
    use tessera_state::stf::{BlockError, HeaderError};
    let Some(dir) = tessera_conformance::vectors_folder("traces/safrole") else {
        return;
    };
    let spec = ChainSpec::tiny();
    let step: TraceStep =
        decode_exact(&spec, &std::fs::read(dir.join("00000003.bin")).unwrap()).unwrap();
    let pre = ChainState::deserialize(&spec, &step.pre.keyvals).unwrap();
    let import =
        |block: &tessera_core::types::Block| import_block(&spec, &pre, &step.pre.root, block);
    assert!(import(&step.block).is_ok());

    let mut b = step.block.clone();
    b.header.parent_state_root.0[0] ^= 1;
    assert!(matches!(
        import(&b),
        Err(BlockError::Header(HeaderError::BadParentStateRoot { .. }))
    ));

    let mut b = step.block.clone();
    b.header.seal.0[40] ^= 1;
    assert!(matches!(
        import(&b),
        Err(BlockError::Header(HeaderError::BadSeal(_)))
    ));

    let mut b = step.block.clone();
    b.header.author_index = (b.header.author_index + 1) % 6;
    assert!(import(&b).is_err());

    let mut b = step.block.clone();
    b.header.extrinsic_hash.0[0] ^= 1;
    assert!(matches!(
        import(&b),
        Err(BlockError::Header(HeaderError::BadExtrinsicHash { .. }))
    ));

    let mut b = step.block.clone();
    b.header.slot = pre.tau;
    assert!(matches!(
        import(&b),
        Err(BlockError::Header(HeaderError::BadSlot { .. }))
    ));
}
