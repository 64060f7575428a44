//! Shard justifications, tested from their definitions (no public vectors exist):
//! built over the shards the kernels' reference pipeline computes, every CE 137,
//! 138 and 140 justification proves its shard to the erasure root the kernels
//! compute; and any flipped octet of shard, justification or root is refused.

use proptest::prelude::*;
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::spec::ChainSpec;
use tessera_da::availability;
use tessera_da::justification::{
    audit_shard, bundle_shard, erasure_leaf, erasure_root, segment_shard, segment_shards_root,
    verify_audit_shard, verify_bundle_shard, verify_segment_shard, JustificationError,
};
use tessera_net::messages::{Justification, JustificationStep};
use tessera_test_support::SplitMix;

/// One package as every validator's shards: bundle shard, segment shards, leaf.
struct Package {
    root: Hash,
    bundle_shards: Vec<Vec<u8>>,
    segment_shards: Vec<Vec<Vec<u8>>>,
    leaves: Vec<[u8; 64]>,
}

/// `b♣_i ⌢ s♣_i` of every validator.
fn leaves(bundle_shards: &[Vec<u8>], segment_shards: &[Vec<Vec<u8>>]) -> Vec<[u8; 64]> {
    bundle_shards
        .iter()
        .zip(segment_shards)
        .map(|(b, s)| erasure_leaf(&blake2b_256(b), &segment_shards_root(s)))
        .collect()
}

fn package(spec: &ChainSpec, bundle_len: usize, segments: usize, seed: u64) -> Package {
    let mut rng = SplitMix(seed);
    let bundle = rng.bytes(bundle_len);
    let segments = rng.blobs(segments, spec.segment_size as usize);
    let reference = availability::reference(spec, &bundle, &segments).unwrap();
    let shard = 2 * spec.segment_pieces as usize;
    let bundle_shards = reference.chunks.to_vecs();
    let segment_shards: Vec<Vec<Vec<u8>>> = reference
        .segment_shards
        .iter()
        .map(|row| row.chunks(shard).map(<[u8]>::to_vec).collect())
        .collect();
    let leaves = leaves(&bundle_shards, &segment_shards);
    // The leaves rebuilt here give the root the kernels computed.
    assert_eq!(erasure_root(&leaves), reference.roots.erasure_root);
    Package {
        root: reference.roots.erasure_root,
        bundle_shards,
        segment_shards,
        leaves,
    }
}

fn check_every_shard(spec: &ChainSpec, p: &Package) {
    for i in 0..spec.validators() {
        let j = bundle_shard(&p.leaves, i).unwrap();
        verify_bundle_shard(
            spec,
            &p.root,
            i,
            &p.bundle_shards[i],
            &p.segment_shards[i],
            &j,
        )
        .unwrap_or_else(|e| panic!("CE 137, shard {i}: {e}"));
        let s_root = segment_shards_root(&p.segment_shards[i]);
        let j138 = audit_shard(&j, s_root);
        verify_audit_shard(spec, &p.root, i, &p.bundle_shards[i], &j138)
            .unwrap_or_else(|e| panic!("CE 138, shard {i}: {e}"));
        let shards = &p.segment_shards[i];
        for (k, shard) in shards.iter().enumerate() {
            let j140 = segment_shard(&j, blake2b_256(&p.bundle_shards[i]), shards, k).unwrap();
            verify_segment_shard(spec, &p.root, i, shards.len(), k, shard, &j140)
                .unwrap_or_else(|e| panic!("CE 140, shard {i}, segment {k}: {e}"));
        }
    }
}

#[test]
fn tiny_package_with_exports_every_form_verifies() {
    let spec = ChainSpec::tiny();
    // 65 segments: a second proof page, so s has 65 + 2 entries.
    let p = package(&spec, 10_000, 65, 1);
    assert_eq!(p.segment_shards[0].len(), 67);
    check_every_shard(&spec, &p);
}

