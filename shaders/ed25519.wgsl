// Ed25519 verification under ZIP-215 (<https://zips.z.cash/zip-0215>; GP §3.8.2),
// one invocation per signature, in 32-bit arithmetic only (WGSL has neither 64-bit
// integers nor a widening multiply).
//
// The host has already rejected every s ≥ ℓ (ZIP-215 requires a canonical s, and
// the reference checks it first) and computed k = SHA-512(R ‖ A ‖ M) mod ℓ, so item
// `i` is four fixed 32-octet little-endian values in words `32i .. 32i + 32` of
// `items`: A (8 words), R (8), s (8), k (8). Its outcome goes to `status[i]`, in the
// order the reference `verify` finds them: 1 when A does not decode, else 2 when R
// does not, else 3 when [8]([s]B − [k]A − R) is not the identity, else 0.
//
// # Field elements (mod p = 2^255 − 19)
//
// `Fe` is 16 limbs of 16 bits, little-endian: value = Σ limb[i] · 2^(16i). Every `Fe`
// stored in a register has all limbs < 2^16, so its value is < 2^256 = 2p + 38: it is
// reduced only as far as the arithmetic needs, never necessarily below p. Fully
// reduced (canonical) values are made only for comparisons and the sign bit
// (`fe_canonical`).
//
// 16-bit limbs make every limb product a · b ≤ (2^16 − 1)^2 fit a u32. A product's low
// and high halves go to adjacent columns, so each of the 32 columns of a 16 × 16
// schoolbook product sums at most 32 terms < 2^16: < 2^21. Columns 16..31 weigh
// 2^256 · 2^(16j) ≡ 38 · 2^(16j) (mod p), so folding them gives limbs < 39 · 2^21 <
// 2^27, well inside u32 for the carry passes (`fe_carry`).
//
// # One multiplication site
//
// Mesa (lavapipe, and the hardware drivers built on NIR) inlines every function call
// and unrolls small constant loops, so a shader that calls `fe_mul` from each step of
// the decoding, the exponentiations and the point formulas gets hundreds of copies of
// it: a first version written that way had not finished compiling on lavapipe after
// ten minutes. Here the straight-line field arithmetic is data instead: a program
// (`PROG`, one u32 per operation: kind, destination and two source registers of the
// register file `regs`) cut into segments (decompression, point addition, doubling,
// ...), generated and checked by `shaders/ed25519_program.py`. The entry point is a
// state machine that, at each step, decides what comes next (branching on the
// checks of RFC 8032 §5.1.3 and on the scalars' bits) and then runs one segment
// through the single `exec` call site.
//
// # No loop runs long
//
// llvmpipe (lavapipe's compiler) ends every loop of an invocation once 65535
// iterations have run in all its loops together (gallivm's loop limiter,
// `LP_MAX_TGSI_LOOP_ITERATIONS` in `lp_bld_limits.h`: "shared between every loop"),
// silently: a version whose field functions looped over limbs stopped a third of the
// way through the scalar multiplication, with no error. So the field functions are
// unrolled (generated), and the loops left are the state machine (about 530
// iterations per item), the segments' operations (at most 16 per step of the
// double-and-add; under 8,000 in all even when every bit of both scalars adds, and
// when the 8 SIMD lanes of a batch are out of step), the squarings of `SQN` (508) and
// the 8 words of each encoding: under 10,000, well inside the cap.
//
// The shader also writes `STATUS_UNFINISHED` first, and a verdict only at the top of
// the state machine's loop, so an invocation cut short (by that cap or otherwise)
// leaves `STATUS_UNFINISHED`, which the host reports as a GPU failure, never a
// verdict computed from truncated arithmetic.

