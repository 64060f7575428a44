// Reed–Solomon encoding and erasure decoding over GF(2^16) (GP Appendix H, in the layout
// the official vectors fix): the layers of the Lin–Chung–Han additive FFT in the novel
// polynomial basis, on rows of field words, plus the row scalings and the formal
// derivative of decoding. It mirrors `kernels/src/cpu/novel_basis.rs` and
// `kernels/src/cpu/reed_solomon.rs` (the `cpu` reference) step for step; the host
// (`kernels/src/gpu/reed_solomon.rs`) sequences the dispatches.
//
// Data: `work` is a matrix of `rows × width` u32s. Row `u` is the value (or novel-basis
// coefficient) at one FFT position for every column at once; each u32 holds two
// independent columns (16-bit field words in Cantor-basis representation, the low half
// first), so one butterfly factor serves a whole row.
//
// Arithmetic is 32-bit integer only: multiplication goes through the log/exp tables of
// the `cpu` reference (`kernels/src/cpu/field.rs`), which live in `tables`.

struct Layer {
    // scale: rows scaled.
    half: u32,
    // butterflies: the index j of the group's first (lowest) layer. derivative: log2 of
    // the transform size.
    j: u32,
    // Where this dispatch's factors start in `skews` (scale, derivative).
    skew_base: u32,
    // u32s per row.
    width: u32,
    // 1: inverse-transform layers; 0: forward ones.
    inverse: u32,
    // broadcast: the rows of the coefficient block copied to every further coset.
    chunk: u32,
    // The first row this dispatch writes (butterflies: the transform's row 0).
    base: u32,
    pad0: u32,
    // butterflies: where the block factors of layer `j + l` start in `skews`, l < 4.
    skew_bases: vec4<u32>,
}

// `tables`: log (65,536 entries), then exp (2 · 65,535 entries, so a sum of two
// logarithms needs no reduction).
const LOG: u32 = 0u;
const EXP: u32 = 65536u;
// `skews` entry of a zero factor (its butterfly only adds).
const ZERO: u32 = 0xffffffffu;

@group(0) @binding(0) var<storage, read> tables: array<u32>;
@group(0) @binding(1) var<storage, read_write> work: array<u32>;
@group(0) @binding(2) var<uniform> layer: Layer;
// log Ŵ_j(ω_u) of each layer's blocks (the butterfly factors, "skews"), or ZERO: the
// host computes them with the `cpu` reference's `NovelBasis::skew`.
@group(0) @binding(3) var<storage, read> skews: array<u32>;

// a · b for a field word a and log_b the logarithm of a non-zero b.
fn mul_log(a: u32, log_b: u32) -> u32 {
    if (a == 0u) {
        return 0u;
    }
    return tables[EXP + tables[LOG + a] + log_b];
}

// Both words of a packed pair times the same factor.
fn mul_pair(x: u32, log_b: u32) -> u32 {
    return mul_log(x & 0xffffu, log_b) | (mul_log(x >> 16u, log_b) << 16u);
}

// One butterfly of an inverse-transform layer (cpu `ifft`): hi += lo; lo += s·hi, with
// `log_s` the logarithm of the skew `s` of the block's first position (ZERO: s = 0).
fn inverse_butterfly(lo: u32, hi: u32, log_s: u32) -> vec2<u32> {
    let h = hi ^ lo;
    if (log_s == ZERO) {
        return vec2<u32>(lo, h);
    }
    return vec2<u32>(lo ^ mul_pair(h, log_s), h);
}

// One butterfly of a forward-transform layer (cpu `fft`): lo += s·hi; hi += lo.
fn forward_butterfly(lo: u32, hi: u32, log_s: u32) -> vec2<u32> {
    var l = lo;
    if (log_s != ZERO) {
        l ^= mul_pair(hi, log_s);
    }
    return vec2<u32>(l, hi ^ l);
}

// Where the factor of layer `j0 + l` is for the butterfly whose low row is `row`
// (relative to the transform's row 0): the skew of its block of 2^(j0 + l + 1) rows.
fn factor_index(l: u32, row: u32) -> u32 {
    return layer.skew_bases[l] + (row >> (layer.j + l + 1u));
}

// That factor's `skews` word (its logarithm, or ZERO).
fn factor(l: u32, row: u32) -> u32 {
    return skews[factor_index(l, row)];
}

