#!/usr/bin/env python3
"""Generate the field-operation program of `shaders/ed25519.wgsl`, and check it.

The shader runs every field multiplication, addition and subtraction through one
`exec` call site (see the shader's header for why: Mesa inlines every function call,
so each call site of a multiplication would otherwise become its own copy of it).
The straight-line parts of verification are therefore data: segments of a program,
one u32 per operation. This script is their single source:

    python3 shaders/ed25519_program.py          # print the WGSL block
    python3 shaders/ed25519_program.py --write  # splice it into the shader
    python3 shaders/ed25519_program.py --check  # the shader's block is this
                                                # script's output, and the program,
                                                # run with the shader's state
                                                # machine, accepts the ZIP-215
                                                # vectors and judges made-up cases
    python3 shaders/ed25519_program.py --check-generated  # the first half only
                                                # (no vectors needed)

`cargo test -p tessera-kernels --test shader_program` runs `--check`, so the
committed WGSL cannot drift from this generator.

The block is everything after the shader's `BEGIN GENERATED` comment, up to its
`// END GENERATED` line: the unrolled field functions and the program.
"""

import hashlib
import json
import os
import sys

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

MUL, ADD, SUB, SQN = 0, 1, 2, 3
KIND = {MUL: "MUL", ADD: "ADD", SUB: "SUB", SQN: "SQN"}

# Registers: constants first (set by the shader's prologue), then the rest.
REGS = [
    "ZERO", "ONE", "D", "D2", "SQRT_M1", "BX", "BY", "BT",
    # Decoding.
    "Y", "YY", "U", "NU", "V", "V3", "V7", "UV7", "Z2", "Z9", "Z11", "W5", "W10", "W20",
    "W40", "W50", "W100", "W200", "W250", "P58", "X", "VXX", "XY",
    # The accumulator point (X : Y : Z : T), then cached points (Y + X, Y − X, 2Z, 2dT):
    # the output of CACHE / CACHE_NEG, the addend of ADD, and the four kept ones.
    "AX", "AY", "AZ", "AT",
    "CT_YPX", "CT_YMX", "CT_Z2", "CT_T2D",
    "CS_YPX", "CS_YMX", "CS_Z2", "CS_T2D",
    "CB_YPX", "CB_YMX", "CB_Z2", "CB_T2D",
    "CNA_YPX", "CNA_YMX", "CNA_Z2", "CNA_T2D",
    "CBNA_YPX", "CBNA_YMX", "CBNA_Z2", "CBNA_T2D",
    "CNR_YPX", "CNR_YMX", "CNR_Z2", "CNR_T2D",
    # Temporaries of ADD and DBL.
    "T0", "T1", "T2", "TA", "TB", "TC", "TD", "TE", "TF", "TG", "TH", "TZ",
]
R = {name: i for i, name in enumerate(REGS)}


def op(kind, d, a, b):
    return (kind, d, a, b)


def mul(d, a, b):
    return op(MUL, d, a, b)


def add(d, a, b):
    return op(ADD, d, a, b)


def sub(d, a, b):
    return op(SUB, d, a, b)


def sqn(d, a, n):
    return op(SQN, d, a, n)


SEGMENTS = {}

