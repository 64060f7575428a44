// Blake2b-256 (RFC 7693; GP §3.8.1's `H`) of many equal-length inputs, one per
// invocation, in native 64-bit arithmetic: the variant of `blake2b.wgsl` for adapters
// with SHADER_INT64 (`kernels/src/gpu/blake2b.rs` picks it when the device has the
// feature; both variants are tested against blake2b_simd). Same bindings and layout.

struct Params {
    len: u32,
    stride: u32,
    count: u32,
    pad: u32,
}

@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

var<private> IV: array<u64, 8> = array<u64, 8>(
    0x6a09e667f3bcc908lu,
    0xbb67ae8584caa73blu,
    0x3c6ef372fe94f82blu,
    0xa54ff53a5f1d36f1lu,
    0x510e527fade682d1lu,
    0x9b05688c2b3e6c1flu,
    0x1f83d9abfb41bd6blu,
    0x5be0cd19137e2179lu,
);

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

var<private> h: array<u64, 8>;
var<private> v: array<u64, 16>;
var<private> m: array<u64, 16>;

fn rotr(x: u64, n: u32) -> u64 {
    return (x >> n) | (x << (64u - n));
}

// The mixing function G (RFC 7693 §3.1): rotations 32, 24, 16, 63.
fn g(a: u32, b: u32, c: u32, d: u32, x: u64, y: u64) {
    v[a] = v[a] + v[b] + x;
    v[d] = rotr(v[d] ^ v[a], 32u);
    v[c] = v[c] + v[d];
    v[b] = rotr(v[b] ^ v[c], 24u);
    v[a] = v[a] + v[b] + y;
    v[d] = rotr(v[d] ^ v[a], 16u);
    v[c] = v[c] + v[d];
    v[b] = rotr(v[b] ^ v[c], 63u);
}

// The compression function F (RFC 7693 §3.2) on `m`, with the octet counter `t`.
fn compress(t: u32, last: bool) {
    for (var i = 0u; i < 8u; i++) {
        v[i] = h[i];
        v[i + 8u] = IV[i];
    }
    v[12] ^= u64(t);
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
    h[0] ^= 0x01010020lu;
    let blocks = max(1u, (len + 127u) / 128u);
    for (var b = 0u; b < blocks; b++) {
        for (var k = 0u; k < 16u; k++) {
            var lo = 0u;
            var hi = 0u;
            let at = b * 128u + k * 8u;
            if (at < len) {
                lo = input[base + b * 32u + 2u * k];
            }
            if (at + 4u < len) {
                hi = input[base + b * 32u + 2u * k + 1u];
            }
            m[k] = u64(lo) | (u64(hi) << 32u);
        }
        let last = b + 1u == blocks;
        compress(select((b + 1u) * 128u, len, last), last);
    }
    for (var k = 0u; k < 4u; k++) {
        output[8u * i + 2u * k] = u32(h[k] & 0xfffffffflu);
        output[8u * i + 2u * k + 1u] = u32(h[k] >> 32u);
    }
}
