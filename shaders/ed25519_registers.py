#!/usr/bin/env python3
"""Generate the unrolled parts of `shaders/ed25519_registers.wgsl` and the base-point
table of its host side, and check both, with a model of the shader's algorithm.

The `registers` Ed25519 kernel keeps field elements in values indexed only by
constants (see the shader's header), so everything that loops over limbs or words is
written out here, once:

    python3 shaders/ed25519_registers.py          # print the WGSL block
    python3 shaders/ed25519_registers.py --write  # splice it into the shader and
                                                  # write the Rust base-point table
    python3 shaders/ed25519_registers.py --check  # both committed files are this
                                                  # script's output, and the model
                                                  # (the shader's schedule, recoding,
                                                  # tables and formulas, in Python
                                                  # integers) accepts the ZIP-215
                                                  # vectors and judges made-up cases
    python3 shaders/ed25519_registers.py --check-generated  # the first half only

The block is everything after the shader's `BEGIN GENERATED` comment, up to its
`// END GENERATED` line. The field functions are `ed25519_program.py`'s, shared with
the `program` kernel (`shaders/ed25519.wgsl`).

`cargo test -p tessera-kernels --test shader_program` runs `--check`.
"""

import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ed25519_program as program  # noqa: E402

P = program.P
L = program.L
D = program.D
SQRT_M1 = program.SQRT_M1

# Invocations per workgroup; each keeps its table of A's multiples in workgroup memory.
GROUP = 32
# Entries of the per-invocation table: [1..8](−A), for signed 4-bit digits.
ENTRIES = 8
# Words of one cached point in a table: four field elements, two 16-bit limbs a word.
ENTRY_WORDS = 32

# z^(2^252 − 3) (RFC 8032 §5.1.3's (p − 5)/8) as segments of (squarings, then one
# multiplication by a slot, then where to save the result): z^(2^5 − 1) by four
# rounds of square-and-multiply, then the chain of ref10's `pow22523`, which keeps
# at most three values (A, B, C) beside z.
CHAIN = (
    [(1, "Z", None)] * 3
    + [(1, "Z", "A")]  # 2^5 − 1
    + [
        (5, "A", "B"),  # 2^10 − 1
        (10, "B", "C"),  # 2^20 − 1
        (20, "C", None),  # 2^40 − 1
        (10, "B", "A"),  # 2^50 − 1
        (50, "A", "C"),  # 2^100 − 1
        (100, "C", None),  # 2^200 − 1
        (50, "A", None),  # 2^250 − 1
        (2, "Z", None),  # 2^252 − 3
    ]
)
SLOT = {"X": 0, "Z": 1, "A": 2, "B": 3, "C": 4}
NONE = 0


def chain_steps():
    """The chain one multiplication at a time: (operand slot, save slot); operand X
    (the running value itself) is a squaring."""
    steps = []
    for squarings, factor, save in CHAIN:
        steps += [(SLOT["X"], NONE)] * squarings
        steps.append((SLOT[factor], SLOT[save] if save else NONE))
    return steps


# The schedule of point operations (see the shader's header).
TABLE_OPS = ENTRIES - 1
WINDOWS = 64
MAIN_OPS = WINDOWS * 6
R_OPS = 1 + 3
OPS_A = TABLE_OPS + MAIN_OPS


def limbs(v):
    return [(v >> (16 * i)) & 0xFFFF for i in range(16)]


def packed(v):
    """A field element as the table stores it: 8 words of two 16-bit limbs."""
    ls = limbs(v % P)
    return [ls[2 * i] | (ls[2 * i + 1] << 16) for i in range(8)]


# ---------------------------------------------------------------------------------
# Points, in Python integers.