# RFC 8032 §5.1.3 steps 1–3: u = y² − 1, v = dy² + 1, the candidate root
# x = u·v³·(u·v⁷)^((p − 5)/8) (ref10's addition chain for the power), v·x² and −u
# for the shader's checks of step 3.
SEGMENTS["DECOMPRESS"] = [
    mul("YY", "Y", "Y"),
    sub("U", "YY", "ONE"),
    mul("V", "YY", "D"),
    add("V", "V", "ONE"),
    mul("V3", "V", "V"),
    mul("V3", "V3", "V"),
    mul("V7", "V3", "V3"),
    mul("V7", "V7", "V"),
    mul("UV7", "U", "V7"),
    mul("Z2", "UV7", "UV7"),
    sqn("Z9", "Z2", 2),
    mul("Z9", "Z9", "UV7"),
    mul("Z11", "Z9", "Z2"),
    mul("W5", "Z11", "Z11"),
    mul("W5", "W5", "Z9"),
    sqn("W10", "W5", 5),
    mul("W10", "W10", "W5"),
    sqn("W20", "W10", 10),
    mul("W20", "W20", "W10"),
    sqn("W40", "W20", 20),
    mul("W40", "W40", "W20"),
    sqn("W50", "W40", 10),
    mul("W50", "W50", "W10"),
    sqn("W100", "W50", 50),
    mul("W100", "W100", "W50"),
    sqn("W200", "W100", 100),
    mul("W200", "W200", "W100"),
    sqn("W250", "W200", 50),
    mul("W250", "W250", "W50"),
    sqn("P58", "W250", 2),
    mul("P58", "P58", "UV7"),
    mul("X", "U", "V3"),
    mul("X", "X", "P58"),
    mul("VXX", "X", "X"),
    mul("VXX", "VXX", "V"),
    sub("NU", "ZERO", "U"),
]
# Step 3's second case: v·x² = −u, so x·√−1 is the root.
SEGMENTS["TIMES_SQRT_M1"] = [mul("X", "X", "SQRT_M1")]
# Step 4: x of the wrong parity is replaced by p − x.
SEGMENTS["NEGATE_X"] = [sub("X", "ZERO", "X")]
# The decoded point P = (x, y, 1, xy), cached negated: −P = (−x, y, 1, −xy).
SEGMENTS["CACHE_NEG"] = [
    sub("CT_YPX", "Y", "X"),
    add("CT_YMX", "Y", "X"),
    add("CT_Z2", "ONE", "ONE"),
    mul("XY", "X", "Y"),
    mul("CT_T2D", "XY", "D2"),
    sub("CT_T2D", "ZERO", "CT_T2D"),
]
# The accumulator, cached.
SEGMENTS["CACHE"] = [
    add("CT_YPX", "AY", "AX"),
    sub("CT_YMX", "AY", "AX"),
    add("CT_Z2", "AZ", "AZ"),
    mul("CT_T2D", "AT", "D2"),
]
# ACC += CS ("add-2008-hwcd-3", a = −1; complete on this curve).
SEGMENTS["ADD"] = [
    sub("T0", "AY", "AX"),
    mul("TA", "T0", "CS_YMX"),
    add("T1", "AY", "AX"),
    mul("TB", "T1", "CS_YPX"),
    mul("TC", "AT", "CS_T2D"),
    mul("TD", "AZ", "CS_Z2"),
    sub("TE", "TB", "TA"),
    sub("TF", "TD", "TC"),
    add("TG", "TD", "TC"),
    add("TH", "TB", "TA"),
    mul("AX", "TE", "TF"),
    mul("AY", "TG", "TH"),
    mul("AZ", "TF", "TG"),
    mul("AT", "TE", "TH"),
]
# ACC = 2·ACC ("dbl-2008-hwcd", a = −1): with D = −A, G = B − A, H = −(A + B).
DOUBLE = [
    mul("TA", "AX", "AX"),
    mul("TB", "AY", "AY"),
    mul("TZ", "AZ", "AZ"),
    add("TC", "TZ", "TZ"),
    add("T0", "AX", "AY"),
    mul("T1", "T0", "T0"),
    sub("T1", "T1", "TA"),
    sub("TE", "T1", "TB"),
    sub("TG", "TB", "TA"),
    sub("TF", "TG", "TC"),
    add("T2", "TA", "TB"),
    sub("TH", "ZERO", "T2"),
    mul("AX", "TE", "TF"),
    mul("AY", "TG", "TH"),
    mul("AZ", "TF", "TG"),
    mul("AT", "TE", "TH"),
]
SEGMENTS["DOUBLE"] = DOUBLE
# The cofactor: three doublings.
SEGMENTS["DOUBLE3"] = DOUBLE * 3

ORDER = ["DECOMPRESS", "TIMES_SQRT_M1", "NEGATE_X", "CACHE_NEG", "CACHE", "ADD", "DOUBLE",
         "DOUBLE3"]


def layout():
    prog, bounds = [], {}
    for name in ORDER:
        start = len(prog)
        prog.extend(SEGMENTS[name])
        bounds[name] = (start, len(prog))
    return prog, bounds