struct Params {
    // Items in this dispatch.
    count: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> items: array<u32>;
@group(0) @binding(1) var<storage, read_write> status: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

alias Fe = array<u32, 16>;

const STATUS_OK: u32 = 0u;
const STATUS_KEY_NOT_A_POINT: u32 = 1u;
const STATUS_BAD_SIGNATURE: u32 = 3u;
const STATUS_UNFINISHED: u32 = 0xffffffffu;

// Operation kinds (bits 24..32 of a PROG word; then destination, source a, and
// source b or, for SQN, the count).
const OP_MUL: u32 = 0u << 24u; // d = a · b
const OP_ADD: u32 = 1u << 24u; // d = a + b
const OP_SUB: u32 = 2u << 24u; // d = a − b
const OP_SQN: u32 = 3u << 24u; // d = a^(2^b): b squarings

// d = −121665/121666 (RFC 8032 §5.1), 2d, √−1 = 2^((p−1)/4), and the base point B
// (x, y = 4/5, t = xy), as limbs; computed with Python's integers from those
// definitions (and checked by `ed25519_program.py --check`, which derives them anew).
const FE_D = array<u32, 16>(0x78a3u, 0x1359u, 0x4dcau, 0x75ebu, 0xd8abu, 0x4141u, 0x0a4du, 0x0070u, 0xe898u, 0x7779u, 0x4079u, 0x8cc7u, 0xfe73u, 0x2b6fu, 0x6ceeu, 0x5203u);
const FE_D2 = array<u32, 16>(0xf159u, 0x26b2u, 0x9b94u, 0xebd6u, 0xb156u, 0x8283u, 0x149au, 0x00e0u, 0xd130u, 0xeef3u, 0x80f2u, 0x198eu, 0xfce7u, 0x56dfu, 0xd9dcu, 0x2406u);
const FE_SQRT_M1 = array<u32, 16>(0xa0b0u, 0x4a0eu, 0x1b27u, 0xc4eeu, 0xe478u, 0xad2fu, 0x1806u, 0x2f43u, 0xd7a7u, 0x3dfbu, 0x0099u, 0x2b4du, 0xdf0bu, 0x4fc1u, 0x2480u, 0x2b83u);
const FE_BX = array<u32, 16>(0xd51au, 0x8f25u, 0x2d60u, 0xc956u, 0xa7b2u, 0x9525u, 0xc760u, 0x692cu, 0xdc5cu, 0xfdd6u, 0xe231u, 0xc0a4u, 0x53feu, 0xcd6eu, 0x36d3u, 0x2169u);
const FE_BY = array<u32, 16>(0x6658u, 0x6666u, 0x6666u, 0x6666u, 0x6666u, 0x6666u, 0x6666u, 0x6666u, 0x6666u, 0x6666u, 0x6666u, 0x6666u, 0x6666u, 0x6666u, 0x6666u, 0x6666u);
const FE_BT = array<u32, 16>(0xdda3u, 0xa5b7u, 0x8ab3u, 0x6ddeu, 0x52f5u, 0x7751u, 0x9f80u, 0x20f0u, 0xe37du, 0x64abu, 0x4e8eu, 0x66eau, 0x7665u, 0xd78bu, 0x5f0fu, 0x6787u);

// ---------------------------------------------------------------------------------
// Field arithmetic: `fe_carry`, `fe_add_sub`, `fe_mul`, `fe_canonical` and `fe_is_zero`
// are generated, unrolled, at the end of this file.

// ---------------------------------------------------------------------------------
// The register machine.

var<private> regs: array<Fe, NREG>;

// Run one PROG word.
fn exec(word: u32) {
    let kind = word & 0xff000000u;
    let d = (word >> 16u) & 0xffu;
    let a = (word >> 8u) & 0xffu;
    let b = word & 0xffu;
    if (kind == OP_ADD || kind == OP_SUB) {
        regs[d] = fe_add_sub(regs[a], regs[b], kind == OP_SUB);
        return;
    }
    // One multiplication, or b squarings: both through the one `fe_mul` below.
    var x = regs[a];
    var y: Fe;
    var n = 1u;
    if (kind == OP_SQN) {
        n = b;
    } else {
        y = regs[b];
    }
    for (var i = 0u; i < n; i++) {
        if (kind == OP_SQN) {
            y = x;
        }
        x = fe_mul(x, y);
    }
    regs[d] = x;
}

// Whether registers a and b hold the same field element.
fn reg_eq(a: u32, b: u32) -> bool {
    return fe_is_zero(fe_add_sub(regs[a], regs[b], true));
}

// The low bit of register a's canonical value ("negative" in RFC 8032 §5.1.3).
fn reg_is_odd(a: u32) -> u32 {
    var r = fe_canonical(regs[a]);
    return r[0] & 1u;
}

// Copy the four registers of a cached point.
fn copy4(dst: u32, src: u32) {
    regs[dst] = regs[src];
    regs[dst + 1u] = regs[src + 1u];
    regs[dst + 2u] = regs[src + 2u];
    regs[dst + 3u] = regs[src + 3u];
}

// Bit `i` of the 256-bit little-endian scalar at words `at .. at + 8`.
fn scalar_bit(at: u32, i: u32) -> u32 {
    return (items[at + (i >> 5u)] >> (i & 31u)) & 1u;
}

// States of `verify`.
const ST_DECODE: u32 = 0u;
const ST_ROOT: u32 = 1u;
const ST_SIGN: u32 = 2u;
const ST_CACHE: u32 = 3u;
const ST_DECODED: u32 = 4u;
const ST_B: u32 = 5u;
const ST_B_MINUS_A: u32 = 6u;
const ST_TABLE: u32 = 7u;
const ST_DOUBLE: u32 = 8u;
const ST_ADD: u32 = 9u;
const ST_COFACTOR: u32 = 10u;
const ST_DONE: u32 = 11u;

// ---------------------------------------------------------------------------------
// Verification (RFC 8032 §5.1.7 with ZIP-215's decoding and cofactored equation).

@compute @workgroup_size(64)
fn verify(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = gid.y * groups.x * 64u + gid.x;
    if (i >= params.count) {
        return;
    }
    let base = 32u * i;
    // Overwritten by every path below; the host rejects it if it is ever read back.
    status[i] = STATUS_UNFINISHED;
    regs[R_ZERO] = Fe();
    regs[R_ONE] = Fe();
    regs[R_ONE][0] = 1u;
    regs[R_D] = FE_D;
    regs[R_D2] = FE_D2;
    regs[R_SQRT_M1] = FE_SQRT_M1;
    regs[R_BX] = FE_BX;
    regs[R_BY] = FE_BY;
    regs[R_BT] = FE_BT;
    // Which encoding is being decoded (0: A, 1: R), its sign bit, and the scalars'
    // bit the double-and-add has reached.
    var which = 0u;
    var sign = 0u;
    var bit = 253u;
    var state = ST_DECODE;
    loop {
        // Decide the next segment (none: start = end).
        var start = 0u;
        var end = 0u;
        switch state {
            // RFC 8032 §5.1.3 steps 1–3, relaxed by ZIP-215: y is the low 255 bits
            // as they are, even when ≥ p (the arithmetic reduces it mod p).
            case ST_DECODE: {
                let at = base + 8u * which;
                for (var w = 0u; w < 8u; w++) {
                    let word = items[at + w];
                    regs[R_Y][2u * w] = word & 0xffffu;
                    regs[R_Y][2u * w + 1u] = word >> 16u;
                }
                sign = regs[R_Y][15] >> 15u;
                regs[R_Y][15] &= 0x7fffu;
                start = DECOMPRESS_START;
                end = DECOMPRESS_END;
                state = ST_ROOT;
            }
            // Step 3: v·x² = u, or v·x² = −u (then x·√−1), or no point. (v = d·y² + 1
            // is never 0: −1/d is not a square.)
            case ST_ROOT: {
                if (!reg_eq(R_VXX, R_U)) {
                    if (reg_eq(R_VXX, R_NU)) {
                        start = TIMES_SQRT_M1_START;
                        end = TIMES_SQRT_M1_END;
                    } else {
                        status[i] = STATUS_KEY_NOT_A_POINT + which;
                        return;
                    }
                }
                state = ST_SIGN;
            }
            // Step 4 without its rejection of x = 0 with the sign bit set (ZIP-215
            // accepts it; negating 0 leaves 0).
            case ST_SIGN: {
                if (reg_is_odd(R_X) != sign) {
                    start = NEGATE_X_START;
                    end = NEGATE_X_END;
                }
                state = ST_CACHE;
            }
            case ST_CACHE: {
                start = CACHE_NEG_START;
                end = CACHE_NEG_END;
                state = ST_DECODED;
            }
            // −A or −R, cached; after R, B cached.
            case ST_DECODED: {
                if (which == 0u) {
                    copy4(R_CNA_YPX, R_CT_YPX);
                    which = 1u;
                    state = ST_DECODE;
                } else {
                    copy4(R_CNR_YPX, R_CT_YPX);
                    regs[R_AX] = regs[R_BX];
                    regs[R_AY] = regs[R_BY];
                    regs[R_AZ] = regs[R_ONE];
                    regs[R_AT] = regs[R_BT];
                    start = CACHE_START;
                    end = CACHE_END;
                    state = ST_B;
                }
            }
            // B − A = B + (−A), to cache next.
            case ST_B: {
                copy4(R_CB_YPX, R_CT_YPX);
                copy4(R_CS_YPX, R_CNA_YPX);
                start = ADD_START;
                end = ADD_END;
                state = ST_B_MINUS_A;
            }
            case ST_B_MINUS_A: {
                start = CACHE_START;
                end = CACHE_END;
                state = ST_TABLE;
            }
            // [s]B + [k](−A) by Straus–Shamir from the identity: per bit, from bit 252
            // down (s, k < ℓ < 2^253), one doubling and at most one addition of B, −A
            // or B − A.
            case ST_TABLE: {
                copy4(R_CBNA_YPX, R_CT_YPX);
                regs[R_AX] = regs[R_ZERO];
                regs[R_AY] = regs[R_ONE];
                regs[R_AZ] = regs[R_ONE];
                regs[R_AT] = regs[R_ZERO];
                state = ST_DOUBLE;
            }
            case ST_DOUBLE: {
                if (bit == 0u) {
                    // Then − R.
                    copy4(R_CS_YPX, R_CNR_YPX);
                    start = ADD_START;
                    end = ADD_END;
                    state = ST_COFACTOR;
                } else {
                    bit -= 1u;
                    start = DOUBLE_START;
                    end = DOUBLE_END;
                    state = ST_ADD;
                }
            }
            case ST_ADD: {
                let sb = scalar_bit(base + 16u, bit);
                let kb = scalar_bit(base + 24u, bit);
                if (sb == 1u || kb == 1u) {
                    var addend = R_CB_YPX;
                    if (sb == 1u && kb == 1u) {
                        addend = R_CBNA_YPX;
                    } else if (kb == 1u) {
                        addend = R_CNA_YPX;
                    }
                    copy4(R_CS_YPX, addend);
                    start = ADD_START;
                    end = ADD_END;
                }
                state = ST_DOUBLE;
            }
            // [8]([s]B − [k]A − R).
            case ST_COFACTOR: {
                start = DOUBLE3_START;
                end = DOUBLE3_END;
                state = ST_DONE;
            }
            // The identity: X = 0 and Y = Z.
            default: {
                if (reg_eq(R_AX, R_ZERO) && reg_eq(R_AY, R_AZ)) {
                    status[i] = STATUS_OK;
                } else {
                    status[i] = STATUS_BAD_SIGNATURE;
                }
                return;
            }
        }
        for (var pc = start; pc < end; pc++) {
            exec(PROG[pc]);
        }
    }
}

// ---------------------------------------------------------------------------------
// BEGIN GENERATED by `python3 shaders/ed25519_program.py` (do not edit by hand): the
// field functions and the program.

// Limbs < 2^16 from limbs < 2^27: three rounds of carrying upwards, each folding
// the carry out of limb 15 (weight 2^256 ≡ 38) into limb 0. The first round
// leaves a carry < 2^12, the second at most 1 (and then a value < 2^17), the
// third none.
fn fe_carry(a: Fe) -> Fe {
    var r = a;
    var t: u32;
    var c: u32;
    c = 0u;
    t = r[0] + c; r[0] = t & 0xffffu; c = t >> 16u;
    t = r[1] + c; r[1] = t & 0xffffu; c = t >> 16u;
    t = r[2] + c; r[2] = t & 0xffffu; c = t >> 16u;
    t = r[3] + c; r[3] = t & 0xffffu; c = t >> 16u;
    t = r[4] + c; r[4] = t & 0xffffu; c = t >> 16u;
    t = r[5] + c; r[5] = t & 0xffffu; c = t >> 16u;
    t = r[6] + c; r[6] = t & 0xffffu; c = t >> 16u;
    t = r[7] + c; r[7] = t & 0xffffu; c = t >> 16u;
    t = r[8] + c; r[8] = t & 0xffffu; c = t >> 16u;
    t = r[9] + c; r[9] = t & 0xffffu; c = t >> 16u;
    t = r[10] + c; r[10] = t & 0xffffu; c = t >> 16u;
    t = r[11] + c; r[11] = t & 0xffffu; c = t >> 16u;
    t = r[12] + c; r[12] = t & 0xffffu; c = t >> 16u;
    t = r[13] + c; r[13] = t & 0xffffu; c = t >> 16u;
    t = r[14] + c; r[14] = t & 0xffffu; c = t >> 16u;
    t = r[15] + c; r[15] = t & 0xffffu; c = t >> 16u;
    r[0] += 38u * c;
    c = 0u;
    t = r[0] + c; r[0] = t & 0xffffu; c = t >> 16u;
    t = r[1] + c; r[1] = t & 0xffffu; c = t >> 16u;
    t = r[2] + c; r[2] = t & 0xffffu; c = t >> 16u;
    t = r[3] + c; r[3] = t & 0xffffu; c = t >> 16u;
    t = r[4] + c; r[4] = t & 0xffffu; c = t >> 16u;
    t = r[5] + c; r[5] = t & 0xffffu; c = t >> 16u;
    t = r[6] + c; r[6] = t & 0xffffu; c = t >> 16u;
    t = r[7] + c; r[7] = t & 0xffffu; c = t >> 16u;
    t = r[8] + c; r[8] = t & 0xffffu; c = t >> 16u;
    t = r[9] + c; r[9] = t & 0xffffu; c = t >> 16u;
    t = r[10] + c; r[10] = t & 0xffffu; c = t >> 16u;
    t = r[11] + c; r[11] = t & 0xffffu; c = t >> 16u;
    t = r[12] + c; r[12] = t & 0xffffu; c = t >> 16u;
    t = r[13] + c; r[13] = t & 0xffffu; c = t >> 16u;
    t = r[14] + c; r[14] = t & 0xffffu; c = t >> 16u;
    t = r[15] + c; r[15] = t & 0xffffu; c = t >> 16u;
    r[0] += 38u * c;
    c = 0u;
    t = r[0] + c; r[0] = t & 0xffffu; c = t >> 16u;
    t = r[1] + c; r[1] = t & 0xffffu; c = t >> 16u;
    t = r[2] + c; r[2] = t & 0xffffu; c = t >> 16u;
    t = r[3] + c; r[3] = t & 0xffffu; c = t >> 16u;
    t = r[4] + c; r[4] = t & 0xffffu; c = t >> 16u;
    t = r[5] + c; r[5] = t & 0xffffu; c = t >> 16u;
    t = r[6] + c; r[6] = t & 0xffffu; c = t >> 16u;
    t = r[7] + c; r[7] = t & 0xffffu; c = t >> 16u;
    t = r[8] + c; r[8] = t & 0xffffu; c = t >> 16u;
    t = r[9] + c; r[9] = t & 0xffffu; c = t >> 16u;
    t = r[10] + c; r[10] = t & 0xffffu; c = t >> 16u;
    t = r[11] + c; r[11] = t & 0xffffu; c = t >> 16u;
    t = r[12] + c; r[12] = t & 0xffffu; c = t >> 16u;
    t = r[13] + c; r[13] = t & 0xffffu; c = t >> 16u;
    t = r[14] + c; r[14] = t & 0xffffu; c = t >> 16u;
    t = r[15] + c; r[15] = t & 0xffffu; c = t >> 16u;
    r[0] += 38u * c;
    return r;
}

// a + b, or a − b computed as a + 4p − b: 4p's limbs (0x1ffb4, then fifteen
// 0x1fffe, a representation of 2^257 − 76 with every limb ≥ 2^16 − 1) keep every
// limb difference non-negative. Limbs before the carry are < 2^18.
fn fe_add_sub(a: Fe, b: Fe, subtract: bool) -> Fe {
    var r: Fe;
    r[0] = select(a[0] + b[0], a[0] + 0x1ffb4u - b[0], subtract);
    r[1] = select(a[1] + b[1], a[1] + 0x1fffeu - b[1], subtract);
    r[2] = select(a[2] + b[2], a[2] + 0x1fffeu - b[2], subtract);
    r[3] = select(a[3] + b[3], a[3] + 0x1fffeu - b[3], subtract);
    r[4] = select(a[4] + b[4], a[4] + 0x1fffeu - b[4], subtract);
    r[5] = select(a[5] + b[5], a[5] + 0x1fffeu - b[5], subtract);
    r[6] = select(a[6] + b[6], a[6] + 0x1fffeu - b[6], subtract);
    r[7] = select(a[7] + b[7], a[7] + 0x1fffeu - b[7], subtract);
    r[8] = select(a[8] + b[8], a[8] + 0x1fffeu - b[8], subtract);
    r[9] = select(a[9] + b[9], a[9] + 0x1fffeu - b[9], subtract);
    r[10] = select(a[10] + b[10], a[10] + 0x1fffeu - b[10], subtract);
    r[11] = select(a[11] + b[11], a[11] + 0x1fffeu - b[11], subtract);
    r[12] = select(a[12] + b[12], a[12] + 0x1fffeu - b[12], subtract);
    r[13] = select(a[13] + b[13], a[13] + 0x1fffeu - b[13], subtract);
    r[14] = select(a[14] + b[14], a[14] + 0x1fffeu - b[14], subtract);
    r[15] = select(a[15] + b[15], a[15] + 0x1fffeu - b[15], subtract);
    return fe_carry(r);
}

// a · b: the 16 × 16 schoolbook product, each limb product's halves in adjacent
// columns (< 2^21 each), columns 16..31 folded by 2^256 ≡ 38.
fn fe_mul(a: Fe, b: Fe) -> Fe {
    var c = array<u32, 32>();
    var p: u32;
    p = a[0] * b[0]; c[0] += p & 0xffffu; c[1] += p >> 16u;
    p = a[0] * b[1]; c[1] += p & 0xffffu; c[2] += p >> 16u;
    p = a[0] * b[2]; c[2] += p & 0xffffu; c[3] += p >> 16u;
    p = a[0] * b[3]; c[3] += p & 0xffffu; c[4] += p >> 16u;
    p = a[0] * b[4]; c[4] += p & 0xffffu; c[5] += p >> 16u;
    p = a[0] * b[5]; c[5] += p & 0xffffu; c[6] += p >> 16u;
    p = a[0] * b[6]; c[6] += p & 0xffffu; c[7] += p >> 16u;
    p = a[0] * b[7]; c[7] += p & 0xffffu; c[8] += p >> 16u;
    p = a[0] * b[8]; c[8] += p & 0xffffu; c[9] += p >> 16u;
    p = a[0] * b[9]; c[9] += p & 0xffffu; c[10] += p >> 16u;
    p = a[0] * b[10]; c[10] += p & 0xffffu; c[11] += p >> 16u;
    p = a[0] * b[11]; c[11] += p & 0xffffu; c[12] += p >> 16u;
    p = a[0] * b[12]; c[12] += p & 0xffffu; c[13] += p >> 16u;
    p = a[0] * b[13]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[0] * b[14]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[0] * b[15]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[1] * b[0]; c[1] += p & 0xffffu; c[2] += p >> 16u;
    p = a[1] * b[1]; c[2] += p & 0xffffu; c[3] += p >> 16u;
    p = a[1] * b[2]; c[3] += p & 0xffffu; c[4] += p >> 16u;
    p = a[1] * b[3]; c[4] += p & 0xffffu; c[5] += p >> 16u;
    p = a[1] * b[4]; c[5] += p & 0xffffu; c[6] += p >> 16u;
    p = a[1] * b[5]; c[6] += p & 0xffffu; c[7] += p >> 16u;
    p = a[1] * b[6]; c[7] += p & 0xffffu; c[8] += p >> 16u;
    p = a[1] * b[7]; c[8] += p & 0xffffu; c[9] += p >> 16u;
    p = a[1] * b[8]; c[9] += p & 0xffffu; c[10] += p >> 16u;
    p = a[1] * b[9]; c[10] += p & 0xffffu; c[11] += p >> 16u;
    p = a[1] * b[10]; c[11] += p & 0xffffu; c[12] += p >> 16u;
    p = a[1] * b[11]; c[12] += p & 0xffffu; c[13] += p >> 16u;
    p = a[1] * b[12]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[1] * b[13]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[1] * b[14]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[1] * b[15]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[2] * b[0]; c[2] += p & 0xffffu; c[3] += p >> 16u;
    p = a[2] * b[1]; c[3] += p & 0xffffu; c[4] += p >> 16u;
    p = a[2] * b[2]; c[4] += p & 0xffffu; c[5] += p >> 16u;
    p = a[2] * b[3]; c[5] += p & 0xffffu; c[6] += p >> 16u;
    p = a[2] * b[4]; c[6] += p & 0xffffu; c[7] += p >> 16u;
    p = a[2] * b[5]; c[7] += p & 0xffffu; c[8] += p >> 16u;
    p = a[2] * b[6]; c[8] += p & 0xffffu; c[9] += p >> 16u;
    p = a[2] * b[7]; c[9] += p & 0xffffu; c[10] += p >> 16u;
    p = a[2] * b[8]; c[10] += p & 0xffffu; c[11] += p >> 16u;
    p = a[2] * b[9]; c[11] += p & 0xffffu; c[12] += p >> 16u;
    p = a[2] * b[10]; c[12] += p & 0xffffu; c[13] += p >> 16u;
    p = a[2] * b[11]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[2] * b[12]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[2] * b[13]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[2] * b[14]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[2] * b[15]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[3] * b[0]; c[3] += p & 0xffffu; c[4] += p >> 16u;
    p = a[3] * b[1]; c[4] += p & 0xffffu; c[5] += p >> 16u;
    p = a[3] * b[2]; c[5] += p & 0xffffu; c[6] += p >> 16u;
    p = a[3] * b[3]; c[6] += p & 0xffffu; c[7] += p >> 16u;
    p = a[3] * b[4]; c[7] += p & 0xffffu; c[8] += p >> 16u;
    p = a[3] * b[5]; c[8] += p & 0xffffu; c[9] += p >> 16u;
    p = a[3] * b[6]; c[9] += p & 0xffffu; c[10] += p >> 16u;
    p = a[3] * b[7]; c[10] += p & 0xffffu; c[11] += p >> 16u;
    p = a[3] * b[8]; c[11] += p & 0xffffu; c[12] += p >> 16u;
    p = a[3] * b[9]; c[12] += p & 0xffffu; c[13] += p >> 16u;
    p = a[3] * b[10]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[3] * b[11]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[3] * b[12]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[3] * b[13]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[3] * b[14]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[3] * b[15]; c[18] += p & 0xffffu; c[19] += p >> 16u;
    p = a[4] * b[0]; c[4] += p & 0xffffu; c[5] += p >> 16u;
    p = a[4] * b[1]; c[5] += p & 0xffffu; c[6] += p >> 16u;
    p = a[4] * b[2]; c[6] += p & 0xffffu; c[7] += p >> 16u;
    p = a[4] * b[3]; c[7] += p & 0xffffu; c[8] += p >> 16u;
    p = a[4] * b[4]; c[8] += p & 0xffffu; c[9] += p >> 16u;
    p = a[4] * b[5]; c[9] += p & 0xffffu; c[10] += p >> 16u;
    p = a[4] * b[6]; c[10] += p & 0xffffu; c[11] += p >> 16u;
    p = a[4] * b[7]; c[11] += p & 0xffffu; c[12] += p >> 16u;
    p = a[4] * b[8]; c[12] += p & 0xffffu; c[13] += p >> 16u;
    p = a[4] * b[9]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[4] * b[10]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[4] * b[11]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[4] * b[12]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[4] * b[13]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[4] * b[14]; c[18] += p & 0xffffu; c[19] += p >> 16u;
    p = a[4] * b[15]; c[19] += p & 0xffffu; c[20] += p >> 16u;
    p = a[5] * b[0]; c[5] += p & 0xffffu; c[6] += p >> 16u;
    p = a[5] * b[1]; c[6] += p & 0xffffu; c[7] += p >> 16u;
    p = a[5] * b[2]; c[7] += p & 0xffffu; c[8] += p >> 16u;
    p = a[5] * b[3]; c[8] += p & 0xffffu; c[9] += p >> 16u;
    p = a[5] * b[4]; c[9] += p & 0xffffu; c[10] += p >> 16u;
    p = a[5] * b[5]; c[10] += p & 0xffffu; c[11] += p >> 16u;
    p = a[5] * b[6]; c[11] += p & 0xffffu; c[12] += p >> 16u;
    p = a[5] * b[7]; c[12] += p & 0xffffu; c[13] += p >> 16u;
    p = a[5] * b[8]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[5] * b[9]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[5] * b[10]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[5] * b[11]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[5] * b[12]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[5] * b[13]; c[18] += p & 0xffffu; c[19] += p >> 16u;
    p = a[5] * b[14]; c[19] += p & 0xffffu; c[20] += p >> 16u;
    p = a[5] * b[15]; c[20] += p & 0xffffu; c[21] += p >> 16u;
    p = a[6] * b[0]; c[6] += p & 0xffffu; c[7] += p >> 16u;
    p = a[6] * b[1]; c[7] += p & 0xffffu; c[8] += p >> 16u;
    p = a[6] * b[2]; c[8] += p & 0xffffu; c[9] += p >> 16u;
    p = a[6] * b[3]; c[9] += p & 0xffffu; c[10] += p >> 16u;
    p = a[6] * b[4]; c[10] += p & 0xffffu; c[11] += p >> 16u;
    p = a[6] * b[5]; c[11] += p & 0xffffu; c[12] += p >> 16u;
    p = a[6] * b[6]; c[12] += p & 0xffffu; c[13] += p >> 16u;
    p = a[6] * b[7]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[6] * b[8]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[6] * b[9]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[6] * b[10]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[6] * b[11]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[6] * b[12]; c[18] += p & 0xffffu; c[19] += p >> 16u;
    p = a[6] * b[13]; c[19] += p & 0xffffu; c[20] += p >> 16u;
    p = a[6] * b[14]; c[20] += p & 0xffffu; c[21] += p >> 16u;
    p = a[6] * b[15]; c[21] += p & 0xffffu; c[22] += p >> 16u;
    p = a[7] * b[0]; c[7] += p & 0xffffu; c[8] += p >> 16u;
    p = a[7] * b[1]; c[8] += p & 0xffffu; c[9] += p >> 16u;
    p = a[7] * b[2]; c[9] += p & 0xffffu; c[10] += p >> 16u;
    p = a[7] * b[3]; c[10] += p & 0xffffu; c[11] += p >> 16u;
    p = a[7] * b[4]; c[11] += p & 0xffffu; c[12] += p >> 16u;
    p = a[7] * b[5]; c[12] += p & 0xffffu; c[13] += p >> 16u;
    p = a[7] * b[6]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[7] * b[7]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[7] * b[8]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[7] * b[9]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[7] * b[10]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[7] * b[11]; c[18] += p & 0xffffu; c[19] += p >> 16u;
    p = a[7] * b[12]; c[19] += p & 0xffffu; c[20] += p >> 16u;
    p = a[7] * b[13]; c[20] += p & 0xffffu; c[21] += p >> 16u;
    p = a[7] * b[14]; c[21] += p & 0xffffu; c[22] += p >> 16u;
    p = a[7] * b[15]; c[22] += p & 0xffffu; c[23] += p >> 16u;
    p = a[8] * b[0]; c[8] += p & 0xffffu; c[9] += p >> 16u;
    p = a[8] * b[1]; c[9] += p & 0xffffu; c[10] += p >> 16u;
    p = a[8] * b[2]; c[10] += p & 0xffffu; c[11] += p >> 16u;
    p = a[8] * b[3]; c[11] += p & 0xffffu; c[12] += p >> 16u;
    p = a[8] * b[4]; c[12] += p & 0xffffu; c[13] += p >> 16u;
    p = a[8] * b[5]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[8] * b[6]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[8] * b[7]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[8] * b[8]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[8] * b[9]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[8] * b[10]; c[18] += p & 0xffffu; c[19] += p >> 16u;
    p = a[8] * b[11]; c[19] += p & 0xffffu; c[20] += p >> 16u;
    p = a[8] * b[12]; c[20] += p & 0xffffu; c[21] += p >> 16u;
    p = a[8] * b[13]; c[21] += p & 0xffffu; c[22] += p >> 16u;
    p = a[8] * b[14]; c[22] += p & 0xffffu; c[23] += p >> 16u;
    p = a[8] * b[15]; c[23] += p & 0xffffu; c[24] += p >> 16u;
    p = a[9] * b[0]; c[9] += p & 0xffffu; c[10] += p >> 16u;
    p = a[9] * b[1]; c[10] += p & 0xffffu; c[11] += p >> 16u;
    p = a[9] * b[2]; c[11] += p & 0xffffu; c[12] += p >> 16u;
    p = a[9] * b[3]; c[12] += p & 0xffffu; c[13] += p >> 16u;
    p = a[9] * b[4]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[9] * b[5]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[9] * b[6]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[9] * b[7]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[9] * b[8]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[9] * b[9]; c[18] += p & 0xffffu; c[19] += p >> 16u;
    p = a[9] * b[10]; c[19] += p & 0xffffu; c[20] += p >> 16u;
    p = a[9] * b[11]; c[20] += p & 0xffffu; c[21] += p >> 16u;
    p = a[9] * b[12]; c[21] += p & 0xffffu; c[22] += p >> 16u;
    p = a[9] * b[13]; c[22] += p & 0xffffu; c[23] += p >> 16u;
    p = a[9] * b[14]; c[23] += p & 0xffffu; c[24] += p >> 16u;
    p = a[9] * b[15]; c[24] += p & 0xffffu; c[25] += p >> 16u;
    p = a[10] * b[0]; c[10] += p & 0xffffu; c[11] += p >> 16u;
    p = a[10] * b[1]; c[11] += p & 0xffffu; c[12] += p >> 16u;
    p = a[10] * b[2]; c[12] += p & 0xffffu; c[13] += p >> 16u;
    p = a[10] * b[3]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[10] * b[4]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[10] * b[5]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[10] * b[6]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[10] * b[7]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[10] * b[8]; c[18] += p & 0xffffu; c[19] += p >> 16u;
    p = a[10] * b[9]; c[19] += p & 0xffffu; c[20] += p >> 16u;
    p = a[10] * b[10]; c[20] += p & 0xffffu; c[21] += p >> 16u;
    p = a[10] * b[11]; c[21] += p & 0xffffu; c[22] += p >> 16u;
    p = a[10] * b[12]; c[22] += p & 0xffffu; c[23] += p >> 16u;
    p = a[10] * b[13]; c[23] += p & 0xffffu; c[24] += p >> 16u;
    p = a[10] * b[14]; c[24] += p & 0xffffu; c[25] += p >> 16u;
    p = a[10] * b[15]; c[25] += p & 0xffffu; c[26] += p >> 16u;
    p = a[11] * b[0]; c[11] += p & 0xffffu; c[12] += p >> 16u;
    p = a[11] * b[1]; c[12] += p & 0xffffu; c[13] += p >> 16u;
    p = a[11] * b[2]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[11] * b[3]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[11] * b[4]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[11] * b[5]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[11] * b[6]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[11] * b[7]; c[18] += p & 0xffffu; c[19] += p >> 16u;
    p = a[11] * b[8]; c[19] += p & 0xffffu; c[20] += p >> 16u;
    p = a[11] * b[9]; c[20] += p & 0xffffu; c[21] += p >> 16u;
    p = a[11] * b[10]; c[21] += p & 0xffffu; c[22] += p >> 16u;
    p = a[11] * b[11]; c[22] += p & 0xffffu; c[23] += p >> 16u;
    p = a[11] * b[12]; c[23] += p & 0xffffu; c[24] += p >> 16u;
    p = a[11] * b[13]; c[24] += p & 0xffffu; c[25] += p >> 16u;
    p = a[11] * b[14]; c[25] += p & 0xffffu; c[26] += p >> 16u;
    p = a[11] * b[15]; c[26] += p & 0xffffu; c[27] += p >> 16u;
    p = a[12] * b[0]; c[12] += p & 0xffffu; c[13] += p >> 16u;
    p = a[12] * b[1]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[12] * b[2]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[12] * b[3]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[12] * b[4]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[12] * b[5]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[12] * b[6]; c[18] += p & 0xffffu; c[19] += p >> 16u;
    p = a[12] * b[7]; c[19] += p & 0xffffu; c[20] += p >> 16u;
    p = a[12] * b[8]; c[20] += p & 0xffffu; c[21] += p >> 16u;
    p = a[12] * b[9]; c[21] += p & 0xffffu; c[22] += p >> 16u;
    p = a[12] * b[10]; c[22] += p & 0xffffu; c[23] += p >> 16u;
    p = a[12] * b[11]; c[23] += p & 0xffffu; c[24] += p >> 16u;
    p = a[12] * b[12]; c[24] += p & 0xffffu; c[25] += p >> 16u;
    p = a[12] * b[13]; c[25] += p & 0xffffu; c[26] += p >> 16u;
    p = a[12] * b[14]; c[26] += p & 0xffffu; c[27] += p >> 16u;
    p = a[12] * b[15]; c[27] += p & 0xffffu; c[28] += p >> 16u;
    p = a[13] * b[0]; c[13] += p & 0xffffu; c[14] += p >> 16u;
    p = a[13] * b[1]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[13] * b[2]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[13] * b[3]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[13] * b[4]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[13] * b[5]; c[18] += p & 0xffffu; c[19] += p >> 16u;
    p = a[13] * b[6]; c[19] += p & 0xffffu; c[20] += p >> 16u;
    p = a[13] * b[7]; c[20] += p & 0xffffu; c[21] += p >> 16u;
    p = a[13] * b[8]; c[21] += p & 0xffffu; c[22] += p >> 16u;
    p = a[13] * b[9]; c[22] += p & 0xffffu; c[23] += p >> 16u;
    p = a[13] * b[10]; c[23] += p & 0xffffu; c[24] += p >> 16u;
    p = a[13] * b[11]; c[24] += p & 0xffffu; c[25] += p >> 16u;
    p = a[13] * b[12]; c[25] += p & 0xffffu; c[26] += p >> 16u;
    p = a[13] * b[13]; c[26] += p & 0xffffu; c[27] += p >> 16u;
    p = a[13] * b[14]; c[27] += p & 0xffffu; c[28] += p >> 16u;
    p = a[13] * b[15]; c[28] += p & 0xffffu; c[29] += p >> 16u;
    p = a[14] * b[0]; c[14] += p & 0xffffu; c[15] += p >> 16u;
    p = a[14] * b[1]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[14] * b[2]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[14] * b[3]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[14] * b[4]; c[18] += p & 0xffffu; c[19] += p >> 16u;
    p = a[14] * b[5]; c[19] += p & 0xffffu; c[20] += p >> 16u;
    p = a[14] * b[6]; c[20] += p & 0xffffu; c[21] += p >> 16u;
    p = a[14] * b[7]; c[21] += p & 0xffffu; c[22] += p >> 16u;
    p = a[14] * b[8]; c[22] += p & 0xffffu; c[23] += p >> 16u;
    p = a[14] * b[9]; c[23] += p & 0xffffu; c[24] += p >> 16u;
    p = a[14] * b[10]; c[24] += p & 0xffffu; c[25] += p >> 16u;
    p = a[14] * b[11]; c[25] += p & 0xffffu; c[26] += p >> 16u;
    p = a[14] * b[12]; c[26] += p & 0xffffu; c[27] += p >> 16u;
    p = a[14] * b[13]; c[27] += p & 0xffffu; c[28] += p >> 16u;
    p = a[14] * b[14]; c[28] += p & 0xffffu; c[29] += p >> 16u;
    p = a[14] * b[15]; c[29] += p & 0xffffu; c[30] += p >> 16u;
    p = a[15] * b[0]; c[15] += p & 0xffffu; c[16] += p >> 16u;
    p = a[15] * b[1]; c[16] += p & 0xffffu; c[17] += p >> 16u;
    p = a[15] * b[2]; c[17] += p & 0xffffu; c[18] += p >> 16u;
    p = a[15] * b[3]; c[18] += p & 0xffffu; c[19] += p >> 16u;
    p = a[15] * b[4]; c[19] += p & 0xffffu; c[20] += p >> 16u;
    p = a[15] * b[5]; c[20] += p & 0xffffu; c[21] += p >> 16u;
    p = a[15] * b[6]; c[21] += p & 0xffffu; c[22] += p >> 16u;
    p = a[15] * b[7]; c[22] += p & 0xffffu; c[23] += p >> 16u;
    p = a[15] * b[8]; c[23] += p & 0xffffu; c[24] += p >> 16u;
    p = a[15] * b[9]; c[24] += p & 0xffffu; c[25] += p >> 16u;
    p = a[15] * b[10]; c[25] += p & 0xffffu; c[26] += p >> 16u;
    p = a[15] * b[11]; c[26] += p & 0xffffu; c[27] += p >> 16u;
    p = a[15] * b[12]; c[27] += p & 0xffffu; c[28] += p >> 16u;
    p = a[15] * b[13]; c[28] += p & 0xffffu; c[29] += p >> 16u;
    p = a[15] * b[14]; c[29] += p & 0xffffu; c[30] += p >> 16u;
    p = a[15] * b[15]; c[30] += p & 0xffffu; c[31] += p >> 16u;
    var r: Fe;
    r[0] = c[0] + 38u * c[16];
    r[1] = c[1] + 38u * c[17];
    r[2] = c[2] + 38u * c[18];
    r[3] = c[3] + 38u * c[19];
    r[4] = c[4] + 38u * c[20];
    r[5] = c[5] + 38u * c[21];
    r[6] = c[6] + 38u * c[22];
    r[7] = c[7] + 38u * c[23];
    r[8] = c[8] + 38u * c[24];
    r[9] = c[9] + 38u * c[25];
    r[10] = c[10] + 38u * c[26];
    r[11] = c[11] + 38u * c[27];
    r[12] = c[12] + 38u * c[28];
    r[13] = c[13] + 38u * c[29];
    r[14] = c[14] + 38u * c[30];
    r[15] = c[15] + 38u * c[31];
    return fe_carry(r);
}

// The unique representative below p. From a value < 2^256 = 2p + 38 two
// conditional subtractions of p suffice; each tests r ≥ p as r + 19 ≥ 2^255.
// r − p = r + 19 − 2^255: with no carry out of 2^256 that clears bit 255 of
// t = r + 19 (set when r ≥ p); with one (r + 19 ≥ 2^256, so t < 19 and its bit
// 255 is clear) it sets it.
fn fe_canonical(a: Fe) -> Fe {
    var r = a;
    var t: Fe;
    var s: u32;
    var c: u32;
    c = 19u;
    s = r[0] + c; t[0] = s & 0xffffu; c = s >> 16u;
    s = r[1] + c; t[1] = s & 0xffffu; c = s >> 16u;
    s = r[2] + c; t[2] = s & 0xffffu; c = s >> 16u;
    s = r[3] + c; t[3] = s & 0xffffu; c = s >> 16u;
    s = r[4] + c; t[4] = s & 0xffffu; c = s >> 16u;
    s = r[5] + c; t[5] = s & 0xffffu; c = s >> 16u;
    s = r[6] + c; t[6] = s & 0xffffu; c = s >> 16u;
    s = r[7] + c; t[7] = s & 0xffffu; c = s >> 16u;
    s = r[8] + c; t[8] = s & 0xffffu; c = s >> 16u;
    s = r[9] + c; t[9] = s & 0xffffu; c = s >> 16u;
    s = r[10] + c; t[10] = s & 0xffffu; c = s >> 16u;
    s = r[11] + c; t[11] = s & 0xffffu; c = s >> 16u;
    s = r[12] + c; t[12] = s & 0xffffu; c = s >> 16u;
    s = r[13] + c; t[13] = s & 0xffffu; c = s >> 16u;
    s = r[14] + c; t[14] = s & 0xffffu; c = s >> 16u;
    s = r[15] + c; t[15] = s & 0xffffu; c = s >> 16u;
    if (c == 1u || (t[15] >> 15u) == 1u) {
        t[15] ^= 0x8000u;
        r = t;
    }
    c = 19u;
    s = r[0] + c; t[0] = s & 0xffffu; c = s >> 16u;
    s = r[1] + c; t[1] = s & 0xffffu; c = s >> 16u;
    s = r[2] + c; t[2] = s & 0xffffu; c = s >> 16u;
    s = r[3] + c; t[3] = s & 0xffffu; c = s >> 16u;
    s = r[4] + c; t[4] = s & 0xffffu; c = s >> 16u;
    s = r[5] + c; t[5] = s & 0xffffu; c = s >> 16u;
    s = r[6] + c; t[6] = s & 0xffffu; c = s >> 16u;
    s = r[7] + c; t[7] = s & 0xffffu; c = s >> 16u;
    s = r[8] + c; t[8] = s & 0xffffu; c = s >> 16u;
    s = r[9] + c; t[9] = s & 0xffffu; c = s >> 16u;
    s = r[10] + c; t[10] = s & 0xffffu; c = s >> 16u;
    s = r[11] + c; t[11] = s & 0xffffu; c = s >> 16u;
    s = r[12] + c; t[12] = s & 0xffffu; c = s >> 16u;
    s = r[13] + c; t[13] = s & 0xffffu; c = s >> 16u;
    s = r[14] + c; t[14] = s & 0xffffu; c = s >> 16u;
    s = r[15] + c; t[15] = s & 0xffffu; c = s >> 16u;
    if (c == 1u || (t[15] >> 15u) == 1u) {
        t[15] ^= 0x8000u;
        r = t;
    }
    return r;
}

// Whether a ≡ 0 (mod p).
fn fe_is_zero(a: Fe) -> bool {
    let r = fe_canonical(a);
    return (r[0] | r[1] | r[2] | r[3] | r[4] | r[5] | r[6] | r[7] | r[8] | r[9] | r[10] | r[11] | r[12] | r[13] | r[14] | r[15]) == 0u;
}

// Registers (indices into `regs`).
const R_ZERO: u32 = 0u;
const R_ONE: u32 = 1u;
const R_D: u32 = 2u;
const R_D2: u32 = 3u;
const R_SQRT_M1: u32 = 4u;
const R_BX: u32 = 5u;
const R_BY: u32 = 6u;
const R_BT: u32 = 7u;
const R_Y: u32 = 8u;
const R_YY: u32 = 9u;
const R_U: u32 = 10u;
const R_NU: u32 = 11u;
const R_V: u32 = 12u;
const R_V3: u32 = 13u;
const R_V7: u32 = 14u;
const R_UV7: u32 = 15u;
const R_Z2: u32 = 16u;
const R_Z9: u32 = 17u;
const R_Z11: u32 = 18u;
const R_W5: u32 = 19u;
const R_W10: u32 = 20u;
const R_W20: u32 = 21u;
const R_W40: u32 = 22u;
const R_W50: u32 = 23u;
const R_W100: u32 = 24u;
const R_W200: u32 = 25u;
const R_W250: u32 = 26u;
const R_P58: u32 = 27u;
const R_X: u32 = 28u;
const R_VXX: u32 = 29u;
const R_XY: u32 = 30u;
const R_AX: u32 = 31u;
const R_AY: u32 = 32u;
const R_AZ: u32 = 33u;
const R_AT: u32 = 34u;
const R_CT_YPX: u32 = 35u;
const R_CT_YMX: u32 = 36u;
const R_CT_Z2: u32 = 37u;
const R_CT_T2D: u32 = 38u;
const R_CS_YPX: u32 = 39u;
const R_CS_YMX: u32 = 40u;
const R_CS_Z2: u32 = 41u;
const R_CS_T2D: u32 = 42u;
const R_CB_YPX: u32 = 43u;
const R_CB_YMX: u32 = 44u;
const R_CB_Z2: u32 = 45u;
const R_CB_T2D: u32 = 46u;
const R_CNA_YPX: u32 = 47u;
const R_CNA_YMX: u32 = 48u;
const R_CNA_Z2: u32 = 49u;
const R_CNA_T2D: u32 = 50u;
const R_CBNA_YPX: u32 = 51u;
const R_CBNA_YMX: u32 = 52u;
const R_CBNA_Z2: u32 = 53u;
const R_CBNA_T2D: u32 = 54u;
const R_CNR_YPX: u32 = 55u;
const R_CNR_YMX: u32 = 56u;
const R_CNR_Z2: u32 = 57u;
const R_CNR_T2D: u32 = 58u;
const R_T0: u32 = 59u;
const R_T1: u32 = 60u;
const R_T2: u32 = 61u;
const R_TA: u32 = 62u;
const R_TB: u32 = 63u;
const R_TC: u32 = 64u;
const R_TD: u32 = 65u;
const R_TE: u32 = 66u;
const R_TF: u32 = 67u;
const R_TG: u32 = 68u;
const R_TH: u32 = 69u;
const R_TZ: u32 = 70u;
const NREG: u32 = 71u;

// Segments of PROG: [start, end).
const DECOMPRESS_START: u32 = 0u;
const DECOMPRESS_END: u32 = 36u;
const TIMES_SQRT_M1_START: u32 = 36u;
const TIMES_SQRT_M1_END: u32 = 37u;
const NEGATE_X_START: u32 = 37u;
const NEGATE_X_END: u32 = 38u;
const CACHE_NEG_START: u32 = 38u;
const CACHE_NEG_END: u32 = 44u;
const CACHE_START: u32 = 44u;
const CACHE_END: u32 = 48u;
const ADD_START: u32 = 48u;
const ADD_END: u32 = 62u;
const DOUBLE_START: u32 = 62u;
const DOUBLE_END: u32 = 78u;
const DOUBLE3_START: u32 = 78u;
const DOUBLE3_END: u32 = 126u;

var<private> PROG: array<u32, 126> = array<u32, 126>(
    // DECOMPRESS
    OP_MUL | (R_YY << 16u) | (R_Y << 8u) | (R_Y),
    OP_SUB | (R_U << 16u) | (R_YY << 8u) | (R_ONE),
    OP_MUL | (R_V << 16u) | (R_YY << 8u) | (R_D),
    OP_ADD | (R_V << 16u) | (R_V << 8u) | (R_ONE),
    OP_MUL | (R_V3 << 16u) | (R_V << 8u) | (R_V),
    OP_MUL | (R_V3 << 16u) | (R_V3 << 8u) | (R_V),
    OP_MUL | (R_V7 << 16u) | (R_V3 << 8u) | (R_V3),
    OP_MUL | (R_V7 << 16u) | (R_V7 << 8u) | (R_V),
    OP_MUL | (R_UV7 << 16u) | (R_U << 8u) | (R_V7),
    OP_MUL | (R_Z2 << 16u) | (R_UV7 << 8u) | (R_UV7),
    OP_SQN | (R_Z9 << 16u) | (R_Z2 << 8u) | 2u,
    OP_MUL | (R_Z9 << 16u) | (R_Z9 << 8u) | (R_UV7),
    OP_MUL | (R_Z11 << 16u) | (R_Z9 << 8u) | (R_Z2),
    OP_MUL | (R_W5 << 16u) | (R_Z11 << 8u) | (R_Z11),
    OP_MUL | (R_W5 << 16u) | (R_W5 << 8u) | (R_Z9),
    OP_SQN | (R_W10 << 16u) | (R_W5 << 8u) | 5u,
    OP_MUL | (R_W10 << 16u) | (R_W10 << 8u) | (R_W5),
    OP_SQN | (R_W20 << 16u) | (R_W10 << 8u) | 10u,
    OP_MUL | (R_W20 << 16u) | (R_W20 << 8u) | (R_W10),
    OP_SQN | (R_W40 << 16u) | (R_W20 << 8u) | 20u,
    OP_MUL | (R_W40 << 16u) | (R_W40 << 8u) | (R_W20),
    OP_SQN | (R_W50 << 16u) | (R_W40 << 8u) | 10u,
    OP_MUL | (R_W50 << 16u) | (R_W50 << 8u) | (R_W10),
    OP_SQN | (R_W100 << 16u) | (R_W50 << 8u) | 50u,
    OP_MUL | (R_W100 << 16u) | (R_W100 << 8u) | (R_W50),
    OP_SQN | (R_W200 << 16u) | (R_W100 << 8u) | 100u,
    OP_MUL | (R_W200 << 16u) | (R_W200 << 8u) | (R_W100),
    OP_SQN | (R_W250 << 16u) | (R_W200 << 8u) | 50u,
    OP_MUL | (R_W250 << 16u) | (R_W250 << 8u) | (R_W50),
    OP_SQN | (R_P58 << 16u) | (R_W250 << 8u) | 2u,
    OP_MUL | (R_P58 << 16u) | (R_P58 << 8u) | (R_UV7),
    OP_MUL | (R_X << 16u) | (R_U << 8u) | (R_V3),
    OP_MUL | (R_X << 16u) | (R_X << 8u) | (R_P58),
    OP_MUL | (R_VXX << 16u) | (R_X << 8u) | (R_X),
    OP_MUL | (R_VXX << 16u) | (R_VXX << 8u) | (R_V),
    OP_SUB | (R_NU << 16u) | (R_ZERO << 8u) | (R_U),
    // TIMES_SQRT_M1
    OP_MUL | (R_X << 16u) | (R_X << 8u) | (R_SQRT_M1),
    // NEGATE_X
    OP_SUB | (R_X << 16u) | (R_ZERO << 8u) | (R_X),
    // CACHE_NEG
    OP_SUB | (R_CT_YPX << 16u) | (R_Y << 8u) | (R_X),
    OP_ADD | (R_CT_YMX << 16u) | (R_Y << 8u) | (R_X),
    OP_ADD | (R_CT_Z2 << 16u) | (R_ONE << 8u) | (R_ONE),
    OP_MUL | (R_XY << 16u) | (R_X << 8u) | (R_Y),
    OP_MUL | (R_CT_T2D << 16u) | (R_XY << 8u) | (R_D2),
    OP_SUB | (R_CT_T2D << 16u) | (R_ZERO << 8u) | (R_CT_T2D),
    // CACHE
    OP_ADD | (R_CT_YPX << 16u) | (R_AY << 8u) | (R_AX),
    OP_SUB | (R_CT_YMX << 16u) | (R_AY << 8u) | (R_AX),
    OP_ADD | (R_CT_Z2 << 16u) | (R_AZ << 8u) | (R_AZ),
    OP_MUL | (R_CT_T2D << 16u) | (R_AT << 8u) | (R_D2),
    // ADD
    OP_SUB | (R_T0 << 16u) | (R_AY << 8u) | (R_AX),
    OP_MUL | (R_TA << 16u) | (R_T0 << 8u) | (R_CS_YMX),
    OP_ADD | (R_T1 << 16u) | (R_AY << 8u) | (R_AX),
    OP_MUL | (R_TB << 16u) | (R_T1 << 8u) | (R_CS_YPX),
    OP_MUL | (R_TC << 16u) | (R_AT << 8u) | (R_CS_T2D),
    OP_MUL | (R_TD << 16u) | (R_AZ << 8u) | (R_CS_Z2),
    OP_SUB | (R_TE << 16u) | (R_TB << 8u) | (R_TA),
    OP_SUB | (R_TF << 16u) | (R_TD << 8u) | (R_TC),
    OP_ADD | (R_TG << 16u) | (R_TD << 8u) | (R_TC),
    OP_ADD | (R_TH << 16u) | (R_TB << 8u) | (R_TA),
    OP_MUL | (R_AX << 16u) | (R_TE << 8u) | (R_TF),
    OP_MUL | (R_AY << 16u) | (R_TG << 8u) | (R_TH),
    OP_MUL | (R_AZ << 16u) | (R_TF << 8u) | (R_TG),
    OP_MUL | (R_AT << 16u) | (R_TE << 8u) | (R_TH),
    // DOUBLE
    OP_MUL | (R_TA << 16u) | (R_AX << 8u) | (R_AX),
    OP_MUL | (R_TB << 16u) | (R_AY << 8u) | (R_AY),
    OP_MUL | (R_TZ << 16u) | (R_AZ << 8u) | (R_AZ),
    OP_ADD | (R_TC << 16u) | (R_TZ << 8u) | (R_TZ),
    OP_ADD | (R_T0 << 16u) | (R_AX << 8u) | (R_AY),
    OP_MUL | (R_T1 << 16u) | (R_T0 << 8u) | (R_T0),
    OP_SUB | (R_T1 << 16u) | (R_T1 << 8u) | (R_TA),
    OP_SUB | (R_TE << 16u) | (R_T1 << 8u) | (R_TB),
    OP_SUB | (R_TG << 16u) | (R_TB << 8u) | (R_TA),
    OP_SUB | (R_TF << 16u) | (R_TG << 8u) | (R_TC),
    OP_ADD | (R_T2 << 16u) | (R_TA << 8u) | (R_TB),
    OP_SUB | (R_TH << 16u) | (R_ZERO << 8u) | (R_T2),
    OP_MUL | (R_AX << 16u) | (R_TE << 8u) | (R_TF),
    OP_MUL | (R_AY << 16u) | (R_TG << 8u) | (R_TH),
    OP_MUL | (R_AZ << 16u) | (R_TF << 8u) | (R_TG),
    OP_MUL | (R_AT << 16u) | (R_TE << 8u) | (R_TH),
    // DOUBLE3
    OP_MUL | (R_TA << 16u) | (R_AX << 8u) | (R_AX),
    OP_MUL | (R_TB << 16u) | (R_AY << 8u) | (R_AY),
    OP_MUL | (R_TZ << 16u) | (R_AZ << 8u) | (R_AZ),
    OP_ADD | (R_TC << 16u) | (R_TZ << 8u) | (R_TZ),
    OP_ADD | (R_T0 << 16u) | (R_AX << 8u) | (R_AY),
    OP_MUL | (R_T1 << 16u) | (R_T0 << 8u) | (R_T0),
    OP_SUB | (R_T1 << 16u) | (R_T1 << 8u) | (R_TA),
    OP_SUB | (R_TE << 16u) | (R_T1 << 8u) | (R_TB),
    OP_SUB | (R_TG << 16u) | (R_TB << 8u) | (R_TA),
    OP_SUB | (R_TF << 16u) | (R_TG << 8u) | (R_TC),
    OP_ADD | (R_T2 << 16u) | (R_TA << 8u) | (R_TB),
    OP_SUB | (R_TH << 16u) | (R_ZERO << 8u) | (R_T2),
    OP_MUL | (R_AX << 16u) | (R_TE << 8u) | (R_TF),
    OP_MUL | (R_AY << 16u) | (R_TG << 8u) | (R_TH),
    OP_MUL | (R_AZ << 16u) | (R_TF << 8u) | (R_TG),
    OP_MUL | (R_AT << 16u) | (R_TE << 8u) | (R_TH),
    OP_MUL | (R_TA << 16u) | (R_AX << 8u) | (R_AX),
    OP_MUL | (R_TB << 16u) | (R_AY << 8u) | (R_AY),
    OP_MUL | (R_TZ << 16u) | (R_AZ << 8u) | (R_AZ),
    OP_ADD | (R_TC << 16u) | (R_TZ << 8u) | (R_TZ),
    OP_ADD | (R_T0 << 16u) | (R_AX << 8u) | (R_AY),
    OP_MUL | (R_T1 << 16u) | (R_T0 << 8u) | (R_T0),
    OP_SUB | (R_T1 << 16u) | (R_T1 << 8u) | (R_TA),
    OP_SUB | (R_TE << 16u) | (R_T1 << 8u) | (R_TB),
    OP_SUB | (R_TG << 16u) | (R_TB << 8u) | (R_TA),
    OP_SUB | (R_TF << 16u) | (R_TG << 8u) | (R_TC),
    OP_ADD | (R_T2 << 16u) | (R_TA << 8u) | (R_TB),
    OP_SUB | (R_TH << 16u) | (R_ZERO << 8u) | (R_T2),
    OP_MUL | (R_AX << 16u) | (R_TE << 8u) | (R_TF),
    OP_MUL | (R_AY << 16u) | (R_TG << 8u) | (R_TH),
    OP_MUL | (R_AZ << 16u) | (R_TF << 8u) | (R_TG),
    OP_MUL | (R_AT << 16u) | (R_TE << 8u) | (R_TH),
    OP_MUL | (R_TA << 16u) | (R_AX << 8u) | (R_AX),
    OP_MUL | (R_TB << 16u) | (R_AY << 8u) | (R_AY),
    OP_MUL | (R_TZ << 16u) | (R_AZ << 8u) | (R_AZ),
    OP_ADD | (R_TC << 16u) | (R_TZ << 8u) | (R_TZ),
    OP_ADD | (R_T0 << 16u) | (R_AX << 8u) | (R_AY),
    OP_MUL | (R_T1 << 16u) | (R_T0 << 8u) | (R_T0),
    OP_SUB | (R_T1 << 16u) | (R_T1 << 8u) | (R_TA),
    OP_SUB | (R_TE << 16u) | (R_T1 << 8u) | (R_TB),
    OP_SUB | (R_TG << 16u) | (R_TB << 8u) | (R_TA),
    OP_SUB | (R_TF << 16u) | (R_TG << 8u) | (R_TC),
    OP_ADD | (R_T2 << 16u) | (R_TA << 8u) | (R_TB),
    OP_SUB | (R_TH << 16u) | (R_ZERO << 8u) | (R_T2),
    OP_MUL | (R_AX << 16u) | (R_TE << 8u) | (R_TF),
    OP_MUL | (R_AY << 16u) | (R_TG << 8u) | (R_TH),
    OP_MUL | (R_AZ << 16u) | (R_TF << 8u) | (R_TG),
    OP_MUL | (R_AT << 16u) | (R_TE << 8u) | (R_TH),
);

// END GENERATED