def base_point():
    by = 4 * pow(5, P - 2, P) % P
    x2 = (by * by - 1) * pow(D * by * by + 1, P - 2, P) % P
    bx = pow(x2, (P + 3) // 8, P)
    if (bx * bx - x2) % P:
        bx = bx * SQRT_M1 % P
    if bx % 2:
        bx = P - bx
    return bx, by


def affine_add(p1, p2):
    (x1, y1), (x2, y2) = p1, p2
    t = D * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P
    return (x3, y3)


def base_table():
    """[1..8]B as cached affine points (y + x, y − x, 2, 2d·x·y), packed: the storage
    buffer of the shader's `base` binding."""
    b = base_point()
    words, q = [], b
    for _ in range(ENTRIES):
        x, y = q
        for v in [y + x, y - x, 2, 2 * D * x * y]:
            words += packed(v)
        q = affine_add(q, b)
    return words


# ---------------------------------------------------------------------------------
# WGSL.


def fe_select_wgsl():
    out = ["// b where `pick`, else a, limb by limb.",
           "fn fe_select(a: Fe, b: Fe, pick: bool) -> Fe {", "    var r: Fe;"]
    for i in range(16):
        out.append(f"    r[{i}] = select(a[{i}], b[{i}], pick);")
    out += ["    return r;", "}"]
    return out


def load_store_wgsl():
    out = []
    out.append("// A field element from 8 little-endian words of `items` (limbs below 2^16).")
    out.append("fn fe_from_items(at: u32) -> Fe {")
    out.append("    var r: Fe;")
    out.append("    var w: u32;")
    for i in range(8):
        out.append(f"    w = items[at + {i}u]; r[{2 * i}] = w & 0xffffu; r[{2 * i + 1}] = w >> 16u;")
    out += ["    return r;", "}", ""]
    out.append("// A field element of the base-point table (8 consecutive words).")
    out.append("fn fe_from_base(at: u32) -> Fe {")
    out.append("    var r: Fe;")
    out.append("    var w: u32;")
    for i in range(8):
        out.append(f"    w = base[at + {i}u]; r[{2 * i}] = w & 0xffffu; r[{2 * i + 1}] = w >> 16u;")
    out += ["    return r;", "}", ""]
    out.append("// A field element of this invocation's table: word j at `at + j · GROUP`, so that")
    out.append("// a workgroup's invocations touch consecutive words (distinct banks).")
    out.append("fn fe_from_table(at: u32) -> Fe {")
    out.append("    var r: Fe;")
    out.append("    var w: u32;")
    for i in range(8):
        out.append(f"    w = table[at + {i}u * GROUP]; r[{2 * i}] = w & 0xffffu; r[{2 * i + 1}] = w >> 16u;")
    out += ["    return r;", "}", ""]
    out.append("// Store a field element (limbs below 2^16) where `fe_from_table` finds it.")
    out.append("fn fe_to_table(at: u32, a: Fe) {")
    for i in range(8):
        out.append(f"    table[at + {i}u * GROUP] = a[{2 * i}] | (a[{2 * i + 1}] << 16u);")
    out.append("}")
    return out


def chain_wgsl():
    steps = chain_steps()
    out = []
    out.append(f"// Multiplications of `fe_pow_p58`: {len(steps)}.")
    out.append(f"const CHAIN_STEPS: u32 = {len(steps)}u;")
    out.append("")
    out.append("// Step i of `fe_pow_p58`: (operand, save) slots (0 for the operand: square;")
    out.append("// 0 for save: none), segment by segment of the chain.")
    out.append("fn chain_step(i: u32) -> vec2<u32> {")
    at = 0
    for squarings, factor, save in CHAIN:
        end = at + squarings + 1
        last = end - 1
        s = SLOT[save] if save else NONE
        out.append(f"    if (i < {end}u) {{")
        out.append(f"        let last = i == {last}u;")
        out.append(
            f"        return vec2<u32>(select(0u, {SLOT[factor]}u, last), select(0u, {s}u, last));"
        )
        out.append("    }")
        at = end
    out.append("    return vec2<u32>(0u, 0u);")
    out.append("}")
    return out


def wgsl():
    out = [program.field_wgsl(), ""]
    out += fe_select_wgsl() + [""]
    out += load_store_wgsl() + [""]
    out += chain_wgsl() + [""]
    out.append("// The schedule (see the header).")
    out.append(f"const GROUP: u32 = {GROUP}u;")
    out.append(f"const ENTRIES: u32 = {ENTRIES}u;")
    out.append(f"const ENTRY_WORDS: u32 = {ENTRY_WORDS}u;")
    out.append(f"const TABLE_OPS: u32 = {TABLE_OPS}u;")
    out.append(f"const MAIN_OPS: u32 = {MAIN_OPS}u;")
    out.append(f"const OPS_A: u32 = {OPS_A}u;")
    out.append(f"const OPS: u32 = {OPS_A + R_OPS}u;")
    return "\n".join(out)


def rust_table():
    words = base_table()
    out = [
        "//! [1..8]B, the Ed25519 base point's first multiples, as the `registers` kernel",
        "//! (`shaders/ed25519_registers.wgsl`) reads them from its `base` storage buffer:",
        "//! per entry the cached affine point (y + x, y − x, 2, 2d·x·y), each field element",
        "//! as 8 little-endian words of two 16-bit limbs. Generated by",
        "//! `python3 shaders/ed25519_registers.py --write` (do not edit by hand); its",
        "//! `--check` derives the points anew from RFC 8032 §5.1's B and compares.",
        "",
        f"pub(super) const BASE_MULTIPLES: [u32; {len(words)}] = [",
    ]
    for i in range(0, len(words), 8):
        out.append("    " + " ".join(f"0x{w:08x}," for w in words[i:i + 8]))
    out.append("];")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------
# The model: the shader's algorithm with Python integers for field elements.

IDENTITY = (0, 1, 1, 0)
IDENTITY_CACHED = (1, 1, 2, 0)


def cache(p):
    x, y, z, t = p
    return ((y + x) % P, (y - x) % P, 2 * z % P, t * 2 * D % P)


def neg_cached(q):
    ypx, ymx, z2, t2d = q
    return (ymx, ypx, z2, -t2d % P)


def point_op(p, q, dbl):
    """The shader's `point_op`: two rounds of four products."""
    x, y, z, t = p
    if dbl:
        pairs = [(x, x), (y, y), (z, z), (x + y, x + y)]
    else:
        ypx, ymx, z2, t2d = q
        pairs = [(y - x, ymx), (y + x, ypx), (t, t2d), (z, z2)]
    for stage in range(2):
        m = [a * b % P for a, b in pairs]
        if stage == 0:
            total, diff = m[0] + m[1], m[1] - m[0]
            if dbl:
                e, f, g, h = m[3] - total, diff - 2 * m[2], diff, -total
            else:
                e, f, g, h = diff, m[3] - m[2], m[3] + m[2], total
            pairs = [(e, f), (g, h), (f, g), (e, h)]
    return tuple(v % P for v in m)


def pow_p58(z):
    slots = {SLOT["Z"]: z}
    x = z
    for operand, save in chain_steps():
        x = x * (x if operand == SLOT["X"] else slots[operand]) % P
        if save:
            slots[save] = x
    return x


def decode(enc):
    """The shader's `decode`: (ok, (x, y, 1, xy)); y as given, below 2^255."""
    v = int.from_bytes(enc, "little")
    sign, y = v >> 255, v & (2**255 - 1)
    yy = y * y % P
    u = (yy - 1) % P
    v_ = (yy * D + 1) % P
    v3 = v_ * v_ * v_ % P
    uv7 = u * v3 * v3 * v_ % P
    x = u * v3 * pow_p58(uv7) % P
    vxx = v_ * x * x % P
    root, neg_root = vxx == u, vxx == (-u) % P
    if not root:
        x = x * SQRT_M1 % P
    if x % 2 != sign:
        x = -x % P
    return root or neg_root, (x, y, 1, x * y % P)


def digits(n):
    """Signed 4-bit digits of n < 2^253, least significant first, as the shader
    recodes them: carry-ins bit by bit, then digit w = nibble + carry-in(w) −
    16·carry-in(w + 1)."""
    carries, c = [], 0
    for w in range(WINDOWS):
        carries.append(c)
        c = 1 if ((n >> (4 * w)) & 15) + c >= 8 else 0
    assert c == 0
    carries.append(0)
    out = [((n >> (4 * w)) & 15) + carries[w] - 16 * carries[w + 1] for w in range(WINDOWS)]
    assert sum(d << (4 * w) for w, d in enumerate(out)) == n
    assert all(-8 <= d <= 8 for d in out)
    return out


def pick(d, entries):
    if d == 0:
        return IDENTITY_CACHED
    q = entries[abs(d) - 1]
    return neg_cached(q) if d < 0 else q


def verify(a, r, s, k):
    """The shader's status for encodings a, r and scalars s (< ℓ), k."""
    bx, by = base_point()
    base, q = [], (bx, by)
    for _ in range(ENTRIES):
        base.append(cache((q[0], q[1], 1, q[0] * q[1] % P)))
        q = affine_add(q, (bx, by))
    ds, dk = digits(s), digits(k)
    table, acc = [], None
    for which, enc in enumerate([a, r]):
        ok, (x, y, z, t) = decode(enc)
        if not ok:
            return 1 + which
        neg = (-x % P, y, z, -t % P)
        if which == 0:
            acc = neg
            table.append(cache(neg))
            ops = range(0, OPS_A)
        else:
            qr = cache(neg)
            ops = range(OPS_A, OPS_A + R_OPS)
        for op in ops:
            if op < TABLE_OPS:
                dbl, q = False, table[0]
            elif op < OPS_A:
                if op == TABLE_OPS:
                    acc = IDENTITY
                j = op - TABLE_OPS
                w, kind = WINDOWS - 1 - j // 6, j % 6
                dbl = kind < 4
                q = None if dbl else (pick(dk[w], table) if kind == 4 else pick(ds[w], base))
            else:
                dbl = op > OPS_A
                q = None if dbl else qr
            acc = point_op(acc, q, dbl)
            if op < TABLE_OPS:
                table.append(cache(acc))
    x, y, z, _ = acc
    return 0 if x == 0 and y == z else 3


def check():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.environ.get("JAM_VECTORS", os.path.join(here, "..", "..", "shared", "vectors"))
    assert pow_p58(7) == pow(7, (P - 5) // 8, P)
    # The table's words are the points' (y + x, y − x, 2, 2dxy), and [j]B in turn.
    bx, by = base_point()
    assert (by * 5 - 4) % P == 0 and (-bx * bx + by * by - 1 - D * bx * bx * by * by) % P == 0
    with open(os.path.join(root, "ed25519", "vectors.json")) as f:
        vectors = json.load(f)
    statuses = []
    for v in vectors:
        a, r, s, m = (bytes.fromhex(v[x]) for x in ["pk", "r", "s", "msg"])
        k = int.from_bytes(hashlib.sha512(r + a + m).digest(), "little") % L
        statuses.append(verify(a, r, int.from_bytes(s, "little"), k))
    assert statuses == [0] * len(vectors), statuses
    status = []
    for msg, a_enc in [(b"m", None), (b"x", None), (b"m", (2).to_bytes(32, "little"))]:
        w = int.from_bytes(hashlib.sha512(b"key").digest(), "little") % L
        rr = int.from_bytes(hashlib.sha512(b"nonce").digest(), "little") % L
        ap, rp = program.scalar_mult(w), program.scalar_mult(rr)
        a = a_enc or ap
        k = int.from_bytes(hashlib.sha512(rp + a + b"m").digest(), "little") % L
        s = (rr + k * w) % L
        k_msg = int.from_bytes(hashlib.sha512(rp + a + msg).digest(), "little") % L
        status.append(verify(a, rp, s, k_msg))
    # R = y of 2 is no point either.
    status.append(verify(ap, (2).to_bytes(32, "little"), 0, 0))
    assert status == [0, 3, 1, 2], status
    # Extreme digits: all scalars' nibbles 8 (every digit −8 with carries) and ℓ − 1.
    for n in [sum(8 << (4 * w) for w in range(63)), L - 1, 0, 1]:
        digits(n)
    print(f"ok: {len(vectors)} vectors, and {status}")


def shader_path():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "ed25519_registers.wgsl")


def table_path():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "kernels", "src", "gpu", "ed25519_base.rs")


def check_generated():
    with open(shader_path()) as f:
        text = f.read()
    begin, end = program.generated_span(text)
    if text[begin:end] != wgsl() + "\n\n":
        sys.exit("shaders/ed25519_registers.wgsl differs from its generator: run "
                 "`python3 shaders/ed25519_registers.py --write` and commit both")
    with open(table_path()) as f:
        if f.read() != rust_table():
            sys.exit("kernels/src/gpu/ed25519_base.rs differs from its generator: run "
                     "`python3 shaders/ed25519_registers.py --write` and commit both")
    print("ok: shaders/ed25519_registers.wgsl's generated block and "
          "kernels/src/gpu/ed25519_base.rs equal the generator's output")


def write():
    path = shader_path()
    with open(path) as f:
        text = f.read()
    begin, end = program.generated_span(text)
    with open(path, "w") as f:
        f.write(text[:begin] + wgsl() + "\n\n" + text[end:])
    with open(table_path(), "w") as f:
        f.write(rust_table())


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
