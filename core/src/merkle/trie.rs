//! State Merklization `M_σ`, GP §D.2: a binary Patricia trie of 64-octet nodes
//! keyed by 31-octet state keys, identified by the Blake2b-256 hash of its root node
//! (the zero hash when empty).
//!
//! Bit order: GP v0.7.2 reads `bits` most significant first within each octet (§3.7),
//! so the first bit of a node is the top bit of its first octet and key bit `i` is bit
//! `7 − i mod 8` of octet `⌊i/8⌋`. The v0.7.2 block-import traces (`traces/*`) confirm
//! it: their state roots are [`state_root`]'s. The standalone trie vectors
//! (`trie/trie.json`) do not follow it: they predate GP 0.4.0, which reversed the
//! bit order, and were never regenerated (davxy/jam-test-vectors issue #81,
//! w3f/jamtestvectors PR #14). They match the same formulas read least significant
//! bit first, [`BitOrder::LsbFirst`], which is kept only to check them. The vectors
//! that matter for v0.7.2 (the traces) win; see `conformance/tests/trie.rs`.
//!
//! Key length: GP v0.7.2 state keys are 31 octets (D.1) and a leaf stores exactly 31
//! (D.4), while the trie vectors give 32-octet keys. Only the first 31 octets of a key
//! take part in the root, so [`state_root`] accepts keys of any length and uses
//! their first 31 octets (zero-padded if shorter).

use std::collections::BTreeMap;

use crate::bytes::ByteArray;
use crate::hash::{blake2b_256, Hash};

/// The length of a state key, GP (D.1).
pub const STATE_KEY_LEN: usize = 31;

/// A state key `𝕐_31`.
pub type StateKey = ByteArray<STATE_KEY_LEN>;

/// A trie node: 512 bits.
pub type NodeBytes = [u8; 64];

/// The longest value a leaf embeds rather than hashes, GP (D.4).
pub const MAX_EMBEDDED_VALUE: usize = 32;

/// The state key of any key: its first 31 octets, zero-padded if shorter.
pub fn state_key(key: &[u8]) -> StateKey {
    let mut k = [0u8; STATE_KEY_LEN];
    let n = key.len().min(STATE_KEY_LEN);
    k[..n].copy_from_slice(&key[..n]);
    ByteArray(k)
}

/// How the GP's bit strings map onto octets: `bits(x)` reads each octet in this order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BitOrder {
    /// Most significant bit first: GP v0.7.2 (§3.7), and the traces' state roots.
    #[default]
    MsbFirst,
    /// Least significant bit first: the GP before 0.4.0, which the stale
    /// `trie/trie.json` vectors still use (an embedded leaf's head is
    /// `0b01 | |v| << 2` there). Not a v0.7.2 state root.
    LsbFirst,
}

impl BitOrder {
    /// Bit `i` of a key; `false` past its end.
    pub fn bit(self, key: &[u8], i: usize) -> bool {
        let mask = match self {
            BitOrder::MsbFirst => 0x80 >> (i % 8),
            BitOrder::LsbFirst => 1 << (i % 8),
        };
        key.get(i / 8).is_some_and(|octet| octet & mask != 0)
    }

    /// `B(l, r)`, GP (D.3): a branch, `[0] ⌢ bits(l)_{1..} ⌢ bits(r)`. The left
    /// child's first bit gives way to the branch discriminator.
    pub fn branch_node(self, left: &Hash, right: &Hash) -> NodeBytes {
        let mut node = [0u8; 64];
        node[..32].copy_from_slice(left.as_ref());
        node[0] &= match self {
            BitOrder::MsbFirst => 0x7f,
            BitOrder::LsbFirst => 0xfe,
        };
        node[32..].copy_from_slice(right.as_ref());
        node
    }

    /// `L(k, v)`, GP (D.4): a leaf. A value of at most 32 octets is embedded,
    /// `[1, 0] ⌢ bits(E_1(|v|))_{2..} ⌢ bits(k) ⌢ bits(v) ⌢ [0, 0, …]`; a longer value
    /// is replaced by its hash, `[1, 1, 0, 0, 0, 0, 0, 0] ⌢ bits(k) ⌢ bits(H(v))`.
    /// The six length bits are the low six of `|v|` (at most 32), in the same order.
    pub fn leaf_node(self, key: &StateKey, value: &[u8]) -> NodeBytes {
        let mut node = [0u8; 64];
        node[1..32].copy_from_slice(key.as_ref());
        if value.len() <= MAX_EMBEDDED_VALUE {
            let len = value.len() as u8;
            node[0] = match self {
                BitOrder::MsbFirst => 0b1000_0000 | len,
                BitOrder::LsbFirst => 0b0000_0001 | len << 2,
            };
            node[32..32 + value.len()].copy_from_slice(value);
        } else {
            node = self.hashed_leaf_node(key, &blake2b_256(value));
        }
        node
    }