def encode(o):
    kind, d, a, b = o
    b = b if kind == SQN else R[b]
    return (kind << 24) | (R[d] << 16) | (R[a] << 8) | b


def field_wgsl():
    """The field functions, with every loop unrolled (see the shader's header)."""
    out = []
    out.append("// Limbs < 2^16 from limbs < 2^27: three rounds of carrying upwards, each folding")
    out.append("// the carry out of limb 15 (weight 2^256 ≡ 38) into limb 0. The first round")
    out.append("// leaves a carry < 2^12, the second at most 1 (and then a value < 2^17), the")
    out.append("// third none.")
    out.append("fn fe_carry(a: Fe) -> Fe {")
    out.append("    var r = a;")
    out.append("    var t: u32;")
    out.append("    var c: u32;")
    for _ in range(3):
        out.append("    c = 0u;")
        for i in range(16):
            out.append(f"    t = r[{i}] + c; r[{i}] = t & 0xffffu; c = t >> 16u;")
        out.append("    r[0] += 38u * c;")
    out.append("    return r;")
    out.append("}")
    out.append("")
    out.append("// a + b, or a − b computed as a + 4p − b: 4p's limbs (0x1ffb4, then fifteen")
    out.append("// 0x1fffe, a representation of 2^257 − 76 with every limb ≥ 2^16 − 1) keep every")
    out.append("// limb difference non-negative. Limbs before the carry are < 2^18.")
    out.append("fn fe_add_sub(a: Fe, b: Fe, subtract: bool) -> Fe {")
    out.append("    var r: Fe;")
    for i in range(16):
        four_p = "0x1ffb4u" if i == 0 else "0x1fffeu"
        out.append(f"    r[{i}] = select(a[{i}] + b[{i}], a[{i}] + {four_p} - b[{i}], subtract);")
    out.append("    return fe_carry(r);")
    out.append("}")
    out.append("")
    out.append("// a · b: the 16 × 16 schoolbook product, each limb product's halves in adjacent")
    out.append("// columns (< 2^21 each), columns 16..31 folded by 2^256 ≡ 38.")
    out.append("fn fe_mul(a: Fe, b: Fe) -> Fe {")
    out.append("    var c = array<u32, 32>();")
    out.append("    var p: u32;")
    for i in range(16):
        for j in range(16):
            out.append(
                f"    p = a[{i}] * b[{j}]; c[{i + j}] += p & 0xffffu; c[{i + j + 1}] += p >> 16u;"
            )
    out.append("    var r: Fe;")
    for i in range(16):
        out.append(f"    r[{i}] = c[{i}] + 38u * c[{i + 16}];")
    out.append("    return fe_carry(r);")
    out.append("}")
    out.append("")
    out.append("// The unique representative below p. From a value < 2^256 = 2p + 38 two")
    out.append("// conditional subtractions of p suffice; each tests r ≥ p as r + 19 ≥ 2^255.")
    out.append("// r − p = r + 19 − 2^255: with no carry out of 2^256 that clears bit 255 of")
    out.append("// t = r + 19 (set when r ≥ p); with one (r + 19 ≥ 2^256, so t < 19 and its bit")
    out.append("// 255 is clear) it sets it.")
    out.append("fn fe_canonical(a: Fe) -> Fe {")
    out.append("    var r = a;")
    out.append("    var t: Fe;")
    out.append("    var s: u32;")
    out.append("    var c: u32;")
    for _ in range(2):
        out.append("    c = 19u;")
        for i in range(16):
            out.append(f"    s = r[{i}] + c; t[{i}] = s & 0xffffu; c = s >> 16u;")
        out.append("    if (c == 1u || (t[15] >> 15u) == 1u) {")
        out.append("        t[15] ^= 0x8000u;")
        out.append("        r = t;")
        out.append("    }")
    out.append("    return r;")
    out.append("}")
    out.append("")
    out.append("// Whether a ≡ 0 (mod p).")
    out.append("fn fe_is_zero(a: Fe) -> bool {")
    out.append("    let r = fe_canonical(a);")
    out.append("    return (" + " | ".join(f"r[{i}]" for i in range(16)) + ") == 0u;")
    out.append("}")
    return "\n".join(out)


