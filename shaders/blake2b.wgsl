// Blake2b-256 (RFC 7693; GP §3.8.1's `H`) of many equal-length inputs, one per
// invocation, in 32-bit arithmetic only: each 64-bit word is a vec2<u32> (low, high), so
// no SHADER_INT64 is needed.
//
// Input `i` occupies words `i · stride .. i · stride + ⌈len / 4⌉` of `input`
// (little-endian octets; the host zeroes the octets past `len` in its last word).
// Its 32-octet digest is written to words `8i .. 8i + 8` of `output`.

struct Params {
    // Octets of every input.
    len: u32,
    // u32s between the starts of consecutive inputs (⌈len / 4⌉).
    stride: u32,
    // Inputs in this dispatch.
    count: u32,
    pad: u32,
}

@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

// The Blake2b IV (the SHA-512 IV), as (low, high) halves.
var<private> IV: array<vec2<u32>, 8> = array<vec2<u32>, 8>(
    vec2<u32>(0xf3bcc908u, 0x6a09e667u),
    vec2<u32>(0x84caa73bu, 0xbb67ae85u),
    vec2<u32>(0xfe94f82bu, 0x3c6ef372u),
    vec2<u32>(0x5f1d36f1u, 0xa54ff53au),
    vec2<u32>(0xade682d1u, 0x510e527fu),
    vec2<u32>(0x2b3e6c1fu, 0x9b05688cu),
    vec2<u32>(0xfb41bd6bu, 0x1f83d9abu),
    vec2<u32>(0x137e2179u, 0x5be0cd19u),
);

// The message schedule σ of rounds 0..10 (rounds 10 and 11 reuse 0 and 1).
var<private> SIGMA: array<u32, 160> = array<u32, 160>(
    0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 11u, 12u, 13u, 14u, 15u,
    14u, 10u, 4u, 8u, 9u, 15u, 13u, 6u, 1u, 12u, 0u, 2u, 11u, 7u, 5u, 3u,
    11u, 8u, 12u, 0u, 5u, 2u, 15u, 13u, 10u, 14u, 3u, 6u, 7u, 1u, 9u, 4u,
    7u, 9u, 3u, 1u, 13u, 12u, 11u, 14u, 2u, 6u, 5u, 10u, 4u, 0u, 15u, 8u,
    9u, 0u, 5u, 7u, 2u, 4u, 10u, 15u, 14u, 1u, 11u, 12u, 6u, 8u, 3u, 13u,
    2u, 12u, 6u, 10u, 0u, 11u, 8u, 3u, 4u, 13u, 7u, 5u, 15u, 14u, 1u, 9u,
    12u, 5u, 1u, 15u, 14u, 13u, 4u, 10u, 0u, 7u, 6u, 3u, 9u, 2u, 8u, 11u,
    13u, 11u, 7u, 14u, 12u, 1u, 3u, 9u, 5u, 0u, 15u, 4u, 8u, 6u, 2u, 10u,
    6u, 15u, 14u, 9u, 11u, 3u, 0u, 8u, 12u, 2u, 13u, 7u, 1u, 4u, 10u, 5u,
    10u, 2u, 8u, 4u, 7u, 6u, 1u, 5u, 15u, 11u, 9u, 14u, 3u, 12u, 13u, 0u,
);

var<private> h: array<vec2<u32>, 8>;
var<private> v: array<vec2<u32>, 16>;
var<private> m: array<vec2<u32>, 16>;

fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

// Rotate right by 0 < n < 32.
fn rotr(x: vec2<u32>, n: u32) -> vec2<u32> {
    return vec2<u32>((x.x >> n) | (x.y << (32u - n)), (x.y >> n) | (x.x << (32u - n)));
}

// The mixing function G (RFC 7693 §3.1): rotations 32, 24, 16, 63.
fn g(a: u32, b: u32, c: u32, d: u32, x: vec2<u32>, y: vec2<u32>) {
    v[a] = add64(add64(v[a], v[b]), x);
    let d1 = v[d] ^ v[a];
    v[d] = vec2<u32>(d1.y, d1.x);
    v[c] = add64(v[c], v[d]);
    v[b] = rotr(v[b] ^ v[c], 24u);
    v[a] = add64(add64(v[a], v[b]), y);
    v[d] = rotr(v[d] ^ v[a], 16u);
    v[c] = add64(v[c], v[d]);
    let b1 = v[b] ^ v[c];
    // Rotate right by 63 = left by 1.
    v[b] = vec2<u32>((b1.x << 1u) | (b1.y >> 31u), (b1.y << 1u) | (b1.x >> 31u));
}

// The compression function F (RFC 7693 §3.2) on `m`, with the octet counter `t`
// (below 2^32 here: inputs are bounded by one storage binding).
fn compress(t: u32, last: bool) {
    for (var i = 0u; i < 8u; i++) {
        v[i] = h[i];
        v[i + 8u] = IV[i];
    }
    v[12].x ^= t;
    if (last) {
        v[14] = ~v[14];
    }
    for (var r = 0u; r < 12u; r++) {
        let s = (r % 10u) * 16u;
        g(0u, 4u, 8u, 12u, m[SIGMA[s + 0u]], m[SIGMA[s + 1u]]);
        g(1u, 5u, 9u, 13u, m[SIGMA[s + 2u]], m[SIGMA[s + 3u]]);
        g(2u, 6u, 10u, 14u, m[SIGMA[s + 4u]], m[SIGMA[s + 5u]]);
        g(3u, 7u, 11u, 15u, m[SIGMA[s + 6u]], m[SIGMA[s + 7u]]);
        g(0u, 5u, 10u, 15u, m[SIGMA[s + 8u]], m[SIGMA[s + 9u]]);
        g(1u, 6u, 11u, 12u, m[SIGMA[s + 10u]], m[SIGMA[s + 11u]]);
        g(2u, 7u, 8u, 13u, m[SIGMA[s + 12u]], m[SIGMA[s + 13u]]);
        g(3u, 4u, 9u, 14u, m[SIGMA[s + 14u]], m[SIGMA[s + 15u]]);
    }
    for (var i = 0u; i < 8u; i++) {
        h[i] = h[i] ^ v[i] ^ v[i + 8u];
    }
}