    /// `L(k, v)` for a value longer than 32 octets, from `H(v)`:
    /// `[1, 1, 0, 0, 0, 0, 0, 0] ⌢ bits(k) ⌢ bits(H(v))` (GP D.4).
    pub fn hashed_leaf_node(self, key: &StateKey, value_hash: &Hash) -> NodeBytes {
        let mut node = [0u8; 64];
        node[0] = match self {
            BitOrder::MsbFirst => 0b1100_0000,
            BitOrder::LsbFirst => 0b0000_0011,
        };
        node[1..32].copy_from_slice(key.as_ref());
        node[32..].copy_from_slice(value_hash.as_ref());
        node
    }
}

/// `B(l, r)`, GP (D.3), in GP v0.7.2's bit order.
pub fn branch_node(left: &Hash, right: &Hash) -> NodeBytes {
    BitOrder::MsbFirst.branch_node(left, right)
}

/// `L(k, v)`, GP (D.4), in GP v0.7.2's bit order.
pub fn leaf_node(key: &StateKey, value: &[u8]) -> NodeBytes {
    BitOrder::MsbFirst.leaf_node(key, value)
}

/// `M_σ` from the serialized state `T(σ)`, GP (D.5): the trie root of `(key, value)`
/// pairs in any order. Keys are taken as [`state_key`]s; of two pairs with the same
/// state key the later wins, as inserting into a dictionary would.
pub fn state_root<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Hash
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    state_root_with(BitOrder::MsbFirst, pairs)
}

/// [`state_root`] with the bit order chosen: only [`BitOrder::MsbFirst`] is GP v0.7.2.
pub fn state_root_with<K, V>(order: BitOrder, pairs: impl IntoIterator<Item = (K, V)>) -> Hash
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let map: BTreeMap<StateKey, V> = pairs
        .into_iter()
        .map(|(k, v)| (state_key(k.as_ref()), v))
        .collect();
    root_of_map(order, &map)
}

/// `M_σ` of a dictionary already keyed by state key, GP (D.5).
pub fn state_root_of_map<V: AsRef<[u8]>>(map: &BTreeMap<StateKey, V>) -> Hash {
    root_of_map(BitOrder::MsbFirst, map)
}

fn root_of_map<V: AsRef<[u8]>>(order: BitOrder, map: &BTreeMap<StateKey, V>) -> Hash {
    let mut entries: Vec<(&StateKey, &[u8])> = map.iter().map(|(k, v)| (k, v.as_ref())).collect();
    // Each split must be a contiguous run; octet order already makes it so for MSB
    // first, while LSB first needs keys ordered by their bit strings.
    if order == BitOrder::LsbFirst {
        entries.sort_by_key(|(k, _)| k.map(u8::reverse_bits));
    }
    merkle(order, &entries, 0)
}