def wgsl():
    prog, bounds = layout()
    out = [field_wgsl(), ""]
    out.append("// Registers (indices into `regs`).")
    for name in REGS:
        out.append(f"const R_{name}: u32 = {R[name]}u;")
    out.append(f"const NREG: u32 = {len(REGS)}u;")
    out.append("")
    out.append("// Segments of PROG: [start, end).")
    for name in ORDER:
        s, e = bounds[name]
        out.append(f"const {name}_START: u32 = {s}u;")
        out.append(f"const {name}_END: u32 = {e}u;")
    out.append("")
    out.append(f"var<private> PROG: array<u32, {len(prog)}> = array<u32, {len(prog)}>(")
    for name in ORDER:
        out.append(f"    // {name}")
        for o in SEGMENTS[name]:
            kind, d, a, b = o
            src = f"{b}u" if kind == SQN else f"(R_{b})"
            out.append(
                f"    OP_{KIND[kind]} | (R_{d} << 16u) | (R_{a} << 8u) | {src},"
            )
    out.append(");")
    return "\n".join(out)


# ---------------------------------------------------------------------------------
# The check: the shader's state machine, with Python integers for field elements.


def run(regs, name):
    prog, bounds = layout()
    s, e = bounds[name]
    for kind, d, a, b in prog[s:e]:
        if kind == MUL:
            regs[R[d]] = regs[R[a]] * regs[R[b]] % P
        elif kind == ADD:
            regs[R[d]] = (regs[R[a]] + regs[R[b]]) % P
        elif kind == SUB:
            regs[R[d]] = (regs[R[a]] - regs[R[b]]) % P
        else:
            regs[R[d]] = pow(regs[R[a]], 2**b, P)


def decode(regs, enc):
    v = int.from_bytes(enc, "little")
    sign = v >> 255
    regs[R["Y"]] = v & (2**255 - 1)
    run(regs, "DECOMPRESS")
    if regs[R["VXX"]] == regs[R["U"]] % P:
        pass
    elif regs[R["VXX"]] == regs[R["NU"]]:
        run(regs, "TIMES_SQRT_M1")
    else:
        return False
    if regs[R["X"]] % P % 2 != sign:
        run(regs, "NEGATE_X")
    run(regs, "CACHE_NEG")
    return True


def copy(regs, dst, src):
    for f in ["YPX", "YMX", "Z2", "T2D"]:
        regs[R[f"{dst}_{f}"]] = regs[R[f"{src}_{f}"]]