#[test]
fn tiny_package_without_exports_and_with_one_verifies() {
    let spec = ChainSpec::tiny();
    check_every_shard(&spec, &package(&spec, 1, 0, 2));
    // One segment and its one proof page: two segment shards per validator.
    check_every_shard(&spec, &package(&spec, 3_000, 1, 3));
}

#[test]
fn full_spec_package_every_form_verifies() {
    let spec = ChainSpec::full();
    let p = package(&spec, 5_000, 3, 4);
    // V = 1023 leaves: some siblings are single leaves, sent as pairs.
    let pairs = (0..spec.validators())
        .map(|i| bundle_shard(&p.leaves, i).unwrap())
        .filter(|j| j.0.iter().any(|s| matches!(s, JustificationStep::Pair(..))))
        .count();
    assert!(pairs > 0, "no justification carried a pair");
    check_every_shard(&spec, &p);
}

#[test]
fn a_shard_under_another_index_or_root_is_refused() {
    let spec = ChainSpec::tiny();
    let p = package(&spec, 2_000, 2, 5);
    let j = bundle_shard(&p.leaves, 1).unwrap();
    let (b, s) = (&p.bundle_shards[1], &p.segment_shards[1]);
    // Index 0 sits at the same depth as 1 (of 6 leaves, split 3 + 3, then 2 + 1):
    // the path fits and the root differs. Index 2 sits higher: the length is wrong.
    assert!(matches!(
        verify_bundle_shard(&spec, &p.root, 0, b, s, &j),
        Err(JustificationError::RootMismatch { .. })
    ));
    assert!(matches!(
        verify_bundle_shard(&spec, &p.root, 2, b, s, &j),
        Err(JustificationError::Shape(_))
    ));
    let other = package(&spec, 2_000, 2, 6);
    assert!(verify_bundle_shard(&spec, &other.root, 1, b, s, &j).is_err());
    // Index V is outside the tree.
    assert!(matches!(
        verify_bundle_shard(&spec, &p.root, spec.validators(), b, s, &j),
        Err(JustificationError::Shape(_))
    ));
}

#[test]
fn truncated_or_mis_shaped_justifications_are_refused() {
    let spec = ChainSpec::tiny();
    let p = package(&spec, 2_000, 2, 7);
    let i = 4;
    let j = bundle_shard(&p.leaves, i).unwrap();
    let mut short = j.clone();
    short.0.pop();
    assert!(matches!(
        verify_bundle_shard(
            &spec,
            &p.root,
            i,
            &p.bundle_shards[i],
            &p.segment_shards[i],
            &short
        ),
        Err(JustificationError::Shape(_))
    ));
    assert!(matches!(
        verify_audit_shard(
            &spec,
            &p.root,
            i,
            &p.bundle_shards[i],
            &Justification::default()
        ),
        Err(JustificationError::TooShort { .. })
    ));
    // CE 138 whose appended s♣_i is a segment shard instead of a hash.
    let mut j138 = audit_shard(&j, segment_shards_root(&p.segment_shards[i]));
    *j138.0.last_mut().unwrap() = JustificationStep::SegmentShard(vec![0; 2052]);
    assert!(matches!(
        verify_audit_shard(&spec, &p.root, i, &p.bundle_shards[i], &j138),
        Err(JustificationError::NotAHash { .. })
    ));
    // CE 140 one entry short.
    let shards = &p.segment_shards[i];
    let mut j140 = segment_shard(&j, blake2b_256(&p.bundle_shards[i]), shards, 1).unwrap();
    j140.0.remove(0);
    assert!(verify_segment_shard(&spec, &p.root, i, shards.len(), 1, &shards[1], &j140).is_err());
}

/// Every octet position of a justification's entries, as (entry, offset).
fn positions(j: &Justification) -> Vec<(usize, usize)> {
    j.0.iter()
        .enumerate()
        .flat_map(|(e, s)| {
            let len = match s {
                JustificationStep::Hash(_) => 32,
                JustificationStep::Pair(..) => 64,
                JustificationStep::SegmentShard(x) => x.len(),
            };
            (0..len).map(move |o| (e, o))
        })
        .collect()
}