/// `M(d)`, GP (D.6), over the entries of `d` whose keys agree on their first
/// `depth` bits: the zero hash for none, the leaf's hash for one, else the branch
/// over the entries whose bit `depth` is 0 and those whose bit is 1.
///
/// `d` is strictly ordered by bit string, so each side is a contiguous run. Distinct
/// 31-octet keys differ within their 248 bits, so the recursion ends by depth 248.
fn merkle(order: BitOrder, d: &[(&StateKey, &[u8])], depth: usize) -> Hash {
    match d {
        [] => Hash::ZERO,
        [(key, value)] => blake2b_256(&order.leaf_node(key, value)),
        _ if depth >= STATE_KEY_LEN * 8 => Hash::ZERO, // unreachable for distinct keys
        _ => {
            let split = d.partition_point(|(k, _)| !order.bit(k.as_ref(), depth));
            let (left, right) = d.split_at(split);
            let (l, r) = (
                merkle(order, left, depth + 1),
                merkle(order, right, depth + 1),
            );
            blake2b_256(&order.branch_node(&l, &r))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(first: u8) -> StateKey {
        let mut k = [0x11u8; 31];
        k[0] = first;
        ByteArray(k)
    }

    #[test]
    fn empty_trie_is_the_zero_hash() {
        assert_eq!(state_root(Vec::<([u8; 31], Vec<u8>)>::new()), Hash::ZERO);
    }

    #[test]
    fn leaves_follow_d4() {
        let k = key(0xab);
        // Embedded: 0b10 then the 6-bit length, the key, the value padded with zeros.
        let mut expect = vec![0x83, 0xab];
        expect.extend_from_slice(&[0x11; 30]);
        expect.extend_from_slice(&[1, 2, 3]);
        expect.extend_from_slice(&[0; 29]);
        assert_eq!(leaf_node(&k, &[1, 2, 3]).to_vec(), expect);
        assert_eq!(state_root([(k, [1u8, 2, 3])]), blake2b_256(&expect));
        // Exactly 32 octets still embeds; 33 is hashed.
        assert_eq!(leaf_node(&k, &[9; 32])[0], 0x80 | 32);
        assert_eq!(&leaf_node(&k, &[9; 32])[32..], &[9; 32]);
        let long = [9u8; 33];
        let node = leaf_node(&k, &long);
        assert_eq!(node[0], 0xc0);
        assert_eq!(&node[32..], &blake2b_256(&long)[..]);
        assert_eq!(leaf_node(&k, &[])[0], 0x80);
        // The pre-0.4 order of the trie vectors: discriminators in the low bits.
        assert_eq!(BitOrder::LsbFirst.leaf_node(&k, &[1, 2, 3])[0], 0b0000_1101);
        assert_eq!(BitOrder::LsbFirst.leaf_node(&k, &long)[0], 0b0000_0011);
        assert_eq!(
            BitOrder::LsbFirst.branch_node(&ByteArray([0xff; 32]), &Hash::ZERO)[0],
            0xfe
        );
    }

    #[test]
    fn two_leaves_branch_on_their_first_differing_bit() {
        let (a, b) = (key(0x00), key(0x80));
        let la = blake2b_256(&leaf_node(&a, b"x"));
        let lb = blake2b_256(&leaf_node(&b, b"y"));
        let mut branch = la.to_vec();
        branch[0] &= 0x7f;
        branch.extend_from_slice(&lb[..]);
        let want = blake2b_256(&branch);
        assert_eq!(state_root([(b, b"y"), (a, b"x")]), want);
        // Keys sharing a first bit get a branch with an empty side first.
        let (c, d) = (key(0x00), key(0x40));
        let lc = blake2b_256(&leaf_node(&c, b"x"));
        let ld = blake2b_256(&leaf_node(&d, b"y"));
        let inner = blake2b_256(&branch_node(&lc, &ld));
        assert_eq!(
            state_root([(c, b"x"), (d, b"y")]),
            blake2b_256(&branch_node(&inner, &Hash::ZERO))
        );
    }

    #[test]
    fn only_the_first_31_key_octets_count() {
        let mut long = [0x22u8; 32];
        let short = state_key(&long);
        long[31] = 0x99;
        assert_eq!(state_root([(long, b"v")]), state_root([(short, b"v")]));
        assert_eq!(state_key(&[1, 2]), {
            let mut k = [0u8; 31];
            k[..2].copy_from_slice(&[1, 2]);
            ByteArray(k)
        });
    }

    /// D.6 read literally: a dictionary from bit strings, split on the first bit.
    fn reference(o: BitOrder, d: &[(Vec<bool>, StateKey, Vec<u8>)]) -> Hash {
        match d {
            [] => Hash::ZERO,
            [(_, k, v)] => blake2b_256(&o.leaf_node(k, v)),
            _ => {
                let side = |b: bool| -> Vec<(Vec<bool>, StateKey, Vec<u8>)> {
                    d.iter()
                        .filter(|(bits, _, _)| bits[0] == b)
                        .map(|(bits, k, v)| (bits[1..].to_vec(), *k, v.clone()))
                        .collect()
                };
                blake2b_256(&o.branch_node(&reference(o, &side(false)), &reference(o, &side(true))))
            }
        }
    }

    fn bits_of(o: BitOrder, k: &StateKey) -> Vec<bool> {
        let order: [u32; 8] = match o {
            BitOrder::MsbFirst => [7, 6, 5, 4, 3, 2, 1, 0],
            BitOrder::LsbFirst => [0, 1, 2, 3, 4, 5, 6, 7],
        };
        k.iter()
            .flat_map(|octet| order.map(|b| (octet >> b) & 1 == 1))
            .collect()
    }

    fn pairs() -> impl Strategy<Value = Vec<([u8; 31], Vec<u8>)>> {
        // Few distinct first octets so keys share long prefixes often.
        let k = (0u8..4, any::<[u8; 30]>(), any::<bool>()).prop_map(|(a, rest, same)| {
            let mut k = [0u8; 31];
            k[0] = a;
            if !same {
                k[1..].copy_from_slice(&rest);
            }
            k
        });
        prop::collection::vec((k, prop::collection::vec(any::<u8>(), 0..70)), 0..20)
    }

    proptest! {
        #[test]
        fn agrees_with_the_literal_definition(p in pairs()) {
            let map: BTreeMap<StateKey, Vec<u8>> =
                p.iter().map(|(k, v)| (ByteArray(*k), v.clone())).collect();
            for o in [BitOrder::MsbFirst, BitOrder::LsbFirst] {
                let d: Vec<_> = map.iter().map(|(k, v)| (bits_of(o, k), *k, v.clone())).collect();
                prop_assert_eq!(state_root_with(o, p.clone()), reference(o, &d));
            }
        }

        #[test]
        fn order_of_pairs_does_not_matter(p in pairs()) {
            let map: BTreeMap<[u8; 31], Vec<u8>> = p.into_iter().collect();
            let fwd: Vec<_> = map.iter().map(|(k, v)| (*k, v.clone())).collect();
            let rev: Vec<_> = fwd.iter().rev().cloned().collect();
            prop_assert_eq!(state_root(fwd), state_root(rev));
        }
    }
}
