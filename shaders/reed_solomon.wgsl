// Reed–Solomon encoding over GF(2^16) (GP Appendix H, in the layout the official vectors
// fix): the layers of the Lin–Chung–Han additive FFT in the novel polynomial basis, on
// rows of field words. It mirrors `kernels/src/cpu/novel_basis.rs` (the `cpu` reference)
// layer for layer; the host (`kernels/src/gpu/reed_solomon.rs`) sequences the layers.
//
// Data: `work` is a matrix of `rows × width` u32s. Row `u` is the value (or novel-basis
// coefficient) at one FFT position for every column at once; each u32 holds two
// independent columns (16-bit field words in Cantor-basis representation, the low half
// first), so one butterfly factor serves a whole row.
//
// Arithmetic is 32-bit integer only: multiplication goes through the log/exp tables of
// the `cpu` reference (`kernels/src/cpu/field.rs`), which live in `tables`.

struct Layer {
    // Distance between butterfly partners, in rows: 2^j.
    half: u32,
    // The layer's index j (which Ŵ_j gives its factors).
    j: u32,
    // Butterflies per column: rows / 2.
    pairs: u32,
    // u32s per row.
    width: u32,
    // The FFT position of row 0 (0 for the inverse transform, `chunk` for the forward).
    position: u32,
    // 1: an inverse-transform layer; 0: a forward one.
    inverse: u32,
    // broadcast: the rows of the coefficient block copied to every further coset.
    chunk: u32,
    // broadcast: all rows.
    rows: u32,
}

// `tables`: log (65,536 entries), then exp (2 · 65,535 entries, so a sum of two
// logarithms needs no reduction), then Ŵ_j(v_b) for j, b < 16 (256 entries).
const LOG: u32 = 0u;
const EXP: u32 = 65536u;
const W_HAT: u32 = 196606u;

@group(0) @binding(0) var<storage, read> tables: array<u32>;
@group(0) @binding(1) var<storage, read_write> work: array<u32>;
@group(0) @binding(2) var<uniform> layer: Layer;

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

// Ŵ_j(ω_u): Ŵ_j is F_2-linear, so it is the XOR of Ŵ_j(v_b) over the set bits b of u.
fn skew(j: u32, u: u32) -> u32 {
    var acc = 0u;
    for (var b = 0u; b < 16u; b++) {
        if (((u >> b) & 1u) == 1u) {
            acc ^= tables[W_HAT + j * 16u + b];
        }
    }
    return acc;
}

fn thread_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.y * groups.x * 256u + gid.x;
}

// One layer of the forward or inverse transform over every row pair and column.
// Forward (cpu `fft`): lo += s·hi; hi += lo. Inverse (cpu `ifft`): hi += lo; lo += s·hi.
// `s` is the skew of the block's first position.
@compute @workgroup_size(256)
fn butterfly(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let t = thread_index(gid, groups);
    if (t >= layer.pairs * layer.width) {
        return;
    }
    let pair = t / layer.width;
    let col = t % layer.width;
    let block = pair / layer.half;
    let u = pair % layer.half;
    let start = block * 2u * layer.half;
    let lo_at = (start + u) * layer.width + col;
    let hi_at = lo_at + layer.half * layer.width;
    let s = skew(layer.j, layer.position + start);
    var lo = work[lo_at];
    var hi = work[hi_at];
    if (layer.inverse == 1u) {
        hi ^= lo;
        if (s != 0u) {
            lo ^= mul_pair(hi, tables[LOG + s]);
        }
    } else {
        if (s != 0u) {
            lo ^= mul_pair(hi, tables[LOG + s]);
        }
        hi ^= lo;
    }
    work[lo_at] = lo;
    work[hi_at] = hi;
}

// Copy the coefficient rows 0..chunk to every further coset block, which the forward
// layers then evaluate at their own positions.
@compute @workgroup_size(256)
fn broadcast(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let t = thread_index(gid, groups);
    if (t >= (layer.rows - layer.chunk) * layer.width) {
        return;
    }
    let row = layer.chunk + t / layer.width;
    let col = t % layer.width;
    work[row * layer.width + col] = work[(row % layer.chunk) * layer.width + col];
}