// The second way to multiply (the host's `Multiply::Tables`): per-factor product
// tables, so that a product is two independent loads from 1 KiB that every
// invocation of a workgroup shares (its rows, hence its factors, are the same),
// instead of two dependent loads from the 768 KiB log/exp tables. Entry `256·f + e`
// holds `s·e` in its low half and `s·(e << 8)` in its high half, `s` the factor of
// `skews[f]` (zero for ZERO); `expand` fills them for the submission's plan.
@group(0) @binding(4) var<storage, read_write> factor_tables: array<u32>;

// a · s for a field word a, s the factor whose table starts at `base`.
fn mul_table(a: u32, base: u32) -> u32 {
    return (factor_tables[base + (a & 255u)] & 0xffffu) ^ (factor_tables[base + (a >> 8u)] >> 16u);
}

// Both words of a packed pair times factor `f`.
fn mul_pair_table(x: u32, f: u32) -> u32 {
    let base = f * 256u;
    return mul_table(x & 0xffffu, base) | (mul_table(x >> 16u, base) << 16u);
}

// `inverse_butterfly` and `forward_butterfly` with the factor's table (a zero factor's
// table is zeros, so no test is needed).
fn inverse_butterfly_table(lo: u32, hi: u32, f: u32) -> vec2<u32> {
    let h = hi ^ lo;
    return vec2<u32>(lo ^ mul_pair_table(h, f), h);
}

fn forward_butterfly_table(lo: u32, hi: u32, f: u32) -> vec2<u32> {
    let l = lo ^ mul_pair_table(hi, f);
    return vec2<u32>(l, hi ^ l);
}

// Fill the product tables of `skews[0 .. layer.half]` (invocation: entry e, factor
// f = group row).
@compute @workgroup_size(256)
fn expand(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.x;
    let f = gid.y;
    if (e >= 256u || f >= layer.half) {
        return;
    }
    let log_s = skews[f];
    var entry = 0u;
    if (log_s != ZERO) {
        entry = mul_log(e, log_s) | (mul_log(e << 8u, log_s) << 16u);
    }
    factor_tables[f * 256u + e] = entry;
}

// The `butterflies_<b>` and `butterflies_tables_<b>` entry points (b = 1 ..= 4 layers
// per dispatch; log/exp or per-factor tables) are generated straight-line code
// appended by the host (`kernels/src/gpu/reed_solomon.rs`,
// `butterflies_source`): an invocation (column, group) loads the 2^b rows that layers
// j0 .. j0 + b − 1 mix into registers, runs their butterflies and stores them once.
// Copy the coefficient rows 0..chunk to every further coset block (invocation: column,
// row − chunk), which the forward layers then evaluate at their own positions.
@compute @workgroup_size(256)
fn broadcast(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    if (col >= layer.width) {
        return;
    }
    let row = layer.chunk + gid.y;
    work[row * layer.width + col] = work[(row % layer.chunk) * layer.width + col];
}

// Decoding, scaling: row `base + r` ← row `skews[skew_base + half + r]` times the field
// element of log `skews[skew_base + r]`, or zeros where that log is ZERO (invocation:
// column, r < half). Source and destination are the same row or in disjoint regions,
// so no invocation reads what another writes.
@compute @workgroup_size(256)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    if (col >= layer.width || gid.y >= layer.half) {
        return;
    }
    let log_s = skews[layer.skew_base + gid.y];
    var value = 0u;
    if (log_s != ZERO) {
        let src = skews[layer.skew_base + layer.half + gid.y];
        value = mul_pair(work[src * layer.width + col], log_s);
    }
    work[(layer.base + gid.y) * layer.width + col] = value;
}

// Decoding, the formal derivative (cpu `formal_derivative`): with `size = 2^j`
// coefficient rows at 0..size, row `base + m` ← Σ over the clear bits `b < j` of `m`
// of `Ŵ_b' · row (m + 2^b)`, `log Ŵ_b'` at `skews[skew_base + b]` (invocation: column,
// m). The derivative is written to a separate region because every row reads others.
@compute @workgroup_size(256)
fn derivative(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let m = gid.y;
    if (col >= layer.width || m >= (1u << layer.j)) {
        return;
    }
    var sum = 0u;
    for (var b = 0u; b < layer.j; b++) {
        let bit = 1u << b;
        let log_d = skews[layer.skew_base + b];
        if ((m & bit) == 0u && log_d != ZERO) {
            sum ^= mul_pair(work[(m | bit) * layer.width + col], log_d);
        }
    }
    work[(layer.base + m) * layer.width + col] = sum;
}