fn flip(j: &mut Justification, (entry, offset): (usize, usize)) {
    match &mut j.0[entry] {
        JustificationStep::Hash(h) => h.0[offset] ^= 1,
        JustificationStep::Pair(a, b) => {
            if offset < 32 {
                a.0[offset] ^= 1
            } else {
                b.0[offset - 32] ^= 1
            }
        }
        JustificationStep::SegmentShard(x) => x[offset] ^= 1,
    }
}

/// Random shard sets without erasure coding: the justification does not care how
/// the shards were made. `V` leaves of random bundle shards and `n` random segment
/// shards each.
fn random_package(spec: &ChainSpec, seed: u64, n: usize) -> Package {
    let mut rng = SplitMix(seed);
    let v = spec.validators();
    let bundle_shards: Vec<Vec<u8>> = (0..v).map(|_| rng.bytes(40)).collect();
    let segment_shards: Vec<Vec<Vec<u8>>> = (0..v)
        .map(|_| {
            (0..n)
                .map(|_| rng.bytes(2 * spec.segment_pieces as usize))
                .collect()
        })
        .collect();
    let leaves = leaves(&bundle_shards, &segment_shards);
    Package {
        root: erasure_root(&leaves),
        bundle_shards,
        segment_shards,
        leaves,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_flipped_octet_is_refused(seed in any::<u64>(), n in 1usize..6, pick in any::<prop::sample::Index>(), at in any::<prop::sample::Index>()) {
        let spec = ChainSpec::tiny();
        let p = random_package(&spec, seed, n);
        let i = pick.index(spec.validators());
        let (b, s) = (&p.bundle_shards[i], &p.segment_shards[i]);
        let j = bundle_shard(&p.leaves, i).unwrap();
        prop_assert!(verify_bundle_shard(&spec, &p.root, i, b, s, &j).is_ok());

        // The bundle shard.
        let mut b2 = b.clone();
        let o = at.index(b2.len());
        b2[o] ^= 0x80;
        prop_assert!(verify_bundle_shard(&spec, &p.root, i, &b2, s, &j).is_err());
        prop_assert!(verify_audit_shard(&spec, &p.root, i, &b2, &audit_shard(&j, segment_shards_root(s))).is_err());
        // A segment shard.
        let mut s2 = s.clone();
        let k = at.index(n);
        let o = at.index(s2[k].len());
        s2[k][o] ^= 1;
        prop_assert!(verify_bundle_shard(&spec, &p.root, i, b, &s2, &j).is_err());
        let j140 = segment_shard(&j, blake2b_256(b), s, k).unwrap();
        prop_assert!(verify_segment_shard(&spec, &p.root, i, n, k, &s[k], &j140).is_ok());
        prop_assert!(verify_segment_shard(&spec, &p.root, i, n, k, &s2[k], &j140).is_err());
        // The root.
        let mut root = p.root;
        root.0[at.index(32)] ^= 1;
        prop_assert!(verify_bundle_shard(&spec, &root, i, b, s, &j).is_err());
        // Every octet of every justification form.
        for pos in positions(&j) {
            let mut j2 = j.clone();
            flip(&mut j2, pos);
            prop_assert!(verify_bundle_shard(&spec, &p.root, i, b, s, &j2).is_err());
        }
        let j138 = audit_shard(&j, segment_shards_root(s));
        for pos in positions(&j138) {
            let mut j2 = j138.clone();
            flip(&mut j2, pos);
            prop_assert!(verify_audit_shard(&spec, &p.root, i, b, &j2).is_err());
        }
        for pos in positions(&j140) {
            let mut j2 = j140.clone();
            flip(&mut j2, pos);
            prop_assert!(verify_segment_shard(&spec, &p.root, i, n, k, &s[k], &j2).is_err());
        }
    }
}