@compute @workgroup_size(64)
fn hash(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = gid.y * groups.x * 64u + gid.x;
    if (i >= params.count) {
        return;
    }
    let len = params.len;
    let base = i * params.stride;
    for (var k = 0u; k < 8u; k++) {
        h[k] = IV[k];
    }
    // Parameter block: digest length 32, no key, fanout 1, depth 1.
    h[0].x ^= 0x01010020u;
    // An empty input is one block of zeros.
    let blocks = max(1u, (len + 127u) / 128u);
    for (var b = 0u; b < blocks; b++) {
        for (var k = 0u; k < 16u; k++) {
            var pair = vec2<u32>(0u, 0u);
            let at = b * 128u + k * 8u;
            if (at < len) {
                pair.x = input[base + b * 32u + 2u * k];
            }
            if (at + 4u < len) {
                pair.y = input[base + b * 32u + 2u * k + 1u];
            }
            m[k] = pair;
        }
        let last = b + 1u == blocks;
        compress(select((b + 1u) * 128u, len, last), last);
    }
    for (var k = 0u; k < 4u; k++) {
        output[8u * i + 2u * k] = h[k].x;
        output[8u * i + 2u * k + 1u] = h[k].y;
    }
}

// ---------------------------------------------------------------------------------------
// `M_B` (GP (E.1)–(E.2), the well-balanced binary Merkle root) of many equally long lists
// at once, one tree level per dispatch: every list has the same tree shape, so the host
// plans the nodes once (`kernels/src/gpu/merkle.rs`) and each invocation computes one
// node of one list. A node's preimage is `$node ⌢ N(left) ⌢ N(right)`, where `N` of a
// one-item subtree is the item itself and otherwise a hash from an earlier level; a
// one-item list's root is `H(item)` (a "node" without prefix and right side).
//
// `items` (binding 0): list `l` occupies words `l · row_words ..`, item `j` the
// `piece_words` words from `l · row_words + j · piece_words`. `nodes` (binding 1): the
// hash of node slot `s` of list `l` is at words `8 · (s · lists + l) ..`.

struct Level {
    // Lists in this submission.
    lists: u32,
    // u32s per list in `items`.
    row_words: u32,
    // u32s per item.
    piece_words: u32,
    // The first spec of this level and how many there are.
    first: u32,
    count: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(3) var<uniform> level: Level;
// Per node: (left, right, slot, prefixed). A side is an item index, or `HASH | slot` for
// an earlier node's hash, or NONE (no right side).
@group(0) @binding(4) var<storage, read> specs: array<vec4<u32>>;

const HASH: u32 = 0x80000000u;
const NONE: u32 = 0xffffffffu;
// "node" as a little-endian u32.
const NODE: u32 = 0x65646f6eu;

fn side_words(side: u32) -> u32 {
    if (side == NONE) {
        return 0u;
    }
    if ((side & HASH) != 0u) {
        return 8u;
    }
    return level.piece_words;
}

// Word `k` of one side of list `l`.
fn side_word(side: u32, k: u32, l: u32) -> u32 {
    if ((side & HASH) != 0u) {
        return output[8u * ((side & ~HASH) * level.lists + l) + k];
    }
    return input[l * level.row_words + side * level.piece_words + k];
}

@compute @workgroup_size(64)
fn merkle_node(@builtin(global_invocation_id) gid: vec3<u32>) {
    let l = gid.x;
    let n = gid.y;
    if (l >= level.lists || n >= level.count) {
        return;
    }
    let spec = specs[level.first + n];
    let prefix = spec.w;
    let left_words = side_words(spec.x);
    let right_words = side_words(spec.y);
    let words = prefix + left_words + right_words;
    let len = 4u * words;
    for (var k = 0u; k < 8u; k++) {
        h[k] = IV[k];
    }
    h[0].x ^= 0x01010020u;
    let blocks = max(1u, (len + 127u) / 128u);
    for (var b = 0u; b < blocks; b++) {
        for (var k = 0u; k < 16u; k++) {
            var pair = vec2<u32>(0u, 0u);
            for (var half = 0u; half < 2u; half++) {
                let w = b * 32u + 2u * k + half;
                var word = 0u;
                if (w < words) {
                    if (w < prefix) {
                        word = NODE;
                    } else if (w < prefix + left_words) {
                        word = side_word(spec.x, w - prefix, l);
                    } else {
                        word = side_word(spec.y, w - prefix - left_words, l);
                    }
                }
                pair[half] = word;
            }
            m[k] = pair;
        }
        let last = b + 1u == blocks;
        compress(select((b + 1u) * 128u, len, last), last);
    }
    let out = 8u * (spec.z * level.lists + l);
    for (var k = 0u; k < 4u; k++) {
        output[out + 2u * k] = h[k].x;
        output[out + 2u * k + 1u] = h[k].y;
    }
}