def verify(a, r, s, k):
    """The shader's status for encodings a, r and scalars s (< ℓ), k."""
    regs = [0] * len(REGS)
    by = 4 * pow(5, P - 2, P) % P
    x2 = (by * by - 1) * pow(D * by * by + 1, P - 2, P) % P
    bx = pow(x2, (P + 3) // 8, P)
    if (bx * bx - x2) % P:
        bx = bx * SQRT_M1 % P
    if bx % 2:
        bx = P - bx
    for name, v in [("ONE", 1), ("D", D), ("D2", 2 * D % P), ("SQRT_M1", SQRT_M1),
                    ("BX", bx), ("BY", by), ("BT", bx * by % P)]:
        regs[R[name]] = v
    if not decode(regs, a):
        return 1
    copy(regs, "CNA", "CT")
    if not decode(regs, r):
        return 2
    copy(regs, "CNR", "CT")
    regs[R["AX"]], regs[R["AY"]], regs[R["AZ"]], regs[R["AT"]] = bx, by, 1, bx * by % P
    run(regs, "CACHE")
    copy(regs, "CB", "CT")
    copy(regs, "CS", "CNA")
    run(regs, "ADD")
    run(regs, "CACHE")
    copy(regs, "CBNA", "CT")
    regs[R["AX"]], regs[R["AY"]], regs[R["AZ"]], regs[R["AT"]] = 0, 1, 1, 0
    for bit in range(252, -1, -1):
        run(regs, "DOUBLE")
        sb, kb = (s >> bit) & 1, (k >> bit) & 1
        if sb or kb:
            copy(regs, "CS", {(1, 1): "CBNA", (1, 0): "CB", (0, 1): "CNA"}[(sb, kb)])
            run(regs, "ADD")
    copy(regs, "CS", "CNR")
    run(regs, "ADD")
    run(regs, "DOUBLE3")
    ok = regs[R["AX"]] % P == 0 and (regs[R["AY"]] - regs[R["AZ"]]) % P == 0
    return 0 if ok else 3


def check():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.environ.get("JAM_VECTORS", os.path.join(here, "..", "..", "shared", "vectors"))
    with open(os.path.join(root, "ed25519", "vectors.json")) as f:
        vectors = json.load(f)
    statuses = []
    for v in vectors:
        a, r, s, m = (bytes.fromhex(v[x]) for x in ["pk", "r", "s", "msg"])
        k = int.from_bytes(hashlib.sha512(r + a + m).digest(), "little") % L
        statuses.append(verify(a, r, int.from_bytes(s, "little"), k))
    assert statuses == [0] * len(vectors), statuses
    # A signature by a key of our own: valid, then with another message; y = 2 is no
    # point.
    status = []
    for msg, a_enc in [(b"m", None), (b"x", None), (b"m", (2).to_bytes(32, "little"))]:
        w = int.from_bytes(hashlib.sha512(b"key").digest(), "little") % L
        rr = int.from_bytes(hashlib.sha512(b"nonce").digest(), "little") % L
        ap, rp = scalar_mult(w), scalar_mult(rr)
        a = a_enc or ap
        k = int.from_bytes(hashlib.sha512(rp + a + b"m").digest(), "little") % L
        s = (rr + k * w) % L
        k_msg = int.from_bytes(hashlib.sha512(rp + a + msg).digest(), "little") % L
        status.append(verify(a, rp, s, k_msg))
    assert status == [0, 3, 1], status
    print(f"ok: {len(vectors)} vectors, and {status}")


def scalar_mult(n):
    """[n]B, encoded (affine Edwards arithmetic, for the check only)."""
    by = 4 * pow(5, P - 2, P) % P
    x2 = (by * by - 1) * pow(D * by * by + 1, P - 2, P) % P
    bx = pow(x2, (P + 3) // 8, P)
    if (bx * bx - x2) % P:
        bx = bx * SQRT_M1 % P
    if bx % 2:
        bx = P - bx

    def padd(p1, p2):
        (x1, y1), (x2_, y2) = p1, p2
        t = D * x1 * x2_ * y1 * y2 % P
        x3 = (x1 * y2 + x2_ * y1) * pow(1 + t, P - 2, P) % P
        y3 = (y1 * y2 + x1 * x2_) * pow(1 - t, P - 2, P) % P
        return (x3, y3)

    acc, q = (0, 1), (bx, by)
    while n:
        if n & 1:
            acc = padd(acc, q)
        q = padd(q, q)
        n >>= 1
    x, y = acc
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def shader_path():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "ed25519.wgsl")


def generated_span(text):
    """Where the generated block of the shader's text starts and ends."""
    begin = text.index("\n", text.index("// BEGIN GENERATED"))
    begin = text.index("\n\n", begin) + 2
    end = text.index("// END GENERATED")
    return begin, end


def check_generated():
    """The committed shader's generated block is exactly what this script prints."""
    with open(shader_path()) as f:
        text = f.read()
    begin, end = generated_span(text)
    if text[begin:end] != wgsl() + "\n\n":
        sys.exit("shaders/ed25519.wgsl differs from its generator: run "
                 "`python3 shaders/ed25519_program.py --write` and commit both")
    print("ok: shaders/ed25519.wgsl's generated block equals the generator's output")


def write():
    path = shader_path()
    with open(path) as f:
        text = f.read()
    begin, end = generated_span(text)
    with open(path, "w") as f:
        f.write(text[:begin] + wgsl() + "\n\n" + text[end:])


if __name__ == "__main__":
    if "--check-generated" in sys.argv:
        check_generated()
    elif "--check" in sys.argv:
        check_generated()
        check()
    elif "--write" in sys.argv:
        write()
    else:
        print(wgsl())
